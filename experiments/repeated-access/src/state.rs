//! What state the data file is in, and what else on the machine changes it.
//!
//! - [`file_state`]: the file's pages in the page cache (mincore) and the
//!   folios they sit in (pagemap + /proc/kpageflags, root only), read before
//!   the first pass of every scenario and repetition. A freshly written file
//!   sits in large folios; pages that were reclaimed and read back one at a
//!   time come back in small ones, and a mapping of small folios takes more
//!   faults and more TLB entries.
//! - [`Reclaimers`]: agents that evict pages on their own, whatever the
//!   run does: DAMON kdamonds with a `pageout` scheme (DAMON_RECLAIM, or a
//!   scheme set up through `/sys/kernel/mm/damon/admin`). They turn a warm
//!   file partly cold between two passes; the warm passes' residency
//!   (`resident_pages_before`) shows when they did.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use memmap2::{Advice, MmapOptions};
use mmlab_core::DataFile;
use mmlab_core::pages::FolioSizes;
use serde_json::{Value, json};

/// The file's pages before a scenario's first pass.
#[derive(Debug, Clone, PartialEq)]
pub struct FileState {
    pub file_pages: u64,
    /// Pages in the page cache (mincore).
    pub resident_pages: u64,
    /// The folios behind the resident pages, or why they could not be read
    /// (not root: pagemap shows no frame numbers).
    pub folios: Result<FolioSizes, String>,
}

/// Reads the file's residency and its folio sizes. The resident pages are
/// mapped (read-only, `MADV_RANDOM`, so that no fault starts readahead) and
/// touched one byte each, which maps them without reading anything from
/// storage; pages not resident are left alone. Touching marks the pages
/// accessed, as the next pass would.
pub fn file_state(data: &DataFile) -> anyhow::Result<FileState> {
    let file = data.open()?;
    let file_pages = data.number_of_pages();
    let len = usize::try_from(data.size_bytes)?;
    if len == 0 {
        return Ok(FileState {
            file_pages,
            resident_pages: 0,
            folios: Ok(FolioSizes::default()),
        });
    }
    // SAFETY: the run's own data file, never truncated or written while
    // this read-only mapping exists (it is dropped before returning).
    let mapping = unsafe { MmapOptions::new().len(len).map(&file) }?;
    mapping.advise(Advice::Random)?;
    let resident = mmlab_core::pages::residency(mapping.as_ptr(), len)?;
    let page = mmlab_core::fingerprint::page_size();
    for (index, _) in resident.iter().enumerate().filter(|(_, r)| **r) {
        std::hint::black_box(mapping[index * page]);
    }
    let folios =
        mmlab_core::pages::folio_sizes(mapping.as_ptr() as usize, len).map_err(|e| e.to_string());
    Ok(FileState {
        file_pages,
        resident_pages: resident.iter().filter(|r| **r).count() as u64,
        folios,
    })
}

