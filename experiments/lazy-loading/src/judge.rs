//! The judge step of lazy-loading: the verdicts on S3, S6, S13 and S15 from
//! the result file alone (its `params`, `samples`, `meminfo_deltas`,
//! `metadata_runs` and `counters_available`), so `mmlab judge` recomputes
//! them from any stored run. This module reads the numbers out of the file;
//! the rules and their thresholds are in [`crate::verdicts`].

use mmlab_core::{Availability, Claim, ResultFile};
use serde_json::Value;

use crate::analysis::{max_count, median, median_count, select, text};
use crate::verdicts::{self, CacheNumbers, FirstAccessNumbers, LazyNumbers, Pass};

/// Every claim of the experiment, judged from the file.
pub fn judge(result: &ResultFile) -> Vec<Claim> {
    let file = File::of(result);
    vec![
        verdicts::where_data_lives(&cache_numbers(&file)),
        verdicts::lazy_loading(&lazy_numbers(&file)),
        verdicts::first_access(&first_access_numbers(&file)),
        verdicts::after_setup(
            &second_pass_numbers(&file),
            &availability_reason(result, "raw_syscalls:sys_enter"),
        ),
    ]
}

/// The parts of the result file the rules read.
struct File<'a> {
    result: &'a ResultFile,
    samples: &'a [Value],
    file_size_bytes: u64,
    n_pages: u64,
    page_size_bytes: u64,
}

impl<'a> File<'a> {
    fn of(result: &'a ResultFile) -> File<'a> {
        let number = |name: &str| result.params.get(name).and_then(Value::as_u64);
        let file_size_bytes = number("file_size_bytes").unwrap_or(0);
        let page_size_bytes = number("page_size_bytes").unwrap_or(4096).max(1);
        let n_pages =
            number("n_pages_file").unwrap_or_else(|| file_size_bytes.div_ceil(page_size_bytes));
        File {
            result,
            samples: &result.samples,
            file_size_bytes,
            n_pages,
            page_size_bytes,
        }
    }

    fn select(&self, filter: &[(&str, &str)]) -> Vec<&'a Value> {
        select(self.samples, filter)
    }

    fn param(&self, name: &str) -> Option<u64> {
        self.result.params.get(name).and_then(Value::as_u64)
    }

    /// `read_ahead_kb` of the data folder's disk: the fingerprint's, else
    /// the experiment's own param (files recorded before the fingerprint
    /// had it).
    fn read_ahead_kb(&self) -> Option<u64> {
        self.result
            .env
            .data_dir_read_ahead_kb
            .value()
            .copied()
            .or_else(|| self.param("read_ahead_kb"))
    }

    /// `fault_around_bytes`, where the run could read it.
    fn fault_around_bytes(&self) -> Option<u64> {
        self.result
            .env
            .fault_around_bytes
            .value()
            .copied()
            .or_else(|| self.param("fault_around_bytes"))
    }
}

fn availability_reason(result: &ResultFile, event: &str) -> String {
    match result.counters_available.get(event) {
        Some(Availability::Unavailable(reason)) => format!("{event}: {reason}"),
        Some(Availability::Available) => format!("{event} was available"),
        None => format!("{event} was not opened"),
    }
}

