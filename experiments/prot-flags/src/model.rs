//! What a case is: its setup (described and used to make the mapping), the
//! expected outcome with the documentation sentence it comes from, and the
//! observed outcome with the rule that says whether the two match.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use crate::raw::{self, Failure, Mapping};

/// What the probe child reports on success: a short text with the values
/// that matter (`read 0x5c`, `returned 42`, `mapping 0xa5, file 0x5c`).
pub type Value = String;

/// The body of a case, run in the probe child.
pub type Body = Box<dyn Fn(&Setup, &CaseEnv) -> Result<Value, Failure>>;

/// What the documentation says should happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Succeeds; with `Some`, the value must be exactly this.
    Ok(Option<Value>),
    /// A call fails with this errno (`EACCES`).
    Errno(&'static str),
    /// The process gets this signal, with this si_code when `Some`.
    Signal(&'static str, Option<&'static str>),
    /// Succeeds with any one of these values: the documentation leaves the
    /// choice to the implementation ("may not", "unspecified").
    OneOf(Vec<Value>),
    /// Any one of these outcomes: the documentation names several that
    /// apply (two errno sentences, or an error and "ignored").
    Either(Vec<Expected>),
}

impl Expected {
    pub fn describe(&self) -> String {
        match self {
            Expected::Ok(None) => "ok".to_string(),
            Expected::Ok(Some(value)) => format!("ok: {value}"),
            Expected::Errno(name) => format!("errno {name}"),
            Expected::Signal(signal, Some(code)) => format!("signal {signal}/{code}"),
            Expected::Signal(signal, None) => format!("signal {signal}"),
            Expected::OneOf(values) => format!("ok: one of [{}]", values.join(" | ")),
            Expected::Either(options) => format!(
                "one of [{}]",
                options
                    .iter()
                    .map(Expected::describe)
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        }
    }

    /// `ok`, `errno` or `signal`: picks the cell colour in the figures.
    pub fn kind(&self) -> &'static str {
        match self {
            Expected::Ok(_) | Expected::OneOf(_) => "ok",
            Expected::Errno(_) => "errno",
            Expected::Signal(..) => "signal",
            Expected::Either(options) => {
                let first = options.first().map_or("ok", Expected::kind);
                if options.iter().all(|o| o.kind() == first) {
                    first
                } else {
                    "either"
                }
            }
        }
    }

    /// Whether `observed` is what this expects. `None` when the case did not
    /// run or its probe failed (a timeout, a probe that could not do its
    /// work): nothing to compare.
    pub fn matches(&self, observed: &Observed) -> Option<bool> {
        Some(match (self, observed) {
            (
                _,
                Observed::NotRun { .. } | Observed::TimedOut { .. } | Observed::ChildFailed { .. },
            ) => return None,
            (Expected::Either(options), observed) => {
                options.iter().any(|o| o.matches(observed) == Some(true))
            }
            (Expected::Ok(None), Observed::Ok { .. }) => true,
            (Expected::Ok(Some(want)), Observed::Ok { value }) => want == value,
            (Expected::OneOf(values), Observed::Ok { value }) => values.contains(value),
            (Expected::Errno(want), Observed::Errno { name, .. }) => want == name,
            (Expected::Signal(want, code), Observed::Signal { signal, si_code }) => {
                want == signal && code.is_none_or(|c| si_code.as_deref() == Some(c))
            }
            _ => false,
        })
    }
}

/// What the kernel did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    Ok {
        value: Value,
    },
    Errno {
        name: String,
        call: String,
    },
    Signal {
        signal: String,
        si_code: Option<String>,
    },
    /// The probe child hung and was killed at the timeout.
    TimedOut {
        after_ms: u64,
    },
    /// The probe child ended another way (a panic, an exit code).
    ChildFailed {
        how: String,
    },
    /// The case could not run here (no stub for this CPU, no privilege).
    NotRun {
        reason: String,
    },
}

