//! The key cases of the truth table, asserted on the running kernel: each
//! runs exactly as `mmlab run prot-flags` runs it (a fresh data file, a
//! forked probe child), and the test checks the observed outcome.

use mmlab_core::experiment::PMU_NOT_PROBED;
use mmlab_core::fingerprint::Fingerprint;
use mmlab_core::{DataDir, RunContext, Verdict};
use prot_flags::cases::{ExecOnly, Plan};
use prot_flags::model::Observed;
use prot_flags::{CaseResult, Dirs, cases, plan, run_case};

/// The plan as a run in a data folder under `base` makes it: from this
/// machine's fingerprint, read now.
fn plan_in(dir: &std::path::Path) -> Plan {
    let env = Fingerprint::collect(dir, Err(PMU_NOT_PROBED.to_string()));
    plan(&env, dir, prot_flags::tmpfs_dir().err())
}

/// The plan for a data folder like the tests' (for sizes and contents).
fn plan_here() -> Plan {
    let base = data_base();
    plan_in(base.path())
}

/// Runs the case with this id and returns what the kernel did.
fn observe(id: &str) -> CaseResult {
    let base = data_base();
    let dir = DataDir::create(Some(base.path())).expect("data folder");
    let tmpfs = prot_flags::tmpfs_dir();
    let env = Fingerprint::collect(dir.path(), Err(PMU_NOT_PROBED.to_string()));
    let plan = plan(&env, dir.path(), tmpfs.as_ref().err().cloned());
    let all = cases::all(&plan);
    let case = all
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no case {id}"));
    let dirs = Dirs {
        data: dir.path(),
        tmpfs: tmpfs.as_ref().ok().map(DataDir::path),
    };
    run_case(case, &plan, &dirs, "case.bin").expect("the probe ran")
}

/// A folder for data files on the target's disk (not /tmp, which may be
/// tmpfs), removed at the end of the test.
fn data_base() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temporary folder")
}

fn signal(signal: &str, si_code: Option<&str>) -> Observed {
    Observed::Signal {
        signal: signal.to_string(),
        si_code: si_code.map(str::to_string),
    }
}

fn errno(name: &str, call: &str) -> Observed {
    Observed::Errno {
        name: name.to_string(),
        call: call.to_string(),
    }
}

fn ok(value: impl Into<String>) -> Observed {
    Observed::Ok {
        value: value.into(),
    }
}

fn check(id: &str, expected: Observed) {
    let result = observe(id);
    assert_eq!(
        result.observed, expected,
        "case {id} ({}; {})",
        result.setup, result.action
    );
}

#[test]
fn write_to_prot_read_is_segv_accerr() {
    check("prot-r-write", signal("SIGSEGV", Some("SEGV_ACCERR")));
    check("prot-none-read", signal("SIGSEGV", Some("SEGV_ACCERR")));
}

#[test]
fn shared_writable_mapping_of_a_read_only_fd_is_eacces() {
    check("open-rdonly-shared-rw", errno("EACCES", "mmap"));
    check(
        "open-rdonly-shared-mprotect-rw",
        errno("EACCES", "mprotect"),
    );
}

#[test]
fn private_write_on_a_read_only_fd_works_and_leaves_the_file_unchanged() {
    let plan = plan_here();
    let original = plan.contents[cases::PROBE_OFFSET];
    check(
        "open-rdonly-private-rw",
        ok(format!("mapping 0xa5, file {original:#04x}")),
    );
}

#[test]
fn unaligned_offset_is_einval_and_aligned_offset_maps_those_bytes() {
    let page = plan_here().page;
    check("offset-unaligned", errno("EINVAL", "mmap"));
    check(
        "offset-aligned",
        ok(format!(
            "{page} of {page} bytes equal the file's bytes at offset {page}"
        )),
    );
}

#[test]
fn page_past_eof_is_sigbus_and_the_tail_of_the_last_page_reads_zero() {
    let result = observe("offset-page-past-eof");
    assert!(
        matches!(&result.observed, Observed::Signal { signal, .. } if signal == "SIGBUS"),
        "{:?}",
        result.observed
    );
    let page = plan_here().page;
    check(
        "offset-tail-zeroed",
        ok(format!(
            "last page: 100 bytes equal the file's, {} bytes after EOF zero",
            page - 100
        )),
    );
}

#[test]
fn fixed_noreplace_on_a_used_range_is_eexist() {
    check("fixed-noreplace-used", errno("EEXIST", "mmap"));
    check(
        "fixed-replaces",
        ok("placed at the address: yes, reads 0x00"),
    );
}

#[test]
fn exec_stub_runs_from_read_exec_and_faults_from_read_write() {
    if prot_flags::raw::STUB.is_none() {
        println!(
            "skipped: no machine-code stub for {}",
            std::env::consts::ARCH
        );
        return;
    }
    check("prot-rx-exec", ok("returned 42"));
    check("prot-rw-exec", signal("SIGSEGV", Some("SEGV_ACCERR")));
    check("mprotect-jit-rw-to-rx-exec", ok("returned 42"));
}

