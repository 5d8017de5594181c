//! Fixture tests of the judge step: a run recorded on the project's machine
//! (`tests/fixtures/copy-on-write.json`: quick profile, 16 MiB, ext4, root,
//! Linux 6.18; only the private-writes and memory-cost samples kept, without
//! their counter fields; summaries, figures and the figure tables cut out;
//! the stored claims emptied), mutated, drives each rule to each verdict it
//! can reach; and the committed reference run, whichever version of the
//! format it was recorded with, is judged as it was recorded. No kernel is
//! involved: these read JSON only.

use copy_on_write::frames::{
    MOMENT_AFTER, MOMENT_BEFORE, VIEW_PRIVATE, VIEW_READ_BUFFER, VIEW_SHARED_HERE,
};
use copy_on_write::judge::{judge, within_one_percent};
use copy_on_write::memory_cost::{PATH_MMAP, PATH_READ, PATH_READ_BEFORE, PATH_READ_STREAM};
use mmlab_core::datafile::DISK_DATA_DIR;
use mmlab_core::{Claim, ResultFile, Verdict};
use serde_json::{Value, json};
fn fixture() -> ResultFile {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/copy-on-write.json"
    );
    mmlab_core::io::read_result(std::path::Path::new(path)).expect("the fixture run")
}

fn reference() -> ResultFile {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../results/reference/copy-on-write.json"
    );
    mmlab_core::io::read_result(std::path::Path::new(path)).expect("the reference run")
}

fn verdicts(result: &ResultFile) -> (Claim, Claim) {
    let claims = judge(result);
    assert_eq!(claims.len(), 2);
    for claim in &claims {
        assert!(!claim.rule.is_empty(), "{}", claim.id);
        assert!(!claim.thresholds.is_empty(), "{}", claim.id);
    }
    (claims[0].clone(), claims[1].clone())
}

fn each_sample(result: &mut ResultFile, scenario: &str, f: impl Fn(&mut Value)) {
    for sample in result
        .samples
        .iter_mut()
        .filter(|s| s["scenario"] == scenario)
    {
        f(sample);
    }
}

fn frame_cell<'a>(result: &'a mut ResultFile, view: &str, moment: &str) -> &'a mut Value {
    result.extra["frames"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["view"] == view && r["moment"] == moment)
        .unwrap()
}

fn on_tmpfs(result: &mut ResultFile) {
    result.env.data_dir_fs = "tmpfs".into();
    result.env.data_dir = "/dev/shm/mmlab-1-2".into();
    each_sample(result, "memory-cost", |s| {
        let size = s["file_size_bytes"].clone();
        s["page_cache_before_bytes"] = size;
        s["page_cache_growth_bytes"] = json!(0);
    });
    result.extra["checks"]["frames_file_unchanged_on_disk"] = Value::Null;
    result.extra["checks"]["data_file_unchanged_on_disk_after_private_writes"] = Value::Null;
}

fn without_root(result: &mut ResultFile) {
    for row in result.extra["frames"].as_array_mut().unwrap() {
        row["pfn"] = json!("not-measured");
    }
    result.extra["checks"]["frames_unreadable"] = json!("needs CAP_SYS_ADMIN");
}

#[test]
fn the_recorded_run_is_judged_as_it_ran() {
    let (s4, s9) = verdicts(&fixture());
    assert_eq!(s4.verdict, Verdict::Holds, "{}", s4.evidence);
    assert_eq!(s9.verdict, Verdict::HoldsWithNuance, "{}", s9.evidence);
    assert!(
        s9.evidence.contains("No Linux run can do better"),
        "{}",
        s9.evidence
    );
    for needle in [
        "reading the 16 MiB file with read() into one 16 MiB buffer (as large as the file) held 16.0 MiB of page cache + 16.0 MiB of anonymous memory, mapping it 16.0 MiB of page cache + 0.0 MiB anonymous",
        "; streaming it with read() calls into one 64 KiB buffer, reused, held 16.0 MiB of page cache + 64 KiB anonymous (a second copy the size of the buffer, not of the file)",
    ] {
        assert!(s4.evidence.contains(needle), "{needle}: {}", s4.evidence);
    }
}

