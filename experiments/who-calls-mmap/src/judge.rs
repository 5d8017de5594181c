//! The judge step of who-calls-mmap: the verdicts on S1, S2, S5 and S11
//! from the result file alone (its `params`, the `cases` table with each
//! case's marks and complete counts, the `mmap_calls` table, the
//! `malloc_threshold` table and the `no-ptrace` warning), so `mmlab judge`
//! recomputes them from any stored run. The rules, as each claim's `rule`
//! field states them, are listed in the README ("How the verdicts are
//! decided").

use std::collections::BTreeMap;

use mmlab_core::{Claim, ResultFile, Verdict, format_size};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::CLAIMS;

/// S1: how many bytes the mapping's length may differ from the file's.
pub const S1_LENGTH_DIFFERENCE_ALLOWED_BYTES: u64 = 0;
/// S1, S11: checksums through the mapping that may differ from the file's.
pub const CHECKSUM_MISMATCHES_ALLOWED: u64 = 0;
/// S2: bytes of a fresh anonymous mapping that may read other than zero.
pub const S2_NONZERO_BYTES_ALLOWED: u64 = 0;
/// S2: anonymous mmaps with an fd other than -1 that still allow `holds`.
pub const S2_OTHER_FD_ALLOWED_FOR_HOLDS: u64 = 0;
/// S5: mmap calls of the data file the mmap path must make.
pub const S5_MMAP_CALLS_EXPECTED: u64 = 1;
/// S5: read calls of the data file the mmap path may make.
pub const S5_READS_THROUGH_MMAP_ALLOWED: u64 = 0;
/// S5: traced system calls the second pass over the mapping may make.
pub const S5_SECOND_PASS_CALLS_ALLOWED: u64 = 0;
/// S5: faults the second pass may take, as a fraction of the file's pages
/// (strays: reclaim, NUMA balancing, khugepaged), rounded down.
pub const S5_SECOND_PASS_STRAY_FAULT_FRACTION: f64 = 0.01;
/// S5: first-pass faults that still allow `holds` (none: a fault is a
/// kernel entry, which the notes' "plain memory access" leaves out).
pub const S5_FIRST_PASS_FAULTS_FOR_HOLDS: u64 = 0;

/// One row of the `cases` table, as the file holds it.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseRow {
    pub case: String,
    #[serde(default)]
    pub workload: String,
    #[serde(default)]
    pub marks: Vec<String>,
    #[serde(default)]
    pub n_calls: u64,
    #[serde(default)]
    pub counts: BTreeMap<String, u64>,
    /// Calls per mark (full text) they came after, then per name.
    #[serde(default)]
    pub counts_after_mark: Option<BTreeMap<String, BTreeMap<String, u64>>>,
    /// Calls per name whose fd refers to the data file.
    #[serde(default)]
    pub counts_on_data_file: Option<BTreeMap<String, u64>>,
}

impl CaseRow {
    fn end_mark(&self) -> Option<&str> {
        self.marks
            .iter()
            .find(|m| m.starts_with("end"))
            .map(String::as_str)
    }

    /// A `key=number` of the case's marks (the end mark and the ones just
    /// before it carry the workload's numbers), or why there is none.
    pub fn end_value(&self, key: &str) -> Result<u64, String> {
        let Some(end) = self.end_mark() else {
            return Err(format!("the {} case left no end mark", self.case));
        };
        self.marks
            .iter()
            .rev()
            .flat_map(|m| m.split_whitespace())
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                format!(
                    "the {} case's marks (end: {end:?}) carry no {key}= number",
                    self.case
                )
            })
    }

    /// The text after `key=` at the end of the end mark (`pathname=`).
    pub fn end_text(&self, key: &str) -> Option<&str> {
        let end = self.end_mark()?;
        let at = end.find(&format!(" {key}="))?;
        Some(end[at + key.len() + 2..].trim())
    }

    /// Calls of `name` on the data file, or why unknown.
    pub fn on_data_file(&self, name: &str) -> Result<u64, String> {
        self.counts_on_data_file
            .as_ref()
            .map(|c| c.get(name).copied().unwrap_or(0))
            .ok_or_else(|| {
                format!(
                    "the {} case carries no counts_on_data_file (a file recorded before they were)",
                    self.case
                )
            })
    }

    /// Calls after the mark whose text starts with `prefix` (all names, or
    /// only `name`), or why unknown.
    pub fn after_mark(&self, prefix: &str, name: Option<&str>) -> Result<u64, String> {
        let counts = self.counts_after_mark.as_ref().ok_or_else(|| {
            format!(
                "the {} case carries no counts_after_mark (a file recorded before they were)",
                self.case
            )
        })?;
        if !self.marks.iter().any(|m| m.starts_with(prefix)) {
            return Err(format!("the {} case has no {prefix:?} mark", self.case));
        }
        Ok(counts
            .iter()
            .filter(|(mark, _)| mark.starts_with(prefix))
            .flat_map(|(_, by_name)| by_name.iter())
            .filter(|(n, _)| name.is_none_or(|name| name == n.as_str()))
            .map(|(_, n)| n)
            .sum())
    }
}

