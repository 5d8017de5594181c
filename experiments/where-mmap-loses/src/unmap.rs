//! L3: the cost of mprotect() and munmap() of a small anonymous mapping
//! against the number of threads of the process that touched it and are
//! still running.
//!
//! For T threads (1 = the single-threaded baseline): the measuring thread
//! is pinned to the first CPU it may use, T - 1 helper threads to the
//! others in turn. Per trial the measuring thread maps a fresh region,
//! every thread writes its share of its pages, the helpers go on spinning
//! (so each stays current on its CPU, as a database's worker threads
//! would), and the measuring thread times mprotect(PROT_READ) of the
//! region, then munmap() of it. The `TLB` line of /proc/interrupts (TLB
//! shootdown interrupts received, per CPU) is read before and after each
//! call, outside the timed call.
//!
//! A separate, untimed pass counts the `tlb:tlb_flush` tracepoint on every
//! thread (perf counters through mmlab-counters) over the same trials: on
//! the helpers it counts the remote flushes their CPUs ran for us.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;
use serde_json::{Value, json};

pub const PART: &str = "unmap";
pub const OP_MUNMAP: &str = "munmap";
pub const OP_MPROTECT: &str = "mprotect";
pub const TLB_EVENT: &str = "tlb:tlb_flush";

#[derive(Debug, Clone)]
pub struct Plan {
    pub mapping_bytes: usize,
    pub thread_counts: Vec<usize>,
    pub trials_per_round: usize,
    pub rounds: usize,
}

/// The per-CPU counts of the `TLB` line of /proc/interrupts (x86:
/// "TLB shootdowns"), or why there are none.
pub fn tlb_interrupts() -> Result<Vec<u64>, String> {
    let text = std::fs::read_to_string("/proc/interrupts")
        .map_err(|e| format!("cannot read /proc/interrupts: {e}"))?;
    parse_tlb_line(&text)
}

pub fn parse_tlb_line(text: &str) -> Result<Vec<u64>, String> {
    let n_cpus = text
        .lines()
        .next()
        .map(|header| {
            header
                .split_whitespace()
                .filter(|w| w.starts_with("CPU"))
                .count()
        })
        .unwrap_or(0);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("TLB:"))
        .ok_or("/proc/interrupts has no TLB line (it is x86's; other architectures count shootdowns elsewhere or not at all)")?;
    let counts: Vec<u64> = line
        .trim_start()
        .trim_start_matches("TLB:")
        .split_whitespace()
        .take(n_cpus)
        .map(|w| w.parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot parse the TLB line of /proc/interrupts: {e}"))?;
    if counts.len() != n_cpus {
        return Err(format!(
            "the TLB line of /proc/interrupts has {} counts for {n_cpus} CPUs",
            counts.len()
        ));
    }
    Ok(counts)
}

/// The CPUs this process may run on, in order.
pub fn allowed_cpus() -> Vec<usize> {
    match sched_getaffinity(Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .collect(),
        Err(_) => vec![0],
    }
}

fn pin_to(cpu: usize) {
    let mut set = CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = sched_setaffinity(Pid::from_raw(0), &set);
    }
}

/// A thread's CPU for helper `k` (1-based) of the allowed list: the
/// measuring thread has the first, helpers take the others in turn (all on
/// the only one where there is one).
fn helper_cpu(cpus: &[usize], k: usize) -> usize {
    if cpus.len() <= 1 {
        cpus.first().copied().unwrap_or(0)
    } else {
        cpus[1 + (k - 1) % (cpus.len() - 1)]
    }
}

/// A raw anonymous private mapping (no wrapper: the point is to time the
/// munmap call itself).
fn map_anonymous(len: usize) -> anyhow::Result<*mut u8> {
    // SAFETY: a fresh anonymous mapping; no existing memory is affected.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        anyhow::bail!("mmap: {}", std::io::Error::last_os_error());
    }
    Ok(addr as *mut u8)
}

/// Writes one byte to every page `p` of the region with `p % of == share`.
fn touch(addr: usize, len: usize, share: usize, of: usize) {
    let page = mmlab_core::fingerprint::page_size();
    let mut p = share;
    while p * page < len {
        // SAFETY: inside the live region the measuring thread mapped and
        // does not unmap before every thread has said it is done.
        unsafe { std::ptr::write_volatile((addr + p * page) as *mut u8, 1) };
        p += of;
    }
}

struct Shared {
    generation: AtomicU64,
    addr: AtomicUsize,
    len: AtomicUsize,
    touched: AtomicUsize,
    stop: AtomicBool,
}

/// The helpers of one batch: T - 1 threads, pinned, touching their share of
/// each new region and spinning between regions.
struct Helpers {
    shared: Arc<Shared>,
    handles: Vec<std::thread::JoinHandle<Option<u64>>>,
}

