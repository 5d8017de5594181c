//! The figures of this experiment, declared as data; the plot crate draws
//! them from the result file alone.

use mmlab_core::{Axis, FigureKind, FigureSpec, ReferenceLine};
use serde_json::{Map, Value};

#[allow(clippy::too_many_arguments)] // a figure is a record of fields; a builder adds nothing
fn figure(
    id: &str,
    title: &str,
    kind: FigureKind,
    data: &str,
    filter: &[(&str, &str)],
    x: Axis,
    y: Axis,
    series: Option<&str>,
    how_to_read: &str,
    claims: &[&str],
) -> FigureSpec {
    let mut spec = FigureSpec::new(id, title, kind, data, x, y);
    spec.filter = filter
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect::<Map<_, _>>();
    spec.series = series.map(str::to_string);
    spec.how_to_read = how_to_read.to_string();
    spec.claims = claims.iter().map(|c| c.to_string()).collect();
    spec
}

/// The numbers of this run that the figures' captions quote: medians over
/// repetitions (`None` where the run has no such sample), and the
/// conditions they rest on, from the fingerprint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FigureFacts {
    pub kernel: String,
    pub filesystem: String,
    pub read_ahead_kb: Option<u64>,
    pub fault_around_bytes: Option<u64>,
    pub page_size_bytes: u64,
    /// Touch-k: one touched page of the evicted file, pages cached after.
    pub one_touch_resident: Option<u64>,
    /// Touch-k: every page touched, warm sequential and cold random: faults.
    pub warm_all_faults: Option<u64>,
    pub cold_random_all_faults: Option<u64>,
    /// Advice, cold MADV_RANDOM pass: faults, major faults, storage reads,
    /// pages mapped per fault, and how often the fault-around tracepoint
    /// (filemap:mm_filemap_map_pages) fired.
    pub random_cold_faults: Option<u64>,
    pub random_cold_major: Option<u64>,
    pub random_cold_read_bytes: Option<u64>,
    pub random_cold_pages_per_fault: Option<f64>,
    pub random_cold_map_pages_events: Option<u64>,
    /// Advice, warm passes: MADV_RANDOM and MADV_NORMAL faults.
    pub random_warm_faults: Option<u64>,
    pub normal_warm_faults: Option<u64>,
    /// Folios, the file cached by read(), without and with MADV_NOHUGEPAGE:
    /// faults and FilePmdMapped (kB, smaps).
    pub read_faults_default: Option<u64>,
    pub read_faults_nohugepage: Option<u64>,
    pub read_pmd_mapped_kib_default: Option<u64>,
    pub read_pmd_mapped_kib_nohugepage: Option<u64>,
    /// Cold-vs-warm, the cold mmap pass: faults and major faults.
    pub cold_mmap_pass_faults: Option<u64>,
    pub cold_mmap_pass_major: Option<u64>,
}