impl Observed {
    pub fn describe(&self) -> String {
        match self {
            Observed::Ok { value } if value.is_empty() => "ok".to_string(),
            Observed::Ok { value } => format!("ok: {value}"),
            Observed::Errno { name, call } => format!("errno {name} ({call})"),
            Observed::Signal {
                signal,
                si_code: Some(code),
            } => format!("signal {signal}/{code}"),
            Observed::Signal { signal, .. } => format!("signal {signal}"),
            Observed::TimedOut { after_ms } => format!("timeout after {after_ms} ms"),
            Observed::ChildFailed { how } => format!("probe failed: {how}"),
            Observed::NotRun { reason } => format!("not run: {reason}"),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Observed::Ok { .. } => "ok",
            Observed::Errno { .. } => "errno",
            Observed::Signal { .. } => "signal",
            Observed::TimedOut { .. } => "timeout",
            Observed::ChildFailed { .. } => "probe-failed",
            Observed::NotRun { .. } => "not-run",
        }
    }
}

/// How the case's file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    ReadOnly,
    WriteOnly,
    ReadWrite,
    ReadWriteAppend,
    WriteOnlyAppend,
}

impl OpenMode {
    pub fn name(self) -> &'static str {
        match self {
            OpenMode::ReadOnly => "O_RDONLY",
            OpenMode::WriteOnly => "O_WRONLY",
            OpenMode::ReadWrite => "O_RDWR",
            OpenMode::ReadWriteAppend => "O_RDWR|O_APPEND",
            OpenMode::WriteOnlyAppend => "O_WRONLY|O_APPEND",
        }
    }

    fn open_options(self) -> std::fs::OpenOptions {
        let mut options = std::fs::OpenOptions::new();
        match self {
            OpenMode::ReadOnly => options.read(true),
            OpenMode::WriteOnly => options.write(true),
            OpenMode::ReadWrite => options.read(true).write(true),
            OpenMode::ReadWriteAppend => options.read(true).append(true),
            OpenMode::WriteOnlyAppend => options.append(true),
        };
        options
    }
}

/// Where the mapping's fd comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// fd = -1.
    None,
    /// The case's own copy of the data file, opened so.
    File(OpenMode),
    /// Another descriptor the case's body makes itself (a pipe, a
    /// directory, /dev/zero, a closed fd), described so.
    Other(&'static str),
}

/// The mmap call of a case, as data: it is both printed (the `setup` text
/// of the table) and performed by [`Setup::map`].
#[derive(Debug, Clone)]
pub struct Setup {
    pub backing: Backing,
    pub len: usize,
    pub prot: i32,
    pub flags: i32,
    /// How the flags are written in the table, when the bits alone cannot
    /// say it (MAP_FILE is 0).
    pub flags_text: Option<String>,
    pub offset: i64,
    /// How the address argument is chosen (`NULL`, or what the body does).
    pub hint: String,
}

impl Setup {
    pub fn file(mode: OpenMode, len: usize, prot: i32, flags: i32) -> Setup {
        Setup {
            backing: Backing::File(mode),
            len,
            prot,
            flags,
            flags_text: None,
            offset: 0,
            hint: "NULL".to_string(),
        }
    }

    pub fn anonymous(len: usize, prot: i32, flags: i32) -> Setup {
        Setup {
            backing: Backing::None,
            len,
            prot,
            flags: flags | libc::MAP_ANONYMOUS,
            flags_text: None,
            offset: 0,
            hint: "NULL".to_string(),
        }
    }

    pub fn offset(mut self, offset: i64) -> Setup {
        self.offset = offset;
        self
    }

    pub fn hint(mut self, hint: &str) -> Setup {
        self.hint = hint.to_string();
        self
    }

    pub fn flags_text(mut self, text: &str) -> Setup {
        self.flags_text = Some(text.to_string());
        self
    }

    /// `fd O_RDONLY on a 8292-byte file, len 4096, PROT_READ, MAP_SHARED, offset 0, addr NULL`.
    pub fn describe(&self, file_len: usize) -> String {
        let fd = match self.backing {
            Backing::None => "fd -1".to_string(),
            Backing::File(mode) => format!("fd {} on a {file_len}-byte file", mode.name()),
            Backing::Other(what) => format!("fd: {what}"),
        };
        let flags = self
            .flags_text
            .clone()
            .unwrap_or_else(|| flags_name(self.flags));
        format!(
            "{fd}, len {}, {}, {flags}, offset {}, addr {}",
            self.len,
            prot_name(self.prot),
            self.offset,
            self.hint
        )
    }

    /// Opens the case's file as the setup says (no fd for anonymous).
    pub fn open(&self, env: &CaseEnv) -> Result<Option<OwnedFd>, Failure> {
        match self.backing {
            Backing::None | Backing::Other(_) => Ok(None),
            Backing::File(mode) => mode
                .open_options()
                .open(&env.file)
                .map(|f| Some(OwnedFd::from(f)))
                .map_err(|e| Failure {
                    call: "open",
                    errno: e.raw_os_error().unwrap_or(0),
                }),
        }
    }

