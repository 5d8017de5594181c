//! From traces to tables: the calls of each case (between the workload's
//! marks), counted by name, by mark and on the data file, and every mmap as
//! a row. Nothing here gives a verdict: that is [`crate::judge`], from the
//! result file alone.

use std::collections::BTreeMap;

use anyhow::bail;
use mmlab_trace::{Ending, SyscallRecord, Trace};
use serde_json::{Value, json};

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

    /// Calls per mark they came after (its full text), then per name:
    /// complete counts, whatever the listing leaves out.
    pub fn counts_after_mark(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for (record, mark) in self.calls.iter().zip(&self.after_mark) {
            let mark = mark.as_deref().unwrap_or("(no mark)");
            *counts
                .entry(mark.to_string())
                .or_default()
                .entry(record.syscall.clone())
                .or_insert(0) += 1;
        }
        counts
    }

    /// Calls per name whose fd (or dirfd) refers to `path`.
    pub fn counts_on_file(&self, path: &str) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for record in &self.calls {
            let on_file = record.arg_str("fd_path") == Some(path)
                || record.arg_str("dirfd_path") == Some(path)
                || record.return_path.as_deref() == Some(path);
            if on_file {
                *counts.entry(record.syscall.clone()).or_insert(0) += 1;
            }
        }
        counts
    }

    /// The case as a row of the `cases` table; `data_file` adds the counts
    /// of calls on that file (`counts_on_data_file`).
    pub fn to_json(&self, data_file: Option<&str>) -> Value {
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
            "counts_after_mark": self.counts_after_mark(),
            "counts_on_data_file": data_file.map(|path| json!(self.counts_on_file(path))),
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

/// Every mmap of a case as a row of the `mmap_calls` table: the decoded
/// arguments, the raw flag and prot words (the judge tests bits against the
/// values recorded in `params`), the fd as a signed number, and the result.
pub fn mmap_rows(case: &CaseCalls) -> Vec<Value> {
    case.calls
        .iter()
        .zip(&case.after_mark)
        .filter(|(r, _)| r.syscall == "mmap")
        .map(|(r, mark)| {
            json!({
                "case": case.case,
                "after_mark": mark,
                "text": r.text,
                "len_bytes": r.raw("len_bytes"),
                "prot": r.arg_str("prot"),
                "prot_raw": r.raw("prot"),
                "flags": r.arg_str("flags"),
                "flags_raw": r.raw("flags"),
                "fd": r.raw("fd").map(|fd| fd as i32),
                "fd_path": r.arg_str("fd_path"),
                "offset_bytes": r.raw("offset_bytes"),
                "return_value": r.return_value,
                "errno": r.errno,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_end_marks() {
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