/// One row of the `mmap_calls` table.
#[derive(Debug, Clone, Deserialize)]
pub struct MmapRow {
    pub case: String,
    #[serde(default)]
    pub after_mark: Option<String>,
    pub text: String,
    #[serde(default)]
    pub len_bytes: Option<u64>,
    #[serde(default)]
    pub prot: Option<String>,
    #[serde(default)]
    pub flags: Option<String>,
    #[serde(default)]
    pub flags_raw: Option<u64>,
    #[serde(default)]
    pub fd: Option<i64>,
    #[serde(default)]
    pub fd_path: Option<String>,
    #[serde(default)]
    pub errno: Option<String>,
}

impl MmapRow {
    fn has_flag(&self, name: &str) -> bool {
        self.flags
            .as_deref()
            .is_some_and(|f| f.split('|').any(|part| part == name))
    }

    /// MAP_ANONYMOUS among the decoded flags.
    pub fn anonymous(&self) -> bool {
        self.has_flag("MAP_ANONYMOUS")
    }

    /// A successful mapping of a file: no MAP_ANONYMOUS, an fd with a path.
    pub fn file_backed(&self) -> bool {
        !self.anonymous() && self.errno.is_none() && self.fd_path.is_some()
    }

    fn executable(&self) -> bool {
        self.prot
            .as_deref()
            .is_some_and(|p| p.split('|').any(|part| part == "PROT_EXEC"))
    }
}

fn table<T: serde::de::DeserializeOwned>(result: &ResultFile, key: &str) -> Result<T, String> {
    let value = result
        .extra
        .get(key)
        .ok_or_else(|| format!("the result file has no `{key}` table"))?;
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        format!(
            "the `{key}` table cannot be read at {}: {}",
            e.path(),
            e.inner()
        )
    })
}

/// What the judge reads, each part with why it could not be read.
struct View<'a> {
    result: &'a ResultFile,
    cases: Result<Vec<CaseRow>, String>,
    mmaps: Result<Vec<MmapRow>, String>,
}

impl View<'_> {
    fn case(&self, name: &str) -> Result<&CaseRow, String> {
        self.cases
            .as_ref()
            .map_err(Clone::clone)?
            .iter()
            .find(|c| c.case == name)
            .ok_or_else(|| format!("the `cases` table has no {name} case"))
    }

    fn mmaps(&self) -> Result<&[MmapRow], String> {
        self.mmaps.as_deref().map_err(Clone::clone)
    }

    fn param_u64(&self, name: &str) -> Result<u64, String> {
        self.result
            .params
            .get(name)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("the result file has no number in params.{name}"))
    }

    fn param_str(&self, name: &str) -> Result<&str, String> {
        self.result
            .params
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the result file has no text in params.{name}"))
    }

    /// The data file's path with its (long, per-run) folder left out.
    fn short(&self, text: &str) -> String {
        match self.param_str("data_file_path") {
            Ok(path) => match path.rsplit_once('/') {
                Some((dir, _)) => text.replace(&format!("{dir}/"), ""),
                None => text.to_string(),
            },
            Err(_) => text.to_string(),
        }
    }
}

/// Every claim of the experiment, judged from the file.
pub fn judge(result: &ResultFile) -> Vec<Claim> {
    if let Some(warning) = result.warnings.iter().find(|w| w.kind == "no-ptrace") {
        return CLAIMS
            .iter()
            .map(|id| {
                let claim = Claim::new(id, Verdict::NotMeasured, warning.message.clone());
                match *id {
                    "S1" => claim.with_rule(S1_RULE, s1_thresholds(None, None)),
                    "S2" => claim.with_rule(S2_RULE, s2_thresholds()),
                    "S5" => claim.with_rule(S5_RULE, s5_thresholds(None, None)),
                    _ => claim.with_rule(S11_RULE, s11_thresholds(None)),
                }
            })
            .collect();
    }
    let view = View {
        result,
        cases: table(result, "cases"),
        mmaps: table(result, "mmap_calls"),
    };
    vec![s1(&view), s2(&view), s5(&view), s11(&view)]
}