    /// Opens and maps at `hint`; the fd stays open while the returned value lives.
    pub fn map_at(
        &self,
        env: &CaseEnv,
        hint: usize,
    ) -> Result<(Mapping, Option<OwnedFd>), Failure> {
        let fd = self.open(env)?;
        let raw_fd = fd.as_ref().map(|f| f.as_raw_fd()).unwrap_or(-1);
        let mapping = raw::map(hint, self.len, self.prot, self.flags, raw_fd, self.offset)?;
        Ok((mapping, fd))
    }

    /// Maps `fd` (made by the body) with the setup's length, prot, flags and
    /// offset, at the address NULL.
    pub fn map_fd(&self, fd: std::os::fd::RawFd) -> Result<Mapping, Failure> {
        raw::map(0, self.len, self.prot, self.flags, fd, self.offset)
    }

    /// A setup whose fd the body makes itself.
    pub fn other(what: &'static str, len: usize, prot: i32, flags: i32) -> Setup {
        Setup {
            backing: Backing::Other(what),
            len,
            prot,
            flags,
            flags_text: None,
            offset: 0,
            hint: "NULL".to_string(),
        }
    }

    /// Opens and maps with the address NULL.
    pub fn map(&self, env: &CaseEnv) -> Result<(Mapping, Option<OwnedFd>), Failure> {
        self.map_at(env, 0)
    }
}

/// `PROT_READ|PROT_WRITE`, or `PROT_NONE`.
pub fn prot_name(prot: i32) -> String {
    if prot == libc::PROT_NONE {
        return "PROT_NONE".to_string();
    }
    let mut names = Vec::new();
    for (bit, name) in [
        (libc::PROT_READ, "PROT_READ"),
        (libc::PROT_WRITE, "PROT_WRITE"),
        (libc::PROT_EXEC, "PROT_EXEC"),
    ] {
        if prot & bit != 0 {
            names.push(name.to_string());
        }
    }
    let rest = prot & !(libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC);
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    names.join("|")
}

