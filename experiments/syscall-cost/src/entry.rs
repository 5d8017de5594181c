//! What it costs to enter the kernel, by way of entry: the instructions
//! themselves (inline assembly: `syscall` and `int $0x80` on x86_64,
//! `svc #0` on aarch64), libc's `syscall()`, a failing system call, and
//! two contrasts that never enter the kernel: a vDSO `clock_gettime` and a
//! plain function call.
//!
//! Timed loops carry no instrumentation (no perf event is even open while
//! they run: an open syscall tracepoint puts every system call of every
//! task on the kernel's slow path); system calls per call are counted in a
//! separate, untimed pass.

use std::hint::black_box;
use std::time::{Duration, Instant};

#[cfg(target_arch = "x86_64")]
use mmlab_core::probe::{Ending, run_in_child};

/// A system call number no kernel gives a meaning to: the kernel answers
/// `-ENOSYS` (x86_64 and aarch64 alike) without doing anything else.
pub const INVALID_SYSCALL_NR: usize = 100_000;

/// One way of calling, with its id (stable: the judge and the tests name
/// it), its label (figures) and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub id: &'static str,
    pub label: &'static str,
    pub what: &'static str,
}

pub const FUNCTION: Kind = Kind {
    id: "function",
    label: "plain function call",
    what: "a call to a function that is not inlined: no kernel at all",
};
pub const VDSO: Kind = Kind {
    id: "vdso",
    label: "vDSO clock_gettime",
    what: "clock_gettime(CLOCK_MONOTONIC) through libc, which calls the kernel's vDSO: code the kernel maps into every process, reading the clock in user space",
};
#[cfg(not(target_arch = "aarch64"))]
pub const TRAP: Kind = Kind {
    id: "trap",
    label: "syscall instruction: getppid",
    what: "getppid through the `syscall` instruction (inline assembly): the 64-bit entry, the null system call",
};
#[cfg(target_arch = "aarch64")]
pub const TRAP: Kind = Kind {
    id: "trap",
    label: "svc #0: getppid",
    what: "getppid through `svc #0` (inline assembly): aarch64's system call entry, the null system call",
};
pub const LIBC_SYSCALL: Kind = Kind {
    id: "libc_syscall",
    label: "libc syscall(): getppid",
    what: "getppid through libc's syscall() wrapper (the same trap plus the wrapper's argument shuffle and errno check)",
};
pub const INT80: Kind = Kind {
    id: "int80",
    label: "int $0x80: compat getppid",
    what: "getppid through `int $0x80` (inline assembly, number 64 of the i386 table): the 32-bit entry the notes name, the IA32 compatibility path",
};
pub const ENOSYS: Kind = Kind {
    id: "enosys",
    label: "failing system call (ENOSYS)",
    what: "an invalid system call number through the same instruction: the kernel enters, finds no handler and returns -ENOSYS",
};
pub const TRAP_COUNTED: Kind = Kind {
    id: "trap_counted",
    label: "getppid while a tracepoint counts",
    what: "the null system call again, timed while raw_syscalls:sys_enter is being counted (the price of watching; every other timed loop runs with no counter open)",
};

/// Every kind, in the order the figure shows them.
pub const KINDS: [Kind; 7] = [
    FUNCTION,
    VDSO,
    TRAP,
    LIBC_SYSCALL,
    INT80,
    ENOSYS,
    TRAP_COUNTED,
];

/// The native system call instruction, as the evidence names it.
#[cfg(target_arch = "aarch64")]
pub const NATIVE_INSTRUCTION: &str = "svc #0";
#[cfg(not(target_arch = "aarch64"))]
pub const NATIVE_INSTRUCTION: &str = "syscall";

#[cfg(target_arch = "x86_64")]
mod arch {
    /// The i386 table's getppid (`arch/x86/entry/syscalls/syscall_32.tbl`).
    pub const COMPAT_GETPPID: u32 = 64;

