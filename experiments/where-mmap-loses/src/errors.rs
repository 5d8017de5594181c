//! L4: how a short or failed read reaches the program, through read() and
//! through a mapping.
//!
//! - Truncation (any filesystem): a file of 8 pages is mapped (MAP_SHARED,
//!   PROT_READ), then ftruncate()d to 2.5 pages under the mapping. pread()
//!   of the page past the new end returns 0 (end of file) and of the page
//!   holding the new end a short count; through the mapping (each access in
//!   a forked child) the page holding the end reads zeros past it and the
//!   page past the end raises SIGBUS.
//! - I/O error (root, a scratch ext4 on a loop device): the block device is
//!   shrunk under the mounted filesystem (its image truncated, then
//!   LOOP_SET_CAPACITY) so that the data file's last page lies past the
//!   device's end; with the file evicted, pread() of that page fails with
//!   EIO, a mapped access raises SIGBUS. The kernel logs "attempt to access
//!   beyond end of device" for each such read.
//! - Surviving it: a child that installs a SIGBUS handler which maps a page
//!   of zeros over the faulting address (mmap MAP_FIXED | MAP_ANONYMOUS)
//!   goes on after the truncation, and reads 0 there.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use mmlab_core::probe::{Ending, run_in_child};
use mmlab_core::scratch::{FsKind, ScratchFs};
use serde_json::{Value, json};

pub const ACCESS_READ: &str = "read()";
pub const ACCESS_MAP: &str = "mmap access";

pub const SCENARIO_PAST_END: &str = "truncated: page past the new end";
pub const SCENARIO_END_PAGE: &str = "truncated: page holding the new end";
pub const SCENARIO_IO_ERROR: &str = "I/O error: page past the shrunk device";
pub const SCENARIO_IO_CONTROL: &str = "I/O error: page before the cut";
pub const SCENARIO_HANDLER: &str = "truncated, with a SIGBUS handler";

/// Pages of the file before truncation, and its size after.
pub const FILE_PAGES: usize = 8;
pub const TRUNCATED_PAGES_X2: usize = 5; // 2.5 pages

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A raw shared read-only mapping of `len` bytes of `fd`: the point is to
/// keep it while the file shrinks under it (memmap2's contract forbids that).
fn map_shared_read(fd: i32, len: usize) -> anyhow::Result<*const u8> {
    // SAFETY: a new mapping of our own file; no existing memory changes.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        anyhow::bail!("mmap: {}", std::io::Error::last_os_error());
    }
    Ok(addr as *const u8)
}

fn unmap(addr: *const u8, len: usize) {
    // SAFETY: a mapping made by `map_shared_read` with this length.
    unsafe { libc::munmap(addr as *mut libc::c_void, len) };
}

/// What a pread of `len` bytes at `offset` gave: a count or an errno.
fn read_outcome(file: &File, offset: u64, len: usize) -> (String, Value, String) {
    let mut buffer = vec![0u8; len];
    match file.read_at(&mut buffer, offset) {
        Ok(n) => (
            "returned".into(),
            json!(n),
            if n == 0 {
                "returned 0 (end of file)".into()
            } else if n < len {
                format!("returned {n} of {len} bytes (short)")
            } else {
                format!("returned {n} bytes")
            },
        ),
        Err(e) => {
            let errno = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0));
            let short = format!("{errno:?}");
            (
                "errno".into(),
                json!(short.clone()),
                format!("failed: {short}"),
            )
        }
    }
}

/// Reads one byte at `addr` in a child: how the child ended, and the byte
/// if it got one.
fn map_outcome(addr: *const u8) -> anyhow::Result<(String, Value, String)> {
    let address = addr as usize;
    let outcome = run_in_child(PROBE_TIMEOUT, move |channel| {
        // SAFETY: reads inside a live mapping; a page past the file's end
        // raises SIGBUS, which ends this child (the probe records it).
        let byte = unsafe { std::ptr::read_volatile(address as *const u8) };
        channel.send_json(&byte);
        0
    })?;
    Ok(describe_ending(
        &outcome.ending,
        outcome.output_json::<u8>(),
    ))
}

fn describe_ending(ending: &Ending, byte: Option<u8>) -> (String, Value, String) {
    match ending {
        Ending::Exited { code: 0 } => (
            "returned".into(),
            json!(byte),
            match byte {
                Some(b) => format!("read a byte: {b}"),
                None => "exit 0".into(),
            },
        ),
        Ending::Signaled { .. } => (
            "signal".into(),
            json!(ending.describe()),
            format!("killed by {}", ending.describe()),
        ),
        other => ("other".into(), json!(other.describe()), other.describe()),
    }
}

