//! Experiment `repeated-access`: does mmap beat read() when the same file is
//! read again and again (claim S14), what does the first access cost each
//! (S13), and how many times does each enter the kernel (S5)?
//!
//! Eight methods (four `read`/`pread` variants by block size, four mmap
//! variants) sum every byte of one data file with the same kernel
//! ([`kernel::sum_le_words`]) over several passes, warm, cold, and with the
//! file evicted before every pass (a simulated page cache too small for it).
//! The same kernel over an anonymous resident buffer of the same size gives
//! the machine's memory bandwidth, measured in the same run: the ceiling
//! every method is compared against. Each pass records its time, CPU times,
//! system calls (tracepoints), faults (getrusage) and the checksum, which
//! must equal the file's or the run fails. Repetitions interleave the
//! methods so that drift hits all of them alike.
//!
//! With `--memory-limit SIZE` (and only then) a fourth scenario runs the
//! storage methods in a forked child inside a child memory cgroup limited to
//! SIZE: a real page cache too small for the file
//! ([`mmlab_core::cgroup::MemoryCgroup`], removed afterwards).
//!
//! Every scenario but warm needs a file that can be evicted. On tmpfs
//! (`--data-dir` there) nothing is: the cold, evict-every-pass and
//! memory-limit passes still run, but mincore shows the file cached before
//! each of them, so S13 and those parts of S14 say `not-measured`, naming
//! tmpfs, instead of reporting a price nobody paid.
//!
//! This crate measures and declares figures; it draws nothing. The verdicts
//! are a function of the result file alone ([`judge::judge`]).

pub mod adaptive;
pub mod buffer;
mod figures;
pub mod instrument;
pub mod judge;
pub mod kernel;
pub mod methods;
mod params;
mod plan;
mod report;
pub mod rows;
mod runner;
pub mod state;
mod tables;
mod text;
mod warnings;

use mmlab_core::{Experiment, ResultFile, RunContext};

pub use plan::{Plan, Repetitions, Scenario};
pub use runner::{
    Counting, EXTRA_EVENTS, PassRecord, Role, Series, counted_phase, observer_passes, run_limited,
    run_passes,
};

/// The experiment, as the `mmlab` registry lists it.
#[derive(Debug)]
pub struct RepeatedAccess;

/// The registry's handle on this experiment.
pub const EXPERIMENT: &dyn Experiment = &RepeatedAccess;

impl Experiment for RepeatedAccess {
    fn id(&self) -> &'static str {
        "repeated-access"
    }

    fn question(&self) -> &'static str {
        "Reading the same file again and again: is mmap faster than read(), against the machine's own memory bandwidth?"
    }

    fn claims(&self) -> &'static [&'static str] {
        &["S5", "S13", "S14"]
    }

    /// S13 compares cold and warm pass times, S14 throughput; S5 counts.
    fn timing_claims(&self) -> &'static [&'static str] {
        &["S13", "S14"]
    }

    fn offers_memory_limit(&self) -> bool {
        true
    }

    fn measure(&self, context: &RunContext) -> anyhow::Result<ResultFile> {
        measure(context)
    }

    fn judge(&self, result: &ResultFile) -> Vec<mmlab_core::Claim> {
        judge::judge(result)
    }
}

/// Measures every pass and writes params, samples, summaries, tables,
/// warnings and figures; the verdicts are [`judge::judge`]'s, from the file.
pub fn measure(context: &RunContext) -> anyhow::Result<ResultFile> {
    runner::run_experiment(EXPERIMENT.id(), context)
}
