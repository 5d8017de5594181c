//! What one run measures: file sizes, block sizes, passes, repetitions and
//! scenarios, from the profile (and `--size`, `--repeat`).

use mmlab_core::{Profile, RunContext};

use crate::methods::{Family, Method};

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

/// Everything one run measures.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// File sizes, each with its own data file and ceiling buffer.
    pub sizes_bytes: Vec<u64>,
    /// Block sizes of the read family in the warm scenario.
    pub block_sizes_bytes: Vec<u64>,
    /// Block sizes of the read family in the cold and evict-every-pass
    /// scenarios (fewer: every evicted pass reads the file from storage).
    pub storage_block_sizes_bytes: Vec<u64>,
    /// Methods run in the cold and evict-every-pass scenarios (quick: the
    /// ones whose difference matters when storage is the bottleneck; the
    /// fresh buffer and the copy only add CPU work that storage hides).
    pub storage_methods: Vec<Method>,
    /// The block size whose read-family series appear in the per-pass
    /// figures and the verdicts' headline comparisons.
    pub headline_block_bytes: u64,
    pub warm_passes: usize,
    pub cold_passes: usize,
    pub evicted_passes: usize,
    pub repetitions: usize,
    /// `--memory-limit`: the limit of the memory cgroup the memory-limit
    /// scenario runs in; `None` leaves the scenario out.
    pub memory_limit_bytes: Option<u64>,
}

const K: u64 = 1 << 10;
const M: u64 = 1 << 20;
const G: u64 = 1 << 30;

impl Plan {
    /// The profile's plan: quick = 256 MiB, blocks 4k/64k/1m, 8 warm passes,
    /// 2 repetitions (so that it runs in well under 30 s); full = 1 GiB and
    /// 4 GiB, blocks 4k to 16m in powers of 4, 12 passes, 5 repetitions.
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
        let storage_block_sizes_bytes = if quick {
            vec![64 * K]
        } else {
            vec![4 * K, 64 * K, M]
        };
        let storage_methods = if quick {
            vec![
                Method::Read,
                Method::Pread,
                Method::MmapReused,
                Method::MmapPerPass,
                Method::MmapPopulate,
                Method::MmapSequential,
            ]
        } else {
            Method::FILE_METHODS.to_vec()
        };
        Plan {
            sizes_bytes,
            storage_methods,
            block_sizes_bytes,
            storage_block_sizes_bytes,
            headline_block_bytes: 64 * K,
            warm_passes: if quick { 8 } else { 12 },
            cold_passes: if quick { 3 } else { 4 },
            evicted_passes: if quick { 2 } else { 3 },
            repetitions: context.repetitions(2, 5),
            memory_limit_bytes: context.memory_limit_bytes,
        }
    }

    /// The scenarios of this run, in the order a repetition runs them.
    pub fn scenarios(&self) -> Vec<Scenario> {
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

    /// The (method, block size) pairs a repetition runs in `scenario`, in
    /// order; block size 0 for methods that take none. The memory ceiling
    /// runs in the warm scenario only (memory is never evicted), right after
    /// mmap-reused.
    pub fn configurations(&self, scenario: Scenario) -> Vec<(Method, u64)> {
        let (methods, blocks) = match scenario {
            Scenario::Warm => (&Method::FILE_METHODS[..], &self.block_sizes_bytes),
            _ => (&self.storage_methods[..], &self.storage_block_sizes_bytes),
        };
        let mut configurations = Vec::new();
        for method in methods.iter().copied() {
            if method.family() == Family::Block {
                configurations.extend(blocks.iter().map(|b| (method, *b)));
            } else {
                configurations.push((method, 0));
            }
            // The ceiling runs right after mmap-reused, so that the two
            // numbers compared most often are measured closest in time.
            if method == Method::MmapReused && scenario == Scenario::Warm {
                configurations.push((Method::MemoryCeiling, 0));
            }
        }
        configurations
    }

    /// Passes one repetition makes over one file size, all scenarios.
    pub fn passes_per_repetition(&self) -> usize {
        self.scenarios()
            .iter()
            .map(|s| self.configurations(*s).len() * self.passes(*s))
            .sum()
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
        assert_eq!(quick.warm_passes, 8);
        let full = Plan::for_context(&RunContext {
            profile: Profile::Full,
            ..RunContext::default()
        });
        assert_eq!(full.sizes_bytes, vec![G, 4 * G]);
        assert_eq!(
            full.block_sizes_bytes,
            vec![4 * K, 16 * K, 64 * K, 256 * K, M, 4 * M, 16 * M]
        );
        let sized = Plan::for_context(&RunContext {
            size_bytes: Some(8 * M),
            repeat: Some(1),
            ..RunContext::default()
        });
        assert_eq!((sized.sizes_bytes, sized.repetitions), (vec![8 * M], 1));
    }

    #[test]
    fn warm_runs_every_method_at_every_block_size_and_the_ceiling() {
        let plan = Plan::for_context(&RunContext::default());
        let warm = plan.configurations(Scenario::Warm);
        // 4 read-family methods x 3 blocks + 4 mappings + the ceiling.
        assert_eq!(warm.len(), 4 * 3 + 4 + 1);
        let reused = warm.iter().position(|c| *c == (Method::MmapReused, 0));
        assert_eq!(warm[reused.unwrap() + 1], (Method::MemoryCeiling, 0));
        let cold = plan.configurations(Scenario::Cold);
        // read and pread at 64k + 4 mappings.
        assert_eq!(cold.len(), 2 + 4);
        assert!(!cold.iter().any(|(m, _)| *m == Method::MemoryCeiling));
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
        assert_eq!(plain.scenarios(), Scenario::ALL.to_vec());
        let limited = Plan::for_context(&RunContext {
            memory_limit_bytes: Some(64 * M),
            ..RunContext::default()
        });
        assert_eq!(limited.scenarios().last(), Some(&Scenario::MemoryLimit));
        assert_eq!(
            limited.configurations(Scenario::MemoryLimit),
            limited.configurations(Scenario::Cold)
        );
        assert_eq!(
            limited.passes_per_repetition(),
            plain.passes_per_repetition() + 6 * limited.cold_passes
        );
    }
}
