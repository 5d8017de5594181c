//! The report of one results folder: `index.html` (static, opens from disk,
//! loads nothing from a network) and `report.md` beside it, figures in
//! `figures/`. It has a table of every claim with its verdict, evidence and
//! figure; a section per experiment with its figures and how to read them,
//! parameters, warnings and summaries; the machine's fingerprint; the
//! counters this machine could not read and how to enable them; and every
//! file or figure that could not be used.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use mmlab_core::ResultFile;

use crate::html::{
    anchor, claim_order, counter_remedy, escape, fingerprint_rows, md_cell, page_head, page_tail,
    param_text, relative_to, statement, unavailable_counters, url_path, verdict_badge,
    verdict_counts,
};
use crate::{Rendered, render_figures, verify};

/// What a report is made of.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The folder the results were read from (shown, and linked from).
    pub results_dir: &'a Path,
    pub results: &'a [(PathBuf, ResultFile)],
    /// One line per result file that could not be used (file and field).
    pub read_errors: &'a [String],
    /// The question of each experiment id, where the caller knows it.
    pub questions: &'a BTreeMap<String, String>,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct ReportOutput {
    pub html: PathBuf,
    pub markdown: PathBuf,
    pub figures: Vec<Rendered>,
    /// Figures that could not be drawn as declared, or whose files did not
    /// pass [`verify`]; each also appears in the report.
    pub problems: Vec<String>,
    /// The figure files among those that are not a valid PNG or SVG (a bug
    /// of this crate, not of the data).
    pub invalid_files: Vec<String>,
}

/// Renders every figure into `<out_dir>/figures/`, checks each file, and
/// writes `<out_dir>/index.html` and `<out_dir>/report.md`.
pub fn write_report(input: &ReportInput, out_dir: &Path) -> anyhow::Result<ReportOutput> {
    let figures_dir = out_dir.join("figures");
    let figures = render_figures(input.results, &figures_dir)?;
    let (mut problems, invalid_files) = figure_problems(&figures);
    for (_, result) in input.results {
        problems.extend(crate::guides::stray(result));
    }
    let html_path = out_dir.join("index.html");
    let markdown_path = out_dir.join("report.md");
    let html = html(input, out_dir, &figures, &problems);
    mmlab_core::io::write_atomic(&html_path, html.as_bytes())
        .with_context(|| format!("cannot write {}", html_path.display()))?;
    let markdown = markdown(input, &figures, &problems);
    mmlab_core::io::write_atomic(&markdown_path, markdown.as_bytes())
        .with_context(|| format!("cannot write {}", markdown_path.display()))?;
    Ok(ReportOutput {
        html: html_path,
        markdown: markdown_path,
        figures,
        problems,
        invalid_files,
    })
}

/// Figures not drawn as declared and files that are not a valid PNG or
/// SVG (all problems), and the latter alone.
pub fn figure_problems(figures: &[Rendered]) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut invalid = Vec::new();
    for figure in figures {
        if let Some(problem) = &figure.drawn.problem {
            problems.push(problem.clone());
        }
        if let Err(e) = verify::png(&figure.drawn.png) {
            invalid.push(format!("{e:#}"));
        }
        if let Err(e) = verify::svg(&figure.drawn.svg) {
            invalid.push(format!("{e:#}"));
        }
    }
    problems.extend(invalid.iter().cloned());
    (problems, invalid)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `figures/<file>` as a link target.
fn figure_link(path: &Path) -> String {
    url_path(&format!("figures/{}", file_name(path)))
}

fn figure_anchor(figure: &Rendered) -> String {
    format!(
        "fig-{}",
        anchor(file_name(&figure.drawn.png).trim_end_matches(".png"))
    )
}

/// A machine fingerprint as (field, value) rows, and the experiments run on it.
type FingerprintGroup<'a> = (Vec<(String, String)>, Vec<&'a str>);

/// One experiment's verdict on a claim, with the figures that show it.
struct Judgement<'a> {
    experiment: &'a str,
    claim: &'a mmlab_core::Claim,
    figures: Vec<&'a Rendered>,
}

