//! From pass records to the result file: parameters, samples, summaries,
//! the verdicts on S5, S13 and S14 (computed here, from this run's numbers
//! only), warnings, the figures, and a per-series table.

use std::collections::BTreeMap;

use mmlab_core::size::format_size_short;
use mmlab_core::stats::median;
use mmlab_core::{
    Axis, Claim, FigureKind, FigureSpec, ReferenceLine, ResultFile, RunContext, Summary, Verdict,
    Warning, format_size,
};
use serde_json::{Value, json};

use crate::methods::{Family, Method, expected_read_calls};
use crate::plan::{Plan, Scenario};
use crate::runner::{PassRecord, SizeInfo, series_name};
use mmlab_core::cgroup::MemoryCgroup;
use mmlab_core::datafile::{DISK_DATA_DIR, why_nothing_is_evicted};

/// A warm pass that ran on a CPU less than this fraction of its elapsed
/// time was slowed by other processes: warned about.
const BUSY_MACHINE: f64 = 0.9;
/// S5: read()'s measured calls per pass may differ from ceil(s/b) + 1 by at
/// most this fraction.
const READ_CALLS_TOLERANCE: f64 = 0.01;
/// S13: the two cold first passes "cost the same" when the slower is at most
/// this much slower than the faster.
const COLD_SAME_PRICE: f64 = 1.25;
/// S13: a method "paid" for the first access when its cold first pass read
/// at least this fraction of the file from storage (/proc/self/io).
const STORAGE_READ_FRACTION: f64 = 0.9;
/// S14: mmap is "faster" when its steady-state bandwidth is at least this
/// multiple of read()'s at its best block size ...
const FASTER: f64 = 1.10;
/// ... and "not faster" below this multiple.
const NOT_FASTER: f64 = 0.95;

