//! The samples (one per pass), summaries and per-series tables of the
//! result file. Samples come from the pass records; everything else is
//! computed from the samples as the file holds them ([`Rows`]).

use std::collections::BTreeMap;

use mmlab_core::Summary;
use mmlab_core::size::format_size_short;
use serde_json::{Value, json};

use crate::adaptive::{MedianInterval, Rule, Stop};
use crate::instrument::Instrumentation;
use crate::methods::{Family, Method, expected_read_calls, series_name};
use crate::plan::{Plan, Repetitions, Scenario};
use crate::rows::{Pass, Passes, Rows, faults, gbps, millis, on_cpu_gbps, syscalls};
use crate::runner::{PassRecord, Role, SizeInfo, later_speeds};
use crate::text::thousands;

/// Median steady-state (passes 2..) bandwidth of the memory ceiling per
/// file size, from the timed records (the samples' `fraction_of_ceiling`
/// needs it before there are samples).
pub(crate) fn ceilings(records: &[PassRecord]) -> BTreeMap<u64, f64> {
    let mut speeds: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for r in records.iter().filter(|r| {
        r.scenario == Scenario::Warm
            && r.role == Role::Timed
            && r.method == Method::MemoryCeiling
            && !r.is_first_pass()
    }) {
        speeds
            .entry(r.file_size_bytes)
            .or_default()
            .push(r.gb_per_s());
    }
    speeds
        .into_iter()
        .filter_map(|(size, v)| Some((size, mmlab_core::stats::median(&v)?)))
        .collect()
}

/// The read family's series at the alignment axis's block sizes, every
/// offset included (the figure's selection).
fn on_alignment_axis(r: &PassRecord, plan: &Plan, first_size: u64) -> bool {
    r.file_size_bytes == first_size
        && r.method == Method::Read
        && r.role == Role::Timed
        && r.scenario == Scenario::Warm
        && !plan.alignment_offsets.is_empty()
        && plan.alignment_block_sizes_bytes.contains(&r.block_bytes)
}

