//! What one run measures: file sizes, block sizes, passes, repetitions and
//! scenarios, from the profile (and `--size`, `--repeat`).

use std::time::Duration;

use mmlab_core::{Profile, RunContext};

use crate::adaptive::Rule;
use crate::methods::{Config, Family, Method};

/// The state of the page cache a series of passes runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Scenario {
    /// The file is fully cached before the first pass (checked with mincore).
    Warm,
    /// The file is evicted before the first pass (checked with mincore);
    /// later passes find what the first one brought in.
    Cold,
    /// The file is evicted before every pass: a page cache too small to keep
    /// it between passes, simulated (no memory limit is set).
    EvictEveryPass,
    /// Only with `--memory-limit`: the passes run in a child process inside
    /// a child memory cgroup whose limit is smaller than the file (a real
    /// page cache too small); the file is evicted before the first pass.
    MemoryLimit,
}

impl Scenario {
    /// The scenarios every run measures; [`Scenario::MemoryLimit`] is added
    /// only when asked for (see [`Plan::scenarios`]).
    pub const ALL: [Scenario; 3] = [Scenario::Warm, Scenario::Cold, Scenario::EvictEveryPass];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Warm => "warm",
            Scenario::Cold => "cold",
            Scenario::EvictEveryPass => "evict-every-pass",
            Scenario::MemoryLimit => "memory-limit",
        }
    }

    /// The scenario a result file names (`warm`, `cold`, ...).
    pub fn from_name(name: &str) -> Option<Scenario> {
        [
            Scenario::Warm,
            Scenario::Cold,
            Scenario::EvictEveryPass,
            Scenario::MemoryLimit,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }

    pub fn description(self) -> &'static str {
        match self {
            Scenario::Warm => "file fully cached before the first pass (verified with mincore)",
            Scenario::Cold => {
                "file evicted before the first pass (verified with mincore); later passes find it cached"
            }
            Scenario::EvictEveryPass => {
                "page cache too small, simulated: the file is evicted (and a kept mapping's pages dropped) before every pass"
            }
            Scenario::MemoryLimit => {
                "page cache too small, for real: the passes run in a child process inside a memory cgroup limited by --memory-limit; the file is evicted before the first pass, then the limit decides what stays cached"
            }
        }
    }

    /// Whether the file is evicted before pass `pass_index` (1-based).
    pub fn evicts_before(self, pass_index: usize) -> bool {
        match self {
            Scenario::Warm => false,
            Scenario::Cold | Scenario::MemoryLimit => pass_index == 1,
            Scenario::EvictEveryPass => true,
        }
    }
}

/// How many repetitions: a fixed number, or adaptive (the full profile).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Repetitions {
    Fixed(usize),
    /// Until each series' median is known within the rule's width (or the
    /// rule's maximum, or the time budget).
    Adaptive {
        rule: Rule,
        /// Measuring time the whole run may take; a repetition that would
        /// end after it does not start (the minimum runs regardless).
        budget: Duration,
    },
}

impl Repetitions {
    /// The most repetitions a series can run.
    pub fn max(&self) -> usize {
        match self {
            Repetitions::Fixed(n) => *n,
            Repetitions::Adaptive { rule, .. } => rule.max_repetitions,
        }
    }

    /// The repetitions every series runs.
    pub fn min(&self) -> usize {
        match self {
            Repetitions::Fixed(n) => *n,
            Repetitions::Adaptive { rule, .. } => rule.min_repetitions,
        }
    }
}

