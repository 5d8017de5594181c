//! Counting on the calling thread: exact system-call counts, faults against
//! getrusage, unavailable events with their reasons, bad input.

use std::io::Read;

use mmlab_core::Availability;
use mmlab_core::testing::{Capability, STRAY_FAULTS, skip};
use mmlab_counters::{
    CounterError, CounterSet, HARDWARE_EVENTS, Measurement, SOFTWARE_EVENTS, STANDARD_EVENTS,
    field_name, syscall_event,
};

/// The reason the set cannot count `event`, if any.
fn unavailable(set: &CounterSet, event: &str) -> Option<String> {
    match set.availability().get(event) {
        Some(Availability::Available) => None,
        Some(Availability::Unavailable(reason)) => Some(reason.clone()),
        None => Some(format!("{event} not in the set")),
    }
}

/// True when the set counts `event`; otherwise reports the skip (visible,
/// or a failure where `MMLAB_REQUIRE` demands the capability).
fn countable(set: &CounterSet, event: &str) -> bool {
    match unavailable(set, event) {
        None => true,
        Some(reason) => {
            skip(
                Capability::for_counter(event),
                &format!("counting {event}"),
                reason,
            );
            false
        }
    }
}

fn read_dev_zero(n: usize) {
    let mut f = std::fs::File::open("/dev/zero").expect("open /dev/zero");
    let mut buf = [0u8; 8];
    for _ in 0..n {
        f.read_exact(&mut buf).expect("read /dev/zero");
    }
}

/// Writes one byte into each of `pages` fresh anonymous pages (a new
/// mapping, unmapped after): one minor fault each, on every config, since
/// transparent huge pages of every size (THP `always`, mTHP sizes) are off
/// for this process (PR_SET_THP_DISABLE).
fn touch_anonymous(pages: usize) {
    mmlab_core::testing::disable_thp_for_this_process();
    use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
    let len = pages * mmlab_core::fingerprint::page_size();
    // SAFETY: a fresh private anonymous mapping aliases no Rust object.
    let base = unsafe {
        mmap_anonymous(
            None,
            std::num::NonZeroUsize::new(len).expect("non-zero"),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
        )
    }
    .expect("mmap anonymous");
    let p: *mut u8 = base.as_ptr().cast();
    for i in 0..pages {
        // SAFETY: the offset is inside the `len` bytes mapped writable above.
        unsafe {
            p.add(i * mmlab_core::fingerprint::page_size())
                .write_volatile(1)
        };
    }
    // SAFETY: unmaps exactly the mapping made above; no reference into it
    // survives.
    unsafe { munmap(base, len) }.expect("munmap");
}

#[test]
fn a_region_calling_read_1000_times_counts_1000_sys_enter_read() {
    let read = syscall_event("read");
    let set = CounterSet::standard_with(&[&read, "syscalls:sys_enter_ioctl"]).expect("open");
    if !countable(&set, &read) {
        return;
    }
    // The file is opened outside the region: inside, only read() runs.
    let mut f = std::fs::File::open("/dev/zero").expect("open /dev/zero");
    let mut buf = [0u8; 8];
    // Several regions on one set: members keep following their leader.
    for round in 0..5 {
        let (_, m) = set.measure(|| {
            for _ in 0..1000 {
                f.read_exact(&mut buf).expect("read /dev/zero");
            }
        });
        assert_eq!(m.get(&read), Some(1000), "round {round}: {:?}", m.counts);
        // The total: exactly the 1000 reads, the measurement's own ioctls
        // subtracted.
        assert_eq!(m.get("raw_syscalls:sys_enter"), Some(1000), "round {round}");
        assert_eq!(m.get("syscalls:sys_enter_ioctl"), Some(0), "round {round}");
    }
    // An empty region counts no system call at all, whatever the
    // clocksource: the region's clock reads happen while the tracepoint
    // group is off (without a vDSO clock they are system calls).
    let (_, m) = set.measure(|| ());
    assert_eq!(m.get("raw_syscalls:sys_enter"), Some(0), "{:?}", m.counts);
    assert_eq!(m.get(&read), Some(0));
}