/// `count` is within what a threshold allows.
fn within(count: u64, allowed: u64) -> bool {
    count <= allowed
}

fn json_or_null(value: Option<u64>) -> Value {
    value.map_or(Value::Null, |v| json!(v))
}

const S1_RULE: &str = "memmap2's mmap of the data file (the mmap case) must have succeeded with the file's length, the bytes summed through the mapping must equal the file's checksum, and the mapping's line in /proc/self/maps (read while it was mapped) must name the data file: holds when all three do, refuted when the length, the checksum or the pathname differs; not-measured when the mapping, its checksum, the file's or the /proc/self/maps finding is missing from the result file; never holds-with-nuance, since the sentence is a yes/no fact about the bytes and the mapping with no mechanism to qualify";

fn s1_thresholds(size: Option<u64>, checksum: Option<u64>) -> Vec<(&'static str, Value)> {
    vec![
        (
            "length_difference_allowed_bytes",
            json!(S1_LENGTH_DIFFERENCE_ALLOWED_BYTES),
        ),
        (
            "checksum_mismatches_allowed",
            json!(CHECKSUM_MISMATCHES_ALLOWED),
        ),
        ("expected_len_bytes", json_or_null(size)),
        ("expected_checksum", json_or_null(checksum)),
        ("maps_line_must_name_the_data_file", json!(true)),
    ]
}

/// `libc.so.6`, `libgcc_s.so.1`, `foo.so`: not `ld.so.cache`.
pub fn is_shared_library(name: &str) -> bool {
    name.ends_with(".so") || (name.contains(".so.") && !name.ends_with(".cache"))
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// What the loader mapped at program start, for the evidence.
fn loader_text(view: &View) -> String {
    let Ok(mmaps) = view.mmaps() else {
        return "the loader's mappings are not in this file".to_string();
    };
    let mut libraries: Vec<&str> = Vec::new();
    let (mut n_maps, mut n_exec) = (0, 0);
    for row in mmaps
        .iter()
        .filter(|r| r.case == "program-start" && r.file_backed())
    {
        let name = base_name(row.fd_path.as_deref().unwrap_or_default());
        if is_shared_library(name) {
            n_maps += 1;
            if row.executable() {
                n_exec += 1;
            }
            if !libraries.contains(&name) {
                libraries.push(name);
            }
        }
    }
    if libraries.is_empty() {
        "the loader mapped no shared library (a statically linked binary)".to_string()
    } else {
        format!(
            "the loader mapped {} shared libraries ({}) with {n_maps} file mmaps, {n_exec} of them code with PROT_EXEC",
            libraries.len(),
            libraries.join(", ")
        )
    }
}

/// The mmap case's successful mappings of the data file.
fn data_file_maps<'a>(view: &'a View) -> Result<Vec<&'a MmapRow>, String> {
    let path = view.param_str("data_file_path")?;
    Ok(view
        .mmaps()?
        .iter()
        .filter(|r| r.case == "mmap" && r.fd_path.as_deref() == Some(path))
        .collect())
}

