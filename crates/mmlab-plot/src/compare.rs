//! Two results folders side by side: the machines' fingerprints, a table of
//! differences per claim (verdict A vs B) and per summary (median A, median
//! B, ratio), and every figure of both runs: line and bar figures overlaid
//! (series names suffixed with the run's label, the second run dashed or
//! light), grid and strips figures next to each other.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use mmlab_core::{FigureKind, FigureSpec, ResultFile};

use crate::figure::{self, Drawn, Source};
use crate::html::{
    anchor, claim_order, escape, fingerprint_rows, md_cell, page_head, page_tail, url_path,
    verdict_badge,
};
use crate::report::number;
use crate::{Rendered, figure_stem, palette_for, unique_stem};

/// One side of a comparison.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// A short name for the run, used as the series-name suffix.
    pub label: &'a str,
    pub dir: &'a Path,
    pub results: &'a [(PathBuf, ResultFile)],
    pub read_errors: &'a [String],
}

impl Side<'_> {
    fn result(&self, experiment: &str) -> Option<&ResultFile> {
        self.results
            .iter()
            .map(|(_, r)| r)
            .find(|r| r.experiment == experiment)
    }
}

/// One figure of the comparison: overlaid (one file) or side by side (one
/// per run that has it).
#[derive(Debug, Clone)]
pub struct ComparedFigure {
    pub experiment: String,
    pub spec: FigureSpec,
    /// (run label, drawing)
    pub drawings: Vec<(String, Drawn)>,
    pub overlaid: bool,
}

#[derive(Debug, Clone)]
pub struct CompareOutput {
    pub html: PathBuf,
    pub markdown: PathBuf,
    pub figures: Vec<ComparedFigure>,
    pub problems: Vec<String>,
    /// Figure files that are not a valid PNG or SVG.
    pub invalid_files: Vec<String>,
}

/// Writes `<out_dir>/index.html`, `<out_dir>/compare.md` and the figures in
/// `<out_dir>/figures/`.
pub fn write_compare(a: &Side, b: &Side, out_dir: &Path) -> anyhow::Result<CompareOutput> {
    let figures_dir = out_dir.join("figures");
    std::fs::create_dir_all(&figures_dir)
        .with_context(|| format!("cannot create the figure folder {}", figures_dir.display()))?;
    let palette = palette_for(a.results.iter().chain(b.results).map(|(_, r)| r));
    let experiments = experiment_ids(a, b);
    let mut used = BTreeSet::new();
    let mut figures = Vec::new();
    for experiment in &experiments {
        let (ra, rb) = (a.result(experiment), b.result(experiment));
        let mut specs: Vec<&FigureSpec> = Vec::new();
        for result in [ra, rb].into_iter().flatten() {
            for spec in &result.figures {
                if !specs.iter().any(|s| s.id == spec.id) {
                    specs.push(spec);
                }
            }
        }
        for spec in specs {
            let spec_a = ra.and_then(|r| r.figures.iter().find(|s| s.id == spec.id));
            let spec_b = rb.and_then(|r| r.figures.iter().find(|s| s.id == spec.id));
            let overlay = matches!(spec.kind, FigureKind::Line | FigureKind::Bar)
                && spec_a.is_some()
                && spec_b.is_some();
            let base = figure_stem(experiment, &spec.id);
            let mut drawings = Vec::new();
            if overlay {
                let sources = [
                    Source {
                        label: Some(a.label),
                        result: ra.expect("checked"),
                    },
                    Source {
                        label: Some(b.label),
                        result: rb.expect("checked"),
                    },
                ];
                let stem = unique_stem(&mut used, base.clone());
                drawings.push((
                    format!("{} vs {}", a.label, b.label),
                    figure::draw(spec, &sources, &palette, &figures_dir.join(stem))?,
                ));
            } else {
                for (side, result, own_spec) in [(a, ra, spec_a), (b, rb, spec_b)] {
                    if let (Some(result), Some(own_spec)) = (result, own_spec) {
                        let stem = unique_stem(&mut used, format!("{base}.{}", side.label));
                        let source = Source {
                            label: Some(side.label),
                            result,
                        };
                        drawings.push((
                            side.label.to_string(),
                            figure::draw(own_spec, &[source], &palette, &figures_dir.join(stem))?,
                        ));
                    }
                }
            }
            figures.push(ComparedFigure {
                experiment: experiment.clone(),
                spec: spec.clone(),
                drawings,
                overlaid: overlay,
            });
        }
    }
    let as_rendered: Vec<Rendered> = figures
        .iter()
        .flat_map(|f| {
            f.drawings.iter().map(|(_, drawn)| Rendered {
                experiment: f.experiment.clone(),
                spec: f.spec.clone(),
                drawn: drawn.clone(),
            })
        })
        .collect();
    let (problems, invalid_files) = crate::report::figure_problems(&as_rendered);
    let html_path = out_dir.join("index.html");
    let markdown_path = out_dir.join("compare.md");
    let page = html(a, b, &experiments, &figures, &problems);
    mmlab_core::io::write_atomic(&html_path, page.as_bytes())
        .with_context(|| format!("cannot write {}", html_path.display()))?;
    let md = markdown(a, b, &experiments, &figures, &problems);
    mmlab_core::io::write_atomic(&markdown_path, md.as_bytes())
        .with_context(|| format!("cannot write {}", markdown_path.display()))?;
    Ok(CompareOutput {
        html: html_path,
        markdown: markdown_path,
        figures,
        problems,
        invalid_files,
    })
}

