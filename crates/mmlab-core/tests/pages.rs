//! Page tools on the real kernel: mincore after eviction, pagemap frames.

use std::num::NonZeroUsize;
use std::os::fd::AsFd;

use mmlab_core::fingerprint::{is_root, page_size};
use mmlab_core::pages;
use mmlab_core::testing::{Capability, skip};
use nix::sys::mman::{MapFlags, ProtFlags, mmap};

#[test]
fn mincore_reports_zero_resident_pages_after_evicting_a_file_that_was_just_read() {
    let dir = mmlab_core::DataDir::create(Some(std::path::Path::new("."))).unwrap();
    let file = dir.create_file("evict-me", 4 << 20).unwrap();
    let bytes = std::fs::read(&file.path).unwrap();
    assert_eq!(bytes.len(), 4 << 20);
    let handle = file.open().unwrap();
    // A file just read is usually cached in full, but reclaim may take pages
    // back at any time: printed, bounded, not asserted.
    let resident_before = pages::file_resident_pages(handle.as_fd()).unwrap();
    println!(
        "{resident_before} of {} pages resident after read()",
        file.number_of_pages()
    );
    assert!(resident_before <= file.number_of_pages());
    let resident_after = file.evict().unwrap();
    assert_eq!(resident_after, 0);
    assert_eq!(pages::file_resident_pages(handle.as_fd()).unwrap(), 0);
}

#[test]
fn touching_one_page_of_a_mapping_makes_it_resident() {
    let dir = mmlab_core::DataDir::create(Some(std::path::Path::new("."))).unwrap();
    let file = dir.create_file("touch", 1 << 20).unwrap();
    assert_eq!(file.evict().unwrap(), 0);
    let handle = file.open().unwrap();
    let len = 1 << 20;
    // SAFETY: a read-only mapping of a file this test owns.
    let addr = unsafe {
        mmap(
            None,
            NonZeroUsize::new(len).unwrap(),
            ProtFlags::PROT_READ,
            MapFlags::MAP_SHARED,
            handle.as_fd(),
            0,
        )
    }
    .unwrap();
    let base = addr.as_ptr() as *const u8;
    assert_eq!(
        pages::resident_pages(base, len).unwrap(),
        0,
        "nothing resident right after mmap of an evicted file"
    );
    // SAFETY: reading the first byte of the mapping.
    let byte = unsafe { std::ptr::read_volatile(base) };
    assert_eq!(byte, mmlab_core::datafile::pattern_byte(0));
    assert!(pages::residency(base, len).unwrap()[0]);
    let entry = pages::smaps_entry(None, base as usize).unwrap();
    assert!(entry.path.ends_with("touch"), "{entry:?}");
    assert!(entry.kib("Rss") >= page_size() as u64 / 1024);
    // SAFETY: unmapping the mapping made above.
    unsafe { nix::sys::mman::munmap(addr, len) }.unwrap();
}

#[test]
fn a_frame_from_pagemap_is_non_zero_as_root() {
    let page = page_size();
    let mut buffer = vec![0u8; page * 2];
    let start = buffer.as_ptr() as usize;
    let addr = (start + page) & !(page - 1);
    // Make sure the page holding `addr` is present.
    buffer[addr - start] = 1;
    std::hint::black_box(&buffer);
    match pages::pagemap_entry(None, addr) {
        Ok(entry) => {
            assert!(is_root(), "frames are only visible to root");
            assert!(entry.present);
            assert_ne!(entry.pfn, 0);
        }
        Err(pages::FrameError::NeedsCapSysAdmin) => {
            assert!(!is_root(), "root sees frame numbers");
            skip(
                Capability::Root,
                "a non-zero frame number",
                "physical frames need CAP_SYS_ADMIN",
            );
        }
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn folio_sizes_cover_every_mapped_page_and_anonymous_small_pages_are_single() {
    let page = page_size();
    let len = 64 * page;
    // SAFETY: a private anonymous mapping this test owns.
    let addr = unsafe {
        nix::sys::mman::mmap_anonymous(
            None,
            NonZeroUsize::new(len).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
        )
    }
    .unwrap();
    // SAFETY: advising and writing the mapping made above.
    unsafe {
        nix::sys::mman::madvise(addr, len, nix::sys::mman::MmapAdvise::MADV_NOHUGEPAGE).unwrap();
        for i in 0..64 {
            std::ptr::write_volatile((addr.as_ptr() as *mut u8).add(i * page), 1);
        }
    }
    match pages::folio_sizes(addr.as_ptr() as usize, len) {
        Ok(sizes) => {
            assert!(is_root());
            // Without THP every written anonymous page is its own folio.
            assert_eq!(sizes.histogram, std::collections::BTreeMap::from([(1, 64)]));
            assert_eq!(sizes.n_pages_not_present, 0);
        }
        Err(pages::FrameError::NeedsCapSysAdmin) => {
            // The reason is the missing capability, not kpageflags' own
            // permission error (it was once checked in the wrong order).
            assert!(!is_root());
            skip(
                Capability::Root,
                "anonymous folio sizes",
                "physical frames need CAP_SYS_ADMIN",
            );
        }
        Err(other) => panic!("{other}"),
    }
    // SAFETY: unmapping the mapping made above.
    unsafe { nix::sys::mman::munmap(addr, len) }.unwrap();

    // A file read into the page cache and mapped in full: every page is in
    // exactly one folio, whatever sizes the kernel chose.
    let dir = mmlab_core::DataDir::create(Some(std::path::Path::new("."))).unwrap();
    let file = dir.create_file("folios", 4 << 20).unwrap();
    file.evict().unwrap();
    std::fs::read(&file.path).unwrap();
    let handle = file.open().unwrap();
    let len = 4 << 20;
    // SAFETY: a read-only mapping of a file this test owns.
    let addr = unsafe {
        mmap(
            None,
            NonZeroUsize::new(len).unwrap(),
            ProtFlags::PROT_READ,
            MapFlags::MAP_SHARED | MapFlags::MAP_POPULATE,
            handle.as_fd(),
            0,
        )
    }
    .unwrap();
    match pages::folio_sizes(addr.as_ptr() as usize, len) {
        Ok(sizes) => {
            assert!(is_root());
            assert_eq!(sizes.n_pages(), file.number_of_pages(), "{sizes:?}");
        }
        Err(error) => {
            // Only the missing capability may stop it, and only without root.
            assert!(
                matches!(error, pages::FrameError::NeedsCapSysAdmin) && !is_root(),
                "{error}"
            );
            skip(Capability::Root, "file folio sizes", error);
        }
    }
    // SAFETY: unmapping the mapping made above.
    unsafe { nix::sys::mman::munmap(addr, len) }.unwrap();
}
