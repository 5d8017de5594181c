//! Data files for experiments: created with a known, non-zero pattern in a
//! fresh folder that is always removed (normal exit, error, panic, Ctrl-C).
//!
//! The default folder lives under `results/data/` on the project's disk, not
//! in `/tmp`: `/tmp` is often tmpfs, where a "file" mapping is shared memory
//! and there is no page cache to load from or evict to.

use std::fs;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::cleanup;
use crate::size::format_size;

/// The pattern's 64-bit word at word index `index` (byte offset / 8): a
/// cheap mix so neighbouring pages differ and no word is zero.
pub fn pattern_word(index: u64) -> u64 {
    let mut x = index.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (x ^ (x >> 31)) | 1
}

/// The pattern's byte at `offset` (little-endian words).
pub fn pattern_byte(offset: u64) -> u8 {
    pattern_word(offset / 8).to_le_bytes()[(offset % 8) as usize]
}

/// The remedy wherever a measurement needs a file with storage behind its
/// page cache (eviction, cold reads, a page cache smaller than the file).
pub const DISK_DATA_DIR: &str = "--data-dir on a disk filesystem (ext4, xfs, btrfs)";

/// `Some("tmpfs")` or `Some("ramfs")` when `path` lies on a filesystem that
/// keeps its files in memory only, `None` otherwise (or when statfs fails).
/// There a file's pages are the file itself: POSIX_FADV_DONTNEED drops
/// nothing, nothing is read from storage, and a MAP_SHARED "file" mapping is
/// shared memory. Experiments use it to say why eviction failed, never to
/// decide a verdict (that comes from what mincore measured). The answer is
/// the filesystem's magic number (statfs), the same filesystem the
/// fingerprint's `data_dir_fs` names from /proc/self/mountinfo.
pub fn memory_filesystem(path: &Path) -> Option<&'static str> {
    /// linux/magic.h (neither libc nor nix names it).
    const RAMFS_MAGIC: u64 = 0x8584_58f6;
    let kind = nix::sys::statfs::statfs(path).ok()?.filesystem_type();
    if kind == nix::sys::statfs::TMPFS_MAGIC {
        Some("tmpfs")
    } else if kind.0 as u64 == RAMFS_MAGIC {
        Some("ramfs")
    } else {
        None
    }
}

/// Whether a filesystem type (as /proc/self/mountinfo and the fingerprint's
/// `data_dir_fs` name it) keeps its files in memory only: tmpfs, ramfs, and
/// devtmpfs (/dev, a tmpfs by another name: statfs gives it tmpfs's magic).
pub fn keeps_files_in_memory(fs_type: &str) -> bool {
    matches!(fs_type, "tmpfs" | "ramfs" | "devtmpfs")
}

/// Why a data file could not be evicted, when the data folder's filesystem
/// explains it, from the fingerprint's `data_dir_fs` and `data_dir` (so a
/// verdict that uses it stays a function of the result file): `the data
/// folder /x is on tmpfs, which keeps files in memory only: ...`. `None` on
/// a disk filesystem, where the cause is something else (a page mapped).
pub fn why_nothing_is_evicted(fs_type: &str, folder: &str) -> Option<String> {
    keeps_files_in_memory(fs_type).then(|| {
        format!(
            "the data folder {folder} is on {fs_type}, which keeps files in memory only: no storage to evict them to or read them from"
        )
    })
}

/// A fresh folder for one run's data files, removed with everything in it
/// when dropped or when the process is interrupted.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _guard: cleanup::Guard,
}

/// One data file inside a [`DataDir`].
#[derive(Debug, Clone)]
pub struct DataFile {
    pub path: PathBuf,
    pub size_bytes: u64,
    /// Wrapping sum of the file's little-endian u64 words (a trailing partial
    /// word is zero-padded): the checksum every full pass must reproduce.
    pub checksum: u64,
}

