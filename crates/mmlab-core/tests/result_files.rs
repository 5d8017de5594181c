//! Result files: round trip, atomic writes under SIGKILL, and readers that
//! name the file and the field they cannot use.

use std::path::Path;
use std::time::{Duration, Instant};

use mmlab_core::io::{ReadError, read_result, read_results_dir, write_result};
use mmlab_core::probe::{Ending, run_in_child};
use mmlab_core::schema::{Axis, FigureKind, FigureSpec};
use mmlab_core::{Availability, Claim, RunContext, Summary, Verdict, Warning};

fn sample_result(n_samples: usize) -> mmlab_core::ResultFile {
    let context = RunContext::default();
    let mut result = context.new_result("round-trip", Path::new("."));
    result.param("file_size_bytes", 64u64 << 20);
    result
        .counters_available
        .insert("minor-faults".into(), Availability::Available);
    result.counters_available.insert(
        "cycles".into(),
        Availability::Unavailable("unsupported: no hardware PMU (ENOENT)".into()),
    );
    for i in 0..n_samples {
        result.samples.push(serde_json::json!({"series": "a,b \"quoted\"", "repetition": i, "elapsed_ns": 1000 + i, "perf_cycles": null}));
    }
    result
        .summaries
        .push(Summary::of("a", "elapsed_ns", &[1.0, 2.0, 3.0]).unwrap());
    result.claims.push(Claim::new(
        "S6",
        Verdict::HoldsWithNuance,
        "79 faults for 16384 pages",
    ));
    result
        .warnings
        .push(Warning::new("noisy", "cv 0.3", "rerun with --repeat 20"));
    result.figures.push(FigureSpec {
        id: "faults".into(),
        title: "Does mmap load lazily?".into(),
        kind: FigureKind::Line,
        data: "samples".into(),
        filter: Default::default(),
        x: Axis::log("repetition", "repetition"),
        y: Axis::new("elapsed_ns", "time (ns)"),
        series: Some("series".into()),
        cell_text: None,
        cell_colour: None,
        cell_mark: None,
        reference_lines: vec![],
        how_to_read: "".into(),
        claims: vec!["S6".into()],
    });
    result
        .extra
        .insert("cases".into(), serde_json::json!([{"id": "c1"}]));
    result
}

#[test]
fn result_files_round_trip_with_a_csv_beside_them() {
    let dir = tempfile::tempdir_in(".").unwrap();
    let result = sample_result(3);
    let path = write_result(dir.path(), &result).unwrap();
    assert_eq!(path, dir.path().join("round-trip.json"));
    let back = read_result(&path).unwrap();
    assert_eq!(back, result);
    assert_eq!(
        back.claims[0].statement,
        "lazy loading: a block is loaded only when referenced"
    );
    let csv = std::fs::read_to_string(dir.path().join("round-trip.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "series,repetition,elapsed_ns,perf_cycles");
    assert_eq!(lines[1], "\"a,b \"\"quoted\"\"\",0,1000,");
    assert_eq!(lines.len(), 4);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["counters_available"]["minor-faults"], true);
    assert_eq!(
        json["counters_available"]["cycles"],
        "unsupported: no hardware PMU (ENOENT)"
    );
    assert_eq!(json["claims"][0]["verdict"], "holds-with-nuance");
    assert_eq!(
        json["cases"][0]["id"], "c1",
        "extra fields sit at the top level"
    );
}

#[test]
fn a_writer_killed_mid_write_never_leaves_a_half_file() {
    let dir = tempfile::tempdir_in(".").unwrap();
    let big = sample_result(20_000);
    write_result(dir.path(), &big).unwrap();
    let expected_len = std::fs::metadata(dir.path().join("round-trip.json"))
        .unwrap()
        .len();
    // Kill writers at growing delays, so some die mid-write and some after.
    for attempt in 0..12u64 {
        let dir_path = dir.path().to_path_buf();
        let result = big.clone();
        let started = Instant::now();
        let outcome = run_in_child(Duration::from_millis(1 + attempt * 3), move |_| {
            loop {
                write_result(&dir_path, &result).unwrap();
            }
        })
        .unwrap();
        assert!(
            matches!(outcome.ending, Ending::TimedOut { .. }),
            "{:?} after {:?}",
            outcome.ending,
            started.elapsed()
        );
        let written = read_result(&dir.path().join("round-trip.json"))
            .expect("the final file is always whole");
        assert_eq!(written.samples.len(), 20_000);
        assert_eq!(
            std::fs::metadata(dir.path().join("round-trip.json"))
                .unwrap()
                .len(),
            expected_len
        );
    }
    // The next write sweeps away temporaries left by killed writers.
    write_result(dir.path(), &big).unwrap();
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "stale temporaries: {leftovers:?}");
}

fn check_error(text: &str, expected_fragments: &[&str]) {
    let dir = tempfile::tempdir_in(".").unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, text).unwrap();
    let error = read_result(&path).unwrap_err().to_string();
    assert!(error.contains(&path.display().to_string()), "{error}");
    for fragment in expected_fragments {
        assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
    }
}

#[test]
fn unusable_files_are_named_with_the_field_at_fault() {
    check_error("{not json", &["not valid JSON"]);
    check_error(r#"{"schema_version": 2}"#, &["schema_version 2"]);
    check_error(r#"{"experiment": "x"}"#, &["schema_version", "missing"]);
    let mut good = serde_json::to_value(sample_result(1)).unwrap();
    good.as_object_mut().unwrap().remove("claims");
    check_error(&good.to_string(), &["`claims`"]);
    let text = serde_json::to_string(&sample_result(1)).unwrap();
    check_error(&text[..text.len() / 2], &["not valid JSON"]);
}

#[test]
fn a_folder_with_one_bad_file_still_yields_the_good_ones() {
    let dir = tempfile::tempdir_in(".").unwrap();
    write_result(dir.path(), &sample_result(2)).unwrap();
    std::fs::write(dir.path().join("broken.json"), "[]").unwrap();
    let (good, bad) = read_results_dir(dir.path());
    assert_eq!(good.len(), 1);
    assert_eq!(bad.len(), 1);
    assert!(
        matches!(&bad[0], ReadError::Field { path, .. } if path.ends_with("broken.json")),
        "{:?}",
        bad[0]
    );
}
