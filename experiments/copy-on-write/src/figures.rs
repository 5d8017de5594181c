//! The figures of a copy-on-write result, declared as data for the plot
//! crate: two frame tables (grid), faults against pages written (line), the
//! cost of one fault by type (bar), the memory cost of read() against mmap
//! (bar), and the cost of fork() against the parent's memory (line).

use mmlab_core::{Axis, FigureKind, FigureSpec};

fn figure(id: &str, title: &str, kind: FigureKind, data: &str, x: Axis, y: Axis) -> FigureSpec {
    FigureSpec::new(id, title, kind, data, x, y)
}

fn filter_scenario(spec: &mut FigureSpec, scenario: &str) {
    spec.filter.insert("scenario".into(), scenario.into());
}

pub fn figures() -> Vec<FigureSpec> {
    let mut frames = figure(
        "frames",
        "Which physical frame holds page 0 of the file, seen four ways?",
        FigureKind::Grid,
        "frames",
        Axis::new("moment", "moment"),
        Axis::new("view", "view of the file's page 0"),
    );
    frames.cell_text = Some("pfn".into());
    frames.cell_colour = Some("pfn".into());
    frames.cell_mark = Some("same_as_page_cache".into());
    frames.how_to_read = "Each cell is the physical frame number (PFN, from /proc/<pid>/pagemap) behind page 0 of the file in one view; equal frames have equal colours, and outlined cells are the page-cache frame. What S4 and S9 predict: before the private write, both MAP_SHARED mappings (two processes) and the MAP_PRIVATE mapping use the page-cache frame, and the read() buffer holds the same bytes in another frame (a second copy); after the write, only the MAP_PRIVATE row moves, to a new anonymous frame (kpageflags in the frames table). Without root every cell reads not-measured.".into();
    frames.claims = vec!["S4".into(), "S9".into()];

    let mut fork_frames = figure(
        "fork-frames",
        "After fork(), which frames do parent and child share, and which does a write copy?",
        FigureKind::Grid,
        "fork_frames",
        Axis::new("moment", "moment"),
        Axis::new("view", "process and page"),
    );
    fork_frames.cell_text = Some("pfn".into());
    fork_frames.cell_colour = Some("pfn".into());
    fork_frames.cell_mark = Some("same_as_before_fork".into());
    fork_frames.how_to_read = "Rows are two anonymous pages seen from the parent and from the child; outlined cells still hold the frame the parent had before fork. Right after fork both processes use the same frames; the child's write to page 0 gives the child a new frame for page 0 only; the parent's write to page 1 gives the parent a new frame for page 1 only, and the child keeps the old one. Not drawn: after the child has gone, a write still faults (fork write-protected the entry) and usually keeps its frame; how often, in this run, is fork.reuse in the JSON (n_kept of n_measured).".into();

    let mut faults = figure(
        "faults-vs-pages-written",
        "Does each page written through MAP_PRIVATE cost one fault and one copy?",
        FigureKind::Line,
        "private_writes_curve",
        Axis::log("n_pages_written", "pages written through MAP_PRIVATE (k)"),
        Axis::log("count", "count (faults or pages)"),
    );
    faults.series = Some("measure".into());
    faults.how_to_read = "Every page of the private mapping was read first, so the write faults are copy-on-write faults only. If each written page costs one fault and one private copy, the write-fault line and the Private_Dirty line both lie on the diagonal (count = k), one on top of the other. The pre-read line is flat, far below n: each read fault mapped several pages (fault-around, over the folios recorded in page_cache_folios; fault_around_bytes in fault_around), whatever k is.".into();
    faults.claims = vec!["S9".into()];

    let mut cost = figure(
        "ns-per-fault",
        "What does one fault cost, by kind?",
        FigureKind::Bar,
        "samples",
        Axis::new("fault_type", "fault type"),
        Axis::new("ns_per_fault", "time per fault (ns)"),
    );
    filter_scenario(&mut cost, "fault-cost");
    cost.how_to_read = "Median over repetitions with the p5-p95 whisker; each repetition is one loop over every page divided by the faults counted in it. A copy-on-write fault allocates a page and copies 4 KiB; a zero-fill fault allocates and zeroes one; a write after fork whose page is no longer shared usually only makes the entry writable again (n_pages_frame_kept in its samples: the pages that kept their frame, as root). A read fault on a cached file page maps several pages at once (fault-around), so see pages_per_fault in the samples before comparing it.".into();
    cost.claims = vec!["S4".into(), "S9".into()];

    let mut memory = figure(
        "memory-cost",
        "How much physical memory does holding a file cost: read() into a buffer or mmap?",
        FigureKind::Bar,
        "memory",
        Axis::new("path", "how the file is held"),
        Axis::new("mib", "memory (MiB)"),
    );
    memory.series = Some("component".into());
    memory.how_to_read = "Each path starts from a cold file. The page cache bar is the file's own resident pages (mincore); RssAnon is the process's anonymous memory growth (the read() buffer); RssFile counts the mapped file pages, which are the page-cache pages themselves, not another copy; Pss is the buffer's or mapping's proportional share. read() runs two ways: one call into a buffer as large as the file (the file held twice, page cache + buffer) and a stream of read() calls through one reused 64 KiB buffer (the page cache holds the file, the buffer only 64 KiB of it). Compare the two mmap paths' Pss: a second process maps the same pages.".into();
    memory.claims = vec!["S4".into()];

    let mut fork_cost = figure(
        "fork-cost",
        "Does fork() get slower with the parent's memory, though no page is copied?",
        FigureKind::Line,
        "samples",
        Axis::new(
            "parent_anon_mib",
            "anonymous memory written by the parent (MiB)",
        ),
        Axis::new("fork_us", "fork() time in the parent (us)"),
    );
    filter_scenario(&mut fork_cost, "fork-cost");
    fork_cost.how_to_read = "Median over repetitions with the p5-p95 whisker. fork() copies the parent's page tables (see parent_page_tables_bytes in the samples) and write-protects every entry, but copies no page (the fork-frames grid: right after fork, parent and child use the same frames). Compare its time with the page-table size, and with what copying would cost: the copy-on-write-after-fork bar of ns-per-fault, times the pages.".into();

    vec![frames, fork_frames, faults, cost, memory, fork_cost]
}
