//! Experiment `prot-flags`: the truth table of mmap's protections and flags,
//! filled in by the running kernel. Each case sets up one mmap call (open
//! mode of the fd, length, prot, flags, offset, address), does one thing
//! with it (read, write, call a machine-code stub, fork, msync, ...), and
//! sets what the man pages say should happen beside what happened: `ok`
//! with the value that matters, `errno NAME`, or `signal NAME/si_code`.
//! Every case runs in its own forked child (`mmlab_core::probe`), so a
//! SIGSEGV or SIGBUS is data and never takes the harness down.
//!
//! The expectations are written from the documentation only (`docs.rs`
//! quotes the sentences); a case whose outcome differs is flagged, printed
//! and turned into a `mismatch` warning, never adjusted. Verdicts for S1,
//! S2, S7, S8, S10, S11 and S12 are computed from the cases' outcomes.
//! This crate measures no speed: `elapsed_ns` per case is recorded only so
//! that a slow or hanging case shows.

pub mod cases;
pub mod docs;
pub mod family;
pub mod files;
pub mod judge;
pub mod model;
pub mod privileged;
pub mod raw;
pub mod views;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use mmlab_core::fingerprint::Fingerprint;
use mmlab_core::probe::{Ending, ProbeOutcome, run_in_child};
use mmlab_core::{
    Axis, DataDir, Experiment, FigureKind, FigureSpec, ResultFile, RunContext, Summary, Warning,
};
use serde_json::{Value as Json, json};

use crate::cases::Plan;
use crate::model::{Case, CaseEnv, Expected, Observed, Privilege};

/// The experiment, for the `mmlab` registry.
pub const EXPERIMENT: &dyn Experiment = &ProtFlags;

pub const CLAIMS: &[&str] = &["S1", "S2", "S7", "S8", "S10", "S11", "S12"];

/// How long one case's child may run before it is killed (and recorded as
/// a timeout): generous, since a case takes about a millisecond.
const CASE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct ProtFlags;

impl Experiment for ProtFlags {
    fn id(&self) -> &'static str {
        "prot-flags"
    }

    fn question(&self) -> &'static str {
        "What does each PROT_* and MAP_* combination allow on this kernel, and where does it differ from the man pages?"
    }

    fn claims(&self) -> &'static [&'static str] {
        CLAIMS
    }

    fn measure(&self, context: &RunContext) -> anyhow::Result<ResultFile> {
        measure(context)
    }

    fn judge(&self, result: &ResultFile) -> Vec<mmlab_core::Claim> {
        judge::judge(result)
    }
}

/// One case with what happened to it.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub id: String,
    pub group: &'static str,
    pub setup: String,
    pub action: String,
    pub expected: Expected,
    pub source: &'static str,
    pub documented_variation: Option<&'static str>,
    pub note: Option<&'static str>,
    pub claims: &'static [&'static str],
    pub core: bool,
    /// What the expectation depends on (CPU feature, filesystem, privilege).
    pub depends_on: Vec<String>,
    /// Where a contradiction holds (`on ext4`), when not in general.
    pub scope: Option<String>,
    pub labels: Vec<(&'static str, String)>,
    pub observed: Observed,
    /// What the case's body noted beside its outcome (counts, lines).
    pub observed_notes: Vec<String>,
    /// `None` when the case could not run here.
    pub matches: Option<bool>,
    /// The probe child's life and faults; `None` when no child ran (the
    /// case could not be set up here).
    pub elapsed_ns: Option<u64>,
    pub child_minor_faults: Option<u64>,
    pub child_major_faults: Option<u64>,
}

impl CaseResult {
    pub fn mismatch(&self) -> bool {
        self.matches == Some(false)
    }

    /// `prot-w-read: expected signal SIGSEGV/SEGV_ACCERR, observed ok: read 0x5c`.
    pub fn describe_mismatch(&self) -> String {
        format!(
            "{}: expected {}, observed {}",
            self.id,
            self.expected.describe(),
            self.observed.describe()
        )
    }