/// S1: the bytes through memmap2's mapping are the file's.
fn s1(view: &View) -> Claim {
    let size = view.param_u64("file_size_bytes");
    let checksum = view.param_u64("data_file_checksum");
    let claim = |verdict, evidence: String| {
        Claim::new("S1", verdict, evidence)
            .with_scenario("mmap, program-start")
            .with_rule(
                S1_RULE,
                s1_thresholds(size.clone().ok(), checksum.clone().ok()),
            )
    };
    let loader = loader_text(view);
    let inputs = (|| {
        let maps = data_file_maps(view)?;
        let mapped = view.case("mmap")?.end_value("checksum")?;
        let maps_file = view.case("mmap")?.end_value("maps_file")?;
        Ok::<_, String>((size.clone()?, checksum.clone()?, maps, mapped, maps_file))
    })();
    let (size, checksum, maps, mapped, maps_file) = match inputs {
        Ok(inputs) => inputs,
        Err(why) => {
            return claim(
                Verdict::NotMeasured,
                format!("the mapping of the data file cannot be checked: {why}; {loader}"),
            );
        }
    };
    let Some(map) = maps.iter().find(|r| r.errno.is_none()) else {
        let failed = maps.iter().map(|r| view.short(&r.text)).collect::<Vec<_>>();
        return claim(
            Verdict::NotMeasured,
            if failed.is_empty() {
                format!(
                    "memmap2 made no mmap of the {} data file, so nothing was mapped to check; {loader}",
                    format_size(size)
                )
            } else {
                format!(
                    "memmap2's mmap of the data file failed ({}), so nothing was mapped to check; {loader}",
                    failed.join("; ")
                )
            },
        );
    };
    let same_bytes = within(u64::from(mapped != checksum), CHECKSUM_MISMATCHES_ALLOWED);
    let same_length = map
        .len_bytes
        .is_some_and(|len| within(len.abs_diff(size), S1_LENGTH_DIFFERENCE_ALLOWED_BYTES));
    let named = maps_file == 1;
    let evidence = format!(
        "memmap2 mapped the {} data file with {}, its line in /proc/self/maps {}, and the bytes read through the mapping {} the file's checksum ({mapped} against {checksum}){}; {loader}",
        format_size(size),
        view.short(&map.text),
        match maps_file {
            1 => "named the data file",
            0 => "did NOT name the data file",
            _ => "was NOT found",
        },
        if same_bytes {
            "matched"
        } else {
            "did NOT match"
        },
        if same_length {
            String::new()
        } else {
            format!(
                "; the mapping's length is {} bytes, the file's {size}",
                map.len_bytes
                    .map_or("unknown".to_string(), |l| l.to_string())
            )
        }
    );
    claim(
        if same_bytes && same_length && named {
            Verdict::Holds
        } else {
            Verdict::Refuted
        },
        evidence,
    )
}

const S2_RULE: &str = "a fresh private anonymous mapping made with fd -1 (the anonymous case) must read as zero in every byte and have a blank pathname in /proc/self/maps (else refuted); among every anonymous mmap the traced programs made (loader, malloc, the anonymous case), holds when all passed fd -1 and holds-with-nuance when one passed another fd and still succeeded (Linux ignores fd under MAP_ANONYMOUS); not-measured when the anonymous case, its byte count or its /proc/self/maps line is missing";

fn s2_thresholds() -> Vec<(&'static str, Value)> {
    vec![
        ("nonzero_bytes_allowed", json!(S2_NONZERO_BYTES_ALLOWED)),
        ("named_file_in_maps_allowed", json!(0)),
        (
            "anonymous_mmaps_with_other_fd_allowed_for_holds",
            json!(S2_OTHER_FD_ALLOWED_FOR_HOLDS),
        ),
    ]
}