fn lazy_numbers(f: &File) -> LazyNumbers {
    let cold_mmap = f.select(&[
        ("scenario", "touch-k"),
        ("file_state", "cold"),
        ("phase", "mmap"),
    ]);
    let one = f.select(&[
        ("scenario", "touch-k"),
        ("file_state", "cold"),
        ("case", "sequential k=1"),
        ("phase", "touch"),
    ]);
    let all_case = format!("sequential k={}", f.n_pages);
    let warm_all = f.select(&[
        ("scenario", "touch-k"),
        ("file_state", "warm"),
        ("case", &all_case),
        ("phase", "touch"),
    ]);
    let warm_folios = f.select(&[
        ("scenario", "folios"),
        ("file_state", "read()"),
        ("case", "default"),
        ("phase", "touch"),
    ]);
    LazyNumbers {
        file_size_bytes: f.file_size_bytes,
        n_pages: f.n_pages,
        cold_resident_before_mmap: median_count(&cold_mmap, "n_pages_resident_before"),
        cold_resident_after_mmap: median_count(&cold_mmap, "n_pages_resident_after"),
        cold_one_page_faults: median_count(&one, "n_faults"),
        cold_one_page_major_faults: median_count(&one, "rusage_major_faults"),
        cold_one_page_resident: median_count(&one, "n_pages_resident_after"),
        cold_one_page_read_bytes: median(&one, "storage_read_bytes").map(|m| m.round() as u64),
        warm_all_faults: median_count(&warm_all, "n_faults"),
        warm_folio_mean_pages: median(&warm_folios, "mean_folio_pages_of_a_page"),
        warm_largest_folio_pages: max_count(&warm_folios, "largest_folio_pages"),
        read_ahead_kb: f.read_ahead_kb(),
        fault_around_bytes: f.fault_around_bytes(),
        page_size_bytes: f.page_size_bytes,
        kernel: f.result.env.kernel.clone(),
        filesystem: f.result.env.data_dir_fs.clone(),
    }
}

/// Medians of one region over repetitions.
fn pass(samples: &[&Value]) -> Pass {
    Pass {
        storage_read_bytes: median(samples, "storage_read_bytes").map(|m| m.round() as u64),
        perf_faults: median(samples, "perf_minor_faults")
            .zip(median(samples, "perf_major_faults"))
            .map(|(minor, major)| (minor + major).round() as u64),
        elapsed_ns: median_count(samples, "elapsed_ns"),
        major_faults: median_count(samples, "rusage_major_faults"),
        faults: median_count(samples, "n_faults"),
        resident_before: median_count(samples, "n_pages_resident_before"),
        every_byte: !samples.is_empty()
            && samples
                .iter()
                .all(|s| text(s, "access") == crate::scenarios::ACCESS_EVERY_BYTE),
    }
}

fn first_access_numbers(f: &File) -> FirstAccessNumbers {
    let pick = |case: &str, state: &str, phase: &str, scenario: &str| {
        pass(&f.select(&[
            ("scenario", scenario),
            ("case", case),
            ("file_state", state),
            ("phase", phase),
        ]))
    };
    FirstAccessNumbers {
        file_size_bytes: f.file_size_bytes,
        n_pages: f.n_pages,
        mmap_cold_call: pick("mmap", "cold", "mmap", "cold-vs-warm"),
        mmap_cold: pick("mmap", "cold", "touch", "cold-vs-warm"),
        mmap_warm: pick("mmap", "warm", "touch", "cold-vs-warm"),
        read_cold: pick("read()", "cold", "read()", "cold-vs-warm"),
        read_warm: pick("read()", "warm", "read()", "cold-vs-warm"),
        populate_mmap: pick("MAP_POPULATE", "cold", "mmap", "advice"),
        populate_touch: pick("MAP_POPULATE", "cold", "touch", "advice"),
    }
}

/// A count of one sample, `None` when null or absent.
fn count(sample: &Value, field: &str) -> Option<u64> {
    sample.get(field).and_then(Value::as_f64).map(|v| v as u64)
}

fn second_pass_numbers(f: &File) -> Vec<verdicts::SecondPassNumbers> {
    let mut cases: Vec<&str> = f
        .select(&[("scenario", "second-pass")])
        .iter()
        .map(|s| text(s, "case"))
        .collect();
    cases.sort_unstable();
    cases.dedup();
    cases
        .into_iter()
        .map(|case| {
            let first = f.select(&[
                ("scenario", "second-pass"),
                ("case", case),
                ("phase", "first pass"),
            ]);
            let mut second = f.select(&[
                ("scenario", "second-pass"),
                ("case", case),
                ("phase", "second pass"),
            ]);
            second.sort_by_key(|s| count(s, "repetition"));
            let each = |field: &str| second.iter().map(|s| count(s, field)).collect();
            verdicts::SecondPassNumbers {
                case: case.to_string(),
                n_pages: second
                    .iter()
                    .find_map(|s| count(s, "n_pages_mapping"))
                    .unwrap_or(f.n_pages),
                first_pass_faults: median_count(&first, "n_faults"),
                second_pass_faults: each("n_faults"),
                second_pass_fault_exceptions: each("perf_exceptions_page_fault_user"),
                second_pass_syscalls: each("perf_raw_syscalls_sys_enter"),
                second_pass_context_switches: each("perf_context_switches"),
            }
        })
        .collect()
}

