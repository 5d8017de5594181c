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
    /// A FIFO, device, socket or folder with a result file's name: never
    /// opened, since reading a FIFO with no writer blocks for ever.
    #[error("{path} is not a regular file ({kind}); not opened")]
    NotAFile { path: PathBuf, kind: &'static str },
}

/// What a file that is not a regular file is, in words.
fn file_kind(file_type: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
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

/// `result` as a reader of its file will see it: serialized to the file's
/// JSON text and read back. The judge step is given this copy, so that a
/// verdict can only depend on what the file holds (a field left out of the
/// JSON, or a value that does not survive the text, cannot decide anything).
pub fn as_read_back(result: &ResultFile) -> anyhow::Result<ResultFile> {
    use anyhow::Context;
    let text = serde_json::to_string(result).context("cannot serialize the result")?;
    serde_json::from_str(&text).context("the result does not read back from its own JSON")
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
/// used: not a regular file, not JSON, another schema_version, a missing or
/// mistyped field (named by its path, e.g. `summaries[2].median`).
pub fn read_result(path: &Path) -> Result<ResultFile, ReadError> {
    let text = read_regular_file(path)?;
    parse_result(path, &text)
}

/// A result file's text read as [`read_result`] reads it (`path` only
/// names the file in errors): for files that come from elsewhere than a
/// folder, such as a bundle's archive.
pub fn parse_result(path: &Path, text: &str) -> Result<ResultFile, ReadError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ReadError::NotJson {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    // The common case, a good file: its fields moved out of the value
    // (`mmlab class` reads hundreds of runs, and the derived path through
    // the flattened `extra` copies every sample once more). Anything this
    // does not take is read again below, by the derived path, which
    // decides what is accepted and names the field at fault.
    let value = match fields_of(value) {
        Ok(result) => return Ok(result),
        Err(value) => value,
    };
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
    serde_path_to_error::deserialize::<_, ResultFile>(value).map_err(|e| {
        let (field, message) = field_at_fault(e.path(), e.inner().to_string());
        ReadError::Field {
            path: path.to_path_buf(),
            field,
            message,
        }
    })
}

/// A good result file's value as a [`ResultFile`], or the value back for
/// anything the derived deserializer has to judge (a missing or mistyped
/// field, another schema version). Every field is checked before the
/// samples, the params and the extra fields are moved out.
fn fields_of(value: serde_json::Value) -> Result<ResultFile, serde_json::Value> {
    use serde::Deserialize;
    let serde_json::Value::Object(mut object) = value else {
        return Err(value);
    };
    fn typed<T: serde::de::DeserializeOwned>(
        object: &serde_json::Map<String, serde_json::Value>,
        key: &str,
    ) -> Option<T> {
        object.get(key).and_then(|v| T::deserialize(v).ok())
    }
    let checked = (|| {
        let schema_version: u32 = typed(&object, "schema_version")?;
        if schema_version != SCHEMA_VERSION
            || !object.get("params")?.is_object()
            || !object.get("samples")?.is_array()
        {
            return None;
        }
        let figures = match object.get("figures") {
            None => Vec::new(),
            Some(v) => Vec::<crate::schema::FigureSpec>::deserialize(v).ok()?,
        };
        Some((
            schema_version,
            typed::<String>(&object, "experiment")?,
            typed::<String>(&object, "run_id")?,
            typed::<String>(&object, "started_at")?,
            typed::<u64>(&object, "duration_ns")?,
            typed::<String>(&object, "tool_version")?,
            typed(&object, "env")?,
            typed(&object, "counters_available")?,
            typed(&object, "summaries")?,
            typed(&object, "claims")?,
            typed(&object, "warnings")?,
            figures,
        ))
    })();
    let Some((
        schema_version,
        experiment,
        run_id,
        started_at,
        duration_ns,
        tool_version,
        env,
        counters_available,
        summaries,
        claims,
        warnings,
        figures,
    )) = checked
    else {
        return Err(serde_json::Value::Object(object));
    };
    let mut take = |key: &str| object.shift_remove(key).unwrap_or_default();
    let (serde_json::Value::Object(params), serde_json::Value::Array(samples)) =
        (take("params"), take("samples"))
    else {
        unreachable!("checked above");
    };
    for key in [
        "schema_version",
        "experiment",
        "run_id",
        "started_at",
        "duration_ns",
        "tool_version",
        "env",
        "counters_available",
        "summaries",
        "claims",
        "warnings",
        "figures",
    ] {
        object.shift_remove(key);
    }
    Ok(ResultFile {
        schema_version,
        experiment,
        run_id,
        started_at,
        duration_ns,
        tool_version,
        env,
        params,
        counters_available,
        samples,
        summaries,
        claims,
        warnings,
        figures,
        extra: object,
    })
}

/// The text of `path` if it is a regular file (a symbolic link to one
/// counts). The type is checked before opening, so a FIFO, a device or a
/// socket named `*.json` is never opened; the file is then opened
/// non-blocking and checked again, so one swapped in between the two steps
/// cannot block the reader either.
fn read_regular_file(path: &Path) -> Result<String, ReadError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let io_error = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let not_a_file = |file_type| ReadError::NotAFile {
        path: path.to_path_buf(),
        kind: file_kind(file_type),
    };
    let metadata = fs::metadata(path).map_err(io_error)?;
    if !metadata.is_file() {
        return Err(not_a_file(metadata.file_type()));
    }
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io_error)?;
    let metadata = file.metadata().map_err(io_error)?;
    if !metadata.is_file() {
        return Err(not_a_file(metadata.file_type()));
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(io_error)?;
    Ok(text)
}

/// The field a deserialization error is about, as a path from the top of
/// the file (`summaries[2].median`), and serde's message. A missing field
/// is reported at the object that lacks it, so its name is added to the
/// path (`claims[0].verdict`, or `env` at the top).
fn field_at_fault(path: &serde_path_to_error::Path, message: String) -> (String, String) {
    let at = path.to_string();
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .map(str::to_string);
    let field = match (missing, at.as_str()) {
        (Some(name), ".") => name,
        (Some(name), _) => format!("{at}.{name}"),
        (None, ".") => "(the whole file)".to_string(),
        (None, _) => at,
    };
    (field, message)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Claim, RunContext, Summary, Verdict};

    /// A good result as JSON, with a summary and a claim to spoil.
    fn good() -> serde_json::Value {
        let mut result = RunContext::default().new_result("paths", Path::new("."));
        for metric in ["a_ns", "b_ns", "c_ns"] {
            result
                .summaries
                .push(Summary::of("s", metric, &[1.0, 2.0, 3.0]).unwrap());
        }
        result
            .claims
            .push(Claim::new("S1", Verdict::Holds, "measured"));
        serde_json::to_value(&result).unwrap()
    }

    /// The error of reading `value` written to a file.
    fn error_of(value: &serde_json::Value) -> (PathBuf, ReadError) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paths.json");
        fs::write(&path, value.to_string()).unwrap();
        let error = read_result(&path).unwrap_err();
        (path, error)
    }

    fn field_of(error: &ReadError) -> &str {
        match error {
            ReadError::Field { field, .. } => field,
            other => panic!("not a field error: {other}"),
        }
    }

    #[test]
    fn a_mistyped_field_is_named_by_its_path_not_its_value() {
        let mut value = good();
        value["summaries"][2]["median"] = "fast".into();
        let (path, error) = error_of(&value);
        assert_eq!(field_of(&error), "summaries[2].median");
        let text = error.to_string();
        assert!(
            text.starts_with(&format!(
                "{}: field `summaries[2].median`: ",
                path.display()
            )),
            "{text}"
        );
        assert!(text.contains("invalid type: string \"fast\""), "{text}");

        // A huge float where a whole number belongs: the path, not `1e308`.
        let mut value = good();
        value["duration_ns"] = serde_json::json!(1e308);
        assert_eq!(field_of(&error_of(&value).1), "duration_ns");
        let mut value = good();
        value["claims"][0]["verdict"] = 3.into();
        assert_eq!(field_of(&error_of(&value).1), "claims[0].verdict");
    }

    #[test]
    fn the_fast_path_reads_a_good_file_as_the_derived_deserializer_does() {
        let mut value = good();
        value["cases"] = serde_json::json!([{"a": 1}]);
        value["zeta"] = "last".into();
        let derived: ResultFile = serde_json::from_value(value.clone()).unwrap();
        let fast = fields_of(value.clone()).unwrap();
        assert_eq!(fast, derived);
        assert_eq!(
            fast.extra.keys().collect::<Vec<_>>(),
            derived.extra.keys().collect::<Vec<_>>()
        );
        // Anything wrong goes back to the derived path, unchanged.
        let mut bad = value.clone();
        bad["summaries"][0]["median"] = "fast".into();
        assert_eq!(fields_of(bad.clone()).unwrap_err(), bad);
        let mut other = value;
        other["schema_version"] = 2.into();
        assert!(fields_of(other).is_err());
    }

    #[test]
    fn a_missing_field_is_named_where_it_is_missing() {
        let mut value = good();
        value.as_object_mut().unwrap().remove("env");
        assert_eq!(field_of(&error_of(&value).1), "env");
        let mut value = good();
        value["claims"][0]
            .as_object_mut()
            .unwrap()
            .remove("verdict");
        let (_, error) = error_of(&value);
        assert_eq!(field_of(&error), "claims[0].verdict");
        assert!(error.to_string().contains("missing field `verdict`"));
    }

    #[test]
    fn a_fifo_or_a_folder_named_json_is_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("x.json");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        fs::create_dir(dir.path().join("folder.json")).unwrap();
        fs::write(dir.path().join("good.json"), good().to_string()).unwrap();
        // Reading the FIFO would block for ever (no writer): the test would hang.
        let (read, errors) = read_results_dir(dir.path());
        assert_eq!(read.len(), 1);
        let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                format!(
                    "{} is not a regular file (a folder); not opened",
                    dir.path().join("folder.json").display()
                ),
                format!(
                    "{} is not a regular file (a FIFO); not opened",
                    fifo.display()
                ),
            ]
        );
    }
}