/// Labels for two folders: their names, or A and B when the names clash.
pub fn labels(dir_a: &Path, dir_b: &Path) -> (String, String) {
    let name = |dir: &Path| {
        dir.canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default()
    };
    let (a, b) = (name(dir_a), name(dir_b));
    if a.is_empty() || b.is_empty() || a == b {
        ("A".to_string(), "B".to_string())
    } else {
        (a, b)
    }
}

fn experiment_ids(a: &Side, b: &Side) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for (_, result) in a.results.iter().chain(b.results) {
        if !ids.contains(&result.experiment) {
            ids.push(result.experiment.clone());
        }
    }
    ids
}

/// (experiment, claim id, scenario) -> (verdict in A, verdict in B), with evidence.
type ClaimKey = (String, String, Option<String>);

fn claim_pairs<'a>(
    a: &'a Side,
    b: &'a Side,
) -> Vec<(
    ClaimKey,
    Option<&'a mmlab_core::Claim>,
    Option<&'a mmlab_core::Claim>,
)> {
    let mut keys: Vec<ClaimKey> = Vec::new();
    for (_, result) in a.results.iter().chain(b.results) {
        for claim in &result.claims {
            let key = (
                result.experiment.clone(),
                claim.id.clone(),
                claim.scenario.clone(),
            );
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys.sort_by(|x, y| {
        claim_order(&x.1)
            .cmp(&claim_order(&y.1))
            .then(x.0.cmp(&y.0))
            .then(x.2.cmp(&y.2))
    });
    let find = |side: &'a Side, key: &ClaimKey| {
        side.result(&key.0).and_then(|r| {
            r.claims
                .iter()
                .find(|c| c.id == key.1 && c.scenario == key.2)
        })
    };
    keys.into_iter()
        .map(|key| {
            let (ca, cb) = (find(a, &key), find(b, &key));
            (key, ca, cb)
        })
        .collect()
}

/// (experiment, series, metric) -> (median A, median B).
/// (experiment, series, metric) of a summary.
type SummaryKey = (String, String, String);

fn summary_pairs(a: &Side, b: &Side) -> Vec<(SummaryKey, Option<f64>, Option<f64>)> {
    let mut map: BTreeMap<SummaryKey, (Option<f64>, Option<f64>)> = BTreeMap::new();
    let mut order = Vec::new();
    for (first, side) in [(true, a), (false, b)] {
        for (_, result) in side.results {
            for s in &result.summaries {
                let key = (
                    result.experiment.clone(),
                    s.series.clone(),
                    s.metric.clone(),
                );
                let entry = map.entry(key.clone()).or_insert_with(|| {
                    order.push(key.clone());
                    (None, None)
                });
                if first {
                    entry.0 = Some(s.median);
                } else {
                    entry.1 = Some(s.median);
                }
            }
        }
    }
    order
        .into_iter()
        .map(|key| {
            let (ma, mb) = map[&key];
            (key, ma, mb)
        })
        .collect()
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a != 0.0 => format!("{:.2}×", b / a),
        (Some(_), Some(_)) => "—".to_string(),
        _ => String::new(),
    }
}

