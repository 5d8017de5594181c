//! The folios that held the data file in the page cache when the `mmap`
//! case read it, and the fault-around window: together they explain how
//! many faults memmap2's first pass took. The experiment looks after the
//! case, from its own (untraced) process: it maps the same file, touches
//! every page and reads the folio sizes through pagemap and /proc/kpageflags
//! (`mmlab_core::pages::folio_sizes`, root only). The page cache is shared,
//! so it sees the folios the traced workload met, as long as nothing evicted
//! the file in between (nothing in the run does).
//!
//! Which folio sizes the page cache holds depends on how the file got there
//! (here: written with 1 MiB write() calls just before the cases), on the
//! filesystem and on the kernel version, so they are data, never assumed.

use std::collections::BTreeMap;

use mmlab_core::DataFile;
use serde::{Deserialize, Serialize};

/// The kernel's default fault_around_bytes (mm/memory.c).
pub const DEFAULT_FAULT_AROUND_BYTES: u64 = 65536;

const FAULT_AROUND_PATH: &str = "/sys/kernel/debug/fault_around_bytes";

/// The `data_file_folios` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFileFolios {
    /// When it was looked at.
    pub moment: String,
    pub n_pages_file: u64,
    /// Folio size in pages (as a string key) -> folios of that size; null
    /// where frames are unreadable (no root).
    pub folio_histogram: Option<BTreeMap<String, u64>>,
    pub largest_folio_pages: Option<u64>,
    /// Why the folios could not be read, or null.
    pub unreadable: Option<String>,
    /// fault_around_bytes, read from debugfs or the kernel's default.
    pub fault_around_bytes: u64,
    /// Whether `fault_around_bytes` was read (false: the default).
    pub fault_around_read: bool,
    /// Where it came from, or why it could not be read.
    pub fault_around_source: String,
}

/// fault_around_bytes if debugfs is mounted (this experiment never mounts
/// it: that would change the machine), else the default; and where from.
pub fn fault_around() -> (u64, bool, String) {
    if let Some(bytes) = std::fs::read_to_string(FAULT_AROUND_PATH)
        .ok()
        .and_then(|text| text.trim().parse().ok())
    {
        return (bytes, true, format!("read from {FAULT_AROUND_PATH}"));
    }
    let mounted = mmlab_core::proc::mounts()
        .is_ok_and(|m| !mmlab_core::proc::mount_points_of_type(&m, "debugfs").is_empty());
    let why = if mounted {
        format!("{FAULT_AROUND_PATH} is unreadable (needs root)")
    } else {
        "not read: debugfs is not mounted".to_string()
    };
    (
        DEFAULT_FAULT_AROUND_BYTES,
        false,
        format!("{why}; the kernel's default"),
    )
}

/// Maps `file`, touches every page and reads the folios behind it.
pub fn measure(file: &DataFile, moment: &str) -> anyhow::Result<DataFileFolios> {
    let handle = file.open()?;
    // SAFETY (memmap2's contract): the run's own data file, which nobody
    // truncates while it is mapped.
    let map = unsafe { memmap2::Mmap::map(&handle) }?;
    let page = mmlab_core::fingerprint::page_size();
    let mut sum = 0u64;
    for offset in (0..map.len()).step_by(page) {
        sum = sum.wrapping_add(u64::from(map[offset]));
    }
    std::hint::black_box(sum);
    let (fault_around_bytes, fault_around_read, fault_around_source) = fault_around();
    let mut table = DataFileFolios {
        moment: moment.to_string(),
        n_pages_file: map.len().div_ceil(page) as u64,
        folio_histogram: None,
        largest_folio_pages: None,
        unreadable: None,
        fault_around_bytes,
        fault_around_read,
        fault_around_source,
    };
    match mmlab_core::pages::folio_sizes(map.as_ptr() as usize, map.len()) {
        Ok(sizes) => {
            table.folio_histogram = Some(
                sizes
                    .histogram
                    .iter()
                    .map(|(size, n)| (size.to_string(), *n))
                    .collect(),
            );
            table.largest_folio_pages = sizes.largest();
        }
        Err(why) => table.unreadable = Some(why.to_string()),
    }
    Ok(table)
}

impl DataFileFolios {
    /// The fault-around window in pages.
    pub fn window_pages(&self, page_size: u64) -> u64 {
        (self.fault_around_bytes / page_size.max(1)).max(1)
    }

    /// `16 of 1 page, 3 of 16 pages, 1 of 128 pages`, smallest first.
    pub fn describe_histogram(&self) -> Option<String> {
        let mut sizes: Vec<(u64, u64)> = self
            .folio_histogram
            .as_ref()?
            .iter()
            .filter_map(|(size, n)| Some((size.parse().ok()?, *n)))
            .collect();
        sizes.sort_unstable();
        Some(
            sizes
                .iter()
                .map(|(size, n)| format!("{n} of {size} page{}", if *size == 1 { "" } else { "s" }))
                .collect::<Vec<_>>()
                .join(", "),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(sizes: &[(u64, u64)]) -> DataFileFolios {
        DataFileFolios {
            moment: "m".into(),
            n_pages_file: sizes.iter().map(|(s, n)| s * n).sum(),
            folio_histogram: Some(sizes.iter().map(|(s, n)| (s.to_string(), *n)).collect()),
            largest_folio_pages: sizes.iter().map(|(s, _)| *s).max(),
            unreadable: None,
            fault_around_bytes: DEFAULT_FAULT_AROUND_BYTES,
            fault_around_read: false,
            fault_around_source: "default".into(),
        }
    }

    #[test]
    fn a_histogram_is_described_smallest_first() {
        let t = table(&[(1, 16), (4, 4), (16, 2), (64, 1), (128, 1)]);
        assert_eq!(t.window_pages(4096), 16);
        assert_eq!(
            t.describe_histogram().unwrap(),
            "16 of 1 page, 4 of 4 pages, 2 of 16 pages, 1 of 64 pages, 1 of 128 pages"
        );
        let mut unknown = t.clone();
        unknown.folio_histogram = None;
        assert_eq!(unknown.describe_histogram(), None);
    }
}
