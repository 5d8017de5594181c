//! The workloads run in this process: they succeed, their checksum is the
//! data file's, and a bad spec is an error naming it. (Traced runs of them
//! are tested through the mmlab binary, in crates/mmlab/tests/trace.rs.)

use mmlab_core::DataDir;
use who_calls_mmap::workload::{checksum, run_workload};

#[test]
fn workloads_read_the_file_and_agree_with_its_checksum() {
    let base = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = DataDir::create(Some(base)).expect("data folder");
    // An odd size: the checksum pads the last partial word with zeros.
    let file = dir
        .create_file("data.bin", 3 * 4096 + 5)
        .expect("data file");
    let bytes = std::fs::read(&file.path).unwrap();
    assert_eq!(checksum(&bytes), file.checksum);
    let path = file.path.display().to_string();
    for spec in [
        format!("fs-read:{path}"),
        format!("read-4k:{path}"),
        format!("mmap:{path}"),
        "malloc:200k".to_string(),
        "malloc-twice:1000".to_string(),
        "noop".to_string(),
    ] {
        assert_eq!(run_workload(&spec).unwrap(), 0, "{spec}");
    }
}

#[test]
fn bad_workloads_are_errors_that_name_them() {
    for spec in [
        "nosuch",
        "malloc:0",
        "malloc:lots",
        "readloop:x",
        "fs-read:/nonexistent-mmlab",
    ] {
        let error = run_workload(spec).expect_err(spec).to_string();
        assert!(
            error.contains(spec.split(':').next().unwrap()) || error.contains("nonexistent"),
            "{spec}: {error}"
        );
    }
}
