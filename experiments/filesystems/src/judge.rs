//! The judge step of `filesystems`: S3 from the result file alone (its
//! `params`, the `filesystems` table and the `cache_moves` table).
//!
//! Per block filesystem measured (ext4, xfs, btrfs: tmpfs has no storage
//! and is described, not judged), the medians over repetitions decide:
//! - file data went to the page cache: a cold read() grew the data file's
//!   own cached pages to at least `data_file_pages_fraction_min` of its
//!   pages, and grew the block device's cached pages by at most
//!   `data_device_pages_fraction_max` of them (the data is not in the
//!   buffer cache);
//! - metadata went to the buffer cache: a cold walk of the tree (readdir
//!   and stat only) grew the block device's cached pages by at least
//!   `metadata_device_pages_per_file_min` per file walked.
//!
//! The verdict: `refuted` when on some filesystem file data did not go to
//! the file's pages (or went to the device's), or when on none metadata
//! reached the device's pages; `holds` when on every filesystem measured
//! data went to the file's pages and metadata to the device's;
//! `holds-with-nuance` when some filesystems keep metadata elsewhere (the
//! evidence says where meminfo saw it grow); `not-measured` when no block
//! filesystem could be made or a table is missing.

use mmlab_core::{Claim, ResultFile, Verdict};
use serde_json::{Value, json};

use crate::{ACTION_READ, ACTION_WALK};

pub const DATA_FILE_PAGES_FRACTION_MIN: f64 = 0.9;
pub const DATA_DEVICE_PAGES_FRACTION_MAX: f64 = 0.1;
pub const METADATA_DEVICE_PAGES_PER_FILE_MIN: f64 = 0.01;

pub const S3_RULE: &str = "per block filesystem (ext4, xfs, btrfs; tmpfs has no storage and is only described), medians over repetitions from a cold mount: file data went to the page cache when a read() of the data file grew the file's own cached pages (mincore on the file) to at least data_file_pages_fraction_min of its pages and the block device's cached pages (mincore on the loop device) by at most data_device_pages_fraction_max of them; metadata went to the buffer cache when a walk of the tree (readdir + stat, no data) grew the device's cached pages by at least metadata_device_pages_per_file_min per file. Refuted when on some filesystem file data did not go to the file's pages, or on none metadata reached the device's pages; holds when on every one both did; holds-with-nuance when some keep metadata elsewhere (named, with meminfo's deltas); not-measured when no block filesystem was made or the tables are missing";

fn thresholds() -> Vec<(&'static str, Value)> {
    vec![
        (
            "data_file_pages_fraction_min",
            json!(DATA_FILE_PAGES_FRACTION_MIN),
        ),
        (
            "data_device_pages_fraction_max",
            json!(DATA_DEVICE_PAGES_FRACTION_MAX),
        ),
        (
            "metadata_device_pages_per_file_min",
            json!(METADATA_DEVICE_PAGES_PER_FILE_MIN),
        ),
    ]
}

fn claim(verdict: Verdict, evidence: String) -> Claim {
    Claim::new("S3", verdict, evidence).with_rule(S3_RULE, thresholds())
}

pub fn judge(result: &ResultFile) -> Vec<Claim> {
    vec![s3(result)]
}

/// What one block filesystem showed.
struct Finding {
    name: String,
    data_in_file_pages: bool,
    data_in_device: bool,
    metadata_in_device: bool,
    text: String,
}

fn median_of(moves: &[Value], fs: &str, action: &str, field: &str) -> Option<f64> {
    let values: Vec<f64> = moves
        .iter()
        .filter(|m| m["filesystem"] == fs && m["action"] == action)
        .filter_map(|m| m[field].as_f64())
        .collect();
    mmlab_core::stats::median(&values)
}