/// `MAP_PRIVATE|MAP_ANONYMOUS`; the type field (low 4 bits) is named as a
/// whole, so 0x3 reads `MAP_SHARED_VALIDATE` and 0 reads `no mapping type`.
pub fn flags_name(flags: i32) -> String {
    let mut names = vec![match flags & 0x0f {
        0 => "no mapping type (0)".to_string(),
        libc::MAP_SHARED => "MAP_SHARED".to_string(),
        libc::MAP_PRIVATE => "MAP_PRIVATE".to_string(),
        raw::MAP_SHARED_VALIDATE => "MAP_SHARED_VALIDATE".to_string(),
        other => format!("type {other:#x}"),
    }];
    let mut rest = flags & !0x0f;
    for (bit, name) in [
        (libc::MAP_FIXED, "MAP_FIXED"),
        (libc::MAP_ANONYMOUS, "MAP_ANONYMOUS"),
        (libc::MAP_POPULATE, "MAP_POPULATE"),
        (libc::MAP_HUGETLB, "MAP_HUGETLB"),
        (raw::MAP_SYNC, "MAP_SYNC"),
        (raw::MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"),
        (libc::MAP_LOCKED, "MAP_LOCKED"),
        (libc::MAP_NORESERVE, "MAP_NORESERVE"),
        (libc::MAP_NONBLOCK, "MAP_NONBLOCK"),
        (libc::MAP_STACK, "MAP_STACK"),
        (libc::MAP_DENYWRITE, "MAP_DENYWRITE"),
        (libc::MAP_EXECUTABLE, "MAP_EXECUTABLE"),
        (libc::MAP_GROWSDOWN, "MAP_GROWSDOWN"),
        (raw::MAP_UNINITIALIZED, "MAP_UNINITIALIZED"),
        (raw::MAP_32BIT, "MAP_32BIT"),
    ] {
        if rest & bit != 0 {
            names.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(format!("unknown bit {rest:#x}"));
    }
    names.join("|")
}

/// What a case's body gets in the probe child.
#[derive(Debug, Clone)]
pub struct CaseEnv {
    pub page: usize,
    /// This case's own fresh copy of the data file (on tmpfs for a case
    /// that asks for it).
    pub file: PathBuf,
    /// The data file's bytes (the copy starts equal to them).
    pub contents: Vec<u8>,
    /// Side observations the body records (`env.note(..)`), sent with its
    /// result: counts and lines that explain the outcome.
    pub notes: std::cell::RefCell<Vec<String>>,
}

impl CaseEnv {
    pub fn new(page: usize, file: PathBuf, contents: Vec<u8>) -> CaseEnv {
        CaseEnv {
            page,
            file,
            contents,
            notes: Default::default(),
        }
    }

    /// Records a side observation (shown in the table's `observed_note`).
    pub fn note(&self, text: impl Into<String>) {
        self.notes.borrow_mut().push(text.into());
    }
}

/// Who runs a case's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// As the lab runs (root or not).
    AsIs,
    /// Only as root (uid 0 with its capabilities); not run otherwise.
    Root,
    /// Unprivileged: as root the probe child first drops to `nobody`
    /// (setgroups, setresgid and setresuid 65534); otherwise it runs as the
    /// user the lab runs as.
    Nobody,
}

/// One row of the truth table.
pub struct Case {
    pub id: String,
    pub group: &'static str,
    pub setup: Setup,
    /// What the body does after (or instead of) the setup's mmap.
    pub action: String,
    pub expected: Expected,
    /// The documentation sentence(s) the expectation comes from.
    pub source: &'static str,
    /// A documentation sentence that allows another outcome than the strict
    /// one (architecture-dependent access rights): a mismatch it covers is a
    /// nuance, not a refutation.
    pub documented_variation: Option<&'static str>,
    /// Why the case is here or how to read it, for the student.
    pub note: Option<&'static str>,
    pub claims: &'static [&'static str],
    /// Whether a mismatch here contradicts the claim itself (true), or only
    /// the man page's wording of a corner (false: a nuance).
    pub core: bool,
    /// What the expected outcome depends on beyond the man page (a CPU
    /// feature, the data folder's filesystem, privilege), with the value
    /// this run read: named in the case's setup.
    pub depends_on: Vec<String>,
    /// Where a contradiction of the documentation holds (`on ext4`): the
    /// warning says so instead of presenting it as general.
    pub scope: Option<String>,
    /// Set the append-only attribute (`chattr +a`) on the file before the
    /// probe, clear it after.
    pub append_only_file: bool,
    /// Put the case's copy of the data file on tmpfs (`/dev/shm`) instead
    /// of the data folder; not run where no tmpfs is at hand.
    pub on_tmpfs: bool,
    pub privilege: Privilege,
    /// Extra table columns for the figures (`prot`, `access`, ...).
    pub labels: Vec<(&'static str, String)>,
    pub body: Body,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id)
            .field("group", &self.group)
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl Case {
    // A case is these eight things; a builder would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: impl Into<String>,
        group: &'static str,
        setup: Setup,
        action: impl Into<String>,
        expected: Expected,
        source: &'static str,
        claims: &'static [&'static str],
        body: impl Fn(&Setup, &CaseEnv) -> Result<Value, Failure> + 'static,
    ) -> Case {
        Case {
            id: id.into(),
            group,
            setup,
            action: action.into(),
            expected,
            source,
            documented_variation: None,
            note: None,
            claims,
            core: true,
            depends_on: Vec::new(),
            scope: None,
            append_only_file: false,
            on_tmpfs: false,
            privilege: Privilege::AsIs,
            labels: Vec::new(),
            body: Box::new(body),
        }
    }

    pub fn variation(mut self, sentence: &'static str) -> Case {
        self.documented_variation = Some(sentence);
        self
    }

    pub fn note(mut self, note: &'static str) -> Case {
        self.note = Some(note);
        self
    }

    /// A mismatch here is a nuance of the claim, not a refutation.
    pub fn corner(mut self) -> Case {
        self.core = false;
        self
    }

    /// Names a condition the expectation depends on (`CPU protection keys
    /// (pku+ospke): present`); shown after the setup.
    pub fn depends(mut self, condition: impl Into<String>) -> Case {
        self.depends_on.push(condition.into());
        self
    }

    /// Where a mismatch of this case holds (`on ext4`).
    pub fn scope(mut self, scope: impl Into<String>) -> Case {
        self.scope = Some(scope.into());
        self
    }

    /// The setup as the table shows it: the mmap call, then what the
    /// expectation depends on.
    pub fn setup_text(&self, file_len: usize) -> String {
        let call = self.setup.describe(file_len);
        if self.depends_on.is_empty() {
            call
        } else {
            format!("{call}; depends on: {}", self.depends_on.join("; "))
        }
    }

    /// The case's file lives on tmpfs (`/dev/shm`).
    pub fn on_tmpfs(mut self) -> Case {
        self.on_tmpfs = true;
        self
    }

    pub fn privilege(mut self, privilege: Privilege) -> Case {
        self.privilege = privilege;
        self
    }

    pub fn append_only(mut self) -> Case {
        self.append_only_file = true;
        self
    }

    /// Sets a figure column; a second call with the same name replaces it.
    pub fn label(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.labels.retain(|(n, _)| *n != name);
        self.labels.push((name, value.into()));
        self
    }
}

