//! The figures of a run, declared as data for the plot crate: bandwidth
//! by block size, time per pass in each scenario, system calls and faults
//! per pass, storage reads under a memory limit, and CPU time.

use std::collections::BTreeMap;

use mmlab_core::size::format_size_short;
use mmlab_core::{Axis, FigureKind, FigureSpec, ReferenceLine, format_size};
use serde_json::Value;

use crate::judge::{EVICTED_CACHED_FRACTION, EVICTED_PASSES_FRACTION};
use crate::methods::Method;
use crate::plan::{Plan, Scenario};
use crate::rows::{Passes, Rows, evicted_before, gbps};
use crate::tables::TimeSplit;

fn filter(size: u64, pairs: &[(&str, Value)]) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("file_size_bytes".into(), size.into());
    for (k, v) in pairs {
        map.insert((*k).to_string(), v.clone());
    }
    map
}

/// Every figure of the run, for each file size in `sizes`; the reference
/// lines and captions come from the samples (`table`).
pub(crate) fn figures(
    table: &Rows,
    plan: &Plan,
    sizes: &[u64],
    ceilings: &BTreeMap<u64, f64>,
    why_not_evicted: Option<&str>,
) -> Vec<FigureSpec> {
    let mut out = Vec::new();
    let several = sizes.len() > 1;
    for &size in sizes {
        let suffix = if several {
            format!("-{}", format_size_short(size))
        } else {
            String::new()
        };
        let of = format!(" ({} file)", format_size(size));
        let base = |id: &str, title: String, kind, data: &str, x, y, series: &str| {
            let mut spec = FigureSpec::new(&format!("{id}{suffix}"), &title, kind, data, x, y);
            spec.series = Some(series.to_string());
            spec
        };
        let mut references = Vec::new();
        if let Some(c) = ceilings.get(&size) {
            references.push(ReferenceLine {
                label: format!("memory bandwidth (anonymous buffer) {c:.1} GB/s"),
                value: *c,
            });
        }
        for method in [Method::MmapReused, Method::MmapPerPass] {
            if let Some(g) = table.median(size, Scenario::Warm, method, 0, Passes::Later, gbps) {
                references.push(ReferenceLine {
                    label: format!("{} {g:.1} GB/s", method.name()),
                    value: g,
                });
            }
        }
        let mut f = base(
            "bandwidth-by-block",
            format!(
                "How close does each way of reading a cached file come to the memory bandwidth?{of}"
            ),
            FigureKind::Line,
            "samples",
            Axis::log("block_size_bytes", "block size (bytes)"),
            Axis::new("gb_per_s", "GB/s per pass (warm, passes 2 and later)"),
            "method",
        );
        f.filter = filter(
            size,
            &[
                ("scenario", "warm".into()),
                ("steady_state", true.into()),
                ("family", "block".into()),
            ],
        );
        f.reference_lines = references;
        f.how_to_read = "Each line is a read-family method at each block size (median over the warm passes after the first, whisker p5-p95). The horizontal lines are measured in the same run: the same summing loop over an anonymous buffer (the memory bandwidth, the ceiling) and the mmap methods, which take no block size. The gap between a line and mmap-reused is what the method's system calls, its copy and the kernel's work per byte cost.".into();
        if TimeSplit::of(table, size, plan.headline_block_bytes).is_some() {
            f.how_to_read.push_str(" How that gap divides between the calls, the copy and the kernel's work per byte is computed in extra.time_split.");
        }
        f.claims = vec!["S14".into(), "S5".into()];
        out.push(f);

        let mut per_pass = vec![
            (
                Scenario::Warm,
                "Warm file: how much more does the first pass cost than the next ones?".to_string(),
                vec!["S14"],
            ),
            (
                Scenario::Cold,
                "Cold file: what does the first pass cost each method, and the next ones?".to_string(),
                vec!["S13", "S14"],
            ),
            (
                Scenario::EvictEveryPass,
                "Page cache too small (file evicted before every pass): does mmap keep its advantage?".to_string(),
                vec!["S14"],
            ),
        ];
        if let Some(limit) = plan.memory_limit_bytes {
            per_pass.push((
                Scenario::MemoryLimit,
                format!(
                    "Page cache limited to {} by a memory cgroup: what do the passes after the first cost?",
                    format_size(limit)
                ),
                vec!["S14"],
            ));
        }
        for (scenario, question, claims) in per_pass {
            let mut f = base(
                &format!("time-per-pass-{}", scenario.name()),
                format!("{question}{of}"),
                FigureKind::Line,
                "samples",
                Axis::new("pass_index", "pass over the same file"),
                Axis::log("elapsed_ms", "time per pass (ms)"),
                "series",
            );
            f.filter = filter(
                size,
                &[
                    ("scenario", scenario.name().into()),
                    ("headline", true.into()),
                ],
            );
            f.how_to_read = format!(
                "One line per method (read family at {}), median over repetitions with a p5-p95 whisker; log scale. Pass 1 pays for what later passes reuse: mapping and page faults for mmap-reused, I/O when the file was evicted. {}",
                format_size_short(plan.headline_block_bytes),
                scenario.description()
            );
            // The caption must not promise an eviction that did not happen.
            if let Err(not) = evicted_before(
                table,
                size,
                scenario,
                EVICTED_CACHED_FRACTION,
                EVICTED_PASSES_FRACTION,
                why_not_evicted,
            ) {
                f.how_to_read.push_str(&format!(
                    " Not so in this run: {}: {}.",
                    not.counts, not.reason
                ));
            }
            f.claims = claims.into_iter().map(String::from).collect();
            out.push(f);
        }

        for (id, field, label, question, claim) in [
            (
                "syscalls-per-pass",
                "n_syscalls",
                "system calls per pass (raw_syscalls:sys_enter)",
                "How many system calls does one pass over a cached file make?",
                "S5",
            ),
            (
                "faults-per-pass",
                "n_faults",
                "page faults per pass (getrusage, minor + major)",
                "How many page faults does one pass over a cached file take?",
                "S5",
            ),
        ] {
            let mut f = base(
                id,
                format!("{question}{of}"),
                FigureKind::Bar,
                "samples",
                Axis::new("series", "method"),
                Axis::log(field, label),
                "pass_kind",
            );
            f.filter = filter(
                size,
                &[("scenario", "warm".into()), ("headline", true.into())],
            );
            f.how_to_read = "Two bars per method: the first pass and the later passes (median, p5-p95 whisker), log scale; a missing bar is zero. read() makes one call per block plus one at end of file on every pass; mmap-reused makes one mmap call and faults in its first pass, then nothing; the per-pass mappings pay mmap, munmap and faults every time.".into();
            f.claims = vec![claim.into()];
            out.push(f);
        }

        if let Some(limit) = plan.memory_limit_bytes {
            let mut f = base(
                "storage-per-pass-memory-limit",
                format!(
                    "Page cache limited to {} by a memory cgroup: how much does each pass read from storage?{of}",
                    format_size(limit)
                ),
                FigureKind::Bar,
                "samples",
                Axis::new("series", "method"),
                Axis::new(
                    "io_read_bytes",
                    "read from storage per pass (/proc/self/io read_bytes)",
                ),
                "pass_kind",
            );
            f.filter = filter(
                size,
                &[
                    ("scenario", Scenario::MemoryLimit.name().into()),
                    ("headline", true.into()),
                ],
            );
            f.reference_lines = vec![ReferenceLine {
                label: format!("the file, {}", format_size(size)),
                value: size as f64,
            }];
            f.how_to_read = format!(
                "Two bars per method: the first pass (the file was evicted before it) and the later passes (median, p5-p95 whisker). Later passes of a file that stayed cached read nothing; under a {} limit a bar at the file's size means every pass read the whole file again, and one above it means pages were read, dropped before use and read again.",
                format_size(limit)
            );
            f.claims = vec!["S14".into()];
            out.push(f);
        }

        let mut f = base(
            "cpu-time",
            format!("Where does a pass spend its CPU time: in the program or in the kernel?{of}"),
            FigureKind::Bar,
            "cpu_split",
            Axis::new("series", "method"),
            Axis::new(
                "time_ms",
                "CPU time per pass (ms, warm, passes 2 and later)",
            ),
            "cpu",
        );
        f.filter = filter(size, &[("scenario", "warm".into())]);
        f.how_to_read = "User time is the summing loop (and, for mmap-copy, the copy); system time is the kernel copying from the page cache in read(), or mapping and faulting for the per-pass mappings. mmap-reused and the memory ceiling should show user time only.".into();
        f.claims = vec!["S5".into(), "S14".into()];
        out.push(f);
    }
    out
}
