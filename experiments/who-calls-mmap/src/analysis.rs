//! From traces to findings: the calls of each case (between the workload's
//! marks), counted by name, and the verdicts on S1, S2, S5 and S11 computed
//! from them.

use std::collections::BTreeMap;

use anyhow::bail;
use mmlab_core::{Claim, DataFile, Verdict, format_size};
use mmlab_trace::{Ending, SyscallRecord, Trace};
use serde_json::{Value, json};

use crate::Threshold;
use crate::workload::MARK_PREFIX;

/// How many calls of a case the result file lists in full (the first ones
/// and the last ones); the counts always cover every call.
const LISTED_FIRST: usize = 60;
const LISTED_LAST: usize = 20;

/// The text of a mark (`begin malloc 65536`) if this record is one.
pub fn mark_text(record: &SyscallRecord) -> Option<&str> {
    if record.syscall != "write" || record.raw("fd").map(|fd| fd as i32) != Some(-1) {
        return None;
    }
    record.arg_str("buf")?.strip_prefix(MARK_PREFIX)
}

/// An mmap with MAP_ANONYMOUS.
pub fn is_anonymous_mmap(record: &SyscallRecord) -> bool {
    record.syscall == "mmap"
        && record
            .raw("flags")
            .is_some_and(|f| f & libc::MAP_ANONYMOUS as u64 != 0)
}

/// A successful mmap of a file (no MAP_ANONYMOUS, an fd with a path).
pub fn is_file_mmap(record: &SyscallRecord) -> bool {
    record.syscall == "mmap"
        && !is_anonymous_mmap(record)
        && !record.failed()
        && record.arg_str("fd_path").is_some()
}

/// The traced calls of one case.
#[derive(Debug, Clone)]
pub struct CaseCalls {
    pub case: String,
    pub workload: String,
    pub ending: Ending,
    /// The calls of the case, marks left out, each with the mark it came
    /// after (`None` for a whole trace).
    pub calls: Vec<SyscallRecord>,
    pub after_mark: Vec<Option<String>>,
    /// The marks' texts in order (`begin ...`, `free ...`, `end ...`).
    pub marks: Vec<String>,
    pub n_pids: usize,
}

impl CaseCalls {
    /// Every recorded call of the trace.
    pub fn whole(case: &str, workload: &str, trace: &Trace) -> CaseCalls {
        let calls: Vec<SyscallRecord> = trace
            .records
            .iter()
            .filter(|r| mark_text(r).is_none())
            .cloned()
            .collect();
        CaseCalls {
            case: case.to_string(),
            workload: workload.to_string(),
            ending: trace.ending.clone(),
            after_mark: vec![None; calls.len()],
            calls,
            marks: Vec::new(),
            n_pids: trace.pids.len(),
        }
    }

    /// The calls the marking thread made from its `begin` mark to its
    /// `end` mark; other threads (the start-up's helpers) are left out.
    pub fn between_marks(case: &str, workload: &str, trace: &Trace) -> anyhow::Result<CaseCalls> {
        let Some(begin) = trace
            .records
            .iter()
            .position(|r| mark_text(r).is_some_and(|t| t.starts_with("begin")))
        else {
            bail!(
                "workload {workload:?} left no begin mark in its trace ({})",
                trace.ending.describe()
            );
        };
        let pid = trace.records[begin].pid;
        let mut marks = vec![
            mark_text(&trace.records[begin])
                .unwrap_or_default()
                .to_string(),
        ];
        let mut calls = Vec::new();
        let mut after_mark = Vec::new();
        let mut ended = false;
        for record in trace.records[begin + 1..].iter().filter(|r| r.pid == pid) {
            if let Some(text) = mark_text(record) {
                marks.push(text.to_string());
                if text.starts_with("end") {
                    ended = true;
                    break;
                }
                continue;
            }
            calls.push(record.clone());
            after_mark.push(marks.last().cloned());
        }
        if !ended {
            bail!(
                "workload {workload:?} left no end mark in its trace ({})",
                trace.ending.describe()
            );
        }
        Ok(CaseCalls {
            case: case.to_string(),
            workload: workload.to_string(),
            ending: trace.ending.clone(),
            calls,
            after_mark,
            marks,
            n_pids: trace.pids.len(),
        })
    }

