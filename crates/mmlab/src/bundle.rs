//! `mmlab bundle [DIR] [-o FILE]`: one `.tar.zst` archive of a results
//! folder to hand in (the result JSON and CSV files, the rendered report
//! and its figures, the command lines that made the run), with a manifest
//! holding each file's SHA-256, the machine's fingerprint and the tool
//! version. `mmlab bundle --verify FILE` checks every file of an archive
//! against its manifest and names each one that changed, is missing or was
//! added after bundling. `mmlab class` reads bundles through [`open`].
//!
//! zstd rather than gzip: a teaching assistant's `mmlab class` reads a few
//! hundred bundles, and zstd decompresses several times faster than
//! gzip for about the same size on JSON.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::BadInput;

/// What a bundle's file name ends with.
pub const EXTENSION: &str = ".tar.zst";
/// The manifest's name inside the archive's folder.
pub const MANIFEST: &str = "manifest.json";
/// The file `mmlab run` appends its command line to, in its `--out` folder.
pub const COMMAND_FILE: &str = "run-commands.txt";
/// The manifest's format, and its version.
pub const FORMAT: &str = "mmlab-bundle";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, clap::Args)]
#[command(
    about = "Pack a results folder into one .tar.zst to hand in (manifest with SHA-256s), or --verify one",
    long_about = "Pack a results folder into one .tar.zst archive to hand in: the result JSON and CSV files, \
        the rendered report (index.html, report.md, figures/) and the command lines that made the run \
        (run-commands.txt), with a manifest (manifest.json) holding each file's SHA-256, the machine's \
        fingerprint and the tool version.\n\n\
        Name the archive after yourself (-o alice.tar.zst): `mmlab class` labels each run by its bundle's name.\n\n\
        `mmlab bundle --verify FILE` checks an archive against its manifest: every file that changed, is missing \
        or was added after bundling is named, and the exit status is 1."
)]
pub struct BundleArgs {
    /// Results folder to bundle (render its report first: `mmlab report DIR`)
    #[arg(value_name = "DIR", default_value = "results/latest")]
    dir: PathBuf,
    /// The archive to write, ending in .tar.zst (default: DIR's folder name + .tar.zst, in the current folder)
    #[arg(
        short = 'o',
        long = "out",
        value_name = "FILE",
        conflicts_with = "verify"
    )]
    out: Option<PathBuf>,
    /// Check the archive FILE against its manifest instead of making one
    #[arg(long, value_name = "FILE")]
    verify: Option<PathBuf>,
}

/// One file of a bundle, as the manifest records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Relative to the bundle's folder, `/`-separated (`figures/x.png`).
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// One result file of the bundled run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExperimentEntry {
    pub experiment: String,
    pub run_id: String,
    pub started_at: String,
    pub tool_version: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub bundled_at: String,
    /// The mmlab that made the bundle.
    pub bundled_by: String,
    pub source_folder: String,
    /// The lines of `run-commands.txt`: time, tool version and command line
    /// of each `mmlab run` that wrote into the folder.
    pub command_lines: Vec<String>,
    /// What is known of the command lines when the folder has none recorded.
    pub command_lines_note: String,
    /// The fingerprint (`env`) of the first result file, or null.
    pub fingerprint: serde_json::Value,
    pub experiments: Vec<ExperimentEntry>,
    pub files: Vec<FileEntry>,
}