/// One pass as a sample; `first_size` is the run's first file size, the
/// only one with the alignment axis.
pub(crate) fn sample(r: &PassRecord, plan: &Plan, ceiling: Option<f64>, first_size: u64) -> Value {
    let m = &r.measurement;
    let mut s = serde_json::Map::new();
    let block = (r.method.family() == Family::Block).then_some(r.block_bytes);
    s.insert("file_size_bytes".into(), r.file_size_bytes.into());
    s.insert("scenario".into(), r.scenario.name().into());
    s.insert("method".into(), r.method.name().into());
    s.insert("family".into(), r.method.family().as_str().into());
    s.insert("block_size_bytes".into(), json!(block));
    s.insert("series".into(), r.series().into());
    s.insert(
        "method_block".into(),
        series_name(r.method, r.block_bytes, 0).into(),
    );
    s.insert(
        "headline".into(),
        (r.buffer_offset == 0 && is_headline(r.method, r.block_bytes, plan)).into(),
    );
    s.insert("repetition".into(), r.repetition.into());
    s.insert("pass_index".into(), r.pass_index.into());
    s.insert(
        "pass_kind".into(),
        if r.is_first_pass() {
            "first pass"
        } else {
            "later passes"
        }
        .into(),
    );
    s.insert("steady_state".into(), (!r.is_first_pass()).into());
    s.insert("role".into(), r.role.name().into());
    s.insert("instrumentation".into(), r.instrumentation.name().into());
    s.insert(
        "instrumentation_label".into(),
        r.instrumentation.label().into(),
    );
    s.insert("counters_on".into(), r.counters_on.clone().into());
    s.insert(
        "tracepoints_on".into(),
        r.instrumentation.traces_calls().into(),
    );
    s.insert("buffer_offset_bytes".into(), r.buffer_offset.into());
    s.insert(
        "buffer_offset_label".into(),
        format!("page + {} B", r.buffer_offset).into(),
    );
    s.insert(
        "buffer_page_offset_bytes".into(),
        json!(r.buffer_page_offset),
    );
    s.insert(
        "buffer_offsets_varied".into(),
        r.buffer_offsets_varied.into(),
    );
    s.insert(
        "alignment_axis".into(),
        on_alignment_axis(r, plan, first_size).into(),
    );
    s.insert("threads".into(), r.threads.into());
    s.insert(
        "mapping_rss_bytes".into(),
        json!(r.mapping.map(|m| m.rss_bytes)),
    );
    s.insert(
        "mapping_file_pmd_mapped_bytes".into(),
        json!(r.mapping.map(|m| m.file_pmd_mapped_bytes)),
    );
    s.insert("bytes_read".into(), r.file_size_bytes.into());
    s.insert("elapsed_ms".into(), json!(r.elapsed_ns() as f64 / 1e6));
    s.insert("gb_per_s".into(), json!(r.gb_per_s()));
    s.insert(
        "fraction_of_ceiling".into(),
        json!(ceiling.map(|c| r.gb_per_s() / c)),
    );
    s.insert("on_cpu_fraction".into(), json!(r.on_cpu_fraction()));
    s.insert("on_cpu_gb_per_s".into(), json!(r.on_cpu_gb_per_s()));
    s.insert("user_ms".into(), json!(m.rusage.user_ns as f64 / 1e6));
    s.insert("system_ms".into(), json!(m.rusage.system_ns as f64 / 1e6));
    s.insert("n_syscalls".into(), json!(r.n_syscalls()));
    s.insert(
        "call_of_interest".into(),
        json!(r.method.call_of_interest()),
    );
    s.insert("n_calls_of_interest".into(), json!(r.n_calls_of_interest()));
    s.insert(
        "expected_read_calls".into(),
        json!(
            r.method
                .reads_blocks()
                .then(|| expected_read_calls(r.file_size_bytes, r.block_bytes))
        ),
    );
    s.insert("n_minor_faults".into(), m.rusage.n_minor_faults.into());
    s.insert("n_major_faults".into(), m.rusage.n_major_faults.into());
    s.insert("n_faults".into(), r.n_faults().into());
    s.insert("io_read_bytes".into(), json!(r.io_read_bytes));
    s.insert(
        "resident_pages_before".into(),
        json!(r.resident_pages_before),
    );
    s.insert("file_pages".into(), r.file_pages.into());
    s.insert("checksum".into(), format!("{:#018x}", r.checksum).into());
    s.insert("checksum_ok".into(), true.into());
    for (key, value) in m.sample_fields() {
        s.entry(key).or_insert(value);
    }
    Value::Object(s)
}

/// The series shown in the per-pass figures: every mapping, the ceilings,
/// and the read family at the headline block size.
fn is_headline(method: Method, block: u64, plan: &Plan) -> bool {
    method.family() != Family::Block || block == plan.headline_block_bytes
}

/// (file size, scenario, series, pass kind, role): the key of one summary.
type SeriesKey<'a> = (u64, &'a str, String, &'a str, &'a str);

pub(crate) fn summaries(records: &[PassRecord]) -> Vec<Summary> {
    let mut groups: BTreeMap<SeriesKey, Vec<(f64, f64)>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.role != Role::Observer) {
        let kind = if r.is_first_pass() {
            "first-pass"
        } else {
            "steady-state"
        };
        groups
            .entry((
                r.file_size_bytes,
                r.scenario.name(),
                r.series(),
                kind,
                r.role.name(),
            ))
            .or_default()
            .push((r.gb_per_s(), r.elapsed_ns() as f64));
    }
    let mut out = Vec::new();
    for ((size, scenario, series, kind, role), values) in groups {
        let suffix = if role == Role::Timed.name() {
            String::new()
        } else {
            format!(" ({role}, every counter on)")
        };
        let name = format!(
            "{} {scenario} {series} {kind}{suffix}",
            format_size_short(size)
        );
        let gb: Vec<f64> = values.iter().map(|v| v.0).collect();
        let ns: Vec<f64> = values.iter().map(|v| v.1).collect();
        out.extend(Summary::of(name.clone(), "gb_per_s", &gb));
        out.extend(Summary::of(name, "elapsed_ns", &ns));
    }
    out
}

