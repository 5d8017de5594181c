//! L2: 4 KiB reads at random page offsets of a file evicted from the page
//! cache, by each method in turn, the file evicted again before every pass:
//!
//! - through a mapping with MADV_RANDOM (no readahead: each read a major
//!   fault, which reads one page and waits for it), from 1 thread and from
//!   N threads;
//! - pread() from 1 thread and from N threads (the descriptor advised
//!   POSIX_FADV_RANDOM, so that it too reads only the page asked for);
//! - io_uring from 1 thread with 1, 8 or 32 reads in flight (`io-uring`
//!   crate; IORING_OP_READ on the same advised descriptor).
//!
//! Each pass reads `reads_per_pass` distinct pages (a fresh shuffle per
//! pass: every read a miss) and sums each page with the same loop; the first
//! word of every page is checked against the data file's pattern. Around
//! every pass, `/proc/diskstats` of the data folder's device gives the
//! reads the device completed, the sectors read and the average number of
//! requests in flight (the weighted time in queue over the elapsed time,
//! iostat's `aqu-sz`); the machine's other I/O counts there too.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::Barrier;
use std::time::Instant;

use anyhow::Context;
use mmlab_core::DataFile;
use mmlab_core::datafile::pattern_word;
use mmlab_core::pages::Rusage;
use serde_json::{Value, json};

use crate::small_files::sum_words;

pub const PART: &str = "random-reads";
pub const FAMILY_MMAP: &str = "mmap";
pub const FAMILY_READ: &str = "read()-family";

pub const READ_BYTES: usize = 4096;

#[derive(Debug, Clone)]
pub struct Plan {
    pub file_bytes: u64,
    pub reads_per_pass: usize,
    pub rounds: usize,
    /// N, for the many-thread variants: CPUs x 4.
    pub threads: usize,
    pub depths: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Mmap { threads: usize },
    Pread { threads: usize },
    Uring { depth: usize },
}

impl Method {
    pub fn name(self) -> String {
        let threads = |n: usize| {
            if n == 1 {
                "1 thread".to_string()
            } else {
                format!("{n} threads")
            }
        };
        match self {
            Method::Mmap { threads: n } => format!("mmap MADV_RANDOM, {}", threads(n)),
            Method::Pread { threads: n } => format!("pread(), {}", threads(n)),
            Method::Uring { depth } => format!("io_uring, depth {depth}"),
        }
    }

    pub fn family(self) -> &'static str {
        match self {
            Method::Mmap { .. } => FAMILY_MMAP,
            _ => FAMILY_READ,
        }
    }

    fn threads(self) -> usize {
        match self {
            Method::Mmap { threads } | Method::Pread { threads } => threads,
            Method::Uring { .. } => 1,
        }
    }

    fn depth(self) -> usize {
        match self {
            Method::Uring { depth } => depth,
            // Blocking calls: one outstanding read per thread.
            _ => 1,
        }
    }
}

pub fn methods(plan: &Plan) -> Vec<Method> {
    let mut all = vec![
        Method::Mmap { threads: 1 },
        Method::Mmap {
            threads: plan.threads,
        },
        Method::Pread { threads: 1 },
        Method::Pread {
            threads: plan.threads,
        },
    ];
    all.extend(plan.depths.iter().map(|&depth| Method::Uring { depth }));
    all
}

/// A small xorshift generator: the offsets need no more than that.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// `n` distinct page offsets (bytes) of a file of `pages` pages.
pub fn random_offsets(pages: u64, n: usize, seed: u64) -> Vec<u64> {
    let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut all: Vec<u64> = (0..pages).collect();
    let n = n.min(all.len());
    for i in 0..n {
        let j = i + (rng.next() % (all.len() - i) as u64) as usize;
        all.swap(i, j);
    }
    all.truncate(n);
    all.iter().map(|p| p * READ_BYTES as u64).collect()
}

/// One line of /proc/diskstats, the fields this part uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiskStats {
    pub reads: u64,
    pub sectors_read: u64,
    pub io_ticks_ms: u64,
    pub time_in_queue_ms: u64,
}