/// Appends this `mmlab run`'s command line to `DIR/run-commands.txt`: the
/// time, the tool version, the `MMLAB_*` variables set and the arguments,
/// shell-quoted. A folder written by several runs keeps every line.
pub fn record_command_line(out: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut words: Vec<String> = std::env::vars()
        .filter(|(name, _)| name.starts_with("MMLAB_"))
        .map(|(name, value)| format!("{name}={}", quote(&value)))
        .collect();
    words.sort();
    words.extend(std::env::args().map(|a| quote(&a)));
    let line = format!(
        "{}\t{}\t{}\n",
        mmlab_core::experiment::rfc3339_utc(now),
        mmlab_core::fingerprint::tool_version(),
        words.join(" ")
    );
    let path = out.join(COMMAND_FILE);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    file.write_all(line.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

fn quote(word: &str) -> String {
    shlex::try_quote(word)
        .map(|q| q.into_owned())
        .unwrap_or_else(|_| format!("{word:?}"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Whether a file of a results folder goes into its bundle: the result
/// JSON and CSV files, the report, the command lines, and the figures.
fn bundled(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    if name.starts_with('.') {
        return false;
    }
    match relative.split_once('/') {
        None => {
            name.ends_with(".json")
                || name.ends_with(".csv")
                || name == "index.html"
                || name == "report.md"
                || name == COMMAND_FILE
        }
        Some(("figures", rest)) => {
            !rest.contains('/') && (rest.ends_with(".png") || rest.ends_with(".svg"))
        }
        Some(_) => false,
    }
}

/// The files of `dir` that go into its bundle, sorted, as (relative path,
/// path); anything else found is named in `left_out`.
/// (relative path, path) of each file of a folder.
type Files = Vec<(String, PathBuf)>;

fn files_of(dir: &Path) -> anyhow::Result<(Files, Vec<String>)> {
    let mut files = Vec::new();
    let mut left_out = Vec::new();
    let mut visit = |folder: &Path, prefix: &str| -> anyhow::Result<()> {
        let entries = std::fs::read_dir(folder)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", folder.display()))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = format!("{prefix}{name}");
            let path = entry.path();
            let is_file = std::fs::metadata(&path).is_ok_and(|m| m.is_file());
            if is_file && bundled(&relative) {
                files.push((relative, path));
            } else if (!prefix.is_empty() || name != "figures") && !name.starts_with('.') {
                left_out.push(relative);
            }
        }
        Ok(())
    };
    visit(dir, "")?;
    let figures = dir.join("figures");
    if figures.is_dir() {
        visit(&figures, "figures/")?;
    }
    files.sort();
    left_out.sort();
    Ok((files, left_out))
}

/// The archive's folder name: the file name without `.tar.zst`.
pub fn stem_of(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_suffix(EXTENSION).unwrap_or(&name).to_string()
}

pub fn run(args: BundleArgs) -> anyhow::Result<i32> {
    if let Some(file) = &args.verify {
        return verify(file);
    }
    let out = match &args.out {
        Some(out) => out.clone(),
        None => {
            let name = args
                .dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "results".to_string());
            PathBuf::from(format!("{name}{EXTENSION}"))
        }
    };
    println!("mmlab bundle");
    println!("  param results: {}", args.dir.display());
    println!("  param out: {}", out.display());
    if !args.dir.is_dir() {
        return Err(BadInput(format!(
            "results folder {}: not an existing folder",
            args.dir.display()
        ))
        .into());
    }
    if !out.to_string_lossy().ends_with(EXTENSION) {
        return Err(BadInput(format!(
            "-o {}: a bundle's name ends in {EXTENSION}",
            out.display()
        ))
        .into());
    }
    if out.is_dir() {
        return Err(BadInput(format!("-o {}: is a folder", out.display())).into());
    }
    let folder = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(BadInput(format!(
            "-o {}: folder {} does not exist",
            out.display(),
            folder.display()
        ))
        .into());
    }
    let (files, left_out) = files_of(&args.dir)?;
    let (results, errors) = mmlab_core::io::read_results_dir(&args.dir);
    if results.is_empty() && errors.is_empty() {
        return Err(BadInput(format!(
            "results folder {}: no result files (*.json); run `mmlab run all --out {}` first",
            args.dir.display(),
            args.dir.display()
        ))
        .into());
    }
    for error in &errors {
        eprintln!("mmlab: warning: bundled as it is, but it cannot be read: {error}");
    }
    if !files.iter().any(|(r, _)| r == "index.html") {
        eprintln!(
            "mmlab: warning: {} has no rendered report (index.html); run `mmlab report {}` first to include it",
            args.dir.display(),
            args.dir.display()
        );
    }
    for name in &left_out {
        println!("  left out: {name} (not a result, report, figure or {COMMAND_FILE})");
    }
    let mut contents: Vec<(String, Vec<u8>)> = Vec::new();
    let mut entries = Vec::new();
    for (relative, path) in &files {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        entries.push(FileEntry {
            path: relative.clone(),
            bytes: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
        });
        contents.push((relative.clone(), bytes));
    }
    let (command_lines, command_lines_note) = match std::fs::read_to_string(
        args.dir.join(COMMAND_FILE),
    ) {
        Ok(text) => (
            text.lines().map(str::to_string).collect(),
            format!("from {COMMAND_FILE}, one line per `mmlab run` that wrote into the folder"),
        ),
        Err(_) => (
            Vec::new(),
            format!(
                "not recorded: the folder has no {COMMAND_FILE} (written by `mmlab run` since this mmlab; the result files' params say how each experiment ran)"
            ),
        ),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let manifest = Manifest {
        format: FORMAT.to_string(),
        format_version: FORMAT_VERSION,
        bundled_at: mmlab_core::experiment::rfc3339_utc(now),
        bundled_by: mmlab_core::fingerprint::tool_version(),
        source_folder: args
            .dir
            .canonicalize()
            .unwrap_or_else(|_| args.dir.clone())
            .display()
            .to_string(),
        command_lines,
        command_lines_note,
        fingerprint: results
            .first()
            .and_then(|(_, r)| serde_json::to_value(&r.env).ok())
            .unwrap_or(serde_json::Value::Null),
        experiments: results
            .iter()
            .map(|(_, r)| ExperimentEntry {
                experiment: r.experiment.clone(),
                run_id: r.run_id.clone(),
                started_at: r.started_at.clone(),
                tool_version: r.tool_version.clone(),
            })
            .collect(),
        files: entries,
    };
    let stem = stem_of(&out);
    let archive = pack(&stem, &manifest, &contents)?;
    mmlab_core::io::write_atomic(&out, &archive)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    let total: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    println!(
        "{} file(s), {} ({} result file(s)); command line: {}",
        manifest.files.len(),
        mmlab_core::format_size(total),
        results.len(),
        manifest
            .command_lines
            .last()
            .map(String::as_str)
            .unwrap_or(&manifest.command_lines_note)
    );
    println!(
        "bundle: {} ({})",
        out.display(),
        mmlab_core::format_size(archive.len() as u64)
    );
    Ok(if errors.is_empty() { 0 } else { 1 })
}

/// The archive's bytes: `<stem>/manifest.json` first, then every file
/// under `<stem>/`.
pub fn pack(
    stem: &str,
    manifest: &Manifest,
    files: &[(String, Vec<u8>)],
) -> anyhow::Result<Vec<u8>> {
    let encoder = zstd::Encoder::new(Vec::new(), 3)?;
    let mut builder = tar::Builder::new(encoder);
    let manifest_bytes = serde_json::to_vec_pretty(manifest)?;
    let mut append = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, format!("{stem}/{name}"), bytes)?;
        Ok(())
    };
    append(MANIFEST, &manifest_bytes)?;
    for (name, bytes) in files {
        append(name, bytes)?;
    }
    let encoder = builder.into_inner()?;
    Ok(encoder.finish()?)
}

/// A bundle as read: its manifest (if it has a readable one), every
/// file's size and SHA-256, and the bytes of the files `keep` asked for.
#[derive(Debug)]
pub struct Opened {
    pub manifest: Result<Manifest, String>,
    /// path -> (bytes, sha256) of every file but the manifest.
    pub hashes: BTreeMap<String, (u64, String)>,
    pub kept: BTreeMap<String, Vec<u8>>,
}

/// Reads the archive at `path`, hashing every file and keeping the bytes
/// of those for which `keep(relative path)` is true. An archive that cannot
/// be decompressed or unpacked is an error with the reason.
pub fn open(path: &Path, keep: impl Fn(&str) -> bool) -> Result<Opened, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    // zstd's frame magic number, so that another file is named as such.
    let mut magic = [0u8; 4];
    let is_zstd = file.read_exact(&mut magic).is_ok() && magic == [0x28, 0xB5, 0x2F, 0xFD];
    if !is_zstd {
        return Err(format!(
            "not a zstd archive (a bundle is the {EXTENSION} file `mmlab bundle` writes)"
        ));
    }
    std::io::Seek::rewind(&mut file).map_err(|e| format!("cannot read: {e}"))?;
    let decoder = zstd::Decoder::new(file).map_err(|e| format!("not a zstd archive: {e}"))?;
    let mut archive = tar::Archive::new(decoder);
    let mut manifest = Err(format!("no {MANIFEST} in the archive"));
    let mut hashes = BTreeMap::new();
    let mut kept = BTreeMap::new();
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("cannot unpack: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .map_err(|e| format!("a file name cannot be read: {e}"))?
            .to_string_lossy()
            .into_owned();
        // Everything lies under one folder, `<stem>/`.
        let relative = match name.split_once('/') {
            Some((_, rest)) => rest.to_string(),
            None => name.clone(),
        };
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot unpack {name}: {e}"))?;
        if relative == MANIFEST {
            manifest = serde_json::from_slice::<Manifest>(&bytes)
                .map_err(|e| format!("{MANIFEST} cannot be read: {e}"));
            continue;
        }
        hashes.insert(relative.clone(), (bytes.len() as u64, sha256_hex(&bytes)));
        if keep(&relative) {
            kept.insert(relative, bytes);
        }
    }
    Ok(Opened {
        manifest,
        hashes,
        kept,
    })
}

