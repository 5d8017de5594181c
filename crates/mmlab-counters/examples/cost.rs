//! Benchmark (not a test): what the counters cost on this machine. Opening a
//! set of 8 counters in one group, one read of that group, and a whole
//! `measure` of an empty closure (reset, enable, disable, read and two
//! getrusage calls). Run with
//! `cargo run --release -p mmlab-counters --example cost`.

use std::time::Instant;

use mmlab_counters::CounterSet;

/// 6 software events and 2 tracepoints: one group of 8 members (hardware
/// events would go to groups of their own, and are unsupported here).
const EIGHT: &[&str] = &[
    "page-faults",
    "minor-faults",
    "major-faults",
    "task-clock",
    "context-switches",
    "cpu-migrations",
    "raw_syscalls:sys_enter",
    "syscalls:sys_enter_read",
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), mmlab_counters::CounterError> {
    // The first open resolves tracepoint ids (mounting tracefs if needed);
    // they are cached, so later opens measure perf_event_open alone.
    let first = Instant::now();
    let set = CounterSet::open(EIGHT)?;
    println!(
        "first open (tracepoint ids from tracefs): {:.0} us",
        first.elapsed().as_secs_f64() * 1e6
    );
    for (event, a) in set.availability() {
        if !a.is_available() {
            println!("note: {event} unavailable: {a:?}");
        }
    }
    drop(set);

    let rounds = 200;
    let mut open_ns = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let set = CounterSet::open(EIGHT)?;
        open_ns.push(t.elapsed().as_nanos() as f64);
        drop(set);
    }
    for (label, events) in [
        ("6 software events", &EIGHT[..6]),
        ("2 tracepoints", &EIGHT[6..]),
    ] {
        let mut ns = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            let set = CounterSet::open(events)?;
            ns.push(t.elapsed().as_nanos() as f64);
            drop(set);
        }
        println!("open a group of {label} alone: median {:.0} ns", median(ns));
    }
    let set = CounterSet::open(EIGHT)?;
    let reads = 20_000;
    let mut read_ns = Vec::new();
    let mut measure_ns = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        for _ in 0..reads / 20 {
            std::hint::black_box(set.snapshot());
        }
        read_ns.push(t.elapsed().as_nanos() as f64 / (reads / 20) as f64);
        let t = Instant::now();
        for _ in 0..reads / 20 {
            std::hint::black_box(set.measure(|| ()));
        }
        measure_ns.push(t.elapsed().as_nanos() as f64 / (reads / 20) as f64);
    }
    println!(
        "open a group of 8 counters: median {:.0} ns ({rounds} opens)",
        median(open_ns)
    );
    println!(
        "one read of the group of 8 (+ map building): median {:.0} ns",
        median(read_ns)
    );
    println!(
        "measure(|| ()) with the group of 8: median {:.0} ns",
        median(measure_ns)
    );
    Ok(())
}
