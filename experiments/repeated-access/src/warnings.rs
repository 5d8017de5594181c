//! The warnings of a run: evictions that did not happen, warm passes that
//! were not warm, a ceiling without huge pages, a busy machine, system
//! calls not counted, and what the memory cgroup did.

use mmlab_core::cgroup::MemoryCgroup;
use mmlab_core::datafile::DISK_DATA_DIR;
use mmlab_core::stats::median;
use mmlab_core::{Warning, format_size};

use crate::plan::Scenario;
use crate::runner::{PassRecord, Role, SizeInfo};
use crate::state::Reclaimers;
use crate::tables::PLAIN_LOOP_WITHIN;
use crate::text::{count, thousands};

/// A warm pass that ran on a CPU less than this fraction of its elapsed
/// time was slowed by other processes: warned about.
const BUSY_MACHINE: f64 = 0.9;

pub(crate) fn warnings(
    records: &[PassRecord],
    sizes: &[SizeInfo],
    syscalls_reason: &str,
    why_not_evicted: Option<&str>,
) -> Vec<Warning> {
    let mut out = Vec::new();
    let not_evicted: Vec<u64> = records
        .iter()
        .filter(|r| r.scenario.evicts_before(r.pass_index))
        .filter_map(|r| r.resident_pages_before.filter(|left| *left > 0))
        .collect();
    if let Some(most) = not_evicted.iter().max() {
        let message = format!(
            "{} evicted passes started with pages still cached (at most {})",
            not_evicted.len(),
            thousands(*most)
        );
        out.push(match why_not_evicted {
            Some(why) => Warning::new(
                "eviction-incomplete",
                format!(
                    "{message}: {why}, so the cold, evict-every-pass and memory-limit scenarios read nothing from storage and S13 and those parts of S14 are not measured"
                ),
                DISK_DATA_DIR,
            ),
            None => Warning::new(
                "eviction-incomplete",
                message,
                "make sure no other process maps the data file; use a local filesystem (ext4, xfs)",
            ),
        });
    }
    let missing: Vec<u64> = records
        .iter()
        .filter(|r| r.scenario == Scenario::Warm)
        .filter_map(|r| {
            r.resident_pages_before
                .map(|p| r.file_pages.saturating_sub(p))
        })
        .filter(|missing| *missing > 0)
        .collect();
    if let Some(most) = missing.iter().max() {
        out.push(Warning::new(
            "warm-incomplete",
            format!(
                "{} warm passes started with part of the file not cached (at most {} missing): something evicted it during the run (memory pressure, or another process dropping caches)",
                missing.len(),
                count(*most, "page", "pages")
            ),
            "close memory-hungry programs or choose a smaller --size",
        ));
    }
    for size in sizes {
        if size.ceiling_huge_bytes == Some(0) {
            out.push(Warning::new(
                "ceiling-small-pages",
                format!(
                    "the {} ceiling buffer got no transparent huge pages, while a file mapping may use large folios: mmap can then exceed the ceiling by the cost of TLB misses",
                    format_size(size.file_size_bytes)
                ),
                "none needed; read the ceiling as the bandwidth with 4 KiB pages (THP mode in env.thp_enabled)",
            ));
        }
    }
    let on_cpu: Vec<f64> = records
        .iter()
        .filter(|r| r.scenario == Scenario::Warm && r.role == Role::Timed)
        .filter_map(|r| r.on_cpu_fraction())
        .collect();
    if let Some(fraction) = median(&on_cpu).filter(|f| *f < BUSY_MACHINE) {
        out.push(Warning::new(
            "busy-machine",
            format!(
                "the machine was busy: a warm pass ran on a CPU only {:.0}% of its time (median task-clock / elapsed), so absolute GB/s are low; ratios still compare methods fairly as long as the load hit all of them alike (the repetitions are interleaved)",
                100.0 * fraction
            ),
            "rerun on an idle machine for absolute numbers; compare ratios, not times",
        ));
    }
    if records
        .iter()
        .any(|r| r.role == Role::Counted && r.n_syscalls().is_none())
    {
        out.push(Warning::new(
            "syscalls-not-counted",
            format!("system calls were not counted: {syscalls_reason}"),
            "run as root (tracefs is mounted for the run when it is not mounted)",
        ));
    }
    out
}

