//! Experiment `where-mmap-loses`: where mmap is the wrong tool (claims
//! L1-L4), after Crotty, Leis and Pavlo, "Are You Sure You Want to Use MMAP
//! in Your Database Management System?" (CIDR 2022).
//!
//! Four parts, each against the best read()-family alternative of the
//! same run, interleaved:
//! - L1 (`small_files`): one complete read of a warm file, open to close,
//!   for sizes 4 KiB to 64 MiB: mmap + munmap against read(), pread() and
//!   std::fs::read;
//! - L2 (`random_reads`): random 4 KiB reads of an evicted file: mmap with
//!   MADV_RANDOM from 1 and N threads against pread() from 1 and N threads
//!   and io_uring at depths 1, 8 and 32, with the device's requests in
//!   flight from /proc/diskstats;
//! - L3 (`unmap`): mprotect and munmap of a mapping touched by T running
//!   threads, with TLB shootdown interrupts (/proc/interrupts) and the
//!   `tlb:tlb_flush` tracepoint in an untimed pass;
//! - L4 (`errors`): a file truncated under its mapping, and (root) an I/O
//!   error from a shrunk loop device: what read() returns, how the mapped
//!   access ends, and a SIGBUS handler that survives it.

pub mod errors;
pub mod judge;
pub mod random_reads;
pub mod small_files;
pub mod unmap;

use std::time::Instant;

use mmlab_core::{
    Axis, Experiment, FigureKind, FigureSpec, ResultFile, RunContext, Summary, Warning, format_size,
};
use serde_json::{Value, json};

pub const ID: &str = "where-mmap-loses";
pub const CLAIMS: &[&str] = &["L1", "L2", "L3", "L4"];
pub const EXPERIMENT: &dyn Experiment = &WhereMmapLoses;

#[derive(Debug)]
pub struct WhereMmapLoses;

impl Experiment for WhereMmapLoses {
    fn id(&self) -> &'static str {
        ID
    }

    fn question(&self) -> &'static str {
        "Where does mmap lose to read(), pread() and io_uring: small files, cold random reads, unmapping with threads, errors?"
    }

    fn claims(&self) -> &'static [&'static str] {
        CLAIMS
    }

    /// L1-L3 compare times (L3 beside shootdown counts); L4 compares outcomes.
    fn timing_claims(&self) -> &'static [&'static str] {
        &["L1", "L2", "L3"]
    }

    fn measure(&self, context: &RunContext) -> anyhow::Result<ResultFile> {
        measure(context)
    }

    fn judge(&self, result: &ResultFile) -> Vec<mmlab_core::Claim> {
        judge::judge(result)
    }
}

/// Every part's plan, from the profile (and `--repeat`, `--size`).
#[derive(Debug, Clone)]
pub struct Plan {
    pub small: small_files::Plan,
    pub random: random_reads::Plan,
    pub unmap: unmap::Plan,
}

pub fn plan_of(context: &RunContext) -> Plan {
    let quick = context.profile == mmlab_core::Profile::Quick;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let sizes: Vec<u64> = if quick {
        (0..8).map(|k| 4096u64 << (2 * k)).collect() // 4 KiB x 4^k .. 64 MiB
    } else {
        (0..15).map(|k| 4096u64 << k).collect() // 4 KiB x 2^k .. 64 MiB
    };
    let mut thread_counts = vec![1, 2, cpus, 2 * cpus];
    thread_counts.sort();
    thread_counts.dedup();
    Plan {
        small: small_files::Plan {
            sizes,
            bytes_per_size: if quick { 16 << 20 } else { 64 << 20 },
            max_files: if quick { 64 } else { 256 },
            rounds: context.repetitions(7, 15).max(1),
            buffer_bytes: 256 << 10,
        },
        random: random_reads::Plan {
            file_bytes: context.size(256 << 20, 1 << 30).div_ceil(1 << 20) * (1 << 20),
            reads_per_pass: if quick { 8192 } else { 16384 },
            rounds: context.repetitions(5, 9).max(1),
            threads: cpus * 4,
            depths: vec![1, 8, 32],
        },
        unmap: unmap::Plan {
            mapping_bytes: 64 << 10,
            thread_counts,
            trials_per_round: if quick { 50 } else { 200 },
            rounds: context.repetitions(5, 10).max(1),
        },
    }
}

