//! `cargo bench -p repeated-access`: the harness against a plain loop.
//!
//! `read 4k` over a warm file (256 MiB, or `MMLAB_BENCH_SIZE` bytes), timed
//! as the experiment times it (the timing counters, no tracepoint open),
//! against a plain loop of read() into the same page-aligned buffer and the
//! same summing kernel, timed by the clock alone, in alternating rounds;
//! then under `raw_syscalls:sys_enter` and under every counter, for what
//! counting costs per call. It prints the numbers and asserts nothing
//! (timings are data; on a shared machine they vary): the experiment
//! records the same comparison in every result file (`extra.plain_loop`,
//! `extra.instrumentation_cost`).

use mmlab_core::DataDir;
use mmlab_core::stats::median;
use repeated_access::instrument::Instrumentation;
use repeated_access::methods::{Config, Method};
use repeated_access::{PassRecord, Scenario, Series, observer_passes};

fn main() -> anyhow::Result<()> {
    let size: u64 = std::env::var("MMLAB_BENCH_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256 << 20);
    let rounds = 8;
    let base = tempfile::tempdir_in(".")?;
    let dir = DataDir::create(Some(base.path()))?;
    let data = dir.create_file("bench", size)?;
    let timing = Instrumentation::Timing
        .open()?
        .expect("the timing set is a counter set");
    let series = Series {
        data: &data,
        anonymous: None,
        scenario: Scenario::Warm,
        config: Config::new(Method::Read, 4096),
        repetition: 0,
    };
    let records = observer_passes(&series, &timing, rounds)?;
    let of = |set: Instrumentation| -> Vec<&PassRecord> {
        records
            .iter()
            .filter(|r| r.instrumentation == set)
            .collect()
    };
    let calls = size.div_ceil(4096) + 1;
    let plain = of(Instrumentation::None);
    let timed = of(Instrumentation::Timing);
    let ms = |rs: &[&PassRecord]| {
        median(
            &rs.iter()
                .map(|r| r.elapsed_ns() as f64 / 1e6)
                .collect::<Vec<_>>(),
        )
        .unwrap_or(f64::NAN)
    };
    let paired: Vec<f64> = timed
        .iter()
        .zip(&plain)
        .map(|(t, p)| p.elapsed_ns() as f64 / t.elapsed_ns() as f64)
        .collect();
    println!(
        "read 4k over a warm {} MiB file, {rounds} rounds, medians:",
        size >> 20
    );
    println!(
        "  plain loop (no counters)             {:8.2} ms",
        ms(&plain)
    );
    println!(
        "  timing set (the timed passes)        {:8.2} ms   {:.3} of the plain loop's speed (paired by round)",
        ms(&timed),
        median(&paired).unwrap_or(f64::NAN)
    );
    for set in [Instrumentation::Syscalls, Instrumentation::Full] {
        let t = ms(&of(set));
        println!(
            "  {:<36} {t:8.2} ms   {:+.0} ns per read() call against the timing set",
            set.label(),
            1e6 * (t - ms(&timed)) / calls as f64
        );
    }
    Ok(())
}
