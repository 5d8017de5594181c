//! `mmlab stat`: count a command's events like `perf stat`.
//! (Being written: see issue 3.)

#[derive(Debug, clap::Args)]
pub struct StatArgs {
    /// The command to count, after `--`
    #[arg(trailing_var_arg = true, required = true)]
    pub command: Vec<String>,
}

pub fn run(_args: StatArgs) -> anyhow::Result<i32> {
    anyhow::bail!("mmlab stat is not available in this build yet")
}