    /// The flat object of `result.extra["cases"]`.
    pub fn to_json(&self) -> Json {
        let mut row = json!({
            "id": self.id,
            "group": self.group,
            "setup": self.setup,
            "action": self.action,
            "expected": self.expected.describe(),
            "expected_kind": self.expected.kind(),
            "expected_source": self.source,
            "observed": self.observed.describe(),
            "observed_kind": self.observed.kind(),
            "observed_note": if self.observed_notes.is_empty() {
                Json::Null
            } else {
                Json::from(self.observed_notes.join("; "))
            },
            "matches": self.matches,
            "mismatch": self.mismatch(),
            "value": match &self.observed {
                Observed::Ok { value } => Json::from(value.clone()),
                _ => Json::Null,
            },
            "documented_variation": self.documented_variation,
            "note": self.note,
            "claims": self.claims.join(" "),
            "core": self.core,
            "depends_on": if self.depends_on.is_empty() {
                Json::Null
            } else {
                Json::from(self.depends_on.join("; "))
            },
            "scope": self.scope,
            "elapsed_ns": self.elapsed_ns,
        });
        let object = row.as_object_mut().expect("a JSON object");
        for (name, value) in &self.labels {
            object.insert((*name).to_string(), value.clone().into());
        }
        row
    }
}

/// The plan for this machine: page size, data file contents, huge page
/// pool, mmap_min_addr, and the conditions some expectations follow: the
/// CPU's protection keys and the data folder's filesystem, as the run's
/// fingerprint (`env`) records them, and whether a file in `data_dir` is
/// on DAX storage (statx).
pub fn plan(env: &Fingerprint, data_dir: &Path, tmpfs_reason: Option<String>) -> Plan {
    let page = raw::page_size();
    let read_number =
        |path: &str| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    let huge_page_kib = mmlab_core::fingerprint::meminfo_kib("Hugepagesize").unwrap_or(2048);
    let huge_free = mmlab_core::fingerprint::meminfo_kib("HugePages_Free").unwrap_or(0);
    let overcommit = read_number("/proc/sys/vm/nr_overcommit_hugepages").unwrap_or(0);
    let dax_probe = data_dir.join("dax-probe.bin");
    let data_dir_dax = std::fs::write(&dax_probe, [0u8; 1])
        .ok()
        .and_then(|()| raw::is_dax(&dax_probe));
    let _ = std::fs::remove_file(&dax_probe);
    Plan {
        page,
        contents: Plan::contents_for(page),
        huge_page_bytes: (huge_page_kib * 1024) as usize,
        huge_pages_obtainable: huge_free + overcommit,
        huge_pool_text: format!("HugePages_Free {huge_free}, nr_overcommit_hugepages {overcommit}"),
        mmap_min_addr: read_number("/proc/sys/vm/mmap_min_addr").unwrap_or(page as u64) as usize,
        arch: std::env::consts::ARCH,
        protection_keys: env.protection_keys.value().copied(),
        data_dir_fs: env.data_dir_fs.clone(),
        data_dir_dax,
        is_root: env.is_root,
        uid: nix::unistd::getuid().as_raw(),
        tmpfs_reason,
        max_map_count: read_number("/proc/sys/vm/max_map_count"),
        memlock_limit: nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_MEMLOCK)
            .ok()
            .map(|(soft, _)| soft),
        la57: cpu_flag("la57"),
        anon_mthp: {
            let sizes: Vec<String> = env
                .thp_sizes_enabled
                .iter()
                .filter(|(_, setting)| setting.as_str() != "never")
                .map(|(kib, setting)| format!("{kib}kB: {setting}"))
                .collect();
            if sizes.is_empty() {
                "none".to_string()
            } else {
                format!("{} (THP {})", sizes.join(", "), env.thp_enabled)
            }
        },
        stack_guard_gap: std::fs::read_to_string("/proc/cmdline")
            .ok()
            .and_then(|line| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix("stack_guard_gap="))
                    .map(str::to_string)
            }),
    }
}

/// Whether the first CPU's flags in /proc/cpuinfo name `flag` (`None` when
/// the file has no flags line): for CPU features the fingerprint does not
/// record.
fn cpu_flag(flag: &str) -> Option<bool> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        matches!(key.trim(), "flags" | "Features")
            .then(|| value.split_whitespace().any(|f| f == flag))
    })
}

/// Where a case's copy of the data file is made: the data folder, or a
/// folder on tmpfs (`/dev/shm`) for the cases that ask for one.
#[derive(Debug, Clone, Copy)]
pub struct Dirs<'a> {
    pub data: &'a Path,
    pub tmpfs: Option<&'a Path>,
}

