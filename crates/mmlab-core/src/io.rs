//! Writing and reading result files. Writes are atomic: a temporary file in
//! the same folder, flushed, then renamed over the final name, so a crash or
//! Ctrl-C leaves either the old file or the new one, never half of one.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::schema::{ResultFile, SCHEMA_VERSION};

/// A result file that could not be used, named with the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON: {message}")]
    NotJson { path: PathBuf, message: String },
    #[error("{path}: field `{field}`: {message}")]
    Field {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error("{path}: schema_version {found} is not supported (this mmlab reads {SCHEMA_VERSION})")]
    Version {
        path: PathBuf,
        found: serde_json::Value,
    },
}

/// Writes `bytes` to `path` atomically (temporary file + fsync + rename).
/// Stale temporary files of writers that died are removed first.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"))?
        .to_string_lossy()
        .into_owned();
    remove_stale_temporaries(dir, &name);
    let temporary = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// Removes `.NAME.tmp.PID` files whose writer process no longer exists.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let prefix = format!(".{name}.tmp.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file_name
            .strip_prefix(&prefix)
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let alive = pid == std::process::id() as i32
            || nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
        if !alive {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Writes `<dir>/<experiment>.json` and `<dir>/<experiment>.csv` (the raw
/// samples, one row each, one column per field) and returns the JSON path.
pub fn write_result(dir: &Path, result: &ResultFile) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create result folder {}", dir.display()))?;
    let json_path = dir.join(format!("{}.json", result.experiment));
    let mut json = serde_json::to_vec_pretty(result).context("cannot serialize the result")?;
    json.push(b'\n');
    write_atomic(&json_path, &json)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    let csv_path = dir.join(format!("{}.csv", result.experiment));
    write_atomic(&csv_path, samples_csv(&result.samples).as_bytes())
        .with_context(|| format!("cannot write {}", csv_path.display()))?;
    Ok(json_path)
}

/// The samples as CSV: the union of their scalar fields as columns (in first
/// seen order), arrays and objects as JSON text, missing fields empty.
pub fn samples_csv(samples: &[serde_json::Value]) -> String {
    let mut columns: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for sample in samples {
        if let Some(object) = sample.as_object() {
            for key in object.keys() {
                if seen.insert(key.clone()) {
                    columns.push(key.clone());
                }
            }
        }
    }
    let mut out = String::new();
    out.push_str(
        &columns
            .iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push('\n');
    for sample in samples {
        let row: Vec<String> = columns
            .iter()
            .map(|column| match sample.get(column) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => csv_field(s),
                Some(other) => csv_field(&other.to_string()),
            })
            .collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Reads one result file, naming the file and the field when it cannot be
/// used: not JSON, another schema_version, a missing or mistyped field.
pub fn read_result(path: &Path) -> Result<ResultFile, ReadError> {
    let text = fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| ReadError::NotJson {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    match value.get("schema_version") {
        Some(v) if v.as_u64() == Some(SCHEMA_VERSION as u64) => {}
        Some(v) => {
            return Err(ReadError::Version {
                path: path.to_path_buf(),
                found: v.clone(),
            });
        }
        None => {
            return Err(ReadError::Field {
                path: path.to_path_buf(),
                field: "schema_version".into(),
                message: "missing".into(),
            });
        }
    }
    serde_json::from_value::<ResultFile>(value).map_err(|e| {
        let message = e.to_string();
        // serde says "missing field `x`" or "invalid type ... " without a
        // path; pull the field name out when it is there.
        let field = message
            .split('`')
            .nth(1)
            .map(str::to_string)
            .unwrap_or_else(|| "(unknown)".to_string());
        ReadError::Field {
            path: path.to_path_buf(),
            field,
            message,
        }
    })
}

/// Reads every `*.json` result in `dir` (sorted by name): the good ones, and
/// one error per file that could not be used.
pub fn read_results_dir(dir: &Path) -> (Vec<(PathBuf, ResultFile)>, Vec<ReadError>) {
    let mut paths: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect(),
        Err(source) => {
            return (
                Vec::new(),
                vec![ReadError::Io {
                    path: dir.to_path_buf(),
                    source,
                }],
            );
        }
    };
    paths.sort();
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for path in paths {
        match read_result(&path) {
            Ok(result) => good.push((path, result)),
            Err(e) => bad.push(e),
        }
    }
    (good, bad)
}
