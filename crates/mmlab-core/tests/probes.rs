//! Fault-safe probes on the real kernel: each fault kind ends the child as
//! the kernel decides, and the harness reports it as data.

use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::ptr::NonNull;
use std::time::Duration;

use mmlab_core::probe::{Ending, run_in_child};
use nix::sys::mman::{MapFlags, ProtFlags, mmap, mmap_anonymous};

const TIMEOUT: Duration = Duration::from_secs(10);

fn page() -> usize {
    mmlab_core::fingerprint::page_size()
}

fn assert_signal(ending: &Ending, signal: &str, code: &str) {
    match ending {
        Ending::Signaled {
            signal: s,
            si_code_name: Some(c),
            ..
        } => {
            assert_eq!(
                (s.as_str(), c.as_str()),
                (signal, code),
                "ending {ending:?}"
            )
        }
        other => panic!("expected {signal}/{code}, got {other:?}"),
    }
}

#[test]
fn write_to_a_prot_read_page_is_sigsegv_with_segv_accerr() {
    let outcome = run_in_child(TIMEOUT, |_| {
        // SAFETY: a fresh anonymous read-only mapping owned by this child.
        let addr = unsafe {
            mmap_anonymous(
                None,
                NonZeroUsize::new(page()).unwrap(),
                ProtFlags::PROT_READ,
                MapFlags::MAP_PRIVATE,
            )
        }
        .unwrap();
        // SAFETY: deliberately writing to a read-only page to provoke the fault.
        unsafe { std::ptr::write_volatile(addr.as_ptr() as *mut u8, 1) };
        0
    })
    .unwrap();
    assert_signal(&outcome.ending, "SIGSEGV", "SEGV_ACCERR");
    assert_eq!(outcome.ending.describe(), "signal SIGSEGV/SEGV_ACCERR");
}

#[test]
fn read_after_munmap_is_sigsegv_with_segv_maperr() {
    let outcome = run_in_child(TIMEOUT, |_| {
        let len = NonZeroUsize::new(page()).unwrap();
        // SAFETY: map, unmap, then read the now-unmapped address on purpose.
        unsafe {
            let addr =
                mmap_anonymous(None, len, ProtFlags::PROT_READ, MapFlags::MAP_PRIVATE).unwrap();
            nix::sys::mman::munmap(addr, page()).unwrap();
            std::ptr::read_volatile(addr.as_ptr() as *const u8) as i32
        }
    })
    .unwrap();
    assert_signal(&outcome.ending, "SIGSEGV", "SEGV_MAPERR");
}

#[test]
fn read_of_a_page_past_eof_is_sigbus_with_bus_adrerr_and_the_tail_reads_zero() {
    let dir = tempfile::tempdir_in(".").unwrap();
    let path = dir.path().join("short");
    std::fs::write(&path, vec![7u8; 100]).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let outcome = run_in_child(TIMEOUT, |channel| {
        // SAFETY: two pages mapped over a 100-byte file: the second lies
        // wholly past EOF, and reading it must fault.
        unsafe {
            let addr = mmap(
                None,
                NonZeroUsize::new(2 * page()).unwrap(),
                ProtFlags::PROT_READ,
                MapFlags::MAP_SHARED,
                file.as_fd(),
                0,
            )
            .unwrap();
            let base = addr.as_ptr() as *const u8;
            let inside = std::ptr::read_volatile(base.add(99));
            let tail = std::ptr::read_volatile(base.add(100));
            channel.send(&[inside, tail]);
            std::ptr::read_volatile(base.add(page())) as i32
        }
    })
    .unwrap();
    assert_signal(&outcome.ending, "SIGBUS", "BUS_ADRERR");
    assert_eq!(
        outcome.output,
        vec![7, 0],
        "byte 99 is the file's, byte 100 is the zero tail"
    );
}

#[test]
fn a_hung_child_is_killed_at_its_timeout() {
    let outcome = run_in_child(Duration::from_millis(300), |_| {
        loop {
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .unwrap();
    assert_eq!(outcome.ending, Ending::TimedOut { after_ms: 300 });
    assert!(outcome.elapsed_ns >= 300_000_000);
    assert!(
        outcome.elapsed_ns < 5_000_000_000,
        "killed promptly, took {} ns",
        outcome.elapsed_ns
    );
}

#[test]
fn exit_code_output_and_the_childs_own_faults_are_reported() {
    let pages = 256;
    let outcome = run_in_child(TIMEOUT, |channel| {
        let len = pages * page();
        // SAFETY: a fresh anonymous mapping, written page by page.
        unsafe {
            let addr: NonNull<std::ffi::c_void> = mmap_anonymous(
                None,
                NonZeroUsize::new(len).unwrap(),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
            )
            .unwrap();
            nix::sys::mman::madvise(addr, len, nix::sys::mman::MmapAdvise::MADV_NOHUGEPAGE)
                .unwrap();
            for i in 0..pages {
                std::ptr::write_volatile((addr.as_ptr() as *mut u8).add(i * page()), 1);
            }
        }
        channel.send_json(&42u32);
        3
    })
    .unwrap();
    assert_eq!(outcome.ending, Ending::Exited { code: 3 });
    assert_eq!(outcome.output_json::<u32>(), Some(42));
    assert!(
        outcome.rusage.n_minor_faults >= pages as u64,
        "the child's own rusage counts its {pages} write faults: {:?}",
        outcome.rusage
    );
}

#[test]
fn a_panicking_probe_exits_101_and_the_harness_carries_on() {
    let outcome = run_in_child(TIMEOUT, |_| panic!("provoked in the child")).unwrap();
    assert_eq!(outcome.ending, Ending::Exited { code: 101 });
}