    /// A system call without arguments through the `syscall` instruction.
    ///
    /// # Safety
    /// `nr` must be a call that takes no arguments and touches no memory
    /// of this process (getppid, or a number with no handler).
    #[inline(always)]
    pub unsafe fn syscall0(nr: usize) -> isize {
        let ret: isize;
        // SAFETY: `syscall` takes the number in rax and returns in rax; the
        // CPU overwrites rcx (return address) and r11 (rflags), declared
        // clobbered. The call the caller chose reads and writes no memory
        // of ours, and the instruction does not touch the user stack.
        unsafe {
            core::arch::asm!(
                "syscall",
                inlateout("rax") nr as isize => ret,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }

    /// A system call without arguments through `int $0x80`, the 32-bit
    /// entry (numbers of the i386 table).
    ///
    /// # Safety
    /// As [`syscall0`], with an i386 number. Where the kernel has IA32
    /// emulation off, the instruction raises #GP and the process gets
    /// SIGSEGV: try it in a child first ([`super::int80_available`]).
    #[inline(always)]
    pub unsafe fn int80_0(nr: u32) -> i32 {
        let ret: i32;
        // SAFETY: `int $0x80` takes the number in eax and returns in eax.
        // Kernels before 4.17 zeroed r8-r11 on this path; they are declared
        // clobbered. getppid reads no memory of ours, the interrupt frame is
        // pushed on the kernel stack, not ours.
        unsafe {
            core::arch::asm!(
                "int 0x80",
                inlateout("eax") nr => ret,
                lateout("r8") _,
                lateout("r9") _,
                lateout("r10") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    /// A system call without arguments through `svc #0`.
    ///
    /// # Safety
    /// `nr` must be a call that takes no arguments and touches no memory
    /// of this process (getppid, or a number with no handler).
    #[inline(always)]
    pub unsafe fn syscall0(nr: usize) -> isize {
        let ret: isize;
        // SAFETY: `svc #0` takes the number in x8 and returns in x0 (the
        // kernel preserves every other register). The call the caller chose
        // reads and writes no memory of ours; the user stack is not used.
        unsafe {
            core::arch::asm!(
                "svc #0",
                in("x8") nr,
                lateout("x0") ret,
                options(nostack),
            );
        }
        ret
    }
}

/// Whether this crate has inline assembly for this architecture's entry.
pub const HAS_ASM: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// getppid (or any argument-less call) through the native instruction;
/// `None` on an architecture this crate has no assembly for.
#[inline(always)]
pub fn raw_syscall0(nr: usize) -> Option<isize> {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        // SAFETY: only getppid and INVALID_SYSCALL_NR are passed (both
        // argument-less, touching no user memory); see `arch::syscall0`.
        Some(unsafe { arch::syscall0(nr) })
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = nr;
        None
    }
}

/// The compat getppid through `int $0x80`. Only call it after
/// [`int80_available`] said yes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn int80_getppid() -> i32 {
    // SAFETY: getppid takes no arguments and touches no user memory; the
    // caller checked in a child that the entry exists.
    unsafe { arch::int80_0(arch::COMPAT_GETPPID) }
}

/// Whether `int $0x80` works here, tried in a forked child: `Ok(())` when
/// it returned the parent's pid, else why not.
pub fn int80_available() -> Result<(), String> {
    #[cfg(target_arch = "x86_64")]
    {
        let outcome = run_in_child(Duration::from_secs(5), |channel| {
            let got = int80_getppid();
            channel.send_json(&got);
            // SAFETY: getppid has no preconditions.
            let want = unsafe { libc::getppid() };
            if got == want { 0 } else { 3 }
        })
        .map_err(|e| format!("the test child could not be forked: {e:#}"))?;
        match &outcome.ending {
            Ending::Exited { code: 0 } => Ok(()),
            Ending::Exited { code: 3 } => Err(format!(
                "int $0x80 returned {} in a test child, not its parent's pid: the compat entry answers but not with getppid",
                outcome
                    .output_json::<i64>()
                    .map_or("nothing".into(), |v| v.to_string())
            )),
            Ending::Signaled { signal, .. } if signal == "SIGSEGV" => Err(format!(
                "int $0x80 killed a test child with {} (the CPU raised #GP: the kernel has IA32 emulation off, by ia32_emulation=0 on its command line or a build without CONFIG_IA32_EMULATION, so 32-bit programs cannot run here either)",
                outcome.ending.describe()
            )),
            other => Err(format!(
                "int $0x80 in a test child ended with {}",
                other.describe()
            )),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Err(format!(
            "int $0x80 is an x86 instruction; this is {}, whose entry is measured as `{NATIVE_INSTRUCTION}`",
            std::env::consts::ARCH
        ))
    }
}

#[inline(never)]
fn plain_function(x: u64) -> u64 {
    black_box(x).wrapping_mul(3).wrapping_add(1)
}

/// Runs `n` calls of `kind` and returns the elapsed nanoseconds, or why the
/// kind cannot run here. `int80_ok` must come from [`int80_available`].
pub fn run_calls(kind: Kind, n: u64, int80_ok: bool) -> Result<u64, String> {
    let getppid = libc::SYS_getppid as usize;
    if matches!(kind.id, "trap" | "enosys" | "trap_counted") && !HAS_ASM {
        return Err(format!(
            "no inline assembly for {}: only x86_64 and aarch64 have it",
            std::env::consts::ARCH
        ));
    }
    let started = Instant::now();
    match kind.id {
        "function" => {
            let mut acc = 0u64;
            for i in 0..n {
                acc = acc.wrapping_add(plain_function(i));
            }
            black_box(acc);
        }
        "vdso" => {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            for _ in 0..n {
                // SAFETY: a valid clock id and a valid timespec to write.
                unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
                black_box(&ts);
            }
        }
        "trap" | "trap_counted" => {
            for _ in 0..n {
                black_box(raw_syscall0(black_box(getppid)));
            }
        }
        "enosys" => {
            for _ in 0..n {
                black_box(raw_syscall0(black_box(INVALID_SYSCALL_NR)));
            }
        }
        "libc_syscall" => {
            for _ in 0..n {
                // SAFETY: getppid takes no arguments.
                black_box(unsafe { libc::syscall(black_box(libc::SYS_getppid)) });
            }
        }
        "int80" => {
            if !int80_ok {
                return Err("int $0x80 is not available here".into());
            }
            #[cfg(target_arch = "x86_64")]
            for _ in 0..n {
                black_box(int80_getppid());
            }
        }
        other => return Err(format!("unknown entry kind {other}")),
    }
    Ok(started.elapsed().as_nanos() as u64)
}

/// Calls per timed repetition so that one lasts about `target`: from a
/// short trial, clamped to 1,000..=20,000,000.
pub fn calls_for(kind: Kind, target: Duration, int80_ok: bool) -> Result<u64, String> {
    let trial = 2_000;
    run_calls(kind, trial, int80_ok)?;
    let ns = run_calls(kind, trial, int80_ok)?.max(1);
    let n = (target.as_nanos() as f64 * trial as f64 / ns as f64) as u64;
    Ok(n.clamp(1_000, 20_000_000))
}

/// What one of the results answered: the errno of the failing call and
/// the value getppid returned, checked against libc's.
pub fn sanity() -> serde_json::Value {
    // SAFETY: getppid has no preconditions.
    let libc_ppid = unsafe { libc::getppid() } as i64;
    let raw = raw_syscall0(libc::SYS_getppid as usize).map(|v| v as i64);
    let invalid = raw_syscall0(INVALID_SYSCALL_NR).map(|v| v as i64);
    serde_json::json!({
        "getppid_libc": libc_ppid,
        "getppid_raw": raw,
        "invalid_nr": INVALID_SYSCALL_NR,
        "invalid_nr_returned": invalid,
        "enosys": -(libc::ENOSYS as i64),
    })
}
