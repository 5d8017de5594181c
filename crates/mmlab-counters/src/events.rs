//! Event names as `perf` spells them, and what each one is for the kernel.

use perf_event::events::{Cache, CacheId, CacheOp, CacheResult, Hardware, Software};

/// The hardware events every measured region records (null + reason where
/// the machine has no PMU).
pub const HARDWARE_EVENTS: &[&str] = &[
    "cycles",
    "instructions",
    "cache-references",
    "cache-misses",
    "branch-misses",
    "dTLB-load-misses",
    "iTLB-load-misses",
];

/// The software events every measured region records.
pub const SOFTWARE_EVENTS: &[&str] = &[
    "page-faults",
    "minor-faults",
    "major-faults",
    "task-clock",
    "context-switches",
    "cpu-migrations",
];

/// Hardware + software events, the system-call total and user page faults
/// seen by the fault tracepoint.
pub const STANDARD_EVENTS: &[&str] = &[
    "cycles",
    "instructions",
    "cache-references",
    "cache-misses",
    "branch-misses",
    "dTLB-load-misses",
    "iTLB-load-misses",
    "page-faults",
    "minor-faults",
    "major-faults",
    "task-clock",
    "context-switches",
    "cpu-migrations",
    "raw_syscalls:sys_enter",
    "exceptions:page_fault_user",
];

/// What an event name means to perf_event_open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventKind {
    Hardware(Hardware),
    Cache(CacheId, CacheOp, CacheResult),
    Software(Software),
    /// `subsystem:name`, resolved to an id through tracefs.
    Tracepoint {
        subsystem: String,
        name: String,
    },
}

impl EventKind {
    pub(crate) fn is_hardware(&self) -> bool {
        matches!(self, EventKind::Hardware(_) | EventKind::Cache(..))
    }

    pub(crate) fn cache(&self) -> Option<Cache> {
        match self {
            EventKind::Cache(which, operation, result) => Some(Cache {
                which: *which,
                operation: *operation,
                result: *result,
            }),
            _ => None,
        }
    }
}

/// (name, aliases, hardware event)
const HARDWARE_TABLE: &[(&str, &[&str], Hardware)] = &[
    ("cycles", &["cpu-cycles"], Hardware::CPU_CYCLES),
    ("instructions", &[], Hardware::INSTRUCTIONS),
    ("cache-references", &[], Hardware::CACHE_REFERENCES),
    ("cache-misses", &[], Hardware::CACHE_MISSES),
    (
        "branches",
        &["branch-instructions"],
        Hardware::BRANCH_INSTRUCTIONS,
    ),
    ("branch-misses", &[], Hardware::BRANCH_MISSES),
    ("bus-cycles", &[], Hardware::BUS_CYCLES),
    ("ref-cycles", &[], Hardware::REF_CPU_CYCLES),
    (
        "stalled-cycles-frontend",
        &["idle-cycles-frontend"],
        Hardware::STALLED_CYCLES_FRONTEND,
    ),
    (
        "stalled-cycles-backend",
        &["idle-cycles-backend"],
        Hardware::STALLED_CYCLES_BACKEND,
    ),
];

const SOFTWARE_TABLE: &[(&str, &[&str], Software)] = &[
    ("page-faults", &["faults"], Software::PAGE_FAULTS),
    ("minor-faults", &[], Software::PAGE_FAULTS_MIN),
    ("major-faults", &[], Software::PAGE_FAULTS_MAJ),
    ("task-clock", &[], Software::TASK_CLOCK),
    ("cpu-clock", &[], Software::CPU_CLOCK),
    ("context-switches", &["cs"], Software::CONTEXT_SWITCHES),
    ("cpu-migrations", &["migrations"], Software::CPU_MIGRATIONS),
    ("alignment-faults", &[], Software::ALIGNMENT_FAULTS),
    ("emulation-faults", &[], Software::EMULATION_FAULTS),
];

/// perf's hardware-cache names: `<cache>-<op>-<result>`.
const CACHE_IDS: &[(&str, CacheId)] = &[
    ("L1-dcache", CacheId::L1D),
    ("L1-icache", CacheId::L1I),
    ("LLC", CacheId::LL),
    ("dTLB", CacheId::DTLB),
    ("iTLB", CacheId::ITLB),
    ("branch", CacheId::BPU),
    ("node", CacheId::NODE),
];