/// Everything one run measures.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// File sizes, each with its own data file and ceiling buffer. The
    /// first runs every scenario and configuration (the verdicts are on
    /// it); the others run the warm scenario's headline configurations.
    pub sizes_bytes: Vec<u64>,
    /// Block sizes of the read family in the warm scenario.
    pub block_sizes_bytes: Vec<u64>,
    /// Block sizes of the read family in the cold and evict-every-pass
    /// scenarios (fewer: every evicted pass reads the file from storage).
    pub storage_block_sizes_bytes: Vec<u64>,
    /// Methods run in the cold and evict-every-pass scenarios (the ones
    /// whose difference matters when storage is the bottleneck; the fresh
    /// buffer and the copy only add CPU work that storage hides).
    pub storage_methods: Vec<Method>,
    /// The block size whose read-family series appear in the per-pass
    /// figures and the verdicts' headline comparisons.
    pub headline_block_bytes: u64,
    pub warm_passes: usize,
    pub cold_passes: usize,
    pub evicted_passes: usize,
    pub repetitions: Repetitions,
    /// Counted passes (every counter on, untimed) per series, by scenario,
    /// in the first repetition: the system-call counts come from them.
    pub counted_passes_warm: usize,
    pub counted_passes_cold: usize,
    pub counted_passes_evicted: usize,
    /// The alignment axis: `read` at these block sizes with its buffer at
    /// these offsets past a page (warm; empty in the quick profile).
    pub alignment_offsets: Vec<u64>,
    pub alignment_block_sizes_bytes: Vec<u64>,
    /// The observer rounds: `read` at this block size timed under every
    /// counter set and as a plain loop, this many rounds per repetition.
    pub observer_block_bytes: u64,
    pub observer_rounds: usize,
    /// `--memory-limit`: the limit of the memory cgroup the memory-limit
    /// scenario runs in; `None` leaves the scenario out.
    pub memory_limit_bytes: Option<u64>,
}

const K: u64 = 1 << 10;
const M: u64 = 1 << 20;
const G: u64 = 1 << 30;

/// The full profile's measuring time: what it takes here, with room left
/// for writing files and the figures, under ten minutes.
pub const FULL_PROFILE_BUDGET: Duration = Duration::from_secs(480);

impl Plan {
    /// The profile's plan: quick = 256 MiB, blocks 4k/64k/1m, 6 warm passes,
    /// 2 repetitions (so that it runs in about half a minute); full = 1 GiB
    /// (every scenario, blocks 4k to 16m in powers of 4, the alignment axis)
    /// and 4 GiB (warm, headline series), 6 warm passes, repetitions until
    /// each median is known within +-3% ([`Rule::FULL`]).
    pub fn for_context(context: &RunContext) -> Plan {
        let quick = context.profile == Profile::Quick;
        let sizes_bytes = match context.size_bytes {
            Some(size) => vec![size],
            None if quick => vec![256 * M],
            None => vec![G, 4 * G],
        };
        let block_sizes_bytes = if quick {
            vec![4 * K, 64 * K, M]
        } else {
            (0..7).map(|i| (4 * K) << (2 * i)).collect() // 4k 16k 64k 256k 1m 4m 16m
        };
        let repetitions = match (context.repeat, quick) {
            (Some(n), _) => Repetitions::Fixed(n),
            (None, true) => Repetitions::Fixed(2),
            (None, false) => Repetitions::Adaptive {
                rule: Rule::FULL,
                budget: FULL_PROFILE_BUDGET,
            },
        };
        Plan {
            sizes_bytes,
            storage_methods: vec![
                Method::Read,
                Method::Pread,
                Method::MmapReused,
                Method::MmapPerPass,
                Method::MmapPopulate,
                Method::MmapSequential,
            ],
            block_sizes_bytes,
            storage_block_sizes_bytes: vec![64 * K],
            headline_block_bytes: 64 * K,
            warm_passes: 6,
            cold_passes: 3,
            evicted_passes: if quick { 2 } else { 3 },
            repetitions,
            counted_passes_warm: 2,
            counted_passes_cold: 2,
            counted_passes_evicted: 1,
            alignment_offsets: if quick {
                Vec::new()
            } else {
                vec![16, 64, 2048]
            },
            alignment_block_sizes_bytes: if quick {
                Vec::new()
            } else {
                vec![4 * K, 64 * K, M, 16 * M]
            },
            observer_block_bytes: 4 * K,
            observer_rounds: 3,
            memory_limit_bytes: context.memory_limit_bytes,
        }
    }

    /// The scenarios of this run for the file size at `size_index`, in the
    /// order a repetition runs them: every one for the first size, warm
    /// only for the others.
    pub fn scenarios(&self, size_index: usize) -> Vec<Scenario> {
        if size_index > 0 {
            return vec![Scenario::Warm];
        }
        let mut scenarios = Scenario::ALL.to_vec();
        if self.memory_limit_bytes.is_some() {
            scenarios.push(Scenario::MemoryLimit);
        }
        scenarios
    }

