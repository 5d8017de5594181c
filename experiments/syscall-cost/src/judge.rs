//! The judge step of `syscall-cost`: S16 and S5 from the result file alone
//! (its params and the tables `entry_costs`, `entry_counted`,
//! `read_blocks`, `read_counted` and `buffered_counted`), so `mmlab judge`
//! recomputes them from any stored run.
//!
//! - S16 ("fread() always pays the system call API: int 80, a trap"): the
//!   fread calls against the read(2) system calls they caused, counted, at
//!   each item size with the stream's own buffer. `refuted` when at the
//!   smallest item size fread calls outnumber read(2) calls by at least
//!   `fread_per_read_refute_min`; `holds` when they are about equal (at
//!   most `about_equal_max` freads per read(2)) at every item size;
//!   `holds-with-nuance` otherwise (fewer system calls than freads, but not
//!   by the large factor). The evidence also gives the cost of a trap
//!   through the native instruction against `int $0x80` (or why that was
//!   not measured) and the vDSO call's.
//! - S5 (the read() half: "each read is a system call"): read() at every
//!   block size made ceil(s/b)+1 read(2) system calls for a file of s bytes,
//!   and read() of single items one per item, within
//!   `read_calls_tolerance`; `refuted` otherwise, `not-measured` when
//!   system calls could not be counted. The evidence gives the per-call
//!   cost the fit found, and how much of it is the trap.

use mmlab_core::{Claim, ResultFile, Verdict, format_size};
use serde_json::{Value, json};

use crate::fit::{self, Fit, Split};
use crate::readcost;

pub const FREAD_PER_READ_REFUTE_MIN: f64 = 10.0;
pub const ABOUT_EQUAL_MAX: f64 = 1.5;
pub const READ_CALLS_TOLERANCE: f64 = 0.01;

/// The series of fitted values drawn beside the measured read() times.
pub const FIT_SERIES: &str = "fit: a + b x size";
/// The split's bar for what the per-call medians say.
pub const MEASURED_PART: &str = "measured (median per call x calls)";

pub const S16_RULE: &str = "from counted passes of fread() with the stream's own buffer (fopen, no setvbuf) over a warm file, one fread of one item per call, at item sizes from 1 B to 64 KiB: the freads per read(2) system call (syscalls:sys_enter_read) at each item size. Refuted when at the smallest item size fread calls outnumber read(2) calls by at least fread_per_read_refute_min (most fread calls never enter the kernel); holds when at every item size there are at most about_equal_max freads per read(2) (every fread traps); holds-with-nuance otherwise. Not-measured when read(2) calls could not be counted or no fread pass ran. The evidence adds the cost of entering the kernel through the native instruction and through int $0x80 (or why that was not measured) and the vDSO call's, timed without instrumentation";

pub const S5_RULE: &str = "the read() half of S5, from counted passes on a warm file of s bytes: read() at every block size b must make ceil(s/b)+1 read(2) system calls (the last returns 0 at end of file) and read() of single items one per item, each within read_calls_tolerance (relative); refuted when any differs, holds when all match, not-measured when system calls could not be counted. mmap's half is judged by repeated-access; the evidence gives the per-call cost a of the fit time = a + b x size and how much of it the null system call accounts for";

fn s16_thresholds() -> Vec<(&'static str, Value)> {
    vec![
        (
            "fread_per_read_refute_min",
            json!(FREAD_PER_READ_REFUTE_MIN),
        ),
        ("about_equal_max", json!(ABOUT_EQUAL_MAX)),
    ]
}

fn s5_thresholds() -> Vec<(&'static str, Value)> {
    vec![("read_calls_tolerance", json!(READ_CALLS_TOLERANCE))]
}

pub fn judge(result: &ResultFile) -> Vec<Claim> {
    vec![s16(result), s5(result)]
}

fn table<'a>(result: &'a ResultFile, key: &str) -> &'a [Value] {
    result
        .extra
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The median ns per call of an entry kind, or why there is none.
pub fn entry_median(result: &ResultFile, kind: &str) -> Result<f64, String> {
    median_ns(table(result, "entry_costs"), kind)
}

