//! Scenario "frames" (S4, S9): which physical frame is behind one file page
//! when it is seen through MAP_SHARED here, MAP_SHARED in a second process,
//! MAP_PRIVATE, and a read() buffer, before and after a write through the
//! private mapping. Frame numbers come from /proc/<pid>/pagemap and need
//! CAP_SYS_ADMIN; without it every frame is `not-measured` and the bytes are
//! still compared.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use anyhow::Context;
use mmlab_core::DataFile;
use mmlab_core::pages::{FrameError, PagemapEntry};
use mmlab_core::probe::run_in_child;
use serde::Serialize;

use crate::os;

pub const VIEW_SHARED_HERE: &str = "MAP_SHARED, this process";
pub const VIEW_SHARED_CHILD: &str = "MAP_SHARED, second process";
pub const VIEW_PRIVATE: &str = "MAP_PRIVATE, this process";
pub const VIEW_READ_BUFFER: &str = "read() buffer";
pub const MOMENT_BEFORE: &str = "1 before the private write";
pub const MOMENT_AFTER: &str = "2 after the private write";

/// One cell of the frame table: a view of the file's page 0 at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct FrameRow {
    pub view: String,
    pub moment: String,
    /// `0x1a2b3`, or `not-measured` without root.
    pub pfn: String,
    #[serde(skip)]
    pub pfn_value: Option<u64>,
    /// Whether the frame is the page-cache frame (the MAP_SHARED frame of
    /// this process before the write); null when frames are unreadable.
    pub same_as_page_cache: Option<bool>,
    /// pagemap bit 61: a file page (or shared anonymous).
    pub pagemap_file_page: Option<bool>,
    /// pagemap bit 56: mapped by this process only.
    pub pagemap_exclusive: Option<bool>,
    /// pagemap bit 55 (always 0 without CONFIG_MEM_SOFT_DIRTY).
    pub pagemap_soft_dirty: Option<bool>,
    /// /proc/kpageflags bits of the frame (`ANON`, `LRU`, `MMAP`...).
    pub kpageflags: Option<String>,
    pub kpageflags_anon: Option<bool>,
    /// The first 8 bytes this view shows.
    pub first_word_hex: String,
    pub shows_file_bytes: bool,
    pub shows_private_write: bool,
}

/// The frame table and what was checked beside it.
#[derive(Debug, Clone)]
pub struct FramesReport {
    pub rows: Vec<FrameRow>,
    /// Why frames are not-measured, if they are not.
    pub frames_unreadable: Option<String>,
    /// The page-cache frame (MAP_SHARED, this process, before the write).
    pub page_cache_pfn: Option<u64>,
    /// The file's page 0 read with pread() after the private write.
    pub file_bytes_unchanged: bool,
    /// The same, after the file was evicted from the page cache (so read
    /// from the disk); `None` when eviction failed (pages still mapped).
    pub file_bytes_unchanged_on_disk: Option<bool>,
    /// Minor faults the private write took (this thread, getrusage).
    pub private_write_faults: u64,
    /// The folios that hold the (small) file in the page cache: page 0's
    /// kpageflags say COMPOUND_HEAD when it is a large folio, and this says
    /// how large.
    pub folios: crate::folios::FolioRow,
}

impl FramesReport {
    pub fn row(&self, view: &str, moment: &str) -> Option<&FrameRow> {
        self.rows
            .iter()
            .find(|r| r.view == view && r.moment == moment)
    }

    pub fn pfn(&self, view: &str, moment: &str) -> Option<u64> {
        self.row(view, moment).and_then(|r| r.pfn_value)
    }
}

/// What one view showed: its pagemap entry (or why not) and first word.
struct Seen {
    entry: Result<PagemapEntry, FrameError>,
    first_word: u64,
    /// kpageflags read at the same moment (a frame's flags change when it is
    /// freed or reused later).
    flags: Option<Vec<&'static str>>,
}

impl Seen {
    fn new(entry: Result<PagemapEntry, FrameError>, first_word: u64) -> Seen {
        let flags = entry
            .as_ref()
            .ok()
            .filter(|e| e.pfn != 0)
            .and_then(|e| os::frame_flags(e.pfn));
        Seen {
            entry,
            first_word,
            flags,
        }
    }
}

