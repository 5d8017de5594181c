//! `--memory-limit` on the real kernel: passes in a child memory cgroup keep
//! only about the limit's worth of the file cached, so every pass reads the
//! file from storage again, where the same passes without a limit read it
//! once; the cgroup is gone afterwards. Skipped, with the reason printed,
//! where no memory cgroup can be made (not root, or no memory controller).

use std::path::PathBuf;

use mmlab_core::cgroup::MemoryCgroup;
use mmlab_core::testing::{Capability, skip};
use mmlab_core::{DataDir, RunContext};
use mmlab_counters::CounterSet;
use repeated_access::methods::{Config, Method};
use repeated_access::{Role, Scenario, run_limited, run_passes};

const M: u64 = 1 << 20;

fn page() -> u64 {
    mmlab_core::fingerprint::page_size() as u64
}

/// The storage reads a pass must make at least: every page that was not
/// resident before it has to come from storage (1% allowed for how
/// /proc/self/io rounds); a page evicted during the pass only adds reads.
fn must_read(n_pages: u64, resident_before: u64) -> u64 {
    (n_pages.saturating_sub(resident_before) * page()) / 100 * 99
}

/// The storage reads a pass can make at most: the pages that were not
/// resident before it, plus 1 MiB for metadata and for pages that reclaim
/// took back during the pass.
fn may_read(n_pages: u64, resident_before: u64) -> u64 {
    n_pages.saturating_sub(resident_before) * page() + M
}

/// /proc/self/io counts the whole process: the two tests take turns, so
/// that one's storage reads never show in the other's passes.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

fn cgroup(limit: u64) -> Option<MemoryCgroup> {
    match MemoryCgroup::create(limit) {
        Ok(cgroup) => Some(cgroup),
        Err(e) => {
            skip(
                Capability::MemoryCgroup,
                "a memory cgroup",
                format!("{e:#}"),
            );
            None
        }
    }
}

#[test]
fn a_limited_page_cache_makes_every_pass_read_the_file_again() {
    let _turn = one_at_a_time();
    let Some(cgroup) = cgroup(24 * M) else { return };
    let path: PathBuf = cgroup.path().to_path_buf();
    assert!(path.is_dir());
    let base = tempfile::tempdir_in(".").unwrap();
    let dir = DataDir::create(Some(base.path())).unwrap();
    let data = dir.create_file("limited", 96 * M).unwrap();
    let storage_read = |bytes: Option<u64>| bytes.expect("/proc/self/io is readable here");

    for method in [Method::Read, Method::MmapReused] {
        let config = Config::new(method, 64 * 1024);
        let limited = run_limited(&cgroup, &data, config, 3, 0, 0).expect("limited passes");
        assert_eq!(limited.len(), 3);
        for record in &limited {
            assert_eq!(record.scenario, Scenario::MemoryLimit);
            assert_eq!(record.checksum, data.checksum);
        }
        assert_eq!(limited[0].resident_pages_before, Some(0), "evicted first");
        for later in &limited[1..] {
            // The limit bounds what stays cached (the cgroup is charged for
            // the page cache its child made), and every page not cached
            // before the pass must be read from storage again.
            let resident = later.resident_pages_before.unwrap();
            assert!(
                resident * page() <= 24 * M,
                "{}: {resident} pages stayed cached under a 24 MiB limit",
                method.name()
            );
            let read = storage_read(later.io_read_bytes);
            assert!(
                read >= must_read(data.number_of_pages(), resident) && read >= 48 * M,
                "{} pass {}: only {read} bytes read from storage with {resident} of {} pages cached before it",
                method.name(),
                later.pass_index,
                data.number_of_pages()
            );
        }
    }

    // The same passes without a limit read the file from storage once.
    let counters = CounterSet::standard_with(repeated_access::EXTRA_EVENTS).unwrap();
    let cold = run_passes(
        &counters,
        Role::Timed,
        &data,
        None,
        Scenario::Cold,
        Config::new(Method::Read, 64 * 1024),
        3,
        0,
    )
    .unwrap();
    // Whether the pages stay cached between passes is reclaim's choice: the
    // reads of each pass are bounded by what mincore saw before it.
    let n_pages = data.number_of_pages();
    for record in &cold {
        let resident = record
            .resident_pages_before
            .expect("mincore before the pass");
        let read = storage_read(record.io_read_bytes);
        println!(
            "cold pass {}: {resident} of {n_pages} pages cached before, {read} bytes read",
            record.pass_index
        );
        assert!(
            (must_read(n_pages, resident)..=may_read(n_pages, resident)).contains(&read),
            "cold pass {}: {read} bytes read from storage with {resident} of {n_pages} pages cached before it",
            record.pass_index
        );
    }
    assert!(cgroup.stats().peak_bytes.unwrap_or(0) <= 24 * M);

    drop(cgroup);
    assert!(!path.exists(), "{} is removed", path.display());
}

#[test]
fn a_run_with_a_memory_limit_adds_the_scenario_and_removes_its_cgroup() {
    let _turn = one_at_a_time();
    if cgroup(16 * M).is_none() {
        return;
    }
    let base = tempfile::tempdir_in(".").unwrap();
    let context = RunContext {
        size_bytes: Some(48 * M),
        repeat: Some(1),
        data_dir_base: Some(base.path().to_path_buf()),
        memory_limit_bytes: Some(16 * M),
        ..RunContext::default()
    };
    let result = repeated_access::EXPERIMENT.run(&context).expect("the run");
    let limited: Vec<_> = result
        .samples
        .iter()
        .filter(|s| s["scenario"] == "memory-limit")
        .collect();
    // 6 storage methods x 3 timed passes, and 2 counted ones each.
    assert_eq!(limited.len(), 18 + 12);
    assert_eq!(limited.iter().filter(|s| s["role"] == "timed").count(), 18);
    let cgroup = result.extra["memory_cgroup"]["cgroup"].as_str().unwrap();
    assert!(cgroup.contains("mmlab-"), "{cgroup}");
    let folder = result.extra["memory_cgroup"]["path"].as_str().unwrap();
    assert!(
        !std::path::Path::new(folder).exists(),
        "{folder} is removed"
    );
    assert!(
        result
            .figures
            .iter()
            .any(|f| f.id == "time-per-pass-memory-limit")
    );
    assert!(
        result
            .figures
            .iter()
            .any(|f| f.id == "storage-per-pass-memory-limit")
    );
    let s14 = &result.claims[2];
    assert!(
        s14.evidence.contains("memory cgroup limited to 16 MiB"),
        "{}",
        s14.evidence
    );
}