    pub fn passes(&self, scenario: Scenario) -> usize {
        match scenario {
            Scenario::Warm => self.warm_passes,
            Scenario::Cold | Scenario::MemoryLimit => self.cold_passes,
            Scenario::EvictEveryPass => self.evicted_passes,
        }
    }

    /// Counted passes per series in `scenario` (first repetition only).
    pub fn counted_passes(&self, scenario: Scenario) -> usize {
        match scenario {
            Scenario::Warm => self.counted_passes_warm,
            Scenario::Cold | Scenario::MemoryLimit => self.counted_passes_cold,
            Scenario::EvictEveryPass => self.counted_passes_evicted,
        }
    }

    /// The configurations a repetition runs in `scenario` for the size at
    /// `size_index`, in order. The memory ceilings run in the warm scenario
    /// only (memory is never evicted), right after mmap-reused; the
    /// alignment axis comes last.
    pub fn configurations(&self, scenario: Scenario, size_index: usize) -> Vec<Config> {
        let headline_only = size_index > 0;
        let (methods, blocks): (&[Method], Vec<u64>) = match scenario {
            Scenario::Warm if headline_only => (
                &Method::FILE_METHODS,
                self.block_sizes_bytes
                    .iter()
                    .copied()
                    .filter(|b| [4 * K, self.headline_block_bytes, M].contains(b))
                    .collect(),
            ),
            Scenario::Warm => (&Method::FILE_METHODS, self.block_sizes_bytes.clone()),
            _ => (
                &self.storage_methods,
                self.storage_block_sizes_bytes.clone(),
            ),
        };
        let mut configurations = Vec::new();
        for method in methods.iter().copied() {
            if method.family() == Family::Block {
                let blocks = match method {
                    // The later sizes' headline set: read at its three block
                    // sizes, the others at the headline block size.
                    Method::Read => blocks.clone(),
                    _ if headline_only => vec![self.headline_block_bytes],
                    _ => blocks.clone(),
                };
                if headline_only && method == Method::ReadFreshBuffer {
                    continue;
                }
                configurations.extend(blocks.iter().map(|b| Config::new(method, *b)));
            } else {
                configurations.push(Config::new(method, 0));
            }
            // The ceilings run right after mmap-reused, so that the two
            // numbers compared most often are measured closest in time.
            if method == Method::MmapReused && scenario == Scenario::Warm {
                configurations.push(Config::new(Method::MemoryCeiling, 0));
                configurations.push(Config::new(Method::MemoryCeilingAllCpus, 0));
            }
        }
        if scenario == Scenario::Warm && !headline_only {
            for block in &self.alignment_block_sizes_bytes {
                for offset in &self.alignment_offsets {
                    configurations.push(Config::new(Method::Read, *block).at_offset(*offset));
                }
            }
        }
        configurations
    }

    /// Passes one repetition makes over the size at `size_index`, all
    /// scenarios, timed (the first repetition adds the counted passes, each
    /// repetition the observer rounds).
    pub fn passes_per_repetition(&self, size_index: usize) -> usize {
        self.scenarios(size_index)
            .iter()
            .map(|s| self.configurations(*s, size_index).len() * self.passes(*s))
            .sum()
    }

    /// Counted passes of the first repetition of the size at `size_index`.
    pub fn counted_passes_total(&self, size_index: usize) -> usize {
        self.scenarios(size_index)
            .iter()
            .map(|s| self.configurations(*s, size_index).len() * self.counted_passes(*s))
            .sum()
    }