/// What the malloc cases show, for S2's evidence.
fn malloc_text(view: &View) -> String {
    let large = view.param_u64("malloc_large_bytes").ok();
    let small = view.param_u64("malloc_small_bytes").ok();
    let size = |s: Option<u64>| s.map_or("?".to_string(), format_size);
    let mut parts = Vec::new();
    let mmaps = match view.mmaps() {
        Ok(mmaps) => mmaps,
        Err(why) => {
            parts.push(format!("the malloc cases' mmaps are unknown ({why})"));
            &[]
        }
    };
    let anonymous_in = |case: &str, mark: Option<&str>| {
        mmaps
            .iter()
            .filter(|r| r.case == case && r.anonymous())
            .filter(|r| {
                mark.is_none_or(|m| r.after_mark.as_deref().is_some_and(|a| a.starts_with(m)))
            })
            .count()
    };
    let known = |name: &str| view.case(name).ok().filter(|_| view.mmaps().is_ok());
    if let Some(case) = known("malloc-256k") {
        let unmaps = case.after_mark("free", Some("munmap"));
        match mmaps
            .iter()
            .find(|r| r.case == "malloc-256k" && r.anonymous())
        {
            Some(r) => parts.push(format!(
                "malloc({}) made {} and {} munmap at free",
                size(large),
                r.text,
                unmaps.map_or("an uncounted".to_string(), |n| n.to_string())
            )),
            None => parts.push(format!("malloc({}) made no anonymous mmap", size(large))),
        }
    }
    if known("malloc-64k").is_some() {
        parts.push(format!(
            "malloc({}) made {} anonymous mmap",
            size(small),
            anonymous_in("malloc-64k", None)
        ));
    }
    match view.result.extra.get("malloc_threshold") {
        Some(t) if t.is_object() => parts.push(format!(
            "malloc called mmap from {} bytes up (a {}-byte chunk with glibc's 8-byte header; {} bytes still came from the heap)",
            t["first_mmap_size_bytes"], t["chunk_size_bytes"], t["last_heap_size_bytes"]
        )),
        Some(_) => parts.push("malloc never called mmap in the sweep".to_string()),
        None => {}
    }
    if let Some(twice) = known("malloc-256k-twice") {
        let first = anonymous_in("malloc-256k-twice", Some("begin"));
        let second = anonymous_in("malloc-256k-twice", Some("again"));
        let change = match (first, second) {
            (0, _) => {
                "the first malloc made no mmap either, so the pair says nothing about glibc's dynamic threshold"
            }
            (_, 0) => {
                "the first made one, so glibc raised its threshold when that mmapped block was freed"
            }
            _ => {
                "the first made one too, so glibc did not raise its threshold above this size when that block was freed"
            }
        };
        parts.push(format!(
            "a second malloc({}) after free made {second} anonymous mmap and {} brk ({change})",
            size(large),
            twice
                .after_mark("again", Some("brk"))
                .map_or("an uncounted number of".to_string(), |n| n.to_string()),
        ));
    }
    parts.join("; ")
}

