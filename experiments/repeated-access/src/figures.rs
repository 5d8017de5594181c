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
    folio_sizes_read: &[u64],
) -> Vec<FigureSpec> {
    let mut out = Vec::new();
    let several = sizes.len() > 1;
    for (index, &size) in sizes.iter().enumerate() {
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
                label: format!("memory bandwidth, one thread (anonymous buffer) {c:.1} GB/s"),
                value: *c,
            });
        }
        if let Some(all) = table.median(
            size,
            Scenario::Warm,
            Method::MemoryCeilingAllCpus,
            0,
            Passes::Later,
            gbps,
        ) {
            let threads = table
                .all
                .iter()
                .find(|p| p.method == Method::MemoryCeilingAllCpus.name())
                .and_then(|p| p.threads)
                .unwrap_or(0);
            references.push(ReferenceLine {
                label: format!("memory bandwidth, {threads} threads (all CPUs) {all:.1} GB/s"),
                value: all,
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
                ("role", "timed".into()),
                ("buffer_offset_bytes", 0.into()),
            ],
        );
        f.reference_lines = references;
        f.how_to_read = "Each line is a read-family method at each block size (median over the warm passes after the first, whisker p5-p95). The horizontal lines are measured in the same run: the same summing loop over an anonymous buffer in one thread (the ceiling every method, one thread each, is measured against) and in one thread per CPU (the machine's memory bandwidth), and the mmap methods, which take no block size. Every pass here was timed with no per-call counter on, its buffer at a page boundary. The gap between a line and mmap-reused is what the method's system calls, its copy and the kernel's work per byte cost.".into();
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
        per_pass.retain(|(scenario, _, _)| plan.scenarios(index).contains(scenario));
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
                    ("role", "timed".into()),
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

        for (id, field, label, question, role) in [
            (
                "syscalls-per-pass",
                "n_syscalls",
                "system calls per pass (raw_syscalls:sys_enter, counted passes)",
                "How many system calls does one pass over a cached file make?",
                "counted",
            ),
            (
                "faults-per-pass",
                "n_faults",
                "page faults per pass (getrusage, minor + major)",
                "How many page faults does one pass over a cached file take?",
                "timed",
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
                &[
                    ("scenario", "warm".into()),
                    ("headline", true.into()),
                    ("role", role.into()),
                ],
            );
            f.how_to_read = format!(
                "Two bars per method: the first pass and the later passes (median, p5-p95 whisker), log scale; a missing bar is zero. read() makes one call per block plus one at end of file on every pass; mmap-reused makes one mmap call and faults in its first pass, then nothing; the per-pass mappings pay mmap, munmap and faults every time. {}",
                if role == "counted" {
                    "System calls are counted in separate passes with every counter on (the timed passes run without per-call tracepoints)."
                } else {
                    "Faults come from getrusage in the timed passes."
                }
            );
            f.claims = vec!["S5".into()];
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
                    ("role", "timed".into()),
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

        if table
            .all
            .iter()
            .any(|p| p.file_size_bytes == size && p.is_observer())
        {
            out.extend(observer_figures(table, size, &suffix, &of));
        }
        if index == 0 && !plan.alignment_offsets.is_empty() {
            let mut f = base(
                "alignment",
                format!("Does it matter where read()'s buffer starts within a page?{of}"),
                FigureKind::Bar,
                "samples",
                Axis::new("method_block", "method and block size"),
                Axis::new("gb_per_s", "GB/s per pass (warm, passes 2 and later)"),
                "buffer_offset_label",
            );
            f.filter = filter(
                size,
                &[
                    ("alignment_axis", true.into()),
                    ("steady_state", true.into()),
                ],
            );
            f.how_to_read = format!(
                "One group per block size, one bar per buffer start: at a page boundary (page + 0 B, the default of every other figure) and {} bytes past one (median over the timed warm passes after the first, whisker p5-p95). The bytes read and the calls made are the same in every bar; only where the kernel's copy into user space (copy_to_user) writes them differs.",
                plan.alignment_offsets
                    .iter()
                    .map(|o| o.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            f.claims = vec!["S14".into()];
            out.push(f);
        }
        if !folio_sizes_read.contains(&size) {
            continue;
        }
        let mut f = base(
            "file-folios",
            format!(
                "In which folio sizes did the page cache hold the file before each scenario?{of}"
            ),
            FigureKind::Bar,
            "file_folios",
            Axis::new("folio_pages", "folio size (pages of 4 KiB)"),
            Axis::log("pages", "pages of the file in folios of that size"),
            "state",
        );
        f.filter = filter(size, &[]);
        f.how_to_read = "Read before the first pass of every scenario in every repetition (pagemap and /proc/kpageflags over the cached pages). The file is written afresh at the start of each repetition: a fresh write leaves large folios; pages reclaimed and read back (the cold scenarios' readahead, or a reclaimer such as a DAMON pageout scheme) come back in the folios readahead makes. A mapping over small folios takes more faults.".into();
        f.claims = vec!["S5".into(), "S14".into()];
        out.push(f);
    }
    out
}

/// The observer figures: what each counter set costs per system call, and
/// the speed of `read 4k` under each set against the plain loop.
fn observer_figures(table: &Rows, size: u64, suffix: &str, of: &str) -> Vec<FigureSpec> {
    let series = table
        .all
        .iter()
        .find(|p| p.file_size_bytes == size && p.is_observer())
        .map(|p| crate::methods::series_name(Method::Read, p.block_size_bytes.unwrap_or(0), 0))
        .unwrap_or_default();
    let mut cost = FigureSpec::new(
        &format!("instrumentation-cost{suffix}"),
        &format!("What does counting system calls add to each read() call?{of}"),
        FigureKind::Bar,
        "observer_rounds",
        Axis::new("counters", "counters on during the pass"),
        Axis::new(
            "added_ns_per_call",
            "time added per read() call (ns), against the timing set",
        ),
    );
    cost.series = Some("series".into());
    cost.filter = filter(size, &[("in_cost_figure", true.into())]);
    cost.how_to_read = format!(
        "The same {series} pass over the warm file, timed under each counter set: in every repetition the plain loop and the timing set (no tracepoint) alternate, then each tracepoint set is opened once for its passes and closed after. The timing set's passes come half before and half after the tracepoint sets'. Each bar is the median over passes (whisker p5-p95) of the pass's time minus the median timing-set pass of its repetition, divided by its read() calls; on a busy machine the whiskers are wide. Once a system-call tracepoint is open, every system call takes the kernel's traced entry path and runs perf's handler: read() pays it on every block, a kept mapping never. That is why the timed passes of this experiment run with no such counter, and the system calls are counted in passes of their own."
    );
    cost.claims = vec!["S5".into(), "S14".into()];
    let mut speed = FigureSpec::new(
        &format!("instrumentation-speed{suffix}"),
        &format!("How fast is read 4k under each counter set, against a plain loop?{of}"),
        FigureKind::Bar,
        "observer_rounds",
        Axis::new("counters", "counters on during the pass"),
        Axis::new(
            "over_plain_loop",
            "speed over the plain loop's in the same round",
        ),
    );
    speed.series = Some("series".into());
    speed.filter = filter(size, &[]);
    speed.reference_lines = vec![ReferenceLine {
        label: format!("{} of the plain loop", crate::tables::PLAIN_LOOP_WITHIN),
        value: crate::tables::PLAIN_LOOP_WITHIN,
    }];
    speed.how_to_read = format!(
        "The plain loop is read() into the same page-aligned buffer and the same summing kernel, timed by the clock alone; the timing set is what every timed pass of this experiment runs under. A bar near 1 means the measurement does not slow what it measures. Medians over rounds, whiskers p5-p95 ({series})."
    );
    speed.claims = vec!["S14".into()];
    vec![cost, speed]
}