    /// Calls per system call name.
    pub fn counts_by_name(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for record in &self.calls {
            *counts.entry(record.syscall.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// The calls made after the mark starting with `prefix`, up to the next mark.
    pub fn after(&self, prefix: &str) -> Vec<&SyscallRecord> {
        self.calls
            .iter()
            .zip(&self.after_mark)
            .filter(|(_, mark)| mark.as_deref().is_some_and(|m| m.starts_with(prefix)))
            .map(|(r, _)| r)
            .collect()
    }

    /// A number from the end mark (`bytes=`, `checksum=`, `minor_faults=`).
    pub fn end_value(&self, key: &str) -> Option<u64> {
        let end = self.marks.iter().find(|m| m.starts_with("end"))?;
        end.split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
    }

    /// `end_value`, or why there is none (to put in evidence).
    pub fn end_value_or_why(&self, key: &str) -> Result<u64, String> {
        let Some(end) = self.marks.iter().find(|m| m.starts_with("end")) else {
            return Err(format!("the {} case left no end mark", self.case));
        };
        self.end_value(key).ok_or_else(|| {
            format!(
                "the {} case's end mark {end:?} carries no {key}= number",
                self.case
            )
        })
    }

    pub fn to_json(&self) -> Value {
        let n = self.calls.len();
        let listed: Vec<Value> = self
            .calls
            .iter()
            .zip(&self.after_mark)
            .enumerate()
            .filter(|(i, _)| *i < LISTED_FIRST || *i + LISTED_LAST >= n)
            .map(|(_, (r, mark))| {
                json!({
                    "pid": r.pid,
                    "after_mark": mark,
                    "syscall": r.syscall,
                    "text": r.text,
                    "args": r.args,
                    "return_value": r.return_value,
                    "errno": r.errno,
                    "duration_ns": r.duration_ns,
                })
            })
            .collect();
        json!({
            "case": self.case,
            "workload": self.workload,
            "ending": self.ending,
            "n_processes_and_threads": self.n_pids,
            "marks": self.marks,
            "n_calls": n,
            "counts": self.counts_by_name(),
            "n_calls_not_listed": n.saturating_sub(listed.len()),
            "calls": listed,
        })
    }
}

/// Counts over a list of calls.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub by_name: BTreeMap<String, u64>,
    pub mmap_anonymous: u64,
    pub mmap_file: u64,
}

impl Counts {
    pub fn of<'a>(calls: impl IntoIterator<Item = &'a SyscallRecord>) -> Counts {
        let mut counts = Counts::default();
        for record in calls {
            *counts.by_name.entry(record.syscall.clone()).or_insert(0) += 1;
            if is_anonymous_mmap(record) {
                counts.mmap_anonymous += 1;
            } else if is_file_mmap(record) {
                counts.mmap_file += 1;
            }
        }
        counts
    }

    pub fn get(&self, name: &str) -> u64 {
        self.by_name.get(name).copied().unwrap_or(0)
    }
}

/// `libc.so.6`, `libgcc_s.so.1`, `foo.so`: not `ld.so.cache`.
fn is_shared_library(name: &str) -> bool {
    name.ends_with(".so") || (name.contains(".so.") && !name.ends_with(".cache"))
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn on_file<'a>(calls: &'a [SyscallRecord], name: &str, file: &DataFile) -> Vec<&'a SyscallRecord> {
    let path = file.path.display().to_string();
    calls
        .iter()
        .filter(|r| r.syscall == name && r.arg_str("fd_path") == Some(path.as_str()))
        .collect()
}

/// S1: the loader maps shared libraries, memmap2 maps the data file, and
/// the bytes read through the mapping are the file's.
pub fn claim_s1(start: &CaseCalls, mmap_case: &CaseCalls, file: &DataFile) -> Claim {
    let mut libraries: Vec<&str> = Vec::new();
    let mut n_library_maps = 0;
    let mut n_exec_maps = 0;
    for record in start.calls.iter().filter(|r| is_file_mmap(r)) {
        let path = record.arg_str("fd_path").unwrap_or_default();
        if is_shared_library(base_name(path)) {
            n_library_maps += 1;
            if record
                .raw("prot")
                .is_some_and(|p| p & libc::PROT_EXEC as u64 != 0)
            {
                n_exec_maps += 1;
            }
            let name = base_name(path);
            if !libraries.contains(&name) {
                libraries.push(name);
            }
        }
    }
    let maps = on_file(&mmap_case.calls, "mmap", file);
    let checksum = mmap_case.end_value("checksum");
    let loader = if libraries.is_empty() {
        "the loader mapped no shared library (a statically linked binary)".to_string()
    } else {
        format!(
            "the loader mapped {} shared libraries ({}) with {n_library_maps} file mmaps, {n_exec_maps} of them code with PROT_EXEC",
            libraries.len(),
            libraries.join(", ")
        )
    };
    let Some(map) = maps.first() else {
        return Claim::new(
            "S1",
            Verdict::Refuted,
            format!(
                "memmap2 made no mmap of the data file {}; {loader}",
                file.path.display()
            ),
        )
        .with_scenario("mmap");
    };
    let same_bytes = checksum == Some(file.checksum);
    let verdict = if same_bytes && map.raw("len_bytes") == Some(file.size_bytes) {
        Verdict::Holds
    } else {
        Verdict::Refuted
    };
    Claim::new(
        "S1",
        verdict,
        format!(
            "memmap2 mapped the {} data file with {}, and the bytes read through the mapping {} the file's checksum; {loader}",
            format_size(file.size_bytes),
            // The data folder's path is long and changes every run.
            file.path
                .parent()
                .map_or(map.text.clone(), |dir| map.text.replace(&format!("{}/", dir.display()), "")),
            if same_bytes { "matched" } else { "did NOT match" }
        ),
    )
    .with_scenario("mmap, program-start")
}

