//! Experiment `syscall-cost`: what a system call costs, what fread()
//! really does, and where read()'s time goes (claims S16 and S5).
//!
//! Three parts, all timed without instrumentation and counted, for system
//! calls, in separate untimed passes (`count`):
//! - entry cost (`entry`): ns per call of a null system call through the
//!   native instruction (`syscall` on x86_64, `svc #0` on aarch64, inline
//!   assembly), through libc's `syscall()`, through `int $0x80` (x86_64,
//!   tried in a child first), a failing call (ENOSYS), a vDSO
//!   `clock_gettime` and a plain function call; the CPU's vulnerability
//!   mitigations beside them;
//! - read() decomposed (`readcost`, `fit`): per-call time at 15 block sizes
//!   on a warm file, fitted as a + b x size, beside memcpy;
//! - fread() and buffered readers (`buffered`): fread calls against the
//!   read(2) system calls they cause, at five item sizes.

pub mod buffered;
pub mod count;
pub mod entry;
pub mod figures;
pub mod fit;
pub mod judge;
pub mod readcost;

use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use anyhow::Context;
use mmlab_core::{Experiment, ResultFile, RunContext, Summary, Warning, format_size};
use serde_json::{Value, json};

use crate::count::Counter;
use crate::entry::Kind;

pub const ID: &str = "syscall-cost";
pub const CLAIMS: &[&str] = &["S16", "S5"];
pub const EXPERIMENT: &dyn Experiment = &SyscallCost;

#[derive(Debug)]
pub struct SyscallCost;

impl Experiment for SyscallCost {
    fn id(&self) -> &'static str {
        ID
    }

    fn question(&self) -> &'static str {
        "What does a system call cost (syscall, int $0x80, vDSO), how many does fread() make, and where does read()'s time go?"
    }

    fn claims(&self) -> &'static [&'static str] {
        CLAIMS
    }

    fn measure(&self, context: &RunContext) -> anyhow::Result<ResultFile> {
        measure(context)
    }

    fn judge(&self, result: &ResultFile) -> Vec<mmlab_core::Claim> {
        judge::judge(result)
    }
}

/// How much to measure.
#[derive(Debug, Clone)]
struct Plan {
    file_bytes: u64,
    entry_repetitions: usize,
    entry_target: Duration,
    entry_counted_calls: u64,
    read_repetitions: usize,
    read_min_calls: u64,
    buffered_repetitions: usize,
    items_cap: u64,
    read_items_cap: u64,
}

impl Plan {
    fn of(context: &RunContext) -> Plan {
        let page = mmlab_core::fingerprint::page_size() as u64;
        let full = context.profile == mmlab_core::Profile::Full;
        Plan {
            // At least the setvbuf buffer, so every reader fills whole
            // buffers and every item size reads at least one item.
            file_bytes: context
                .size(8 << 20, 64 << 20)
                .max(buffered::SETVBUF_BYTES as u64)
                .div_ceil(page)
                * page,
            entry_repetitions: context.repetitions(9, 31).max(1),
            entry_target: Duration::from_millis(if full { 40 } else { 8 }),
            entry_counted_calls: 1000,
            read_repetitions: context.repetitions(5, 15).max(1),
            read_min_calls: if full { 256 } else { 64 },
            buffered_repetitions: context.repetitions(3, 9).max(1),
            items_cap: if full { 1 << 20 } else { 1 << 18 },
            read_items_cap: if full { 1 << 18 } else { 1 << 16 },
        }
    }

    /// Bytes one pass of `method` reads at `item`: the buffered readers read
    /// at least one 1 MiB setvbuf buffer's worth (so no reader's buffer is
    /// filled beyond what it hands out), read() at most `read_items_cap`
    /// system calls' worth; never more than the file, in whole items.
    fn bytes_for(&self, method: buffered::Method, item: u64) -> u64 {
        let want = if method.id == buffered::READ.id {
            self.read_items_cap * item
        } else {
            (self.items_cap * item).max(buffered::SETVBUF_BYTES as u64)
        };
        want.min(self.file_bytes) / item * item
    }
}