impl FigureFacts {
    pub fn of(samples: &[Value], env: &mmlab_core::fingerprint::Fingerprint) -> FigureFacts {
        let pick = |filter: &[(&str, &str)], field: &str| {
            crate::analysis::median_count(&crate::analysis::select(samples, filter), field)
        };
        let advice = |case: &str, state: &str, field: &str| {
            pick(
                &[
                    ("scenario", "advice"),
                    ("case", case),
                    ("file_state", state),
                    ("phase", "touch"),
                ],
                field,
            )
        };
        let folio = |case: &str, field: &str| {
            pick(
                &[
                    ("scenario", "folios"),
                    ("case", case),
                    ("file_state", "read()"),
                    ("phase", "touch"),
                ],
                field,
            )
        };
        let touch = |state: &str, case: &str, field: &str| {
            pick(
                &[
                    ("scenario", "touch-k"),
                    ("file_state", state),
                    ("case", case),
                    ("phase", "touch"),
                ],
                field,
            )
        };
        let n_pages = samples
            .iter()
            .find_map(|s| s.get("n_pages_mapping").and_then(Value::as_u64))
            .unwrap_or(0);
        let all = |order: &str| format!("{order} k={n_pages}");
        let random_cold = crate::analysis::select(
            samples,
            &[
                ("scenario", "advice"),
                ("case", "MADV_RANDOM"),
                ("file_state", "cold"),
                ("phase", "touch"),
            ],
        );
        FigureFacts {
            kernel: env.kernel.clone(),
            filesystem: env.data_dir_fs.clone(),
            read_ahead_kb: env.data_dir_read_ahead_kb.value().copied(),
            fault_around_bytes: env.fault_around_bytes.value().copied(),
            page_size_bytes: env.page_size_bytes.value().copied().unwrap_or(4096),
            one_touch_resident: touch("cold", "sequential k=1", "n_pages_resident_after"),
            warm_all_faults: touch("warm", &all("sequential"), "n_faults"),
            cold_random_all_faults: touch("cold", &all("random"), "n_faults"),
            random_cold_faults: advice("MADV_RANDOM", "cold", "n_faults"),
            random_cold_major: advice("MADV_RANDOM", "cold", "rusage_major_faults"),
            random_cold_read_bytes: advice("MADV_RANDOM", "cold", "storage_read_bytes"),
            random_cold_pages_per_fault: crate::analysis::median(
                &random_cold,
                "pages_mapped_per_fault",
            ),
            random_cold_map_pages_events: advice(
                "MADV_RANDOM",
                "cold",
                "perf_filemap_mm_filemap_map_pages",
            ),
            random_warm_faults: advice("MADV_RANDOM", "warm", "n_faults"),
            normal_warm_faults: advice("MADV_NORMAL", "warm", "n_faults"),
            read_faults_default: folio("default", "n_faults"),
            read_faults_nohugepage: folio("MADV_NOHUGEPAGE", "n_faults"),
            read_pmd_mapped_kib_default: folio("default", "file_pmd_mapped_kib"),
            read_pmd_mapped_kib_nohugepage: folio("MADV_NOHUGEPAGE", "file_pmd_mapped_kib"),
            cold_mmap_pass_faults: pick(
                &[
                    ("scenario", "cold-vs-warm"),
                    ("case", "mmap"),
                    ("file_state", "cold"),
                    ("phase", "touch"),
                ],
                "n_faults",
            ),
            cold_mmap_pass_major: pick(
                &[
                    ("scenario", "cold-vs-warm"),
                    ("case", "mmap"),
                    ("file_state", "cold"),
                    ("phase", "touch"),
                ],
                "rusage_major_faults",
            ),
        }
    }

    /// fault_around_bytes and where it comes from: the setting, or the
    /// kernel's default where the run could not read it.
    fn fault_around(&self) -> String {
        match self.fault_around_bytes {
            Some(b) => format!("fault_around_bytes = {b}"),
            None => format!(
                "fault_around_bytes = {} by default; unreadable in this run",
                crate::verdicts::DEFAULT_FAULT_AROUND_BYTES
            ),
        }
    }

    fn around_pages(&self) -> u64 {
        (self
            .fault_around_bytes
            .unwrap_or(crate::verdicts::DEFAULT_FAULT_AROUND_BYTES)
            / self.page_size_bytes.max(1))
        .max(1)
    }
}

/// A count for a caption, or "not measured".
fn n(value: Option<u64>) -> String {
    value.map_or("not measured".to_string(), |v| v.to_string())
}

/// The series name of the y = x line in the touch-k figures.
pub const REFERENCE_SERIES: &str = "reference: y = pages touched";

/// The rows of the touch-k figures: every touch-k sample's counts, and the
/// reference line y = x as a series of its own (one row per number of
/// pages touched, with `n_faults` and `n_pages_resident_after` both equal
/// to it; `file_state` cold, so that the cold-only figure draws it too).
pub fn touch_k_rows(samples: &[Value]) -> Vec<Value> {
    let touches = crate::analysis::select(samples, &[("scenario", "touch-k"), ("phase", "touch")]);
    let mut rows: Vec<Value> = touches
        .iter()
        .map(|s| {
            serde_json::json!({
                "series": s.get("series"),
                "file_state": s.get("file_state"),
                "order": s.get("order"),
                "n_pages_touched": s.get("n_pages_touched"),
                "n_faults": s.get("n_faults"),
                "n_pages_resident_after": s.get("n_pages_resident_after"),
                "repetition": s.get("repetition"),
            })
        })
        .collect();
    let mut steps: Vec<u64> = touches
        .iter()
        .filter_map(|s| s.get("n_pages_touched").and_then(Value::as_u64))
        .collect();
    steps.sort_unstable();
    steps.dedup();
    rows.extend(steps.into_iter().map(|k| {
        serde_json::json!({
            "series": REFERENCE_SERIES,
            "file_state": "cold",
            "order": "reference",
            "n_pages_touched": k,
            "n_faults": k,
            "n_pages_resident_after": k,
        })
    }));
    rows
}