/// What differs between a bundle's files and its manifest, one line per
/// file; empty when every file is as bundled.
pub fn check(opened: &Opened) -> Vec<String> {
    let manifest = match &opened.manifest {
        Ok(m) => m,
        Err(why) => return vec![why.clone()],
    };
    let mut problems = Vec::new();
    if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
        problems.push(format!(
            "{MANIFEST} is of format {} version {} (this mmlab reads {FORMAT} version {FORMAT_VERSION})",
            manifest.format, manifest.format_version
        ));
    }
    for entry in &manifest.files {
        match opened.hashes.get(&entry.path) {
            None => problems.push(format!(
                "{}: missing (listed in the manifest)",
                entry.path
            )),
            Some((bytes, sha)) if *sha != entry.sha256 => problems.push(format!(
                "{}: changed after bundling (SHA-256 {} in the manifest, {} now; {} bytes then, {} now)",
                entry.path,
                short(&entry.sha256),
                short(sha),
                entry.bytes,
                bytes
            )),
            Some(_) => {}
        }
    }
    for path in opened.hashes.keys() {
        if !manifest.files.iter().any(|f| f.path == *path) {
            problems.push(format!(
                "{path}: added after bundling (not in the manifest)"
            ));
        }
    }
    problems
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

fn verify(file: &Path) -> anyhow::Result<i32> {
    println!("mmlab bundle --verify");
    println!("  param bundle: {}", file.display());
    if !file.is_file() {
        return Err(BadInput(format!("--verify {}: not an existing file", file.display())).into());
    }
    let opened = match open(file, |_| false) {
        Ok(opened) => opened,
        Err(why) => {
            eprintln!("mmlab: {}: {why}", file.display());
            println!("FAILED: {} cannot be read", file.display());
            return Ok(1);
        }
    };
    let problems = check(&opened);
    if let Ok(manifest) = &opened.manifest {
        println!(
            "  bundled {} by {} from {}",
            manifest.bundled_at, manifest.bundled_by, manifest.source_folder
        );
        println!(
            "  command line: {}",
            manifest
                .command_lines
                .last()
                .map(String::as_str)
                .unwrap_or(&manifest.command_lines_note)
        );
    }
    for problem in &problems {
        println!("  {problem}");
    }
    if problems.is_empty() {
        println!("OK: {} file(s) match the manifest", opened.hashes.len());
        Ok(0)
    } else {
        println!(
            "FAILED: {} problem(s): the bundle is not as it was made",
            problems.len()
        );
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_results_the_report_figures_and_command_lines_are_bundled() {
        for yes in [
            "lazy-loading.json",
            "lazy-loading.csv",
            "index.html",
            "report.md",
            COMMAND_FILE,
            "figures/a.png",
            "figures/a.svg",
        ] {
            assert!(bundled(yes), "{yes}");
        }
        for no in [
            ".x.json.tmp.1",
            "data/file",
            "figures/sub/a.png",
            "figures/a.txt",
            "notes.txt",
            "figures/.hidden.png",
        ] {
            assert!(!bundled(no), "{no}");
        }
    }

    fn manifest_of(files: &[(String, Vec<u8>)]) -> Manifest {
        Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            bundled_at: "now".into(),
            bundled_by: "test".into(),
            source_folder: "/x".into(),
            command_lines: Vec::new(),
            command_lines_note: String::new(),
            fingerprint: serde_json::Value::Null,
            experiments: Vec::new(),
            files: files
                .iter()
                .map(|(p, b)| FileEntry {
                    path: p.clone(),
                    bytes: b.len() as u64,
                    sha256: sha256_hex(b),
                })
                .collect(),
        }
    }

    #[test]
    fn a_changed_missing_or_added_file_is_named_and_an_intact_bundle_passes() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            ("a.json".to_string(), b"{}".to_vec()),
            ("figures/b.png".to_string(), b"png".to_vec()),
        ];
        let manifest = manifest_of(&files);
        let path = dir.path().join("alice.tar.zst");
        std::fs::write(&path, pack("alice", &manifest, &files).unwrap()).unwrap();
        let opened = open(&path, |p| p.ends_with(".json")).unwrap();
        assert_eq!(check(&opened), Vec::<String>::new());
        assert_eq!(opened.kept.keys().collect::<Vec<_>>(), ["a.json"]);

        let changed = vec![
            ("a.json".to_string(), b"{\"x\":1}".to_vec()),
            ("c.csv".to_string(), b"x".to_vec()),
        ];
        std::fs::write(&path, pack("alice", &manifest, &changed).unwrap()).unwrap();
        let problems = check(&open(&path, |_| false).unwrap());
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("a.json: changed after bundling"));
        assert!(problems[1].starts_with("figures/b.png: missing"));
        assert!(problems[2].starts_with("c.csv: added after bundling"));
        assert_eq!(stem_of(&path), "alice");
    }

    #[test]
    fn a_file_that_is_not_an_archive_is_an_error_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.tar.zst");
        std::fs::write(&path, b"not zstd at all").unwrap();
        let error = open(&path, |_| false).unwrap_err();
        assert!(!error.is_empty());
    }
}
