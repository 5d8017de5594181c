//! Writing the class report: `index.html` (static, opens from disk and
//! fetches nothing, like the run report), `class.md`, `runs.csv`,
//! `numbers.csv` and the distribution figures in `figures/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use mmlab_core::Verdict;
use mmlab_plot::distribution::{self, Distribution};
use mmlab_plot::html::{anchor, escape, md_cell, page_head, page_tail, url_path, verdict_badge};
use rayon::prelude::*;

use super::analyse::{self, ClaimRow, NumberRow, OutlierRun};
use super::read::{Kind, ManifestState, Run, Skipped};

/// Rows of one distribution figure.
const ROWS_PER_FIGURE: usize = 25;

/// Everything the class report shows.
#[derive(Debug)]
pub struct Class<'a> {
    pub runs: &'a [Run],
    pub highlight: Option<usize>,
    pub skipped: &'a [Skipped],
    pub notes: &'a [String],
    pub claims: Vec<ClaimRow>,
    pub numbers: Vec<NumberRow>,
    pub outliers: Vec<OutlierRun>,
}

/// What was written.
#[derive(Debug)]
pub struct Output {
    pub html: PathBuf,
    pub markdown: PathBuf,
    pub runs_csv: PathBuf,
    pub figures: usize,
}

/// One figure: the experiment, its rows (indices into `numbers`), files.
#[derive(Debug)]
struct Figure {
    experiment: String,
    part: usize,
    parts: usize,
    rows: Vec<usize>,
    png: String,
}

fn short(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Holds => "H",
        Verdict::HoldsWithNuance => "N",
        Verdict::Refuted => "R",
        Verdict::NotMeasured => "-",
    }
}

fn claim_name((id, experiment, scenario): &analyse::ClaimKey) -> String {
    match scenario {
        Some(s) => format!("{id} ({experiment}, {s})"),
        None => format!("{id} ({experiment})"),
    }
}

fn number_name((_, series, metric): &analyse::NumberKey) -> String {
    format!("{series} · {metric}")
}

/// At most `max` characters of `text`, with an ellipsis when cut.
fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max - 1).collect::<String>() + "…"
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn cpu_model(run: &Run) -> String {
    format!(
        "{} ({} CPU(s))",
        run.env().cpu_model,
        run.env()
            .n_cpus
            .value()
            .map_or("?".to_string(), u64::to_string)
    )
}

/// The run's warnings by kind: `busy-machine (repeated-access)`, each once.
fn warning_kinds(run: &Run) -> Vec<String> {
    let mut kinds: Vec<String> = Vec::new();
    for (experiment, w) in run.warnings() {
        let text = format!("{} ({experiment})", w.kind);
        if !kinds.contains(&text) {
            kinds.push(text);
        }
    }
    kinds
}

/// Warnings that say the machine was busy or the data folder in memory.
fn is_machine_warning(kind: &str) -> bool {
    kind.starts_with("busy-machine")
        || kind.starts_with("memory-filesystem")
        || kind.starts_with("unstable")
        || kind.starts_with("noisy")
}

