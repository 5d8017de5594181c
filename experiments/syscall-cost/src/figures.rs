//! The figures, declared as data over the result's tables.

use mmlab_core::{Axis, FigureKind, FigureSpec, ReferenceLine};

/// `null_ns`: the null system call's median in this run, drawn as a level.
pub fn figures(null_ns: Option<f64>) -> Vec<FigureSpec> {
    let mut entry = FigureSpec::new(
        "entry-cost",
        "What does entering the kernel cost, by way of entry, on this CPU?",
        FigureKind::Bar,
        "entry_costs",
        Axis::new("label", "way of calling"),
        Axis::log("ns_per_call", "ns per call (median of repetitions, log)"),
    );
    entry.claims = vec!["S16".into()];
    entry.how_to_read = "Each bar is the median time of one call over repetitions of a tight loop with no instrumentation (whiskers: p5 to p95). The plain function call never enters the kernel, and the vDSO clock_gettime does not where the clock source can be read from user space (the system calls counted per call are in entry_counted, the clock source in params); getppid through the native instruction is the null system call; int $0x80 is the 32-bit entry, through the IA32 compatibility path; ENOSYS is a system call number with no handler. A cross instead of a bar: not measured here (the reason is in the result file). The last bar is the null system call again while a syscall tracepoint is being counted: every other bar was timed with no counter open, because an open syscall tracepoint sends every system call through the kernel's slow path. The CPU's mitigations (cpu_vulnerabilities in the result) set much of the price.".into();

    let mut read = FigureSpec::new(
        "read-per-call",
        "How does one read() call's time grow with its block size, and how much is the trap?",
        FigureKind::Line,
        "read_blocks",
        Axis::log("block_bytes", "block size (bytes, log)"),
        Axis::log("ns_per_call", "ns per call (median, log)"),
    );
    read.series = Some("method".into());
    read.claims = vec!["S5".into()];
    if let Some(ns) = null_ns {
        read.reference_lines = vec![ReferenceLine {
            label: "null system call (getppid), this run".into(),
            value: ns,
        }];
    }
    read.how_to_read = "read() of the warm file into one reused buffer, per call, at 15 block sizes; the fitted line time = a + b x size (weighted least squares, residuals in read_fit); the null system call as a level. Where the line is flat, the per-call cost a dominates, and the level shows how much of it is the trap alone; where it rises, time grows with the bytes copied. Steps away from the straight line are the caches (the destination buffer outgrowing L1 or L2). The memcpy lines do the same copies with no kernel: from a file-sized buffer into the block-sized one (the pattern read() copies), and between two buffers of the block size (both in cache).".into();

    let mut split = FigureSpec::new(
        "read-split",
        "Where would the time of one 256 MiB read() pass go, at 4 KiB, 64 KiB and 1 MiB blocks?",
        FigureKind::Bar,
        "time_split",
        Axis::new("block", "block size"),
        Axis::log("ms", "ms for a 256 MiB pass (log)"),
    );
    split.series = Some("part".into());
    split.claims = vec!["S5".into()];
    split.how_to_read = "From the fit: calls x the null system call (the trap), calls x (a - trap) (the kernel's per-call work: file lookup, page-cache lookup, bookkeeping), bytes x b (the copy). Beside them, the measured per-call median x calls. The trap and the per-call work shrink with larger blocks; the copy does not. A negative part (a fit with a below the trap) cannot be drawn on a log axis and is written on the baseline.".into();

    let mut calls = FigureSpec::new(
        "syscalls-per-mib",
        "How many read(2) system calls does each reader make per MiB, by item size?",
        FigureKind::Line,
        "buffered_counted",
        Axis::log("item_bytes", "item size (bytes, log)"),
        Axis::log(
            "read_syscalls_per_mib",
            "read(2) system calls per MiB read (counted, log)",
        ),
    );
    calls.series = Some("label".into());
    calls.claims = vec!["S16".into()];
    calls.how_to_read = "Counted with the syscalls:sys_enter_read tracepoint in passes that were not timed. read() makes one system call per item (1,048,576 per MiB at 1-byte items); fread and BufReader make one per buffer until the item reaches the buffer's size, then one per item. setvbuf sets fread's buffer (1 MiB: one system call per MiB).".into();

    let mut bytes = FigureSpec::new(
        "ns-per-byte",
        "What does a byte cost through each reader, by item size?",
        FigureKind::Line,
        "buffered",
        Axis::log("item_bytes", "item size (bytes, log)"),
        Axis::log("ns_per_byte", "ns per byte (median, log)"),
    );
    bytes.series = Some("label".into());
    bytes.claims = vec!["S16".into()];
    bytes.how_to_read = "The same passes, timed with no instrumentation. At small items fread and BufReader pay a function call per item and read() a system call per item: the gap between them is the trap the buffering saves. At items of the buffer size or more they converge.".into();
    vec![entry, read, split, calls, bytes]
}