impl FileState {
    /// `1:120 4:30 256:200` (folio size in pages: folios), smallest first.
    pub fn histogram_text(&self) -> Option<String> {
        self.folios.as_ref().ok().map(|f| {
            f.histogram
                .iter()
                .map(|(size, n)| format!("{size}:{n}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    /// One row of the `file_state` table.
    pub fn row(&self, size: u64, repetition: usize, scenario: &str) -> Value {
        let folios = self.folios.as_ref().ok();
        json!({
            "file_size_bytes": size,
            "repetition": repetition,
            "scenario": scenario,
            "moment": "before the scenario's first pass",
            "file_pages": self.file_pages,
            "resident_pages": self.resident_pages,
            "folio_histogram": self.histogram_text(),
            "pages_in_large_folios": folios.map(FolioSizes::n_pages_in_large_folios),
            "largest_folio_pages": folios.and_then(FolioSizes::largest),
            "mean_folio_pages_of_a_page": folios.and_then(FolioSizes::mean_pages_per_folio_of_a_page),
            "folios_unavailable": self.folios.as_ref().err(),
        })
    }

    /// Rows of the `file_folios` table: pages per folio size (flat, for
    /// the figure).
    pub fn folio_rows(&self, size: u64, repetition: usize, scenario: &str) -> Vec<Value> {
        let Ok(folios) = &self.folios else {
            return Vec::new();
        };
        folios
            .histogram
            .iter()
            .map(|(pages, n)| {
                json!({
                    "file_size_bytes": size,
                    "repetition": repetition,
                    "scenario": scenario,
                    "state": format!("{scenario}, repetition {}", repetition + 1),
                    "folio_pages": pages.to_string(),
                    "folios": n,
                    "pages": pages * n,
                })
            })
            .collect()
    }
}

/// The DAMON admin interface.
const DAMON_ADMIN: &str = "/sys/kernel/mm/damon/admin/kdamonds";

/// Modules that run a DAMON scheme of their own when enabled (their
/// `parameters/enabled` under /sys/module).
const DAMON_MODULES: &[&str] = &["damon_reclaim", "damon_lru_sort"];

/// Agents that reclaim on their own, as found when the run started.
#[derive(Debug, Clone, PartialEq)]
pub struct Reclaimers {
    /// Every kdamond with its contexts and schemes, as sysfs gives them.
    pub kdamonds: Vec<Value>,
    /// One sentence per kdamond that is on and has a pageout scheme.
    pub pageout: Vec<String>,
    /// DAMON modules and whether they are enabled (`Y`/`N`).
    pub modules: BTreeMap<String, String>,
    /// Why nothing could be read, when that is the case.
    pub unreadable: Option<String>,
}

fn read(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// The numbered subfolders of `dir` (`0`, `1`, ...), in order.
fn numbered(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    entries.sort();
    entries.into_iter().map(|(_, p)| p).collect()
}

fn number(path: &Path) -> Option<u64> {
    read(path)?.parse().ok()
}

impl Reclaimers {
    /// Reads the DAMON admin interface and the DAMON modules' switches
    /// (nothing is written: DAMON's statistics are left as they are).
    pub fn find() -> Reclaimers {
        Reclaimers::find_in(Path::new(DAMON_ADMIN), Path::new("/sys/module"))
    }

    /// As [`Reclaimers::find`], with the admin folder and /sys/module given.
    pub fn find_in(admin: &Path, modules: &Path) -> Reclaimers {
        let mut kdamonds = Vec::new();
        let mut pageout = Vec::new();
        let unreadable = (!admin.is_dir()).then(|| {
            format!(
                "{} not found (no DAMON sysfs interface, or sysfs not mounted)",
                admin.display()
            )
        });
        for kdamond in numbered(admin) {
            let id = kdamond
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("?")
                .to_string();
            let state = read(&kdamond.join("state")).unwrap_or_else(|| "unknown".into());
            let pid = read(&kdamond.join("pid"));
            let mut contexts = Vec::new();
            for context in numbered(&kdamond.join("contexts")) {
                let operations = read(&context.join("operations")).unwrap_or_default();
                let intervals = context.join("monitoring_attrs/intervals");
                let aggr_us = number(&intervals.join("aggr_us"));
                let mut schemes = Vec::new();
                for scheme in numbered(&context.join("schemes")) {
                    let action = read(&scheme.join("action")).unwrap_or_default();
                    let pattern = scheme.join("access_pattern");
                    let range = |name: &str| {
                        json!({
                            "min": number(&pattern.join(name).join("min")),
                            "max": number(&pattern.join(name).join("max")),
                        })
                    };
                    let mut filters = Vec::new();
                    for kind in ["filters", "core_filters", "ops_filters"] {
                        for filter in numbered(&scheme.join(kind)) {
                            filters.push(json!({
                                "list": kind,
                                "type": read(&filter.join("type")),
                                "matching": read(&filter.join("matching")),
                                "allow": read(&filter.join("allow")),
                            }));
                        }
                    }
                    let quota_bytes = number(&scheme.join("quotas/bytes"));
                    let quota_ms = number(&scheme.join("quotas/ms"));
                    let reset_ms = number(&scheme.join("quotas/reset_interval_ms"));
                    let min_age = number(&pattern.join("age/min"));
                    let max_accesses = number(&pattern.join("nr_accesses/max"));
                    if state == "on" && action == "pageout" {
                        pageout.push(pageout_sentence(
                            &id,
                            pid.as_deref(),
                            &operations,
                            PageoutTerms {
                                min_age,
                                aggr_us,
                                max_accesses,
                                quota_bytes,
                                reset_ms,
                            },
                            &filters,
                        ));
                    }
                    schemes.push(json!({
                        "action": action,
                        "access_pattern": {
                            "sz_bytes": range("sz"),
                            "nr_accesses": range("nr_accesses"),
                            "age": range("age"),
                        },
                        "quotas": {
                            "bytes": quota_bytes,
                            "ms": quota_ms,
                            "reset_interval_ms": reset_ms,
                        },
                        "watermarks_metric": read(&scheme.join("watermarks/metric")),
                        "filters": filters,
                    }));
                }
                contexts.push(json!({
                    "operations": operations,
                    "sample_us": number(&intervals.join("sample_us")),
                    "aggr_us": aggr_us,
                    "schemes": schemes,
                }));
            }
            kdamonds.push(json!({
                "kdamond": id,
                "state": state,
                "pid": pid,
                "contexts": contexts,
            }));
        }
        let modules = DAMON_MODULES
            .iter()
            .filter_map(|name| {
                let enabled = read(&modules.join(name).join("parameters/enabled"))?;
                Some((name.to_string(), enabled))
            })
            .collect();
        Reclaimers {
            kdamonds,
            pageout,
            modules,
            unreadable,
        }
    }

    /// Whether some DAMON pageout scheme is running (a kdamond that is on
    /// with a pageout scheme, or DAMON_RECLAIM enabled).
    pub fn pageout_active(&self) -> bool {
        !self.pageout.is_empty() || self.modules.get("damon_reclaim").is_some_and(|v| v == "Y")
    }

    /// What the run found, in one sentence.
    pub fn describe(&self) -> String {
        let mut parts = self.pageout.clone();
        if self.modules.get("damon_reclaim").is_some_and(|v| v == "Y") {
            parts
                .push("the DAMON_RECLAIM module is enabled (it pages out memory left idle)".into());
        }
        if parts.is_empty() {
            match &self.unreadable {
                Some(why) => format!("no DAMON pageout scheme found: {why}"),
                None => "no DAMON pageout scheme is running".to_string(),
            }
        } else {
            parts.join("; ")
        }
    }

    /// For `params.reclaimers`.
    pub fn to_json(&self) -> Value {
        json!({
            "damon_pageout_active": self.pageout_active(),
            "description": self.describe(),
            "kdamonds": self.kdamonds,
            "damon_modules": self.modules,
            "unreadable": self.unreadable,
            "not_detectable": "a user-space agent that writes memory.reclaim (or calls madvise(MADV_PAGEOUT) on others) is not visible from here; its effect is, in the passes' resident_pages_before",
        })
    }
}

/// The numbers a pageout scheme acts on.
#[derive(Debug, Clone, Copy)]
struct PageoutTerms {
    min_age: Option<u64>,
    aggr_us: Option<u64>,
    max_accesses: Option<u64>,
    quota_bytes: Option<u64>,
    reset_ms: Option<u64>,
}

fn pageout_sentence(
    id: &str,
    pid: Option<&str>,
    operations: &str,
    terms: PageoutTerms,
    filters: &[Value],
) -> String {
    let idle = match (terms.min_age, terms.aggr_us) {
        (Some(age), Some(aggr)) => format!(
            "left with at most {} accesses per aggregation interval for {age} intervals of {} s ({} s)",
            terms
                .max_accesses
                .map_or("?".to_string(), |n| n.to_string()),
            aggr as f64 / 1e6,
            age as f64 * aggr as f64 / 1e6
        ),
        _ => "left idle".to_string(),
    };
    let quota = match (terms.quota_bytes, terms.reset_ms) {
        (Some(bytes), Some(ms)) if bytes > 0 => {
            format!(", at most {} per {} ms", mmlab_core::format_size(bytes), ms)
        }
        _ => String::new(),
    };
    let filters: Vec<String> = filters
        .iter()
        .filter_map(|f| {
            let kind = f["type"].as_str()?;
            let allowed = f["allow"].as_str() == Some("Y");
            let matching = f["matching"].as_str() != Some("N");
            Some(format!(
                "{}{kind} {}",
                if matching { "" } else { "non-" },
                if allowed { "allowed" } else { "excluded" }
            ))
        })
        .collect();
    format!(
        "DAMON kdamond {id} is on{} with a pageout scheme over {} memory: memory {idle} is paged out{quota}{}",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        if operations == "paddr" {
            "physical (paddr)".to_string()
        } else {
            operations.to_string()
        },
        if filters.is_empty() {
            String::new()
        } else {
            format!(" (filters: {})", filters.join(", "))
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, path: &str, value: &str) {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, format!("{value}\n")).unwrap();
    }

    #[test]
    fn a_kdamond_with_a_pageout_scheme_is_found_and_described() {
        let dir = tempfile::tempdir().unwrap();
        let admin = dir.path();
        write(admin, "nr_kdamonds", "1");
        write(admin, "0/state", "on");
        write(admin, "0/pid", "73");
        write(admin, "0/contexts/0/operations", "paddr");
        write(
            admin,
            "0/contexts/0/monitoring_attrs/intervals/aggr_us",
            "5000000",
        );
        write(
            admin,
            "0/contexts/0/monitoring_attrs/intervals/sample_us",
            "500000",
        );
        let scheme = "0/contexts/0/schemes/0";
        write(admin, &format!("{scheme}/action"), "pageout");
        write(admin, &format!("{scheme}/access_pattern/age/min"), "12");
        write(
            admin,
            &format!("{scheme}/access_pattern/nr_accesses/max"),
            "1",
        );
        write(admin, &format!("{scheme}/quotas/bytes"), "134217728");
        write(admin, &format!("{scheme}/quotas/reset_interval_ms"), "1000");
        write(admin, &format!("{scheme}/ops_filters/0/type"), "anon");
        write(admin, &format!("{scheme}/ops_filters/0/matching"), "Y");
        write(admin, &format!("{scheme}/ops_filters/0/allow"), "N");
        let found = Reclaimers::find_in(admin, &admin.join("no-modules"));
        assert!(found.pageout_active());
        let modules = admin.join("modules");
        write(&modules, "damon_reclaim/parameters/enabled", "Y");
        let with_module = Reclaimers::find_in(&admin.join("missing"), &modules);
        assert!(with_module.pageout_active());
        assert!(with_module.describe().contains("DAMON_RECLAIM"));
        let text = found.describe();
        assert!(text.contains("kdamond 0 is on (pid 73)"), "{text}");
        assert!(text.contains("physical (paddr)"), "{text}");
        assert!(text.contains("for 12 intervals of 5 s (60 s)"), "{text}");
        assert!(text.contains("at most 128 MiB per 1000 ms"), "{text}");
        assert!(text.contains("anon excluded"), "{text}");
        // Off, or another action: not a pageout scheme that acts.
        write(admin, "0/state", "off");
        assert!(!Reclaimers::find_in(admin, &admin.join("no-modules")).pageout_active());
        write(admin, "0/state", "on");
        write(admin, &format!("{scheme}/action"), "stat");
        assert!(!Reclaimers::find_in(admin, &admin.join("no-modules")).pageout_active());
        let none = Reclaimers::find_in(&admin.join("missing"), &admin.join("no-modules"));
        assert!(!none.pageout_active());
        assert!(none.describe().contains("not found"), "{}", none.describe());
    }
}