#[test]
fn a_bad_fd_is_ebadf_and_a_directory_or_pipe_is_enodev() {
    check("fd-minus-1-without-anonymous", errno("EBADF", "mmap"));
    check("fd-closed", errno("EBADF", "mmap"));
    check("fd-directory", errno("ENODEV", "mmap"));
    check("fd-pipe", errno("ENODEV", "mmap"));
}

#[test]
fn after_ftruncate_the_pages_past_the_new_end_sigbus_and_the_rest_still_read() {
    let result = observe("truncate-read-past-new-end");
    assert!(
        matches!(&result.observed, Observed::Signal { signal, .. } if signal == "SIGBUS"),
        "{:?}",
        result.observed
    );
    let original = plan_here().contents[cases::PROBE_OFFSET];
    check(
        "truncate-read-before-new-end",
        ok(format!("read {original:#04x}")),
    );
}

#[test]
fn an_invalid_madvise_advice_is_einval_and_dontneed_resets_a_private_page() {
    check("madvise-invalid-advice", errno("EINVAL", "madvise"));
    let original = plan_here().contents[cases::PROBE_OFFSET];
    check(
        "madvise-dontneed-private-file",
        ok(format!("read {original:#04x}")),
    );
    check("madvise-dontneed-anonymous", ok("read 0x00"));
}

#[test]
fn an_exec_only_page_follows_the_cpu_protection_keys() {
    let plan = plan_here();
    let byte = plan.contents[cases::PROBE_OFFSET];
    match ExecOnly::of(&plan) {
        ExecOnly::ProtectionKeys => {
            check("prot-x-read", signal("SIGSEGV", Some("SEGV_PKUERR")));
            check("prot-x-write", signal("SIGSEGV", Some("SEGV_PKUERR")));
        }
        ExecOnly::Readable => {
            check("prot-x-read", ok(format!("read {byte:#04x}")));
            check("prot-x-write", signal("SIGSEGV", Some("SEGV_ACCERR")));
        }
        ExecOnly::Unknown => {
            // Another CPU: the man page leaves it to the architecture, so
            // only "a read works or faults with SIGSEGV" is fixed.
            let result = observe("prot-x-read");
            assert!(
                matches!(&result.observed, Observed::Ok { .. })
                    || matches!(&result.observed, Observed::Signal { signal, .. } if signal == "SIGSEGV"),
                "{} with protection keys {:?}: {:?}",
                plan.arch,
                plan.protection_keys,
                result.observed
            );
        }
    }
    if raw_stub_present() {
        check("prot-x-exec", ok("returned 42"));
    }
}

fn raw_stub_present() -> bool {
    prot_flags::raw::STUB.is_some()
}

#[test]
fn shared_writes_are_seen_by_a_forked_child_and_reach_the_file() {
    check("shared-fork-child-writes", ok("parent reads 0xa5"));
    check("shared-file-after-msync", ok("file 0xa5 after msync"));
    check("anon-private-fork", ok("parent reads 0x00"));
}

#[test]
fn a_quick_run_fills_the_table_and_lists_every_mismatch_as_a_warning() {
    let base = data_base();
    let context = RunContext {
        data_dir_base: Some(base.path().to_path_buf()),
        ..RunContext::default()
    };
    let result = prot_flags::EXPERIMENT.run(&context).expect("the run");
    let cases = result.extra["cases"].as_array().expect("a cases array");
    assert!(cases.len() >= 160, "{} cases", cases.len());
    for case in cases {
        for field in [
            "id",
            "group",
            "setup",
            "action",
            "expected",
            "expected_source",
            "observed",
            "matches",
            "mismatch",
            "elapsed_ns",
        ] {
            assert!(case.get(field).is_some(), "{field} missing in {case}");
        }
        let kind = case["observed_kind"].as_str().unwrap();
        assert!(
            kind != "timeout" && kind != "probe-failed",
            "a case's probe failed: {case}"
        );
    }
    let n_mismatches = cases.iter().filter(|c| c["mismatch"] == true).count();
    let n_warnings = result
        .warnings
        .iter()
        .filter(|w| w.kind == "mismatch")
        .count();
    assert_eq!(n_mismatches, n_warnings);
    assert_eq!(result.samples.len(), cases.len());
    assert_eq!(result.claims.len(), prot_flags::CLAIMS.len());
    for claim in &result.claims {
        assert_ne!(claim.verdict, Verdict::NotMeasured, "{claim:?}");
        assert!(!claim.evidence.is_empty());
    }
    let figure_data: Vec<&str> = result.figures.iter().map(|f| f.data.as_str()).collect();
    assert!(figure_data.contains(&"cases"), "{figure_data:?}");
    let cells = result.extra["case_cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2 * cases.len());
}
