//! A command with known counts, for comparing `mmlab stat` and
//! `measure_command` with `perf stat`: writes one byte into each of
//! `--pages N` fresh anonymous pages (N minor faults), makes `--reads N`
//! read() calls of 8 bytes on /dev/zero, and with `--populate N` maps N more
//! pages with MAP_POPULATE (faulted inside mmap), then exits with
//! `--exit CODE` (default 0). Transparent huge pages are off for the
//! process (PR_SET_THP_DISABLE), so each page is one fault on every config.
//!
//! usage: counters-workload [--pages N] [--reads N] [--populate N] [--exit CODE]

use std::io::Read;
use std::num::NonZeroUsize;

use nix::sys::mman::{MapFlags, ProtFlags};

fn main() {
    let mut pages = 0usize;
    let mut reads = 0usize;
    let mut populate = 0usize;
    let mut exit = 0i32;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|v| v.parse::<usize>().ok());
        match (flag.as_str(), value) {
            ("--pages", Some(v)) => pages = v,
            ("--reads", Some(v)) => reads = v,
            ("--populate", Some(v)) => populate = v,
            ("--exit", Some(v)) => exit = v as i32,
            _ => {
                eprintln!(
                    "usage: counters-workload [--pages N] [--reads N] [--populate N] [--exit CODE]"
                );
                std::process::exit(2);
            }
        }
    }
    // One fault per page only holds without THP: `always`, or any mTHP size
    // enabled under hugepages-*kB/enabled, would fault many pages at once.
    // PR_SET_THP_DISABLE turns off every size for this process, MAP_POPULATE
    // included (a mapping cannot be advised before it is populated).
    mmlab_core::testing::disable_thp_for_this_process();
    let page = mmlab_core::fingerprint::page_size();
    let mut zero = std::fs::File::open("/dev/zero").expect("open /dev/zero");
    let mut buf = [0u8; 8];
    for _ in 0..reads {
        zero.read_exact(&mut buf).expect("read /dev/zero");
    }
    if pages > 0 {
        let base = map_anonymous(pages * page, MapFlags::empty());
        for i in 0..pages {
            // SAFETY: `base` maps `pages * page` writable bytes; i * page is
            // inside.
            unsafe { base.add(i * page).write_volatile(1) };
        }
    }
    if populate > 0 {
        map_anonymous(populate * page, MapFlags::MAP_POPULATE);
    }
    std::process::exit(exit);
}

/// A private anonymous read-write mapping of `len` bytes, never unmapped
/// (the process exits right after).
fn map_anonymous(len: usize, extra: MapFlags) -> *mut u8 {
    let len = NonZeroUsize::new(len).expect("non-zero length");
    // SAFETY: a fresh anonymous mapping aliases no Rust object.
    let ptr = unsafe {
        nix::sys::mman::mmap_anonymous(
            None,
            len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE | extra,
        )
    }
    .expect("mmap anonymous");
    ptr.as_ptr().cast()
}