/// Looks at page 0 of `file` from every view, writes through MAP_PRIVATE,
/// and looks again. `file` must be at least one page long.
pub fn measure_frames(file: &DataFile) -> anyhow::Result<FramesReport> {
    let page = os::page_size();
    let original = os::pattern_word_of_page(0);
    let written = {
        let mut bytes = original.to_le_bytes();
        bytes[0] = !bytes[0];
        u64::from_le_bytes(bytes)
    };
    let c_path = CString::new(file.path.as_os_str().as_bytes())
        .with_context(|| format!("path {} has a NUL byte", file.path.display()))?;

    let shared = os::map_shared_read(file)?;
    let mut private = os::map_private(file)?;
    let mut buffer = os::map_anonymous(page)?;
    let handle = file.open()?;
    handle
        .read_exact_at(&mut buffer[..page], 0)
        .with_context(|| format!("read() of {}", file.path.display()))?;
    os::read_every_page(&shared[..page]);
    os::read_every_page(&private[..page]);

    let look_here =
        |bytes: &[u8]| Seen::new(os::frame_of(bytes.as_ptr()), os::word_at_page(bytes, 0));
    let look_from_child = || -> anyhow::Result<Seen> {
        let path = c_path.as_c_str();
        let outcome = run_in_child(Duration::from_secs(10), |channel| {
            let Some(mapping) = os::ChildMapping::map_shared(path, page) else {
                return 2;
            };
            let first_word = os::word_at_page(mapping.bytes(), 0);
            let word = os::pagemap_word_in_child(mapping.bytes().as_ptr() as usize);
            os::send_words(channel, &[word, first_word]);
            0
        })?;
        let words = os::received_words(&outcome);
        anyhow::ensure!(
            words.len() == 2,
            "the second process did not report its frame ({})",
            outcome.ending.describe()
        );
        let entry = mmlab_core::pages::decode_pagemap(words[0]);
        let entry = if entry.present && entry.pfn == 0 {
            Err(FrameError::NeedsCapSysAdmin)
        } else {
            Ok(entry)
        };
        Ok(Seen::new(entry, words[1]))
    };

    let mut seen: Vec<(&str, &str, Seen)> = vec![
        (VIEW_SHARED_HERE, MOMENT_BEFORE, look_here(&shared)),
        (VIEW_SHARED_CHILD, MOMENT_BEFORE, look_from_child()?),
        (VIEW_PRIVATE, MOMENT_BEFORE, look_here(&private)),
        (VIEW_READ_BUFFER, MOMENT_BEFORE, look_here(&buffer)),
    ];

    let before = mmlab_core::pages::Rusage::now(true);
    os::write_pages(&mut private, [0]);
    let private_write_faults = mmlab_core::pages::Rusage::now(true)
        .since(&before)
        .n_minor_faults;

    seen.push((VIEW_SHARED_HERE, MOMENT_AFTER, look_here(&shared)));
    seen.push((VIEW_SHARED_CHILD, MOMENT_AFTER, look_from_child()?));
    seen.push((VIEW_PRIVATE, MOMENT_AFTER, look_here(&private)));
    seen.push((VIEW_READ_BUFFER, MOMENT_AFTER, look_here(&buffer)));

    let file_word = os::read_word_of_page(&handle, 0)?;
    os::read_every_page(&shared);
    let folios = crate::folios::of_mapping("frames", "after the private write", &shared);
    drop((shared, private));
    let file_bytes_unchanged_on_disk = match file.evict() {
        Ok(0) => Some(os::read_word_of_page(&handle, 0)? == original),
        _ => None,
    };

    let frames_unreadable = seen.iter().find_map(|(_, _, s)| match &s.entry {
        Err(e) => Some(e.to_string()),
        Ok(_) => None,
    });
    let page_cache_pfn = seen[0].2.entry.as_ref().ok().map(|e| e.pfn);
    let rows = seen
        .into_iter()
        .map(|(view, moment, s)| {
            let entry = s.entry.as_ref().ok();
            let pfn_value = entry.map(|e| e.pfn).filter(|p| *p != 0);
            let flags = s.flags;
            FrameRow {
                view: view.to_string(),
                moment: moment.to_string(),
                pfn: pfn_value.map_or_else(|| "not-measured".to_string(), os::pfn_hex),
                pfn_value,
                same_as_page_cache: pfn_value.zip(page_cache_pfn).map(|(a, b)| a == b),
                pagemap_file_page: entry.map(|e| e.file_or_shared_anon),
                pagemap_exclusive: entry.map(|e| e.exclusive),
                pagemap_soft_dirty: entry.map(|e| e.soft_dirty),
                kpageflags_anon: flags.as_ref().map(|f| f.contains(&"ANON")),
                kpageflags: flags.map(|f| f.join(",")),
                first_word_hex: format!("{:#018x}", s.first_word),
                shows_file_bytes: s.first_word == original,
                shows_private_write: s.first_word == written,
            }
        })
        .collect();
    Ok(FramesReport {
        rows,
        frames_unreadable,
        page_cache_pfn,
        file_bytes_unchanged: file_word == original,
        file_bytes_unchanged_on_disk,
        private_write_faults,
        folios,
    })
}
