//! The samples (one per pass), summaries and per-series tables of the
//! result file. Samples come from the pass records; everything else is
//! computed from the samples as the file holds them ([`Rows`]).

use std::collections::BTreeMap;

use mmlab_core::Summary;
use mmlab_core::size::format_size_short;
use serde_json::{Value, json};

use crate::methods::{Family, Method, expected_read_calls};
use crate::plan::{Plan, Scenario};
use crate::rows::{Pass, Passes, Rows, faults, gbps, millis, on_cpu_gbps, syscalls};
use crate::runner::{PassRecord, SizeInfo, series_name};

/// Median steady-state (passes 2..) bandwidth of the memory ceiling per
/// file size, from the records (the samples' `fraction_of_ceiling` needs it
/// before there are samples).
pub(crate) fn ceilings(records: &[PassRecord]) -> BTreeMap<u64, f64> {
    let mut speeds: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for r in records.iter().filter(|r| {
        r.scenario == Scenario::Warm && r.method == Method::MemoryCeiling && !r.is_first_pass()
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

pub(crate) fn sample(r: &PassRecord, plan: &Plan, ceiling: Option<f64>) -> Value {
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
        "headline".into(),
        is_headline(r.method, r.block_bytes, plan).into(),
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

/// The series shown in the per-pass figures: every mapping, the ceiling,
/// and the read family at the headline block size.
fn is_headline(method: Method, block: u64, plan: &Plan) -> bool {
    method.family() != Family::Block || block == plan.headline_block_bytes
}

/// (file size, scenario, series, pass kind): the key of one summary.
type SeriesKey<'a> = (u64, &'a str, String, &'a str);

pub(crate) fn summaries(records: &[PassRecord]) -> Vec<Summary> {
    let mut groups: BTreeMap<SeriesKey, Vec<(f64, f64)>> = BTreeMap::new();
    for r in records {
        let kind = if r.is_first_pass() {
            "first-pass"
        } else {
            "steady-state"
        };
        groups
            .entry((r.file_size_bytes, r.scenario.name(), r.series(), kind))
            .or_default()
            .push((r.gb_per_s(), r.elapsed_ns() as f64));
    }
    let mut out = Vec::new();
    for ((size, scenario, series, kind), values) in groups {
        let name = format!("{} {scenario} {series} {kind}", format_size_short(size));
        let gb: Vec<f64> = values.iter().map(|v| v.0).collect();
        let ns: Vec<f64> = values.iter().map(|v| v.1).collect();
        out.extend(Summary::of(name.clone(), "gb_per_s", &gb));
        out.extend(Summary::of(name, "elapsed_ns", &ns));
    }
    out
}

/// User and system time per pass, one row each, for the CPU-time figure.
pub(crate) fn cpu_split(records: &[PassRecord], plan: &Plan) -> Vec<Value> {
    let mut rows = Vec::new();
    for r in records.iter().filter(|r| {
        r.scenario == Scenario::Warm
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

/// One row per (size, scenario, series): medians a student can read
/// without a plot.
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
        for scenario in plan.scenarios() {
            for (method, block) in plan.configurations(scenario) {
                let m = |passes, f: fn(&Pass) -> Option<f64>| {
                    table.median(size, scenario, method, block, passes, f)
                };
                let steady_gbps = m(Passes::Later, gbps);
                let steady_on_cpu = m(Passes::Later, on_cpu_gbps);
                rows.push(json!({
                    "file_size_bytes": size,
                    "scenario": scenario.name(),
                    "series": series_name(method, block),
                    "first_pass_ms": m(Passes::First, millis),
                    "steady_state_ms": m(Passes::Later, millis),
                    "steady_state_gb_per_s": steady_gbps,
                    "steady_state_fraction_of_ceiling": steady_gbps.zip(ceiling).map(|(g, c)| g / c),
                    "steady_state_on_cpu_gb_per_s": steady_on_cpu,
                    "steady_state_on_cpu_fraction_of_ceiling": steady_on_cpu
                        .zip(ceiling_on_cpu)
                        .map(|(g, c)| g / c),
                    "first_pass_syscalls": m(Passes::First, syscalls),
                    "steady_state_syscalls": m(Passes::Later, syscalls),
                    "first_pass_faults": m(Passes::First, faults),
                    "steady_state_faults": m(Passes::Later, faults),
                }));
            }
        }
    }
    rows
}

/// Per file size: the checksum, the ceiling and what it is measured
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
            json!({
                "file_size_bytes": size,
                "file_checksum": format!("{:#018x}", s.checksum),
                "ceiling_gb_per_s": ceiling,
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
            })
        })
        .collect()
}