/// One row of the claims table: one claim id, its combined verdict, and
/// each experiment's verdict under it (most claims have one).
struct ClaimRow<'a> {
    id: &'a str,
    statement: String,
    verdict: mmlab_core::Verdict,
    judgements: Vec<Judgement<'a>>,
}

impl ClaimRow<'_> {
    fn figures(&self) -> Vec<&Rendered> {
        self.judgements
            .iter()
            .flat_map(|j| j.figures.iter().copied())
            .collect()
    }

    fn experiments(&self) -> Vec<&str> {
        self.judgements.iter().map(|j| j.experiment).collect()
    }
}

fn claim_rows<'a>(
    results: &'a [(PathBuf, ResultFile)],
    figures: &'a [Rendered],
) -> Vec<ClaimRow<'a>> {
    let mut judgements: Vec<Judgement> = results
        .iter()
        .flat_map(|(_, result)| {
            result.claims.iter().map(move |claim| Judgement {
                experiment: &result.experiment,
                claim,
                figures: figures
                    .iter()
                    .filter(|f| {
                        f.experiment == result.experiment && f.spec.claims.contains(&claim.id)
                    })
                    .collect(),
            })
        })
        .collect();
    judgements.sort_by(|a, b| {
        claim_order(&a.claim.id)
            .cmp(&claim_order(&b.claim.id))
            .then(a.experiment.cmp(b.experiment))
    });
    let mut rows: Vec<ClaimRow> = Vec::new();
    for judgement in judgements {
        match rows.last_mut() {
            Some(row) if row.id == judgement.claim.id => row.judgements.push(judgement),
            _ => rows.push(ClaimRow {
                id: &judgement.claim.id,
                statement: statement(&judgement.claim.id, &judgement.claim.statement),
                verdict: judgement.claim.verdict,
                judgements: vec![judgement],
            }),
        }
    }
    for row in &mut rows {
        row.verdict = mmlab_core::Verdict::combined(row.judgements.iter().map(|j| j.claim.verdict));
    }
    rows
}

/// Registry claims no result in the folder has a verdict for.
fn uncovered_claims(results: &[(PathBuf, ResultFile)]) -> Vec<&'static str> {
    mmlab_core::CLAIMS
        .iter()
        .map(|c| c.id)
        .filter(|id| {
            !results
                .iter()
                .any(|(_, r)| r.claims.iter().any(|c| c.id == *id))
        })
        .collect()
}