/// Parameters, recorded and printed before measuring.
pub(crate) fn record_params(
    result: &mut ResultFile,
    context: &RunContext,
    plan: &Plan,
    sizes: &[u64],
    cgroup: Option<&MemoryCgroup>,
) {
    let list = |values: &[u64]| {
        values
            .iter()
            .map(|v| format_size_short(*v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let methods: Vec<&str> = Method::FILE_METHODS.iter().map(|m| m.name()).collect();
    let scenarios: serde_json::Map<String, Value> = plan
        .scenarios()
        .iter()
        .map(|s| (s.name().to_string(), s.description().into()))
        .collect();
    result.param("file_sizes_bytes", json!(sizes));
    result.param("block_sizes_bytes", json!(plan.block_sizes_bytes));
    result.param(
        "storage_block_sizes_bytes",
        json!(plan.storage_block_sizes_bytes),
    );
    result.param("headline_block_bytes", plan.headline_block_bytes);
    result.param("passes_warm", plan.warm_passes);
    result.param("passes_cold", plan.cold_passes);
    result.param("passes_evict_every_pass", plan.evicted_passes);
    if plan.memory_limit_bytes.is_some() {
        result.param("passes_memory_limit", plan.passes(Scenario::MemoryLimit));
    }
    result.param("repetitions", plan.repetitions);
    result.param("methods", json!(methods));
    result.param("scenarios", Value::Object(scenarios));
    result.param(
        "order",
        "interleaved: for each repetition, every scenario, every method and block size, then its passes",
    );
    result.param("memory_limit_bytes", json!(plan.memory_limit_bytes));
    let cgroup_text = match cgroup {
        Some(cgroup) => format!(
            "{}: the memory-limit scenario's passes run in a child process inside it; removed after the run",
            cgroup.describe()
        ),
        None => "not used: the page cache too small is simulated by evicting the file before every pass (mmlab run repeated-access --memory-limit SIZE adds a real limit)".to_string(),
    };
    result.param("memory_cgroup", cgroup_text.clone());
    result.param(
        "summing_kernel",
        "wrapping sum of little-endian u64 words, 8 lanes",
    );
    let print = |name: &str, value: String| context.print_param(name, value);
    print(
        "file sizes",
        sizes
            .iter()
            .map(|s| format_size(*s))
            .collect::<Vec<_>>()
            .join(", "),
    );
    print("block sizes (warm)", list(&plan.block_sizes_bytes));
    print(
        "block sizes (cold, evict-every-pass)",
        list(&plan.storage_block_sizes_bytes),
    );
    print(
        "passes",
        format!(
            "warm {}, cold {}, evict-every-pass {}{}",
            plan.warm_passes,
            plan.cold_passes,
            plan.evicted_passes,
            if plan.memory_limit_bytes.is_some() {
                format!(", memory-limit {}", plan.passes(Scenario::MemoryLimit))
            } else {
                String::new()
            }
        ),
    );
    print(
        "repetitions",
        format!("{} (interleaved across methods)", plan.repetitions),
    );
    print(
        "methods",
        format!("{}, and memory-ceiling", methods.join(", ")),
    );
    for scenario in plan.scenarios() {
        print(
            &format!("scenario {}", scenario.name()),
            scenario.description().into(),
        );
    }
    print("memory cgroup", cgroup_text);
}

/// `65,537`
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 system call`, `4,097 system calls`.
pub(crate) fn count(n: u64, singular: &str, plural: &str) -> String {
    format!(
        "{} {}",
        thousands(n),
        if n == 1 { singular } else { plural }
    )
}

/// Selections over the records of one run.
struct Records<'a> {
    all: &'a [PassRecord],
}

/// Which passes of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Passes {
    First,
    Later,
    Every,
}

impl<'a> Records<'a> {
    fn select(
        &self,
        size: u64,
        scenario: Scenario,
        method: Method,
        block: u64,
        passes: Passes,
    ) -> Vec<&'a PassRecord> {
        self.all
            .iter()
            .filter(|r| {
                r.file_size_bytes == size
                    && r.scenario == scenario
                    && r.method == method
                    && (method.family() != Family::Block || r.block_bytes == block)
                    && match passes {
                        Passes::First => r.is_first_pass(),
                        Passes::Later => !r.is_first_pass(),
                        Passes::Every => true,
                    }
            })
            .collect()
    }

    fn median(
        &self,
        size: u64,
        scenario: Scenario,
        method: Method,
        block: u64,
        passes: Passes,
        value: impl Fn(&PassRecord) -> Option<f64>,
    ) -> Option<f64> {
        let values: Option<Vec<f64>> = self
            .select(size, scenario, method, block, passes)
            .into_iter()
            .map(value)
            .collect();
        median(&values?)
    }

    /// Median steady-state (passes 2..) bandwidth of the memory ceiling.
    fn ceiling(&self, size: u64) -> Option<f64> {
        self.median(
            size,
            Scenario::Warm,
            Method::MemoryCeiling,
            0,
            Passes::Later,
            |r| Some(r.gb_per_s()),
        )
    }
}

fn gbps(r: &PassRecord) -> Option<f64> {
    Some(r.gb_per_s())
}
fn on_cpu_gbps(r: &PassRecord) -> Option<f64> {
    r.on_cpu_gb_per_s()
}
fn millis(r: &PassRecord) -> Option<f64> {
    Some(r.elapsed_ns() as f64 / 1e6)
}
fn syscalls(r: &PassRecord) -> Option<f64> {
    r.n_syscalls().map(|n| n as f64)
}
fn faults(r: &PassRecord) -> Option<f64> {
    Some(r.n_faults() as f64)
}

/// Fills in everything after measuring.
pub(crate) fn fill(
    result: &mut ResultFile,
    plan: &Plan,
    records: &[PassRecord],
    sizes: &[SizeInfo],
    cgroup: Option<&MemoryCgroup>,
) {
    let table = Records { all: records };
    // Why nothing could be evicted, where the data folder's filesystem (in
    // the fingerprint) explains it: tmpfs. It only explains; whether a
    // scenario was measured comes from mincore before its passes.
    let why_not_evicted = why_nothing_is_evicted(&result.env.data_dir_fs, &result.env.data_dir);
    let why = why_not_evicted.as_deref();
    if let Some(cgroup) = cgroup {
        let stats = cgroup.stats();
        result.extra.insert(
            "memory_cgroup".into(),
            json!({
                "cgroup": cgroup.describe(),
                "path": cgroup.path().display().to_string(),
                "limit_bytes": cgroup.limit_bytes(),
                "peak_bytes": stats.peak_bytes,
                "oom_kills": stats.oom_kills,
            }),
        );
    }
    let ceilings: BTreeMap<u64, f64> = sizes
        .iter()
        .filter_map(|s| Some((s.file_size_bytes, table.ceiling(s.file_size_bytes)?)))
        .collect();
    result.samples = records
        .iter()
        .map(|r| sample(r, plan, ceilings.get(&r.file_size_bytes).copied()))
        .collect();
    result.summaries = summaries(records);
    result
        .extra
        .insert("cpu_split".into(), Value::Array(cpu_split(records, plan)));
    result.extra.insert(
        "series_table".into(),
        Value::Array(series_table(&table, plan, sizes)),
    );
    result.extra.insert(
        "sizes".into(),
        Value::Array(
            sizes
                .iter()
                .map(|s| {
                    let ceiling = ceilings.get(&s.file_size_bytes).copied();
                    let on_cpu = |method| {
                        table.median(s.file_size_bytes, Scenario::Warm, method, 0, Passes::Later, on_cpu_gbps)
                    };
                    let ceiling_on_cpu = on_cpu(Method::MemoryCeiling);
                    json!({
                        "file_size_bytes": s.file_size_bytes,
                        "file_checksum": format!("{:#018x}", s.checksum),
                        "ceiling_gb_per_s": ceiling,
                        "ceiling_buffer_huge_page_bytes": s.ceiling_huge_bytes,
                        "kernel_in_cache_gb_per_s": s.kernel_in_cache_gb_per_s,
                        "kernel_in_cache_over_ceiling": ceiling.map(|c| s.kernel_in_cache_gb_per_s / c),
                        "mmap_reused_steady_over_ceiling": table
                            .median(s.file_size_bytes, Scenario::Warm, Method::MmapReused, 0, Passes::Later, gbps)
                            .zip(ceiling)
                            .map(|(m, c)| m / c),
                        "ceiling_on_cpu_gb_per_s": ceiling_on_cpu,
                        "mmap_reused_steady_over_ceiling_on_cpu": on_cpu(Method::MmapReused)
                            .zip(ceiling_on_cpu)
                            .map(|(m, c)| m / c),
                    })
                })
                .collect(),
        ),
    );
    let main_size = sizes.first().map(|s| s.file_size_bytes).unwrap_or(0);
    let availability = |event: &str| {
        result
            .counters_available
            .get(event)
            .and_then(|a| match a {
                mmlab_core::Availability::Available => None,
                mmlab_core::Availability::Unavailable(reason) => Some(reason.clone()),
            })
            .unwrap_or_else(|| "not counted".to_string())
    };
    let scenario_label = format!(
        "warm, cold, evict-every-pass{} over a {} file",
        if plan.memory_limit_bytes.is_some() {
            " and memory-limit"
        } else {
            ""
        },
        format_size(main_size)
    );
    result.claims = vec![
        claim_s5(
            &table,
            plan,
            main_size,
            &availability("raw_syscalls:sys_enter"),
        )
        .with_scenario(format!("warm, {} file", format_size(main_size))),
        claim_s13(&table, plan, main_size, why)
            .with_scenario(format!("cold, {} file", format_size(main_size))),
        claim_s14(
            &table,
            plan,
            main_size,
            ceilings.get(&main_size).copied(),
            why,
        )
        .with_scenario(scenario_label),
    ];
    result.warnings.extend(warnings(
        records,
        sizes,
        &availability("raw_syscalls:sys_enter"),
        why,
    ));
    if let Some(cgroup) = cgroup {
        result.warnings.extend(limit_warnings(cgroup, sizes));
    }
    result.figures = figures(&table, plan, sizes, &ceilings, why);
}

fn sample(r: &PassRecord, plan: &Plan, ceiling: Option<f64>) -> Value {
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

fn summaries(records: &[PassRecord]) -> Vec<Summary> {
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
fn cpu_split(records: &[PassRecord], plan: &Plan) -> Vec<Value> {
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
fn series_table(table: &Records, plan: &Plan, sizes: &[SizeInfo]) -> Vec<Value> {
    let mut rows = Vec::new();
    for size in sizes.iter().map(|s| s.file_size_bytes) {
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
                let m = |passes, f: fn(&PassRecord) -> Option<f64>| {
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

fn claim_s5(table: &Records, plan: &Plan, size: u64, syscalls_reason: &str) -> Claim {
    let not_measured = |why: String| Claim::new("S5", Verdict::NotMeasured, why);
    let mut counted = Vec::new();
    let mut expected = Vec::new();
    let mut worst_deviation = 0.0f64;
    for block in &plan.block_sizes_bytes {
        let Some(calls) = table.median(
            size,
            Scenario::Warm,
            Method::Read,
            *block,
            Passes::Every,
            syscalls,
        ) else {
            return not_measured(format!(
                "system calls could not be counted ({syscalls_reason}); run as root so that the raw_syscalls tracepoint can be opened"
            ));
        };
        let want = expected_read_calls(size, *block) as f64;
        worst_deviation = worst_deviation.max((calls - want).abs() / want);
        counted.push(thousands(calls.round() as u64));
        expected.push(thousands(want as u64));
    }
    let first = |f: fn(&PassRecord) -> Option<f64>| {
        table.median(
            size,
            Scenario::Warm,
            Method::MmapReused,
            0,
            Passes::First,
            f,
        )
    };
    let later = |f: fn(&PassRecord) -> Option<f64>| {
        table.median(
            size,
            Scenario::Warm,
            Method::MmapReused,
            0,
            Passes::Later,
            f,
        )
    };
    let (Some(first_calls), Some(first_faults), Some(later_calls), Some(later_faults)) = (
        first(syscalls),
        first(faults),
        later(syscalls),
        later(faults),
    ) else {
        return not_measured(format!(
            "mmap-reused was not measured over two passes or more ({syscalls_reason})"
        ));
    };
    let blocks = plan
        .block_sizes_bytes
        .iter()
        .map(|b| format_size_short(*b))
        .collect::<Vec<_>>()
        .join(" / ");
    let read_part = format!(
        "read() made {} system calls per pass at {blocks} on a {} file (ceil(s/b)+1 = {}, off by at most {:.2}%)",
        counted.join(" / "),
        format_size(size),
        expected.join(" / "),
        100.0 * worst_deviation
    );
    let mmap_part = format!(
        "mmap-reused made {} and {} in its first pass, then {} and {} per pass",
        count(first_calls.round() as u64, "system call", "system calls"),
        count(first_faults.round() as u64, "page fault", "page faults"),
        count(later_calls.round() as u64, "system call", "system calls"),
        count(later_faults.round() as u64, "fault", "faults")
    );
    let read_ok = worst_deviation <= READ_CALLS_TOLERANCE;
    let mmap_ok = later_calls == 0.0 && first_calls <= 1.0;
    let (verdict, tail) = if !(read_ok && mmap_ok) {
        (Verdict::Refuted, String::new())
    } else if first_faults > 0.0 {
        (
            Verdict::HoldsWithNuance,
            format!(
                ": after its one system call, the first pass still enters the kernel {} times through page faults ({:.0} pages per fault: fault-around and large folios); later passes enter it not at all",
                thousands(first_faults.round() as u64),
                (size as f64 / mmlab_core::fingerprint::page_size() as f64) / first_faults
            ),
        )
    } else {
        (Verdict::Holds, String::new())
    };
    Claim::new("S5", verdict, format!("{read_part}; {mmap_part}{tail}"))
}

fn claim_s13(table: &Records, plan: &Plan, size: u64, why_not_evicted: Option<&str>) -> Claim {
    let block = plan.headline_block_bytes;
    let read_name = series_name(Method::Read, block);
    let cold = |method, f: fn(&PassRecord) -> Option<f64>| {
        table.median(size, Scenario::Cold, method, block, Passes::First, f)
    };
    let warm_first =
        |method| table.median(size, Scenario::Warm, method, block, Passes::First, millis);
    let (Some(read_cold), Some(mmap_cold), Some(read_warm), Some(mmap_warm)) = (
        cold(Method::Read, millis),
        cold(Method::MmapReused, millis),
        warm_first(Method::Read),
        warm_first(Method::MmapReused),
    ) else {
        return Claim::new(
            "S13",
            Verdict::NotMeasured,
            format!("the cold scenario did not run {read_name} and mmap-reused"),
        );
    };
    let resident_before = table
        .select(size, Scenario::Cold, Method::Read, block, Passes::First)
        .into_iter()
        .chain(table.select(size, Scenario::Cold, Method::MmapReused, 0, Passes::First))
        .map(|r| r.resident_pages_before)
        .collect();
    let io = |r: &PassRecord| r.io_read_bytes.map(|b| b as f64);
    let majors = |r: &PassRecord| Some(r.measurement.rusage.n_major_faults as f64);
    judge_s13(&ColdFirstPasses {
        read_name,
        size_bytes: size,
        file_pages: size.div_ceil(mmlab_core::fingerprint::page_size() as u64),
        resident_before,
        read_cold_ms: read_cold,
        mmap_cold_ms: mmap_cold,
        read_warm_ms: read_warm,
        mmap_warm_ms: mmap_warm,
        read_io_bytes: cold(Method::Read, io),
        mmap_io_bytes: cold(Method::MmapReused, io),
        mmap_major_faults: cold(Method::MmapReused, majors).unwrap_or(0.0),
        why_not_evicted: why_not_evicted.map(str::to_string),
    })
}

/// The numbers S13 is judged on: the cold first passes of read() at the
/// headline block size and of mmap-reused, beside their warm first passes.
struct ColdFirstPasses {
    read_name: String,
    size_bytes: u64,
    file_pages: u64,
    /// Pages of the file cached before each cold first pass (None: the
    /// residency was not read for that pass).
    resident_before: Vec<Option<u64>>,
    read_cold_ms: f64,
    mmap_cold_ms: f64,
    read_warm_ms: f64,
    mmap_warm_ms: f64,
    /// Median bytes read from storage (None: /proc/self/io unreadable).
    read_io_bytes: Option<f64>,
    mmap_io_bytes: Option<f64>,
    mmap_major_faults: f64,
    /// Why the file could not be evicted, where the data folder's filesystem
    /// says (tmpfs): named in the evidence, never a part of the verdict.
    why_not_evicted: Option<String>,
}

fn judge_s13(n: &ColdFirstPasses) -> Claim {
    let unread = n.resident_before.iter().filter(|r| r.is_none()).count();
    if n.resident_before.is_empty() || unread > 0 {
        return Claim::new(
            "S13",
            Verdict::NotMeasured,
            format!(
                "page-cache residency was not read before {} of {} cold first passes, so nothing shows the file was evicted before them",
                unread,
                n.resident_before.len()
            ),
        );
    }
    let left = n
        .resident_before
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0);
    if left * 10 > n.file_pages {
        return Claim::new(
            "S13",
            Verdict::NotMeasured,
            format!(
                "the file could not be evicted: {} of {} pages stayed cached ({})",
                thousands(left),
                thousands(n.file_pages),
                match &n.why_not_evicted {
                    Some(why) => format!("{why}: use {DISK_DATA_DIR}"),
                    None => {
                        "mapped elsewhere, or a filesystem that ignores POSIX_FADV_DONTNEED"
                            .to_string()
                    }
                }
            ),
        );
    }
    let majors = count(n.mmap_major_faults as u64, "major fault", "major faults");
    // Some(true/false) when both storage reads are known, None otherwise.
    let both_paid_storage = n
        .read_io_bytes
        .zip(n.mmap_io_bytes)
        .map(|(r, m)| r.min(m) >= STORAGE_READ_FRACTION * n.size_bytes as f64);
    let io_text = match (n.read_io_bytes, n.mmap_io_bytes) {
        (Some(r), Some(m)) => format!(
            "read from storage: {} and {} ({majors} for mmap)",
            format_size(r as u64),
            format_size(m as u64),
        ),
        _ => format!("storage reads unknown (/proc/self/io unreadable); mmap took {majors}"),
    };
    let (read_cold, mmap_cold) = (n.read_cold_ms, n.mmap_cold_ms);
    let ratio = read_cold.max(mmap_cold) / read_cold.min(mmap_cold);
    let same_price = ratio <= COLD_SAME_PRICE;
    let apart = if same_price {
        format!("within {:.0}% of each other", 100.0 * (ratio - 1.0))
    } else {
        format!("{ratio:.1}x apart")
    };
    let evidence = format!(
        "first cold pass: {} {read_cold:.0} ms, mmap-reused {mmap_cold:.0} ms ({apart}), against {:.0} ms and {:.0} ms for a warm first pass; {io_text}",
        n.read_name, n.read_warm_ms, n.mmap_warm_ms
    );
    let both_slower = read_cold > 1.1 * n.read_warm_ms && mmap_cold > 1.1 * n.mmap_warm_ms;
    let slower_one = if mmap_cold > read_cold {
        "mmap-reused"
    } else {
        "read()"
    };
    let (verdict, tail) = match (both_slower, both_paid_storage) {
        (false, _) => (
            Verdict::Refuted,
            ": one of the two was not more than 1.1x slower cold than warm, so it did not pay for bringing the file in".to_string(),
        ),
        (true, Some(false)) => (
            Verdict::Refuted,
            format!(
                ": one of the two read less than {:.0}% of the file from storage, so it did not pay for bringing the file in",
                100.0 * STORAGE_READ_FRACTION
            ),
        ),
        (true, Some(true)) if same_price => (Verdict::Holds, String::new()),
        (true, Some(true)) => (
            Verdict::HoldsWithNuance,
            format!(": both pay, but not the same price ({slower_one} was the slower one cold)"),
        ),
        (true, None) => (
            Verdict::HoldsWithNuance,
            format!(
                ": both first passes were slower cold, but with storage reads unknown only the timing shows that they paid{}",
                if same_price {
                    String::new()
                } else {
                    format!(", and not the same price ({slower_one} was the slower one cold)")
                }
            ),
        ),
    };
    Claim::new("S13", verdict, format!("{evidence}{tail}"))
}

/// The passes of a scenario that were to start from an evicted file but
/// found more than 10% of it cached: that scenario measured no eviction.
struct NotEvicted {
    /// `12 of 12 passes meant to start evicted started with the file still
    /// cached (up to 2,048 of 2,048 pages)`
    counts: String,
    /// Why, with the remedy: the data folder's filesystem, or "unknown".
    reason: String,
}

/// Whether the passes of `scenario` that follow an eviction started with at
/// most 10% of the file cached (mincore), as each one should.
fn evicted_before(
    table: &Records,
    size: u64,
    scenario: Scenario,
    why_not_evicted: Option<&str>,
) -> Result<(), NotEvicted> {
    let evicted: Vec<&PassRecord> = table
        .all
        .iter()
        .filter(|r| {
            r.file_size_bytes == size
                && r.scenario == scenario
                && r.method != Method::MemoryCeiling
                && r.scenario.evicts_before(r.pass_index)
        })
        .collect();
    let warm_starts: Vec<u64> = evicted
        .iter()
        .filter_map(|r| {
            r.resident_pages_before
                .filter(|left| left * 10 > r.file_pages)
        })
        .collect();
    let Some(most) = warm_starts.iter().max() else {
        return Ok(());
    };
    let file_pages = evicted.first().map_or(0, |r| r.file_pages);
    Err(NotEvicted {
        counts: format!(
            "{} of {} passes meant to start evicted started with the file still cached (up to {} of {} pages)",
            warm_starts.len(),
            evicted.len(),
            thousands(*most),
            thousands(file_pages),
        ),
        reason: match why_not_evicted {
            Some(why) => format!("{why}; use {DISK_DATA_DIR}"),
            None => "the file could not be evicted (mapped elsewhere?)".to_string(),
        },
    })
}

fn claim_s14(
    table: &Records,
    plan: &Plan,
    size: u64,
    ceiling: Option<f64>,
    why_not_evicted: Option<&str>,
) -> Claim {
    let steady =
        |method, block| table.median(size, Scenario::Warm, method, block, Passes::Later, gbps);
    let Some(mmap) = steady(Method::MmapReused, 0) else {
        return Claim::new(
            "S14",
            Verdict::NotMeasured,
            "mmap-reused ran fewer than two warm passes",
        );
    };
    let reads: Vec<(u64, f64)> = plan
        .block_sizes_bytes
        .iter()
        .filter_map(|b| Some((*b, steady(Method::Read, *b)?)))
        .collect();
    let Some(best) = reads.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1)) else {
        return Claim::new(
            "S14",
            Verdict::NotMeasured,
            "read() ran fewer than two warm passes",
        );
    };
    let worst = reads
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or(best);
    let ratios = reads
        .iter()
        .map(|(b, g)| format!("{:.1}x at {}", mmap / g, format_size_short(*b)))
        .collect::<Vec<_>>()
        .join(", ");
    let ceiling_text = ceiling
        .map(|c| {
            format!(
                ", {:.2} of the memory bandwidth ({c:.1} GB/s, same loop over an anonymous buffer)",
                mmap / c
            )
        })
        .unwrap_or_default();
    let block = plan.headline_block_bytes;
    let evicted = |method, block| {
        table.median(
            size,
            Scenario::EvictEveryPass,
            method,
            block,
            Passes::Every,
            gbps,
        )
    };
    // A pass that was to start evicted but found the file cached measured
    // no page cache too small: that part is not measured, never evidence.
    let evicted_text = match (
        evicted(Method::MmapReused, 0),
        evicted(Method::Read, block),
        evicted_before(table, size, Scenario::EvictEveryPass, why_not_evicted),
    ) {
        (Some(_), Some(_), Err(not)) => format!(
            "; the evict-every-pass scenario (page cache too small, simulated) was not measured: {}: {}",
            not.counts, not.reason
        ),
        (Some(m), Some(r), Ok(())) => format!(
            "; with the file evicted before every pass (page cache too small, simulated) mmap-reused ran at {m:.1} GB/s and read() {} at {r:.1} GB/s ({:.2}x)",
            format_size_short(block),
            m / r
        ),
        _ => String::new(),
    };
    let limited = |method, block| {
        table.median(
            size,
            Scenario::MemoryLimit,
            method,
            block,
            Passes::Later,
            gbps,
        )
    };
    let limited_text = match (
        plan.memory_limit_bytes,
        limited(Method::MmapReused, 0),
        limited(Method::Read, block),
    ) {
        (Some(limit), Some(m), Some(r)) => {
            let speeds = format!(
                "later passes of mmap-reused ran at {m:.1} GB/s and read() {} at {r:.1} GB/s ({:.2}x)",
                format_size_short(block),
                m / r
            );
            match evicted_before(table, size, Scenario::MemoryLimit, why_not_evicted) {
                // The reason once: it is the same as evict-every-pass's.
                Err(not) => format!(
                    "; the memory-limit scenario (a memory cgroup limited to {}) was not measured{}: {}{}",
                    format_size(limit),
                    if evicted_text.contains("was not measured") {
                        " either"
                    } else {
                        ""
                    },
                    not.counts,
                    if evicted_text.contains(&not.reason) {
                        String::new()
                    } else {
                        format!(": {}", not.reason)
                    }
                ),
                // Only a limit below the file makes the page cache too small.
                Ok(()) if limit >= size => format!(
                    "; in a memory cgroup limited to {}, not smaller than the {} file (the page cache could hold the whole file, so the limited passes show no re-read), {speeds}",
                    format_size(limit),
                    format_size(size)
                ),
                Ok(()) => format!(
                    "; in a memory cgroup limited to {} (a real page cache too small), {speeds}",
                    format_size(limit)
                ),
            }
        }
        _ => String::new(),
    };
    let evidence = format!(
        "steady-state mmap-reused {mmap:.1} GB/s = {ratios} read()'s{ceiling_text}{evicted_text}{limited_text}"
    );
    let (verdict, tail) = judge_s14(best, worst, mmap);
    Claim::new("S14", verdict, format!("{evidence}{tail}"))
}

