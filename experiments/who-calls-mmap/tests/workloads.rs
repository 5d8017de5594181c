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
    // The mmap workload passes over the mapping twice: the same bytes both
    // times, the faults of each pass counted.
    let report = execute_workload(&format!("mmap:{path}")).unwrap();
    assert_eq!(report.second_pass_checksum, Some(file.checksum));
    assert!(report.first_pass_faults.is_some() && report.second_pass_faults.is_some());
    // A fresh anonymous mapping reads as zero and has a blank pathname.
    let report = execute_workload("anon:64k").unwrap();
    assert_eq!(report.bytes_read, Some(64 << 10));
    assert_eq!(report.nonzero_bytes, Some(0));
    assert_eq!(report.maps_line_found, Some(true));
    assert_eq!(report.maps_pathname.as_deref(), Some(""));
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
        "anon:0",
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

#[test]
fn maps_lines_are_found_by_address_and_their_pathname_read() {
    use who_calls_mmap::workload::{maps_line, maps_pathname};
    let maps = "\
55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000010000 rw-p 00000000 00:00 0 \n\
7f0000010000-7f0000020000 r--s 00000000 08:01 1234                       /data/my file.bin
";
    let anon = maps_line(maps, 0x7f00_0000_8000).expect("the anonymous line");
    assert_eq!(maps_pathname(anon), "");
    let file = maps_line(maps, 0x7f00_0001_0000).expect("the file line");
    assert_eq!(maps_pathname(file), "/data/my file.bin");
    assert_eq!(
        maps_pathname(maps_line(maps, 0x55d0_c0a0_0000).unwrap()),
        "[heap]"
    );
    assert!(
        maps_line(maps, 0x7f00_0002_0000).is_none(),
        "end is exclusive"
    );
}