fn integrity(run: &Run) -> Vec<String> {
    let mut out = Vec::new();
    match &run.manifest {
        ManifestState::Failed(problems) => out.push(format!(
            "bundle fails its manifest: {}",
            problems.join("; ")
        )),
        ManifestState::Intact => {}
        ManifestState::NoManifest => {}
    }
    let mismatches = run.mismatches();
    if !mismatches.is_empty() {
        let tools = run.tool_versions();
        let this = mmlab_core::fingerprint::tool_version();
        let rule_change = if tools.iter().any(|t| *t != this) {
            format!(
                " (made by {}, judged by {this}: a change of the rules may explain it)",
                tools.join(", ")
            )
        } else {
            String::new()
        };
        out.push(format!(
            "verdicts do not match the samples: {}{rule_change}",
            mismatches
                .iter()
                .map(|(e, c)| format!(
                    "{} of {e} stored {}, its samples give {}",
                    c.id,
                    c.stored,
                    c.judged.map_or("nothing".to_string(), |v| v.to_string())
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    for error in &run.read_errors {
        out.push(format!("result file not used: {error}"));
    }
    out
}

fn manifest_text(run: &Run) -> &'static str {
    match (&run.kind, &run.manifest) {
        (_, ManifestState::Intact) => "intact",
        (_, ManifestState::Failed(_)) => "FAILED",
        (Kind::Folder, _) | (_, ManifestState::NoManifest) => "no manifest (a folder)",
    }
}

impl<'a> Class<'a> {
    pub fn new(
        runs: &'a [Run],
        highlight: Option<usize>,
        skipped: &'a [Skipped],
        notes: &'a [String],
    ) -> Class<'a> {
        let claims = analyse::claim_rows(runs);
        let numbers = analyse::number_rows(runs);
        let outliers = analyse::outlier_runs(runs, &numbers);
        Class {
            runs,
            highlight,
            skipped,
            notes,
            claims,
            numbers,
            outliers,
        }
    }

    fn outlying_numbers(&self, run: usize) -> usize {
        self.outliers
            .iter()
            .find(|o| o.run == run)
            .map_or(0, |o| o.numbers.len())
    }

    fn figures(&self) -> Vec<Figure> {
        let mut experiments: Vec<&str> = Vec::new();
        for row in &self.numbers {
            if !experiments.contains(&row.key.0.as_str()) {
                experiments.push(&row.key.0);
            }
        }
        let mut figures = Vec::new();
        for experiment in experiments {
            let rows: Vec<usize> = (0..self.numbers.len())
                .filter(|i| self.numbers[*i].key.0 == experiment)
                .collect();
            let parts = rows.len().div_ceil(ROWS_PER_FIGURE);
            for (part, chunk) in rows.chunks(ROWS_PER_FIGURE).enumerate() {
                let stem = mmlab_plot::figure_stem("class", &format!("{experiment}-{}", part + 1));
                figures.push(Figure {
                    experiment: experiment.to_string(),
                    part: part + 1,
                    parts,
                    rows: chunk.to_vec(),
                    png: format!("figures/{stem}.png"),
                });
            }
        }
        figures
    }

    fn draw(&self, figure: &Figure, out: &Path) -> anyhow::Result<()> {
        let rows = figure
            .rows
            .iter()
            .map(|i| {
                let n = &self.numbers[*i];
                distribution::Row {
                    label: number_name(&n.key),
                    values: n.values.clone(),
                    outliers: n.outliers.iter().map(|(r, _)| *r).collect(),
                    median: n.median,
                    q1: n.q1,
                    q3: n.q3,
                }
            })
            .collect();
        let d = Distribution {
            title: format!(
                "{}: headline numbers across {} runs{}",
                figure.experiment,
                self.runs.len(),
                if figure.parts > 1 {
                    format!(" (part {} of {})", figure.part, figure.parts)
                } else {
                    String::new()
                }
            ),
            subtitle:
                "mmap-lab class · each row: one summary's median per run, against the class median"
                    .to_string(),
            rows,
            highlight: self.highlight.map(|h| (h, self.runs[h].label.clone())),
        };
        let stem = out.join(figure.png.trim_end_matches(".png"));
        distribution::distribution(&d, &stem)?;
        Ok(())
    }

    pub fn write(&self, out: &Path) -> anyhow::Result<Output> {
        let figures_dir = out.join("figures");
        std::fs::create_dir_all(&figures_dir)
            .with_context(|| format!("cannot create {}", figures_dir.display()))?;
        let figures = self.figures();
        figures
            .par_iter()
            .map(|f| self.draw(f, out))
            .collect::<anyhow::Result<Vec<()>>>()?;
        let html = out.join("index.html");
        mmlab_core::io::write_atomic(&html, self.html(&figures).as_bytes())
            .with_context(|| format!("cannot write {}", html.display()))?;
        let markdown = out.join("class.md");
        mmlab_core::io::write_atomic(&markdown, self.markdown(&figures).as_bytes())
            .with_context(|| format!("cannot write {}", markdown.display()))?;
        let runs_csv = out.join("runs.csv");
        mmlab_core::io::write_atomic(&runs_csv, self.runs_csv().as_bytes())
            .with_context(|| format!("cannot write {}", runs_csv.display()))?;
        let numbers_csv = out.join("numbers.csv");
        mmlab_core::io::write_atomic(&numbers_csv, self.numbers_csv().as_bytes())
            .with_context(|| format!("cannot write {}", numbers_csv.display()))?;
        let absolute = |p: PathBuf| p.canonicalize().unwrap_or(p);
        Ok(Output {
            html: absolute(html),
            markdown: absolute(markdown),
            runs_csv: absolute(runs_csv),
            figures: figures.len(),
        })
    }

    fn runs_csv(&self) -> String {
        let rows: Vec<serde_json::Value> = self
            .runs
            .iter()
            .enumerate()
            .map(|(i, run)| {
                let env = run.env();
                let mut row = serde_json::Map::new();
                let mut put = |k: &str, v: serde_json::Value| {
                    row.insert(k.to_string(), v);
                };
                put("run", run.label.clone().into());
                put("source", run.source.display().to_string().into());
                put(
                    "kind",
                    match run.kind {
                        Kind::Bundle => "bundle",
                        Kind::Folder => "folder",
                    }
                    .into(),
                );
                put("kernel", env.kernel.clone().into());
                put("arch", env.arch.clone().into());
                put("cpu_model", env.cpu_model.clone().into());
                put(
                    "n_cpus",
                    env.n_cpus
                        .value()
                        .map_or(serde_json::Value::Null, |n| (*n).into()),
                );
                put("data_dir_fs", env.data_dir_fs.clone().into());
                put("thp_enabled", env.thp_enabled.clone().into());
                put("pmu", yes_no(env.pmu).into());
                put("root", yes_no(env.is_root).into());
                put("tool_version", run.tool_versions().join("; ").into());
                put("command_line", run.command_line.clone().into());
                put("warnings", warning_kinds(run).join("; ").into());
                put("manifest", manifest_text(run).into());
                put(
                    "verdicts_match_samples",
                    yes_no(run.mismatches().is_empty()).into(),
                );
                put("integrity", integrity(run).join(" | ").into());
                put("n_result_files", run.experiments.len().into());
                put("n_outlying_numbers", self.outlying_numbers(i).into());
                for claim in &self.claims {
                    put(
                        &claim_name(&claim.key),
                        claim.cells[i]
                            .as_ref()
                            .map_or(serde_json::Value::Null, |c| c.stored.as_str().into()),
                    );
                }
                serde_json::Value::Object(row)
            })
            .collect();
        mmlab_core::io::samples_csv(&rows)
    }

    /// One row per (run, number): 370,000 rows for 300 runs, so written
    /// directly rather than through JSON rows.
    fn numbers_csv(&self) -> String {
        let field = |text: &str| {
            if text.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text.to_string()
            }
        };
        let mut out = String::from(
            "run,experiment,series,metric,value,class_median,ratio_to_median,outlier\n",
        );
        for row in &self.numbers {
            let (experiment, series, metric) = &row.key;
            let prefix = format!(
                ",{},{},{},",
                field(experiment),
                field(series),
                field(metric)
            );
            for (run, value) in &row.values {
                let ratio = if row.median != 0.0 {
                    format!("{}", value / row.median)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "{}{prefix}{value},{},{ratio},{}",
                    field(&self.runs[*run].label),
                    row.median,
                    yes_no(row.outliers.iter().any(|(r, _)| r == run))
                );
            }
        }
        out
    }

    fn kernels(&self) -> String {
        let mut versions: Vec<(f64, String)> = self
            .runs
            .iter()
            .filter_map(|r| analyse::kernel_version(&r.env().kernel))
            .collect();
        versions.sort_by(|a, b| a.0.total_cmp(&b.0));
        versions.dedup_by(|a, b| a.0 == b.0);
        match (versions.first(), versions.last()) {
            (Some(a), Some(b)) if a.0 != b.0 => format!("Linux {} to {}", a.1, b.1),
            (Some(a), _) => format!("Linux {}", a.1),
            _ => "unknown kernels".to_string(),
        }
    }

    /// "1 input(s) skipped, 2 run(s) flagged (...), 1 run(s) with a result
    /// file that could not be read": the counts the command's last lines give.
    fn problem_counts(&self) -> String {
        let flagged = self
            .runs
            .iter()
            .filter(|r| {
                matches!(r.manifest, ManifestState::Failed(_)) || !r.mismatches().is_empty()
            })
            .count();
        let unreadable = self
            .runs
            .iter()
            .filter(|r| !r.read_errors.is_empty())
            .count();
        format!(
            "{} input(s) skipped, {flagged} run(s) flagged (a bundle that fails its manifest, or verdicts that do not match the samples), {unreadable} run(s) with a result file that could not be read",
            self.skipped.len()
        )
    }

    fn flagged(&self) -> Vec<(usize, Vec<String>)> {
        self.runs
            .iter()
            .enumerate()
            .map(|(i, r)| (i, integrity(r)))
            .filter(|(_, problems)| !problems.is_empty())
            .collect()
    }

    fn separation_text(row: &ClaimRow, runs: &[Run]) -> String {
        let Some(s) = &row.separation else {
            return String::new();
        };
        let mut text = if !s.exact.is_empty() {
            format!("separated by {}", s.exact.join("; or by "))
        } else if let Some((words, explained, n, wrong)) = &s.best {
            format!(
                "no fingerprint field separates them; the closest: {words}, which explains {explained} of {n} runs (not: {})",
                wrong
                    .iter()
                    .take(10)
                    .map(|i| runs[*i].label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else if !s.minority.is_empty() {
            format!(
                "no fingerprint field separates them (in every group of every field most runs have the most common verdict); the runs with another verdict: {}",
                s.minority
                    .iter()
                    .take(10)
                    .map(|i| runs[*i].label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            "the runs whose verdicts follow from their samples agree".to_string()
        };
        if s.left_out > 0 {
            let _ = write!(
                text,
                " ({} run(s) whose stored verdict does not follow from its samples left out)",
                s.left_out
            );
        }
        text
    }

    fn html(&self, figures: &[Figure]) -> String {
        let runs = self.runs;
        let mut page = page_head(&format!("mmap-lab class: {} runs", runs.len()));
        page.push_str(
            "<style>\n\
             .scroll { overflow-x: auto; max-width: 100%; }\n\
             table.matrix { border-collapse: collapse; font-size: 0.8em; }\n\
             table.matrix td.c { width: 9px; min-width: 9px; height: 16px; padding: 0; border: 1px solid #fff; }\n\
             table.matrix td.c.holds { background: #2da44e; }\n\
             table.matrix td.c.holds-with-nuance { background: #d4a72c; }\n\
             table.matrix td.c.refuted { background: #cf222e; }\n\
             table.matrix td.c.not-measured { background: #afb8c1; }\n\
             table.matrix td.c.none { background: #fff; }\n\
             table.matrix td.c.mismatch { outline: 2px solid #000; outline-offset: -2px; }\n\
             table.matrix td.c.hl { border-left: 2px solid #0969da; border-right: 2px solid #0969da; }\n\
             table.matrix th.name { white-space: nowrap; text-align: left; font-weight: normal; }\n\
             tr.hl td { background: #ddf4ff; }\n\
             table.runs { font-size: 0.8em; }\n\
             div.tall { max-height: 640px; overflow-y: auto; }\n\
             table.runs td { white-space: nowrap; padding: 0.15em 0.4em; }\n\
             .flag { color: #a40e26; font-weight: bold; }\n\
             </style>\n",
        );
        let _ = writeln!(page, "<h1>mmap-lab class: {} runs</h1>", runs.len());
        let n_bundles = runs.iter().filter(|r| r.kind == Kind::Bundle).count();
        let flagged = self.flagged();
        let _ = writeln!(
            page,
            "<p>{} run(s) read ({} bundle(s), {} folder(s)), {}; {}. Read and judged again by {}.</p>",
            runs.len(),
            n_bundles,
            runs.len() - n_bundles,
            escape(&self.kernels()),
            escape(&self.problem_counts()),
            escape(&mmlab_core::fingerprint::tool_version())
        );
        if let Some(h) = self.highlight {
            let _ = writeln!(
                page,
                "<p>Run <b>{}</b> is marked in every figure (a blue diamond) and in every table; its feedback is in <a href=\"#highlight\">its own section</a>.</p>",
                escape(&runs[h].label)
            );
        }
        page.push_str("<nav><ul><li><a href=\"#integrity\">Integrity</a></li><li><a href=\"#runs\">Runs</a></li><li><a href=\"#verdicts\">Verdicts per claim</a></li><li><a href=\"#matrix\">Verdict matrix</a></li><li><a href=\"#outliers\">Outlying runs</a></li><li><a href=\"#numbers\">Headline numbers</a></li>");
        if self.highlight.is_some() {
            page.push_str("<li><a href=\"#highlight\">Feedback for the marked run</a></li>");
        }
        page.push_str("<li><a href=\"#rules\">How this is decided</a></li></ul></nav>\n");

        // Integrity.
        page.push_str("<section id=\"integrity\"><h2>Integrity</h2>\n");
        if flagged.is_empty() && self.skipped.is_empty() {
            page.push_str("<p>Every input was read, every bundle matches its manifest and every run's verdicts follow from its samples.</p>\n");
        }
        for s in self.skipped {
            let _ = writeln!(
                page,
                "<div class=\"problem\">Skipped <code>{}</code>: {}</div>",
                escape(&s.source.display().to_string()),
                escape(&s.reason)
            );
        }
        for (i, problems) in &flagged {
            for problem in problems {
                let _ = writeln!(
                    page,
                    "<div class=\"problem\"><b>{}</b> (<code>{}</code>): {}</div>",
                    escape(&runs[*i].label),
                    escape(&runs[*i].source.display().to_string()),
                    escape(problem)
                );
            }
        }
        for note in self.notes {
            let _ = writeln!(page, "<div class=\"warning\">{}</div>", escape(note));
        }
        page.push_str("</section>\n");

        // Runs.
        page.push_str("<section id=\"runs\"><h2>Runs</h2>\n<p class=\"muted\">Warnings in bold say the machine was busy or the data folder in memory; hover a cell for all of a run's warnings, or the whole CPU name. The integrity problems are spelled out <a href=\"#integrity\">above</a>.</p>\n<div class=\"scroll tall\"><table class=\"runs\">\n<tr><th>#</th><th>Run</th><th>Kernel</th><th>Arch</th><th>CPU</th><th>fs</th><th>THP</th><th>PMU</th><th>Root</th><th>Tool version</th><th>Warnings</th><th>Outlying numbers</th><th>Integrity</th></tr>\n");
        for (i, run) in runs.iter().enumerate() {
            let env = run.env();
            let class = if Some(i) == self.highlight {
                " class=\"hl\""
            } else {
                ""
            };
            let kinds = warning_kinds(run);
            let machine: Vec<String> = kinds
                .iter()
                .filter(|w| is_machine_warning(w))
                .map(|w| format!("<b>{}</b>", escape(w)))
                .collect();
            let others = kinds.len() - machine.len();
            let mut warnings = machine.join(", ");
            if others > 0 {
                if !warnings.is_empty() {
                    warnings.push_str(", ");
                }
                let _ = write!(warnings, "{others} other");
            }
            let problems = integrity(run);
            let integrity_cell = if problems.is_empty() {
                manifest_text(run).to_string()
            } else {
                let mut short = Vec::new();
                if matches!(run.manifest, ManifestState::Failed(_)) {
                    short.push("manifest FAILED");
                }
                if !run.mismatches().is_empty() {
                    short.push("verdicts do not match the samples");
                }
                if !run.read_errors.is_empty() {
                    short.push("a result file unreadable");
                }
                format!(
                    "<span class=\"flag\" title=\"{}\">{}</span>",
                    escape(&problems.join(" | ")),
                    short.join(", ")
                )
            };
            let cpu = cpu_model(run);
            let _ = writeln!(
                page,
                "<tr{class} id=\"run-{}\"><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td title=\"{}\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                i + 1,
                i + 1,
                escape(&run.label),
                escape(&env.kernel),
                escape(&env.arch),
                escape(&cpu),
                escape(&ellipsis(&cpu, 28)),
                escape(&env.data_dir_fs),
                escape(&env.thp_enabled),
                yes_no(env.pmu),
                yes_no(env.is_root),
                escape(&run.tool_versions().join(", ")),
                escape(&kinds.join(", ")),
                warnings,
                self.outlying_numbers(i),
                integrity_cell
            );
        }
        page.push_str("</table></div></section>\n");

        // Verdicts per claim.
        page.push_str("<section id=\"verdicts\"><h2>Verdicts per claim</h2>\n<p class=\"muted\">Stored verdicts, counted over the runs that judged the claim. Where they differ, the fingerprint fields (of the experiment's own result file) that split the runs into groups of one verdict each.</p>\n<table>\n<tr><th>Claim</th><th>Count of each verdict</th><th>What separates the runs</th></tr>\n");
        for row in &self.claims {
            let counts: Vec<String> = row
                .counts
                .iter()
                .map(|(v, n)| format!("{} {n}", verdict_badge(*v)))
                .collect();
            let class = if row.counts.len() > 1 {
                " class=\"changed\""
            } else {
                ""
            };
            let _ = writeln!(
                page,
                "<tr{class}><td><b>{}</b> <span class=\"muted\">{}</span></td><td>{}</td><td>{}</td></tr>",
                escape(&row.key.0),
                escape(claim_name(&row.key).trim_start_matches(&row.key.0)),
                counts.join(" "),
                escape(&Self::separation_text(row, runs))
            );
        }
        page.push_str("</table></section>\n");

        // The matrix.
        page.push_str("<section id=\"matrix\"><h2>Verdict matrix</h2>\n<p class=\"muted\">One row per claim, one column per run (in the order of the runs table; hover for the run). <span class=\"verdict v-holds\">holds</span> green, <span class=\"verdict v-holds-with-nuance\">holds-with-nuance</span> amber, <span class=\"verdict v-refuted\">refuted</span> red, <span class=\"verdict v-not-measured\">not-measured</span> grey, white: no result. A black outline: the stored verdict does not follow from the run's samples. The marked run's column is framed in blue.</p>\n<div class=\"scroll\"><table class=\"matrix\">\n");
        for row in &self.claims {
            let _ = write!(
                page,
                "<tr><th class=\"name\">{}</th>",
                escape(&claim_name(&row.key))
            );
            for (i, cell) in row.cells.iter().enumerate() {
                let hl = if Some(i) == self.highlight { " hl" } else { "" };
                match cell {
                    Some(c) => {
                        let mismatch = if c.consistent() { "" } else { " mismatch" };
                        let _ = write!(
                            page,
                            "<td class=\"c {}{mismatch}{hl}\" title=\"{}: {}{}\"></td>",
                            c.stored.as_str(),
                            escape(&runs[i].label),
                            c.stored.as_str(),
                            if c.consistent() {
                                String::new()
                            } else {
                                format!(
                                    " (its samples give {})",
                                    c.judged.map_or("nothing".to_string(), |v| v.to_string())
                                )
                            }
                        );
                    }
                    None => {
                        let _ = write!(
                            page,
                            "<td class=\"c none{hl}\" title=\"{}: no result\"></td>",
                            escape(&runs[i].label)
                        );
                    }
                }
            }
            page.push_str("</tr>\n");
        }
        page.push_str("</table></div></section>\n");

        // Outlying runs.
        page.push_str("<section id=\"outliers\"><h2>Outlying runs</h2>\n");
        if self.outliers.is_empty() {
            page.push_str("<p>No run is an outlier in any headline number.</p>\n");
        } else {
            page.push_str("<div class=\"scroll tall\"><table>\n<tr><th>Run</th><th>Outlying numbers</th><th>The farthest (value; class median)</th><th>Likely causes</th></tr>\n");
            for o in &self.outliers {
                let class = if Some(o.run) == self.highlight {
                    " class=\"hl\""
                } else {
                    ""
                };
                let farthest: Vec<String> = o
                    .numbers
                    .iter()
                    .take(3)
                    .map(|(n, value, _)| {
                        let row = &self.numbers[*n];
                        format!(
                            "{} {}: {} ({})",
                            escape(&row.key.0),
                            escape(&number_name(&row.key)),
                            mmlab_plot::scale::format_number(*value),
                            mmlab_plot::scale::format_number(row.median)
                        )
                    })
                    .collect();
                let _ = writeln!(
                    page,
                    "<tr{class}><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&self.runs[o.run].label),
                    o.numbers.len(),
                    farthest.join("<br>"),
                    o.causes
                        .iter()
                        .map(|c| escape(c))
                        .collect::<Vec<_>>()
                        .join("<br>")
                );
            }
            page.push_str("</table></div>\n");
        }
        page.push_str("</section>\n");

        // Numbers.
        page.push_str("<section id=\"numbers\"><h2>Headline numbers</h2>\n<p class=\"muted\">Every summary of every experiment (the medians <code>mmlab compare</code> puts side by side), one row each: a dot per run against the class median, the box the interquartile range, red the outliers.</p>\n");
        let mut current = String::new();
        for figure in figures {
            if figure.experiment != current {
                if !current.is_empty() {
                    page.push_str("</section>\n");
                }
                current = figure.experiment.clone();
                let _ = writeln!(
                    page,
                    "<section id=\"numbers-{}\"><h3>{}</h3>",
                    anchor(&current),
                    escape(&current)
                );
            }
            let _ = writeln!(
                page,
                "<figure><img src=\"{}\" alt=\"{} part {}\"></figure>",
                url_path(&figure.png),
                escape(&figure.experiment),
                figure.part
            );
            page.push_str("<details><summary>The numbers of this figure</summary><table>\n<tr><th>Number</th><th>Runs</th><th>Median</th><th>IQR</th><th>Outliers</th></tr>\n");
            for i in &figure.rows {
                let row = &self.numbers[*i];
                let outliers: Vec<String> = row
                    .outliers
                    .iter()
                    .map(|(r, _)| escape(&runs[*r].label))
                    .collect();
                let _ = writeln!(
                    page,
                    "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{} – {}</td><td>{}</td></tr>",
                    escape(&number_name(&row.key)),
                    row.values.len(),
                    mmlab_plot::scale::format_number(row.median),
                    mmlab_plot::scale::format_number(row.q1),
                    mmlab_plot::scale::format_number(row.q3),
                    outliers.join(", ")
                );
            }
            page.push_str("</table></details>\n");
        }
        if !current.is_empty() {
            page.push_str("</section>\n");
        }
        page.push_str("</section>\n");

        if let Some(h) = self.highlight {
            page.push_str("<section id=\"highlight\"><h2>Feedback for the marked run</h2>\n");
            page.push_str(&self.feedback(h, true));
            page.push_str("</section>\n");
        }
        page.push_str("<section id=\"rules\"><h2>How this is decided</h2>\n<ul>\n");
        for rule in rules() {
            let _ = writeln!(page, "<li>{}</li>", escape(&rule));
        }
        page.push_str("</ul></section>\n");
        page.push_str(page_tail());
        page
    }

    /// Feedback for one run: its integrity, the verdicts where it is in the
    /// minority, its outlying numbers.
    fn feedback(&self, run: usize, html: bool) -> String {
        let r = &self.runs[run];
        let mut lines: Vec<String> = Vec::new();
        let env = r.env();
        lines.push(format!(
            "{}: Linux {} on {}, data folder on {}, THP {}, PMU {}, root {}",
            r.label,
            env.kernel,
            cpu_model(r),
            env.data_dir_fs,
            env.thp_enabled,
            yes_no(env.pmu),
            yes_no(env.is_root)
        ));
        for problem in integrity(r) {
            lines.push(format!("Integrity: {problem}"));
        }
        for row in &self.claims {
            let Some(cell) = &row.cells[run] else {
                continue;
            };
            let (majority, n) = row
                .counts
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(v, n)| (*v, *n))
                .unwrap_or((cell.stored, 0));
            if cell.stored != majority {
                lines.push(format!(
                    "{}: {} here, {} in {n} of {} runs",
                    claim_name(&row.key),
                    cell.stored,
                    majority,
                    row.cells.iter().flatten().count()
                ));
            }
        }
        if let Some(o) = self.outliers.iter().find(|o| o.run == run) {
            lines.push(format!(
                "Outlier in {} headline number(s); likely causes: {}",
                o.numbers.len(),
                o.causes.join("; ")
            ));
            for (n, value, _) in o.numbers.iter().take(10) {
                let row = &self.numbers[*n];
                lines.push(format!(
                    "{} {}: {} (class median {}, IQR {} – {})",
                    row.key.0,
                    number_name(&row.key),
                    mmlab_plot::scale::format_number(*value),
                    mmlab_plot::scale::format_number(row.median),
                    mmlab_plot::scale::format_number(row.q1),
                    mmlab_plot::scale::format_number(row.q3)
                ));
            }
        } else {
            lines.push("Not an outlier in any headline number.".to_string());
        }
        if html {
            let mut out = String::from("<ul>\n");
            for line in lines {
                let _ = writeln!(out, "<li>{}</li>", escape(&line));
            }
            out.push_str("</ul>\n");
            out
        } else {
            lines.iter().map(|l| format!("- {l}\n")).collect()
        }
    }

    fn markdown(&self, figures: &[Figure]) -> String {
        let runs = self.runs;
        let mut md = String::new();
        let flagged = self.flagged();
        let _ = writeln!(md, "# mmap-lab class: {} runs\n", runs.len());
        let _ = writeln!(
            md,
            "{} run(s) read, {}; {}. Read and judged again by {}.\n",
            runs.len(),
            self.kernels(),
            self.problem_counts(),
            mmlab_core::fingerprint::tool_version()
        );
        md.push_str("## Integrity\n\n");
        if flagged.is_empty() && self.skipped.is_empty() {
            md.push_str("Every input was read, every bundle matches its manifest and every run's verdicts follow from its samples.\n");
        }
        for s in self.skipped {
            let _ = writeln!(md, "- Skipped `{}`: {}", s.source.display(), s.reason);
        }
        for (i, problems) in &flagged {
            for problem in problems {
                let _ = writeln!(
                    md,
                    "- **{}** (`{}`): {problem}",
                    runs[*i].label,
                    runs[*i].source.display()
                );
            }
        }
        for note in self.notes {
            let _ = writeln!(md, "- {note}");
        }
        md.push_str("\n## Runs\n\n| # | Run | Kernel | Arch | CPU | fs | THP | PMU | Root | Tool | Warnings | Outlying numbers | Integrity |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (i, run) in runs.iter().enumerate() {
            let env = run.env();
            let problems = integrity(run);
            let _ = writeln!(
                md,
                "| {} | {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                i + 1,
                md_cell(&run.label),
                if Some(i) == self.highlight {
                    " (marked)"
                } else {
                    ""
                },
                md_cell(&env.kernel),
                env.arch,
                md_cell(&cpu_model(run)),
                env.data_dir_fs,
                env.thp_enabled,
                yes_no(env.pmu),
                yes_no(env.is_root),
                md_cell(&run.tool_versions().join(", ")),
                md_cell(&warning_kinds(run).join(", ")),
                self.outlying_numbers(i),
                if problems.is_empty() {
                    manifest_text(run).to_string()
                } else {
                    format!("**{}**", md_cell(&problems.join(" | ")))
                }
            );
        }
        md.push_str("\n## Verdicts per claim\n\n| Claim | Count of each verdict | What separates the runs |\n|---|---|---|\n");
        for row in &self.claims {
            let counts: Vec<String> = row.counts.iter().map(|(v, n)| format!("{v} {n}")).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                md_cell(&claim_name(&row.key)),
                counts.join(", "),
                md_cell(&Self::separation_text(row, runs))
            );
        }
        md.push_str("\n## Verdict matrix\n\nOne row per run, one column per claim: H holds, N holds-with-nuance, R refuted, - not-measured, blank no result; `!` after a verdict: it does not follow from the run's samples.\n\n| Run |");
        for row in &self.claims {
            let _ = write!(md, " {} |", md_cell(&row.key.0));
        }
        md.push_str("\n|---|");
        for _ in &self.claims {
            md.push_str("---|");
        }
        md.push('\n');
        for (i, run) in runs.iter().enumerate() {
            let _ = write!(md, "| {} |", md_cell(&run.label));
            for row in &self.claims {
                match &row.cells[i] {
                    Some(c) => {
                        let _ = write!(
                            md,
                            " {}{} |",
                            short(c.stored),
                            if c.consistent() { "" } else { "!" }
                        );
                    }
                    None => md.push_str("  |"),
                }
            }
            md.push('\n');
        }
        md.push_str("\nColumns: ");
        md.push_str(
            &self
                .claims
                .iter()
                .map(|r| claim_name(&r.key))
                .collect::<Vec<_>>()
                .join("; "),
        );
        md.push_str(".\n\n## Outlying runs\n\n");
        if self.outliers.is_empty() {
            md.push_str("No run is an outlier in any headline number.\n");
        } else {
            md.push_str("| Run | Outlying numbers | The farthest (value; class median) | Likely causes |\n|---|---|---|---|\n");
            for o in &self.outliers {
                let farthest: Vec<String> = o
                    .numbers
                    .iter()
                    .take(3)
                    .map(|(n, value, _)| {
                        let row = &self.numbers[*n];
                        format!(
                            "{} {}: {} ({})",
                            row.key.0,
                            number_name(&row.key),
                            mmlab_plot::scale::format_number(*value),
                            mmlab_plot::scale::format_number(row.median)
                        )
                    })
                    .collect();
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} |",
                    md_cell(&runs[o.run].label),
                    o.numbers.len(),
                    md_cell(&farthest.join("; ")),
                    md_cell(&o.causes.join("; "))
                );
            }
        }
        md.push_str("\n## Headline numbers\n");
        let mut current = String::new();
        for figure in figures {
            if figure.experiment != current {
                current = figure.experiment.clone();
                let _ = writeln!(md, "\n### {current}\n");
            }
            let _ = writeln!(
                md,
                "![{} part {}]({})\n",
                figure.experiment,
                figure.part,
                url_path(&figure.png)
            );
            md.push_str("| Number | Runs | Median | IQR | Outliers |\n|---|---|---|---|---|\n");
            for i in &figure.rows {
                let row = &self.numbers[*i];
                let outliers: Vec<&str> = row
                    .outliers
                    .iter()
                    .map(|(r, _)| runs[*r].label.as_str())
                    .collect();
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} – {} | {} |",
                    md_cell(&number_name(&row.key)),
                    row.values.len(),
                    mmlab_plot::scale::format_number(row.median),
                    mmlab_plot::scale::format_number(row.q1),
                    mmlab_plot::scale::format_number(row.q3),
                    md_cell(&outliers.join(", "))
                );
            }
            md.push('\n');
        }
        if let Some(h) = self.highlight {
            md.push_str("\n## Feedback for the marked run\n\n");
            md.push_str(&self.feedback(h, false));
        }
        md.push_str("\n## How this is decided\n\n");
        for rule in rules() {
            let _ = writeln!(md, "- {rule}");
        }
        md
    }
}

fn rules() -> Vec<String> {
    vec![
        format!("Outliers: {}.", analyse::OUTLIER_RULE),
        "Likely causes of an outlying run: a bundle that fails its manifest, verdicts that do not follow from its samples, the warnings of the experiments whose numbers are out that at most 10% of the runs have (a warning every run has explains nothing), and the fingerprint fields (kernel, data folder filesystem, THP, PMU, root, arch, CPUs, page size, CPU model) whose value at most 10% of the runs share.".to_string(),
        "What separates the runs of a claim: over the runs whose stored verdict follows from their samples, a fingerprint field of the experiment's result file (kernel version, data folder filesystem, THP, PMU, root, arch, CPUs, page size, fault_around_bytes, tracefs, perf_event_paranoid, protection keys, CPU model, THP defrag) after which every group has one verdict: for numbers (the kernel's major.minor, CPUs) one threshold, for text at most 6 values. A field the class shares explains nothing and is not shown; several that separate are all listed, those with fewest groups first; if none does, the one that explains the most runs, with the runs it does not.".to_string(),
        "Verdicts do not match the samples: every result file is judged again by this mmlab's rules from the file alone (as `mmlab judge` does); a stored verdict that differs is flagged. A run made by another tool version may differ because the rules changed; the flag then names both versions.".to_string(),
        "A bundle fails its manifest when a file's SHA-256 differs from the one recorded when it was bundled, a listed file is missing, or a file was added (`mmlab bundle --verify` names them).".to_string(),
        "Headline numbers: the median of every summary in every result file (what `mmlab compare` puts side by side); a number's quartiles and median are over the runs that have it.".to_string(),
    ]
}