pub fn measure(context: &RunContext) -> anyhow::Result<ResultFile> {
    let started = Instant::now();
    let plan = plan_of(context);
    let page = mmlab_core::fingerprint::page_size() as u64;
    let sizes: Vec<String> = plan.small.sizes.iter().map(|s| format_size(*s)).collect();
    context.print_param("L1 file sizes", sizes.join(", "));
    context.print_param(
        "L1 files per size",
        format!(
            "{} bytes' worth, {} to {}",
            format_size(plan.small.bytes_per_size),
            plan.small
                .files_for(*plan.small.sizes.last().unwrap_or(&4096)),
            plan.small.files_for(plan.small.sizes[0])
        ),
    );
    context.print_param("L1 rounds", plan.small.rounds);
    context.print_param("L2 file", format_size(plan.random.file_bytes));
    context.print_param("L2 reads per pass", plan.random.reads_per_pass);
    context.print_param("L2 rounds", plan.random.rounds);
    context.print_param("L2 threads (CPUs x 4)", plan.random.threads);
    context.print_param("L3 mapping", format_size(plan.unmap.mapping_bytes as u64));
    context.print_param("L3 threads", format!("{:?}", plan.unmap.thread_counts));
    context.print_param(
        "L3 trials",
        format!(
            "{} per round, {} rounds",
            plan.unmap.trials_per_round, plan.unmap.rounds
        ),
    );

    let dir = context.data_dir()?;
    let mut result = context.new_result(ID, dir.path());
    result.param("page_size_bytes", page);
    result.param("small_file_sizes_bytes", json!(plan.small.sizes));
    result.param(
        "small_files_per_size",
        json!(
            plan.small
                .sizes
                .iter()
                .map(|s| plan.small.files_for(*s))
                .collect::<Vec<_>>()
        ),
    );
    result.param("small_files_rounds", plan.small.rounds);
    result.param("read_buffer_bytes", plan.small.buffer_bytes);
    result.param("random_file_bytes", plan.random.file_bytes);
    result.param("random_read_bytes", random_reads::READ_BYTES);
    result.param("random_reads_per_pass", plan.random.reads_per_pass);
    result.param("random_rounds", plan.random.rounds);
    result.param("random_threads", plan.random.threads);
    result.param("io_uring_depths", json!(plan.random.depths));
    result.param("unmap_mapping_bytes", plan.unmap.mapping_bytes);
    result.param("unmap_thread_counts", json!(plan.unmap.thread_counts));
    result.param("unmap_trials_per_round", plan.unmap.trials_per_round);
    result.param("unmap_rounds", plan.unmap.rounds);
    result.param("cpus_allowed", json!(unmap::allowed_cpus()));
    result.param("error_file_pages", errors::FILE_PAGES);
    result.param(
        "error_truncated_bytes",
        errors::TRUNCATED_PAGES_X2 as u64 * page / 2,
    );

    let steps = plan.small.rounds + plan.random.rounds + plan.unmap.rounds + 3;
    let progress = context.progress(steps as u64, ID);
    let tick = || progress.inc(1);

    // L1.
    progress.set_message("L1: writing the small files");
    let small = small_files::make_files(&dir, &plan.small)?;
    tick();
    progress.set_message("L1: reading them");
    let small_rows = small_files::measure(&small, &plan.small, &tick)?;
    for (_, files) in small {
        for f in files {
            let _ = std::fs::remove_file(&f.path);
        }
    }

    // L2.
    progress.set_message("L2: writing the file");
    let random_file = dir.create_file("random.bin", plan.random.file_bytes)?;
    result.extra.insert(
        "random_device".into(),
        random_reads::describe_device(&random_file.path),
    );
    tick();
    progress.set_message("L2: random reads");
    let random_rows = random_reads::measure(&random_file, &plan.random, &tick)?;
    let _ = std::fs::remove_file(&random_file.path);

    // L3.
    progress.set_message("L3: munmap with threads");
    let unmapped = unmap::measure(&plan.unmap, &tick)?;
    if let Err(why) = &unmapped.tlb_line {
        result.warnings.push(Warning::new(
            "no-tlb-interrupt-count",
            format!("TLB shootdown interrupts could not be counted: {why}"),
            "on x86 /proc/interrupts has a TLB line; elsewhere L3 relies on the tlb:tlb_flush tracepoint (root, tracefs)",
        ));
    }
    if let Some(why) = unmapped
        .counts
        .iter()
        .find_map(|c| c["error"].as_str().map(str::to_string))
    {
        result.counters_available.insert(
            unmap::TLB_EVENT.into(),
            mmlab_core::Availability::Unavailable(why),
        );
    } else {
        result
            .counters_available
            .insert(unmap::TLB_EVENT.into(), mmlab_core::Availability::Available);
    }

    // L4.
    progress.set_message("L4: errors");
    let mut outcomes = errors::truncation(dir.path())?;
    match errors::io_error(dir.path()) {
        Ok(io) => {
            outcomes.extend(io.rows);
            result.extra.insert("io_error_setup".into(), io.setup);
        }
        Err(why) => {
            result.warnings.push(Warning::new(
                "no-io-error",
                format!("the I/O-error scenario was not measured: {why}"),
                "run as root on a machine with loop devices (a scratch ext4 whose device is shrunk under it)",
            ));
            result
                .extra
                .insert("io_error_setup".into(), json!({"error": why}));
        }
    }
    tick();
    progress.finish_and_clear();

    summarise(&mut result, &small_rows, &random_rows, &unmapped.rows);
    if let Some(bad) = random_rows.iter().find(|r| r["resident_pages_before"] != 0) {
        result.warnings.push(Warning::new(
            "eviction-incomplete",
            format!(
                "{} pages of the random-read file were still cached before a pass ({}); such passes are not counted",
                bad["resident_pages_before"], bad["method"]
            ),
            "nothing else may map the data file; use a --data-dir on a disk filesystem",
        ));
    }
    result.samples = small_rows;
    result.samples.extend(random_rows);
    result.samples.extend(unmapped.rows);
    result
        .extra
        .insert("unmap_counts".into(), json!(unmapped.counts));
    result
        .extra
        .insert("error_outcomes".into(), json!(outcomes));
    result.figures = figures();
    // The crossover line of the time-per-file figure, from the same rows
    // the judge reads.
    if let Ok((_, Some(size))) = judge::l1_findings(&result) {
        result.extra.insert(
            "figure_guides".into(),
            json!({"time-per-file": [{"label": format!("crossover: mmap wins from {}", format_size(size)), "x": size}]}),
        );
    }
    Ok(result.finish(started))
}

