//! A quick run on this machine: every kind it can make is measured, the
//! main namespace never sees a mount, no loop device stays attached, and
//! the verdict is recomputed from the file alone. Without root (or loop
//! devices) the run still completes, with the kinds not made and why.

use filesystems::judge::judge;
use mmlab_core::scratch::{FsKind, attached_loop_devices, availability};
use mmlab_core::{RunContext, Verdict};

#[test]
fn a_quick_run_measures_what_it_can_and_leaves_nothing() {
    let base = tempfile::tempdir().unwrap();
    let loops_before = attached_loop_devices();
    let context = RunContext {
        data_dir_base: Some(base.path().to_path_buf()),
        repeat: Some(1),
        size_bytes: Some(4 << 20),
        ..RunContext::default()
    };
    let result = filesystems::EXPERIMENT.run(&context).unwrap();
    let made: Vec<&str> = result.extra["filesystems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["made"] == true)
        .map(|r| r["filesystem"].as_str().unwrap())
        .collect();
    for kind in FsKind::ALL {
        assert_eq!(
            made.contains(&kind.name()),
            availability(kind).is_ok(),
            "{kind}: made exactly where it can be"
        );
    }
    // The claim is the judge's on the file as written.
    let claim = &result.claims[0];
    assert_eq!(
        claim,
        &judge(&mmlab_core::io::as_read_back(&result).unwrap())[0]
    );
    let block = [FsKind::Ext4, FsKind::Xfs, FsKind::Btrfs];
    if block.iter().all(|k| availability(*k).is_err()) {
        assert_eq!(claim.verdict, Verdict::NotMeasured, "{}", claim.evidence);
    } else {
        // Every block filesystem must cache a cold read's data in the file's
        // own pages: whatever else, S3 cannot be refuted for want of that.
        for row in result.extra["cache_moves"].as_array().unwrap() {
            if row["action"] == filesystems::ACTION_READ && row["filesystem"] != "tmpfs" {
                assert_eq!(
                    row["file_pages_after"], result.params["data_file_pages"],
                    "{row}"
                );
            }
        }
    }
    // Nothing left: no loop device of ours, no mount here, an empty folder.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(attached_loop_devices(), loops_before);
    let mounts = mmlab_core::proc::mounts().unwrap();
    let here = base.path().canonicalize().unwrap();
    assert!(!mounts.into_iter().any(|m| m.mount_point.starts_with(&here)));
    assert!(std::fs::read_dir(base.path()).unwrap().next().is_none());
}
