//! The folios that hold a file in the page cache, as a mapping of it sees
//! them (root: frame numbers from pagemap and the compound bits of
//! /proc/kpageflags, through `mmlab_core::pages::folio_sizes`), and the
//! fault-around window. Together they explain how many pages one read fault
//! maps: a page in a folio no larger than the fault-around window is mapped
//! as far as the window reaches (fault_around_bytes, 64 KiB by default);
//! whether one fault maps more of a folio larger than the window depends on
//! the kernel version and on more than the folio's size (see
//! [`read_faults_one_per_window_or_folio`]), so the run's own fault counts
//! say. Which folio sizes the
//! page cache holds depends on how the file got there (write() sizes,
//! readahead, the filesystem and the kernel version), so they are data of
//! the run, recorded where an explanation leans on them.

use std::collections::BTreeMap;

use serde::Serialize;

/// The kernel's default fault_around_bytes (mm/memory.c).
pub const DEFAULT_FAULT_AROUND_BYTES: u64 = 65536;

const FAULT_AROUND_PATH: &str = "/sys/kernel/debug/fault_around_bytes";

/// fault_around_bytes as this run could know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultAround {
    /// The value read, or the kernel's default when it could not be read.
    pub bytes: u64,
    /// Whether `bytes` was read (`true`) or is the default (`false`).
    pub read: bool,
    /// Where it came from, or why it could not be read.
    pub source: String,
}

impl FaultAround {
    /// `fault_around_bytes = 65536 (read from debugfs)`, or `... (not
    /// read: debugfs is not mounted; the kernel's default)`.
    pub fn describe(&self) -> String {
        format!("fault_around_bytes = {} ({})", self.bytes, self.source)
    }
}

/// Reads fault_around_bytes if debugfs is mounted (this experiment never
/// mounts it: that would change the machine); otherwise the default, and
/// says so.
pub fn fault_around() -> FaultAround {
    if let Some(bytes) = std::fs::read_to_string(FAULT_AROUND_PATH)
        .ok()
        .and_then(|text| text.trim().parse().ok())
    {
        return FaultAround {
            bytes,
            read: true,
            source: format!("read from {FAULT_AROUND_PATH}"),
        };
    }
    let mounted = mmlab_core::proc::mounts()
        .is_ok_and(|m| !mmlab_core::proc::mount_points_of_type(&m, "debugfs").is_empty());
    let why = if mounted {
        format!("{FAULT_AROUND_PATH} is unreadable (needs root)")
    } else {
        "not read: debugfs is not mounted".to_string()
    };
    FaultAround {
        bytes: DEFAULT_FAULT_AROUND_BYTES,
        read: false,
        source: format!("{why}; the kernel's default"),
    }
}

/// One row of the `page_cache_folios` table: the folios behind a mapping
/// of one file at one moment of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FolioRow {
    /// Which file (`data`, `frames`).
    pub file: String,
    /// When it was looked at (`private-writes pre-read`...).
    pub moment: String,
    pub n_pages_file: u64,
    /// Folio size in pages (as a string key) -> folios of that size; null
    /// without root.
    pub folio_histogram: Option<BTreeMap<String, u64>>,
    pub n_pages_in_large_folios: Option<u64>,
    pub largest_folio_pages: Option<u64>,
    /// Pages of the mapping not present in its page table (not counted).
    pub n_pages_not_present: Option<u64>,
    /// Why the folios could not be read (no root), or null.
    pub unreadable: Option<String>,
}

impl FolioRow {
    /// `4096 pages in folios of 1 page (x 1024), 4 pages (x 768)`.
    pub fn describe(&self) -> String {
        match (&self.folio_histogram, &self.unreadable) {
            (Some(histogram), _) => {
                let mut sizes: Vec<(u64, u64)> = histogram
                    .iter()
                    .filter_map(|(size, n)| Some((size.parse().ok()?, *n)))
                    .collect();
                sizes.sort_unstable();
                let parts: Vec<String> = sizes
                    .iter()
                    .map(|(size, n)| {
                        format!("{n} of {size} page{}", if *size == 1 { "" } else { "s" })
                    })
                    .collect();
                format!(
                    "{} pages in folios: {}",
                    sizes.iter().map(|(s, n)| s * n).sum::<u64>(),
                    parts.join(", ")
                )
            }
            (None, Some(why)) => format!("folio sizes not measured: {why}"),
            (None, None) => "folio sizes not measured".to_string(),
        }
    }
}

