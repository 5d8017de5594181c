//! Finding and reading the runs of a class: bundles (`*.tar.zst`), results
//! folders, and folders of either (a teaching assistant's download
//! folder), read in parallel. Each result file is judged again with this
//! mmlab's rules (the judge step, from the file alone) and then kept only
//! as far as the class report needs it: fingerprint, claims, summaries'
//! medians and warnings (a run's samples are a few MB; three hundred runs
//! of them would not need to stay in memory).

use std::path::{Path, PathBuf};

use mmlab_core::{Fingerprint, Verdict, Warning};
use rayon::prelude::*;

use crate::bundle;
use crate::registry;

/// How deep below an INPUT folder runs are looked for.
const MAX_DEPTH: usize = 3;

/// Where a run came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Bundle,
    Folder,
}

/// What the bundle's manifest says of its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestState {
    /// Every file is as bundled.
    Intact,
    /// One line per file that changed, is missing or was added.
    Failed(Vec<String>),
    /// A results folder: no manifest to check.
    NoManifest,
}

/// One claim of one run: the stored verdict and the one its samples give
/// with this mmlab's rules (None when the experiment is not registered).
#[derive(Debug, Clone)]
pub struct ClaimCell {
    pub id: String,
    pub scenario: Option<String>,
    pub stored: Verdict,
    pub judged: Option<Verdict>,
}

impl ClaimCell {
    pub fn consistent(&self) -> bool {
        self.judged.is_none_or(|j| j == self.stored)
    }
}

/// One result file of a run, as much as the class report needs.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub experiment: String,
    pub tool_version: String,
    pub env: Fingerprint,
    pub claims: Vec<ClaimCell>,
    /// (series, metric, median)
    pub summaries: Vec<(String, String, f64)>,
    pub warnings: Vec<Warning>,
}

/// One run of the class.
#[derive(Debug, Clone)]
pub struct Run {
    pub label: String,
    pub source: PathBuf,
    pub kind: Kind,
    pub manifest: ManifestState,
    /// The last command line `mmlab run` recorded, or what is known.
    pub command_line: String,
    pub experiments: Vec<Experiment>,
    /// Result files of the run that could not be used, one line each.
    pub read_errors: Vec<String>,
}

impl Run {
    /// The fingerprint of the run: its first result file's.
    pub fn env(&self) -> &Fingerprint {
        &self.experiments[0].env
    }

    pub fn tool_versions(&self) -> Vec<String> {
        let mut versions: Vec<String> = Vec::new();
        for e in &self.experiments {
            if !versions.contains(&e.tool_version) {
                versions.push(e.tool_version.clone());
            }
        }
        versions
    }

    /// Claims whose stored verdict is not what the run's samples give.
    pub fn mismatches(&self) -> Vec<(String, &ClaimCell)> {
        self.experiments
            .iter()
            .flat_map(|e| {
                e.claims
                    .iter()
                    .filter(|c| !c.consistent())
                    .map(move |c| (e.experiment.clone(), c))
            })
            .collect()
    }

    /// Every warning of the run, with its experiment.
    pub fn warnings(&self) -> impl Iterator<Item = (&str, &Warning)> {
        self.experiments
            .iter()
            .flat_map(|e| e.warnings.iter().map(move |w| (e.experiment.as_str(), w)))
    }
}

/// An input that could not be used at all, with the reason.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub source: PathBuf,
    pub reason: String,
}

/// A run to read: a bundle or a results folder.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub path: PathBuf,
    pub kind: Kind,
}

fn is_bundle(path: &Path) -> bool {
    path.to_string_lossy().ends_with(bundle::EXTENSION)
}

fn has_result_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".json") && !name.starts_with('.')
        })
    })
}

/// The runs named by the INPUTs, in order (each folder's entries sorted by
/// name), and the inputs that are neither a bundle nor a folder holding
/// runs.
pub fn candidates(inputs: &[PathBuf]) -> (Vec<Candidate>, Vec<Skipped>) {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for input in inputs {
        let before = found.len();
        if input.is_file() {
            if is_bundle(input) {
                found.push(Candidate {
                    path: input.clone(),
                    kind: Kind::Bundle,
                });
            } else {
                skipped.push(Skipped {
                    source: input.clone(),
                    reason: format!("neither a bundle ({}) nor a folder", bundle::EXTENSION),
                });
            }
            continue;
        }
        if !input.is_dir() {
            skipped.push(Skipped {
                source: input.clone(),
                reason: "not an existing file or folder".to_string(),
            });
            continue;
        }
        walk(input, 0, &mut found);
        if found.len() == before {
            skipped.push(Skipped {
                source: input.clone(),
                reason: format!(
                    "holds no bundle ({}) and no results folder (*.json), {MAX_DEPTH} folders deep",
                    bundle::EXTENSION
                ),
            });
        }
    }
    (found, skipped)
}

fn walk(dir: &Path, depth: usize, found: &mut Vec<Candidate>) {
    if has_result_files(dir) {
        found.push(Candidate {
            path: dir.to_path_buf(),
            kind: Kind::Folder,
        });
        return;
    }
    if depth >= MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    paths.sort();
    for path in paths {
        if path.is_file() && is_bundle(&path) {
            found.push(Candidate {
                path,
                kind: Kind::Bundle,
            });
        } else if path.is_dir() {
            walk(&path, depth + 1, found);
        }
    }
}

