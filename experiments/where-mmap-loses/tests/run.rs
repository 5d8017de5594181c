//! A short run on this machine (one round of every part, a 64 MiB file for
//! the random reads): every part measures, every method's sum and every
//! page read match the data file, the verdicts are the judge's on the file
//! as it reads back, and nothing stays behind (data folder, loop devices,
//! mounts, the CPU affinity).

use mmlab_core::{RunContext, Verdict};
use where_mmap_loses::judge::judge;

#[test]
fn a_short_run_measures_every_part_and_leaves_nothing() {
    let base = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let loops_before = mmlab_core::scratch::attached_loop_devices();
    let affinity_before = where_mmap_loses::unmap::allowed_cpus();
    let context = RunContext {
        data_dir_base: Some(base.path().to_path_buf()),
        repeat: Some(1),
        size_bytes: Some(64 << 20),
        ..RunContext::default()
    };
    let result = where_mmap_loses::EXPERIMENT.run(&context).unwrap();
    assert_eq!(
        result.claims,
        judge(&mmlab_core::io::as_read_back(&result).unwrap())
    );
    let part = |name: &str| -> Vec<&serde_json::Value> {
        result
            .samples
            .iter()
            .filter(|r| r["part"] == name)
            .collect()
    };
    // L1: every size by every method, each file summed to its checksum.
    let small = part("small-files");
    assert_eq!(
        small.len(),
        result.params["small_file_sizes_bytes"]
            .as_array()
            .unwrap()
            .len()
            * 4
    );
    assert!(small.iter().all(|r| r["sums_ok"] == true));
    // L2: every pass read distinct pages of an evicted file, each right
    // (io_uring may be refused: then the row says why).
    let random = part("random-reads");
    assert_eq!(random.len(), 4 + 3);
    for row in &random {
        if row.get("error").is_some() {
            assert!(
                row["method"].as_str().unwrap().starts_with("io_uring"),
                "{row}"
            );
            continue;
        }
        assert_eq!(row["bad_reads"], 0, "{row}");
        assert_eq!(row["resident_pages_before"], 0, "{row}");
        if row["family"] == "mmap" {
            // An evicted page must be read from storage again.
            assert!(row["major_faults"].as_u64().unwrap() > 0, "{row}");
        }
    }
    // L3: every call succeeded.
    assert!(part("unmap").iter().all(|r| r["rc"] == 0));
    // L4: the truncation always shows SIGBUS against read()'s 0.
    let l4 = result.claims.iter().find(|c| c.id == "L4").unwrap();
    assert_eq!(l4.verdict, Verdict::Refuted, "{}", l4.evidence);
    if affinity_before.len() < 2 {
        let l3 = result.claims.iter().find(|c| c.id == "L3").unwrap();
        assert_eq!(l3.verdict, Verdict::NotMeasured, "{}", l3.evidence);
    }
    // Nothing left.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(mmlab_core::scratch::attached_loop_devices(), loops_before);
    assert_eq!(where_mmap_loses::unmap::allowed_cpus(), affinity_before);
    let mounts = mmlab_core::proc::mounts().unwrap();
    let here = base.path().canonicalize().unwrap();
    assert!(!mounts.into_iter().any(|m| m.mount_point.starts_with(&here)));
    assert!(std::fs::read_dir(base.path()).unwrap().next().is_none());
}
