//! Without root: the run still completes, with no scratch filesystem (the
//! reason in the table and a warning), S10 not-measured with that reason,
//! and the fault passes on the data folder. As root the same test binary
//! is run again as uid 65534 (nobody) for the helper below; without root
//! the ordinary run test already is this case, and this one skips.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;

use mmlab_core::testing::{Capability, skip};
use mmlab_core::{ResultFile, RunContext, Verdict};

const BASE: &str = "WRITEBACK_TEST_BASE";

/// Run only by the test below, as nobody (`--ignored --exact`).
#[test]
#[ignore = "a helper: run as uid 65534 by a_run_without_root_measures_the_passes_and_says_why_not_the_rest"]
fn helper_run_as_nobody() {
    let base = std::path::PathBuf::from(std::env::var(BASE).expect("the base folder"));
    let data = base.join("data");
    std::fs::create_dir(&data).unwrap();
    let context = RunContext {
        data_dir_base: Some(data.clone()),
        repeat: Some(1),
        size_bytes: Some(1 << 20),
        ..RunContext::default()
    };
    let result = writeback::EXPERIMENT.run(&context).unwrap();
    std::fs::write(
        base.join("result.json"),
        serde_json::to_vec(&result).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_run_without_root_measures_the_passes_and_says_why_not_the_rest() {
    if !mmlab_core::fingerprint::is_root() {
        skip(
            Capability::Root,
            "a run as another user (the ordinary run test covers this user)",
            "switching to uid 65534 needs root",
        );
        return;
    }
    let base = tempfile::tempdir().unwrap();
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "helper_run_as_nobody", "--quiet"])
        .env(BASE, base.path())
        .current_dir(base.path())
        .uid(65534)
        .gid(65534)
        .status()
        .unwrap();
    assert!(status.success(), "the run as nobody: {status}");
    let text = std::fs::read_to_string(base.path().join("result.json")).unwrap();
    let result: ResultFile = serde_json::from_str(&text).unwrap();
    let fs = &result.extra["filesystems"][0];
    assert_eq!(fs["made"], false);
    assert!(
        fs["reason"].as_str().unwrap().contains("needs root"),
        "{fs}"
    );
    assert!(
        result
            .warnings
            .iter()
            .any(|w| w.kind == "filesystem-unavailable")
    );
    let s10 = result.claims.iter().find(|c| c.id == "S10").unwrap();
    assert_eq!(s10.verdict, Verdict::NotMeasured);
    assert!(s10.evidence.contains("needs root"), "{}", s10.evidence);
    assert!(result.extra["timeline"].as_array().unwrap().is_empty());
    let passes = result.extra["fault_passes"].as_array().unwrap();
    assert!(!passes.is_empty());
    assert!(
        passes
            .iter()
            .all(|r| r["target"].as_str().unwrap().starts_with("data folder"))
    );
    // The data folder's own folder is gone again.
    assert!(
        std::fs::read_dir(base.path().join("data"))
            .unwrap()
            .next()
            .is_none()
    );
}
