//! `mmlab plot`, `mmlab report` and `mmlab compare`: figures and the report
//! from result files alone. (Being written: see issue 8.)

#[derive(Debug, clap::Args)]
pub struct PlotArgs {}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {}

pub fn plot(_args: PlotArgs) -> anyhow::Result<i32> {
    anyhow::bail!("mmlab plot is not available in this build yet")
}

pub fn report(_args: ReportArgs) -> anyhow::Result<i32> {
    anyhow::bail!("mmlab report is not available in this build yet")
}

pub fn compare(_args: CompareArgs) -> anyhow::Result<i32> {
    anyhow::bail!("mmlab compare is not available in this build yet")
}
