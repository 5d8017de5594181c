//! A quick run on this machine: the scratch ext4 is made exactly where it
//! can be, the claims are the judge's on the file as written, what msync
//! guarantees is in the timeline, and nothing is left behind (no loop
//! device, no mount here, an empty data folder). Without root the run
//! still completes: S10 not-measured with the reason, the fault passes on
//! the data folder.

use mmlab_core::scratch::{FsKind, attached_loop_devices, availability};
use mmlab_core::{RunContext, Verdict};
use writeback::judge::judge;
use writeback::timeline::{CHAIN_MSYNC, CHAIN_PRIVATE, MS_SYNC, PRIVATE_FLUSHED};

#[test]
fn a_quick_run_measures_what_it_can_and_leaves_nothing() {
    let base = tempfile::tempdir().unwrap();
    let loops_before = attached_loop_devices();
    let context = RunContext {
        data_dir_base: Some(base.path().to_path_buf()),
        repeat: Some(1),
        size_bytes: Some(1 << 20),
        ..RunContext::default()
    };
    let result = writeback::EXPERIMENT.run(&context).unwrap();
    assert_eq!(
        result.claims,
        judge(&mmlab_core::io::as_read_back(&result).unwrap())
    );
    let made = result.extra["filesystems"][0]["made"] == true;
    assert_eq!(made, availability(FsKind::Ext4).is_ok());
    let s10 = result.claims.iter().find(|c| c.id == "S10").unwrap();
    let timeline = result.extra["timeline"].as_array().unwrap();
    if made {
        let at = |chain: &str, moment: &str| {
            timeline
                .iter()
                .find(|r| r["chain"] == chain && r["moment"] == moment)
                .unwrap()
        };
        let k = result.params["timeline_k_pages"].as_u64().unwrap();
        // Documented: MS_SYNC waits for the update; MAP_PRIVATE is never
        // carried through to the file.
        assert_eq!(at(CHAIN_MSYNC, MS_SYNC)["storage_new"], k);
        assert_eq!(at(CHAIN_PRIVATE, PRIVATE_FLUSHED)["storage_old"], k);
        assert_ne!(s10.verdict, Verdict::Refuted, "{}", s10.evidence);
        assert_ne!(s10.verdict, Verdict::NotMeasured, "{}", s10.evidence);
    } else {
        assert_eq!(s10.verdict, Verdict::NotMeasured, "{}", s10.evidence);
        assert!(timeline.is_empty());
    }
    // The fault passes ran on any machine.
    let passes = result.extra["fault_passes"].as_array().unwrap();
    assert!(
        passes
            .iter()
            .any(|r| r["target"].as_str().unwrap().starts_with("data folder"))
    );
    let s15 = result.claims.iter().find(|c| c.id == "S15").unwrap();
    assert_ne!(s15.verdict, Verdict::NotMeasured, "{}", s15.evidence);
    // Nothing left: no loop device of ours, no mount here, an empty folder.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(attached_loop_devices(), loops_before);
    let mounts = mmlab_core::proc::mounts().unwrap();
    let here = base.path().canonicalize().unwrap();
    assert!(!mounts.into_iter().any(|m| m.mount_point.starts_with(&here)));
    assert!(std::fs::read_dir(base.path()).unwrap().next().is_none());
}