/// User and system time per timed pass, one row each, for the CPU-time
/// figure.
pub(crate) fn cpu_split(records: &[PassRecord], plan: &Plan) -> Vec<Value> {
    let mut rows = Vec::new();
    for r in records.iter().filter(|r| {
        r.scenario == Scenario::Warm
            && r.role == Role::Timed
            && r.buffer_offset == 0
            && r.threads == 1
            && !r.is_first_pass()
            && is_headline(r.method, r.block_bytes, plan)
    }) {
        for (cpu, ns) in [
            ("user", r.measurement.rusage.user_ns),
            ("system", r.measurement.rusage.system_ns),
        ] {
            rows.push(json!({
                "file_size_bytes": r.file_size_bytes,
                "scenario": r.scenario.name(),
                "series": r.series(),
                "repetition": r.repetition,
                "pass_index": r.pass_index,
                "cpu": cpu,
                "time_ms": ns as f64 / 1e6,
            }));
        }
    }
    rows
}

/// The configurations of the samples, in the order they first appear.
fn configurations_of(table: &Rows, size: u64, scenario: Scenario) -> Vec<(Method, u64, u64)> {
    let mut out = Vec::new();
    for p in table
        .all
        .iter()
        .filter(|p| p.file_size_bytes == size && p.scenario == scenario.name() && !p.is_observer())
    {
        let Some(method) = Method::from_name(&p.method) else {
            continue;
        };
        let key = (method, p.block_size_bytes.unwrap_or(0), p.buffer_offset());
        if !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

/// One row per (size, scenario, series): medians a student can read
/// without a plot. Times, speeds and faults from the timed passes, system
/// calls from the counted ones (and their time beside, every counter on).
pub(crate) fn series_table(table: &Rows, plan: &Plan, sizes: &[u64]) -> Vec<Value> {
    let mut rows = Vec::new();
    for &size in sizes {
        let ceiling = table.ceiling(size);
        let ceiling_on_cpu = table.median(
            size,
            Scenario::Warm,
            Method::MemoryCeiling,
            0,
            Passes::Later,
            on_cpu_gbps,
        );
        for scenario in plan.scenarios(0) {
            for (method, block, offset) in configurations_of(table, size, scenario) {
                let timed = |passes: Passes| {
                    table
                        .all
                        .iter()
                        .filter(|p| {
                            p.is_timed()
                                && p.file_size_bytes == size
                                && p.scenario == scenario.name()
                                && p.method == method.name()
                                && p.block_size_bytes.unwrap_or(0) == block
                                && p.buffer_offset() == offset
                                && match passes {
                                    Passes::First => p.is_first_pass(),
                                    Passes::Later => !p.is_first_pass(),
                                    Passes::Every => true,
                                }
                        })
                        .collect::<Vec<&Pass>>()
                };
                let m = |passes, f: fn(&Pass) -> Option<f64>| {
                    let v: Option<Vec<f64>> = timed(passes).into_iter().map(f).collect();
                    mmlab_core::stats::median(&v.filter(|v| !v.is_empty())?)
                };
                let c = |passes, f: fn(&Pass) -> Option<f64>| {
                    (offset == 0)
                        .then(|| table.counted_median(size, scenario, method, block, passes, f))
                        .flatten()
                };
                let steady_gbps = m(Passes::Later, gbps);
                let steady_on_cpu = m(Passes::Later, on_cpu_gbps);
                let steady_ms = m(Passes::Later, millis);
                let counted_ms = c(Passes::Later, millis);
                rows.push(json!({
                    "file_size_bytes": size,
                    "scenario": scenario.name(),
                    "series": series_name(method, block, offset),
                    "buffer_offset_bytes": offset,
                    "first_pass_ms": m(Passes::First, millis),
                    "steady_state_ms": steady_ms,
                    "steady_state_gb_per_s": steady_gbps,
                    "steady_state_fraction_of_ceiling": steady_gbps.zip(ceiling).map(|(g, c)| g / c),
                    "steady_state_on_cpu_gb_per_s": steady_on_cpu,
                    "steady_state_on_cpu_fraction_of_ceiling": steady_on_cpu
                        .zip(ceiling_on_cpu)
                        .map(|(g, c)| g / c),
                    "first_pass_syscalls": c(Passes::First, syscalls),
                    "steady_state_syscalls": c(Passes::Later, syscalls),
                    "first_pass_faults": m(Passes::First, faults),
                    "steady_state_faults": m(Passes::Later, faults),
                    "counted_steady_state_ms": counted_ms,
                    "counted_over_timed": counted_ms.zip(steady_ms).map(|(c, t)| c / t),
                }));
            }
        }
    }
    rows
}

/// Per file size: the checksum, both ceilings and what they are measured
/// against (the kernel's in-cache speed, mmap-reused's steady state).
pub(crate) fn sizes_table(table: &Rows, sizes: &[SizeInfo]) -> Vec<Value> {
    sizes
        .iter()
        .map(|s| {
            let size = s.file_size_bytes;
            let ceiling = table.ceiling(size);
            let later = |method, f: fn(&Pass) -> Option<f64>| {
                table.median(size, Scenario::Warm, method, 0, Passes::Later, f)
            };
            let ceiling_on_cpu = later(Method::MemoryCeiling, on_cpu_gbps);
            let all_cpus = later(Method::MemoryCeilingAllCpus, gbps);
            let pmd = table
                .all
                .iter()
                .filter(|p| {
                    p.file_size_bytes == size
                        && p.scenario == Scenario::Warm.name()
                        && p.method == Method::MmapReused.name()
                        && p.is_timed()
                })
                .filter_map(|p| p.mapping_file_pmd_mapped_bytes)
                .fold(None, |most: Option<f64>, v| {
                    Some(most.map_or(v, |m| m.max(v)))
                });
            json!({
                "file_size_bytes": size,
                "file_checksum": format!("{:#018x}", s.checksum),
                "ceiling_gb_per_s": ceiling,
                "ceiling_threads": 1,
                "ceiling_all_cpus_gb_per_s": all_cpus,
                "ceiling_all_cpus_threads": s.ceiling_threads,
                "all_cpus_over_one_thread": all_cpus.zip(ceiling).map(|(a, c)| a / c),
                "ceiling_buffer_huge_page_bytes": s.ceiling_huge_bytes,
                "kernel_in_cache_gb_per_s": s.kernel_in_cache_gb_per_s,
                "kernel_in_cache_over_ceiling": ceiling.map(|c| s.kernel_in_cache_gb_per_s / c),
                "mmap_reused_steady_over_ceiling": later(Method::MmapReused, gbps)
                    .zip(ceiling)
                    .map(|(m, c)| m / c),
                "ceiling_on_cpu_gb_per_s": ceiling_on_cpu,
                "mmap_reused_steady_over_ceiling_on_cpu": later(Method::MmapReused, on_cpu_gbps)
                    .zip(ceiling_on_cpu)
                    .map(|(m, c)| m / c),
                "mmap_reused_file_pmd_mapped_bytes": pmd,
                "file_write_ms": s.write_ms,
            })
        })
        .collect()
}

/// Per series: how many repetitions ran, why they stopped, and how wide
/// the median's interval came out (the stopping rule's numbers, recorded
/// for fixed repetitions too).
pub(crate) fn repetitions_table(
    records: &[PassRecord],
    sizes: &[SizeInfo],
    plan: &Plan,
) -> Vec<Value> {
    let (confidence, target) = match plan.repetitions {
        Repetitions::Adaptive { rule, .. } => (rule.confidence, Some(rule.half_width)),
        Repetitions::Fixed(_) => (Rule::FULL.confidence, None),
    };
    let mut rows = Vec::new();
    for size in sizes {
        for series in &size.series {
            let values = later_speeds(
                records,
                size.file_size_bytes,
                series.scenario,
                series.config,
            );
            let interval = MedianInterval::of(&values, confidence);
            rows.push(json!({
                "file_size_bytes": size.file_size_bytes,
                "scenario": series.scenario.name(),
                "series": series.config.series(),
                "repetitions": series.repetitions,
                "stopped_by": series.stop.map(Stop::as_str),
                "n_values": values.len(),
                "value": "GB/s of the timed passes after the first",
                "median_gb_per_s": interval.map(|i| i.median),
                "ci_low_gb_per_s": interval.map(|i| i.low),
                "ci_high_gb_per_s": interval.map(|i| i.high),
                "ci_confidence": confidence,
                "ci_half_width_fraction": interval.map(|i| i.half_width()),
                "target_half_width_fraction": target,
            }));
        }
    }
    rows
}

/// The file's state before each scenario's first pass, per repetition,
/// and the flat rows of its folio histogram (for the figure).
pub(crate) fn file_state_tables(sizes: &[SizeInfo]) -> (Vec<Value>, Vec<Value>) {
    let mut states = Vec::new();
    let mut folios = Vec::new();
    for size in sizes {
        for (repetition, scenario, state) in &size.file_states {
            states.push(state.row(size.file_size_bytes, *repetition, scenario.name()));
            folios.extend(state.folio_rows(size.file_size_bytes, *repetition, scenario.name()));
        }
    }
    (states, folios)
}

/// The observer measurement: per pass, what each counter set added per
/// system call to a `read` pass, against the median timing-set pass of the
/// same repetition (rows for the figure), and its speed over the plain
/// loop of the same round; per set the medians (the summary rows).
pub(crate) fn observer_tables(table: &Rows, size: u64) -> (Vec<Value>, Vec<Value>) {
    let passes: Vec<&Pass> = table
        .all
        .iter()
        .filter(|p| p.is_observer() && p.file_size_bytes == size)
        .collect();
    let of = |p: &Pass| {
        p.instrumentation
            .as_deref()
            .and_then(Instrumentation::from_name)
    };
    let mut rounds = Vec::new();
    for p in &passes {
        let Some(set) = of(p) else { continue };
        // Against the timing set's median in the same repetition (its
        // passes bracket the tracepoint sets' in time).
        let reference: Vec<f64> = passes
            .iter()
            .filter(|q| q.repetition == p.repetition && of(q) == Some(Instrumentation::Timing))
            .map(|q| q.elapsed_ms)
            .collect();
        let reference = mmlab_core::stats::median(&reference);
        let plain = passes.iter().find(|q| {
            q.repetition == p.repetition
                && q.pass_index == p.pass_index
                && of(q) == Some(Instrumentation::None)
        });
        let calls = p.expected_read_calls;
        rounds.push(json!({
            "file_size_bytes": size,
            "repetition": p.repetition,
            "round": p.pass_index,
            "instrumentation": set.name(),
            "counters": set.label(),
            "series": series_name(
                Method::from_name(&p.method).unwrap_or(Method::Read),
                p.block_size_bytes.unwrap_or(0),
                0,
            ),
            "elapsed_ms": p.elapsed_ms,
            "gb_per_s": p.gb_per_s,
            "read_calls": calls,
            "in_cost_figure": set.traces_calls(),
            "added_ns_per_call": reference
                .zip(calls)
                .map(|(r, n)| 1e6 * (p.elapsed_ms - r) / n),
            "over_plain_loop": plain.map(|q| p.gb_per_s / q.gb_per_s),
        }));
    }
    let mut summary = Vec::new();
    for set in Instrumentation::ALL {
        let chosen: Vec<&Value> = rounds
            .iter()
            .filter(|r| r["instrumentation"] == set.name())
            .collect();
        let med = |field: &str| {
            let v: Vec<f64> = chosen.iter().filter_map(|r| r[field].as_f64()).collect();
            mmlab_core::stats::median(&v)
        };
        if chosen.is_empty() {
            continue;
        }
        summary.push(json!({
            "file_size_bytes": size,
            "instrumentation": set.name(),
            "counters": set.label(),
            "events": set.events(),
            "rounds": chosen.len(),
            "median_ms": med("elapsed_ms"),
            "median_gb_per_s": med("gb_per_s"),
            "added_ns_per_call": med("added_ns_per_call"),
            "speed_over_plain_loop": med("over_plain_loop"),
        }));
    }
    (rounds, summary)
}

/// The harness against the plain loop: `read` at the observer block size
/// with the timing counters (the observer rounds', and the main series'
/// passes after the first) over the plain loop in the same rounds.
pub(crate) fn plain_loop_table(table: &Rows, size: u64, observer_block: u64) -> Option<Value> {
    let passes = |set: Instrumentation| -> Vec<&Pass> {
        table
            .all
            .iter()
            .filter(|p| {
                p.is_observer()
                    && p.file_size_bytes == size
                    && p.instrumentation.as_deref() == Some(set.name())
            })
            .collect()
    };
    let median_of = |passes: &[&Pass], f: fn(&Pass) -> Option<f64>| {
        let v: Vec<f64> = passes.iter().filter_map(|p| f(p)).collect();
        mmlab_core::stats::median(&v)
    };
    let (plain, timing) = (
        passes(Instrumentation::None),
        passes(Instrumentation::Timing),
    );
    let plain_gbps = median_of(&plain, gbps)?;
    let timing_gbps = median_of(&timing, gbps)?;
    // Each timing-set pass against the plain loop of its own round (the
    // two ran one after the other).
    let paired: Vec<f64> = timing
        .iter()
        .filter_map(|t| {
            let p = plain
                .iter()
                .find(|p| p.repetition == t.repetition && p.pass_index == t.pass_index)?;
            Some(t.gb_per_s / p.gb_per_s)
        })
        .collect();
    let plain_on_cpu = median_of(&plain, on_cpu_gbps);
    let timing_on_cpu = median_of(&timing, on_cpu_gbps);
    let series = table.median(
        size,
        Scenario::Warm,
        Method::Read,
        observer_block,
        Passes::Later,
        gbps,
    );
    let series_on_cpu = table.median(
        size,
        Scenario::Warm,
        Method::Read,
        observer_block,
        Passes::Later,
        on_cpu_gbps,
    );
    Some(json!({
        "file_size_bytes": size,
        "series": series_name(Method::Read, observer_block, 0),
        "rounds": paired.len(),
        "plain_loop_gb_per_s": plain_gbps,
        "timed_in_rounds_gb_per_s": timing_gbps,
        "timed_in_rounds_over_plain_loop": timing_gbps / plain_gbps,
        "timed_in_rounds_over_plain_loop_paired": mmlab_core::stats::median(&paired),
        "plain_loop_on_cpu_gb_per_s": plain_on_cpu,
        "timed_in_rounds_on_cpu_gb_per_s": timing_on_cpu,
        "timed_in_rounds_over_plain_loop_on_cpu": timing_on_cpu.zip(plain_on_cpu).map(|(t, p)| t / p),
        "timed_series_gb_per_s": series,
        "timed_series_over_plain_loop": series.map(|s| s / plain_gbps),
        "timed_series_over_plain_loop_on_cpu": series_on_cpu.zip(plain_on_cpu).map(|(s, p)| s / p),
        "within": PLAIN_LOOP_WITHIN,
        "what": "read() into the same page-aligned buffer and the same summing kernel, timed by the clock alone, alternating with the timing-set passes in the same rounds; on-CPU speeds divide by task-clock (timed passes) or getrusage user + system time (the plain loop), so that time lost to other processes on a shared machine drops out",
    }))
}

/// The timed `read 4k` should run at least this fraction of the plain
/// loop's speed; below it, a warning says the harness slows what it times.
pub const PLAIN_LOOP_WITHIN: f64 = 0.9;

/// Where read()'s time goes, from the warm passes after the first (medians):
/// the cost of one call beyond its bytes, estimated from `read 4k` against
/// `read 1m` (the same bytes in 65,537 against 257 calls on a 256 MiB file,
/// assuming the work per byte is the same at both sizes), and the gap
/// between `read` at the headline block size and `mmap-reused` split into
/// the copy in user space (`mmap-copy` at that size, which makes no system
/// calls, less `mmap-reused`), the calls (per-call cost times calls per
/// pass) and what is left: the kernel's work per byte inside read()
/// (copy_to_user, page-cache lookups). `None` when a series is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSplit {
    pub small_block: u64,
    pub large_block: u64,
    pub headline_block: u64,
    pub small_ms: f64,
    pub large_ms: f64,
    pub small_calls: f64,
    pub large_calls: f64,
    /// (small_ms - large_ms) / (small_calls - large_calls), in microseconds.
    pub per_call_us: f64,
    pub read_ms: f64,
    pub read_calls: f64,
    pub copy_ms: f64,
    pub mmap_ms: f64,
}

impl TimeSplit {
    pub const SMALL_BLOCK: u64 = 4 << 10;
    pub const LARGE_BLOCK: u64 = 1 << 20;

    pub fn of(table: &Rows, size: u64, headline_block: u64) -> Option<TimeSplit> {
        let later = |method, block| {
            table.median(size, Scenario::Warm, method, block, Passes::Later, millis)
        };
        let calls = |block| {
            table.median(
                size,
                Scenario::Warm,
                Method::Read,
                block,
                Passes::Later,
                |p| p.expected_read_calls,
            )
        };
        let (small, large) = (TimeSplit::SMALL_BLOCK, TimeSplit::LARGE_BLOCK);
        let small_ms = later(Method::Read, small)?;
        let large_ms = later(Method::Read, large)?;
        let small_calls = calls(small)?;
        let large_calls = calls(large)?;
        (small_calls > large_calls).then_some(())?;
        Some(TimeSplit {
            small_block: small,
            large_block: large,
            headline_block,
            small_ms,
            large_ms,
            small_calls,
            large_calls,
            per_call_us: 1e3 * (small_ms - large_ms) / (small_calls - large_calls),
            read_ms: later(Method::Read, headline_block)?,
            read_calls: calls(headline_block)?,
            copy_ms: later(Method::MmapCopy, headline_block)?,
            mmap_ms: later(Method::MmapReused, 0)?,
        })
    }

    /// The system calls' share of a read() pass at the headline block
    /// size, in ms.
    pub fn calls_ms(&self) -> f64 {
        self.per_call_us * self.read_calls / 1e3
    }

    /// read() at the headline block size less mmap-copy at the same size:
    /// what read() adds to a copy made in user space.
    pub fn read_over_copy_ms(&self) -> f64 {
        self.read_ms - self.copy_ms
    }

    /// What is left of that once the calls are taken out: the kernel's
    /// work per byte (copy_to_user, page-cache lookups).
    pub fn in_kernel_per_byte_ms(&self) -> f64 {
        self.read_over_copy_ms() - self.calls_ms()
    }

    /// The calls' share of a `read 4k` pass.
    pub fn small_block_calls_fraction(&self) -> f64 {
        self.per_call_us * self.small_calls / 1e3 / self.small_ms
    }

    /// The split in one paragraph, with the run's numbers.
    pub fn sentence(&self) -> String {
        let (s, l, h) = (
            format_size_short(self.small_block),
            format_size_short(self.large_block),
            format_size_short(self.headline_block),
        );
        if self.per_call_us <= 0.0 {
            return format!(
                "read {s} took {:.1} ms per pass and read {l} {:.1} ms: with fewer calls no faster, this run gives no estimate of the cost of a call (a busy machine, or work per byte that grows with the block size)",
                self.small_ms, self.large_ms
            );
        }
        let calls = format!(
            "One read() call costs about {:.2} us beyond its bytes here: read {s} took {:.1} ms per pass in {} calls, read {l} {:.1} ms in {} (the difference over the difference in calls, assuming the same work per byte at both sizes). At {s} the calls are then {:.1} ms of the {:.1} ms pass ({:.0}%): the rest of a small-block pass is work per byte, as at larger blocks.",
            self.per_call_us,
            self.small_ms,
            thousands(self.small_calls.round() as u64),
            self.large_ms,
            thousands(self.large_calls.round() as u64),
            self.per_call_us * self.small_calls / 1e3,
            self.small_ms,
            100.0 * self.small_block_calls_fraction(),
        );
        let gap = format!(
            "Of the {:.1} ms between read {h} ({:.1} ms) and mmap-reused ({:.1} ms), the copy into a user buffer (mmap-copy {h}, no system calls, {:.1} ms) accounts for {:.1} ms",
            self.read_ms - self.mmap_ms,
            self.read_ms,
            self.mmap_ms,
            self.copy_ms,
            self.copy_ms - self.mmap_ms,
        );
        let rest = if self.read_over_copy_ms() > self.calls_ms() {
            format!(
                "; of the {:.1} ms read {h} takes beyond mmap-copy {h}, its {} calls account for about {:.1} ms, and the other {:.1} ms is the kernel's work per byte inside read() (copy_to_user, page-cache lookups).",
                self.read_over_copy_ms(),
                thousands(self.read_calls.round() as u64),
                self.calls_ms(),
                self.in_kernel_per_byte_ms(),
            )
        } else {
            format!(
                "; read {h} took {:.1} ms {} than mmap-copy {h}, no more than its {} calls' {:.1} ms: in this run the kernel's copy cost no more per byte than the copy in user space.",
                self.read_over_copy_ms().abs(),
                if self.read_over_copy_ms() >= 0.0 {
                    "more"
                } else {
                    "less"
                },
                thousands(self.read_calls.round() as u64),
                self.calls_ms(),
            )
        };
        format!("{calls} {gap}{rest}")
    }

    pub fn row(&self, size: u64) -> Value {
        json!({
            "file_size_bytes": size,
            "small_block_bytes": self.small_block,
            "large_block_bytes": self.large_block,
            "headline_block_bytes": self.headline_block,
            "small_block_ms": self.small_ms,
            "large_block_ms": self.large_ms,
            "small_block_calls": self.small_calls,
            "large_block_calls": self.large_calls,
            "per_call_us": self.per_call_us,
            "small_block_calls_fraction": self.small_block_calls_fraction(),
            "read_ms": self.read_ms,
            "read_calls": self.read_calls,
            "mmap_copy_ms": self.copy_ms,
            "mmap_reused_ms": self.mmap_ms,
            "copy_in_user_space_ms": self.copy_ms - self.mmap_ms,
            "read_over_mmap_copy_ms": self.read_over_copy_ms(),
            "calls_ms": self.calls_ms(),
            "in_kernel_per_byte_ms": self.in_kernel_per_byte_ms(),
            "text": self.sentence(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(method: &str, block: Option<u64>, index: usize, ms: f64) -> Pass {
        Pass {
            file_size_bytes: 256 << 20,
            scenario: "warm".into(),
            method: method.into(),
            block_size_bytes: block,
            repetition: 0,
            pass_index: index,
            role: None,
            instrumentation: None,
            buffer_offset_bytes: None,
            gb_per_s: (256u64 << 20) as f64 / (ms * 1e6),
            elapsed_ms: ms,
            on_cpu_gb_per_s: None,
            n_syscalls: None,
            n_faults: 0.0,
            n_major_faults: 0.0,
            expected_read_calls: block.map(|b| expected_read_calls(256 << 20, b) as f64),
            io_read_bytes: None,
            threads: None,
            mapping_file_pmd_mapped_bytes: None,
            resident_pages_before: None,
            file_pages: 65_536.0,
        }
    }

    #[test]
    fn the_time_split_takes_the_calls_from_4k_against_1m_and_leaves_the_rest_to_work_per_byte() {
        let mut all = Vec::new();
        for index in 1..=3 {
            all.push(pass("read", Some(4 << 10), index, 45.7));
            all.push(pass("read", Some(64 << 10), index, 34.3));
            all.push(pass("read", Some(1 << 20), index, 35.5));
            all.push(pass("mmap-copy", Some(64 << 10), index, 27.1));
            all.push(pass("mmap-reused", None, index, 15.5));
        }
        let rows = Rows { all };
        let split = TimeSplit::of(&rows, 256 << 20, 64 << 10).expect("every series ran");
        // (45.7 - 35.5) ms over 65,537 - 257 calls.
        assert!((split.per_call_us - 10.2e3 / 65_280.0).abs() < 1e-9);
        assert!((split.calls_ms() - 4_097.0 * 10.2 / 65_280.0).abs() < 1e-9);
        assert!((split.read_over_copy_ms() - 7.2).abs() < 1e-9);
        assert!((split.in_kernel_per_byte_ms() - (7.2 - split.calls_ms())).abs() < 1e-9);
        let text = split.sentence();
        assert!(text.contains("about 0.16 us"), "{text}");
        assert!(
            text.contains("its 4,097 calls account for about 0.6 ms"),
            "{text}"
        );
        assert!(text.contains("the other 6.6 ms"), "{text}");
        // Without read 1m there is no estimate.
        let rows = Rows {
            all: rows
                .all
                .into_iter()
                .filter(|p| p.block_size_bytes != Some(1 << 20))
                .collect(),
        };
        assert_eq!(TimeSplit::of(&rows, 256 << 20, 64 << 10), None);
    }
}