impl DataDir {
    /// Creates `<base>/mmlab-<pid>-<nanos>/`. With no base, the base is
    /// `results/data` under the current folder (created if needed, and
    /// removed again if it is empty at the end).
    pub fn create(base: Option<&Path>) -> anyhow::Result<DataDir> {
        let (base, remove_base_if_empty) = match base {
            Some(b) => (b.to_path_buf(), false),
            None => (PathBuf::from("results/data"), true),
        };
        if !base.is_dir() {
            if remove_base_if_empty {
                fs::create_dir_all(&base)
                    .with_context(|| format!("cannot create data folder {}", base.display()))?;
            } else {
                bail!("--data-dir {}: not an existing folder", base.display());
            }
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = base.join(format!("mmlab-{}-{nanos}", std::process::id()));
        fs::create_dir(&path)
            .with_context(|| format!("data folder {} is not writable", base.display()))?;
        let path = fs::canonicalize(&path).unwrap_or(path);
        let removed = path.clone();
        let base_for_cleanup = fs::canonicalize(&base).unwrap_or(base);
        let checked = path.clone();
        let guard = cleanup::on_exit_checked(
            format!("remove {}", path.display()),
            move || {
                // Retried until gone: on a signal, the work may still be
                // creating files in it for a moment.
                cleanup::remove_until_gone(&removed);
                if remove_base_if_empty {
                    let _ = fs::remove_dir(&base_for_cleanup); // only succeeds when empty
                }
            },
            move || checked.exists().then(|| checked.display().to_string()),
        );
        Ok(DataDir {
            path,
            _guard: guard,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the data folders `mmlab-<pid>-<nanos>` in `base` (or
    /// `results/data`) whose process is gone, as a run killed by SIGKILL
    /// leaves them, and returns them. Folders of live processes (another run
    /// going on now) are never touched.
    pub fn remove_leftovers(base: Option<&Path>) -> Vec<PathBuf> {
        let base = base.map_or_else(|| PathBuf::from("results/data"), Path::to_path_buf);
        let Ok(entries) = fs::read_dir(&base) else {
            return Vec::new();
        };
        let mut removed = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir
                && name
                    .to_str()
                    .and_then(cleanup::pid_of_a_gone_owner)
                    .is_some()
                && cleanup::remove_until_gone(&entry.path())
            {
                removed.push(entry.path());
            }
        }
        removed
    }

    /// Bytes available to this user in the folder's filesystem.
    pub fn free_bytes(&self) -> anyhow::Result<u64> {
        let stat = nix::sys::statvfs::statvfs(&self.path)
            .with_context(|| format!("cannot statvfs {}", self.path.display()))?;
        Ok(stat.blocks_available() as u64 * stat.fragment_size() as u64)
    }

    /// Creates `name` of `size_bytes` filled with the pattern, flushed to disk
    /// (so its page-cache pages are clean and can be evicted). Fails with a
    /// clear message when the filesystem has less than the size plus 64 MiB.
    pub fn create_file(&self, name: &str, size_bytes: u64) -> anyhow::Result<DataFile> {
        const MARGIN: u64 = 64 << 20;
        cleanup::checkpoint();
        let free = self.free_bytes()?;
        if free < size_bytes + MARGIN {
            bail!(
                "not enough free space in {} for a {} data file: {} free, {} needed with margin (choose another folder with --data-dir or a smaller --size)",
                self.path.display(),
                format_size(size_bytes),
                format_size(free),
                format_size(size_bytes + MARGIN)
            );
        }
        let path = self.path.join(name);
        let mut file =
            fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        const CHUNK_WORDS: u64 = 1 << 17; // 1 MiB
        let mut checksum = 0u64;
        let mut buffer = Vec::with_capacity((CHUNK_WORDS * 8) as usize);
        let total_words = size_bytes.div_ceil(8);
        let mut word = 0u64;
        let mut written = 0u64;
        while word < total_words {
            buffer.clear();
            let end = (word + CHUNK_WORDS).min(total_words);
            for i in word..end {
                buffer.extend_from_slice(&pattern_word(i).to_le_bytes());
            }
            let take = (buffer.len() as u64).min(size_bytes - written) as usize;
            for chunk in buffer[..take].chunks(8) {
                let mut bytes = [0u8; 8];
                bytes[..chunk.len()].copy_from_slice(chunk);
                checksum = checksum.wrapping_add(u64::from_le_bytes(bytes));
            }
            file.write_all(&buffer[..take])
                .with_context(|| format!("cannot write {}", path.display()))?;
            written += take as u64;
            word = end;
        }
        file.sync_all()
            .with_context(|| format!("cannot flush {}", path.display()))?;
        Ok(DataFile {
            path,
            size_bytes,
            checksum,
        })
    }
}

impl DataFile {
    pub fn open(&self) -> anyhow::Result<fs::File> {
        fs::File::open(&self.path).with_context(|| format!("cannot open {}", self.path.display()))
    }

    pub fn open_rw(&self) -> anyhow::Result<fs::File> {
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .with_context(|| format!("cannot open {} for writing", self.path.display()))
    }

    pub fn number_of_pages(&self) -> u64 {
        self.size_bytes
            .div_ceil(crate::fingerprint::page_size() as u64)
    }

    /// Evicts the file from the page cache and checks it with mincore;
    /// returns the pages still resident (0 on success).
    pub fn evict(&self) -> anyhow::Result<u64> {
        let file = self.open()?;
        crate::pages::evict_file(file.as_fd())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_file_has_the_pattern_and_checksum_and_is_removed() {
        let base = tempfile::tempdir_in(".").unwrap();
        let folder;
        {
            let dir = DataDir::create(Some(base.path())).unwrap();
            folder = dir.path().to_path_buf();
            let file = dir.create_file("pattern", 10_000).unwrap();
            let bytes = fs::read(&file.path).unwrap();
            assert_eq!(bytes.len(), 10_000);
            assert!(
                bytes
                    .iter()
                    .enumerate()
                    .all(|(i, b)| *b == pattern_byte(i as u64))
            );
            let mut sum = 0u64;
            for chunk in bytes.chunks(8) {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                sum = sum.wrapping_add(u64::from_le_bytes(word));
            }
            assert_eq!(sum, file.checksum);
            assert!(bytes.iter().any(|b| *b != 0));
        }
        assert!(!folder.exists(), "the data folder is removed on drop");
        assert_eq!(fs::read_dir(base.path()).unwrap().count(), 0);
    }

    #[test]
    fn too_large_a_file_is_refused_with_the_folder_named() {
        let base = tempfile::tempdir_in(".").unwrap();
        let dir = DataDir::create(Some(base.path())).unwrap();
        let error = dir
            .create_file("huge", u64::MAX / 4)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not enough free space"), "{error}");
        assert!(error.contains(&dir.path().display().to_string()), "{error}");
    }

    #[test]
    fn a_missing_data_dir_is_named() {
        let error = DataDir::create(Some(Path::new("/nonexistent/folder")))
            .unwrap_err()
            .to_string();
        assert!(error.contains("/nonexistent/folder"), "{error}");
    }

    #[test]
    fn memory_filesystems_agree_with_the_mount_table() {
        // statfs's magic number and /proc/self/mountinfo (the fingerprint's
        // source) must tell the same story for every folder that exists.
        for path in [".", "/", "/dev", "/dev/shm", "/run", "/tmp", "/proc"] {
            let path = Path::new(path);
            let Some((_, fs_type)) = crate::fingerprint::filesystem_of(path) else {
                continue;
            };
            let in_memory = matches!(fs_type.as_str(), "tmpfs" | "ramfs" | "devtmpfs");
            assert_eq!(
                memory_filesystem(path).is_some(),
                in_memory,
                "{}: mountinfo says {fs_type}",
                path.display()
            );
            assert_eq!(keeps_files_in_memory(&fs_type), in_memory);
            let why = why_nothing_is_evicted(&fs_type, &path.display().to_string());
            assert_eq!(why.is_some(), in_memory);
            if let Some(why) = why {
                assert!(
                    why.contains(&fs_type) && why.contains(&path.display().to_string()),
                    "{why}"
                );
            }
        }
        assert_eq!(memory_filesystem(Path::new("/nonexistent/folder")), None);
    }
}
