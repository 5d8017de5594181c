//! fread() and other buffered readers against plain read(): the same warm
//! file read item by item through libc's stdio (`fopen`/`fread`, with the
//! stream's own buffer and after `setvbuf` to 1 MiB), Rust's `BufReader`,
//! and read() itself, one system call per item.

use std::ffi::CString;
use std::fs::File;
use std::hint::black_box;
use std::io::{BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;

/// The item sizes every reader is given.
pub const ITEM_SIZES: [u64; 5] = [1, 16, 256, 4 << 10, 64 << 10];

/// The buffer `setvbuf` gives the second stdio stream.
pub const SETVBUF_BYTES: usize = 1 << 20;

/// One reader, with its id (stable: the judge and tests name it) and label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Method {
    pub id: &'static str,
    pub label: &'static str,
}

pub const FREAD: Method = Method {
    id: "fread",
    label: "fread (stream's own buffer)",
};
pub const FREAD_SETVBUF: Method = Method {
    id: "fread_setvbuf",
    label: "fread after setvbuf 1 MiB",
};
pub const BUFREADER: Method = Method {
    id: "bufreader",
    label: "Rust BufReader (default capacity)",
};
pub const READ: Method = Method {
    id: "read",
    label: "read(), one call per item",
};
pub const METHODS: [Method; 4] = [FREAD, FREAD_SETVBUF, BUFREADER, READ];

/// A stdio stream, closed on drop.
struct Stream(*mut libc::FILE);

impl Stream {
    fn open(path: &Path) -> anyhow::Result<Stream> {
        let c_path = CString::new(path.as_os_str().as_bytes()).context("path with a NUL byte")?;
        // SAFETY: two valid NUL-terminated strings.
        let stream = unsafe { libc::fopen(c_path.as_ptr(), c"rb".as_ptr()) };
        anyhow::ensure!(
            !stream.is_null(),
            "fopen {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        );
        Ok(Stream(stream))
    }

    /// Gives the stream `buffer` (fully buffered). Before any read only.
    ///
    /// # Safety
    /// `buffer` must outlive the stream (the caller drops the stream first).
    unsafe fn set_buffer(&mut self, buffer: &mut [u8]) -> anyhow::Result<()> {
        // SAFETY: a stream on which nothing was read yet, and a buffer of
        // the given length that the caller keeps alive past fclose.
        let rc = unsafe {
            libc::setvbuf(
                self.0,
                buffer.as_mut_ptr() as *mut libc::c_char,
                libc::_IOFBF,
                buffer.len(),
            )
        };
        anyhow::ensure!(rc == 0, "setvbuf failed");
        Ok(())
    }

    /// One fread() of one item of `into.len()` bytes; true when it was read.
    #[inline(always)]
    fn fread_item(&mut self, into: &mut [u8]) -> bool {
        // SAFETY: `into` is writable for its length; one item of that size.
        unsafe {
            libc::fread(
                into.as_mut_ptr() as *mut libc::c_void,
                into.len(),
                1,
                self.0,
            ) == 1
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: a stream fopen returned, closed once.
        unsafe { libc::fclose(self.0) };
    }
}

/// Reads `items` items of `item` bytes from the start of the file at
/// `path` with `method`, inside `region` (which times or counts it);
/// opening and closing are outside. Returns what `region` returned.
pub fn read_items<R>(
    method: Method,
    path: &Path,
    item: usize,
    items: u64,
    region: impl FnOnce(&mut dyn FnMut() -> anyhow::Result<()>) -> R,
) -> anyhow::Result<R> {
    let mut into = vec![0u8; item];
    match method.id {
        "fread" | "fread_setvbuf" => {
            let mut own = vec![0u8; SETVBUF_BYTES];
            let mut stream = Stream::open(path)?;
            if method.id == "fread_setvbuf" {
                // SAFETY: `own` is dropped after `stream` (declared before it).
                unsafe { stream.set_buffer(&mut own)? };
            }
            let out = region(&mut || {
                for i in 0..items {
                    anyhow::ensure!(stream.fread_item(&mut into), "fread stopped at item {i}");
                    black_box(&into);
                }
                Ok(())
            });
            drop(stream);
            drop(own);
            Ok(out)
        }
        "bufreader" => {
            let mut reader = BufReader::new(File::open(path).context("open")?);
            Ok(region(&mut || {
                for _ in 0..items {
                    reader
                        .read_exact(&mut into)
                        .context("BufReader::read_exact")?;
                    black_box(&into);
                }
                Ok(())
            }))
        }
        "read" => {
            let mut file = File::open(path).context("open")?;
            Ok(region(&mut || {
                for i in 0..items {
                    let n = file.read(&mut into).context("read")?;
                    anyhow::ensure!(n == item, "read() returned {n} of {item} bytes at item {i}");
                    black_box(&into);
                }
                Ok(())
            }))
        }
        other => anyhow::bail!("unknown method {other}"),
    }
}

/// Timed: returns the elapsed ns of reading the items.
pub fn timed(method: Method, path: &Path, item: usize, items: u64) -> anyhow::Result<u64> {
    let (ns, outcome) = read_items(method, path, item, items, |work| {
        let started = Instant::now();
        let outcome = work();
        (started.elapsed().as_nanos() as u64, outcome)
    })?;
    outcome?;
    Ok(ns)
}

/// The default capacity of a `BufReader` on this build of std.
pub fn bufreader_capacity() -> usize {
    BufReader::new(std::io::empty()).capacity()
}