/// The device (`major:minor`, name) holding `path`, for /proc/diskstats.
pub fn device_of(path: &std::path::Path) -> anyhow::Result<(u32, u32, String)> {
    let dev = std::fs::metadata(path)?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let stats = std::fs::read_to_string("/proc/diskstats").context("read /proc/diskstats")?;
    for line in stats.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 3 && f[0] == major.to_string() && f[1] == minor.to_string() {
            return Ok((major, minor, f[2].to_string()));
        }
    }
    anyhow::bail!(
        "{} is on device {major}:{minor}, which /proc/diskstats does not list (not a block device: tmpfs, overlayfs, btrfs...)",
        path.display()
    )
}

pub fn disk_stats(major: u32, minor: u32) -> Option<DiskStats> {
    let stats = std::fs::read_to_string("/proc/diskstats").ok()?;
    for line in stats.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 14 && f[0] == major.to_string() && f[1] == minor.to_string() {
            let n = |i: usize| f[i].parse::<u64>().ok();
            return Some(DiskStats {
                reads: n(3)?,
                sectors_read: n(5)?,
                io_ticks_ms: n(12)?,
                time_in_queue_ms: n(13)?,
            });
        }
    }
    None
}

/// What one pass did.
struct Pass {
    elapsed_ns: u64,
    bad_reads: u64,
}

fn check_page(page: &[u8], offset: u64) -> bool {
    page.len() == READ_BYTES
        && u64::from_le_bytes(page[..8].try_into().expect("8 bytes")) == pattern_word(offset / 8)
}

/// Runs `work` on `threads` threads (on this one when 1), each with its
/// share of `offsets`, timed from the moment all are ready to the last done.
fn on_threads<F>(threads: usize, offsets: &[u64], work: F) -> Pass
where
    F: Fn(&[u64]) -> u64 + Sync,
{
    if threads <= 1 {
        let started = Instant::now();
        let bad = work(offsets);
        return Pass {
            elapsed_ns: started.elapsed().as_nanos() as u64,
            bad_reads: bad,
        };
    }
    let barrier = Barrier::new(threads + 1);
    let chunk = offsets.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = offsets
            .chunks(chunk.max(1))
            .map(|share| {
                let barrier = &barrier;
                let work = &work;
                scope.spawn(move || {
                    barrier.wait();
                    work(share)
                })
            })
            .collect();
        // Threads that got no share still wait at the barrier.
        let idle: Vec<_> = (handles.len()..threads)
            .map(|_| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    0
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        let bad: u64 = handles
            .into_iter()
            .chain(idle)
            .map(|h| h.join().unwrap_or(u64::MAX))
            .sum();
        Pass {
            elapsed_ns: started.elapsed().as_nanos() as u64,
            bad_reads: bad,
        }
    })
}

fn pass_mmap(file: &File, threads: usize, offsets: &[u64]) -> anyhow::Result<Pass> {
    // SAFETY (memmap2's contract): the lab's own file, which nothing
    // truncates or writes while it is mapped.
    let map = unsafe { memmap2::Mmap::map(file) }.context("mmap the data file")?;
    map.advise(memmap2::Advice::Random)
        .context("madvise(MADV_RANDOM)")?;
    let map = &map;
    Ok(on_threads(threads, offsets, |share| {
        let mut bad = 0;
        for &offset in share {
            let page = &map[offset as usize..offset as usize + READ_BYTES];
            std::hint::black_box(sum_words(page));
            bad += u64::from(!check_page(page, offset));
        }
        bad
    }))
}

fn pass_pread(file: &File, threads: usize, offsets: &[u64]) -> Pass {
    on_threads(threads, offsets, |share| {
        let mut buffer = vec![0u8; READ_BYTES];
        let mut bad = 0;
        for &offset in share {
            match file.read_at(&mut buffer, offset) {
                Ok(READ_BYTES) => {
                    std::hint::black_box(sum_words(&buffer));
                    bad += u64::from(!check_page(&buffer, offset));
                }
                _ => bad += 1,
            }
        }
        bad
    })
}

