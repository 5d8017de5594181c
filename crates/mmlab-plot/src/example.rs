//! A made-up result file that declares one figure of every kind, with the
//! awkward cases a real run has: repetitions (whiskers), log axes in bytes,
//! a hardware counter this machine cannot read (nulls with a reason), a
//! reference line, a guide (y = slope · x), a grid with marked cells,
//! residency strips. The tests and
//! the README's rendering benchmark draw it; no experiment produces it.

use std::path::Path;

use mmlab_core::{
    Availability, Axis, Claim, FigureKind, FigureSpec, Profile, ReferenceLine, ResultFile,
    RunContext, Summary, Verdict, Warning,
};
use serde_json::{Value, json};

/// The claims the example declares, with the verdict each gets.
pub const CLAIMS: [(&str, Verdict); 4] = [
    ("S5", Verdict::Holds),
    ("S6", Verdict::HoldsWithNuance),
    ("S8", Verdict::Refuted),
    ("S13", Verdict::NotMeasured),
];

fn spec(id: &str, title: &str, kind: FigureKind, x: Axis, y: Axis) -> FigureSpec {
    FigureSpec::new(id, title, kind, "samples", x, y)
}

/// An example result of `experiment` (give two different ids to have two
/// files in one folder). `scale` multiplies the timings, so two examples
/// differ when compared.
pub fn result(experiment: &str, scale: f64) -> ResultFile {
    let context = RunContext {
        profile: Profile::Quick,
        quiet: true,
        ..RunContext::default()
    };
    let mut result = context.new_result(experiment, Path::new("."));
    result.param("repetitions", 3);
    result.param(
        "file_sizes_bytes",
        json!([1 << 20, 4 << 20, 16 << 20, 64 << 20]),
    );
    result
        .counters_available
        .insert("minor-faults".into(), Availability::Available);
    result.counters_available.insert(
        "dTLB-load-misses".into(),
        Availability::Unavailable("unsupported: no hardware PMU (ENOENT)".into()),
    );

    let methods = [("read 4k", 4096u64), ("read 64k", 65536), ("mmap", 0)];
    for (method, block) in methods {
        for size_mib in [1u64, 4, 16, 64] {
            let size = size_mib << 20;
            let pages = size / 4096;
            let mut times = Vec::new();
            for repetition in 0..3u64 {
                let per_page = match block {
                    0 => 180.0,
                    4096 => 900.0,
                    _ => 420.0,
                };
                let elapsed =
                    (pages as f64 * per_page * scale * (1.0 + 0.04 * repetition as f64)) as u64;
                times.push(elapsed as f64);
                let syscalls = size.checked_div(block).map_or(3, |blocks| blocks + 2);
                result.samples.push(json!({
                    "method": method,
                    "file_size_bytes": size,
                    "repetition": repetition,
                    "elapsed_ns": elapsed,
                    "n_syscalls": syscalls,
                    "perf_minor_faults": if block == 0 { Value::from(pages / 16) } else { Value::from(2) },
                    "perf_dtlb_load_misses": Value::Null,
                }));
            }
            if let Some(summary) =
                Summary::of(format!("{method} {size_mib}m"), "elapsed_ns", &times)
            {
                result.summaries.push(summary);
            }
        }
    }

    let protections = [
        "PROT_NONE",
        "PROT_READ",
        "PROT_READ|PROT_WRITE",
        "PROT_EXEC",
    ];
    let accesses = ["read", "write", "execute"];
    let mut cases = Vec::new();
    for protection in protections {
        for access in accesses {
            let allowed = match access {
                "read" => protection.contains("READ") || protection == "PROT_EXEC",
                "write" => protection.contains("WRITE"),
                _ => protection.contains("EXEC"),
            };
            let outcome = if allowed {
                "ok"
            } else {
                "SIGSEGV (SEGV_ACCERR)"
            };
            cases.push(json!({
                "protection": protection,
                "access": access,
                "outcome": outcome,
                "differs_from_notes": protection == "PROT_EXEC" && access == "read",
            }));
        }
    }
    result.extra.insert("cases".into(), Value::Array(cases));

    let n_pages = 4096usize;
    let mut residency = Vec::new();
    for touched in [0usize, 1, 64, 1024, 4096] {
        let bitmap: String = (0..n_pages)
            .map(|page| {
                let near_touched =
                    touched > 0 && (page < touched || (page < touched + 16 && page % 16 < 8));
                if near_touched { '1' } else { '0' }
            })
            .collect();
        residency.push(json!({"touched": format!("{touched} pages touched"), "resident": bitmap}));
    }
    residency.push(json!({"touched": "after eviction (not measured)", "resident": Value::Null}));
    result
        .extra
        .insert("residency".into(), Value::Array(residency));

    let mut time = spec(
        "time",
        "Does mmap read a file faster than read(), and does the block size matter?",
        FigureKind::Line,
        Axis::log("file_size_bytes", "file size"),
        Axis::log("elapsed_ns", "time to read the whole file (ns)"),
    );
    time.series = Some("method".into());
    time.reference_lines.push(ReferenceLine {
        label: "1 ms".into(),
        value: 1e6,
    });
    time.how_to_read = "Each point is the median of the repetitions, the whisker spans p5 to p95. Both axes are logarithmic: parallel lines mean the same cost per byte; mmap's points lie on the dotted guide of 180 ns per page.".into();
    // A guide the caption points at: y = slope · x through mmap's points.
    result.extra.insert(
        crate::guides::KEY.into(),
        json!({"time": [{
            "label": "180 ns per 4 KiB page (y = 180 ns / 4096 B · x)",
            "slope": 180.0 * scale / 4096.0,
        }]}),
    );
    time.claims = vec!["S5".into()];

    let mut tlb = spec(
        "tlb",
        "How many dTLB misses does each method take?",
        FigureKind::Line,
        Axis::log("file_size_bytes", "file size"),
        Axis::new("perf_dtlb_load_misses", "dTLB load misses (count)"),
    );
    tlb.series = Some("method".into());
    tlb.how_to_read = "A hardware counter: empty on a machine without a PMU.".into();

    let mut syscalls = spec(
        "syscalls",
        "How many system calls does reading a 64 MiB file take?",
        FigureKind::Bar,
        Axis::new("method", "method"),
        Axis::log("n_syscalls", "system calls per pass (count)"),
    );
    syscalls
        .filter
        .insert("file_size_bytes".into(), json!(64u64 << 20));
    syscalls.series = Some("method".into());
    syscalls.claims = vec!["S5".into()];

    let mut faults = spec(
        "faults",
        "How many page faults does each method take, by file size?",
        FigureKind::Bar,
        Axis::new("file_size_bytes", "file size"),
        Axis::new("perf_minor_faults", "minor faults per pass (count)"),
    );
    faults.series = Some("method".into());
    faults.claims = vec!["S6".into()];

    let mut medians = spec(
        "summaries",
        "What is the median time of each series?",
        FigureKind::Bar,
        Axis::new("series", "series"),
        Axis::new("median", "median time (ns)"),
    );
    medians.data = "summaries".into();

    let mut grid = spec(
        "truth-table",
        "Which accesses does each protection allow?",
        FigureKind::Grid,
        Axis::new("access", "access tried"),
        Axis::new("protection", "protection of the mapping"),
    );
    grid.data = "cases".into();
    grid.cell_text = Some("outcome".into());
    grid.cell_colour = Some("outcome".into());
    grid.cell_mark = Some("differs_from_notes".into());
    grid.claims = vec!["S8".into()];

    let mut strips = spec(
        "residency",
        "Which pages of the file are in memory after touching the first k pages?",
        FigureKind::Strips,
        Axis::new("touched", "pages touched"),
        Axis::new("resident", "resident pages (mincore)"),
    );
    strips.data = "residency".into();
    strips.claims = vec!["S6".into()];

    result.figures = vec![time, tlb, syscalls, faults, medians, grid, strips];
    for (id, verdict) in CLAIMS {
        result.claims.push(Claim::new(
            id,
            verdict,
            format!("example evidence for {id}: {verdict} (scale {scale})"),
        ));
    }
    result.warnings.push(Warning::new(
        "no-pmu",
        "hardware counters (cycles, dTLB-load-misses) are not available",
        "run on bare metal or a VM with a virtual PMU",
    ));
    result
}