fn summarise(result: &mut ResultFile, small: &[Value], random: &[Value], unmap_rows: &[Value]) {
    let mut keys: Vec<(u64, String)> = small
        .iter()
        .filter_map(|r| Some((r["size_bytes"].as_u64()?, r["method"].as_str()?.to_string())))
        .collect();
    keys.dedup();
    let mut seen = std::collections::BTreeSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    for (size, method) in keys {
        let v: Vec<f64> = small
            .iter()
            .filter(|r| r["size_bytes"] == size && r["method"] == method.as_str())
            .filter_map(|r| r["ns_per_file"].as_f64())
            .collect();
        result.summaries.extend(Summary::of(
            format!("L1 {method} {}", format_size(size)),
            "ns_per_file",
            &v,
        ));
    }
    let mut methods: Vec<String> = Vec::new();
    for r in random {
        if let Some(m) = r["method"].as_str()
            && !methods.iter().any(|x| x == m)
        {
            methods.push(m.to_string());
        }
    }
    for m in methods {
        let v: Vec<f64> = random
            .iter()
            .filter(|r| r["method"] == m.as_str())
            .filter_map(|r| r["reads_per_s"].as_f64())
            .collect();
        result
            .summaries
            .extend(Summary::of(format!("L2 {m}"), "reads_per_s", &v));
    }
    let mut threads: Vec<u64> = unmap_rows
        .iter()
        .filter_map(|r| r["threads"].as_u64())
        .collect();
    threads.sort();
    threads.dedup();
    for op in [unmap::OP_MUNMAP, unmap::OP_MPROTECT] {
        for &t in &threads {
            let of = |field: &str| -> Vec<f64> {
                unmap_rows
                    .iter()
                    .filter(|r| r["op"] == op && r["threads"] == t)
                    .filter_map(|r| r[field].as_f64())
                    .collect()
            };
            let series = format!("L3 {op}, {t} threads");
            result
                .summaries
                .extend(Summary::of(series.clone(), "elapsed_ns", &of("elapsed_ns")));
            result.summaries.extend(Summary::of(
                series,
                "tlb_irqs_other_cpus",
                &of("tlb_irqs_other_cpus"),
            ));
        }
    }
}

