//! The scenarios: each maps the data file (or anonymous memory), touches
//! pages in a measured region and records one sample per region: the mmap
//! call, the madvise call, and the touches. Page counts (mincore, pagemap)
//! are read between regions, never inside one.

use std::fs::File;
use std::os::fd::AsFd;

use serde_json::{Value, json};

use mmlab_core::datafile::pattern_byte;
use mmlab_core::fingerprint::page_size;

use crate::mapping::{self, Advice, MapOptions, Mapping};
use crate::meter::{After, Meter, Phase, Tag, sample};
use crate::plan::{self, Order};

/// The state the data file is put in before a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepare {
    /// Evicted from the page cache, checked with mincore.
    Cold,
    /// Evicted, then read once with read(2): every page cached, in the
    /// folios that read()'s readahead allocates. The same layout every time.
    WarmByRead,
    /// Every page cached, however it got there (read(2) only if needed).
    Warm,
}

/// The advice cases compared in the advice scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdviceCase {
    Madvise(Advice),
    MapPopulate,
}

impl AdviceCase {
    pub const ALL: [AdviceCase; 6] = [
        AdviceCase::Madvise(Advice::Normal),
        AdviceCase::Madvise(Advice::Sequential),
        AdviceCase::Madvise(Advice::Random),
        AdviceCase::Madvise(Advice::WillNeed),
        AdviceCase::Madvise(Advice::PopulateRead),
        AdviceCase::MapPopulate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AdviceCase::Madvise(a) => a.name(),
            AdviceCase::MapPopulate => "MAP_POPULATE",
        }
    }
}

/// What the touch region of a file trial does with the mapping.
#[derive(Debug, Clone, Copy)]
pub enum Touch<'p> {
    /// Read the first byte of each of these pages, in this order.
    FirstBytes(&'p [usize]),
    /// Sum every 8-byte word of the whole mapping (every byte consumed, as
    /// a read() pass that sums its blocks).
    SumAll,
}

impl Touch<'_> {
    /// The `access` field of the sample: what the region did.
    pub fn access(&self) -> &'static str {
        match self {
            Touch::FirstBytes(_) => ACCESS_FIRST_BYTES,
            Touch::SumAll => ACCESS_EVERY_BYTE,
        }
    }
}

/// The `access` of a region that read the first byte of each touched page.
pub const ACCESS_FIRST_BYTES: &str = "first byte of each touched page";
/// The `access` of a pass that summed every byte (mmap or read()).
pub const ACCESS_EVERY_BYTE: &str = "every byte summed";

/// One file trial's regions and the mapping, still alive so the caller can
/// look at it (smaps) before it is unmapped.
#[derive(Debug)]
pub struct Trial {
    pub mapping: Mapping,
    pub mmap: Phase,
    pub madvise: Option<Phase>,
    pub touch: Phase,
    pub resident_after_mmap: u64,
    pub resident_after_touch: u64,
    pub mapped_after_touch: u64,
    pub newly_mapped_by_touch: u64,
}

/// mincore counts only pages whose read has completed, so right after a
/// touch the readahead it started may still be in flight. Polls until the
/// count is unchanged for 10 ms (at most 1 s) and returns it.
fn settled_resident_pages(mapping: &Mapping, mut last: u64) -> anyhow::Result<u64> {
    let mut unchanged = 0;
    for _ in 0..200 {
        std::thread::sleep(std::time::Duration::from_millis(5));
        let now = mapping.resident_pages()?;
        if now == last {
            unchanged += 1;
            if unchanged == 2 || now == mapping.number_of_pages() as u64 {
                break;
            }
        } else {
            unchanged = 0;
            last = now;
        }
    }
    Ok(last)
}

