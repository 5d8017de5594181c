//! Scenario "fork": copy-on-write of anonymous memory across fork(). Parent
//! and child share every frame right after fork; a write in either copies
//! that one page, for the writer only; once the child is gone, the parent's
//! next write still faults (the page-table entry was write-protected at
//! fork) and usually keeps its frame (nothing left to share), but not
//! always: the kernel reuses the page only when nothing else holds a
//! reference to it, so how often is counted (`ReuseCount`). And what fork() itself
//! costs against the parent's memory: page tables are copied, pages are not.

use std::time::Duration;

use mmlab_core::pages::{PagemapEntry, Rusage, decode_pagemap};
use serde::Serialize;

use crate::os;

pub const MOMENT_FORKED: &str = "1 right after fork";
pub const MOMENT_CHILD_WROTE: &str = "2 after the child writes page 0";
pub const MOMENT_PARENT_WROTE: &str = "3 after the parent writes page 1";

/// One cell of the fork frame table.
#[derive(Debug, Clone, Serialize)]
pub struct ForkFrameRow {
    /// `parent, page 0`, `child, page 1`...
    pub view: String,
    pub moment: String,
    pub pfn: String,
    #[serde(skip)]
    pub pfn_value: Option<u64>,
    /// Whether the frame is the one the parent had before fork.
    pub same_as_before_fork: Option<bool>,
    /// pagemap bit 56: mapped by this process only.
    pub pagemap_exclusive: Option<bool>,
}

/// What the fork scenario saw.
#[derive(Debug, Clone, Serialize)]
pub struct ForkReport {
    #[serde(skip)]
    pub rows: Vec<ForkFrameRow>,
    pub frames_unreadable: Option<String>,
    /// Minor faults of the child's write of page 0 (getrusage in the child).
    pub child_write_faults: u64,
    /// Minor faults of the parent's write of page 1 while the child lives.
    pub parent_write_faults: u64,
    /// The child's page 0 shows its own write; the parent's does not.
    pub child_sees_own_write: bool,
    pub parent_sees_child_write: bool,
    /// The parent's page 1 shows its write; the child's does not.
    pub child_sees_parent_write: bool,
    /// After the child ended: faults of the parent's write of page 2, and
    /// whether page 2 kept its frame (reused, not copied).
    pub reuse_write_faults: u64,
    pub reuse_kept_frame: Option<bool>,
    /// The same write-after-the-child-ended step repeated on fresh pages:
    /// how often the frame was kept. The kernel reuses the page only when
    /// nothing else holds a reference to it, and a fresh page can still sit
    /// in another CPU's LRU batch, which holds one: so "usually kept" is
    /// data, never a guarantee.
    pub reuse: ReuseCount,
}

/// How often a write to a page whose fork child has ended kept its frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReuseCount {
    /// Repetitions whose frames could be read (root).
    pub n_measured: u32,
    /// Of those, how many kept the frame (reused in place).
    pub n_kept: u32,
    /// Repetitions whose write took at least one fault (fork write-protected
    /// the entry: every one must).
    pub n_write_faulted: u32,
    pub n_repetitions: u32,
}

impl ReuseCount {
    /// `kept in 19 of 20`, or `not measured` without frames.
    pub fn describe(&self) -> String {
        if self.n_measured == 0 {
            "not measured (frames need root)".to_string()
        } else {
            format!("kept in {} of {}", self.n_kept, self.n_measured)
        }
    }
}

/// Repetitions of the reuse step (each a fork of a one-page region).
pub const REUSE_REPETITIONS: u32 = 20;