/// S2: anonymous memory is backed by no file, fd = -1.
fn s2(view: &View) -> Claim {
    let claim = |verdict, evidence: String| {
        Claim::new("S2", verdict, evidence)
            .with_scenario("anonymous, malloc")
            .with_rule(S2_RULE, s2_thresholds())
    };
    let malloc = malloc_text(view);
    let inputs = (|| {
        let case = view.case("anonymous")?;
        let mmaps = view.mmaps()?;
        let bytes = case.end_value("bytes")?;
        let nonzero = case.end_value("nonzero_bytes")?;
        let line = case.end_value("maps_line")?;
        let named = case.end_value("maps_path")?;
        Ok::<_, String>((case, mmaps, bytes, nonzero, line, named))
    })();
    let (case, mmaps, bytes, nonzero, line, named) = match inputs {
        Ok(inputs) => inputs,
        Err(why) => {
            return claim(
                Verdict::NotMeasured,
                format!("the fresh anonymous mapping was not checked: {why}; {malloc}"),
            );
        }
    };
    let Some(map) = mmaps
        .iter()
        .find(|r| r.case == "anonymous" && r.anonymous() && r.errno.is_none())
    else {
        return claim(
            Verdict::NotMeasured,
            format!("the anonymous case traced no successful MAP_ANONYMOUS mmap; {malloc}"),
        );
    };
    if line == 0 {
        return claim(
            Verdict::NotMeasured,
            format!(
                "the anonymous mapping ({}) was not found in /proc/self/maps, so its pathname is unknown; {malloc}",
                map.text
            ),
        );
    }
    let anonymous: Vec<&MmapRow> = mmaps
        .iter()
        .filter(|r| r.anonymous() && r.errno.is_none())
        .collect();
    let other_fd: Vec<&MmapRow> = anonymous
        .iter()
        .copied()
        .filter(|r| r.fd != Some(-1))
        .collect();
    let pathname = case.end_text("pathname").unwrap_or_default();
    let fresh = format!(
        "{} made {} of {bytes} bytes non-zero and has {} in /proc/self/maps",
        map.text,
        nonzero,
        if named == 0 {
            "a blank pathname".to_string()
        } else {
            format!("the pathname {pathname:?}")
        }
    );
    let fds = format!(
        "{} anonymous mmaps succeeded in the traced cases, {}",
        anonymous.len(),
        if other_fd.is_empty() {
            "all with fd -1".to_string()
        } else {
            format!(
                "{} with another fd ({})",
                other_fd.len(),
                other_fd
                    .iter()
                    .map(|r| view.short(&r.text))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
    );
    if nonzero > S2_NONZERO_BYTES_ALLOWED || named > 0 {
        return claim(
            Verdict::Refuted,
            format!(
                "the fresh anonymous mapping {fresh}: it is not zero-filled memory backed by no file; {fds}; {malloc}"
            ),
        );
    }
    if other_fd.len() as u64 > S2_OTHER_FD_ALLOWED_FOR_HOLDS {
        return claim(
            Verdict::HoldsWithNuance,
            format!(
                "the fresh anonymous mapping {fresh}; {fds}: under MAP_ANONYMOUS Linux ignores fd, so fd = -1 is the portable convention, not what makes memory anonymous; {malloc}"
            ),
        );
    }
    claim(
        Verdict::Holds,
        format!("the fresh anonymous mapping {fresh}; {fds}; {malloc}"),
    )
}

const S5_RULE: &str = "read path: read() into a 4 KiB buffer must make at least one read call of the data file per buffer (file size / buffer, rounded up) and std::fs::read at least one; mmap path: memmap2 must make exactly 1 mmap and no read of the file, and a second pass over the mapping no traced system call and at most the stray fraction of the file's pages in faults; any of these failing is refuted; otherwise holds-with-nuance when the first pass took faults (kernel entries that are not system calls: no Linux run avoids them, since a fresh mapping has no page-table entries until touched, and MAP_POPULATE only moves them into mmap), holds with 0 first-pass faults; not-measured when a case, its counts on the data file or its fault counts are missing";

fn s5_thresholds(buffer: Option<u64>, stray: Option<u64>) -> Vec<(&'static str, Value)> {
    vec![
        ("read_buffer_bytes", json_or_null(buffer)),
        ("read_calls_min_per_buffer", json!(1)),
        ("fs_read_calls_min", json!(1)),
        ("mmap_calls_of_file_expected", json!(S5_MMAP_CALLS_EXPECTED)),
        (
            "reads_of_file_through_mmap_allowed",
            json!(S5_READS_THROUGH_MMAP_ALLOWED),
        ),
        (
            "second_pass_calls_allowed",
            json!(S5_SECOND_PASS_CALLS_ALLOWED),
        ),
        (
            "second_pass_stray_fault_fraction",
            json!(S5_SECOND_PASS_STRAY_FAULT_FRACTION),
        ),
        ("second_pass_faults_allowed", json_or_null(stray)),
        (
            "first_pass_faults_for_holds",
            json!(S5_FIRST_PASS_FAULTS_FOR_HOLDS),
        ),
    ]
}

/// S5: read() is a system call per buffer; mmap one call, then memory.
fn s5(view: &View) -> Claim {
    let buffer = view.param_u64("read_buffer_bytes").ok();
    let pages = view
        .param_u64("file_size_bytes")
        .and_then(|size| Ok(size.div_ceil(view.param_u64("page_size_bytes")?)));
    let stray = pages
        .as_ref()
        .ok()
        .map(|p| (*p as f64 * S5_SECOND_PASS_STRAY_FAULT_FRACTION).floor() as u64);
    let claim = |verdict, evidence: String| {
        Claim::new("S5", verdict, evidence)
            .with_scenario("fs-read, read-4k, mmap")
            .with_rule(S5_RULE, s5_thresholds(buffer, stray))
    };
    let inputs = (|| {
        let size = view.param_u64("file_size_bytes")?;
        let buffer = view.param_u64("read_buffer_bytes")?;
        let pages = pages.clone()?;
        let fs_read = view.case("fs-read")?;
        let read_4k = view.case("read-4k")?;
        let mmap = view.case("mmap")?;
        Ok::<_, String>(S5Numbers {
            size,
            buffer,
            blocks: size.div_ceil(buffer.max(1)),
            pages,
            reads_4k: read_4k.on_data_file("read")?,
            reads_fs: fs_read.on_data_file("read")?,
            fs_bytes: fs_read.end_value("bytes")?,
            fs_faults: fs_read.end_value("minor_faults").ok(),
            maps: mmap.on_data_file("mmap")?,
            reads_mmap: mmap.on_data_file("read")? + mmap.on_data_file("pread64")?,
            first_faults: mmap.end_value("first_pass_faults")?,
            second_faults: mmap.end_value("second_pass_faults")?,
            second_calls: mmap.after_mark("second pass", None).and_then(|n| {
                // The window must have closed: "second pass done" marks it.
                let done = mmap.after_mark("second pass done", None)?;
                Ok(n - done)
            })?,
            buffer_maps: view
                .mmaps()?
                .iter()
                .filter(|r| r.case == "fs-read" && r.anonymous())
                .count() as u64,
        })
    })();
    let n = match inputs {
        Ok(n) => n,
        Err(why) => {
            return claim(
                Verdict::NotMeasured,
                format!("the system calls and faults of the three paths cannot be compared: {why}"),
            );
        }
    };
    let stray = stray.unwrap_or(0);
    let evidence = format!(
        "for the {} file, read() in {} blocks made {} read calls of it ({} blocks), std::fs::read made {} into one buffer of the file's size ({} anonymous mmap from malloc, {} minor faults in the case), memmap2 made {} mmap and {} read calls of it and then took {} page fault(s) in its first pass over {} pages (kernel entries that are not system calls{}), and {} fault(s) and {} traced system calls (memory and file I/O) in a second pass",
        format_size(n.size),
        format_size(n.buffer),
        n.reads_4k,
        n.blocks,
        n.reads_fs,
        n.buffer_maps,
        n.fs_faults
            .map_or("an uncounted number of".to_string(), |f| f.to_string()),
        n.maps,
        n.reads_mmap,
        n.first_faults,
        n.pages,
        folio_context(view),
        n.second_faults,
        n.second_calls,
    );
    let mut wrong = Vec::new();
    if n.reads_4k < n.blocks {
        wrong.push(format!(
            "read() delivered {} blocks in {} calls",
            n.blocks, n.reads_4k
        ));
    }
    if n.reads_fs == 0 && n.fs_bytes > 0 {
        wrong.push(format!(
            "std::fs::read returned {} bytes without a read call",
            n.fs_bytes
        ));
    }
    if n.maps != S5_MMAP_CALLS_EXPECTED {
        wrong.push(format!(
            "the mmap path made {} mmap calls of the file",
            n.maps
        ));
    }
    if n.reads_mmap > S5_READS_THROUGH_MMAP_ALLOWED {
        wrong.push(format!(
            "the mmap path read the file {} time(s)",
            n.reads_mmap
        ));
    }
    if n.second_calls > S5_SECOND_PASS_CALLS_ALLOWED {
        wrong.push(format!(
            "the second pass made {} system calls",
            n.second_calls
        ));
    }
    if n.second_faults > stray {
        wrong.push(format!(
            "the second pass took {} faults, more than the {stray} strays allowed",
            n.second_faults
        ));
    }
    if !wrong.is_empty() {
        return claim(
            Verdict::Refuted,
            format!("{evidence}: {}", wrong.join("; ")),
        );
    }
    let strays = if n.second_faults > 0 {
        format!(
            " ({} stray fault(s) in the second pass, within the {stray} allowed)",
            n.second_faults
        )
    } else {
        String::new()
    };
    if n.first_faults > S5_FIRST_PASS_FAULTS_FOR_HOLDS {
        claim(
            Verdict::HoldsWithNuance,
            format!(
                "{evidence}{strays}: each read() is a system call, and mapping is one, but the first touch of the mapping enters the kernel by page faults; no Linux run avoids them, since a fresh mapping has no page-table entries until touched (MAP_POPULATE only moves these faults into mmap); only later passes are plain memory access"
            ),
        )
    } else {
        claim(
            Verdict::Holds,
            format!("{evidence}{strays}: one system call, then plain memory access"),
        )
    }
}

/// What memmap2's first-pass fault count depends on, from the
/// `data_file_folios` table (absent in older files: then nothing): the
/// folios that held the file and the fault-around window. Context for the
/// reader, never part of the rule.
fn folio_context(view: &View) -> String {
    let Ok(folios) = table::<crate::folios::DataFileFolios>(view.result, "data_file_folios") else {
        return String::new();
    };
    let fault_around = format!(
        "fault_around_bytes = {} ({})",
        folios.fault_around_bytes, folios.fault_around_source
    );
    match folios.describe_histogram() {
        Some(histogram) => {
            format!("; the page cache held the file in folios: {histogram}; {fault_around}")
        }
        None => format!(
            "; folio sizes not measured: {}; {fault_around}",
            folios.unreadable.as_deref().unwrap_or("no histogram")
        ),
    }
}

struct S5Numbers {
    size: u64,
    buffer: u64,
    blocks: u64,
    pages: u64,
    reads_4k: u64,
    reads_fs: u64,
    fs_bytes: u64,
    fs_faults: Option<u64>,
    maps: u64,
    reads_mmap: u64,
    first_faults: u64,
    second_faults: u64,
    second_calls: u64,
    buffer_maps: u64,
}

const S11_RULE: &str = "every successful file-backed mmap traced (the loader's and memmap2's) is checked for the MAP_FILE bits (value in params.map_file_value) and memmap2's, made without them, for the file's bytes: refuted when a mapping without MAP_FILE did not deliver the file's bytes; with MAP_FILE = 0, as on Linux, no program can pass the flag, so file-backed mappings without it show only that it is accepted as nothing (holds-with-nuance, the best a Linux run can give); holds needs a MAP_FILE with bits of its own; not-measured when no file mapping, no MAP_FILE value or no byte check is in the file, or when every mapping gave the bits";

fn s11_thresholds(map_file: Option<u64>) -> Vec<(&'static str, Value)> {
    vec![
        ("map_file_value", json_or_null(map_file)),
        (
            "checksum_mismatches_allowed",
            json!(CHECKSUM_MISMATCHES_ALLOWED),
        ),
    ]
}

/// S11: MAP_FILE is the default and need not be given.
fn s11(view: &View) -> Claim {
    let map_file = view.param_u64("map_file_value");
    let claim = |verdict, evidence: String| {
        Claim::new("S11", verdict, evidence)
            .with_scenario("program-start, mmap")
            .with_rule(S11_RULE, s11_thresholds(map_file.clone().ok()))
    };
    let inputs = (|| {
        let map_file = map_file.clone()?;
        let mmaps = view.mmaps()?;
        let data_maps = data_file_maps(view)?;
        let mapped = view.case("mmap")?.end_value("checksum")?;
        let checksum = view.param_u64("data_file_checksum")?;
        Ok::<_, String>((map_file, mmaps, data_maps, mapped, checksum))
    })();
    let (map_file, mmaps, data_maps, mapped, checksum) = match inputs {
        Ok(inputs) => inputs,
        Err(why) => {
            return claim(
                Verdict::NotMeasured,
                format!("file mappings without MAP_FILE cannot be checked: {why}"),
            );
        }
    };
    let file_maps: Vec<&MmapRow> = mmaps.iter().filter(|r| r.file_backed()).collect();
    let with_bit = |r: &MmapRow| map_file != 0 && r.flags_raw.is_some_and(|f| f & map_file != 0);
    let without: Vec<&MmapRow> = file_maps.iter().copied().filter(|r| !with_bit(r)).collect();
    let mut flag_sets: Vec<&str> = file_maps
        .iter()
        .filter_map(|r| r.flags.as_deref())
        .collect();
    flag_sets.sort_unstable();
    flag_sets.dedup();
    let memmap2 = data_maps
        .iter()
        .find(|r| r.errno.is_none())
        .filter(|r| !with_bit(r));
    let numbers = format!(
        "{} file-backed mmaps (the loader's and memmap2's) succeeded, {} of them without a MAP_FILE bit (MAP_FILE is {map_file:#x} in this build); flags seen: {}",
        file_maps.len(),
        without.len(),
        flag_sets.join(", ")
    );
    if without.is_empty() {
        return claim(
            Verdict::NotMeasured,
            format!("{numbers}: no file mapping was made without MAP_FILE"),
        );
    }
    let Some(memmap2) = memmap2 else {
        return claim(
            Verdict::NotMeasured,
            format!(
                "{numbers}: memmap2 made no mapping of the data file without MAP_FILE whose bytes could be checked"
            ),
        );
    };
    if !within(u64::from(mapped != checksum), CHECKSUM_MISMATCHES_ALLOWED) {
        return claim(
            Verdict::Refuted,
            format!(
                "{numbers}; memmap2's {} did NOT deliver the file's bytes (checksum {mapped} against {checksum}): without MAP_FILE the mapping was not of the file",
                view.short(&memmap2.text)
            ),
        );
    }
    if map_file == 0 {
        claim(
            Verdict::HoldsWithNuance,
            format!(
                "{numbers}; memmap2's mapping delivered the file's bytes: a mapping is file-backed whenever MAP_ANONYMOUS is absent, but with MAP_FILE = 0 no program can pass the flag, so no Linux run can show more than that it need not be"
            ),
        )
    } else {
        claim(
            Verdict::Holds,
            format!(
                "{numbers}; memmap2's mapping without it delivered the file's bytes: MAP_FILE need not be given"
            ),
        )
    }
}