/// The data file under test and everything measured on it.
#[derive(Debug)]
pub struct Lab<'m> {
    pub meter: &'m Meter,
    pub file: File,
    pub length: usize,
    pub n_pages: usize,
    /// 1 MiB, written once so its pages are mapped before any region.
    pub buffer: Vec<u8>,
    pub samples: Vec<Value>,
    /// Touched first bytes that did not match the file's pattern.
    pub n_data_mismatches: u64,
    /// Times a "cold" file still had pages cached or a "warm" one missed some.
    pub n_state_failures: u64,
    /// The data file's checksum (what a pass summing every byte must
    /// return), when known.
    pub expected_checksum: Option<u64>,
}

impl<'m> Lab<'m> {
    pub fn new(meter: &'m Meter, file: File, length: usize) -> Lab<'m> {
        Lab {
            meter,
            file,
            length,
            n_pages: length.div_ceil(page_size()),
            buffer: vec![0xA5; 1 << 20],
            samples: Vec::new(),
            n_data_mismatches: 0,
            n_state_failures: 0,
            expected_checksum: None,
        }
    }

    pub fn all_pages(&self) -> Vec<usize> {
        (0..self.n_pages).collect()
    }

    /// Puts the file in `state`.
    pub fn prepare(&mut self, state: Prepare) -> anyhow::Result<()> {
        match state {
            Prepare::Cold => mapping::evict_file(&self.file),
            Prepare::WarmByRead => {
                mapping::evict_file(&self.file)?;
                mapping::read_whole_file(&self.file, &mut self.buffer)?;
                self.check_warm()
            }
            Prepare::Warm => self.check_warm(),
        }
    }

    fn check_warm(&mut self) -> anyhow::Result<()> {
        let missing = mapping::warm_file(&self.file, &mut self.buffer)?;
        if missing > 0 {
            self.n_state_failures += 1;
        }
        Ok(())
    }

    pub fn file_resident_pages(&self) -> anyhow::Result<u64> {
        mmlab_core::pages::file_resident_pages(self.file.as_fd())
    }

    /// Sets `key` on the last recorded sample.
    pub fn annotate_last(&mut self, key: &str, value: impl Into<Value>) {
        if let Some(Value::Object(map)) = self.samples.last_mut() {
            map.insert(key.to_string(), value.into());
        }
    }

    /// Maps the file, optionally advises, reads the first byte of each page
    /// of `pages` in that order; one sample per region.
    pub fn file_trial(
        &mut self,
        tag: &Tag,
        options: MapOptions,
        advice: Option<Advice>,
        pages: &[usize],
    ) -> anyhow::Result<Trial> {
        self.file_trial_with(tag, options, advice, Touch::FirstBytes(pages))
    }

    /// [`Lab::file_trial`] with the touch region doing `touch`.
    pub fn file_trial_with(
        &mut self,
        tag: &Tag,
        options: MapOptions,
        advice: Option<Advice>,
        touch_kind: Touch,
    ) -> anyhow::Result<Trial> {
        let expected: Option<u64> = match touch_kind {
            Touch::FirstBytes(pages) => Some(
                pages
                    .iter()
                    .map(|p| u64::from(pattern_byte((p * page_size()) as u64)))
                    .fold(0, u64::wrapping_add),
            ),
            Touch::SumAll => self.expected_checksum,
        };
        let resident_before = self.file_resident_pages()?;
        let (mapping, mmap) = self
            .meter
            .phase(|| Mapping::file(&self.file, self.length, options));
        let mapping = mapping?;
        let resident_after_mmap = mapping.resident_pages()?;
        let mapped_after_mmap = mapping.mapped_pages()?;
        self.samples.push(sample(
            tag,
            "mmap",
            &mmap,
            After {
                resident: Some(resident_after_mmap),
                mapped: Some(mapped_after_mmap),
                mapped_before: Some(0),
                resident_before: Some(resident_before),
            },
        ));
        let mut madvise = None;
        if let Some(advice) = advice {
            let before = mapping.mapped_pages()?;
            let (outcome, phase) = self.meter.phase(|| mapping.advise(advice));
            outcome?;
            self.samples.push(sample(
                tag,
                "madvise",
                &phase,
                After {
                    resident: Some(mapping.resident_pages()?),
                    mapped: Some(mapping.mapped_pages()?),
                    mapped_before: Some(before),
                    resident_before: Some(resident_after_mmap),
                },
            ));
            madvise = Some(phase);
        }
        let resident_before_touch = mapping.resident_pages()?;
        let mapped_before_touch = mapping.mapped_pages()?;
        let (sum, touch) = self.meter.phase(|| match touch_kind {
            Touch::FirstBytes(pages) => mapping.read_pages(pages),
            Touch::SumAll => mapping.sum_all(),
        });
        if expected.is_some_and(|e| e != sum) {
            self.n_data_mismatches += 1;
        }
        let resident_right_after_touch = mapping.resident_pages()?;
        let resident_after_touch = if resident_right_after_touch < self.n_pages as u64 {
            settled_resident_pages(&mapping, resident_right_after_touch)?
        } else {
            resident_right_after_touch
        };
        let mapped_after_touch = mapping.mapped_pages()?;
        self.samples.push(sample(
            tag,
            "touch",
            &touch,
            After {
                resident: Some(resident_after_touch),
                mapped: Some(mapped_after_touch),
                mapped_before: Some(mapped_before_touch),
                resident_before: Some(resident_before_touch),
            },
        ));
        self.annotate_last("n_pages_resident_right_after", resident_right_after_touch);
        self.annotate_last("access", touch_kind.access());
        Ok(Trial {
            mapping,
            mmap,
            madvise,
            touch,
            resident_after_mmap,
            resident_after_touch,
            mapped_after_touch,
            newly_mapped_by_touch: mapped_after_touch.saturating_sub(mapped_before_touch),
        })
    }

    fn tag(&self, scenario: &'static str, case: impl Into<String>, state: &'static str) -> Tag {
        Tag {
            scenario,
            case: case.into(),
            file_state: state,
            order: Order::Sequential.name(),
            repetition: 0,
            n_pages_touched: self.n_pages as u64,
            n_pages_mapping: self.n_pages as u64,
        }
    }

    /// Touch k pages (1, 16, 256, ... all) in three orders, warm then cold,
    /// each in a fresh mapping.
    pub fn touch_k(&mut self, repetition: usize, seed: u64) -> anyhow::Result<()> {
        let steps = plan::pages_touched_steps(self.n_pages);
        for (state, prepare) in [("warm", Prepare::WarmByRead), ("cold", Prepare::Cold)] {
            if state == "warm" {
                self.prepare(prepare)?;
            }
            for order in Order::ALL {
                for &k in &steps {
                    if state == "cold" {
                        self.prepare(prepare)?;
                    }
                    let pages = plan::pages_to_touch(order, k, self.n_pages, seed);
                    let mut tag = self.tag("touch-k", format!("{} k={k}", order.name()), state);
                    tag.order = order.name();
                    tag.repetition = repetition;
                    tag.n_pages_touched = k as u64;
                    self.file_trial(&tag, MapOptions::default(), None, &pages)?;
                }
            }
        }
        Ok(())
    }

    /// One full pass by mmap and by read(2) (1 MiB blocks), cold then warm;
    /// both passes sum every byte with the same loop, so they do the same
    /// work and differ only in how the bytes reach the process.
    pub fn cold_vs_warm(&mut self, repetition: usize) -> anyhow::Result<()> {
        for (state, prepare) in [("cold", Prepare::Cold), ("warm", Prepare::Warm)] {
            self.prepare(prepare)?;
            let mut tag = self.tag("cold-vs-warm", "mmap", state);
            tag.repetition = repetition;
            self.file_trial_with(&tag, MapOptions::default(), None, Touch::SumAll)?;

            self.prepare(prepare)?;
            let resident_before = self.file_resident_pages()?;
            let (outcome, phase) = {
                let (file, buffer) = (&self.file, &mut self.buffer);
                self.meter.phase(|| mapping::sum_whole_file(file, buffer))
            };
            let (bytes, sum) = outcome?;
            if bytes != self.length as u64 || self.expected_checksum.is_some_and(|e| e != sum) {
                self.n_data_mismatches += 1;
            }
            let mut tag = self.tag("cold-vs-warm", "read()", state);
            tag.repetition = repetition;
            self.samples.push(sample(
                &tag,
                "read()",
                &phase,
                After {
                    resident: Some(self.file_resident_pages()?),
                    resident_before: Some(resident_before),
                    ..After::default()
                },
            ));
            self.annotate_last("access", ACCESS_EVERY_BYTE);
            self.annotate_last("read_block_bytes", self.buffer.len() as u64);
        }
        Ok(())
    }

    /// Every advice case, cold then warm: where the faults go (mmap,
    /// madvise, first touch). After the cold MADV_RANDOM pass the page cache
    /// holds the file in single pages: the "split" folio state is measured
    /// right there.
    pub fn advice(&mut self, repetition: usize) -> anyhow::Result<()> {
        let all = self.all_pages();
        for case in AdviceCase::ALL {
            for (state, prepare) in [("cold", Prepare::Cold), ("warm", Prepare::WarmByRead)] {
                self.prepare(prepare)?;
                let mut tag = self.tag("advice", case.name(), state);
                tag.repetition = repetition;
                let (options, advice) = match case {
                    AdviceCase::Madvise(a) => (MapOptions::default(), Some(a)),
                    AdviceCase::MapPopulate => (
                        MapOptions {
                            populate: true,
                            ..MapOptions::default()
                        },
                        None,
                    ),
                };
                let trial = self.file_trial(&tag, options, advice, &all)?;
                drop(trial);
                if case == AdviceCase::Madvise(Advice::Random) && state == "cold" {
                    self.folios("split", repetition)?;
                }
            }
        }
        Ok(())
    }

    /// Full passes over the file as it is cached now (`state` names how it
    /// got there), without and with MADV_NOHUGEPAGE: pages mapped per fault.
    pub fn folios(&mut self, state: &'static str, repetition: usize) -> anyhow::Result<()> {
        let all = self.all_pages();
        for advice in [None, Some(Advice::NoHugePage)] {
            self.prepare(Prepare::Warm)?;
            let case = advice.map_or("default", Advice::name);
            let mut tag = self.tag("folios", case, state);
            tag.repetition = repetition;
            let trial = self.file_trial(&tag, MapOptions::default(), advice, &all)?;
            let smaps = trial.mapping.smaps()?;
            self.annotate_last("file_pmd_mapped_kib", smaps.kib("FilePmdMapped"));
            self.annotate_last("rss_kib", smaps.kib("Rss"));
            if advice.is_none() {
                // The folios behind the page cache, now that every page is
                // mapped: what one fault can map at once.
                let address = trial.mapping.address();
                match mmlab_core::pages::folio_sizes(address, trial.mapping.len()) {
                    Ok(sizes) => {
                        let histogram: serde_json::Map<String, Value> = sizes
                            .histogram
                            .iter()
                            .map(|(pages, n)| (pages.to_string(), Value::from(*n)))
                            .collect();
                        self.annotate_last("folio_histogram", histogram);
                        self.annotate_last(
                            "n_pages_in_large_folios",
                            sizes.n_pages_in_large_folios(),
                        );
                        self.annotate_last("largest_folio_pages", sizes.largest());
                        self.annotate_last(
                            "mean_folio_pages_of_a_page",
                            sizes.mean_pages_per_folio_of_a_page(),
                        );
                    }
                    Err(reason) => {
                        self.annotate_last("folio_sizes_unavailable", reason.to_string())
                    }
                }
            }
        }
        Ok(())
    }

    /// A second pass over an already touched mapping: file (MAP_SHARED,
    /// read) and private anonymous (write).
    pub fn second_pass(&mut self, repetition: usize) -> anyhow::Result<()> {
        let all = self.all_pages();
        self.prepare(Prepare::Warm)?;
        let mut tag = self.tag("second-pass", "file MAP_SHARED, read", "warm");
        tag.repetition = repetition;
        let trial = self.file_trial(&tag, MapOptions::default(), None, &all)?;
        if let Some(Value::Object(map)) = self.samples.last_mut() {
            map.insert("phase".into(), "first pass".into());
        }
        let mapping = trial.mapping;
        let before = mapping.mapped_pages()?;
        let (_, phase) = self.meter.phase(|| mapping.read_pages(&all));
        self.samples.push(sample(
            &tag,
            "second pass",
            &phase,
            After {
                resident: Some(mapping.resident_pages()?),
                mapped: Some(mapping.mapped_pages()?),
                mapped_before: Some(before),
                resident_before: None,
            },
        ));
        drop(mapping);

        let mut tag = self.tag("second-pass", "anonymous MAP_PRIVATE, write", "anonymous");
        tag.repetition = repetition;
        self.anonymous_case(
            &tag,
            MapOptions::default(),
            Some(Advice::NoHugePage),
            &[("first pass", true), ("second pass", true)],
        )?;
        Ok(())
    }

    /// The anonymous cases: zero page then copy, write first, huge pages,
    /// MAP_POPULATE, and the machine's default.
    pub fn anonymous(&mut self, repetition: usize) -> anyhow::Result<()> {
        let populate = MapOptions {
            populate: true,
            ..MapOptions::default()
        };
        // (case, options, advice, passes as (name, write?))
        type Case<'a> = (&'a str, MapOptions, Option<Advice>, &'a [(&'a str, bool)]);
        let cases: [Case; 6] = [
            (
                "read then write, MADV_NOHUGEPAGE",
                MapOptions::default(),
                Some(Advice::NoHugePage),
                &[("read pass", false), ("write pass", true)],
            ),
            (
                "write only, MADV_NOHUGEPAGE",
                MapOptions::default(),
                Some(Advice::NoHugePage),
                &[("write pass", true)],
            ),
            (
                "read then write, MADV_HUGEPAGE",
                MapOptions::default(),
                Some(Advice::HugePage),
                &[("read pass", false), ("write pass", true)],
            ),
            (
                "write only, MADV_HUGEPAGE",
                MapOptions::default(),
                Some(Advice::HugePage),
                &[("write pass", true)],
            ),
            (
                "write only, MAP_POPULATE",
                populate,
                None,
                &[("write pass", true)],
            ),
            (
                "write only, no advice",
                MapOptions::default(),
                None,
                &[("write pass", true)],
            ),
        ];
        for (case, options, advice, passes) in cases {
            let mut tag = self.tag("anonymous", case, "anonymous");
            tag.repetition = repetition;
            self.anonymous_case(&tag, options, advice, passes)?;
        }
        Ok(())
    }

    /// One anonymous mapping of the file's length: mmap, optional madvise,
    /// then each pass (name, write?) over every page; one sample per region.
    pub fn anonymous_case(
        &mut self,
        tag: &Tag,
        options: MapOptions,
        advice: Option<Advice>,
        passes: &[(&str, bool)],
    ) -> anyhow::Result<()> {
        let all = self.all_pages();
        let (mapping, phase) = self
            .meter
            .phase(|| Mapping::anonymous(self.length, options));
        let mapping = mapping?;
        let after_mmap = After {
            resident: Some(mapping.resident_pages()?),
            mapped: Some(mapping.mapped_pages()?),
            mapped_before: Some(0),
            resident_before: None,
        };
        self.samples.push(sample(tag, "mmap", &phase, after_mmap));
        if let Some(advice) = advice {
            let (outcome, phase) = self.meter.phase(|| mapping.advise(advice));
            outcome?;
            self.samples.push(sample(
                tag,
                "madvise",
                &phase,
                After {
                    resident: Some(mapping.resident_pages()?),
                    mapped: Some(mapping.mapped_pages()?),
                    ..After::default()
                },
            ));
        }
        for (index, (name, write)) in passes.iter().enumerate() {
            let before = mapping.mapped_pages()?;
            let (sum, phase) = self.meter.phase(|| {
                if *write {
                    mapping.write_pages(&all, (index + 1) as u8);
                    0
                } else {
                    mapping.read_pages(&all)
                }
            });
            if !*write && index == 0 && sum != 0 {
                self.n_data_mismatches += 1; // fresh anonymous memory reads as zero
            }
            self.samples.push(sample(
                tag,
                name,
                &phase,
                After {
                    resident: Some(mapping.resident_pages()?),
                    mapped: Some(mapping.mapped_pages()?),
                    mapped_before: Some(before),
                    resident_before: None,
                },
            ));
            let smaps = mapping.smaps()?;
            self.annotate_last("anon_huge_pages_kib", smaps.kib("AnonHugePages"));
            self.annotate_last("rss_kib", smaps.kib("Rss"));
        }
        Ok(())
    }

    /// Residency pictures: which pages are in the page cache (mincore) and
    /// which are mapped in the page table (pagemap) after a few touches.
    pub fn residency_rows(&mut self, max_cells: usize) -> anyhow::Result<Vec<Value>> {
        let every_64th = plan::every_nth_page(64, self.n_pages);
        let middle = vec![self.n_pages / 2];
        let first = vec![0usize];
        let mut rows = Vec::new();
        // (label, state, advice, pages, show the page cache, show the page table)
        type Case<'a> = (&'a str, Prepare, Option<Advice>, &'a [usize], bool, bool);
        let cases: [Case; 5] = [
            (
                "cold, touched page 0",
                Prepare::Cold,
                None,
                &first,
                true,
                true,
            ),
            (
                "cold, touched the middle page",
                Prepare::Cold,
                None,
                &middle,
                true,
                false,
            ),
            (
                "cold, touched every 64th page",
                Prepare::Cold,
                None,
                &every_64th,
                true,
                true,
            ),
            (
                "warm, touched every 64th page",
                Prepare::WarmByRead,
                None,
                &every_64th,
                false,
                true,
            ),
            (
                "warm + MADV_RANDOM, touched every 64th page",
                Prepare::WarmByRead,
                Some(Advice::Random),
                &every_64th,
                false,
                true,
            ),
        ];
        for (label, prepare, advice, pages, show_cached, show_mapped) in cases {
            self.prepare(prepare)?;
            let mut tag = self.tag(
                "residency",
                label,
                if prepare == Prepare::Cold {
                    "cold"
                } else {
                    "warm"
                },
            );
            tag.n_pages_touched = pages.len() as u64;
            let trial = self.file_trial(&tag, MapOptions::default(), advice, pages)?;
            let faults = trial.touch.faults();
            let cached = trial.mapping.residency()?;
            let mapped = trial.mapping.mapped()?;
            let mut views = Vec::new();
            if show_cached {
                views.push(("page cache (mincore)", cached));
            }
            if show_mapped {
                views.push(("page table (pagemap)", mapped));
            }
            for (what, flags) in views {
                let (bitmap, pages_per_cell) = plan::bitmap(&flags, max_cells);
                rows.push(json!({
                    "label": format!("{label}: {what}"),
                    "touch": label,
                    "view": what,
                    "bitmap": bitmap,
                    "pages_per_cell": pages_per_cell,
                    "n_pages": flags.len(),
                    "n_pages_set": mapping::count(&flags),
                    "n_pages_touched": pages.len(),
                    "n_faults": faults,
                    "n_major_faults": trial.touch.major_faults(),
                }));
            }
        }
        Ok(rows)
    }
}