/// Repeats "write a page, fork a child that exits at once, reap it, write
/// the page again" `repetitions` times on fresh anonymous pages, counting
/// the write faults and (as root) whether the frame stayed the same.
pub fn measure_reuse(repetitions: u32) -> anyhow::Result<ReuseCount> {
    let page = os::page_size();
    let mut count = ReuseCount {
        n_repetitions: repetitions,
        ..ReuseCount::default()
    };
    for _ in 0..repetitions {
        let mut region = os::map_anonymous(page)?;
        region.fill(INITIAL_VALUE);
        let before = os::frame_of(region.as_ptr()).ok().filter(|e| e.pfn != 0);
        os::time_fork()?;
        let usage = Rusage::now(true);
        region[0] = PARENT_VALUE;
        std::hint::black_box(&region[0]);
        if Rusage::now(true).since(&usage).n_minor_faults >= 1 {
            count.n_write_faulted += 1;
        }
        let after = os::frame_of(region.as_ptr()).ok().filter(|e| e.pfn != 0);
        if let (Some(a), Some(b)) = (before, after) {
            count.n_measured += 1;
            count.n_kept += u32::from(a.pfn == b.pfn);
        }
    }
    Ok(count)
}

const CHILD_VALUE: u8 = 0xC1;
const PARENT_VALUE: u8 = 0xA7;
const INITIAL_VALUE: u8 = 0x5A;

fn entry_or_reason(entry: PagemapEntry) -> Result<PagemapEntry, String> {
    if entry.present && entry.pfn == 0 {
        Err(mmlab_core::pages::FrameError::NeedsCapSysAdmin.to_string())
    } else {
        Ok(entry)
    }
}

/// Runs the frame-by-frame fork scenario on a fresh 4-page anonymous region.
pub fn measure_fork_frames() -> anyhow::Result<ForkReport> {
    let page = os::page_size();
    let mut region = os::map_anonymous(4 * page)?;
    region.fill(INITIAL_VALUE);
    let raw = os::RawRegion::of(&region);
    let address = |index: usize| raw.addr() + index * page;
    let here = |index: usize| -> Result<PagemapEntry, String> {
        os::frame_of(address(index) as *const u8).map_err(|e| e.to_string())
    };
    let before_fork = [here(0), here(1), here(2)];

    let (parent_seen, child_words, outcome) = os::with_paused_child(
        Duration::from_secs(10),
        move || {
            let at_fork = [
                os::pagemap_word_in_child(address(0)),
                os::pagemap_word_in_child(address(1)),
            ];
            let usage = Rusage::now(false);
            // SAFETY: runs in the forked child, on its own copy of `region`.
            let bytes = unsafe { raw.bytes_mut_in_child() };
            bytes[0] = CHILD_VALUE;
            std::hint::black_box(&bytes[0]);
            let faults = Rusage::now(false).since(&usage).n_minor_faults;
            [
                at_fork[0],
                at_fork[1],
                faults,
                os::pagemap_word_in_child(address(0)),
                os::pagemap_word_in_child(address(1)),
                0,
                0,
                0,
            ]
        },
        |_pid, _words| {
            let after_child_wrote = [here(0), here(1)];
            let usage = Rusage::now(true);
            region[page] = PARENT_VALUE;
            std::hint::black_box(&region[page]);
            let faults = Rusage::now(true).since(&usage).n_minor_faults;
            let after_parent_wrote = [here(0), here(1)];
            (after_child_wrote, faults, after_parent_wrote, region[0])
        },
        move |channel| {
            // SAFETY: runs in the forked child, on its own copy of `region`.
            let bytes = unsafe { raw.bytes_mut_in_child() };
            os::send_words(
                channel,
                &[
                    os::pagemap_word_in_child(address(0)),
                    os::pagemap_word_in_child(address(1)),
                    u64::from(bytes[0]),
                    u64::from(bytes[page]),
                ],
            );
            0
        },
    )?;
    let (after_child_wrote, parent_write_faults, after_parent_wrote, parent_page0) = parent_seen;
    let child_after = os::received_words(&outcome);
    anyhow::ensure!(
        child_after.len() == 4,
        "the forked child did not report ({})",
        outcome.ending.describe()
    );

    // The child is gone: page 2 is the parent's alone again, but its
    // page-table entry is still write-protected from the fork.
    let usage = Rusage::now(true);
    region[2 * page] = PARENT_VALUE;
    std::hint::black_box(&region[2 * page]);
    let reuse_write_faults = Rusage::now(true).since(&usage).n_minor_faults;
    let reuse_kept_frame = match (&before_fork[2], here(2)) {
        (Ok(a), Ok(b)) => Some(a.pfn == b.pfn),
        _ => None,
    };

    let child = |word: u64| entry_or_reason(decode_pagemap(word));
    let cells: Vec<(&str, &str, Result<PagemapEntry, String>)> = vec![
        ("parent, page 0", MOMENT_FORKED, before_fork[0].clone()),
        ("child, page 0", MOMENT_FORKED, child(child_words[0])),
        ("parent, page 1", MOMENT_FORKED, before_fork[1].clone()),
        ("child, page 1", MOMENT_FORKED, child(child_words[1])),
        (
            "parent, page 0",
            MOMENT_CHILD_WROTE,
            after_child_wrote[0].clone(),
        ),
        ("child, page 0", MOMENT_CHILD_WROTE, child(child_words[3])),
        (
            "parent, page 1",
            MOMENT_CHILD_WROTE,
            after_child_wrote[1].clone(),
        ),
        ("child, page 1", MOMENT_CHILD_WROTE, child(child_words[4])),
        (
            "parent, page 0",
            MOMENT_PARENT_WROTE,
            after_parent_wrote[0].clone(),
        ),
        ("child, page 0", MOMENT_PARENT_WROTE, child(child_after[0])),
        (
            "parent, page 1",
            MOMENT_PARENT_WROTE,
            after_parent_wrote[1].clone(),
        ),
        ("child, page 1", MOMENT_PARENT_WROTE, child(child_after[1])),
    ];
    let frames_unreadable = cells.iter().find_map(|(_, _, e)| e.clone().err());
    let rows = cells
        .into_iter()
        .map(|(view, moment, entry)| {
            let entry = entry.ok();
            let pfn_value = entry.map(|e| e.pfn).filter(|p| *p != 0);
            let original = if view.ends_with('0') {
                &before_fork[0]
            } else {
                &before_fork[1]
            };
            ForkFrameRow {
                view: view.to_string(),
                moment: moment.to_string(),
                pfn: pfn_value.map_or_else(|| "not-measured".to_string(), os::pfn_hex),
                pfn_value,
                same_as_before_fork: pfn_value
                    .zip(original.as_ref().ok().map(|e| e.pfn))
                    .map(|(a, b)| a == b),
                pagemap_exclusive: entry.map(|e| e.exclusive),
            }
        })
        .collect();
    Ok(ForkReport {
        rows,
        frames_unreadable,
        child_write_faults: child_words[2],
        parent_write_faults,
        child_sees_own_write: child_after[2] == u64::from(CHILD_VALUE),
        parent_sees_child_write: parent_page0 == CHILD_VALUE,
        child_sees_parent_write: child_after[3] == u64::from(PARENT_VALUE),
        reuse_write_faults,
        reuse_kept_frame,
        reuse: measure_reuse(REUSE_REPETITIONS)?,
    })
}