fn row(scenario: &str, access: &str, what: String, outcome: (String, Value, String)) -> Value {
    let (kind, value, text) = outcome;
    json!({
        "scenario": scenario,
        "access": access,
        "what": what,
        "kind": kind,
        "value": value,
        "outcome": text,
    })
}

static HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn replace_page(_signal: i32, info: *mut libc::siginfo_t, _context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo; mmap is a plain system
    // call (async-signal-safe in practice), mapping zeros over the page
    // the fault was in, so that the access, run again, succeeds.
    unsafe {
        let addr = (*info).si_addr() as usize;
        let page = mmlab_core::fingerprint::page_size();
        let start = addr & !(page - 1);
        libc::mmap(
            start as *mut libc::c_void,
            page,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            -1,
            0,
        );
    }
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

/// In a child: a SIGBUS handler that maps zeros over the faulting page,
/// then the access past the end.
fn survive_outcome(addr: *const u8) -> anyhow::Result<(String, Value, String)> {
    let address = addr as usize;
    let outcome = run_in_child(PROBE_TIMEOUT, move |channel| {
        // SAFETY: replaces the probe's own SIGBUS handler in this child only.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = replace_page as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
        // SAFETY: as in `map_outcome`; the handler makes the retry succeed.
        let byte = unsafe { std::ptr::read_volatile(address as *const u8) };
        channel.send_json(&json!({"byte": byte, "handled": HANDLED.load(Ordering::SeqCst)}));
        0
    })?;
    let sent: Option<Value> = outcome.output_json();
    Ok(match (&outcome.ending, sent) {
        (Ending::Exited { code: 0 }, Some(v)) => (
            "returned".into(),
            v["byte"].clone(),
            format!(
                "went on: the handler ran {} time(s) and the access read {}",
                v["handled"], v["byte"]
            ),
        ),
        (ending, _) => describe_ending(ending, None),
    })
}

/// The truncation scenarios, on a file in `dir`.
pub fn truncation(dir: &std::path::Path) -> anyhow::Result<Vec<Value>> {
    let page = mmlab_core::fingerprint::page_size();
    let path = dir.join("truncate-me.bin");
    let len = FILE_PAGES * page;
    {
        let mut f = File::create(&path).context("create the file to truncate")?;
        f.write_all(&vec![0xabu8; len])?;
        f.sync_all()?;
    }
    let file = OpenOptions::new().read(true).write(true).open(&path)?;
    let addr = map_shared_read(file.as_raw_fd(), len)?;
    let new_len = TRUNCATED_PAGES_X2 * page / 2;
    let result = (|| {
        file.set_len(new_len as u64).context("ftruncate")?;
        let past = 4 * page; // a page wholly past the new end
        let end_page = (new_len / page) * page; // the page holding the end
        let mut rows = vec![
            row(
                SCENARIO_PAST_END,
                ACCESS_READ,
                format!("pread({page} bytes) at offset {past}; the file now has {new_len} bytes"),
                read_outcome(&file, past as u64, page),
            ),
            // SAFETY: addr + past lies inside the mapping.
            row(
                SCENARIO_PAST_END,
                ACCESS_MAP,
                format!("one byte at mapping offset {past}"),
                map_outcome(unsafe { addr.add(past) })?,
            ),
            row(
                SCENARIO_END_PAGE,
                ACCESS_READ,
                format!("pread({page} bytes) at offset {end_page}"),
                read_outcome(&file, end_page as u64, page),
            ),
            // SAFETY: inside the mapping, past the new end within its page.
            row(
                SCENARIO_END_PAGE,
                ACCESS_MAP,
                format!(
                    "one byte at mapping offset {} (past the end, in its page)",
                    new_len + 100
                ),
                map_outcome(unsafe { addr.add(new_len + 100) })?,
            ),
        ];
        rows.push(row(
            SCENARIO_HANDLER,
            ACCESS_MAP,
            format!("one byte at mapping offset {past}, with a handler that maps zeros there"),
            // SAFETY: inside the mapping.
            survive_outcome(unsafe { addr.add(past) })?,
        ));
        anyhow::Ok(rows)
    })();
    unmap(addr, len);
    drop(file);
    let _ = std::fs::remove_file(&path);
    result
}

/// LOOP_SET_CAPACITY: the loop driver re-reads its backing file's size.
const LOOP_SET_CAPACITY: libc::c_ulong = 0x4C07;
/// FIBMAP: the physical block of a file's logical block (root).
const FIBMAP: libc::c_ulong = 1;

fn physical_block(file: &File, logical: u64) -> Result<u64, String> {
    let mut block: libc::c_int = logical as libc::c_int;
    // SAFETY: FIBMAP reads and writes one int.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), FIBMAP, &mut block) };
    if rc != 0 {
        return Err(format!("FIBMAP: {}", std::io::Error::last_os_error()));
    }
    Ok(block as u64)
}

/// What the I/O-error part found: its rows, or why it was not measured.
#[derive(Debug)]
pub struct IoError {
    pub rows: Vec<Value>,
    pub setup: Value,
}

/// The I/O-error scenarios on a scratch ext4 (root, loop devices).
pub fn io_error(dir: &std::path::Path) -> Result<IoError, String> {
    let page = mmlab_core::fingerprint::page_size();
    let fs = ScratchFs::create(FsKind::Ext4, dir, 64 << 20)?;
    let path = fs.root().join("data.bin");
    let len = 64 * page;
    {
        let mut f = File::create(&path).map_err(|e| format!("create {}: {e}", path.display()))?;
        f.write_all(&vec![0x5au8; len])
            .and_then(|_| f.sync_all())
            .map_err(|e| format!("write {}: {e}", path.display()))?;
    }
    let file = File::open(&path).map_err(|e| format!("open {}: {e}", path.display()))?;
    let block_size = file.metadata().map_err(|e| e.to_string())?.blksize();
    let blocks_per_page = page as u64 / block_size;
    let last_page = (len / page - 1) as u64;
    let last_physical = physical_block(&file, last_page * blocks_per_page)?;
    let first_physical = physical_block(&file, 0)?;
    // Cut the device where the last page's first block starts.
    let cut = (last_physical * block_size) / 4096 * 4096;
    let control_readable = (first_physical * block_size) + page as u64 <= cut;
    let image = fs
        .image()
        .ok_or("the scratch ext4 has no image")?
        .to_path_buf();
    let device = fs
        .loop_device()
        .ok_or("the scratch ext4 has no loop device")?
        .to_path_buf();
    let setup = json!({
        "filesystem": fs.describe(),
        "file_bytes": len,
        "block_size": block_size,
        "first_block_physical": first_physical,
        "last_page_physical_block": last_physical,
        "device_cut_at_bytes": cut,
        "control_page_before_cut": control_readable,
    });
    OpenOptions::new()
        .write(true)
        .open(&image)
        .and_then(|f| f.set_len(cut))
        .map_err(|e| format!("truncate the image: {e}"))?;
    let loop_file = File::open(&device).map_err(|e| format!("open {}: {e}", device.display()))?;
    // SAFETY: LOOP_SET_CAPACITY takes no argument.
    if unsafe { libc::ioctl(loop_file.as_raw_fd(), LOOP_SET_CAPACITY, 0) } != 0 {
        return Err(format!(
            "LOOP_SET_CAPACITY: {}",
            std::io::Error::last_os_error()
        ));
    }
    drop(loop_file);
    let evict = |f: &File| {
        let _ = nix::fcntl::posix_fadvise(
            f.as_fd(),
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        );
        let _ = nix::fcntl::posix_fadvise(
            f.as_fd(),
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_RANDOM,
        );
    };
    evict(&file);
    let past = last_page as usize * page;
    let mut rows = vec![row(
        SCENARIO_IO_ERROR,
        ACCESS_READ,
        format!(
            "pread({page} bytes) at offset {past}, the file evicted, its blocks past the device's end"
        ),
        read_outcome(&file, past as u64, page),
    )];
    if control_readable {
        rows.push(row(
            SCENARIO_IO_CONTROL,
            ACCESS_READ,
            format!("pread({page} bytes) at offset 0"),
            read_outcome(&file, 0, page),
        ));
    }
    let addr = map_shared_read(file.as_raw_fd(), len).map_err(|e| e.to_string())?;
    evict(&file);
    let probe = (|| {
        // SAFETY: inside the mapping.
        let mut r = vec![row(
            SCENARIO_IO_ERROR,
            ACCESS_MAP,
            format!("one byte at mapping offset {past}"),
            map_outcome(unsafe { addr.add(past) })?,
        )];
        if control_readable {
            r.push(row(
                SCENARIO_IO_CONTROL,
                ACCESS_MAP,
                "one byte at mapping offset 0".into(),
                map_outcome(addr)?,
            ));
        }
        anyhow::Ok(r)
    })();
    unmap(addr, len);
    drop(file);
    rows.extend(probe.map_err(|e| format!("{e:#}"))?);
    drop(fs);
    Ok(IoError { rows, setup })
}