pub fn measure(context: &RunContext) -> anyhow::Result<ResultFile> {
    let started = Instant::now();
    let plan = Plan::of(context);
    let page = mmlab_core::fingerprint::page_size() as u64;
    context.print_param("data file", format_size(plan.file_bytes));
    context.print_param(
        "repetitions (entry / read / buffered)",
        format!(
            "{} / {} / {}",
            plan.entry_repetitions, plan.read_repetitions, plan.buffered_repetitions
        ),
    );
    let dir = context.data_dir()?;
    let mut result = context.new_result(ID, dir.path());
    let data = dir.create_file("data.bin", plan.file_bytes)?;
    let mut file = data.open()?;
    let st_blksize = file.metadata().context("fstat")?.blksize();

    // Warm: one full read, then every page must be resident.
    let mut buffer = vec![0u8; 1 << 20];
    {
        use std::io::Read;
        while file.read(&mut buffer).context("warming read")? > 0 {}
    }
    let file_pages = plan.file_bytes.div_ceil(page);
    let resident_before = mmlab_core::pages::file_resident_pages(file.as_fd()).ok();
    if resident_before != Some(file_pages) {
        result.warnings.push(Warning::new(
            "not-warm",
            format!(
                "after a full read {} of the data file's {file_pages} pages were resident: the passes are not all warm",
                resident_before.map_or("an unknown number".into(), |n| n.to_string())
            ),
            "free some memory, or give a smaller --size",
        ));
    }

    if let Some(kind) = mmlab_core::datafile::memory_filesystem(dir.path()) {
        result.warnings.push(Warning::new(
            "memory-filesystem",
            format!(
                "the data folder is on {kind}: read() copies from the file's own memory pages, not from a disk filesystem's page cache, so the per-call kernel work is {kind}'s"
            ),
            "give a --data-dir on a disk filesystem (ext4, xfs, btrfs)",
        ));
    }
    let int80 = entry::int80_available();
    let clocksource =
        read_trimmed("/sys/devices/system/clocksource/clocksource0/current_clocksource");
    let cmdline = read_trimmed("/proc/cmdline").unwrap_or_default();
    let token = |name: &str| {
        cmdline
            .split_whitespace()
            .take_while(|t| *t != "--")
            .find(|t| t.starts_with(&format!("{name}=")))
            .map(str::to_string)
    };
    context.print_param(
        "int $0x80",
        match &int80 {
            Ok(()) => "available".to_string(),
            Err(why) => why.clone(),
        },
    );

    result.param("arch", std::env::consts::ARCH);
    result.param("native_syscall_instruction", entry::NATIVE_INSTRUCTION);
    result.param(
        "int80",
        match &int80 {
            Ok(()) => json!(true),
            Err(why) => json!(why),
        },
    );
    result.param("invalid_syscall_nr", entry::INVALID_SYSCALL_NR as u64);
    result.param("clocksource", json!(clocksource));
    result.param(
        "kernel_cmdline_mitigations",
        json!(token("mitigations").unwrap_or_else(|| "not given (default: auto)".into())),
    );
    result.param(
        "kernel_cmdline_ia32_emulation",
        json!(token("ia32_emulation").unwrap_or_else(|| "not given (the build's default)".into())),
    );
    result.param("file_bytes", plan.file_bytes);
    result.param("file_pages", file_pages);
    result.param("page_size_bytes", page);
    result.param("st_blksize_bytes", st_blksize);
    result.param(
        "bufreader_capacity_bytes",
        buffered::bufreader_capacity() as u64,
    );
    result.param("setvbuf_bytes", buffered::SETVBUF_BYTES as u64);
    result.param("block_sizes_bytes", json!(readcost::BLOCK_SIZES));
    result.param("item_sizes_bytes", json!(buffered::ITEM_SIZES));
    result.param("entry_repetitions", plan.entry_repetitions);
    result.param("entry_target_ns", plan.entry_target.as_nanos() as u64);
    result.param("entry_counted_calls", plan.entry_counted_calls);
    result.param("read_repetitions", plan.read_repetitions);
    result.param("read_min_calls", plan.read_min_calls);
    result.param("buffered_repetitions", plan.buffered_repetitions);
    result.param("buffered_items_cap", plan.items_cap);
    result.param("read_items_cap", plan.read_items_cap);
    result.param("split_pass_bytes", fit::SPLIT_PASS_BYTES);
    result.param("warm_resident_pages_before", json!(resident_before));
    result
        .extra
        .insert("cpu_vulnerabilities".into(), json!(vulnerabilities()));
    result.extra.insert("entry_sanity".into(), entry::sanity());

    let steps =
        (plan.entry_repetitions + plan.read_repetitions + plan.buffered_repetitions + 1) as u64;
    let progress = context.progress(steps, ID);

    // 1. Timed, with no counter open anywhere in this process.
    progress.set_message("entry cost");
    let int80_ok = int80.is_ok();
    let timed_kinds: Vec<Kind> = entry::KINDS
        .into_iter()
        .filter(|k| k.id != entry::TRAP_COUNTED.id)
        .collect();
    let mut entry_rows = Vec::new();
    let mut calls_of = std::collections::BTreeMap::new();
    for kind in &timed_kinds {
        match entry::calls_for(*kind, plan.entry_target, int80_ok) {
            Ok(n) => {
                calls_of.insert(kind.id, n);
            }
            Err(why) => {
                let why = if kind.id == entry::INT80.id {
                    int80.clone().err().unwrap_or(why)
                } else {
                    why
                };
                entry_rows.push(entry_row(kind, None, None, Some(&why)));
            }
        }
    }
    for repetition in 0..plan.entry_repetitions {
        mmlab_core::cleanup::checkpoint();
        for kind in &timed_kinds {
            if let Some(&n) = calls_of.get(kind.id) {
                let ns = entry::run_calls(*kind, n, int80_ok).map_err(anyhow::Error::msg)?;
                entry_rows.push(entry_row(kind, Some(repetition), Some((n, ns)), None));
            }
        }
        progress.inc(1);
    }

    progress.set_message("read() at 15 block sizes, memcpy");
    let source: Vec<u8> = (0..plan.file_bytes).map(|i| (i % 251) as u8).collect();
    let mut target = vec![0u8; 1 << 20];
    let mut read_rows = Vec::new();
    for repetition in 0..plan.read_repetitions {
        for &block in &readcost::BLOCK_SIZES {
            mmlab_core::cleanup::checkpoint();
            let passes = readcost::passes_for(plan.file_bytes, block, plan.read_min_calls);
            let (ns, calls) = readcost::timed_read(
                &mut file,
                plan.file_bytes,
                block as usize,
                &mut buffer,
                passes,
            )?;
            read_rows.push(block_row(
                readcost::READ,
                block,
                repetition,
                passes,
                calls,
                ns,
                plan.file_bytes * passes,
            ));
            let (ns, copies) =
                readcost::memcpy_stream(&source, &mut target, block as usize, passes);
            read_rows.push(block_row(
                readcost::MEMCPY_STREAM,
                block,
                repetition,
                passes,
                copies,
                ns,
                plan.file_bytes * passes,
            ));
            let n = (plan.file_bytes / block).max(plan.read_min_calls);
            let ns = readcost::memcpy_hot(block as usize, n);
            read_rows.push(block_row(
                readcost::MEMCPY_HOT,
                block,
                repetition,
                1,
                n,
                ns,
                block * n,
            ));
        }
        progress.inc(1);
    }
    drop(source);

    progress.set_message("fread, BufReader, read()");
    let mut buffered_rows = Vec::new();
    for repetition in 0..plan.buffered_repetitions {
        for method in buffered::METHODS {
            for &item in &buffered::ITEM_SIZES {
                mmlab_core::cleanup::checkpoint();
                let bytes = plan.bytes_for(method, item);
                let items = bytes / item;
                let ns = buffered::timed(method, &data.path, item as usize, items)?;
                buffered_rows.push(json!({
                    "method": method.id,
                    "label": method.label,
                    "item_bytes": item,
                    "repetition": repetition,
                    "items": items,
                    "bytes": bytes,
                    "elapsed_ns": ns,
                    "ns_per_item": ns as f64 / items as f64,
                    "ns_per_byte": ns as f64 / bytes as f64,
                }));
            }
        }
        progress.inc(1);
    }

    // 2. Counted, untimed (except the one loop that shows what counting costs).
    progress.set_message("counting system calls");
    let counter = Counter::open();
    result.counters_available = counter.availability();
    let syscalls_reason = counter.reason(count::ALL_SYSCALLS);
    let reads_reason = counter.reason(count::READ_SYSCALLS);
    let mut entry_counted = Vec::new();
    for kind in &timed_kinds {
        let n = plan.entry_counted_calls;
        let row = match counter.count(|| entry::run_calls(*kind, n, int80_ok)) {
            (Err(why), _) => {
                json!({"kind": kind.id, "label": kind.label, "n_calls": n, "syscalls": null, "syscalls_per_call": null, "reason": why})
            }
            (Ok(_), counts) => json!({
                "kind": kind.id,
                "label": kind.label,
                "n_calls": n,
                "syscalls": counts.syscalls,
                "syscalls_per_call": counts.syscalls.map(|s| s as f64 / n as f64),
                "reason": if counts.syscalls.is_none() { json!(syscalls_reason) } else { Value::Null },
            }),
        };
        entry_counted.push(row);
    }
    match (calls_of.get(entry::TRAP.id), &syscalls_reason) {
        (Some(_), Some(why)) => entry_rows.push(entry_row(
            &entry::TRAP_COUNTED,
            None,
            None,
            Some(&format!("no syscall tracepoint could count here: {why}")),
        )),
        (None, _) => entry_rows.push(entry_row(
            &entry::TRAP_COUNTED,
            None,
            None,
            Some("the null system call was not timed"),
        )),
        (Some(&n), None) => {
            for repetition in 0..plan.entry_repetitions {
                let (ns, counts) = counter.count(|| entry::run_calls(entry::TRAP, n, int80_ok));
                let ns = ns.map_err(anyhow::Error::msg)?;
                let mut row =
                    entry_row(&entry::TRAP_COUNTED, Some(repetition), Some((n, ns)), None);
                row["syscalls"] = json!(counts.syscalls);
                entry_rows.push(row);
            }
        }
    }
    let mut read_counted = Vec::new();
    for &block in &readcost::BLOCK_SIZES {
        let (calls, counts) =
            readcost::counted_read(&counter, &mut file, block as usize, &mut buffer)?;
        read_counted.push(json!({
            "block_bytes": block,
            "file_bytes": plan.file_bytes,
            "read_calls": calls,
            "expected_syscalls": plan.file_bytes.div_ceil(block) + 1,
            "read_syscalls": counts.reads,
            "syscalls": counts.syscalls,
            "reason": if counts.reads.is_none() { json!(reads_reason) } else { Value::Null },
        }));
    }
    let mut buffered_counted = Vec::new();
    for method in buffered::METHODS {
        for &item in &buffered::ITEM_SIZES {
            let bytes = plan.bytes_for(method, item);
            let items = bytes / item;
            let (outcome, counts) =
                buffered::read_items(method, &data.path, item as usize, items, |work| {
                    counter.count(work)
                })?;
            outcome?;
            let per =
                |n: Option<u64>, f: &dyn Fn(f64) -> f64| n.filter(|&n| n > 0).map(|n| f(n as f64));
            buffered_counted.push(json!({
                "method": method.id,
                "label": method.label,
                "item_bytes": item,
                "items": items,
                "calls": items,
                "bytes": bytes,
                "read_syscalls": counts.reads,
                "syscalls": counts.syscalls,
                "read_syscalls_per_mib": counts.reads.map(|r| r as f64 * (1u64 << 20) as f64 / bytes as f64),
                "bytes_per_read": per(counts.reads, &|r| bytes as f64 / r),
                "calls_per_read": per(counts.reads, &|r| items as f64 / r),
                "reason": if counts.reads.is_none() { json!(reads_reason) } else { Value::Null },
            }));
        }
    }
    drop(counter);
    progress.inc(1);
    progress.finish_and_clear();
    result.param(
        "warm_resident_pages_after",
        json!(mmlab_core::pages::file_resident_pages(file.as_fd()).ok()),
    );
    drop(file);

    // 3. Summaries, the fits, the split.
    for kind in entry::KINDS {
        let values = field_values(&entry_rows, "kind", kind.id, "ns_per_call");
        result
            .summaries
            .extend(Summary::of(kind.label, "ns_per_call", &values));
    }
    for method in [
        readcost::READ,
        readcost::MEMCPY_STREAM,
        readcost::MEMCPY_HOT,
    ] {
        for &block in &readcost::BLOCK_SIZES {
            let values: Vec<f64> = read_rows
                .iter()
                .filter(|r| r["method"] == method && r["block_bytes"] == block)
                .filter_map(|r| r["ns_per_call"].as_f64())
                .collect();
            result.summaries.extend(Summary::of(
                format!("{method} at {}", format_size(block)),
                "ns_per_call",
                &values,
            ));
        }
    }
    for method in buffered::METHODS {
        for &item in &buffered::ITEM_SIZES {
            let values: Vec<f64> = buffered_rows
                .iter()
                .filter(|r| r["method"] == method.id && r["item_bytes"] == item)
                .filter_map(|r| r["ns_per_byte"].as_f64())
                .collect();
            result.summaries.extend(Summary::of(
                format!("{} at {} items", method.label, format_size(item)),
                "ns_per_byte",
                &values,
            ));
        }
    }
    let model = judge::ReadModel::of(&read_rows, &entry_rows);
    if let Some(model) = &model {
        for r in &model.read.residuals {
            read_rows.push(json!({
                "method": judge::FIT_SERIES,
                "block_bytes": r.block_bytes,
                "ns_per_call": r.fitted_ns,
            }));
        }
    }
    let mut split_rows = Vec::new();
    let mut split_detail = Vec::new();
    if let Some(model) = &model {
        for s in model.splits() {
            let block = mmlab_core::size::format_size_short(s.block_bytes);
            for (part, ms) in [
                (fit::PART_TRAP, s.trap_ms),
                (fit::PART_KERNEL, s.kernel_ms),
                (fit::PART_COPY, s.copy_ms),
            ] {
                split_rows.push(
                    json!({"block": block, "block_bytes": s.block_bytes, "part": part, "ms": ms}),
                );
            }
            if let Some(ms) = s.measured_ms {
                split_rows.push(json!({"block": block, "block_bytes": s.block_bytes, "part": judge::MEASURED_PART, "ms": ms}));
            }
            split_detail.push(json!(s));
        }
        result
            .extra
            .insert("read_fit".into(), json!(model.summary()));
    }

    result.samples = entry_rows
        .iter()
        .filter(|r| !r["ns_per_call"].is_null())
        .map(|r| with_section(r, "entry"))
        .chain(
            read_rows
                .iter()
                .filter(|r| r["method"] != judge::FIT_SERIES)
                .map(|r| with_section(r, "read")),
        )
        .chain(buffered_rows.iter().map(|r| with_section(r, "buffered")))
        .collect();
    let null_ns = model.as_ref().map(|m| m.null_ns);
    result.extra.insert("entry_costs".into(), json!(entry_rows));
    result
        .extra
        .insert("entry_counted".into(), json!(entry_counted));
    result.extra.insert("read_blocks".into(), json!(read_rows));
    result
        .extra
        .insert("read_counted".into(), json!(read_counted));
    result.extra.insert("time_split".into(), json!(split_rows));
    result
        .extra
        .insert("time_split_detail".into(), json!(split_detail));
    result.extra.insert("buffered".into(), json!(buffered_rows));
    result
        .extra
        .insert("buffered_counted".into(), json!(buffered_counted));
    result.figures = figures::figures(null_ns);
    drop(data);
    drop(dir);
    Ok(result.finish(started))
}