/// io_uring from this thread with up to `depth` reads in flight. The ring
/// is made before the clock starts; an error making it means the kernel
/// refuses io_uring here (io_uring_disabled, seccomp, an old kernel).
fn pass_uring(file: &File, depth: usize, offsets: &[u64]) -> Result<Pass, String> {
    use io_uring::{IoUring, opcode, types};
    let mut ring = IoUring::new(depth.next_power_of_two() as u32)
        .map_err(|e| format!("io_uring_setup failed: {e}"))?;
    let mut buffers = vec![vec![0u8; READ_BYTES]; depth];
    let mut free: Vec<usize> = (0..depth).rev().collect();
    let fd = types::Fd(file.as_raw_fd());
    let (mut next, mut in_flight, mut done, mut bad) = (0usize, 0usize, 0usize, 0u64);
    let started = Instant::now();
    while done < offsets.len() {
        while in_flight < depth && next < offsets.len() {
            let slot = free.pop().expect("a free buffer per read in flight");
            let entry = opcode::Read::new(fd, buffers[slot].as_mut_ptr(), READ_BYTES as u32)
                .offset(offsets[next])
                .build()
                .user_data(((slot as u64) << 32) | next as u64);
            // SAFETY: the buffer stays alive and untouched until its
            // completion is reaped below.
            unsafe { ring.submission().push(&entry) }
                .map_err(|e| format!("submission queue full: {e}"))?;
            next += 1;
            in_flight += 1;
        }
        ring.submit_and_wait(1)
            .map_err(|e| format!("io_uring_enter failed: {e}"))?;
        let completed: Vec<(u64, i32)> = ring
            .completion()
            .map(|c| (c.user_data(), c.result()))
            .collect();
        for (data, res) in completed {
            let slot = (data >> 32) as usize;
            let index = (data & 0xffff_ffff) as usize;
            if res == READ_BYTES as i32 {
                std::hint::black_box(sum_words(&buffers[slot]));
                bad += u64::from(!check_page(&buffers[slot], offsets[index]));
            } else {
                bad += 1;
            }
            free.push(slot);
            in_flight -= 1;
            done += 1;
        }
    }
    Ok(Pass {
        elapsed_ns: started.elapsed().as_nanos() as u64,
        bad_reads: bad,
    })
}

