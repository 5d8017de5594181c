//! The workloads run in this process: they succeed, their checksum is the
//! data file's, and a bad spec is an error naming it. (Traced runs of them
//! are tested through the mmlab binary, in crates/mmlab/tests/trace.rs.)

use mmlab_core::DataDir;
use who_calls_mmap::workload::{WorkloadReport, checksum, execute_workload, run_workload};

#[test]
fn workloads_read_the_file_and_agree_with_its_checksum() {
    let base = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = DataDir::create(Some(base)).expect("data folder");
    // An odd size: the checksum pads the last partial word with zeros.
    let file = dir
        .create_file("data.bin", 3 * 4096 + 5)
        .expect("data file");
    let bytes = std::fs::read(&file.path).unwrap();
    assert_eq!(bytes.len() as u64, file.size_bytes);
    assert_eq!(checksum(&bytes), file.checksum);
    let path = file.path.display().to_string();
    for spec in [
        format!("fs-read:{path}"),
        format!("read-4k:{path}"),
        format!("mmap:{path}"),
    ] {
        let report = execute_workload(&spec).unwrap();
        assert_eq!(report.bytes_read, Some(file.size_bytes), "{spec}");
        assert_eq!(report.checksum, Some(file.checksum), "{spec}");
        assert!(report.minor_faults.is_some(), "{spec}: {report:?}");
        assert_eq!(run_workload(&spec).unwrap(), 0, "{spec}");
    }
    for (spec, allocations) in [("malloc:200k", 1), ("malloc-twice:1000", 2)] {
        let report = execute_workload(spec).unwrap();
        assert_eq!(report.allocations, Some(allocations), "{spec}");
        assert_eq!(report.bytes_read, None, "{spec}");
    }
    assert_eq!(execute_workload("noop").unwrap(), WorkloadReport::default());
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