impl Helpers {
    fn start(threads: usize, cpus: &[usize], count: bool) -> Helpers {
        let shared = Arc::new(Shared {
            generation: AtomicU64::new(0),
            addr: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            touched: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        // Helpers go to the CPUs after the measuring thread's; they share
        // one when there are more helpers than those CPUs.
        let shares_cpu = threads.saturating_sub(1) > cpus.len().saturating_sub(1);
        let handles = (1..threads)
            .map(|k| {
                let shared = Arc::clone(&shared);
                let cpu = helper_cpu(cpus, k);
                std::thread::spawn(move || {
                    pin_to(cpu);
                    let work = || {
                        let mut seen = 0;
                        let mut spins = 0u64;
                        loop {
                            if shared.stop.load(Ordering::Acquire) {
                                break;
                            }
                            let generation = shared.generation.load(Ordering::Acquire);
                            if generation != seen {
                                seen = generation;
                                touch(
                                    shared.addr.load(Ordering::Acquire),
                                    shared.len.load(Ordering::Acquire),
                                    k,
                                    threads,
                                );
                                shared.touched.fetch_add(1, Ordering::AcqRel);
                            }
                            spins += 1;
                            if shares_cpu && spins.is_multiple_of(64) {
                                // Runnable, never asleep; helpers that
                                // share a CPU let each other run. A helper
                                // alone on its CPU never yields: a yield
                                // hands the CPU to any other process (on a
                                // loaded machine, for a whole slice), the
                                // CPU leaves this mm, and a munmap then
                                // owes it no TLB interrupt (seen: 0 in 600
                                // munmaps with a CPU hog on each CPU).
                                std::thread::yield_now();
                            } else {
                                std::hint::spin_loop();
                            }
                        }
                    };
                    if count {
                        match mmlab_counters::CounterSet::open(&[TLB_EVENT]) {
                            Ok(set) => set.measure(work).1.get(TLB_EVENT),
                            Err(_) => {
                                work();
                                None
                            }
                        }
                    } else {
                        work();
                        None
                    }
                })
            })
            .collect();
        Helpers { shared, handles }
    }

    /// Hands a new region to the helpers and touches the measuring
    /// thread's own share; returns when every thread has touched its pages.
    fn touch_all(&self, addr: usize, len: usize, threads: usize) {
        self.shared.touched.store(0, Ordering::Release);
        self.shared.addr.store(addr, Ordering::Release);
        self.shared.len.store(len, Ordering::Release);
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        touch(addr, len, 0, threads);
        while self.shared.touched.load(Ordering::Acquire) < threads - 1 {
            std::thread::yield_now();
        }
    }

    /// Stops them; the tracepoint counts of those that counted.
    fn stop(self) -> Vec<Option<u64>> {
        self.shared.stop.store(true, Ordering::Release);
        self.handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    }
}

fn delta(before: &Result<Vec<u64>, String>, after: &Result<Vec<u64>, String>) -> Option<Vec<u64>> {
    match (before, after) {
        (Ok(b), Ok(a)) if a.len() == b.len() => {
            Some(a.iter().zip(b).map(|(a, b)| a.saturating_sub(*b)).collect())
        }
        _ => None,
    }
}

/// Where a call happened: threads, round, trial.
#[derive(Debug, Clone, Copy)]
struct At {
    threads: usize,
    round: usize,
    trial: usize,
}

fn op_row(
    op: &str,
    at: At,
    elapsed_ns: u64,
    rc: i32,
    irqs: Option<Vec<u64>>,
    own_cpu_index: Option<usize>,
) -> Value {
    let At {
        threads,
        round,
        trial,
    } = at;
    let total: Option<u64> = irqs.as_ref().map(|v| v.iter().sum());
    let others: Option<u64> = irqs.as_ref().map(|v| {
        v.iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != own_cpu_index)
            .map(|(_, n)| n)
            .sum()
    });
    json!({
        "part": PART,
        "op": op,
        "threads": threads,
        "round": round,
        "trial": trial,
        "elapsed_ns": elapsed_ns,
        "rc": rc,
        "tlb_irqs": total,
        "tlb_irqs_other_cpus": others,
        "tlb_irqs_per_cpu": irqs,
    })
}

/// Trials of T threads: mprotect then munmap of a region all T touched.
fn trials(
    threads: usize,
    round: usize,
    plan: &Plan,
    cpus: &[usize],
    rows: &mut Vec<Value>,
) -> anyhow::Result<()> {
    let helpers = Helpers::start(threads, cpus, false);
    // The index of the measuring thread's CPU in /proc/interrupts' columns
    // (CPUs are numbered in order there).
    let own = cpus.first().copied();
    let result = (|| {
        for trial in 0..plan.trials_per_round {
            let addr = map_anonymous(plan.mapping_bytes)?;
            helpers.touch_all(addr as usize, plan.mapping_bytes, threads);
            let i0 = tlb_interrupts();
            let started = Instant::now();
            // SAFETY: the region this loop mapped; every thread is done
            // writing it (touch_all returned).
            let rc = unsafe {
                libc::mprotect(
                    addr as *mut libc::c_void,
                    plan.mapping_bytes,
                    libc::PROT_READ,
                )
            };
            let mprotect_ns = started.elapsed().as_nanos() as u64;
            let i1 = tlb_interrupts();
            let started = Instant::now();
            // SAFETY: as above; nothing uses the region afterwards.
            let rc2 = unsafe { libc::munmap(addr as *mut libc::c_void, plan.mapping_bytes) };
            let munmap_ns = started.elapsed().as_nanos() as u64;
            let i2 = tlb_interrupts();
            let at = At {
                threads,
                round,
                trial,
            };
            rows.push(op_row(
                OP_MPROTECT,
                at,
                mprotect_ns,
                rc,
                delta(&i0, &i1),
                own,
            ));
            rows.push(op_row(OP_MUNMAP, at, munmap_ns, rc2, delta(&i1, &i2), own));
        }
        Ok(())
    })();
    helpers.stop();
    result
}

/// The untimed counting pass: `tlb:tlb_flush` on every thread of T over
/// `trials` mprotect + munmap pairs.
fn count(threads: usize, plan: &Plan, cpus: &[usize]) -> anyhow::Result<Value> {
    let main_set = match mmlab_counters::CounterSet::open(&[TLB_EVENT]) {
        Ok(set) => set,
        Err(e) => {
            return Ok(json!({"threads": threads, "error": e.to_string()}));
        }
    };
    let availability = main_set.availability();
    if let Some(mmlab_core::Availability::Unavailable(why)) = availability.get(TLB_EVENT) {
        return Ok(json!({"threads": threads, "error": why}));
    }
    let helpers = Helpers::start(threads, cpus, true);
    let mut main_events = 0u64;
    let mut main_known = true;
    let result: anyhow::Result<()> = (|| {
        for _ in 0..plan.trials_per_round {
            let addr = map_anonymous(plan.mapping_bytes)?;
            helpers.touch_all(addr as usize, plan.mapping_bytes, threads);
            let ((), m) = main_set.measure(|| {
                // SAFETY: as in `trials`.
                unsafe {
                    libc::mprotect(
                        addr as *mut libc::c_void,
                        plan.mapping_bytes,
                        libc::PROT_READ,
                    );
                    libc::munmap(addr as *mut libc::c_void, plan.mapping_bytes);
                }
            });
            match m.get(TLB_EVENT) {
                Some(n) => main_events += n,
                None => main_known = false,
            }
        }
        Ok(())
    })();
    let helper_counts = helpers.stop();
    result?;
    let helper_known = helper_counts.iter().all(Option::is_some);
    let helper_events: u64 = helper_counts.iter().flatten().sum();
    Ok(json!({
        "threads": threads,
        "pairs": plan.trials_per_round,
        "event": TLB_EVENT,
        "measuring_thread_events": if main_known { json!(main_events) } else { Value::Null },
        "helper_events": if helper_known { json!(helper_events) } else { Value::Null },
        "helper_events_per_pair": if helper_known { json!(helper_events as f64 / plan.trials_per_round as f64) } else { Value::Null },
        "measuring_thread_events_per_pair": if main_known { json!(main_events as f64 / plan.trials_per_round as f64) } else { Value::Null },
    }))
}

/// What L3 returns: the timed rows and the counting rows.
#[derive(Debug)]
pub struct Measured {
    pub rows: Vec<Value>,
    pub counts: Vec<Value>,
    pub cpus: Vec<usize>,
    pub tlb_line: Result<(), String>,
}

pub fn measure(plan: &Plan, progress: &dyn Fn()) -> anyhow::Result<Measured> {
    let cpus = allowed_cpus();
    let saved = sched_getaffinity(Pid::from_raw(0)).ok();
    pin_to(cpus.first().copied().unwrap_or(0));
    let result = (|| {
        let mut rows = Vec::new();
        for round in 0..plan.rounds {
            mmlab_core::cleanup::checkpoint();
            for k in 0..plan.thread_counts.len() {
                let threads = plan.thread_counts[(k + round) % plan.thread_counts.len()];
                trials(threads, round, plan, &cpus, &mut rows)?;
            }
            progress();
        }
        let mut counts = Vec::new();
        for &threads in &plan.thread_counts {
            counts.push(count(threads, plan, &cpus)?);
        }
        anyhow::Ok((rows, counts))
    })();
    if let Some(saved) = saved {
        let _ = sched_setaffinity(Pid::from_raw(0), &saved);
    }
    let (rows, counts) = result?;
    Ok(Measured {
        rows,
        counts,
        cpus,
        tlb_line: tlb_interrupts().map(drop),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_tlb_line() {
        let text = "           CPU0       CPU1       \n  0:         10          0  IO-APIC    2-edge      timer\nTLB:     324146     315787   TLB shootdowns\n";
        assert_eq!(parse_tlb_line(text).unwrap(), vec![324146, 315787]);
        assert!(parse_tlb_line("           CPU0\n").is_err());
    }
}