/// The folios behind `bytes`, a mapping of `file` whose pages have all been
/// touched (only present pages are counted).
pub fn of_mapping(file: &str, moment: &str, bytes: &[u8]) -> FolioRow {
    let n_pages_file = bytes.len().div_ceil(crate::os::page_size()) as u64;
    let mut row = FolioRow {
        file: file.to_string(),
        moment: moment.to_string(),
        n_pages_file,
        folio_histogram: None,
        n_pages_in_large_folios: None,
        largest_folio_pages: None,
        n_pages_not_present: None,
        unreadable: None,
    };
    match mmlab_core::pages::folio_sizes(bytes.as_ptr() as usize, bytes.len()) {
        Ok(sizes) => {
            row.folio_histogram = Some(
                sizes
                    .histogram
                    .iter()
                    .map(|(size, n)| (size.to_string(), *n))
                    .collect(),
            );
            row.n_pages_in_large_folios = Some(sizes.n_pages_in_large_folios());
            row.largest_folio_pages = sizes.largest();
            row.n_pages_not_present = Some(sizes.n_pages_not_present);
        }
        Err(why) => row.unreadable = Some(why.to_string()),
    }
    row
}

/// How many read faults a pass over every page would take if each fault
/// mapped one fault-around window of `window_pages` or one whole folio,
/// whichever is larger: the pages in folios smaller than the window are
/// counted in windows (assumed to fill them, as aligned small folios of one
/// file do), each larger folio as one fault. A model for the student to
/// compare with the measured count, never asserted: on this kernel it
/// matched the private mappings of this experiment, while a probe mapping a
/// single 256-page folio where the kernel placed the mapping took one fault
/// per window (16-17), and 1 fault when mapped with MAP_FIXED into a
/// reserved range. `None` when the sizes are unknown.
pub fn read_faults_one_per_window_or_folio(
    histogram: Option<&BTreeMap<String, u64>>,
    window_pages: u64,
) -> Option<u64> {
    let window = window_pages.max(1);
    let mut small_pages = 0u64;
    let mut large_folios = 0u64;
    for (size, n) in histogram? {
        let size: u64 = size.parse().ok()?;
        if size >= window {
            large_folios += n;
        } else {
            small_pages += size * n;
        }
    }
    Some(small_pages.div_ceil(window) + large_folios)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(sizes: &[(u64, u64)]) -> BTreeMap<String, u64> {
        sizes.iter().map(|(s, n)| (s.to_string(), *n)).collect()
    }

    #[test]
    fn one_fault_per_window_or_per_larger_folio() {
        // The 16 MiB file of a quick run: 1- and 4-page folios, 16-page
        // windows: 4096 / 16.
        let small = histogram(&[(1, 2048), (4, 512)]);
        assert_eq!(
            read_faults_one_per_window_or_folio(Some(&small), 16),
            Some(256)
        );
        // The 64 MiB file: 6144 pages in small folios (384 windows) and
        // 32 + 8 + 12 folios of 64, 256 and 512 pages.
        let mixed = histogram(&[
            (1, 2048),
            (4, 512),
            (16, 128),
            (64, 32),
            (256, 8),
            (512, 12),
        ]);
        assert_eq!(
            read_faults_one_per_window_or_folio(Some(&mixed), 16),
            Some(436)
        );
        assert_eq!(read_faults_one_per_window_or_folio(None, 16), None);
    }

    #[test]
    fn a_histogram_is_described_smallest_first() {
        let row = FolioRow {
            file: "data".into(),
            moment: "m".into(),
            n_pages_file: 24,
            folio_histogram: Some(
                [
                    ("16".to_string(), 1),
                    ("4".to_string(), 1),
                    ("1".to_string(), 4),
                ]
                .into_iter()
                .collect(),
            ),
            n_pages_in_large_folios: Some(20),
            largest_folio_pages: Some(16),
            n_pages_not_present: Some(0),
            unreadable: None,
        };
        assert_eq!(
            row.describe(),
            "24 pages in folios: 4 of 1 page, 1 of 4 pages, 1 of 16 pages"
        );
    }

    #[test]
    fn the_default_fault_around_says_it_is_the_default() {
        let f = fault_around();
        if !f.read {
            assert_eq!(f.bytes, DEFAULT_FAULT_AROUND_BYTES);
            assert!(f.describe().contains("default"), "{}", f.describe());
        }
    }
}