/// Parses a perf event name (aliases accepted). `None` for an unknown name.
pub(crate) fn parse(name: &str) -> Option<EventKind> {
    for (canonical, aliases, event) in HARDWARE_TABLE {
        if name == *canonical || aliases.contains(&name) {
            return Some(EventKind::Hardware(*event));
        }
    }
    for (canonical, aliases, event) in SOFTWARE_TABLE {
        if name == *canonical || aliases.contains(&name) {
            return Some(EventKind::Software(*event));
        }
    }
    for (prefix, id) in CACHE_IDS {
        if let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')) {
            let (op, result) = match rest {
                "loads" => (CacheOp::READ, CacheResult::ACCESS),
                "load-misses" => (CacheOp::READ, CacheResult::MISS),
                "stores" => (CacheOp::WRITE, CacheResult::ACCESS),
                "store-misses" => (CacheOp::WRITE, CacheResult::MISS),
                "prefetches" => (CacheOp::PREFETCH, CacheResult::ACCESS),
                "prefetch-misses" => (CacheOp::PREFETCH, CacheResult::MISS),
                _ => return None,
            };
            return Some(EventKind::Cache(*id, op, result));
        }
    }
    let (subsystem, event) = name.split_once(':')?;
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if valid(subsystem) && valid(event) {
        return Some(EventKind::Tracepoint {
            subsystem: subsystem.to_string(),
            name: event.to_string(),
        });
    }
    None
}

/// The names `parse` knows besides tracepoints, for error messages.
pub(crate) fn known_names() -> Vec<&'static str> {
    HARDWARE_TABLE
        .iter()
        .map(|(n, _, _)| *n)
        .chain(SOFTWARE_TABLE.iter().map(|(n, _, _)| *n))
        .collect()
}

/// The tracepoint that counts entries into system call `name`:
/// `syscall_event("read")` is `"syscalls:sys_enter_read"`.
pub fn syscall_event(name: &str) -> String {
    format!("syscalls:sys_enter_{name}")
}

/// The sample field that holds an event's count: `perf_` + the name in
/// lower case with `-` and `:` turned into `_` (`"dTLB-load-misses"` ->
/// `"perf_dtlb_load_misses"`, `"raw_syscalls:sys_enter"` ->
/// `"perf_raw_syscalls_sys_enter"`).
pub fn field_name(event: &str) -> String {
    let mut field = String::from("perf_");
    field.extend(event.chars().map(|c| match c {
        '-' | ':' => '_',
        c => c.to_ascii_lowercase(),
    }));
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_perf_names_and_rejects_others() {
        assert_eq!(
            parse("cycles"),
            Some(EventKind::Hardware(Hardware::CPU_CYCLES))
        );
        assert_eq!(
            parse("faults"),
            Some(EventKind::Software(Software::PAGE_FAULTS))
        );
        assert!(matches!(
            parse("dTLB-load-misses"),
            Some(EventKind::Cache(
                CacheId::DTLB,
                CacheOp::READ,
                CacheResult::MISS
            ))
        ));
        assert!(matches!(
            parse("syscalls:sys_enter_read"),
            Some(EventKind::Tracepoint { .. })
        ));
        assert_eq!(parse("cycels"), None);
        assert_eq!(parse("dTLB-bogus"), None);
        assert_eq!(parse("a:"), None);
        assert_eq!(parse("a:b/c"), None);
        for name in STANDARD_EVENTS
            .iter()
            .chain(HARDWARE_EVENTS)
            .chain(SOFTWARE_EVENTS)
        {
            assert!(parse(name).is_some(), "{name}");
        }
    }

    #[test]
    fn field_names_carry_the_event() {
        assert_eq!(field_name("dTLB-load-misses"), "perf_dtlb_load_misses");
        assert_eq!(
            field_name("raw_syscalls:sys_enter"),
            "perf_raw_syscalls_sys_enter"
        );
        assert_eq!(
            field_name(&syscall_event("read")),
            "perf_syscalls_sys_enter_read"
        );
        assert_eq!(field_name("minor-faults"), "perf_minor_faults");
    }
}
