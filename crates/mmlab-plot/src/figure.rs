//! Drawing one declared figure: the entry point [`draw`] picks the function
//! of the figure's kind; each kind's function is a pure function of the
//! result data (one run, or two overlaid in a comparison), the palette and
//! the output path, and writes `<stem>.svg` and `<stem>.png`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mmlab_core::{FigureKind, FigureSpec, ResultFile};
use serde_json::Value;

use crate::data;
use crate::frame::{Heading, Legend, LegendItem, MARGIN, SeriesLook, WIDTH};
use crate::palette::Palette;
use crate::scene::{Anchor, Rgb, Scene, wrap};

/// One run's result as the data of a figure; `label` names the run when
/// two runs are drawn in one figure (series names get it as a suffix).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub label: Option<&'a str>,
    pub result: &'a ResultFile,
}

impl<'a> Source<'a> {
    pub fn new(result: &'a ResultFile) -> Source<'a> {
        Source {
            label: None,
            result,
        }
    }
}

/// The files written for one figure, and what a reader should know about it
/// (series not measured on this machine, rows left out, a spec that could
/// not be drawn).
#[derive(Debug, Clone)]
pub struct Drawn {
    pub svg: PathBuf,
    pub png: PathBuf,
    pub notes: Vec<String>,
    /// Set when the figure could not be drawn as declared; the files then
    /// show this message instead of a plot.
    pub problem: Option<String>,
}

/// Draws `spec` from `sources` (one run; two for an overlaid comparison of
/// a line or bar figure) into `<stem>.svg` and `<stem>.png`. A spec that
/// cannot be drawn (no such data, no such field) still gets both files,
/// showing the problem, and [`Drawn::problem`] says what it is; only an
/// unwritable output is an error.
pub fn draw(
    spec: &FigureSpec,
    sources: &[Source],
    palette: &Palette,
    stem: &Path,
) -> anyhow::Result<Drawn> {
    // Guides are for line figures; declared for another kind (or declared
    // wrongly), they make the figure say so instead of vanishing unseen.
    let outcome = crate::guides::of(spec, sources).and_then(|_| match spec.kind {
        FigureKind::Line => crate::line::line(spec, sources, palette, stem),
        FigureKind::Bar => crate::bar::bar(spec, sources, palette, stem),
        FigureKind::Grid => match sources {
            [source] => crate::grid::grid(spec, source, palette, stem),
            _ => Err(Unusable("a grid figure draws one run at a time".into())),
        },
        FigureKind::Strips => match sources {
            [source] => crate::strips::strips(spec, source, stem),
            _ => Err(Unusable("a strips figure draws one run at a time".into())),
        },
    });
    match outcome {
        Ok(drawn) => Ok(drawn),
        Err(Unusable(message)) => {
            let experiment = sources
                .first()
                .map(|s| s.result.experiment.as_str())
                .unwrap_or("");
            let problem = format!(
                "figure `{}` of {experiment} cannot be drawn: {message}",
                spec.id
            );
            let (svg, png) = problem_scene(spec, &subtitle(spec, sources), &problem).write(stem)?;
            Ok(Drawn {
                svg,
                png,
                notes: Vec::new(),
                problem: Some(problem),
            })
        }
    }
}

/// Why a declared figure cannot be drawn from this data (or the output
/// could not be written, carried as text).
#[derive(Debug)]
pub struct Unusable(pub String);

impl From<anyhow::Error> for Unusable {
    fn from(error: anyhow::Error) -> Unusable {
        Unusable(format!("{error:#}"))
    }
}

/// The names a figure's series will have (for the palette): the values of
/// its series field, or the colour field of a grid.
pub fn series_names(spec: &FigureSpec, result: &ResultFile) -> Vec<String> {
    let Ok(rows) = data::rows(result, spec) else {
        return Vec::new();
    };
    let field = match spec.kind {
        FigureKind::Line | FigureKind::Bar => spec.series.as_deref(),
        FigureKind::Grid => spec.cell_colour.as_deref(),
        FigureKind::Strips => None,
    };
    let mut names: Vec<String> = Vec::new();
    match field {
        Some(field) => {
            for row in &rows {
                let name = data::label(field, row.get(field).unwrap_or(&Value::Null));
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        None => names.push(default_series_name(spec)),
    }
    names
}

/// The name of the one series of a figure without a series field.
pub fn default_series_name(spec: &FigureSpec) -> String {
    spec.y.field.clone()
}

pub fn subtitle(spec: &FigureSpec, sources: &[Source]) -> String {
    let runs: Vec<String> = sources
        .iter()
        .map(|s| match s.label {
            Some(label) => format!("{label}: {}", s.result.started_at),
            None => s.result.started_at.clone(),
        })
        .collect();
    let experiment = sources
        .first()
        .map(|s| s.result.experiment.as_str())
        .unwrap_or("");
    format!(
        "mmap-lab · {experiment} · figure {} · run {}",
        spec.id,
        runs.join(" vs ")
    )
}

/// Series as drawn by line and bar figures: one per (series name, run).
#[derive(Debug, Clone)]
pub struct SeriesData {
    pub name: String,
    pub run: usize,
    /// x key (a number for lines, a category label for bars) -> values.
    pub cells: Vec<(Value, Cell)>,
    pub n_values: usize,
    pub n_null: usize,
    /// Why values are missing, from the run's `counters_available`.
    pub missing_reason: String,
}

/// The values of one (series, x).
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub values: Vec<f64>,
    pub n_null: usize,
    /// A whisker given by the data itself (p5 and p95 beside a median).
    pub given_whisker: Option<(f64, f64)>,
}

impl Cell {
    pub fn median(&self) -> Option<f64> {
        (!self.values.is_empty()).then(|| data::quantile(&self.values, 0.5))
    }

    /// p5..p95 of the repetitions, or the one given by the data.
    pub fn whisker(&self) -> Option<(f64, f64)> {
        if let Some(given) = self.given_whisker {
            return Some(given);
        }
        (self.values.len() > 1).then(|| {
            (
                data::quantile(&self.values, 0.05),
                data::quantile(&self.values, 0.95),
            )
        })
    }
}

/// Why `value` (the number `number` read from it) at `data[index].field`
/// cannot be drawn, if it cannot: a magnitude beyond [`scale::LARGEST`] is
/// a broken file, and drawing it would wreck the axis of every other value.
///
/// [`scale::LARGEST`]: crate::scale::LARGEST
fn undrawable(
    spec: &FigureSpec,
    index: usize,
    field: &str,
    role: &str,
    value: &Value,
    number: f64,
) -> Option<Unusable> {
    (!crate::scale::drawable(number)).then(|| {
        Unusable(format!(
            "`{}[{index}].{field}` ({role}) is {value}, beyond what a figure can draw (magnitudes up to {:e})",
            spec.data,
            crate::scale::LARGEST
        ))
    })
}

/// Groups the rows of every source by series and x, for line and bar
/// figures. Errors when the spec names data or fields that are nowhere, or
/// when a value to be drawn is beyond what a figure can draw (named with
/// its place in the data and its value).
pub fn collect_series(
    spec: &FigureSpec,
    sources: &[Source],
    notes: &mut Vec<String>,
) -> Result<Vec<SeriesData>, Unusable> {
    let mut all: Vec<SeriesData> = Vec::new();
    let mut any_row = false;
    let mut x_seen = false;
    let mut y_seen = false;
    for reference in &spec.reference_lines {
        if !crate::scale::drawable(reference.value) {
            return Err(Unusable(format!(
                "reference line `{}` is {:e}, beyond what a figure can draw (magnitudes up to {:e})",
                reference.label,
                reference.value,
                crate::scale::LARGEST
            )));
        }
    }
    for (run, source) in sources.iter().enumerate() {
        let rows = data::indexed_rows(source.result, spec).map_err(Unusable)?;
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut n_without_x = 0;
        let mut n_not_numbers = 0;
        for (row_index, row) in &rows {
            let row_index = *row_index;
            any_row = true;
            let name = match &spec.series {
                Some(field) => data::label(field, row.get(field).unwrap_or(&Value::Null)),
                None => default_series_name(spec),
            };
            let position = *index.entry(name.clone()).or_insert_with(|| {
                all.push(SeriesData {
                    name: name.clone(),
                    run,
                    cells: Vec::new(),
                    n_values: 0,
                    n_null: 0,
                    missing_reason: data::missing_reason(source.result, &spec.y.field, Some(&name)),
                });
                all.len() - 1
            });
            let series = &mut all[position];
            let Some(x) = row.get(&spec.x.field).filter(|x| !x.is_null()) else {
                n_without_x += 1;
                continue;
            };
            x_seen = true;
            // Bar figures show x as a category label; a line figure places it.
            if spec.kind == FigureKind::Line
                && let Some(number) = data::number(x)
                && let Some(unusable) = undrawable(spec, row_index, &spec.x.field, "x", x, number)
            {
                return Err(unusable);
            }
            let cell_at = match series.cells.iter().position(|(key, _)| same_key(key, x)) {
                Some(i) => i,
                None => {
                    series.cells.push((x.clone(), Cell::default()));
                    series.cells.len() - 1
                }
            };
            let cell = &mut series.cells[cell_at].1;
            match row.get(&spec.y.field) {
                None => {}
                Some(Value::Null) => {
                    y_seen = true;
                    cell.n_null += 1;
                    series.n_null += 1;
                }
                Some(value) => {
                    y_seen = true;
                    match data::number(value) {
                        Some(v) => {
                            if let Some(unusable) =
                                undrawable(spec, row_index, &spec.y.field, "y", value, v)
                            {
                                return Err(unusable);
                            }
                            cell.values.push(v);
                            series.n_values += 1;
                        }
                        None => n_not_numbers += 1,
                    }
                }
            }
            if spec.y.field == "median"
                && let (Some(low), Some(high)) = (
                    row.get("p5").and_then(data::number),
                    row.get("p95").and_then(data::number),
                )
            {
                for (field, number) in [("p5", low), ("p95", high)] {
                    if let Some(unusable) =
                        undrawable(spec, row_index, field, "whisker", &row[field], number)
                    {
                        return Err(unusable);
                    }
                }
                cell.given_whisker = Some((low, high));
            }
        }
        let run_name = source.label.map(|l| format!(" ({l})")).unwrap_or_default();
        if n_without_x > 0 {
            notes.push(format!(
                "{n_without_x} row(s){run_name} without a value of `{}` are left out",
                spec.x.field
            ));
        }
        if n_not_numbers > 0 {
            notes.push(format!(
                "{n_not_numbers} value(s){run_name} of `{}` are not numbers and are left out",
                spec.y.field
            ));
        }
    }
    if !any_row {
        let filter = if spec.filter.is_empty() {
            String::new()
        } else {
            format!(" matching {}", Value::Object(spec.filter.clone()))
        };
        return Err(Unusable(format!("no rows in data `{}`{filter}", spec.data)));
    }
    if !x_seen {
        return Err(Unusable(format!(
            "field `{}` (x) is in no row of data `{}`",
            spec.x.field, spec.data
        )));
    }
    if !y_seen {
        return Err(Unusable(format!(
            "field `{}` (y) is in no row of data `{}`",
            spec.y.field, spec.data
        )));
    }
    Ok(all)
}

fn same_key(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The legend text of a series: its name, and its run in a comparison.
pub fn series_text(series: &SeriesData, sources: &[Source]) -> String {
    match sources.get(series.run).and_then(|s| s.label) {
        Some(label) => format!("{} ({label})", series.name),
        None => series.name.clone(),
    }
}

/// How `series` is drawn among `all` the series of its figure.
pub fn look(series: &SeriesData, all: &[SeriesData], palette: &Palette) -> SeriesLook {
    let mut names: Vec<&str> = Vec::new();
    for s in all {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    let index = names.iter().position(|n| *n == series.name).unwrap_or(0);
    SeriesLook {
        colour: palette.colour(&series.name),
        marker: Palette::marker_at(index),
        second_run: series.run > 0,
    }
}

/// Legend entries for line and bar figures: drawn series, series with no
/// value at all (with the reason), reference lines.
pub fn series_legend(
    spec: &FigureSpec,
    series: &[SeriesData],
    sources: &[Source],
    palette: &Palette,
    bars: bool,
    notes: &mut Vec<String>,
) -> Vec<LegendItem> {
    let mut items = Vec::new();
    let single_unnamed = spec.series.is_none() && sources.len() == 1;
    for s in series {
        let text = series_text(s, sources);
        if s.n_values == 0 {
            let reason = &s.missing_reason;
            items.push(LegendItem::Missing {
                text: format!("{text}: {reason}"),
                colour: palette.colour(&s.name),
            });
            notes.push(format!("{text}: {reason}"));
        } else if !single_unnamed {
            let look = look(s, series, palette);
            items.push(if bars {
                LegendItem::Box { text, look }
            } else {
                LegendItem::Line { text, look }
            });
        }
    }
    for s in series.iter().filter(|s| s.n_values > 0 && s.n_null > 0) {
        let text = format!(
            "{}: {} of {} values missing ({})",
            series_text(s, sources),
            s.n_null,
            s.n_null + s.n_values,
            s.missing_reason
        );
        notes.push(text.clone());
        items.push(LegendItem::Note { text });
    }
    for (index, reference) in spec.reference_lines.iter().enumerate() {
        // A label that already says its number ("file size (64 MiB)") is
        // not given it a second time.
        if reference.label.chars().any(|c| c.is_ascii_digit()) {
            items.push(LegendItem::Reference {
                text: reference.label.clone(),
                index,
            });
            continue;
        }
        items.push(LegendItem::Reference {
            index,
            text: format!(
                "{} ({})",
                reference.label,
                crate::scale::TickFormat::for_field(&spec.y.field).format(reference.value)
            ),
        });
    }
    items
}

/// A figure that shows why it could not be drawn.
fn problem_scene(spec: &FigureSpec, subtitle: &str, problem: &str) -> Scene {
    let heading = Heading::new(&spec.title, subtitle, WIDTH);
    let lines = wrap(problem, 17.0, WIDTH - 4 * MARGIN);
    let box_height = 40 + lines.len() as i32 * 24;
    let top = heading.height() + 10;
    let mut scene = Scene::new(WIDTH as u32, (top + box_height + MARGIN) as u32);
    heading.draw(&mut scene);
    scene.rect(
        MARGIN,
        top,
        WIDTH - MARGIN,
        top + box_height,
        Rgb(0xFD, 0xEC, 0xEA),
    );
    scene.outline(
        MARGIN,
        top,
        WIDTH - MARGIN,
        top + box_height,
        Rgb(0xC0, 0x39, 0x2B),
        1,
    );
    for (i, line) in lines.iter().enumerate() {
        scene.text(
            line,
            2 * MARGIN,
            top + 20 + i as i32 * 24,
            17.0,
            Rgb(0x90, 0x20, 0x10),
            Anchor::TopLeft,
        );
    }
    scene
}

/// The height a legend of `items` takes under a plot of the full width.
pub fn legend_below(items: &[LegendItem]) -> Legend {
    Legend::layout(items, WIDTH - 2 * MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The problem of drawing figure `id` of `result`, if any.
    fn problem_of(result: &ResultFile, id: &str) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let spec = result.figures.iter().find(|f| f.id == id).unwrap();
        let palette = crate::palette_for([result]);
        let drawn = draw(spec, &[Source::new(result)], &palette, &dir.path().join(id)).unwrap();
        drawn.problem
    }

    #[test]
    fn a_value_beyond_what_a_figure_draws_is_a_problem_naming_the_field_and_value() {
        let mut result = crate::example::result("example-huge", 1.0);
        result.samples[5]["elapsed_ns"] = serde_json::json!(1e308);
        assert_eq!(
            problem_of(&result, "time").as_deref(),
            Some(
                "figure `time` of example-huge cannot be drawn: `samples[5].elapsed_ns` (y) is 1e+308, beyond what a figure can draw (magnitudes up to 1e15)"
            )
        );
        // The other figures of the same file do not use that value.
        assert_eq!(problem_of(&result, "syscalls"), None);

        result.samples[5]["elapsed_ns"] = serde_json::json!(1000);
        result.samples[7]["file_size_bytes"] = serde_json::json!(-1e300);
        let problem = problem_of(&result, "time").unwrap();
        assert!(
            problem.contains("`samples[7].file_size_bytes` (x) is -1e+300"),
            "{problem}"
        );
        // In a bar figure x is a category: its label, not a position.
        result.samples[7]["file_size_bytes"] = serde_json::json!(1u64 << 20);

        result.summaries[2].p95 = 1e300;
        let problem = problem_of(&result, "summaries").unwrap();
        assert!(
            problem.contains("`summaries[2].p95` (whisker) is 1e+300"),
            "{problem}"
        );
        result.summaries[2].p95 = result.summaries[2].max;

        result.figures[0].reference_lines[0].value = f64::MAX;
        let problem = problem_of(&result, "time").unwrap();
        assert!(
            problem.contains("reference line `1 ms` is 1.7976931348623157e308"),
            "{problem}"
        );
    }
}