/// What a user should know about the memory cgroup's run: a limit that did
/// not make the page cache smaller than the file, or processes the OOM
/// killer ended.
pub(crate) fn limit_warnings(cgroup: &MemoryCgroup, sizes: &[SizeInfo]) -> Vec<Warning> {
    let limit_bytes = cgroup.limit_bytes();
    let mut out = Vec::new();
    if let Some(size) = sizes
        .iter()
        .map(|s| s.file_size_bytes)
        .filter(|size| *size <= limit_bytes)
        .max()
    {
        out.push(Warning::new(
            "memory-limit-not-limiting",
            format!(
                "the memory limit ({}) is not smaller than the {} file, so the whole file can stay cached in the memory-limit scenario",
                format_size(limit_bytes),
                format_size(size)
            ),
            "give --memory-limit a size well below --size (half of it, say)",
        ));
    }
    if let Some(n) = cgroup.stats().oom_kills.filter(|n| *n > 0) {
        out.push(Warning::new(
            "memory-limit-oom",
            format!(
                "the kernel's OOM killer ended {n} process(es) in the memory cgroup ({})",
                cgroup.describe()
            ),
            "raise --memory-limit",
        ));
    }
    out
}

/// What a reclaimer that acts on its own (a DAMON pageout scheme) did
/// during the run: warm passes that found pages of the file evicted, and
/// how many of the file's pages were cached before each warm scenario.
pub(crate) fn reclaim_warnings(
    records: &[PassRecord],
    sizes: &[SizeInfo],
    reclaimers: &Reclaimers,
) -> Vec<Warning> {
    if !reclaimers.pageout_active() {
        return Vec::new();
    }
    let warm: Vec<&PassRecord> = records
        .iter()
        .filter(|r| r.scenario == Scenario::Warm && r.method.reads_file())
        .collect();
    let short: Vec<u64> = warm
        .iter()
        .filter_map(|r| {
            r.resident_pages_before
                .map(|p| r.file_pages.saturating_sub(p))
        })
        .filter(|missing| *missing > 0)
        .collect();
    let states: Vec<String> = sizes
        .iter()
        .flat_map(|s| {
            s.file_states
                .iter()
                .filter(|(_, scenario, _)| *scenario == Scenario::Warm)
                .map(move |(repetition, _, state)| {
                    format!(
                        "{} repetition {}: {} of {} pages cached{}",
                        format_size(s.file_size_bytes),
                        repetition + 1,
                        thousands(state.resident_pages),
                        thousands(state.file_pages),
                        state
                            .folios
                            .as_ref()
                            .ok()
                            .map(|f| format!(
                                ", {} in folios larger than a page",
                                thousands(f.n_pages_in_large_folios())
                            ))
                            .unwrap_or_default()
                    )
                })
        })
        .collect();
    let during = if short.is_empty() {
        format!(
            "no warm pass of the {} found a page of the file evicted",
            count(warm.len() as u64, "pass", "passes")
        )
    } else {
        format!(
            "{} of {} warm passes found pages of the file evicted before them (up to {}), which the next pass read back in small folios",
            short.len(),
            warm.len(),
            count(short.iter().copied().max().unwrap_or(0), "page", "pages")
        )
    };
    vec![Warning::new(
        "reclaimer-active",
        format!(
            "{}: during the run {during}; before each warm scenario (the file written afresh): {}",
            reclaimers.describe(),
            states.join("; ")
        ),
        "compare repetitions by their file_state rows; for a file no agent touches, run where no DAMON pageout scheme is on (echo off > /sys/kernel/mm/damon/admin/kdamonds/N/state, if the machine is yours)",
    )]
}

/// The timed `read 4k` against the plain loop: a harness that is slower
/// than the loop it wraps by more than 10% would distort every read() speed.
pub(crate) fn plain_loop_warning(plain: Option<&serde_json::Value>) -> Vec<Warning> {
    let Some(plain) = plain else {
        return Vec::new();
    };
    // Paired in the same rounds, and on-CPU (load on a shared machine
    // drops out): a harness that is slow by both is slow.
    let ratios = [
        plain["timed_in_rounds_over_plain_loop_paired"].as_f64(),
        plain["timed_in_rounds_over_plain_loop_on_cpu"].as_f64(),
    ];
    let worst = ratios
        .into_iter()
        .flatten()
        .fold(f64::NEG_INFINITY, f64::max);
    if worst >= PLAIN_LOOP_WITHIN || !worst.is_finite() {
        return Vec::new();
    }
    vec![Warning::new(
        "harness-slower-than-plain-loop",
        format!(
            "timed {} ran at {worst:.2} of a plain read()+sum loop over the same buffer at best (paired in the same rounds, or on-CPU; extra.plain_loop), below {PLAIN_LOOP_WITHIN}: the harness slowed the timed passes",
            plain["series"].as_str().unwrap_or("read")
        ),
        "rerun on an idle machine; if it persists, the timed passes carry a cost the plain loop does not",
    )]
}