/// S14's verdict from mmap-reused's steady-state GB/s and read()'s at its
/// best and at its worst block size, as (block bytes, GB/s).
fn judge_s14(best: (u64, f64), worst: (u64, f64), mmap: f64) -> (Verdict, String) {
    let best_ratio = mmap / best.1;
    let worst_ratio = mmap / worst.1;
    if best_ratio >= FASTER {
        (Verdict::Holds, String::new())
    } else if worst_ratio >= FASTER {
        (
            Verdict::HoldsWithNuance,
            format!(
                ": faster than read() with {} blocks ({worst_ratio:.2}x), but only {best_ratio:.2}x read() at its best block size ({})",
                format_size_short(worst.0),
                format_size_short(best.0)
            ),
        )
    } else if best_ratio < NOT_FASTER {
        (
            Verdict::Refuted,
            format!(
                ": mmap was not faster than read() at any block size (at most {worst_ratio:.2}x), and slower than read() at {} ({best_ratio:.2}x)",
                format_size_short(best.0)
            ),
        )
    } else {
        (
            Verdict::Refuted,
            format!(
                ": about as fast as read() ({best_ratio:.2}-{worst_ratio:.2}x across block sizes), not {FASTER:.2}x faster at any block size"
            ),
        )
    }
}

fn warnings(
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
        .filter(|r| r.scenario == Scenario::Warm)
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
    if records.iter().any(|r| r.n_syscalls().is_none()) {
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
fn limit_warnings(cgroup: &MemoryCgroup, sizes: &[SizeInfo]) -> Vec<Warning> {
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

fn filter(size: u64, pairs: &[(&str, Value)]) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("file_size_bytes".into(), size.into());
    for (k, v) in pairs {
        map.insert((*k).to_string(), v.clone());
    }
    map
}

fn figures(
    table: &Records,
    plan: &Plan,
    sizes: &[SizeInfo],
    ceilings: &BTreeMap<u64, f64>,
    why_not_evicted: Option<&str>,
) -> Vec<FigureSpec> {
    let mut out = Vec::new();
    let several = sizes.len() > 1;
    for size in sizes.iter().map(|s| s.file_size_bytes) {
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
        f.how_to_read = "Each line is a read-family method at each block size (median over the warm passes after the first, whisker p5-p95). The horizontal lines are measured in the same run: the same summing loop over an anonymous buffer (the memory bandwidth, the ceiling) and the mmap methods, which take no block size. The gap between a line and mmap-reused is what the method's system calls and copies cost.".into();
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
            if let Err(not) = evicted_before(table, size, scenario, why_not_evicted) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (65_537, "65,537"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(thousands(n), text);
        }
    }

    const MIB: u64 = 1 << 20;

    /// A 256 MiB file (65,536 pages) evicted before both cold passes, both
    /// read from storage, both 4x slower cold, 10% apart: holds.
    fn cold_holds() -> ColdFirstPasses {
        ColdFirstPasses {
            read_name: "read 64k".into(),
            size_bytes: 256 * MIB,
            file_pages: 65_536,
            resident_before: vec![Some(0), Some(3), Some(0)],
            read_cold_ms: 150.0,
            mmap_cold_ms: 136.0,
            read_warm_ms: 35.0,
            mmap_warm_ms: 17.0,
            read_io_bytes: Some((256 * MIB) as f64),
            mmap_io_bytes: Some((256 * MIB) as f64),
            mmap_major_faults: 1.0,
            why_not_evicted: None,
        }
    }

    #[test]
    fn s13_holds_when_both_pay_from_storage_at_the_same_price() {
        let claim = judge_s13(&cold_holds());
        assert_eq!(claim.verdict, Verdict::Holds, "{}", claim.evidence);
        assert!(
            claim
                .evidence
                .contains("read from storage: 256 MiB and 256 MiB")
        );
    }

    #[test]
    fn s13_unknown_storage_reads_cap_the_verdict_at_nuance() {
        for (read, mmap) in [(None, None), (Some((256 * MIB) as f64), None)] {
            let claim = judge_s13(&ColdFirstPasses {
                read_io_bytes: read,
                mmap_io_bytes: mmap,
                ..cold_holds()
            });
            assert_eq!(
                claim.verdict,
                Verdict::HoldsWithNuance,
                "{}",
                claim.evidence
            );
            assert!(
                claim.evidence.contains("storage reads unknown"),
                "{}",
                claim.evidence
            );
        }
    }

    #[test]
    fn s13_unknown_storage_reads_do_not_hide_a_pass_that_did_not_slow_down() {
        let claim = judge_s13(&ColdFirstPasses {
            read_io_bytes: None,
            mmap_io_bytes: None,
            mmap_cold_ms: 18.0,
            ..cold_holds()
        });
        assert_eq!(claim.verdict, Verdict::Refuted, "{}", claim.evidence);
    }

    #[test]
    fn s13_refuted_when_one_method_read_little_from_storage() {
        let claim = judge_s13(&ColdFirstPasses {
            mmap_io_bytes: Some((100 * MIB) as f64),
            ..cold_holds()
        });
        assert_eq!(claim.verdict, Verdict::Refuted, "{}", claim.evidence);
        assert!(
            claim.evidence.contains("less than 90%"),
            "{}",
            claim.evidence
        );
    }

    #[test]
    fn s13_nuance_when_the_prices_differ() {
        let claim = judge_s13(&ColdFirstPasses {
            mmap_cold_ms: 300.0,
            ..cold_holds()
        });
        assert_eq!(
            claim.verdict,
            Verdict::HoldsWithNuance,
            "{}",
            claim.evidence
        );
        assert!(claim.evidence.contains("mmap-reused was the slower one"));
    }

    #[test]
    fn s13_not_measured_without_residency() {
        for resident_before in [vec![], vec![None, None], vec![Some(0), None]] {
            let claim = judge_s13(&ColdFirstPasses {
                resident_before,
                ..cold_holds()
            });
            assert_eq!(claim.verdict, Verdict::NotMeasured, "{}", claim.evidence);
            assert!(
                claim.evidence.contains("residency was not read"),
                "{}",
                claim.evidence
            );
        }
    }

    #[test]
    fn s13_not_measured_when_the_file_stayed_cached() {
        let claim = judge_s13(&ColdFirstPasses {
            resident_before: vec![Some(0), Some(60_000)],
            ..cold_holds()
        });
        assert_eq!(claim.verdict, Verdict::NotMeasured, "{}", claim.evidence);
        assert!(claim.evidence.contains("could not be evicted"));
        assert!(!claim.evidence.contains("tmpfs"), "{}", claim.evidence);
    }

    #[test]
    fn s13_on_tmpfs_is_not_measured_and_names_tmpfs_and_the_remedy() {
        // What tmpfs gives: nothing evicted, nothing read from storage, cold
        // passes no slower than warm ones. Not measured, never refuted.
        let claim = judge_s13(&ColdFirstPasses {
            resident_before: vec![Some(65_536), Some(65_536)],
            read_cold_ms: 35.0,
            mmap_cold_ms: 17.0,
            read_io_bytes: Some(0.0),
            mmap_io_bytes: Some(0.0),
            why_not_evicted: why_nothing_is_evicted("tmpfs", "/mnt/x/mmlab-1-2"),
            ..cold_holds()
        });
        assert_eq!(claim.verdict, Verdict::NotMeasured, "{}", claim.evidence);
        for needle in ["65,536 of 65,536 pages", "on tmpfs", DISK_DATA_DIR] {
            assert!(
                claim.evidence.contains(needle),
                "{needle}: {}",
                claim.evidence
            );
        }
    }

    // read() at its best block size (1m) and at its worst (4k), in GB/s.
    const BEST: (u64, f64) = (MIB, 10.0);
    const WORST: (u64, f64) = (4096, 6.0);

    #[test]
    fn s14_holds_when_faster_than_read_at_its_best() {
        let (verdict, tail) = judge_s14(BEST, WORST, 11.5);
        assert_eq!(verdict, Verdict::Holds);
        assert_eq!(tail, "");
    }

    #[test]
    fn s14_nuance_only_when_faster_at_some_block_size() {
        // 1.05x the best, 1.75x the worst.
        let (verdict, tail) = judge_s14(BEST, WORST, 10.5);
        assert_eq!(verdict, Verdict::HoldsWithNuance);
        assert!(
            tail.contains("faster than read() with 4k blocks (1.75x)"),
            "{tail}"
        );
        assert!(
            tail.contains("only 1.05x read() at its best block size (1m)"),
            "{tail}"
        );
    }

    #[test]
    fn s14_about_as_fast_is_not_faster() {
        // 1.00x the best, 1.05x the worst: never 1.10x faster.
        let (verdict, tail) = judge_s14(BEST, (4096, 9.5), 10.0);
        assert_eq!(verdict, Verdict::Refuted);
        assert!(
            tail.contains("about as fast as read() (1.00-1.05x"),
            "{tail}"
        );
        assert!(!tail.contains("faster than read() with"), "{tail}");
    }

    #[test]
    fn s14_refuted_when_slower_at_the_best_block_size() {
        // 0.90x the best, 1.05x the worst.
        let (verdict, tail) = judge_s14(BEST, (4096, 8.6), 9.0);
        assert_eq!(verdict, Verdict::Refuted);
        assert!(
            tail.contains("not faster than read() at any block size"),
            "{tail}"
        );
        assert!(tail.contains("slower than read() at 1m (0.90x)"), "{tail}");
    }

    /// One pass of `method` over a 16 MiB file (4,096 pages) at `gb_per_s`,
    /// with `resident` pages cached before it.
    fn pass(
        scenario: Scenario,
        method: Method,
        block_bytes: u64,
        pass_index: usize,
        resident: u64,
        gb_per_s: f64,
    ) -> PassRecord {
        let size = 16 * MIB;
        PassRecord {
            file_size_bytes: size,
            scenario,
            method,
            block_bytes,
            repetition: 0,
            pass_index,
            resident_pages_before: Some(resident),
            file_pages: 4096,
            io_read_bytes: Some(0),
            checksum: 0,
            measurement: mmlab_counters::Measurement {
                elapsed_ns: (size as f64 / gb_per_s) as u64,
                counts: BTreeMap::new(),
                rusage: Default::default(),
                notes: BTreeMap::new(),
            },
        }
    }

    /// Warm passes where mmap-reused is twice read()'s speed, and the
    /// evict-every-pass and memory-limit passes starting with `resident`
    /// pages cached before their evicted passes (4,096: nothing was evicted,
    /// as on tmpfs).
    fn s14_records(plan: &Plan, resident: u64) -> Vec<PassRecord> {
        let mut records = Vec::new();
        for pass_index in 1..=3 {
            records.push(pass(
                Scenario::Warm,
                Method::MmapReused,
                0,
                pass_index,
                4096,
                20.0,
            ));
            for block in &plan.block_sizes_bytes {
                records.push(pass(
                    Scenario::Warm,
                    Method::Read,
                    *block,
                    pass_index,
                    4096,
                    10.0,
                ));
            }
            for scenario in [Scenario::EvictEveryPass, Scenario::MemoryLimit] {
                let before = if scenario.evicts_before(pass_index) {
                    resident
                } else {
                    4096
                };
                records.push(pass(
                    scenario,
                    Method::MmapReused,
                    0,
                    pass_index,
                    before,
                    5.0,
                ));
                let block = plan.headline_block_bytes;
                records.push(pass(scenario, Method::Read, block, pass_index, before, 4.0));
            }
        }
        records
    }

    fn plan_with_limit(limit: u64) -> Plan {
        Plan::for_context(&RunContext {
            size_bytes: Some(16 * MIB),
            memory_limit_bytes: Some(limit),
            ..RunContext::default()
        })
    }

    #[test]
    fn s14_on_tmpfs_says_the_evicted_parts_were_not_measured() {
        let plan = plan_with_limit(8 * MIB);
        let records = s14_records(&plan, 4096);
        let why = why_nothing_is_evicted("tmpfs", "/mnt/x/mmlab-1-2");
        let claim = claim_s14(
            &Records { all: &records },
            &plan,
            16 * MIB,
            None,
            why.as_deref(),
        );
        // The verdict comes from the warm passes, which tmpfs does not spoil.
        assert_eq!(claim.verdict, Verdict::Holds, "{}", claim.evidence);
        for needle in [
            "the evict-every-pass scenario (page cache too small, simulated) was not measured",
            "the memory-limit scenario (a memory cgroup limited to 8 MiB) was not measured either: 2 of 2 passes",
            "up to 4,096 of 4,096 pages",
            "on tmpfs",
            DISK_DATA_DIR,
        ] {
            assert!(
                claim.evidence.contains(needle),
                "{needle}: {}",
                claim.evidence
            );
        }
        for wrong in [
            "with the file evicted before every pass",
            "a real page cache too small",
        ] {
            assert!(
                !claim.evidence.contains(wrong),
                "{wrong}: {}",
                claim.evidence
            );
        }
    }

    #[test]
    fn s14_says_what_a_limit_not_below_the_file_is() {
        let plan = plan_with_limit(64 * MIB);
        let records = s14_records(&plan, 0);
        let claim = claim_s14(&Records { all: &records }, &plan, 16 * MIB, None, None);
        assert!(
            claim.evidence.contains(
                "in a memory cgroup limited to 64 MiB, not smaller than the 16 MiB file (the page cache could hold the whole file, so the limited passes show no re-read)"
            ),
            "{}",
            claim.evidence
        );
        assert!(
            !claim.evidence.contains("a real page cache too small"),
            "{}",
            claim.evidence
        );
        assert!(
            claim
                .evidence
                .contains("with the file evicted before every pass"),
            "{}",
            claim.evidence
        );

        let plan = plan_with_limit(8 * MIB);
        let claim = claim_s14(
            &Records {
                all: &s14_records(&plan, 0),
            },
            &plan,
            16 * MIB,
            None,
            None,
        );
        assert!(
            claim
                .evidence
                .contains("in a memory cgroup limited to 8 MiB (a real page cache too small)"),
            "{}",
            claim.evidence
        );
    }
}