/// The passes: every method once per round, in an order rotated by the
/// round, the file evicted before each. One row per pass.
pub fn measure(file: &DataFile, plan: &Plan, progress: &dyn Fn()) -> anyhow::Result<Vec<Value>> {
    let device = device_of(&file.path);
    let methods = methods(plan);
    let pages = file.size_bytes / READ_BYTES as u64;
    let mut rows = Vec::new();
    for round in 0..plan.rounds {
        mmlab_core::cleanup::checkpoint();
        for k in 0..methods.len() {
            let index = (k + round) % methods.len();
            let method = methods[index];
            let offsets = random_offsets(
                pages,
                plan.reads_per_pass,
                (round * 1000 + index + 1) as u64,
            );
            let handle = file.open()?;
            let resident = mmlab_core::pages::evict_file(handle.as_fd())?;
            if method.family() == FAMILY_READ {
                nix::fcntl::posix_fadvise(
                    handle.as_fd(),
                    0,
                    0,
                    nix::fcntl::PosixFadviseAdvice::POSIX_FADV_RANDOM,
                )
                .context("posix_fadvise(RANDOM)")?;
            }
            let before_disk = device.as_ref().ok().and_then(|d| disk_stats(d.0, d.1));
            let before = Rusage::now(false);
            let pass: Result<Pass, String> = match method {
                Method::Mmap { threads } => {
                    pass_mmap(&handle, threads, &offsets).map_err(|e| format!("{e:#}"))
                }
                Method::Pread { threads } => Ok(pass_pread(&handle, threads, &offsets)),
                Method::Uring { depth } => pass_uring(&handle, depth, &offsets),
            };
            let used = Rusage::now(false).since(&before);
            let after_disk = device.as_ref().ok().and_then(|d| disk_stats(d.0, d.1));
            let mut row = json!({
                "part": PART,
                "method": method.name(),
                "family": method.family(),
                "threads": method.threads(),
                "queue_depth": method.depth(),
                "round": round,
                "order_in_round": k,
                "n_reads": offsets.len(),
                "resident_pages_before": resident,
                "major_faults": used.n_major_faults,
                "minor_faults": used.n_minor_faults,
            });
            match pass {
                Ok(pass) => {
                    let seconds = pass.elapsed_ns as f64 / 1e9;
                    row["elapsed_ns"] = json!(pass.elapsed_ns);
                    row["reads_per_s"] = json!(offsets.len() as f64 / seconds);
                    row["us_per_read"] = json!(pass.elapsed_ns as f64 / 1e3 / offsets.len() as f64);
                    row["bad_reads"] = json!(pass.bad_reads);
                    if let (Some(b), Some(a)) = (before_disk, after_disk) {
                        let ms = pass.elapsed_ns as f64 / 1e6;
                        let reads = a.reads.saturating_sub(b.reads);
                        let sectors = a.sectors_read.saturating_sub(b.sectors_read);
                        row["device_reads"] = json!(reads);
                        row["device_kib_read"] = json!(sectors / 2);
                        row["device_kib_per_read"] = json!(if reads > 0 {
                            json!(sectors as f64 / 2.0 / reads as f64)
                        } else {
                            Value::Null
                        });
                        row["device_avg_in_flight"] = json!(
                            a.time_in_queue_ms.saturating_sub(b.time_in_queue_ms) as f64 / ms
                        );
                        row["device_busy_fraction"] =
                            json!(a.io_ticks_ms.saturating_sub(b.io_ticks_ms) as f64 / ms);
                    }
                }
                Err(why) => {
                    row["error"] = json!(why);
                }
            }
            rows.push(row);
        }
        progress();
    }
    Ok(rows)
}

/// What the result records about the device the reads went to.
pub fn describe_device(path: &std::path::Path) -> Value {
    match device_of(path) {
        Ok((major, minor, name)) => {
            let disk = std::fs::canonicalize(format!("/sys/dev/block/{major}:{minor}"))
                .ok()
                .map(|p| {
                    if p.join("partition").exists() {
                        p.parent().map(|q| q.to_path_buf()).unwrap_or(p)
                    } else {
                        p
                    }
                });
            let queue = |f: &str| {
                disk.as_ref()
                    .and_then(|d| std::fs::read_to_string(d.join("queue").join(f)).ok())
                    .map(|s| s.trim().to_string())
            };
            json!({
                "device": name,
                "major_minor": format!("{major}:{minor}"),
                "rotational": queue("rotational"),
                "scheduler": queue("scheduler"),
                "nr_requests": queue("nr_requests"),
                "read_ahead_kb": queue("read_ahead_kb"),
                "model": disk.as_ref().and_then(|d| std::fs::read_to_string(d.join("device/model")).ok()).map(|s| s.trim().to_string()),
                "virtio": disk.as_ref().and_then(|d| std::fs::canonicalize(d.join("device")).ok()).map(|p| p.display().to_string().contains("virtio")),
            })
        }
        Err(why) => json!({"error": format!("{why:#}")}),
    }
}

/// For a test: whether the kernel lets this process make an io_uring.
pub fn uring_available() -> Result<(), String> {
    io_uring::IoUring::new(1)
        .map(drop)
        .map_err(|e| format!("io_uring_setup failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_distinct_pages_in_range() {
        let offsets = random_offsets(1000, 500, 7);
        assert_eq!(offsets.len(), 500);
        let mut sorted = offsets.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 500);
        assert!(offsets.iter().all(|o| o % 4096 == 0 && *o < 1000 * 4096));
        assert_ne!(random_offsets(1000, 500, 8), offsets);
    }
}