#[test]
fn the_reference_run_is_judged_as_it_was_recorded() {
    // Whatever format the committed reference has (before or after the
    // streaming path), today's rules give its stored verdicts.
    let stored = reference();
    let (s4, s9) = verdicts(&stored);
    for claim in [&s4, &s9] {
        let recorded = stored.claims.iter().find(|c| c.id == claim.id).unwrap();
        assert_eq!(claim.verdict, recorded.verdict, "{}", claim.evidence);
    }
    assert!(
        s4.evidence
            .contains("into one 16 MiB buffer (as large as the file)"),
        "{}",
        s4.evidence
    );
}

#[test]
fn the_streaming_read_is_reported_and_never_judged() {
    // A streaming path that held a whole second copy: said as measured,
    // without the "size of the buffer" remark, and the verdict stays.
    let mut result = fixture();
    each_sample(&mut result, "memory-cost", |s| {
        if s["path"] == PATH_READ_STREAM {
            s["rss_anon_growth_bytes"] = json!(16 << 20);
        }
    });
    let (s4, _) = verdicts(&result);
    assert_eq!(s4.verdict, Verdict::Holds, "{}", s4.evidence);
    assert!(
        s4.evidence
            .contains("reused, held 16.0 MiB of page cache + 16.0 MiB anonymous"),
        "{}",
        s4.evidence
    );
    assert!(
        !s4.evidence.contains("size of the buffer"),
        "{}",
        s4.evidence
    );
    // Warm at every start: not measured, and still no effect on S4.
    let mut result = fixture();
    each_sample(&mut result, "memory-cost", |s| {
        if s["path"] == PATH_READ_STREAM {
            s["page_cache_before_bytes"] = json!(16 << 20);
        }
    });
    let (s4, _) = verdicts(&result);
    assert_eq!(s4.verdict, Verdict::Holds, "{}", s4.evidence);
    assert!(
        s4.evidence.contains(
            "the streaming read() into one 64 KiB buffer was not measured: none of its 3 repetitions started cold"
        ),
        "{}",
        s4.evidence
    );
    // A file from before the streaming path: the read() path under its old
    // name, without buffer_bytes, is the file-sized one.
    let mut result = fixture();
    result
        .samples
        .retain(|s| !(s["scenario"] == "memory-cost" && s["path"] == PATH_READ_STREAM));
    each_sample(&mut result, "memory-cost", |s| {
        if s["path"] == PATH_READ {
            s["path"] = json!(PATH_READ_BEFORE);
        }
        s.as_object_mut().unwrap().remove("buffer_bytes");
    });
    let (s4, _) = verdicts(&result);
    assert_eq!(s4.verdict, Verdict::Holds, "{}", s4.evidence);
    assert!(
        s4.evidence
            .contains("with read() into one 16 MiB buffer (as large as the file) held 16.0 MiB"),
        "{}",
        s4.evidence
    );
    assert!(!s4.evidence.contains("streaming"), "{}", s4.evidence);
}

#[test]
fn s4_holds_with_nuance_with_one_half_only() {
    // tmpfs: the frames decide, the memory split is not measured.
    let mut result = fixture();
    on_tmpfs(&mut result);
    let (s4, _) = verdicts(&result);
    assert_eq!(s4.verdict, Verdict::HoldsWithNuance, "{}", s4.evidence);
    for needle in [
        "memory split (page cache against anonymous memory) was not measured",
        "3 of 3 repetitions of read() into a file-sized buffer started with the file still cached (up to 16.0 MiB of 16.0 MiB)",
        "tmpfs",
        DISK_DATA_DIR,
    ] {
        assert!(s4.evidence.contains(needle), "{needle}: {}", s4.evidence);
    }
    // No root: the memory split decides.
    let mut result = fixture();
    without_root(&mut result);
    let (s4, _) = verdicts(&result);
    assert_eq!(s4.verdict, Verdict::HoldsWithNuance, "{}", s4.evidence);
    assert!(
        s4.evidence
            .contains("frames not measured: needs CAP_SYS_ADMIN"),
        "{}",
        s4.evidence
    );
}

