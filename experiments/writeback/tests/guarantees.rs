//! What the kernel documents, checked on a scratch ext4 whose storage the
//! lab reads (root and loop devices; skipped visibly otherwise):
//! - msync(2): MS_SYNC "requests an update and waits for it to complete":
//!   afterwards the image holds the written bytes, read without writing
//!   anything back first;
//! - mmap(2): MAP_PRIVATE "updates to the mapping ... are not carried
//!   through to the underlying file": after msync(MS_SYNC), fsync and
//!   syncfs, storage (read after a forced writeback) and the page cache
//!   still hold the old bytes.
//!
//! Neither test asserts when writeback happens without a call, or fault
//! counts: those are the kernel's choices, recorded as data.

use std::fs::OpenOptions;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;

use mmlab_core::scratch::{FsKind, ScratchFs, availability};
use mmlab_core::testing::{Capability, skip};
use writeback::timeline::prepare;

const PAGES: usize = 256;

fn scratch(base: &std::path::Path, what: &str) -> Option<ScratchFs> {
    if let Err(why) = availability(FsKind::Ext4) {
        skip(Capability::Scratch, what, why);
        return None;
    }
    Some(ScratchFs::create(FsKind::Ext4, base, 64 << 20).expect("a scratch ext4"))
}

fn page() -> usize {
    mmlab_core::fingerprint::page_size()
}

#[test]
fn after_msync_ms_sync_storage_holds_the_written_bytes() {
    let base = tempfile::tempdir().unwrap();
    let Some(fs) = scratch(base.path(), "storage after msync(MS_SYNC)") else {
        return;
    };
    let path = fs.root().join("f");
    prepare(&path, (PAGES * page()) as u64, 0x11).unwrap();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    // SAFETY (memmap2's contract): our own file, not truncated while mapped.
    let mut map = unsafe { memmap2::MmapMut::map_mut(&file) }.unwrap();
    let mut expected = vec![0x11u8; PAGES * page()];
    for p in (0..PAGES).step_by(7) {
        let range = p * page()..(p + 1) * page();
        map[range.clone()].fill(0x22);
        expected[range].fill(0x22);
    }
    map.flush().expect("msync(MS_SYNC)");
    let stored = fs.stored_bytes_now(&path).unwrap();
    assert!(
        stored == expected,
        "storage differs from what was written and synced"
    );
}

#[test]
fn a_map_private_write_never_reaches_the_file_or_storage() {
    let base = tempfile::tempdir().unwrap();
    let Some(fs) = scratch(base.path(), "MAP_PRIVATE writes and storage") else {
        return;
    };
    let path = fs.root().join("f");
    prepare(&path, (PAGES * page()) as u64, 0x33).unwrap();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    // SAFETY (memmap2's contract): as above.
    let mut map = unsafe { memmap2::MmapOptions::new().map_copy(&file) }.unwrap();
    map.fill(0x44);
    map.flush().expect("msync(MS_SYNC) of a private mapping");
    file.sync_all().unwrap();
    let root = std::fs::File::open(fs.root()).unwrap();
    nix::unistd::syncfs(root.as_fd()).unwrap();
    let mut cached = vec![0u8; PAGES * page()];
    file.read_exact_at(&mut cached, 0).unwrap();
    assert!(cached.iter().all(|&b| b == 0x33), "the page cache changed");
    // stored_bytes writes the file back first (FIEMAP_FLAG_SYNC).
    let stored = fs.stored_bytes(&path).unwrap();
    assert!(stored.iter().all(|&b| b == 0x33), "storage changed");
    assert!(map.iter().all(|&b| b == 0x44), "the private copy is ours");
}