    /// Observer passes per repetition (every counter set and the plain
    /// loop, each round).
    pub fn observer_passes(&self) -> usize {
        self.observer_rounds * crate::instrument::Instrumentation::ALL.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_and_full_plans_follow_the_handout() {
        let quick = Plan::for_context(&RunContext::default());
        assert_eq!(quick.sizes_bytes, vec![256 * M]);
        assert_eq!(quick.block_sizes_bytes, vec![4 * K, 64 * K, M]);
        assert_eq!(quick.warm_passes, 6);
        assert_eq!(quick.repetitions, Repetitions::Fixed(2));
        assert!(quick.alignment_offsets.is_empty());
        let full = Plan::for_context(&RunContext {
            profile: Profile::Full,
            ..RunContext::default()
        });
        assert_eq!(full.sizes_bytes, vec![G, 4 * G]);
        assert_eq!(
            full.block_sizes_bytes,
            vec![4 * K, 16 * K, 64 * K, 256 * K, M, 4 * M, 16 * M]
        );
        assert!(matches!(full.repetitions, Repetitions::Adaptive { .. }));
        assert_eq!(full.alignment_offsets, vec![16, 64, 2048]);
        let sized = Plan::for_context(&RunContext {
            size_bytes: Some(8 * M),
            repeat: Some(1),
            ..RunContext::default()
        });
        assert_eq!(
            (sized.sizes_bytes, sized.repetitions),
            (vec![8 * M], Repetitions::Fixed(1))
        );
        let full_fixed = Plan::for_context(&RunContext {
            profile: Profile::Full,
            repeat: Some(3),
            ..RunContext::default()
        });
        assert_eq!(full_fixed.repetitions, Repetitions::Fixed(3));
    }

    #[test]
    fn warm_runs_every_method_at_every_block_size_and_both_ceilings() {
        let plan = Plan::for_context(&RunContext::default());
        let warm = plan.configurations(Scenario::Warm, 0);
        // 4 read-family methods x 3 blocks + 4 mappings + 2 ceilings.
        assert_eq!(warm.len(), 4 * 3 + 4 + 2);
        let reused = warm
            .iter()
            .position(|c| c.method == Method::MmapReused)
            .unwrap();
        assert_eq!(warm[reused + 1].method, Method::MemoryCeiling);
        assert_eq!(warm[reused + 2].method, Method::MemoryCeilingAllCpus);
        assert!(warm.iter().all(|c| c.buffer_offset == 0));
        let cold = plan.configurations(Scenario::Cold, 0);
        // read and pread at 64k + 4 mappings.
        assert_eq!(cold.len(), 2 + 4);
        assert!(!cold.iter().any(|c| c.method.family() == Family::Ceiling));
    }

    #[test]
    fn the_full_profile_adds_the_alignment_axis_and_a_smaller_second_size() {
        let full = Plan::for_context(&RunContext {
            profile: Profile::Full,
            ..RunContext::default()
        });
        let warm = full.configurations(Scenario::Warm, 0);
        let aligned: Vec<&Config> = warm.iter().filter(|c| c.buffer_offset > 0).collect();
        assert_eq!(aligned.len(), 4 * 3);
        assert!(aligned.iter().all(|c| c.method == Method::Read));
        assert_eq!(full.scenarios(1), vec![Scenario::Warm]);
        let second: Vec<String> = full
            .configurations(Scenario::Warm, 1)
            .iter()
            .map(Config::series)
            .collect();
        assert_eq!(
            second,
            [
                "read 4k",
                "read 64k",
                "read 1m",
                "pread 64k",
                "mmap-copy 64k",
                "mmap-reused",
                "memory-ceiling",
                "memory-ceiling-all-cpus",
                "mmap-per-pass",
                "mmap-populate",
                "mmap-sequential"
            ]
        );
    }

    #[test]
    fn scenarios_evict_where_they_say() {
        assert!(!Scenario::Warm.evicts_before(1));
        assert!(Scenario::Cold.evicts_before(1) && !Scenario::Cold.evicts_before(2));
        assert!(Scenario::EvictEveryPass.evicts_before(5));
        assert!(Scenario::MemoryLimit.evicts_before(1) && !Scenario::MemoryLimit.evicts_before(2));
    }

    #[test]
    fn the_memory_limit_scenario_runs_only_when_asked() {
        let plain = Plan::for_context(&RunContext::default());
        assert_eq!(plain.scenarios(0), Scenario::ALL.to_vec());
        let limited = Plan::for_context(&RunContext {
            memory_limit_bytes: Some(64 * M),
            ..RunContext::default()
        });
        assert_eq!(limited.scenarios(0).last(), Some(&Scenario::MemoryLimit));
        assert_eq!(
            limited.configurations(Scenario::MemoryLimit, 0),
            limited.configurations(Scenario::Cold, 0)
        );
        assert_eq!(
            limited.passes_per_repetition(0),
            plain.passes_per_repetition(0) + 6 * limited.cold_passes
        );
    }
}