#[test]
fn s4_is_not_measured_without_either_half_and_never_refuted_by_a_failed_eviction() {
    let mut result = fixture();
    on_tmpfs(&mut result);
    without_root(&mut result);
    let (s4, _) = verdicts(&result);
    assert_eq!(s4.verdict, Verdict::NotMeasured, "{}", s4.evidence);
    // Off tmpfs an incomplete eviction is named as such.
    let mut result = fixture();
    without_root(&mut result);
    each_sample(&mut result, "memory-cost", |s| {
        s["page_cache_before_bytes"] = json!(8 << 20);
        s["page_cache_growth_bytes"] = json!(8 << 20);
        s["rss_anon_growth_bytes"] = json!(0);
    });
    let (s4, _) = verdicts(&result);
    assert_eq!(s4.verdict, Verdict::NotMeasured, "{}", s4.evidence);
    assert!(
        s4.evidence.contains("another process may map it"),
        "{}",
        s4.evidence
    );
    // A cold start whose page cache did not fill measures nothing either.
    let mut result = fixture();
    without_root(&mut result);
    each_sample(&mut result, "memory-cost", |s| {
        s["page_cache_growth_bytes"] = json!(1 << 20);
    });
    let (s4, _) = verdicts(&result);
    assert_eq!(s4.verdict, Verdict::NotMeasured, "{}", s4.evidence);
    assert!(
        s4.evidence.contains("grew the page cache by only 1.0 MiB"),
        "{}",
        s4.evidence
    );
    // A file without the tables says what is missing.
    let mut result = fixture();
    result.extra.remove("frames");
    result.samples.retain(|s| s["scenario"] != "memory-cost");
    let (s4, s9) = verdicts(&result);
    assert_eq!(s4.verdict, Verdict::NotMeasured, "{}", s4.evidence);
    assert_eq!(s9.verdict, Verdict::NotMeasured, "{}", s9.evidence);
    assert!(s9.evidence.contains("no `frames` table"), "{}", s9.evidence);
}

#[test]
fn one_warm_repetition_of_three_does_not_decide_s4() {
    let mut result = fixture();
    let mut first = true;
    for sample in result
        .samples
        .iter_mut()
        .filter(|s| s["scenario"] == "memory-cost" && s["path"] == PATH_READ)
    {
        if std::mem::take(&mut first) {
            sample["page_cache_before_bytes"] = json!(16 << 20);
            sample["page_cache_growth_bytes"] = json!(0);
        }
    }
    let (s4, _) = verdicts(&result);
    assert_eq!(s4.verdict, Verdict::Holds, "{}", s4.evidence);
}

#[test]
fn s4_is_refuted_by_what_was_measured() {
    // A cold mmap path that held an anonymous copy.
    let mut result = fixture();
    each_sample(&mut result, "memory-cost", |s| {
        if s["path"] == PATH_MMAP {
            s["rss_anon_growth_bytes"] = json!(16 << 20);
        }
    });
    let (s4, _) = verdicts(&result);
    assert_eq!(s4.verdict, Verdict::Refuted, "{}", s4.evidence);
    // A read() buffer in the page-cache frame, even with the memory
    // half not measured (tmpfs).
    let mut result = fixture();
    on_tmpfs(&mut result);
    let cache = frame_cell(&mut result, VIEW_SHARED_HERE, MOMENT_BEFORE)["pfn"].clone();
    frame_cell(&mut result, VIEW_READ_BUFFER, MOMENT_BEFORE)["pfn"] = cache;
    let (s4, _) = verdicts(&result);
    assert_eq!(s4.verdict, Verdict::Refuted, "{}", s4.evidence);
}

fn snapshot(result: &mut ResultFile) {
    result.extra["visibility"]["read_page_shows_shared_write"] = json!(false);
    result.extra["visibility"]["untouched_page_shows_shared_write"] = json!(false);
}

#[test]
fn s9_holds_only_for_a_private_mapping_that_isolates_both_ways() {
    let mut result = fixture();
    snapshot(&mut result);
    let (_, s9) = verdicts(&result);
    assert_eq!(s9.verdict, Verdict::Holds, "{}", s9.evidence);
    assert!(!s9.evidence.contains("but"), "{}", s9.evidence);
}