fn figures() -> Vec<FigureSpec> {
    let mut per_file = FigureSpec::new(
        "time-per-file",
        "From which file size on is mmap faster than read() for one complete read of a warm file?",
        FigureKind::Line,
        "samples",
        Axis::log("size_bytes", "file size (bytes, log)"),
        Axis::log("ns_per_file", "time per file, open to close (ns, log)"),
    );
    per_file
        .filter
        .insert("part".into(), json!(small_files::PART));
    per_file.series = Some("method".into());
    per_file.claims = vec!["L1".into()];
    per_file.how_to_read = "Each point is the median over rounds of the median time per file (open, read every byte and sum it, close), whiskers p5-p95 over rounds; the methods took turns within every round. mmap pays mmap, page faults (each mapping many pages of the page cache at once), munmap and its TLB flush on top of the sum; read() pays a copy per byte and a system call per buffer (256 KiB). Where the mmap line lies below the others, mapping wins; the vertical line, when there is one, is the crossover the judge found (the smallest size at which mmap wins, with no read()-family win above it).".into();

    let mut random = FigureSpec::new(
        "random-reads",
        "How many random 4 KiB reads per second of an uncached file does each method get?",
        FigureKind::Bar,
        "samples",
        Axis::new("method", "method"),
        Axis::new("reads_per_s", "reads per second (median of rounds, p5-p95)"),
    );
    random
        .filter
        .insert("part".into(), json!(random_reads::PART));
    random.series = Some("family".into());
    random.claims = vec!["L2".into()];
    random.how_to_read = "Each pass reads distinct random pages of a file evicted from the page cache just before. Through a mapping each read is a page fault that reads one page and waits for it: one read in flight per thread. pread() from N threads and io_uring with a queue keep several reads in flight, which a device with parallelism (an SSD, NVMe, a virtual disk backed by one) serves at once; the device_avg_in_flight field of each row is the average queue the device saw (/proc/diskstats, shared with the machine's other I/O).".into();

    let mut munmap_time = FigureSpec::new(
        "munmap-time",
        "Does munmap (and mprotect) take longer when more threads of the process have run on other CPUs?",
        FigureKind::Line,
        "samples",
        Axis::new("threads", "threads that touched the mapping and still run"),
        Axis::log("elapsed_ns", "time of one call (ns, log)"),
    );
    munmap_time.filter.insert("part".into(), json!(unmap::PART));
    munmap_time.series = Some("op".into());
    munmap_time.claims = vec!["L3".into()];
    munmap_time.how_to_read = "A 64 KiB anonymous mapping, written by T threads pinned to different CPUs (the measuring thread on the first); they keep running while the measuring thread calls mprotect(PROT_READ), then munmap. Median of the trials, whiskers p5-p95. With T = 1 no other CPU runs the process and the kernel flushes only its own TLB; from T = 2 it must interrupt every other CPU that runs (or recently ran) the process and wait for it: a TLB shootdown.".into();

    let mut shootdowns = FigureSpec::new(
        "tlb-shootdowns",
        "How many TLB shootdown interrupts does one munmap or mprotect send to other CPUs?",
        FigureKind::Line,
        "samples",
        Axis::new("threads", "threads that touched the mapping and still run"),
        Axis::new(
            "tlb_irqs_other_cpus",
            "TLB interrupts on other CPUs during the call",
        ),
    );
    shootdowns.filter.insert("part".into(), json!(unmap::PART));
    shootdowns.series = Some("op".into());
    shootdowns.claims = vec!["L3".into()];
    shootdowns.how_to_read = "The TLB line of /proc/interrupts (per CPU, read just before and just after each call; other processes' shootdowns in that window count too), summed over the CPUs other than the measuring thread's. On a machine with C CPUs at most C - 1 can be interrupted per flush, however many threads there are.".into();

    let mut outcomes = FigureSpec::new(
        "error-outcomes",
        "How does a truncated file or an I/O error reach the program, through read() and through a mapping?",
        FigureKind::Grid,
        "error_outcomes",
        Axis::new("access", "access"),
        Axis::new("scenario", "scenario"),
    );
    outcomes.cell_text = Some("outcome".into());
    outcomes.cell_colour = Some("kind".into());
    outcomes.claims = vec!["L4".into()];
    outcomes.how_to_read = "Each mapped access runs in a forked child, so that a signal ends the child and not the lab. read() tells the program with its return value (0 at the end of the file, a short count at it, -1 with EIO on a failed device); the mapping has no return value, so the kernel sends SIGBUS (BUS_ADRERR) at the faulting instruction. The last row is a child with a SIGBUS handler that maps a page of zeros over the faulting address and goes on.".into();
    vec![per_file, random, munmap_time, shootdowns, outcomes]
}