fn html(input: &ReportInput, out_dir: &Path, figures: &[Rendered], problems: &[String]) -> String {
    let results = input.results;
    let mut page = page_head("mmap-lab report");
    let n_claims: usize = results.iter().map(|(_, r)| r.claims.len()).sum();
    let _ = writeln!(
        page,
        "<h1>mmap-lab report: what this kernel says about the notes</h1>"
    );
    let _ = writeln!(
        page,
        "<p class=\"muted\">Results from <code>{}</code>: {} result file(s), {} figure(s), {} claim verdict(s) ({}). Everything here is rendered from the JSON result files alone.</p>",
        escape(&input.results_dir.display().to_string()),
        results.len(),
        figures.len(),
        n_claims,
        escape(&verdict_counts(
            results
                .iter()
                .flat_map(|(_, r)| r.claims.iter().map(|c| c.verdict))
        )),
    );
    page.push_str("<nav><ul>\n<li><a href=\"#claims\">Claims and verdicts</a></li>\n");
    for (_, result) in results {
        let _ = writeln!(
            page,
            "<li><a href=\"#exp-{}\">{}</a></li>",
            anchor(&result.experiment),
            escape(&result.experiment)
        );
    }
    page.push_str("<li><a href=\"#machine\">This machine</a></li>\n<li><a href=\"#counters\">Counters not read</a></li>\n<li><a href=\"#warnings\">Warnings</a></li>\n<li><a href=\"#problems\">Problems</a></li>\n</ul></nav>\n");
    if !input.read_errors.is_empty() || !problems.is_empty() {
        let _ = writeln!(
            page,
            "<p class=\"problem\">{} result file(s) could not be read and {} figure problem(s) were found: see <a href=\"#problems\">Problems</a>.</p>",
            input.read_errors.len(),
            problems.len()
        );
    }

    // Claims table.
    page.push_str("<section id=\"claims\">\n<h2>Claims and verdicts</h2>\n");
    page.push_str("<p>Each verdict is computed by the experiment's code from the numbers of its own run; the evidence sentence gives those numbers. <span class=\"verdict v-holds\">holds</span> the notes are right here; <span class=\"verdict v-holds-with-nuance\">holds-with-nuance</span> right, with a detail the notes leave out; <span class=\"verdict v-refuted\">refuted</span> this kernel does otherwise; <span class=\"verdict v-not-measured\">not-measured</span> this machine could not measure it (the evidence says why and how to enable it).</p>\n");
    page.push_str("<table>\n<tr><th>Claim</th><th>The notes say</th><th>Verdict</th><th>Evidence</th><th>Experiment</th><th>Figure</th></tr>\n");
    for row in claim_rows(results, figures) {
        let figures = row.figures();
        // The case tables whose cases name this claim.
        let case_links: Vec<String> = row
            .judgements
            .iter()
            .filter_map(|j| results.iter().find(|(_, r)| r.experiment == j.experiment))
            .flat_map(|(_, result)| {
                crate::cases::tables(result)
                    .into_iter()
                    .filter_map(|table| match table.n_naming(row.id) {
                        0 => None,
                        n => Some(format!(
                            "<a href=\"#{}\">{n} case(s)</a>",
                            crate::cases::table_anchor(&result.experiment, &table)
                        )),
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let links = if figures.is_empty() && !case_links.is_empty() {
            String::new()
        } else if figures.is_empty() {
            row.experiments()
                .iter()
                .map(|e| format!("<a href=\"#exp-{}\">section</a>", anchor(e)))
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            figures
                .iter()
                .map(|f| {
                    format!(
                        "<a href=\"#{}\">{}</a>",
                        figure_anchor(f),
                        escape(&f.spec.id)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let scenario = |claim: &mmlab_core::Claim| {
            claim
                .scenario
                .as_deref()
                .map(|s| format!(" <span class=\"muted\">({})</span>", escape(s)))
                .unwrap_or_default()
        };
        // One experiment: its evidence. Several: the combined verdict's rule,
        // then each experiment's verdict and evidence, so the student sees
        // why they differ.
        let evidence = match row.judgements.as_slice() {
            [one] => format!("{}{}", escape(&one.claim.evidence), scenario(one.claim)),
            several => {
                let mut text = format!(
                    "<span class=\"muted\">{} experiments judge this claim; the verdict shown is {}.</span><ul class=\"judgements\">",
                    several.len(),
                    escape(mmlab_core::Verdict::COMBINED_RULE)
                );
                for j in several {
                    let _ = write!(
                        text,
                        "<li><a href=\"#exp-{}\">{}</a>: {} {}{}</li>",
                        anchor(j.experiment),
                        escape(j.experiment),
                        verdict_badge(j.claim.verdict),
                        escape(&j.claim.evidence),
                        scenario(j.claim)
                    );
                }
                text.push_str("</ul>");
                text
            }
        };
        let experiments = row
            .experiments()
            .iter()
            .map(|e| format!("<a href=\"#exp-{}\">{}</a>", anchor(e), escape(e)))
            .collect::<Vec<_>>()
            .join(", ");
        let links = std::iter::once(links)
            .chain(case_links)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            page,
            "<tr><td><b>{}</b><span id=\"{}\"></span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(row.id),
            crate::cases::claim_anchor(row.id),
            escape(&row.statement),
            verdict_badge(row.verdict),
            evidence,
            experiments,
            links
        );
    }
    page.push_str("</table>\n");
    let uncovered = uncovered_claims(results);
    if !uncovered.is_empty() {
        let _ = writeln!(
            page,
            "<p class=\"muted\">Claims of the notes that no result in this folder decides: {}.</p>",
            escape(&uncovered.join(", "))
        );
    }
    page.push_str("</section>\n");

    // One section per experiment.
    for (path, result) in results {
        experiment_section(&mut page, input, out_dir, path, result, figures);
    }

    // The machine.
    page.push_str("<section id=\"machine\">\n<h2>This machine</h2>\n");
    // Each distinct fingerprint with the experiments that ran under it.
    let mut fingerprints: Vec<FingerprintGroup> = Vec::new();
    for (_, result) in results {
        let rows = fingerprint_rows(result);
        match fingerprints.iter_mut().find(|(f, _)| *f == rows) {
            Some((_, experiments)) => experiments.push(&result.experiment),
            None => fingerprints.push((rows, vec![&result.experiment])),
        }
    }
    if fingerprints.len() > 1 {
        page.push_str("<p class=\"warning\">The results in this folder do not all come from the same machine state: one fingerprint per group of experiments below.</p>\n");
    }
    for (rows, experiments) in &fingerprints {
        if fingerprints.len() > 1 {
            let _ = writeln!(page, "<h3>{}</h3>", escape(&experiments.join(", ")));
        }
        page.push_str("<table>\n");
        for (key, value) in rows {
            let _ = writeln!(
                page,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(key),
                escape(value)
            );
        }
        page.push_str("</table>\n");
    }
    if results.is_empty() {
        page.push_str("<p class=\"muted\">No result file could be read, so nothing is known about the machine.</p>\n");
    }
    page.push_str("</section>\n");

    // Counters.
    page.push_str("<section id=\"counters\">\n<h2>Counters this machine could not read</h2>\n");
    let counters = unavailable_counters(results.iter().map(|(_, r)| r));
    if counters.is_empty() {
        page.push_str("<p>Every counter the experiments asked for could be read.</p>\n");
    } else {
        page.push_str("<p>Figures show these as \"not measured on this machine\", never as zero.</p>\n<table>\n<tr><th>Counter</th><th>Why not</th><th>How to enable it</th><th>Asked for by</th></tr>\n");
        for (counter, (reason, experiments)) in &counters {
            let _ = writeln!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(counter),
                escape(reason),
                escape(&counter_remedy(counter, reason)),
                escape(&experiments.join(", "))
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("</section>\n");

    // Warnings.
    page.push_str("<section id=\"warnings\">\n<h2>Warnings</h2>\n");
    let mut any_warning = false;
    for (_, result) in results {
        for warning in &result.warnings {
            any_warning = true;
            let _ = writeln!(
                page,
                "<div class=\"warning\"><b>{}</b> [{}]: {}<br>Remedy: {}</div>",
                escape(&result.experiment),
                escape(&warning.kind),
                escape(&warning.message),
                escape(&warning.remedy)
            );
        }
    }
    if !any_warning {
        page.push_str("<p>No experiment reported a measurement problem.</p>\n");
    }
    page.push_str("</section>\n");

    // Problems.
    page.push_str("<section id=\"problems\">\n<h2>Problems</h2>\n");
    if input.read_errors.is_empty() && problems.is_empty() {
        page.push_str("<p>Every result file was read and every figure drawn.</p>\n");
    }
    for error in input.read_errors {
        let _ = writeln!(
            page,
            "<div class=\"problem\">Result file not used: {}</div>",
            escape(error)
        );
    }
    for problem in problems {
        let _ = writeln!(page, "<div class=\"problem\">{}</div>", escape(problem));
    }
    page.push_str("</section>\n");
    page.push_str(page_tail());
    page
}

fn experiment_section(
    page: &mut String,
    input: &ReportInput,
    out_dir: &Path,
    path: &Path,
    result: &ResultFile,
    figures: &[Rendered],
) {
    let question = input
        .questions
        .get(&result.experiment)
        .cloned()
        .or_else(|| {
            result
                .extra
                .get("question")
                .and_then(|q| q.as_str())
                .map(str::to_string)
        });
    let _ = writeln!(page, "<section id=\"exp-{}\">", anchor(&result.experiment));
    match &question {
        Some(question) => {
            let _ = writeln!(
                page,
                "<h2>{}: {}</h2>",
                escape(&result.experiment),
                escape(question)
            );
        }
        None => {
            let _ = writeln!(page, "<h2>{}</h2>", escape(&result.experiment));
        }
    }
    let file = match relative_to(path, out_dir) {
        Some(relative) => {
            let csv = relative
                .strip_suffix(".json")
                .map(|stem| format!("{stem}.csv"));
            let csv_link = csv
                .filter(|csv| out_dir.join(csv).is_file())
                .map(|csv| {
                    format!(
                        ", raw samples <a href=\"{}\">{}</a>",
                        url_path(&csv),
                        escape(&csv)
                    )
                })
                .unwrap_or_default();
            format!(
                "<a href=\"{}\">{}</a>{}",
                url_path(&relative),
                escape(&relative),
                csv_link
            )
        }
        None => format!("<code>{}</code>", escape(&path.display().to_string())),
    };
    let _ = writeln!(
        page,
        "<p class=\"muted\">Run <code>{}</code>, started {}, took {:.1} s, {}; result {}.</p>",
        escape(&result.run_id),
        escape(&result.started_at),
        result.duration_ns as f64 / 1e9,
        escape(&result.tool_version),
        file
    );
    if !result.claims.is_empty() {
        page.push_str("<ul>\n");
        for claim in &result.claims {
            let scenario = claim
                .scenario
                .as_deref()
                .map(|s| format!(" ({})", escape(s)))
                .unwrap_or_default();
            let _ = writeln!(
                page,
                "<li><b>{}</b>{} {}: {}<br><span class=\"muted\">The notes: {}</span></li>",
                escape(&claim.id),
                scenario,
                verdict_badge(claim.verdict),
                escape(&claim.evidence),
                escape(&statement(&claim.id, &claim.statement))
            );
        }
        page.push_str("</ul>\n");
    }
    for table in crate::cases::tables(result) {
        page.push_str(&crate::cases::html(&result.experiment, &table));
    }
    let own: Vec<&Rendered> = figures
        .iter()
        .filter(|f| f.experiment == result.experiment)
        .collect();
    if own.is_empty() {
        page.push_str("<p class=\"muted\">This result declares no figure.</p>\n");
    }
    for figure in own {
        figure_html(page, figure);
    }
    for warning in &result.warnings {
        let _ = writeln!(
            page,
            "<div class=\"warning\">Warning [{}]: {}<br>Remedy: {}</div>",
            escape(&warning.kind),
            escape(&warning.message),
            escape(&warning.remedy)
        );
    }
    let unavailable = result
        .counters_available
        .values()
        .filter(|a| !a.is_available())
        .count();
    if unavailable > 0 {
        let _ = writeln!(
            page,
            "<p class=\"muted\">{unavailable} of the {} counters this experiment asked for could not be read on this machine: see <a href=\"#counters\">Counters not read</a>.</p>",
            result.counters_available.len()
        );
    }
    page.push_str("<details><summary>Parameters</summary>\n<table>\n");
    for (key, value) in &result.params {
        let _ = writeln!(
            page,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(key),
            escape(&param_text(key, value))
        );
    }
    page.push_str("</table>\n</details>\n");
    if !result.summaries.is_empty() {
        page.push_str("<details><summary>Summaries (median of the repetitions, p5 and p95)</summary>\n<table>\n<tr><th>Series</th><th>Metric</th><th>n</th><th>median</th><th>p5</th><th>p95</th><th>cv</th><th>outliers</th></tr>\n");
        for s in &result.summaries {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.3}</td><td class=\"num\">{}</td></tr>",
                escape(&s.series),
                escape(&s.metric),
                s.n,
                number(s.median),
                number(s.p5),
                number(s.p95),
                s.cv,
                s.outlier_indices.len()
            );
        }
        page.push_str("</table>\n</details>\n");
    }
    page.push_str("</section>\n");
}

/// A number for a table: whole numbers as integers, others with 4 significant digits.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else if value.abs() >= 1000.0 {
        format!("{value:.1}")
    } else {
        format!("{}", (value * 1e4).round() / 1e4)
    }
}

/// The width of the page's column in pixels (`max-width` of the body,
/// less its padding): a wider figure is shown wider than the column.
const PAGE_COLUMN: u32 = 1050;

/// A PNG's width and height, from its header.
fn png_size(path: &Path) -> Option<(u32, u32)> {
    use std::io::Read as _;
    let mut header = [0u8; 24];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    (&header[12..16] == b"IHDR").then(|| {
        (
            u32::from_be_bytes([header[16], header[17], header[18], header[19]]),
            u32::from_be_bytes([header[20], header[21], header[22], header[23]]),
        )
    })
}

fn figure_html(page: &mut String, figure: &Rendered) {
    let claims = if figure.spec.claims.is_empty() {
        String::new()
    } else {
        format!(
            " <span class=\"muted\">Evidence for {}.</span>",
            escape(&figure.spec.claims.join(", "))
        )
    };
    // A figure wider than the page's column (a grid of many columns) would
    // be scaled down to unreadable text: it gets the window's width
    // instead, up to its own.
    let wide = png_size(&figure.drawn.png)
        .map(|(width, _)| width)
        .filter(|width| *width > PAGE_COLUMN)
        .map(|width| format!(" class=\"wide\" style=\"width: min({width}px, calc(100vw - 3em))\""))
        .unwrap_or_default();
    let _ = writeln!(
        page,
        "<figure id=\"{anchor}\">\n<div{wide}><a href=\"{link}\"><img src=\"{link}\" alt=\"{title}\"></a></div>\n<figcaption><b>{title}</b>{claims}",
        anchor = figure_anchor(figure),
        link = figure_link(&figure.drawn.png),
        title = escape(&figure.spec.title),
    );
    if !figure.spec.how_to_read.is_empty() {
        let _ = writeln!(
            page,
            "<br>How to read this: {}",
            escape(&figure.spec.how_to_read)
        );
    }
    for note in &figure.drawn.notes {
        let _ = writeln!(
            page,
            "<br><span class=\"muted\">Note: {}</span>",
            escape(note)
        );
    }
    if let Some(problem) = &figure.drawn.problem {
        let _ = writeln!(page, "<div class=\"problem\">{}</div>", escape(problem));
    }
    let _ = writeln!(
        page,
        "<br><a href=\"{}\">SVG</a> · <a href=\"{}\">PNG</a></figcaption>\n</figure>",
        figure_link(&figure.drawn.svg),
        figure_link(&figure.drawn.png)
    );
}

fn markdown(input: &ReportInput, figures: &[Rendered], problems: &[String]) -> String {
    let results = input.results;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# mmap-lab report: what this kernel says about the notes\n"
    );
    let _ = writeln!(
        md,
        "Results from `{}`: {} result file(s), {} figure(s), verdicts: {}. Rendered from the JSON result files alone; `index.html` beside this file shows the same with colour.\n",
        input.results_dir.display(),
        results.len(),
        figures.len(),
        verdict_counts(
            results
                .iter()
                .flat_map(|(_, r)| r.claims.iter().map(|c| c.verdict))
        )
    );
    md.push_str("## Claims and verdicts\n\n| Claim | The notes say | Verdict | Evidence | Experiment | Figure |\n|---|---|---|---|---|---|\n");
    for row in claim_rows(results, figures) {
        let links = row
            .figures()
            .iter()
            .map(|f| format!("[{}]({})", md_cell(&f.spec.id), figure_link(&f.drawn.png)))
            .collect::<Vec<_>>()
            .join(", ");
        let evidence = match row.judgements.as_slice() {
            [one] => md_cell(&one.claim.evidence),
            several => {
                let mut text = format!(
                    "{} experiments judge this claim; the verdict shown is {}.",
                    several.len(),
                    mmlab_core::Verdict::COMBINED_RULE
                );
                for j in several {
                    let _ = write!(
                        text,
                        "<br>{}: **{}** {}",
                        j.experiment, j.claim.verdict, j.claim.evidence
                    );
                }
                md_cell(&text)
            }
        };
        let _ = writeln!(
            md,
            "| {} | {} | **{}** | {} | {} | {} |",
            md_cell(row.id),
            md_cell(&row.statement),
            row.verdict,
            evidence,
            md_cell(&row.experiments().join(", ")),
            links
        );
    }
    let uncovered = uncovered_claims(results);
    if !uncovered.is_empty() {
        let _ = writeln!(
            md,
            "\nClaims of the notes that no result in this folder decides: {}.",
            uncovered.join(", ")
        );
    }
    for (_, result) in results {
        let question = input
            .questions
            .get(&result.experiment)
            .map(|q| format!(": {q}"))
            .unwrap_or_default();
        let _ = writeln!(md, "\n## {}{}\n", result.experiment, question);
        let _ = writeln!(
            md,
            "Run `{}`, started {}, {}.\n",
            result.run_id, result.started_at, result.tool_version
        );
        for claim in &result.claims {
            let _ = writeln!(
                md,
                "- **{}** *{}*: {}",
                claim.id, claim.verdict, claim.evidence
            );
        }
        for table in crate::cases::tables(result) {
            md.push_str(&crate::cases::markdown(&table));
        }
        for figure in figures.iter().filter(|f| f.experiment == result.experiment) {
            let _ = writeln!(
                md,
                "\n### {}\n\n![{}]({})\n",
                figure.spec.title,
                md_cell(&figure.spec.title),
                figure_link(&figure.drawn.png)
            );
            if !figure.spec.how_to_read.is_empty() {
                let _ = writeln!(md, "How to read this: {}\n", figure.spec.how_to_read);
            }
            for note in &figure.drawn.notes {
                let _ = writeln!(md, "Note: {note}\n");
            }
            if let Some(problem) = &figure.drawn.problem {
                let _ = writeln!(md, "**Problem:** {problem}\n");
            }
            let _ = writeln!(md, "[SVG]({})", figure_link(&figure.drawn.svg));
        }
        for warning in &result.warnings {
            let _ = writeln!(
                md,
                "\n> Warning [{}]: {} Remedy: {}",
                warning.kind, warning.message, warning.remedy
            );
        }
    }
    md.push_str("\n## This machine\n\n| Field | Value |\n|---|---|\n");
    if let Some((_, first)) = results.first() {
        for (key, value) in fingerprint_rows(first) {
            let _ = writeln!(md, "| {} | {} |", md_cell(&key), md_cell(&value));
        }
    }
    md.push_str("\n## Counters this machine could not read\n\n");
    let counters = unavailable_counters(results.iter().map(|(_, r)| r));
    if counters.is_empty() {
        md.push_str("Every counter the experiments asked for could be read.\n");
    } else {
        md.push_str("| Counter | Why not | How to enable it | Asked for by |\n|---|---|---|---|\n");
        for (counter, (reason, experiments)) in &counters {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} |",
                counter,
                md_cell(reason),
                md_cell(&counter_remedy(counter, reason)),
                experiments.join(", ")
            );
        }
    }
    md.push_str("\n## Warnings\n\n");
    let mut any = false;
    for (_, result) in results {
        for warning in &result.warnings {
            any = true;
            let _ = writeln!(
                md,
                "- {} [{}]: {} Remedy: {}",
                result.experiment, warning.kind, warning.message, warning.remedy
            );
        }
    }
    if !any {
        md.push_str("No experiment reported a measurement problem.\n");
    }
    md.push_str("\n## Problems\n\n");
    if input.read_errors.is_empty() && problems.is_empty() {
        md.push_str("Every result file was read and every figure drawn.\n");
    }
    for error in input.read_errors {
        let _ = writeln!(md, "- Result file not used: {error}");
    }
    for problem in problems {
        let _ = writeln!(md, "- {problem}");
    }
    md
}