/// A fresh folder on tmpfs for the cases that need one: `/dev/shm` when it
/// is a tmpfs this process may write to (removed with everything in it when
/// dropped, Ctrl-C included); the reason otherwise.
pub fn tmpfs_dir() -> Result<DataDir, String> {
    let shm = Path::new("/dev/shm");
    match mmlab_core::fingerprint::filesystem_of(shm) {
        Some((_, fs)) if fs == "tmpfs" => {
            DataDir::create(Some(shm)).map_err(|e| format!("/dev/shm: {e:#}"))
        }
        Some((_, fs)) => Err(format!("/dev/shm is {fs}, not tmpfs")),
        None => Err("no /dev/shm mount".to_string()),
    }
}

/// Runs one case in a probe child, on a fresh copy of the data file named
/// `name` in `dirs` (the data folder, or tmpfs where the case asks), and
/// returns what happened.
pub fn run_case(case: &Case, plan: &Plan, dirs: &Dirs, name: &str) -> anyhow::Result<CaseResult> {
    let mut not_run = None;
    let folder = match (case.on_tmpfs, dirs.tmpfs) {
        (false, _) => dirs.data,
        (true, Some(tmpfs)) => tmpfs,
        (true, None) => {
            not_run = Some(format!(
                "needs a tmpfs: {}",
                plan.tmpfs_reason.as_deref().unwrap_or("none at hand")
            ));
            dirs.data
        }
    };
    let file = folder.join(name);
    std::fs::write(&file, &plan.contents)
        .with_context(|| format!("cannot write {}", file.display()))?;
    let env = CaseEnv::new(plan.page, file.clone(), plan.contents.clone());
    let mut append_guard = None;
    if case.privilege == Privilege::Root && !plan.is_root {
        not_run.get_or_insert(format!(
            "the root half: this run is uid {}, not root",
            plan.uid
        ));
    }
    if case.append_only_file && not_run.is_none() {
        match AppendOnly::set(&file) {
            Ok(guard) => append_guard = Some(guard),
            Err(reason) => not_run = Some(reason),
        }
    }
    let drop_privilege = case.privilege == Privilege::Nobody && plan.is_root;
    let (observed, notes, outcome) = match not_run {
        Some(reason) => (Observed::NotRun { reason }, Vec::new(), None),
        None => {
            let outcome = run_in_child(CASE_TIMEOUT, |channel| {
                let result = if drop_privilege {
                    raw::drop_to_nobody().and_then(|()| (case.body)(&case.setup, &env))
                } else {
                    (case.body)(&case.setup, &env)
                };
                channel.send_json(&report(result, &env));
                0
            })
            .with_context(|| format!("case {}: probe child", case.id))?;
            let notes = outcome
                .output_json::<Json>()
                .and_then(|r| r.get("notes").cloned())
                .and_then(|n| serde_json::from_value(n).ok())
                .unwrap_or_default();
            (observed_from(&outcome), notes, Some(outcome))
        }
    };
    drop(append_guard);
    let _ = std::fs::remove_file(&file);
    let matches = case.expected.matches(&observed);
    Ok(CaseResult {
        id: case.id.clone(),
        group: case.group,
        setup: case.setup_text(plan.contents.len()),
        action: case.action.clone(),
        expected: case.expected.clone(),
        source: case.source,
        documented_variation: case.documented_variation,
        note: case.note,
        claims: case.claims,
        core: case.core,
        depends_on: case.depends_on.clone(),
        scope: case.scope.clone(),
        labels: case.labels.clone(),
        observed,
        observed_notes: notes,
        matches,
        elapsed_ns: outcome.as_ref().map(|o| o.elapsed_ns),
        child_minor_faults: outcome.as_ref().map(|o| o.rusage.n_minor_faults),
        child_major_faults: outcome.as_ref().map(|o| o.rusage.n_major_faults),
    })
}

/// The JSON a probe child sends: its outcome and its notes.
fn report(result: Result<model::Value, raw::Failure>, env: &CaseEnv) -> Json {
    let mut report = match result {
        Ok(value) => json!({ "ok": value }),
        Err(f) if f.errno == raw::NOT_RUN_ERRNO => json!({ "not_run": f.call }),
        // No errno: the probe itself could not do its work (a /proc file
        // unreadable, say): a failed measurement, not an outcome.
        Err(f) if f.errno == 0 => json!({ "failed": f.call }),
        Err(f) => json!({ "errno": raw::errno_name(f.errno), "call": f.call }),
    };
    report["notes"] = json!(*env.notes.borrow());
    report
}

