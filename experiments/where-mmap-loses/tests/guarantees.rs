//! What every Linux kernel must do, checked on this one:
//! - after ftruncate, a mapped access to a page wholly past the new end
//!   raises SIGBUS with BUS_ADRERR, while pread() there returns 0;
//! - pread() of a page whose blocks lie past the end of the device fails
//!   with EIO and a mapped access to it raises SIGBUS (root, loop devices);
//! - munmap of a region written by 2 threads that still run on 2 CPUs makes
//!   the kernel send TLB shootdown interrupts to the other CPU (2 or more
//!   CPUs, and the TLB line of /proc/interrupts, x86).

use mmlab_core::scratch::{FsKind, availability};
use mmlab_core::testing::{Capability, skip};
use where_mmap_loses::errors::{self, ACCESS_MAP, ACCESS_READ};
use where_mmap_loses::unmap;

/// A skip for which `mmlab_core::testing::Capability` has no name yet
/// (several CPUs, the x86 TLB line): the same visible line on stderr and
/// in `MMLAB_SKIP_LOG` as `testing::skip` writes.
fn skip_missing(what: &str, missing: &str, reason: &str) {
    use std::io::Write;
    let test = std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_string();
    let line = format!("SKIPPED {test}: {what}: {missing} missing: {reason}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os(mmlab_core::testing::SKIP_LOG_VARIABLE)
        && let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = file.write_all(line.as_bytes());
    }
}

fn outcome<'a>(
    rows: &'a [serde_json::Value],
    scenario: &str,
    access: &str,
) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["scenario"] == scenario && r["access"] == access)
        .unwrap_or_else(|| panic!("no {scenario} / {access} row in {rows:?}"))
}

#[test]
fn sigbus_past_the_new_end_after_ftruncate_while_read_returns_zero() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let rows = errors::truncation(dir.path()).unwrap();
    let read = outcome(&rows, errors::SCENARIO_PAST_END, ACCESS_READ);
    assert_eq!(read["kind"], "returned", "{read}");
    assert_eq!(read["value"], 0, "{read}");
    let mapped = outcome(&rows, errors::SCENARIO_PAST_END, ACCESS_MAP);
    assert_eq!(mapped["kind"], "signal", "{mapped}");
    assert_eq!(mapped["value"], "signal SIGBUS/BUS_ADRERR", "{mapped}");
    // The page holding the new end: a short count, and zeros past the end.
    let page = mmlab_core::fingerprint::page_size();
    let short = outcome(&rows, errors::SCENARIO_END_PAGE, ACCESS_READ);
    assert_eq!(
        short["value"],
        errors::TRUNCATED_PAGES_X2 * page / 2 % page,
        "{short}"
    );
    assert_eq!(
        outcome(&rows, errors::SCENARIO_END_PAGE, ACCESS_MAP)["value"],
        0
    );
    // A handler that maps zeros over the page lets the program go on.
    let handled = outcome(&rows, errors::SCENARIO_HANDLER, ACCESS_MAP);
    assert_eq!(handled["kind"], "returned", "{handled}");
    assert_eq!(handled["value"], 0, "{handled}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn an_io_error_is_eio_for_read_and_sigbus_for_the_mapping() {
    if let Err(why) = availability(FsKind::Ext4) {
        let capability = if mmlab_core::fingerprint::is_root() {
            Capability::Scratch
        } else {
            Capability::Root
        };
        skip(capability, "an I/O error under a scratch ext4", why);
        return;
    }
    let loops_before = mmlab_core::scratch::attached_loop_devices();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let io = errors::io_error(dir.path()).unwrap();
    let read = outcome(&io.rows, errors::SCENARIO_IO_ERROR, ACCESS_READ);
    assert_eq!(read["kind"], "errno", "{read}");
    assert_eq!(read["value"], "EIO", "{read}");
    let mapped = outcome(&io.rows, errors::SCENARIO_IO_ERROR, ACCESS_MAP);
    assert_eq!(mapped["value"], "signal SIGBUS/BUS_ADRERR", "{mapped}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(mmlab_core::scratch::attached_loop_devices(), loops_before);
}

#[test]
fn munmap_touched_by_two_threads_raises_the_tlb_shootdown_count() {
    let cpus = unmap::allowed_cpus();
    if cpus.len() < 2 {
        skip_missing(
            "TLB shootdowns after munmap",
            "a second CPU",
            &format!("this process may run on CPU {cpus:?} only: no other CPU to interrupt"),
        );
        return;
    }
    if let Err(why) = unmap::tlb_interrupts() {
        skip_missing(
            "TLB shootdowns after munmap",
            "the TLB line of /proc/interrupts",
            &why,
        );
        return;
    }
    let plan = unmap::Plan {
        mapping_bytes: 64 << 10,
        thread_counts: vec![1, 2],
        trials_per_round: 30,
        rounds: 1,
    };
    // What the kernel guarantees is an interrupt to every other CPU that is
    // running the process when its page-table entries go; a CPU that has
    // switched to another process needs none (x86 trims mm_cpumask and
    // flushes lazily). The helper spins on its own CPU without yielding;
    // still, on a loaded machine the scheduler can take its CPU for a slice,
    // so batches are repeated, spread over up to 10 s (many scheduler
    // periods), until one raises the count. (When the helper yielded, 3 of
    // 4 flake-check rounds under a CPU hog saw no interrupt in 600 munmaps.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut batches = 0;
    let mut shootdowns = 0u64;
    while shootdowns == 0 && std::time::Instant::now() < deadline {
        batches += 1;
        let measured = unmap::measure(&plan, &|| {}).unwrap();
        shootdowns = measured
            .rows
            .iter()
            .filter(|r| r["op"] == unmap::OP_MUNMAP && r["threads"] == 2)
            .map(|r| {
                assert_eq!(r["rc"], 0, "{r}");
                r["tlb_irqs_other_cpus"].as_u64().unwrap()
            })
            .sum();
        if shootdowns == 0 {
            std::thread::sleep(std::time::Duration::from_millis(7));
        }
    }
    assert!(
        shootdowns > 0,
        "{batches} batches of 30 munmaps of a region two running threads wrote, over 10 s: \
         no TLB interrupt on another CPU"
    );
}