#[test]
fn every_member_counts_from_the_leaders_start_in_a_large_group() {
    // The tracepoints sit among many members; a member that did not follow
    // its leader would count less than the region did (seen on this kernel
    // with members opened disabled).
    let pages = 16_384;
    let set = CounterSet::standard_with(&[
        "syscalls:sys_enter_read",
        "syscalls:sys_enter_mmap",
        "syscalls:sys_enter_munmap",
        "raw_syscalls:sys_exit",
    ])
    .expect("open");
    if !countable(&set, "exceptions:page_fault_user") {
        return;
    }
    for round in 0..3 {
        let (_, m) = set.measure(|| {
            touch_anonymous(pages);
            read_dev_zero(100);
        });
        let faults = m.get("exceptions:page_fault_user").expect("counted");
        let minor = m.get("minor-faults").expect("counted");
        assert!(
            (pages as u64..=pages as u64 + STRAY_FAULTS).contains(&faults),
            "round {round}: {faults} page_fault_user for {pages} pages"
        );
        assert!(
            mmlab_counters::cross_check::within_tolerance(minor, faults, 1.0, 5),
            "round {round}: {minor} vs {faults}"
        );
        assert_eq!(m.get("syscalls:sys_enter_read"), Some(100), "round {round}");
        // Every system call that entered (after the start) also exited.
        assert_eq!(
            m.get("raw_syscalls:sys_enter"),
            m.get("raw_syscalls:sys_exit"),
            "round {round}"
        );
    }
}

#[test]
fn perf_faults_agree_with_getrusage_for_the_same_region() {
    let set = CounterSet::open(&["page-faults", "minor-faults", "major-faults"]).expect("open");
    if !countable(&set, "minor-faults") {
        return;
    }
    for pages in [1usize, 100, 5000] {
        let (_, m) = set.measure(|| touch_anonymous(pages));
        let minor = m.get("minor-faults").expect("counted");
        let major = m.get("major-faults").expect("counted");
        assert!(
            mmlab_counters::cross_check::within_tolerance(minor, m.rusage.n_minor_faults, 1.0, 5),
            "{pages} pages: perf {minor} vs getrusage {}",
            m.rusage.n_minor_faults
        );
        assert!(mmlab_counters::cross_check::within_tolerance(
            major,
            m.rusage.n_major_faults,
            1.0,
            5
        ));
        assert_eq!(m.get("page-faults"), Some(minor + major));
        assert!(minor >= pages as u64, "{minor} faults for {pages} pages");
    }
}

#[test]
fn map_populate_faults_are_seen_by_getrusage_but_not_by_perf_page_faults() {
    let pages = 1024;
    let page = mmlab_core::fingerprint::page_size();
    let set = CounterSet::open(&["page-faults", "minor-faults"]).expect("open");
    if !countable(&set, "minor-faults") {
        return;
    }
    // Without THP of any size, populating takes one fault per page.
    mmlab_core::testing::disable_thp_for_this_process();
    let (addr, m) = set.measure(|| {
        // SAFETY: a fresh anonymous mapping aliases no Rust object; it is
        // unmapped below and never dereferenced.
        unsafe {
            nix::sys::mman::mmap_anonymous(
                None,
                std::num::NonZeroUsize::new(pages * page).expect("non-zero"),
                nix::sys::mman::ProtFlags::PROT_READ | nix::sys::mman::ProtFlags::PROT_WRITE,
                nix::sys::mman::MapFlags::MAP_PRIVATE | nix::sys::mman::MapFlags::MAP_POPULATE,
            )
        }
        .expect("mmap MAP_POPULATE")
    });
    // SAFETY: unmaps exactly the mapping made above.
    unsafe { nix::sys::mman::munmap(addr, pages * page) }.expect("munmap");
    println!(
        "MAP_POPULATE of {pages} pages: perf minor-faults {:?}, getrusage minor faults {}",
        m.get("minor-faults"),
        m.rusage.n_minor_faults
    );
    // The kernel populates through its own fault path (handle_mm_fault
    // without the regs the software event needs: mm_account_fault returns
    // before perf_sw_event), which bumps the task's min_flt but fires no
    // perf page-fault event. The perf count is the test code's own strays.
    assert!(m.rusage.n_minor_faults >= pages as u64, "{:?}", m.rusage);
    assert!(
        m.get("minor-faults").expect("counted") <= STRAY_FAULTS,
        "{:?}",
        m.counts
    );
}

