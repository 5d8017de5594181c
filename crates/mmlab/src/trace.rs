//! `mmlab trace`: follow a command's system calls with ptrace.
//! (Being written: see issue 9.)

#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// The command to trace, after `--`
    #[arg(trailing_var_arg = true, required = true)]
    pub command: Vec<String>,
}

pub fn run(_args: TraceArgs) -> anyhow::Result<i32> {
    anyhow::bail!("mmlab trace is not available in this build yet")
}