/// Runs `access` in a child of the probe child and says how it ended, as
/// the table writes an observation: for cases that report several accesses
/// side by side (each of which may fault), or what a forked child saw.
pub fn sub_probe(access: impl FnOnce() -> Result<model::Value, raw::Failure>) -> Observed {
    let env = CaseEnv::new(0, std::path::PathBuf::new(), Vec::new());
    match run_in_child(SUB_PROBE_TIMEOUT, |channel| {
        channel.send_json(&report(access(), &env));
        0
    }) {
        Ok(outcome) => observed_from(&outcome),
        Err(e) => Observed::ChildFailed {
            how: format!("{e:#}"),
        },
    }
}

/// How long a sub-probe may run (it is one access).
const SUB_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The observation from how the probe child ended and what it sent.
fn observed_from(outcome: &ProbeOutcome) -> Observed {
    match &outcome.ending {
        Ending::Exited { code: 0 } => {
            let report: Option<Json> = outcome.output_json();
            let field = |name: &str| {
                report
                    .as_ref()
                    .and_then(|r| r.get(name))
                    .and_then(Json::as_str)
                    .map(str::to_string)
            };
            if let Some(value) = field("ok") {
                Observed::Ok { value }
            } else if let Some(name) = field("errno") {
                Observed::Errno {
                    name,
                    call: field("call").unwrap_or_default(),
                }
            } else if let Some(reason) = field("not_run") {
                Observed::NotRun { reason }
            } else if let Some(what) = field("failed") {
                Observed::ChildFailed {
                    how: format!("the probe could not {what}"),
                }
            } else {
                Observed::ChildFailed {
                    how: format!(
                        "exit 0 without a report ({} bytes sent)",
                        outcome.output.len()
                    ),
                }
            }
        }
        Ending::Signaled {
            signal,
            si_code_name,
            ..
        } => Observed::Signal {
            signal: signal.clone(),
            si_code: si_code_name.clone(),
        },
        Ending::TimedOut { after_ms } => Observed::TimedOut {
            after_ms: *after_ms,
        },
        other => Observed::ChildFailed {
            how: other.describe(),
        },
    }
}

/// The append-only attribute set on a case's file, cleared when dropped
/// (or on Ctrl-C): an append-only file cannot be deleted, so the data
/// folder could not be removed without this.
struct AppendOnly {
    _guard: mmlab_core::cleanup::Guard,
}

impl AppendOnly {
    fn set(path: &Path) -> Result<AppendOnly, String> {
        use std::os::fd::AsRawFd;
        let file =
            std::fs::File::open(path).map_err(|e| format!("open {}: {e}", path.display()))?;
        raw::set_append_only(file.as_raw_fd(), true).map_err(|e| {
            format!(
                "cannot set the append-only attribute (chattr +a) on {}: {e}; it needs CAP_LINUX_IMMUTABLE (root) and a filesystem with inode flags (ext4, xfs)",
                path.display()
            )
        })?;
        let owned = path.to_path_buf();
        let guard = mmlab_core::cleanup::on_exit(
            format!("clear the append-only attribute of {}", path.display()),
            move || {
                if let Ok(file) = std::fs::File::open(&owned) {
                    let _ = raw::set_append_only(file.as_raw_fd(), false);
                }
            },
        );
        Ok(AppendOnly { _guard: guard })
    }
}