#[test]
fn hardware_events_without_a_pmu_are_unavailable_with_their_reason_and_the_rest_counts() {
    let set = CounterSet::standard_with(&[]).expect("open");
    let availability = set.availability();
    let (_, m) = set.measure(|| touch_anonymous(10));
    match mmlab_counters::probe::hardware_pmu() {
        Err(why) => {
            println!("no PMU here ({why})");
            for event in HARDWARE_EVENTS {
                let Some(Availability::Unavailable(reason)) = availability.get(*event) else {
                    panic!("{event}: {:?}", availability.get(*event));
                };
                assert!(
                    reason.starts_with("unsupported: no hardware PMU ("),
                    "{event}: {reason}"
                );
                assert_eq!(m.get(event), None);
                assert_eq!(m.notes.get(*event), Some(reason));
                assert_eq!(
                    m.sample_fields()[&field_name(event)],
                    serde_json::Value::Null
                );
            }
        }
        Ok(()) => {
            println!("a hardware PMU answers here: hardware events must count");
            assert!(m.get("cycles").is_some_and(|c| c > 0), "{:?}", m.counts);
        }
    }
    for event in SOFTWARE_EVENTS {
        if !countable(&set, event) {
            return;
        }
        assert!(m.get(event).is_some(), "{event}");
    }
    assert!(
        m.get("minor-faults").is_some_and(|n| n >= 10),
        "{:?}",
        m.counts
    );
    assert!(m.get("task-clock").is_some_and(|n| n > 0));
    assert_eq!(availability.len(), STANDARD_EVENTS.len());
}

#[test]
fn sample_fields_name_every_event_and_the_rusage_cross_check() {
    let set = CounterSet::standard_with(&[&syscall_event("read")]).expect("open");
    let (_, m): (_, Measurement) = set.measure(|| read_dev_zero(3));
    let fields = m.sample_fields();
    for key in [
        "elapsed_ns",
        "perf_cycles",
        "perf_minor_faults",
        "perf_raw_syscalls_sys_enter",
        "perf_syscalls_sys_enter_read",
        "perf_dtlb_load_misses",
        "rusage_minor_faults",
        "rusage_major_faults",
        "user_ns",
        "system_ns",
    ] {
        assert!(fields.contains_key(key), "{key} missing from {fields:?}");
    }
    assert_eq!(fields.len(), 5 + STANDARD_EVENTS.len() + 1);
    assert!(m.elapsed_ns > 0);
}

#[test]
fn unknown_events_and_missing_tracepoints_are_errors() {
    let err = CounterSet::open(&["cycels"]).expect_err("unknown name");
    assert!(
        matches!(err, CounterError::UnknownEvent(ref n) if n == "cycels"),
        "{err}"
    );
    assert!(
        err.to_string().contains("unknown event \"cycels\""),
        "{err}"
    );
    let err = CounterSet::open(&["not an event"]).expect_err("unknown name");
    assert!(matches!(err, CounterError::UnknownEvent(_)));

    match mmlab_counters::tracefs::tracepoint_id("raw_syscalls:sys_enter") {
        Ok(_) => {
            let err = CounterSet::open(&["syscalls:sys_enter_nosuchcall"]).expect_err("missing");
            assert!(
                matches!(err, CounterError::NoSuchTracepoint { .. }),
                "{err}"
            );
            assert!(
                err.to_string()
                    .starts_with("tracepoint syscalls:sys_enter_nosuchcall does not exist"),
                "{err}"
            );
        }
        Err(reason) => {
            // Without tracefs a tracepoint cannot be checked: it is kept as
            // unavailable with the reason, never an error or a zero.
            let set = CounterSet::open(&["syscalls:sys_enter_nosuchcall"]).expect("open");
            assert_eq!(
                unavailable(&set, "syscalls:sys_enter_nosuchcall").as_deref(),
                Some(reason.as_str())
            );
            skip(
                Capability::Tracefs,
                "the tracepoint existence check",
                reason,
            );
        }
    }
}