#[test]
fn s9_nuances() {
    // Faults not one per page.
    let mut result = fixture();
    snapshot(&mut result);
    each_sample(&mut result, "private-writes", |s| {
        if s["n_pages_written"] == 256 {
            s["n_faults_write"] = json!(300);
        }
    });
    let (_, s9) = verdicts(&result);
    assert_eq!(s9.verdict, Verdict::HoldsWithNuance, "{}", s9.evidence);
    assert!(
        s9.evidence.contains("k = 256: 300 faults, 256 pages"),
        "{}",
        s9.evidence
    );
    // One repetition off in five does not move the median.
    let mut result = fixture();
    snapshot(&mut result);
    each_sample(&mut result, "private-writes", |s| {
        if s["n_pages_written"] == 256 && s["repetition"] == 0 {
            s["n_faults_write"] = json!(300);
        }
    });
    assert_eq!(verdicts(&result).1.verdict, Verdict::Holds);
    // The disk not checked (tmpfs).
    let mut result = fixture();
    snapshot(&mut result);
    on_tmpfs(&mut result);
    let (_, s9) = verdicts(&result);
    assert_eq!(s9.verdict, Verdict::HoldsWithNuance, "{}", s9.evidence);
    assert!(
        s9.evidence
            .contains("on disk: not checked: the data folder /dev/shm/mmlab-1-2 is on tmpfs"),
        "{}",
        s9.evidence
    );
}

#[test]
fn s9_is_refuted_by_a_leak_or_a_lost_write() {
    let mut result = fixture();
    each_sample(&mut result, "private-writes", |s| {
        if s["n_pages_written"] == 16 && s["repetition"] == 2 {
            s["n_written_pages_unchanged_read"] = json!(15);
        }
    });
    let (_, s9) = verdicts(&result);
    assert_eq!(s9.verdict, Verdict::Refuted, "{}", s9.evidence);
    assert!(s9.evidence.contains("did NOT all keep"), "{}", s9.evidence);
    assert!(s9.evidence.contains("1 through pread()"), "{}", s9.evidence);

    let mut result = fixture();
    result.extra["checks"]["data_file_unchanged_on_disk_after_private_writes"] = json!(false);
    assert_eq!(verdicts(&result).1.verdict, Verdict::Refuted);

    let mut result = fixture();
    result.extra["checks"]["second_process_written_pages_unchanged"] = json!(4000);
    assert_eq!(verdicts(&result).1.verdict, Verdict::Refuted);

    let mut result = fixture();
    frame_cell(&mut result, VIEW_PRIVATE, MOMENT_AFTER)["shows_private_write"] = json!(false);
    let (_, s9) = verdicts(&result);
    assert_eq!(s9.verdict, Verdict::Refuted, "{}", s9.evidence);
    assert!(
        s9.evidence.contains("did not keep its own write"),
        "{}",
        s9.evidence
    );
}

#[test]
fn s9_is_not_measured_without_its_tables() {
    for key in ["checks", "visibility"] {
        let mut result = fixture();
        result.extra.remove(key);
        let (_, s9) = verdicts(&result);
        assert_eq!(s9.verdict, Verdict::NotMeasured, "{}", s9.evidence);
        assert!(s9.evidence.contains(key), "{}", s9.evidence);
    }
    let mut result = fixture();
    result.samples.retain(|s| s["scenario"] != "private-writes");
    let (_, s9) = verdicts(&result);
    assert_eq!(s9.verdict, Verdict::NotMeasured, "{}", s9.evidence);
    assert!(
        s9.evidence.contains("no `private-writes` samples"),
        "{}",
        s9.evidence
    );
}

#[test]
fn one_percent_has_a_floor_of_one_fault() {
    assert!(within_one_percent(2.0, 1.0));
    assert!(!within_one_percent(3.0, 1.0));
    assert!(within_one_percent(4136.0, 4096.0));
    assert!(!within_one_percent(4138.0, 4096.0));
}