fn s3(result: &ResultFile) -> Claim {
    let table = |key: &str| result.extra.get(key).and_then(Value::as_array);
    let (Some(filesystems), Some(moves)) = (table("filesystems"), table("cache_moves")) else {
        return claim(
            Verdict::NotMeasured,
            "the result file has no filesystems or cache_moves table".into(),
        );
    };
    let param = |name: &str| result.params.get(name).and_then(Value::as_f64);
    let (Some(file_pages), Some(n_files)) = (param("data_file_pages"), param("n_files")) else {
        return claim(
            Verdict::NotMeasured,
            "the result file has no data_file_pages or n_files parameter".into(),
        );
    };
    let page_kib = param("page_size_bytes").unwrap_or(4096.0) / 1024.0;
    let mut findings = Vec::new();
    let mut not_made = Vec::new();
    let mut tmpfs = None;
    for fs in filesystems {
        let name = fs["filesystem"].as_str().unwrap_or("?").to_string();
        if fs["made"] != json!(true) {
            not_made.push(format!(
                "{name} not made ({})",
                fs["reason"].as_str().unwrap_or("no reason recorded")
            ));
            continue;
        }
        let m = |action, field| median_of(moves, &name, action, field);
        if name == "tmpfs" {
            tmpfs = Some(format!(
                "tmpfs has no storage: its file's pages are the only copy (Shmem), so a read loaded nothing ({} pages grew) and its metadata is dentries and inodes in memory (SReclaimable grew {} KiB during the walk)",
                fmt(m(ACTION_READ, "file_pages_delta")),
                fmt(m(ACTION_WALK, "sreclaimable_kib_delta")),
            ));
            continue;
        }
        let (Some(read_file), Some(read_device), Some(walk_device)) = (
            m(ACTION_READ, "file_pages_delta"),
            m(ACTION_READ, "device_pages_delta"),
            m(ACTION_WALK, "device_pages_delta"),
        ) else {
            not_made.push(format!("{name} has no complete cache_moves rows"));
            continue;
        };
        let finding = Finding {
            data_in_file_pages: read_file >= DATA_FILE_PAGES_FRACTION_MIN * file_pages,
            data_in_device: read_device > DATA_DEVICE_PAGES_FRACTION_MAX * file_pages,
            metadata_in_device: walk_device >= METADATA_DEVICE_PAGES_PER_FILE_MIN * n_files,
            text: format!(
                "{name}: reading the {file_pages:.0}-page file cached {read_file:.0} of its pages and {read_device:.0} device pages; walking {n_files:.0} files cached {walk_device:.0} device pages ({:.0} KiB; machine-wide Buffers {} KiB, Cached {} KiB, SReclaimable {} KiB)",
                walk_device * page_kib,
                fmt(m(ACTION_WALK, "buffers_kib_delta")),
                fmt(m(ACTION_WALK, "cached_kib_delta")),
                fmt(m(ACTION_WALK, "sreclaimable_kib_delta")),
            ),
            name,
        };
        findings.push(finding);
    }
    let mut tail: Vec<String> = Vec::new();
    tail.extend(tmpfs);
    tail.extend(not_made);
    let tail = if tail.is_empty() {
        String::new()
    } else {
        format!("; {}", tail.join("; "))
    };
    if findings.is_empty() {
        return claim(
            Verdict::NotMeasured,
            format!("no block filesystem was measured{tail}"),
        );
    }
    let texts: Vec<&str> = findings.iter().map(|f| f.text.as_str()).collect();
    let body = texts.join("; ");
    let data_wrong: Vec<&str> = findings
        .iter()
        .filter(|f| !f.data_in_file_pages || f.data_in_device)
        .map(|f| f.name.as_str())
        .collect();
    if !data_wrong.is_empty() {
        return claim(
            Verdict::Refuted,
            format!(
                "on {} file data did NOT go (only) to the file's own page-cache pages: {body}{tail}",
                data_wrong.join(", ")
            ),
        );
    }
    let split: Vec<&str> = findings
        .iter()
        .filter(|f| f.metadata_in_device)
        .map(|f| f.name.as_str())
        .collect();
    let elsewhere: Vec<&str> = findings
        .iter()
        .filter(|f| !f.metadata_in_device)
        .map(|f| f.name.as_str())
        .collect();
    if split.is_empty() {
        return claim(
            Verdict::Refuted,
            format!(
                "on no filesystem measured did metadata reach the block device's cached pages (the buffer cache): {body}{tail}"
            ),
        );
    }
    let mechanism = "the buffer cache is the block device's own page cache (what meminfo's Buffers counts), not a cache of its own";
    if elsewhere.is_empty() {
        return claim(
            Verdict::Holds,
            format!(
                "on {} file data went to the file's own page-cache pages and metadata to the block device's ({mechanism}): {body}{tail}",
                split.join(", ")
            ),
        );
    }
    claim(
        Verdict::HoldsWithNuance,
        format!(
            "on {} file data went to the file's page-cache pages and metadata to the block device's ({mechanism}); {} keep metadata elsewhere (not in the device's pages: see meminfo's deltas; xfs has its own buffer cache, btrfs the page cache of an internal inode): {body}{tail}",
            split.join(", "),
            elsewhere.join(", ")
        ),
    )
}

fn fmt(value: Option<f64>) -> String {
    value.map_or("unknown".to_string(), |v| format!("{v:.0}"))
}
