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

/// Every figure, with reference lines from this run's numbers.
pub fn all(n_pages: u64, file_size_bytes: u64, pages_per_cell: usize) -> Vec<FigureSpec> {
    let file_mib = file_size_bytes as f64 / (1u64 << 20) as f64;
    let mut faults = figure(
        "faults-vs-pages-touched",
        "How many page faults does touching k pages of a mapped file cost?",
        FigureKind::Line,
        "samples",
        &[("scenario", "touch-k"), ("phase", "touch")],
        Axis::log("n_pages_touched", "pages touched (one byte each)"),
        Axis::log("n_faults", "page faults (minor + major, getrusage)"),
        Some("series"),
        "One line per file state and order, median over repetitions with a p5-p95 whisker. If every touched page cost one fault, the lines would follow the diagonal (faults = pages). A warm file lies far below it: fault-around and large folios map many pages per fault. A cold file sequentially read takes few faults for the whole file (readahead); strided and random orders take more.",
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
        "samples",
        &[
            ("scenario", "touch-k"),
            ("phase", "touch"),
            ("file_state", "cold"),
        ],
        Axis::log("n_pages_touched", "pages touched (one byte each)"),
        Axis::log(
            "n_pages_resident_after",
            "pages in the page cache after (mincore)",
        ),
        Some("series"),
        "Evicted file only (the warm file is resident throughout). Lazy loading page by page would put every line on the diagonal; readahead puts the first point hundreds of pages above it, and strided or random touches fill the whole file long before every page was touched.",
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
        "Pages that became present in the page table during a full pass, divided by the faults of that pass. 1 means one page per fault (anonymous memory, MADV_RANDOM, the zero page); 16 is fault-around over small folios (fault_around_bytes = 64 KiB); hundreds mean large folios or 2 MiB huge pages mapped whole.",
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
        "Read from /proc/kpageflags (compound head and tail bits) for the frame behind every page of the fully mapped file, as root; first repetition. Compare with the pages-per-fault figure: one fault can map a whole large folio, while pages in single-page folios are mapped only as far as fault-around reaches (fault_around_bytes). Which sizes the kernel picks depends on how the file entered the page cache (the size of the write() calls, readahead, faults one page at a time) and on the filesystem and kernel version.",
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
        "Cold = the file evicted from the page cache (checked with mincore) before the pass; warm = fully cached. Both methods pay the storage reads when cold; the warm bars show what is left once the page cache holds the file.",
        &["S13"],
    );
    let mut cold_warm_io = figure(
        "cold-vs-warm-storage",
        "How much does each pass read from storage, and how many major faults does it count?",
        FigureKind::Bar,
        "cold_vs_warm",
        &[],
        Axis::new("method", "how the whole file is read"),
        Axis::new(
            "storage_read_mib",
            "read from storage (MiB, /proc/self/io read_bytes)",
        ),
        Some("file_state"),
        "read_bytes counts the real I/O this process caused. A cold mmap pass reads the whole file although getrusage reports only a handful of major faults: readahead brings many pages per major fault, and the faults that find a page still under I/O count as minor.",
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
        "Each bar group is one way of mapping the evicted file and reading every page once: faults inside the mmap call (MAP_POPULATE), inside madvise (MADV_POPULATE_READ), or on the first touches. MADV_RANDOM turns off readahead and fault-around: one major fault per page.",
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
        "The file is in the page cache (cached by read()); no storage reads, only mapping work.",
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
        "Reading untouched anonymous memory maps the shared zero page (one fault per page); the first write then faults again to get a private page. Written first, one fault per page; with MADV_HUGEPAGE, one fault per 2 MiB where THP allows; MAP_POPULATE takes them all inside mmap.",
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
        "Page faults (getrusage) and system calls (raw_syscalls:sys_enter) counted on the measuring thread during each pass. The second pass bars are zero when access after set-up never traps into the kernel.",
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
        "Changes of machine-wide counters across each action (other processes add noise). File data lands in Cached; metadata blocks read from the disk land in Buffers (the block device's page cache), and the inodes and dentries built from them in the slab (SReclaimable).",
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
        "Each strip is the whole mapping. \"page cache (mincore)\" strips show which pages of the file are cached, whether or not this process maps them: one touch of an evicted file brings a readahead window. \"page table (pagemap)\" strips show which pages this process has mapped: fault-around and large folios map blocks around each touched page.",
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