fn opt_number(value: Option<f64>) -> String {
    value.map(number).unwrap_or_else(|| "—".to_string())
}

/// The fingerprints of both runs, field by field: the first result of each.
fn fingerprint_table(a: &Side, b: &Side) -> Vec<(String, String, String)> {
    let rows_a = a
        .results
        .first()
        .map(|(_, r)| fingerprint_rows(r))
        .unwrap_or_default();
    let rows_b = b
        .results
        .first()
        .map(|(_, r)| fingerprint_rows(r))
        .unwrap_or_default();
    let mut keys: Vec<String> = rows_a.iter().map(|(k, _)| k.clone()).collect();
    for (k, _) in &rows_b {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    let get = |rows: &[(String, String)], key: &str| {
        rows.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "—".to_string())
    };
    keys.into_iter()
        .map(|k| (k.clone(), get(&rows_a, &k), get(&rows_b, &k)))
        .collect()
}

fn file_link(path: &Path) -> String {
    url_path(&format!(
        "figures/{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ))
}

fn html(
    a: &Side,
    b: &Side,
    experiments: &[String],
    figures: &[ComparedFigure],
    problems: &[String],
) -> String {
    let mut page = page_head(&format!("mmap-lab: {} vs {}", a.label, b.label));
    let _ = writeln!(
        page,
        "<h1>mmap-lab: {} vs {}</h1>",
        escape(a.label),
        escape(b.label)
    );
    let _ = writeln!(
        page,
        "<p class=\"muted\"><b>{}</b> = <code>{}</code> ({} result file(s)); <b>{}</b> = <code>{}</code> ({} result file(s)). In overlaid figures the series of {} are dashed or light.</p>",
        escape(a.label),
        escape(&a.dir.display().to_string()),
        a.results.len(),
        escape(b.label),
        escape(&b.dir.display().to_string()),
        b.results.len(),
        escape(b.label)
    );
    page.push_str("<nav><ul><li><a href=\"#machines\">Machines</a></li><li><a href=\"#claims\">Claims</a></li><li><a href=\"#summaries\">Summaries</a></li>");
    for experiment in experiments {
        let _ = write!(
            page,
            "<li><a href=\"#exp-{}\">{}</a></li>",
            anchor(experiment),
            escape(experiment)
        );
    }
    page.push_str("<li><a href=\"#problems\">Problems</a></li></ul></nav>\n");

    page.push_str("<section id=\"machines\"><h2>Machines</h2>\n<table>\n");
    let _ = writeln!(
        page,
        "<tr><th>Field</th><th>{}</th><th>{}</th></tr>",
        escape(a.label),
        escape(b.label)
    );
    for (key, va, vb) in fingerprint_table(a, b) {
        let class = if va != vb { " class=\"changed\"" } else { "" };
        let _ = writeln!(
            page,
            "<tr{class}><th>{}</th><td>{}</td><td>{}</td></tr>",
            escape(&key),
            escape(&va),
            escape(&vb)
        );
    }
    page.push_str("</table>\n<p class=\"muted\">Highlighted rows differ.</p></section>\n");

    page.push_str("<section id=\"claims\"><h2>Claims</h2>\n<table>\n");
    let _ = writeln!(
        page,
        "<tr><th>Claim</th><th>Experiment</th><th>{}</th><th>{}</th><th>Evidence {}</th><th>Evidence {}</th></tr>",
        escape(a.label),
        escape(b.label),
        escape(a.label),
        escape(b.label)
    );
    for ((experiment, id, scenario), ca, cb) in claim_pairs(a, b) {
        let changed = ca.map(|c| c.verdict) != cb.map(|c| c.verdict);
        let class = if changed { " class=\"changed\"" } else { "" };
        let badge = |c: Option<&mmlab_core::Claim>| {
            c.map(|c| verdict_badge(c.verdict))
                .unwrap_or_else(|| "<span class=\"muted\">no result</span>".to_string())
        };
        let evidence =
            |c: Option<&mmlab_core::Claim>| c.map(|c| escape(&c.evidence)).unwrap_or_default();
        let scenario = scenario
            .map(|s| format!(" ({})", escape(&s)))
            .unwrap_or_default();
        let _ = writeln!(
            page,
            "<tr{class}><td><b>{}</b>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&id),
            scenario,
            escape(&experiment),
            badge(ca),
            badge(cb),
            evidence(ca),
            evidence(cb)
        );
    }
    page.push_str(
        "</table>\n<p class=\"muted\">Highlighted rows: the verdict changed.</p></section>\n",
    );

    page.push_str("<section id=\"summaries\"><h2>Summaries</h2>\n");
    let pairs = summary_pairs(a, b);
    if pairs.is_empty() {
        page.push_str("<p class=\"muted\">Neither run has summaries.</p>\n");
    } else {
        let _ = writeln!(
            page,
            "<table>\n<tr><th>Experiment</th><th>Series</th><th>Metric</th><th>median {}</th><th>median {}</th><th>{} / {}</th></tr>",
            escape(a.label),
            escape(b.label),
            escape(b.label),
            escape(a.label)
        );
        for ((experiment, series, metric), ma, mb) in pairs {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&experiment),
                escape(&series),
                escape(&metric),
                opt_number(ma),
                opt_number(mb),
                ratio(ma, mb)
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("</section>\n");

    for experiment in experiments {
        let _ = writeln!(
            page,
            "<section id=\"exp-{}\"><h2>{}</h2>",
            anchor(experiment),
            escape(experiment)
        );
        for (side, other) in [(a, b), (b, a)] {
            if side.result(experiment).is_none() {
                let _ = writeln!(
                    page,
                    "<p class=\"warning\">Only in {}: {} has no result of this experiment.</p>",
                    escape(other.label),
                    escape(side.label)
                );
            }
        }
        for figure in figures.iter().filter(|f| f.experiment == *experiment) {
            let _ = writeln!(
                page,
                "<figure id=\"fig-{}-{}\">",
                anchor(experiment),
                anchor(&figure.spec.id)
            );
            if figure.overlaid {
                let (_, drawn) = &figure.drawings[0];
                let _ = writeln!(
                    page,
                    "<img src=\"{}\" alt=\"{}\">",
                    file_link(&drawn.png),
                    escape(&figure.spec.title)
                );
            } else {
                page.push_str("<div class=\"side-by-side\">\n");
                for (label, drawn) in &figure.drawings {
                    let _ = writeln!(
                        page,
                        "<div><b>{}</b><br><img src=\"{}\" alt=\"{} ({})\"></div>",
                        escape(label),
                        file_link(&drawn.png),
                        escape(&figure.spec.title),
                        escape(label)
                    );
                }
                page.push_str("</div>\n");
            }
            let _ = write!(page, "<figcaption><b>{}</b>", escape(&figure.spec.title));
            if !figure.spec.how_to_read.is_empty() {
                let _ = write!(
                    page,
                    "<br>How to read this: {}",
                    escape(&figure.spec.how_to_read)
                );
            }
            for (label, drawn) in &figure.drawings {
                for note in &drawn.notes {
                    let _ = write!(
                        page,
                        "<br><span class=\"muted\">Note ({}): {}</span>",
                        escape(label),
                        escape(note)
                    );
                }
                let _ = write!(
                    page,
                    "<br><a href=\"{}\">SVG ({})</a>",
                    file_link(&drawn.svg),
                    escape(label)
                );
            }
            page.push_str("</figcaption></figure>\n");
        }
        page.push_str("</section>\n");
    }

    page.push_str("<section id=\"problems\"><h2>Problems</h2>\n");
    let errors: Vec<String> = a
        .read_errors
        .iter()
        .map(|e| format!("{}: {e}", a.label))
        .chain(b.read_errors.iter().map(|e| format!("{}: {e}", b.label)))
        .collect();
    if errors.is_empty() && problems.is_empty() {
        page.push_str("<p>Every result file was read and every figure drawn.</p>\n");
    }
    for error in errors {
        let _ = writeln!(
            page,
            "<div class=\"problem\">Result file not used: {}</div>",
            escape(&error)
        );
    }
    for problem in problems {
        let _ = writeln!(page, "<div class=\"problem\">{}</div>", escape(problem));
    }
    page.push_str("</section>\n");
    page.push_str(page_tail());
    page
}

fn markdown(
    a: &Side,
    b: &Side,
    experiments: &[String],
    figures: &[ComparedFigure],
    problems: &[String],
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# mmap-lab: {} vs {}\n", a.label, b.label);
    let _ = writeln!(
        md,
        "{} = `{}`, {} = `{}`.\n",
        a.label,
        a.dir.display(),
        b.label,
        b.dir.display()
    );
    let _ = writeln!(
        md,
        "## Machines\n\n| Field | {} | {} |\n|---|---|---|",
        a.label, b.label
    );
    for (key, va, vb) in fingerprint_table(a, b) {
        let mark = if va != vb { " **≠**" } else { "" };
        let _ = writeln!(
            md,
            "| {}{} | {} | {} |",
            md_cell(&key),
            mark,
            md_cell(&va),
            md_cell(&vb)
        );
    }
    let _ = writeln!(
        md,
        "\n## Claims\n\n| Claim | Experiment | {} | {} | changed |\n|---|---|---|---|---|",
        a.label, b.label
    );
    for ((experiment, id, scenario), ca, cb) in claim_pairs(a, b) {
        let verdict = |c: Option<&mmlab_core::Claim>| {
            c.map(|c| c.verdict.to_string())
                .unwrap_or_else(|| "no result".into())
        };
        let changed = if ca.map(|c| c.verdict) != cb.map(|c| c.verdict) {
            "**yes**"
        } else {
            ""
        };
        let scenario = scenario.map(|s| format!(" ({s})")).unwrap_or_default();
        let _ = writeln!(
            md,
            "| {}{} | {} | {} | {} | {} |",
            id,
            md_cell(&scenario),
            experiment,
            verdict(ca),
            verdict(cb),
            changed
        );
    }
    let pairs = summary_pairs(a, b);
    if !pairs.is_empty() {
        let _ = writeln!(
            md,
            "\n## Summaries\n\n| Experiment | Series | Metric | median {} | median {} | {} / {} |\n|---|---|---|---|---|---|",
            a.label, b.label, b.label, a.label
        );
        for ((experiment, series, metric), ma, mb) in pairs {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                experiment,
                md_cell(&series),
                md_cell(&metric),
                opt_number(ma),
                opt_number(mb),
                ratio(ma, mb)
            );
        }
    }
    for experiment in experiments {
        let _ = writeln!(md, "\n## {experiment}\n");
        for figure in figures.iter().filter(|f| f.experiment == *experiment) {
            let _ = writeln!(md, "### {}\n", figure.spec.title);
            for (label, drawn) in &figure.drawings {
                let _ = writeln!(
                    md,
                    "![{} ({})]({})\n",
                    md_cell(&figure.spec.title),
                    label,
                    file_link(&drawn.png)
                );
            }
        }
    }
    md.push_str("\n## Problems\n\n");
    for error in a.read_errors.iter().chain(b.read_errors) {
        let _ = writeln!(md, "- Result file not used: {error}");
    }
    for problem in problems {
        let _ = writeln!(md, "- {problem}");
    }
    if a.read_errors.is_empty() && b.read_errors.is_empty() && problems.is_empty() {
        md.push_str("Every result file was read and every figure drawn.\n");
    }
    md
}