/// Reads every candidate, in parallel; the runs in the candidates' order,
/// and those that could not be used at all.
pub fn read_all(candidates: &[Candidate]) -> (Vec<Run>, Vec<Skipped>) {
    let outcomes: Vec<Result<Run, Skipped>> = candidates.par_iter().map(read_one).collect();
    let mut runs = Vec::new();
    let mut skipped = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(run) => runs.push(run),
            Err(s) => skipped.push(s),
        }
    }
    (runs, skipped)
}

/// The default label of a run: its bundle's name without `.tar.zst`, or
/// its folder's name.
pub fn default_label(candidate: &Candidate) -> String {
    match candidate.kind {
        Kind::Bundle => bundle::stem_of(&candidate.path),
        Kind::Folder => candidate
            .path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| candidate.path.display().to_string()),
    }
}

fn read_one(candidate: &Candidate) -> Result<Run, Skipped> {
    let skip = |reason: String| Skipped {
        source: candidate.path.clone(),
        reason,
    };
    let mut texts: Vec<(PathBuf, Result<String, String>)> = Vec::new();
    let (manifest, command_line) = match candidate.kind {
        Kind::Bundle => {
            let opened = bundle::open(&candidate.path, |p| {
                (p.ends_with(".json") && !p.contains('/')) || p == bundle::COMMAND_FILE
            })
            .map_err(skip)?;
            let problems = bundle::check(&opened);
            let state = if problems.is_empty() {
                ManifestState::Intact
            } else {
                ManifestState::Failed(problems)
            };
            let recorded = opened
                .kept
                .get(bundle::COMMAND_FILE)
                .map(|b| String::from_utf8_lossy(b).into_owned());
            let command_line = match (&opened.manifest, recorded) {
                (_, Some(text)) => last_command(&text),
                (Ok(m), None) => m
                    .command_lines
                    .last()
                    .cloned()
                    .unwrap_or_else(|| m.command_lines_note.clone()),
                (Err(_), None) => "not recorded".to_string(),
            };
            for (name, bytes) in opened.kept {
                if name.ends_with(".json") {
                    let path = candidate.path.join(&name);
                    let text = String::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"));
                    texts.push((path, text));
                }
            }
            (state, command_line)
        }
        Kind::Folder => {
            let entries = std::fs::read_dir(&candidate.path)
                .map_err(|e| skip(format!("cannot read the folder: {e}")))?;
            let mut paths: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .filter(|p| {
                    !p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect();
            paths.sort();
            for path in paths {
                let text = if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                    std::fs::read_to_string(&path).map_err(|e| format!("cannot read: {e}"))
                } else {
                    Err("not a regular file; not opened".to_string())
                };
                texts.push((path, text));
            }
            let command_line =
                match std::fs::read_to_string(candidate.path.join(bundle::COMMAND_FILE)) {
                    Ok(text) => last_command(&text),
                    Err(_) => format!("not recorded (no {})", bundle::COMMAND_FILE),
                };
            (ManifestState::NoManifest, command_line)
        }
    };
    let mut experiments = Vec::new();
    let mut read_errors = Vec::new();
    for (path, text) in texts {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = match text {
            Ok(text) => text,
            Err(why) => {
                read_errors.push(format!("{name}: {why}"));
                continue;
            }
        };
        match mmlab_core::io::parse_result(Path::new(&name), &text) {
            Ok(result) => experiments.push(compact(result)),
            Err(error) => read_errors.push(error.to_string()),
        }
    }
    if experiments.is_empty() {
        return Err(skip(if read_errors.is_empty() {
            "no result file (*.json) in it".to_string()
        } else {
            format!("no usable result file: {}", read_errors.join("; "))
        }));
    }
    Ok(Run {
        label: default_label(candidate),
        source: candidate.path.clone(),
        kind: candidate.kind.clone(),
        manifest,
        command_line,
        experiments,
        read_errors,
    })
}

/// The command part of the last line of `run-commands.txt` (time, tool
/// version, command, tab-separated).
fn last_command(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.rsplit('\t').next().unwrap_or(l).to_string())
        .unwrap_or_else(|| "not recorded (empty run-commands.txt)".to_string())
}

/// Judges `result` again and keeps what the class report needs.
fn compact(result: mmlab_core::ResultFile) -> Experiment {
    let judged = registry::find(&result.experiment).map(|e| e.judge_result(&result));
    let claims = result
        .claims
        .iter()
        .map(|c| ClaimCell {
            id: c.id.clone(),
            scenario: c.scenario.clone(),
            stored: c.verdict,
            judged: judged.as_ref().map(|claims| {
                claims
                    .iter()
                    .find(|j| j.id == c.id && j.scenario == c.scenario)
                    .or_else(|| claims.iter().find(|j| j.id == c.id))
                    .map_or(Verdict::NotMeasured, |j| j.verdict)
            }),
        })
        .collect();
    Experiment {
        experiment: result.experiment,
        tool_version: result.tool_version,
        env: result.env,
        claims,
        summaries: result
            .summaries
            .into_iter()
            .map(|s| (s.series, s.metric, s.median))
            .collect(),
        warnings: result.warnings,
    }
}