/// Every figure, with reference lines from this run's numbers and captions
/// that quote them.
pub fn all(
    n_pages: u64,
    file_size_bytes: u64,
    pages_per_cell: usize,
    facts: &FigureFacts,
) -> Vec<FigureSpec> {
    let file_mib = file_size_bytes as f64 / (1u64 << 20) as f64;
    let mut faults = figure(
        "faults-vs-pages-touched",
        "How many page faults does touching k pages of a mapped file cost?",
        FigureKind::Line,
        "touch_k",
        &[],
        Axis::log("n_pages_touched", "pages touched (one byte each)"),
        Axis::log("n_faults", "page faults (minor + major, getrusage)"),
        Some("series"),
        &format!(
            "One line per file state and order, median over repetitions with a p5-p95 whisker. The line \"{REFERENCE_SERIES}\" is one fault per touched page, the notes' model; a line below it maps more than one page per fault. The dashed line is every page of the file ({n_pages}). Here, touching every page took {} faults warm (sequential) and {} cold (random order).",
            n(facts.warm_all_faults),
            n(facts.cold_random_all_faults)
        ),
        &["S6"],
    );
    faults.reference_lines.push(ReferenceLine {
        label: format!("every page of the file ({n_pages})"),
        value: n_pages as f64,
    });
    let mut resident = figure(
        "resident-vs-pages-touched",
        "How much of the file is in memory after touching k pages?",
        FigureKind::Line,
        "touch_k",
        &[("file_state", "cold")],
        Axis::log("n_pages_touched", "pages touched (one byte each)"),
        Axis::log(
            "n_pages_resident_after",
            "pages in the page cache after (mincore)",
        ),
        Some("series"),
        &format!(
            "Evicted file only (the warm file is resident throughout). The line \"{REFERENCE_SERIES}\" is what loading only the touched pages would leave; the dashed line is the whole file. Here one touched page left {} pages in the page cache; read_ahead_kb of the data folder's disk is {}. Residency is mincore's: for a file mapping it reports page-cache residency only where the caller owns the file or may write it (Linux 5.2 and later; for any other file every page reads as resident); the data file is the lab's own.",
            n(facts.one_touch_resident),
            n(facts.read_ahead_kb)
        ),
        &["S6"],
    );
    resident.reference_lines.push(ReferenceLine {
        label: format!("whole file ({n_pages} pages)"),
        value: n_pages as f64,
    });
    let pages_per_fault = figure(
        "pages-per-fault",
        "How many pages does one page fault map?",
        FigureKind::Bar,
        "pages_per_fault",
        &[],
        Axis::new("case", "mapping and how its pages got into memory"),
        Axis::log(
            "pages_mapped_per_fault",
            "pages newly mapped per fault (pagemap / getrusage)",
        ),
        None,
        &format!(
            "Pages that became present in the page table during a full pass, divided by the faults of that pass. {around} pages per fault is fault-around ({fa}) over single-page folios; more means large folios mapped whole by one fault, which on ext4 needs large folios in the page cache (Linux 6.16 and later) and fault-around that maps a whole folio (6.18 and later): this run is Linux {kernel} on {fs}. 1 is one page per fault: anonymous memory without huge pages, and the cold MADV_RANDOM pass ({rppf} here), which has readahead off, so each fault read one page and fault-around found no cached neighbour to map. With MADV_NOHUGEPAGE the file cached by read() took {nh} faults, as without it ({df}), but FilePmdMapped (smaps) went from {pd} kB to {pn} kB: the 2 MiB folios were mapped by page-table entries instead of one PMD entry each.",
            around = facts.around_pages(),
            fa = facts.fault_around(),
            kernel = facts.kernel,
            fs = facts.filesystem,
            rppf = facts
                .random_cold_pages_per_fault
                .map_or("not measured".to_string(), |p| format!("{p:.1}")),
            nh = n(facts.read_faults_nohugepage),
            df = n(facts.read_faults_default),
            pd = n(facts.read_pmd_mapped_kib_default),
            pn = n(facts.read_pmd_mapped_kib_nohugepage),
        ),
        &["S6"],
    );
    let folio_sizes = figure(
        "folio-sizes",
        "How big are the folios that hold the file in the page cache?",
        FigureKind::Bar,
        "folio_sizes",
        &[],
        Axis::new(
            "folio_pages",
            &format!(
                "folio size (pages of {})",
                mmlab_core::format_size(file_size_bytes / n_pages.max(1))
            ),
        ),
        Axis::log("n_pages", "pages of the file in folios of this size"),
        Some("file_state"),
        &format!(
            "Read from /proc/kpageflags (compound head and tail bits) for the frame behind every page of the fully mapped file, as root; first repetition (every repetition's histogram is in the samples' folio_histogram). Compare with the pages-per-fault figure: since Linux 6.18 one fault can map a whole large folio, while pages in single-page folios are mapped only as far as fault-around reaches ({}). Which sizes the kernel picks depends on how the file entered the page cache (the size of the write() calls, readahead, faults one page at a time), on the filesystem (ext4 caches files in large folios since Linux 6.16) and on the kernel version: this run is Linux {} on {}.",
            facts.fault_around(),
            facts.kernel,
            facts.filesystem
        ),
        &["S6"],
    );
    let cold_warm_time = figure(
        "cold-vs-warm-time",
        "What does the first access to an uncached file cost, by mmap and by read()?",
        FigureKind::Bar,
        "cold_vs_warm",
        &[],
        Axis::new("method", "how the whole file is read"),
        Axis::new("elapsed_ms", "time for one pass (ms)"),
        Some("file_state"),
        "Cold = the file evicted from the page cache (checked with mincore) before the pass; warm = fully cached. Both passes do the same work: they sum every 8-byte word of the file with the same loop, the mmap pass through the mapping, the read() pass through a reused 1 MiB buffer. Times vary with the machine's load: compare the bars of one run, not across machines.",
        &["S13"],
    );
    let mut cold_warm_io = figure(
        "cold-vs-warm-storage",
        "How much does each pass read from storage?",
        FigureKind::Bar,
        "cold_vs_warm",
        &[],
        Axis::new("method", "how the whole file is read"),
        Axis::new(
            "storage_read_mib",
            "read from storage (MiB, /proc/self/io read_bytes)",
        ),
        Some("file_state"),
        &format!(
            "read_bytes of /proc/self/io: the bytes this process caused to be read from storage. The dashed line is the file size. Beside it, getrusage counted {} major fault(s) among the {} faults of the cold mmap pass.",
            n(facts.cold_mmap_pass_major),
            n(facts.cold_mmap_pass_faults)
        ),
        &["S13"],
    );
    cold_warm_io.reference_lines.push(ReferenceLine {
        label: format!("file size ({file_mib:.0} MiB)"),
        value: file_mib,
    });
    let advice_cold = figure(
        "advice-faults-cold",
        "Where do the faults go with each advice, for an evicted file?",
        FigureKind::Bar,
        "samples",
        &[("scenario", "advice"), ("file_state", "cold")],
        Axis::new("case", "advice (madvise) or MAP_POPULATE"),
        Axis::new("n_faults", "page faults (minor + major, getrusage)"),
        Some("phase"),
        &format!(
            "Each bar group is one way of mapping the evicted file and reading the first byte of every page once: faults inside the mmap call (MAP_POPULATE), inside madvise (MADV_POPULATE_READ), or on the first touches. MADV_RANDOM turns off the faults' readahead, not fault-around: its cold pass took {} faults, {} of them major, and read {} from storage ({} per major fault), while the fault-around tracepoint filemap:mm_filemap_map_pages still fired {} times; each fault mapped one page only because no neighbour was in the page cache. Warm (advice-faults-warm), MADV_RANDOM took {} faults, as MADV_NORMAL did ({}).",
            n(facts.random_cold_faults),
            n(facts.random_cold_major),
            facts
                .random_cold_read_bytes
                .map_or("an unmeasured amount".to_string(), |b| {
                    mmlab_core::format_size(b)
                }),
            facts
                .random_cold_read_bytes
                .zip(facts.random_cold_major.filter(|m| *m > 0))
                .map_or("unknown".to_string(), |(b, m)| mmlab_core::format_size(
                    b / m
                )),
            n(facts.random_cold_map_pages_events),
            n(facts.random_warm_faults),
            n(facts.normal_warm_faults),
        ),
        &["S6", "S13"],
    );
    let advice_time = figure(
        "advice-time-cold",
        "What does each advice cost in time, for an evicted file?",
        FigureKind::Bar,
        "samples",
        &[("scenario", "advice"), ("file_state", "cold")],
        Axis::new("case", "advice (madvise) or MAP_POPULATE"),
        Axis::new("elapsed_ms", "time of the region (ms)"),
        Some("phase"),
        "The same regions as the faults figure, in time: where the storage reads are waited for.",
        &["S13"],
    );
    let advice_warm = figure(
        "advice-faults-warm",
        "Where do the faults go with each advice, for a cached file?",
        FigureKind::Bar,
        "samples",
        &[("scenario", "advice"), ("file_state", "warm")],
        Axis::new("case", "advice (madvise) or MAP_POPULATE"),
        Axis::new("n_faults", "page faults (minor + major, getrusage)"),
        Some("phase"),
        &format!(
            "The file is in the page cache (cached by read()); no storage reads, only mapping work. MADV_RANDOM took {} faults and MADV_NORMAL {}: fault-around and whole-folio mapping do not depend on the advice.",
            n(facts.random_warm_faults),
            n(facts.normal_warm_faults)
        ),
        &["S6"],
    );
    let anonymous = figure(
        "anonymous-faults",
        "How many faults does anonymous memory take, read first or written first?",
        FigureKind::Bar,
        "samples",
        &[("scenario", "anonymous")],
        Axis::new("case", "anonymous mapping of the file's size"),
        Axis::log("n_faults", "page faults (getrusage)"),
        Some("phase"),
        "Faults per region for each anonymous case (log scale; a region with 0 faults is drawn as a flat mark labelled 0): the read pass and the write pass of memory read first, the write pass of memory written first, each without and with MADV_HUGEPAGE, MAP_POPULATE (its faults inside mmap), and no advice (the machine's THP setting decides).",
        &["S6"],
    );
    let second = figure(
        "second-pass",
        "Does a second pass over a touched mapping enter the kernel?",
        FigureKind::Bar,
        "second_pass",
        &[],
        Axis::new("pass", "mapping and pass"),
        Axis::new("count", "events in the pass"),
        Some("what"),
        "Page faults (getrusage) and system calls (raw_syscalls:sys_enter) counted on the measuring thread during each pass: reads of a warm MAP_SHARED file mapping, and writes to private anonymous memory. The second-pass bars are zero when those accesses did not trap after set-up; writes to a shared file mapping after writeback, NUMA hinting faults, migration and reclaim can fault again and are not tested here.",
        &["S15"],
    );
    let meminfo = figure(
        "meminfo",
        "Where does loaded data live: page cache, buffers or slab?",
        FigureKind::Bar,
        "meminfo_deltas",
        &[],
        Axis::new("action", "what was done"),
        Axis::new("delta_mib", "change of the /proc/meminfo field (MiB)"),
        Some("field"),
        &format!(
            "Changes of machine-wide counters across each action (other processes add noise). File data lands in Cached. On {fs} (the data folder's filesystem), metadata blocks read from the disk land in Buffers (the block device's page cache), and the inodes and dentries built from them in the slab (SReclaimable); {other}.",
            fs = facts.filesystem,
            other = crate::verdicts::S3_OTHER_FILESYSTEMS
        ),
        &["S3"],
    );
    let strips = figure(
        "residency",
        "Which pages of the mapping are in memory after a few touches?",
        FigureKind::Strips,
        "residency",
        &[],
        Axis::new("label", "touch and view"),
        Axis::new(
            "bitmap",
            &format!(
                "pages of the mapping, left to right ({pages_per_cell} page(s) per cell; a cell is set when any of its pages is)"
            ),
        ),
        None,
        "Each strip is the whole mapping. \"page cache (mincore)\" strips show which pages of the file are cached, whether or not this process maps them (mincore reports page-cache residency for a file the caller owns or may write, since Linux 5.2; for any other file every page reads as resident; the data file is the lab's own). \"page table (pagemap)\" strips show which pages this process has mapped.",
        &["S6"],
    );
    vec![
        faults,
        resident,
        pages_per_fault,
        folio_sizes,
        cold_warm_time,
        cold_warm_io,
        advice_cold,
        advice_time,
        advice_warm,
        anonymous,
        second,
        meminfo,
        strips,
    ]
}
