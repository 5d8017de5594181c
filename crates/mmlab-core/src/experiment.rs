//! What an experiment is, and what the harness gives it to run: the profile,
//! repetitions, the data folder, progress bars and a result file already
//! stamped with the run id, the time and the machine's fingerprint.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressStyle};

use crate::datafile::DataDir;
use crate::fingerprint::{Fingerprint, tool_version};
use crate::schema::{ResultFile, SCHEMA_VERSION};

/// How much to measure: `quick` for `make experiments` and tests, `full` for
/// a report worth keeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    Quick,
    Full,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Quick => "quick",
            Profile::Full => "full",
        }
    }
}

/// One experiment of the lab. Implementations live in `experiments/<id>/`
/// and are listed once, in the `mmlab` binary's registry.
pub trait Experiment: Sync {
    /// The id, equal to the experiment's folder and package name.
    fn id(&self) -> &'static str;
    /// The question the experiment answers, for `mmlab list` and the report.
    fn question(&self) -> &'static str;
    /// The claim ids (claims.md) it gives verdicts on.
    fn claims(&self) -> &'static [&'static str];
    /// Whether it honours [`RunContext::memory_limit_bytes`] (`--memory-limit`).
    fn offers_memory_limit(&self) -> bool {
        false
    }
    /// Measures, and returns the result with its params, samples, tables,
    /// summaries, warnings and figures: everything but the claims.
    fn measure(&self, context: &RunContext) -> anyhow::Result<ResultFile>;
    /// The verdicts, from the result file alone: a pure function of what the
    /// file holds (its params, samples and tables), nothing kept in memory,
    /// so `mmlab judge` recomputes them from any stored run. Each claim says
    /// its rule and the thresholds it used.
    fn judge(&self, result: &ResultFile) -> Vec<crate::schema::Claim>;
    /// The claims whose verdict rests on timings (the others rest on counts
    /// and outcomes). In a run made in an emulated guest (`mmlab kernels`
    /// under TCG) they are not-measured: see [`crate::guest`].
    fn timing_claims(&self) -> &'static [&'static str] {
        &[]
    }
    /// [`Experiment::judge`], then the rules every experiment shares that
    /// read only the fingerprint (timings in an emulated guest): what
    /// `run` and `mmlab judge` use.
    fn judge_result(&self, result: &ResultFile) -> Vec<crate::schema::Claim> {
        crate::guest::judge_timings(result, self.timing_claims(), self.judge(result))
    }
    /// Measures, then judges what was measured as it reads back from its
    /// JSON (the same bytes the file will hold), so no verdict can depend on
    /// anything the file lacks.
    fn run(&self, context: &RunContext) -> anyhow::Result<ResultFile> {
        let mut result = self.measure(context)?;
        result.claims = self.judge_result(&crate::io::as_read_back(&result)?);
        Ok(result)
    }
}

/// What the harness hands an experiment.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub profile: Profile,
    /// `--repeat N`: overrides the experiment's number of repetitions.
    pub repeat: Option<usize>,
    /// `--size`: overrides the experiment's main file size, in bytes.
    pub size_bytes: Option<u64>,
    /// `--data-dir`: where data folders are made (default `results/data`).
    pub data_dir_base: Option<PathBuf>,
    /// No progress bars (tests, or `--quiet`).
    pub quiet: bool,
    /// `--memory-limit`: run the experiments that offer it (repeated-access)
    /// also inside a child memory cgroup with this limit, in bytes.
    pub memory_limit_bytes: Option<u64>,
    /// `--filesystems`: the scratch filesystem kinds to make (`ext4`, `xfs`,
    /// `btrfs`, `tmpfs`); `None` = every kind.
    pub filesystems: Option<Vec<String>>,
    /// Whether a hardware PMU answered, or why not, for the fingerprint:
    /// the harness asks `mmlab_counters::probe::hardware_pmu` (only that
    /// crate opens perf events); the default says it was not asked.
    pub pmu: Result<(), String>,
}

/// The fingerprint's PMU reason when nobody probed (a context built by
/// hand, e.g. in a test).
pub const PMU_NOT_PROBED: &str = "not probed: the run context was not given a PMU probe";

impl Default for RunContext {
    fn default() -> RunContext {
        RunContext {
            profile: Profile::Quick,
            repeat: None,
            size_bytes: None,
            data_dir_base: None,
            quiet: true,
            memory_limit_bytes: None,
            filesystems: None,
            pmu: Err(PMU_NOT_PROBED.to_string()),
        }
    }
}

impl RunContext {
    /// A fresh data folder, removed when the returned value drops.
    pub fn data_dir(&self) -> anyhow::Result<DataDir> {
        DataDir::create(self.data_dir_base.as_deref())
    }

    /// Repetitions: `--repeat` if given, else the profile's default.
    pub fn repetitions(&self, quick: usize, full: usize) -> usize {
        self.repeat.unwrap_or(match self.profile {
            Profile::Quick => quick,
            Profile::Full => full,
        })
    }

    /// The main file size: `--size` if given, else the profile's default.
    pub fn size(&self, quick: u64, full: u64) -> u64 {
        self.size_bytes.unwrap_or(match self.profile {
            Profile::Quick => quick,
            Profile::Full => full,
        })
    }

    /// A progress bar on stderr with `len` steps (hidden when quiet or when
    /// stderr is not a terminal).
    pub fn progress(&self, len: u64, label: &str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>16} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        bar
    }

    /// Prints one parameter line (`  param file_size: 64 MiB`) unless quiet;
    /// experiments print every parameter before measuring.
    pub fn print_param(&self, name: &str, value: impl std::fmt::Display) {
        if !self.quiet {
            println!("  param {name}: {value}");
        }
    }

    /// A result file stamped with the run id, start time, tool version and
    /// the fingerprint (with `data_dir`'s filesystem). The experiment fills
    /// in params, samples, summaries, claims and warnings, then calls
    /// [`ResultFile::finish`].
    pub fn new_result(&self, experiment: &str, data_dir: &Path) -> ResultFile {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut params = serde_json::Map::new();
        params.insert("profile".into(), self.profile.as_str().into());
        ResultFile {
            schema_version: SCHEMA_VERSION,
            experiment: experiment.to_string(),
            run_id: format!("{experiment}-{}-{}", now.as_secs(), std::process::id()),
            started_at: rfc3339_utc(now.as_secs()),
            duration_ns: 0,
            tool_version: tool_version(),
            env: Fingerprint::collect(data_dir, self.pmu.clone()),
            params,
            counters_available: Default::default(),
            samples: Vec::new(),
            summaries: Vec::new(),
            claims: Vec::new(),
            warnings: Vec::new(),
            figures: Vec::new(),
            extra: Default::default(),
        }
    }
}

impl ResultFile {
    /// Records the run's duration, measured from `started`.
    pub fn finish(mut self, started: Instant) -> ResultFile {
        self.duration_ns = started.elapsed().as_nanos() as u64;
        self
    }

    /// Adds a parameter (names carry units: `file_size_bytes`).
    pub fn param(&mut self, name: &str, value: impl Into<serde_json::Value>) {
        self.params.insert(name.to_string(), value.into());
    }
}

/// Seconds since the epoch as `2026-11-28T10:00:00Z`.
pub fn rfc3339_utc(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let seconds_of_day = unix_seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds_of_day / 3600,
        seconds_of_day % 3600 / 60,
        seconds_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_860_000), "2026-11-28T10:00:00Z");
    }
}