/// S2: anonymous mappings have fd -1; malloc makes one above its threshold.
pub fn claim_s2(
    small: &CaseCalls,
    large: &CaseCalls,
    twice: &CaseCalls,
    cases: &[CaseCalls],
    threshold: Option<Threshold>,
) -> Claim {
    let anonymous: Vec<&SyscallRecord> = cases
        .iter()
        .flat_map(|c| c.calls.iter())
        .filter(|r| is_anonymous_mmap(r))
        .collect();
    let with_fd = anonymous
        .iter()
        .filter(|r| r.raw("fd").map(|fd| fd as i32) != Some(-1))
        .count();
    let large_maps: Vec<&SyscallRecord> = large
        .calls
        .iter()
        .filter(|r| is_anonymous_mmap(r))
        .collect();
    let large_unmaps = large
        .after("free")
        .iter()
        .filter(|r| r.syscall == "munmap")
        .count();
    let small_maps = Counts::of(&small.calls).mmap_anonymous;
    let first_maps = Counts::of(twice.after("begin")).mmap_anonymous;
    let second = Counts::of(twice.after("again"));
    // What the pair shows about glibc's dynamic threshold, from this trace.
    let threshold_change = match (first_maps, second.mmap_anonymous) {
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
    let threshold_text = match threshold {
        Some(t) => format!(
            "malloc called mmap from {} bytes up (a {}-byte chunk with glibc's 8-byte header; {} bytes still came from the heap)",
            t.first_mmap,
            crate::chunk_size(t.first_mmap),
            t.last_heap
        ),
        None => "malloc never called mmap in the sweep".to_string(),
    };
    let large_text = match large_maps.first() {
        Some(r) => format!(
            "malloc({}) made {} and {large_unmaps} munmap at free",
            format_size(crate::MALLOC_LARGE),
            r.text
        ),
        None => format!(
            "malloc({}) made no anonymous mmap",
            format_size(crate::MALLOC_LARGE)
        ),
    };
    let verdict = if anonymous.is_empty() {
        Verdict::NotMeasured
    } else if with_fd == 0 {
        Verdict::Holds
    } else {
        Verdict::HoldsWithNuance
    };
    Claim::new(
        "S2",
        verdict,
        format!(
            "{} anonymous mmaps in the traced cases, {} with fd -1; {large_text}; malloc({}) made {small_maps} anonymous mmap; {threshold_text}; \
             a second malloc({}) after free made {} anonymous mmap and {} brk ({threshold_change})",
            anonymous.len(),
            if with_fd == 0 { "all".to_string() } else { format!("{} not", with_fd) },
            format_size(crate::MALLOC_SMALL),
            format_size(crate::MALLOC_LARGE),
            second.mmap_anonymous,
            second.get("brk"),
        ),
    )
    .with_scenario("malloc")
}

/// S5: read() costs a call per buffer; mmap one call, then memory accesses
/// (and page faults, which are kernel entries too).
pub fn claim_s5(
    fs_read: &CaseCalls,
    read_4k: &CaseCalls,
    mmap_case: &CaseCalls,
    file: &DataFile,
) -> Claim {
    let reads_4k = on_file(&read_4k.calls, "read", file).len() as u64;
    let reads_fs = on_file(&fs_read.calls, "read", file).len() as u64;
    let maps = on_file(&mmap_case.calls, "mmap", file).len() as u64;
    let reads_mmap = on_file(&mmap_case.calls, "read", file).len() as u64;
    let faults = mmap_case.end_value_or_why("minor_faults");
    let faults_text = |f: &Result<u64, String>| match f {
        Ok(f) => f.to_string(),
        Err(_) => "an uncounted number of".to_string(),
    };
    let buffer_maps = Counts::of(&fs_read.calls).mmap_anonymous;
    let blocks = file.size_bytes.div_ceil(4096);
    // An uncounted fault number supports no verdict: the claim's second
    // half (page faults are kernel entries too) is then not checked.
    let verdict = if maps != 1 || reads_mmap > 0 || reads_4k < blocks {
        Verdict::Refuted
    } else if reads_fs <= 2 || faults.as_ref().map_or(true, |&f| f > 0) {
        Verdict::HoldsWithNuance
    } else {
        Verdict::Holds
    };
    let not_counted = match &faults {
        Ok(_) => String::new(),
        Err(why) => format!("; faults not counted: {why}"),
    };
    Claim::new(
        "S5",
        verdict,
        format!(
            "for the {} file, read() in 4 KiB blocks made {reads_4k} read calls, std::fs::read made {reads_fs} \
             into one buffer of the file's size ({buffer_maps} anonymous mmap from malloc, {} minor faults while \
             read() filled it), memmap2 made {maps} mmap and {reads_mmap} read calls and then took {} minor page \
             faults while summing (kernel entries that are not system calls); {}, {} and {} system calls in all{not_counted}",
            format_size(file.size_bytes),
            faults_text(&fs_read.end_value_or_why("minor_faults")),
            faults_text(&faults),
            read_4k.calls.len(),
            fs_read.calls.len(),
            mmap_case.calls.len(),
        ),
    )
    .with_scenario("fs-read, read-4k, mmap")
}

/// S11: MAP_FILE need not be given: every file mapping traced did without.
pub fn claim_s11(cases: &[CaseCalls]) -> Claim {
    let file_maps: Vec<&SyscallRecord> = cases
        .iter()
        .flat_map(|c| c.calls.iter())
        .filter(|r| is_file_mmap(r))
        .collect();
    let map_file = libc::MAP_FILE as u64;
    let with_bit = if map_file == 0 {
        0
    } else {
        file_maps
            .iter()
            .filter(|r| r.raw("flags").is_some_and(|f| f & map_file != 0))
            .count()
    };
    let mut flag_sets: Vec<&str> = file_maps
        .iter()
        .filter_map(|r| r.arg_str("flags"))
        .collect();
    flag_sets.sort_unstable();
    flag_sets.dedup();
    let verdict = if file_maps.is_empty() {
        Verdict::NotMeasured
    } else if with_bit == 0 {
        Verdict::Holds
    } else {
        Verdict::HoldsWithNuance
    };
    Claim::new(
        "S11",
        verdict,
        format!(
            "{} file-backed mmaps (the loader's and memmap2's) succeeded, {} of them with a MAP_FILE bit: MAP_FILE is {:#x} \
             in this libc, so a mapping is file-backed whenever MAP_ANONYMOUS is absent; flags seen: {}",
            file_maps.len(),
            with_bit,
            map_file,
            flag_sets.join(", ")
        ),
    )
    .with_scenario("program-start, mmap")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_shared_libraries_and_reads_end_marks() {
        for (name, expected) in [
            ("libc.so.6", true),
            ("libgcc_s.so.1", true),
            ("plugin.so", true),
            ("ld.so.cache", false),
            ("data.bin", false),
        ] {
            assert_eq!(is_shared_library(name), expected, "{name}");
        }
        let case = CaseCalls {
            case: "mmap".into(),
            workload: "mmap:x".into(),
            ending: Ending::Exited { code: 0 },
            calls: Vec::new(),
            after_mark: Vec::new(),
            marks: vec![
                "begin mmap".into(),
                "end bytes=4096 checksum=17 minor_faults=2".into(),
            ],
            n_pids: 1,
        };
        assert_eq!(case.end_value("bytes"), Some(4096));
        assert_eq!(case.end_value("checksum"), Some(17));
        assert_eq!(case.end_value("minor_faults"), Some(2));
        assert_eq!(case.end_value("faults"), None);
        assert_eq!(case.end_value_or_why("minor_faults"), Ok(2));
        let why = case.end_value_or_why("faults").unwrap_err();
        assert!(why.contains("no faults= number"), "{why}");
        let unended = CaseCalls {
            marks: vec!["begin mmap".into()],
            ..case
        };
        let why = unended.end_value_or_why("minor_faults").unwrap_err();
        assert!(why.contains("no end mark"), "{why}");
        assert_eq!(crate::chunk_size(131_049), 131_072);
        assert_eq!(crate::chunk_size(131_048), 131_056);
        assert_eq!(crate::chunk_size(1), 32);
    }
}