fn entry_row(
    kind: &Kind,
    repetition: Option<usize>,
    timing: Option<(u64, u64)>,
    reason: Option<&str>,
) -> Value {
    json!({
        "kind": kind.id,
        "label": kind.label,
        "repetition": repetition,
        "n_calls": timing.map(|(n, _)| n),
        "elapsed_ns": timing.map(|(_, ns)| ns),
        "ns_per_call": timing.map(|(n, ns)| ns as f64 / n as f64),
        "reason": reason,
    })
}

fn block_row(
    method: &str,
    block: u64,
    repetition: usize,
    passes: u64,
    calls: u64,
    ns: u64,
    bytes: u64,
) -> Value {
    json!({
        "method": method,
        "block_bytes": block,
        "repetition": repetition,
        "passes": passes,
        "calls": calls,
        "bytes": bytes,
        "elapsed_ns": ns,
        "ns_per_call": ns as f64 / calls as f64,
        "ns_per_byte": ns as f64 / bytes as f64,
    })
}

fn with_section(row: &Value, section: &str) -> Value {
    let mut row = row.clone();
    row["section"] = json!(section);
    row
}

fn field_values(rows: &[Value], key: &str, equals: &str, field: &str) -> Vec<f64> {
    rows.iter()
        .filter(|r| r[key] == equals)
        .filter_map(|r| r[field].as_f64())
        .collect()
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// `/sys/devices/system/cpu/vulnerabilities/*`, one row per file.
fn vulnerabilities() -> Vec<Value> {
    let mut rows: Vec<Value> = std::fs::read_dir("/sys/devices/system/cpu/vulnerabilities")
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    json!({
                        "name": e.file_name().to_string_lossy(),
                        "status": read_trimmed(&e.path().to_string_lossy()).unwrap_or_else(|| "unreadable".into()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    rows.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    rows
}