/// `0x5c`.
pub fn hex(byte: u8) -> String {
    format!("{byte:#04x}")
}

pub fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(expected: Expected, observed: Observed, want: Option<bool>) {
        assert_eq!(
            expected.matches(&observed),
            want,
            "{expected:?} vs {observed:?}"
        );
    }

    fn ok(value: &str) -> Observed {
        Observed::Ok {
            value: value.to_string(),
        }
    }

    fn segv(code: Option<&str>) -> Observed {
        Observed::Signal {
            signal: "SIGSEGV".to_string(),
            si_code: code.map(str::to_string),
        }
    }

    #[test]
    fn expectations_match_only_the_outcome_they_name() {
        check(Expected::Ok(None), ok("anything"), Some(true));
        check(
            Expected::Ok(Some("read 0x37".into())),
            ok("read 0x37"),
            Some(true),
        );
        check(
            Expected::Ok(Some("read 0x37".into())),
            ok("read 0x38"),
            Some(false),
        );
        check(Expected::Ok(None), segv(Some("SEGV_ACCERR")), Some(false));
        check(
            Expected::Errno("EACCES"),
            Observed::Errno {
                name: "EACCES".into(),
                call: "mprotect".into(),
            },
            Some(true),
        );
        check(
            Expected::Errno("EACCES"),
            Observed::Errno {
                name: "EPERM".into(),
                call: "mmap".into(),
            },
            Some(false),
        );
        check(
            Expected::Signal("SIGSEGV", Some("SEGV_ACCERR")),
            segv(Some("SEGV_ACCERR")),
            Some(true),
        );
        check(
            Expected::Signal("SIGSEGV", Some("SEGV_ACCERR")),
            segv(Some("SEGV_PKUERR")),
            Some(false),
        );
        check(Expected::Signal("SIGSEGV", None), segv(None), Some(true));
        check(
            Expected::OneOf(vec!["a".into(), "b".into()]),
            ok("b"),
            Some(true),
        );
        check(
            Expected::OneOf(vec!["a".into(), "b".into()]),
            ok("c"),
            Some(false),
        );
        check(
            Expected::Ok(None),
            Observed::NotRun {
                reason: "no stub".into(),
            },
            None,
        );
        check(
            Expected::Ok(None),
            Observed::TimedOut { after_ms: 5000 },
            None,
        );
        check(
            Expected::Either(vec![Expected::Errno("EACCES"), Expected::Errno("ENODEV")]),
            Observed::Errno {
                name: "ENODEV".into(),
                call: "mmap".into(),
            },
            Some(true),
        );
        check(
            Expected::Either(vec![Expected::Errno("EACCES"), Expected::Errno("ENODEV")]),
            Observed::Errno {
                name: "EBADF".into(),
                call: "mmap".into(),
            },
            Some(false),
        );
    }

    #[test]
    fn flags_and_prots_are_named_as_a_student_writes_them() {
        assert_eq!(
            flags_name(libc::MAP_SHARED | libc::MAP_PRIVATE),
            "MAP_SHARED_VALIDATE"
        );
        assert_eq!(
            flags_name(libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED),
            "MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS"
        );
        assert_eq!(flags_name(0), "no mapping type (0)");
        assert_eq!(
            flags_name(libc::MAP_SHARED | raw::MAP_UNKNOWN_BIT),
            "MAP_SHARED|unknown bit 0x200000"
        );
        assert_eq!(prot_name(libc::PROT_NONE), "PROT_NONE");
        assert_eq!(
            prot_name(libc::PROT_READ | libc::PROT_EXEC),
            "PROT_READ|PROT_EXEC"
        );
    }
}
