//! tracefs is left as it was found: one test in its own binary, so no other
//! thread of this process looks at the mount table meanwhile.

use mmlab_core::Availability;
use mmlab_counters::CounterSet;

fn tracefs_mounts() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mounts")
        .expect("read /proc/self/mounts")
        .lines()
        .filter(|l| l.contains("tracefs"))
        .map(String::from)
        .collect()
}

#[test]
fn tracepoints_open_and_the_mount_table_is_left_as_found() {
    let before = tracefs_mounts();
    let set =
        CounterSet::open(&["syscalls:sys_enter_read", "syscalls:sys_enter_mmap"]).expect("open");
    let after = tracefs_mounts();
    assert_eq!(before, after, "tracefs mounts changed");
    let availability = set.availability();
    let reason = match &availability["syscalls:sys_enter_read"] {
        Availability::Available => {
            let (_, m) = set.measure(|| std::fs::read("/proc/self/stat").map(|v| v.len()));
            assert!(
                m.get("syscalls:sys_enter_read").is_some_and(|n| n >= 1),
                "{m:?}"
            );
            println!("tracepoints available; tracefs mounts before and after: {before:?}");
            return;
        }
        Availability::Unavailable(reason) => reason.clone(),
    };
    // Unavailable is only acceptable where this process may not mount it.
    assert!(
        !mmlab_core::fingerprint::is_root() || !before.is_empty(),
        "root, tracefs not mounted, and still unavailable: {reason}"
    );
    assert!(
        reason.starts_with("no tracefs")
            || reason.starts_with("denied")
            || reason.starts_with("tracefs is mounted"),
        "{reason}"
    );
    mmlab_core::testing::skip(
        mmlab_core::testing::Capability::Tracefs,
        "counting a tracepoint",
        reason,
    );
}