fn median_ns(rows: &[Value], kind: &str) -> Result<f64, String> {
    let values: Vec<f64> = rows
        .iter()
        .filter(|r| r["kind"] == kind)
        .filter_map(|r| r["ns_per_call"].as_f64())
        .collect();
    mmlab_core::stats::median(&values).ok_or_else(|| {
        rows.iter()
            .filter(|r| r["kind"] == kind)
            .find_map(|r| r["reason"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("no {kind} row in entry_costs"))
    })
}

/// The read() model: the fits of read() and of both memcpy loops over the
/// per-call medians, and the null system call of the same run.
#[derive(Debug, Clone)]
pub struct ReadModel {
    pub read: Fit,
    pub memcpy_stream: Option<Fit>,
    pub memcpy_hot: Option<Fit>,
    pub null_ns: f64,
    /// read()'s median ns per call at each block size.
    pub read_medians: Vec<(u64, f64)>,
}

fn medians_of(rows: &[Value], method: &str) -> Vec<(u64, f64)> {
    readcost::BLOCK_SIZES
        .iter()
        .filter_map(|&block| {
            let values: Vec<f64> = rows
                .iter()
                .filter(|r| r["method"] == method && r["block_bytes"] == block)
                .filter_map(|r| r["ns_per_call"].as_f64())
                .collect();
            mmlab_core::stats::median(&values).map(|m| (block, m))
        })
        .collect()
}

fn fit_of(rows: &[Value], method: &str) -> Option<Fit> {
    let points: Vec<(f64, f64)> = medians_of(rows, method)
        .into_iter()
        .map(|(b, m)| (b as f64, m))
        .collect();
    fit::fit(&points)
}

impl ReadModel {
    /// From `read_blocks` and `entry_costs` rows; `None` when read() was not
    /// timed or the null system call was not measured.
    pub fn of(read_rows: &[Value], entry_rows: &[Value]) -> Option<ReadModel> {
        Some(ReadModel {
            read: fit_of(read_rows, readcost::READ)?,
            memcpy_stream: fit_of(read_rows, readcost::MEMCPY_STREAM),
            memcpy_hot: fit_of(read_rows, readcost::MEMCPY_HOT),
            null_ns: median_ns(entry_rows, crate::entry::TRAP.id).ok()?,
            read_medians: medians_of(read_rows, readcost::READ),
        })
    }

    pub fn from_result(result: &ResultFile) -> Result<ReadModel, String> {
        ReadModel::of(table(result, "read_blocks"), table(result, "entry_costs")).ok_or_else(|| {
            "read() at each block size or the null system call was not timed, so no fit".to_string()
        })
    }

    pub fn splits(&self) -> Vec<Split> {
        fit::SPLIT_BLOCKS
            .iter()
            .map(|&block| {
                let measured = self
                    .read_medians
                    .iter()
                    .find(|(b, _)| *b == block)
                    .map(|(_, m)| *m);
                fit::split(&self.read, self.null_ns, block, measured)
            })
            .collect()
    }

    /// What the result file stores as `read_fit`.
    pub fn summary(&self) -> Value {
        json!({
            "read": self.read,
            "memcpy_stream": self.memcpy_stream,
            "memcpy_hot": self.memcpy_hot,
            "null_syscall_ns": self.null_ns,
            "a_minus_null_ns": self.read.a_ns - self.null_ns,
            "null_share_of_a": self.null_ns / self.read.a_ns,
        })
    }

    /// One sentence: a, b and what they are made of.
    pub fn sentence(&self) -> String {
        let r = &self.read;
        let bandwidth = |f: &Option<Fit>| {
            f.as_ref().map_or("not fitted".to_string(), |f| {
                format!("{:.1} GB/s", f.per_byte_gb_per_s)
            })
        };
        format!(
            "the fit time = a + b x size over {} block sizes (64 B to 1 MiB) gives a = {:.0} ns per call, of which the null system call ({} instruction, getppid) is {:.0} ns ({:.0}%) and the rest, {:.0} ns, the per-call work of the VFS and the page-cache lookup; b = {:.4} ns per byte (1/b = {:.1} GB/s; memcpy from a file-sized buffer {}, between two buffers of the block size {}); relative residuals rms {:.0}%, worst {:+.0}% at {}",
            r.n_points,
            r.a_ns,
            crate::entry::NATIVE_INSTRUCTION,
            self.null_ns,
            100.0 * self.null_ns / r.a_ns,
            r.a_ns - self.null_ns,
            r.b_ns_per_byte,
            r.per_byte_gb_per_s,
            bandwidth(&self.memcpy_stream),
            bandwidth(&self.memcpy_hot),
            100.0 * r.rms_relative_residual,
            100.0 * r.max_relative_residual,
            format_size(r.max_residual_at_bytes as u64),
        )
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What entering the kernel cost in this run, for the evidence.
fn entry_sentence(result: &ResultFile) -> String {
    let native = crate::entry::NATIVE_INSTRUCTION;
    let trap = entry_median(result, crate::entry::TRAP.id);
    let int80 = entry_median(result, crate::entry::INT80.id);
    let vdso = entry_median(result, crate::entry::VDSO.id);
    let vdso_calls = table(result, "entry_counted")
        .iter()
        .find(|r| r["kind"] == crate::entry::VDSO.id)
        .and_then(|r| r["syscalls"].as_u64());
    let mut parts = Vec::new();
    match (&trap, &int80) {
        (Ok(t), Ok(i)) => parts.push(format!(
            "a null system call costs {t:.0} ns through `{native}` and {i:.0} ns through `int $0x80` ({:.0}x; the 32-bit entry the notes name, which a 64-bit libc does not use)",
            i / t
        )),
        (Ok(t), Err(why)) => parts.push(format!(
            "a null system call costs {t:.0} ns through `{native}`; `int $0x80` was not measured: {why}"
        )),
        (Err(why), _) => parts.push(format!("the null system call was not timed: {why}")),
    }
    if let Ok(v) = vdso {
        parts.push(format!(
            "a vDSO clock_gettime {v:.0} ns with {} system calls in {} calls",
            vdso_calls.map_or("uncounted".to_string(), thousands),
            thousands(
                result
                    .params
                    .get("entry_counted_calls")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            )
        ));
    }
    parts.join("; ")
}

/// The `cpu_vulnerabilities` rows whose status is a mitigation, named.
fn mitigations(result: &ResultFile) -> String {
    let rows = table(result, "cpu_vulnerabilities");
    let mitigated: Vec<&str> = rows
        .iter()
        .filter(|r| {
            r["status"]
                .as_str()
                .is_some_and(|s| s.starts_with("Mitigation"))
        })
        .filter_map(|r| r["name"].as_str())
        .collect();
    if rows.is_empty() {
        "CPU mitigations unknown".into()
    } else {
        format!(
            "CPU mitigations in force: {} ({})",
            if mitigated.is_empty() {
                "none".to_string()
            } else {
                mitigated.join(", ")
            },
            result
                .params
                .get("kernel_cmdline_mitigations")
                .and_then(Value::as_str)
                .unwrap_or("kernel command line unknown")
        )
    }
}

fn s16(result: &ResultFile) -> Claim {
    let claim = |verdict, evidence: String| {
        Claim::new("S16", verdict, evidence)
            .with_scenario("warm file, fread with the stream's own buffer")
            .with_rule(S16_RULE, s16_thresholds())
    };
    let mut rows: Vec<&Value> = table(result, "buffered_counted")
        .iter()
        .filter(|r| r["method"] == crate::buffered::FREAD.id)
        .collect();
    rows.sort_by_key(|r| r["item_bytes"].as_u64().unwrap_or(0));
    if rows.is_empty() {
        return claim(
            Verdict::NotMeasured,
            "no counted fread pass in the result file (buffered_counted)".into(),
        );
    }
    struct Point {
        item: u64,
        items: u64,
        reads: u64,
        ratio: f64,
    }
    let mut points = Vec::new();
    for r in &rows {
        let (Some(item), Some(items)) = (r["item_bytes"].as_u64(), r["items"].as_u64()) else {
            return claim(
                Verdict::NotMeasured,
                format!("a fread row lacks item_bytes or items: {r}"),
            );
        };
        let Some(reads) = r["read_syscalls"].as_u64() else {
            return claim(
                Verdict::NotMeasured,
                format!(
                    "read(2) system calls could not be counted: {}",
                    r["reason"].as_str().unwrap_or("no reason recorded")
                ),
            );
        };
        let ratio = items as f64 / reads.max(1) as f64;
        points.push(Point {
            item,
            items,
            reads,
            ratio,
        });
    }
    let blksize = result
        .params
        .get("st_blksize_bytes")
        .and_then(Value::as_u64);
    let counts: Vec<String> = points
        .iter()
        .map(|p| {
            format!(
                "{} items: {} freads, {} read(2) ({:.0} fread calls per read(2), {} per read(2))",
                format_size(p.item),
                thousands(p.items),
                thousands(p.reads),
                p.ratio,
                format_size(
                    rows.iter()
                        .find(|r| r["item_bytes"] == p.item)
                        .and_then(|r| r["bytes"].as_u64())
                        .unwrap_or(0)
                        / p.reads.max(1)
                ),
            )
        })
        .collect();
    let setvbuf = table(result, "buffered_counted")
        .iter()
        .filter(|r| r["method"] == crate::buffered::FREAD_SETVBUF.id)
        .min_by_key(|r| r["item_bytes"].as_u64().unwrap_or(u64::MAX))
        .and_then(|r| Some((r["item_bytes"].as_u64()?, r["bytes_per_read"].as_f64()?)))
        .map_or(String::new(), |(item, per)| {
            format!(
                "; after setvbuf to 1 MiB, {} per read(2) at {} items",
                format_size(per as u64),
                format_size(item)
            )
        });
    let equal_at: Vec<String> = points
        .iter()
        .filter(|p| p.ratio <= ABOUT_EQUAL_MAX)
        .map(|p| format_size(p.item))
        .collect();
    let smallest = &points[0];
    let body = format!(
        "fread with the stream's own buffer (st_blksize {}): {}{setvbuf}; about one read(2) per fread only at {}; {}; {}",
        blksize.map_or("unknown".to_string(), format_size),
        counts.join("; "),
        if equal_at.is_empty() {
            "no item size".to_string()
        } else {
            equal_at.join(", ")
        },
        entry_sentence(result),
        mitigations(result),
    );
    if smallest.ratio >= FREAD_PER_READ_REFUTE_MIN {
        return claim(
            Verdict::Refuted,
            format!(
                "most fread() calls never enter the kernel: {} freads of {} made {} read(2) system calls, one per stream buffer; {body}",
                thousands(smallest.items),
                format_size(smallest.item),
                thousands(smallest.reads),
            ),
        );
    }
    if points.iter().all(|p| p.ratio <= ABOUT_EQUAL_MAX) {
        return claim(
            Verdict::Holds,
            format!("every fread() made about one read(2) system call: {body}"),
        );
    }
    claim(
        Verdict::HoldsWithNuance,
        format!(
            "fread() made fewer read(2) system calls than calls, but at {} items only {:.1} freads per read(2): {body}",
            format_size(smallest.item),
            smallest.ratio
        ),
    )
}

fn s5(result: &ResultFile) -> Claim {
    let claim = |verdict, evidence: String| {
        Claim::new("S5", verdict, evidence)
            .with_scenario("the read() half, warm file (mmap's half: repeated-access)")
            .with_rule(S5_RULE, s5_thresholds())
    };
    let counted = table(result, "read_counted");
    if counted.is_empty() {
        return claim(
            Verdict::NotMeasured,
            "no counted read() pass in the result file (read_counted)".into(),
        );
    }
    let uncounted = |why: Option<&str>| {
        claim(
            Verdict::NotMeasured,
            format!(
                "read(2) system calls could not be counted: {}",
                why.unwrap_or("no reason recorded")
            ),
        )
    };
    let reason = |event: &str| match result.counters_available.get(event) {
        Some(mmlab_core::Availability::Unavailable(why)) => Some(why.clone()),
        _ => None,
    };
    let mut worst = 0.0f64;
    let mut off = Vec::new();
    let mut shown = Vec::new();
    let mut file_bytes = 0;
    for row in counted {
        let (Some(block), Some(expected)) = (
            row["block_bytes"].as_u64(),
            row["expected_syscalls"].as_u64(),
        ) else {
            return claim(
                Verdict::NotMeasured,
                format!("a read_counted row lacks block_bytes or expected_syscalls: {row}"),
            );
        };
        file_bytes = row["file_bytes"].as_u64().unwrap_or(file_bytes);
        let Some(made) = row["read_syscalls"].as_u64().or(row["syscalls"].as_u64()) else {
            return uncounted(reason(crate::count::READ_SYSCALLS).as_deref());
        };
        let deviation = (made as f64 - expected as f64).abs() / expected as f64;
        worst = worst.max(deviation);
        if deviation > READ_CALLS_TOLERANCE {
            off.push(format!(
                "{}: {} instead of {}",
                format_size(block),
                thousands(made),
                thousands(expected)
            ));
        }
        if [64, 4096, 1 << 20].contains(&block) {
            shown.push(format!(
                "{}: {} (ceil(s/b)+1 = {})",
                format_size(block),
                thousands(made),
                thousands(expected)
            ));
        }
    }
    for row in table(result, "buffered_counted")
        .iter()
        .filter(|r| r["method"] == crate::buffered::READ.id)
    {
        let (Some(items), Some(item)) = (row["items"].as_u64(), row["item_bytes"].as_u64()) else {
            continue;
        };
        let Some(made) = row["read_syscalls"].as_u64() else {
            return uncounted(row["reason"].as_str());
        };
        let deviation = (made as f64 - items as f64).abs() / items.max(1) as f64;
        worst = worst.max(deviation);
        if deviation > READ_CALLS_TOLERANCE {
            off.push(format!(
                "read() of {} items: {} system calls for {} items",
                format_size(item),
                thousands(made),
                thousands(items)
            ));
        }
    }
    let cost = match ReadModel::from_result(result) {
        Ok(model) => model.sentence(),
        Err(why) => format!("the per-call cost was not measured: {why}"),
    };
    let body = format!(
        "read() over the warm {} file made {} read(2) system calls at {} of {} block sizes ({}), off by at most {:.2}%; {cost}",
        format_size(file_bytes),
        if off.is_empty() {
            "exactly the expected"
        } else {
            "other than the expected"
        },
        counted.len() - off.len(),
        counted.len(),
        shown.join(", "),
        100.0 * worst,
    );
    if !off.is_empty() {
        return claim(
            Verdict::Refuted,
            format!(
                "read() did not make one system call per call: {}; {body}",
                off.join("; ")
            ),
        );
    }
    claim(
        Verdict::Holds,
        format!("each read() was one system call: {body}"),
    )
}