/// The rows of `meminfo_deltas` of one kind (`cold-read`, `create`,
/// `stat`). A file recorded before rows carried their kind is read by the
/// action's first word.
fn meminfo_rows<'a>(f: &File<'a>, kind: &str) -> Vec<&'a Value> {
    let Some(rows) = f
        .result
        .extra
        .get("meminfo_deltas")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    rows.iter()
        .filter(|row| match row.get("kind").and_then(Value::as_str) {
            Some(k) => k == kind,
            None => {
                let action = text(row, "action");
                match kind {
                    "cold-read" => action.starts_with("cold read()"),
                    "stat" => action.starts_with("stat "),
                    _ => action.starts_with("create "),
                }
            }
        })
        .collect()
}

/// The median change of `field` over rows (one per repetition); `None`
/// when there is none or any is missing.
fn median_field(rows: &[&Value], field: &str) -> Option<i64> {
    let values: Vec<f64> = rows
        .iter()
        .filter(|r| text(r, "field") == field)
        .map(|r| r.get("delta_kib").and_then(Value::as_f64))
        .collect::<Option<_>>()?;
    mmlab_core::stats::median(&values).map(|m| m.round() as i64)
}

/// The median storage read of the actions (one value per repetition).
fn median_read(rows: &[&Value]) -> Option<u64> {
    let per_action: Vec<&&Value> = rows
        .iter()
        .filter(|r| text(r, "field") == "Cached")
        .collect();
    let values: Vec<f64> = per_action
        .iter()
        .map(|r| r.get("storage_read_bytes").and_then(Value::as_f64))
        .collect::<Option<_>>()?;
    mmlab_core::stats::median(&values).map(|m| m.round() as u64)
}

/// Why the stat walk with evicted metadata did not run, from the
/// `metadata_runs` table (or, in a file recorded before it, the
/// `drop_caches` param).
fn metadata_not_measured(f: &File) -> String {
    if let Some(runs) = f
        .result
        .extra
        .get("metadata_runs")
        .and_then(Value::as_array)
    {
        if let Some(reason) = runs
            .iter()
            .find_map(|r| r.get("reason").and_then(Value::as_str))
        {
            return reason.to_string();
        }
        if runs.is_empty() {
            return "no metadata repetition ran (0 in metadata_runs)".to_string();
        }
    }
    match f.result.params.get("drop_caches").and_then(Value::as_str) {
        Some(text) if text.starts_with("no: ") => text["no: ".len()..].to_string(),
        _ => "the result file has no stat walk with the metadata evicted".to_string(),
    }
}

fn cache_numbers(f: &File) -> CacheNumbers {
    let reads = meminfo_rows(f, "cold-read");
    let stats = meminfo_rows(f, "stat");
    let metadata = if stats.is_empty() {
        Err(metadata_not_measured(f))
    } else {
        let field = |name: &str| {
            median_field(&stats, name)
                .ok_or_else(|| format!("{name} is missing from /proc/meminfo"))
        };
        (|| {
            Ok(verdicts::MetadataNumbers {
                n_files: f
                    .result
                    .params
                    .get("n_metadata_files")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                cached_kib: field("Cached")?,
                buffers_kib: field("Buffers")?,
                sreclaimable_kib: field("SReclaimable")?,
                storage_read_bytes: median_read(&stats),
            })
        })()
    };
    CacheNumbers {
        file_size_bytes: f.file_size_bytes,
        data_cached_kib: median_field(&reads, "Cached"),
        data_buffers_kib: median_field(&reads, "Buffers"),
        data_read_bytes: median_read(&reads),
        metadata,
        filesystem: f.result.env.data_dir_fs.clone(),
    }
}