/// Runs every case once, in table order, with a progress bar.
pub fn run_all(
    cases: &[Case],
    plan: &Plan,
    dirs: &Dirs,
    context: &RunContext,
    label: &str,
) -> anyhow::Result<Vec<CaseResult>> {
    let bar = context.progress(cases.len() as u64, label);
    let mut results = Vec::with_capacity(cases.len());
    for (index, case) in cases.iter().enumerate() {
        bar.set_message(case.id.clone());
        results.push(run_case(case, plan, dirs, &format!("case-{index:03}.bin"))?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(results)
}

fn measure(context: &RunContext) -> anyhow::Result<ResultFile> {
    let started = Instant::now();
    let dir = context.data_dir()?;
    let tmpfs = tmpfs_dir();
    let mut result = context.new_result("prot-flags", dir.path());
    let plan = plan(&result.env, dir.path(), tmpfs.as_ref().err().cloned());
    let dirs = Dirs {
        data: dir.path(),
        tmpfs: tmpfs.as_ref().ok().map(DataDir::path),
    };
    let cases = cases::all(&plan);
    let repetitions = context.repetitions(1, 3).max(1);
    let noexec = nix::sys::statvfs::statvfs(dir.path())
        .map(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_NOEXEC))
        .unwrap_or(false);

    context.print_param("cases", cases.len());
    context.print_param("repetitions", repetitions);
    context.print_param("page size", format!("{} bytes", plan.page));
    context.print_param(
        "data file",
        format!(
            "{} bytes (2 pages + 100, the stub at offset 0)",
            plan.contents.len()
        ),
    );
    context.print_param("architecture", std::env::consts::ARCH);
    context.print_param("huge page pool", &plan.huge_pool_text);
    context.print_param("vm.mmap_min_addr", plan.mmap_min_addr);
    context.print_param(
        "CPU protection keys",
        match plan.protection_keys {
            Some(true) => "present (pku+ospke): PROT_EXEC-only pages are execute-only",
            Some(false) => "absent",
            None => "unknown",
        },
    );
    context.print_param(
        "data folder",
        format!(
            "{} ({}, DAX: {})",
            dir.path().display(),
            plan.data_dir_fs,
            plan.data_dir_dax.map_or("unknown", model::yes_no)
        ),
    );

    result.param("repetitions", repetitions as u64);
    result.param("n_cases", cases.len() as u64);
    result.param("page_size_bytes", plan.page as u64);
    result.param("data_file_size_bytes", plan.contents.len() as u64);
    result.param("arch", std::env::consts::ARCH);
    result.param(
        "exec_stub_hex",
        raw::STUB.map_or(Json::Null, |stub| {
            Json::from(
                stub.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        }),
    );
    result.param("exec_stub_return", raw::STUB_RETURN);
    // S11 is judged against it: with MAP_FILE = 0 the flag cannot matter.
    result.param("map_file_value", raw::MAP_FILE as u64);
    result.param("huge_page_bytes", plan.huge_page_bytes as u64);
    result.param("huge_pages_obtainable", plan.huge_pages_obtainable);
    result.param("mmap_min_addr_bytes", plan.mmap_min_addr as u64);
    result.param("data_dir_noexec", noexec);
    result.param(
        "data_dir_dax",
        plan.data_dir_dax.map_or(Json::Null, Json::Bool),
    );
    result.param("case_timeout_ms", CASE_TIMEOUT.as_millis() as u64);

    let mut runs = Vec::with_capacity(repetitions);
    for repetition in 0..repetitions {
        let label = format!("run {}/{repetitions}", repetition + 1);
        runs.push(run_all(&cases, &plan, &dirs, context, &label)?);
    }
    let table = runs[0].clone();

    result.samples = samples(&runs);
    result.summaries = group_summaries(&runs);

    // A case whose outcome changed between repetitions is flagged.
    let mut unstable = Vec::new();
    for run in runs.iter().skip(1) {
        for (first, later) in table.iter().zip(run) {
            if first.observed != later.observed && !unstable.contains(&first.id) {
                unstable.push(first.id.clone());
                result.warnings.push(Warning::new(
                    "unstable",
                    format!(
                        "case {} changed between repetitions: {} then {}",
                        first.id,
                        first.observed.describe(),
                        later.observed.describe()
                    ),
                    "the table shows the first repetition; rerun and compare, and report it if it persists",
                ));
            }
        }
    }

    result.extra.insert(
        "cases".into(),
        Json::Array(table.iter().map(CaseResult::to_json).collect()),
    );
    result.extra.insert("case_cells".into(), case_cells(&table));
    result
        .extra
        .insert("implied_access".into(), implied_access(&table));
    result
        .extra
        .insert("unstable_cases".into(), json!(unstable));

    for r in table.iter().filter(|r| r.mismatch()) {
        let why = match (r.documented_variation, r.core) {
            (Some(sentence), _) => format!("the documentation allows it: {sentence}"),
            (None, false) => {
                "a corner where the man page's wording and the kernel part ways".into()
            }
            (None, true) => match &r.scope {
                Some(scope) => format!("this contradicts the documentation {scope}"),
                None => "this contradicts the documentation".into(),
            },
        };
        result.warnings.push(Warning::new(
            "mismatch",
            format!("{} ({why})", r.describe_mismatch()),
            "read the case's expected_source in the JSON; a mismatch is a finding about this kernel or the man page, not an error of the run",
        ));
    }
    for r in table
        .iter()
        .filter(|r| matches!(r.observed, Observed::NotRun { .. }))
    {
        result.warnings.push(Warning::new(
            "not-run",
            format!("case {}: {}", r.id, r.observed.describe()),
            "the reason names what is missing: root for the root halves of the privilege cases and for the append-only cases (on ext4 or xfs), x86_64 or aarch64 for the exec cases, a writable tmpfs at /dev/shm for the tmpfs cases",
        ));
    }
    for r in table.iter().filter(|r| {
        matches!(
            r.observed,
            Observed::TimedOut { .. } | Observed::ChildFailed { .. }
        )
    }) {
        result.warnings.push(Warning::new(
            "probe-failed",
            format!("case {}: {}", r.id, r.observed.describe()),
            "rerun; if it persists, run the case's test alone and report it",
        ));
    }
    if noexec {
        result.warnings.push(Warning::new(
            "noexec",
            format!(
                "the data folder {} is on a filesystem mounted noexec: every PROT_EXEC file mapping fails with EPERM",
                dir.path().display()
            ),
            "choose a data folder on an exec-mounted filesystem with --data-dir",
        ));
    }
    result.figures = figures(&table);

    if !context.quiet {
        print_table(&table);
    }
    Ok(result.finish(started))
}

/// Two rows per case (expected, observed) for the whole-table figure.
fn case_cells(table: &[CaseResult]) -> Json {
    let mut cells = Vec::with_capacity(table.len() * 2);
    for r in table {
        cells.push(json!({
            "id": r.id, "group": r.group, "column": "expected",
            "text": r.expected.describe(), "outcome_kind": r.expected.kind(),
            "mismatch": r.mismatch(),
        }));
        cells.push(json!({
            "id": r.id, "group": r.group, "column": "observed",
            "text": r.observed.describe(), "outcome_kind": r.observed.kind(),
            "mismatch": r.mismatch(),
        }));
    }
    Json::Array(cells)
}

/// What this CPU and kernel allow beyond the protection given: recorded,
/// not assumed (`null` when the case could not run).
fn implied_access(table: &[CaseResult]) -> Json {
    let allowed = |id: &str| -> Json {
        table
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| match r.observed {
                Observed::Ok { .. } => Some(true),
                Observed::Signal { .. } => Some(false),
                _ => None,
            })
            .map_or(Json::Null, Json::Bool)
    };
    json!({
        "PROT_WRITE page readable (prot-w-read)": allowed("prot-w-read"),
        "PROT_EXEC page readable (prot-x-read)": allowed("prot-x-read"),
        "PROT_READ page executable (prot-r-exec)": allowed("prot-r-exec"),
        "PROT_READ|PROT_WRITE page executable (prot-rw-exec)": allowed("prot-rw-exec"),
        "PROT_WRITE page executable (prot-w-exec)": allowed("prot-w-exec"),
        "PROT_EXEC page writable (prot-x-write)": allowed("prot-x-write"),
    })
}

/// The figures: the prot x access, open mode, maps and privilege grids,
/// then one truth table per group, in table order.
fn figures(table: &[CaseResult]) -> Vec<FigureSpec> {
    let grid = |id: &str, title: &str, data: &str, group: Option<&str>, x: Axis, y: Axis| {
        let mut filter = serde_json::Map::new();
        if let Some(group) = group {
            filter.insert("group".into(), group.into());
        }
        let mut spec = FigureSpec::new(id, title, FigureKind::Grid, data, x, y);
        spec.filter = filter;
        spec.cell_mark = Some("mismatch".to_string());
        spec
    };
    let mut prot = grid(
        "prot-access",
        "Which accesses does each protection allow on this CPU?",
        "cases",
        Some(cases::PROT_ACCESS),
        Axis::new("access", "attempted access"),
        Axis::new("prot", "prot given to mmap (MAP_PRIVATE, O_RDONLY file)"),
    );
    prot.cell_text = Some("observed".into());
    prot.cell_colour = Some("observed_kind".into());
    prot.how_to_read = "Each cell is one case run in its own child process: ok (with the byte read or the stub's return value), or the signal that killed the child. An outlined cell differs from the man page's strict reading; the JSON's documented_variation says when the man page allows it (PROT_WRITE implying PROT_READ on x86, for one).".into();
    prot.claims = vec!["S8".into()];

    let mut open = grid(
        "open-mode",
        "Which protections does the fd's open mode allow, shared and private?",
        "cases",
        Some(cases::OPEN_MODE),
        Axis::new("mapping", "mapping type and prot"),
        Axis::new("open_mode", "open mode of the fd"),
    );
    open.cell_text = Some("observed".into());
    open.cell_colour = Some("observed_kind".into());
    open.how_to_read = "Rows are how the file was opened, columns the mapping asked for. EACCES cells are refused by mmap or mprotect; ok cells say what the write did to the mapping and to the file. Outlined cells differ from the man page.".into();
    open.claims = vec!["S8".into()];

    let mut maps = grid(
        "maps-perms",
        "What does /proc/self/maps say of each mapping, and what did each access do?",
        "cases",
        Some(cases::MAPS),
        Axis::new("mapping", "mapping type (a file opened O_RDWR)"),
        Axis::new("prot", "prot given to mmap"),
    );
    maps.filter
        .insert("maps_view".into(), "perms and accesses".into());
    maps.cell_text = Some("observed".into());
    maps.cell_colour = Some("matches".into());
    maps.how_to_read = "Each cell is one mapping: its permission column in /proc/self/maps, then what a read, a write and a call of the stub did, each in a child of its own. An outlined cell differs from the strict reading of the man pages (the -w- rows read fine: x86 has no write-only pages).".into();

    let mut privilege = grid(
        "privilege",
        "What changes when an unprivileged user asks?",
        "cases",
        Some(cases::PRIVILEGE),
        Axis::new("who", "who asks (root, or a child dropped to nobody)"),
        Axis::new("question", "question"),
    );
    privilege.cell_text = Some("observed".into());
    privilege.cell_colour = Some("observed_kind".into());
    privilege.how_to_read = "Each row asks one question twice: as root and as an unprivileged user (as root, a probe child that drops to nobody with setresuid). Run without root, the root column says not run and why.".into();

    let mut figures = vec![prot, open, maps, privilege];
    // One truth table per group: a table of 241 rows is unreadable scaled
    // to a page, one of a group is not.
    let mut groups: Vec<&str> = Vec::new();
    for r in table {
        if !groups.contains(&r.group) {
            groups.push(r.group);
        }
    }
    for group in groups {
        let slug: String = group
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .split('-')
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let mut figure = grid(
            &format!("truth-table-{slug}"),
            &format!("{group}: does the kernel do what the man pages say?"),
            "case_cells",
            Some(group),
            Axis::new("column", "expected (from the documentation) vs observed"),
            Axis::new("id", "case"),
        );
        figure.cell_text = Some("text".into());
        figure.cell_colour = Some("outcome_kind".into());
        figure.how_to_read = format!(
            "The cases of the group '{group}', one row each: the documented outcome beside the observed one; colours are ok / errno / signal. Outlined rows are mismatches, also listed as warnings. Setups, sources and notes are in the case table of the report and in the JSON's cases array."
        );
        let mut claims: Vec<String> = Vec::new();
        for r in table.iter().filter(|r| r.group == group) {
            for claim in r.claims {
                if !claims.iter().any(|c| c == claim) {
                    claims.push(claim.to_string());
                }
            }
        }
        figure.claims = claims;
        figures.push(figure);
    }
    figures
}

/// Samples: one per case per repetition; the child's time and faults are
/// null for a case whose child never ran.
fn samples(runs: &[Vec<CaseResult>]) -> Vec<Json> {
    let mut samples = Vec::new();
    for (repetition, run) in runs.iter().enumerate() {
        for r in run {
            samples.push(json!({
                "case_id": r.id,
                "group": r.group,
                "repetition": repetition,
                "elapsed_ns": r.elapsed_ns,
                "child_minor_faults": r.child_minor_faults,
                "child_major_faults": r.child_major_faults,
                "observed_kind": r.observed.kind(),
                "matches": r.matches,
            }));
        }
    }
    samples
}

/// `elapsed_ns` per group, over the cases that ran: a case that did not run
/// (no child, or a child that reported it could not do the case) is left out.
fn group_summaries(runs: &[Vec<CaseResult>]) -> Vec<Summary> {
    let mut by_group: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in runs.iter().flatten() {
        if matches!(r.observed, Observed::NotRun { .. }) {
            continue;
        }
        if let Some(elapsed_ns) = r.elapsed_ns {
            by_group.entry(r.group).or_default().push(elapsed_ns as f64);
        }
    }
    by_group
        .iter()
        .filter_map(|(group, values)| Summary::of(*group, "elapsed_ns", values))
        .collect()
}

/// The table on the terminal, then every mismatch again in one list.
fn print_table(table: &[CaseResult]) {
    let mut group = "";
    for r in table {
        if r.group != group {
            group = r.group;
            println!("  -- {group}");
        }
        let mark = match r.matches {
            Some(true) => "  ",
            Some(false) => "!!",
            None => "--",
        };
        println!(
            "  {mark} {:<34} expected {:<40} observed {}",
            r.id,
            r.expected.describe(),
            r.observed.describe()
        );
    }
    let mismatches: Vec<&CaseResult> = table.iter().filter(|r| r.mismatch()).collect();
    let n_ran = table.iter().filter(|r| r.matches.is_some()).count();
    println!(
        "  {} cases, {n_ran} ran, {} as documented, {} differ from the documentation{}",
        table.len(),
        n_ran - mismatches.len(),
        mismatches.len(),
        if mismatches.is_empty() { "" } else { ":" }
    );
    for r in mismatches {
        let why = match (&r.documented_variation, &r.scope) {
            (Some(_), _) => " (the man page allows it)".to_string(),
            (None, Some(scope)) => format!(" ({scope})"),
            (None, None) => String::new(),
        };
        println!("    MISMATCH {}{why}", r.describe_mismatch());
    }
    if let Json::Object(implied) = implied_access(table) {
        let facts: Vec<String> = implied
            .iter()
            .map(|(what, allowed)| format!("{what}: {allowed}"))
            .collect();
        println!("  on this CPU: {}", facts.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(
        id: &str,
        observed: Observed,
        core: bool,
        variation: Option<&'static str>,
    ) -> CaseResult {
        let expected = Expected::Signal("SIGSEGV", Some("SEGV_ACCERR"));
        let matches = expected.matches(&observed);
        CaseResult {
            id: id.to_string(),
            group: cases::PROT_ACCESS,
            setup: String::new(),
            action: String::new(),
            expected,
            source: "",
            documented_variation: variation,
            note: None,
            claims: &["S8"],
            core,
            depends_on: Vec::new(),
            scope: None,
            labels: Vec::new(),
            observed,
            observed_notes: Vec::new(),
            matches,
            elapsed_ns: Some(1000),
            child_minor_faults: Some(3),
            child_major_faults: Some(0),
        }
    }

    fn segv() -> Observed {
        Observed::Signal {
            signal: "SIGSEGV".into(),
            si_code: Some("SEGV_ACCERR".into()),
        }
    }

    #[test]
    fn cases_that_did_not_run_have_null_numbers_and_stay_out_of_summaries() {
        let ran = result("ran", segv(), true, None);
        let mut not_run = result(
            "not-run",
            Observed::NotRun {
                reason: "no CAP_LINUX_IMMUTABLE".into(),
            },
            true,
            None,
        );
        not_run.elapsed_ns = None;
        not_run.child_minor_faults = None;
        not_run.child_major_faults = None;
        let runs = vec![vec![ran, not_run]];
        let samples = samples(&runs);
        assert_eq!(samples[0]["elapsed_ns"], 1000);
        assert_eq!(samples[0]["child_minor_faults"], 3);
        for field in ["elapsed_ns", "child_minor_faults", "child_major_faults"] {
            assert!(samples[1][field].is_null(), "{field}: {}", samples[1]);
        }
        let summaries = group_summaries(&runs);
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].n, 1);
        assert_eq!(summaries[0].median, 1000.0);
    }
}