/// One fork() timing.
#[derive(Debug, Clone, Serialize)]
pub struct ForkCost {
    /// Anonymous memory the parent wrote before forking (beyond its usual).
    pub parent_anon_bytes: u64,
    pub repetition: usize,
    /// The parent's clock across fork() alone.
    pub fork_ns: u64,
    /// The parent's page tables (VmPTE) at the fork, in bytes.
    pub parent_page_tables_bytes: u64,
}

/// Times fork() `repetitions` times with `parent_anon_bytes` of written
/// anonymous memory in the parent.
pub fn measure_fork_cost(
    parent_anon_bytes: u64,
    repetitions: usize,
) -> anyhow::Result<Vec<ForkCost>> {
    let region = if parent_anon_bytes > 0 {
        let mut region = os::map_anonymous(parent_anon_bytes as usize)?;
        region.fill(INITIAL_VALUE);
        Some(region)
    } else {
        None
    };
    let page_tables = os::status_kib("VmPTE")? * 1024;
    let mut costs = Vec::with_capacity(repetitions);
    for repetition in 0..repetitions {
        costs.push(ForkCost {
            parent_anon_bytes,
            repetition,
            fork_ns: os::time_fork()?,
            parent_page_tables_bytes: page_tables,
        });
    }
    drop(region);
    Ok(costs)
}
