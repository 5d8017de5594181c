//! Distribution figures: one horizontal strip per number, one dot per run,
//! for reading many runs of the same experiment at once (`mmlab class`).
//! Each row is drawn against the class's median of that number, on one
//! shared log axis of ratios (×1/8 to ×8), so rows of nanoseconds and rows
//! of GB/s sit under one another: the box is the interquartile range, the
//! dark tick the median, red dots the runs flagged as outliers, and one run
//! (`highlight`) a large blue diamond in every row. A row whose values are
//! not all positive has no ratio: it is drawn on a linear axis of its own,
//! from its least to its largest value, and says so.
//!
//! Not a [`mmlab_core::FigureKind`]: those are declared by an experiment
//! over the rows of one result file, while a distribution is built from
//! many result files by the class report, so it takes its rows directly.

use std::path::{Path, PathBuf};

use crate::frame::{Heading, LEGEND_SIZE, MARGIN, WIDTH};
use crate::scale::format_number;
use crate::scene::{Anchor, MarkerKind, Rgb, Scene, ellipsize};

const ROW_HEIGHT: i32 = 30;
const LABEL_WIDTH: i32 = 330;
const STATS_WIDTH: i32 = 190;
const ROW_SIZE: f64 = 13.0;
/// The axis runs from 1/RANGE to RANGE times the median.
pub const RANGE: f64 = 8.0;
const BOX: Rgb = Rgb(0xC6, 0xDB, 0xEF);
const BOX_EDGE: Rgb = Rgb(0x21, 0x66, 0xAC);
const DOT: Rgb = Rgb(0x88, 0x88, 0x88);
const OUTLIER: Rgb = Rgb(0xCF, 0x22, 0x2E);
const HIGHLIGHT: Rgb = Rgb(0x08, 0x45, 0x94);

/// One number across the runs.
#[derive(Debug, Clone)]
pub struct Row {
    pub label: String,
    /// (run index, value) for every run that has the number.
    pub values: Vec<(usize, f64)>,
    /// Run indices flagged as outliers of this number.
    pub outliers: Vec<usize>,
    pub median: f64,
    pub q1: f64,
    pub q3: f64,
}

/// A distribution figure: a title, a subtitle, its rows and the run to
/// mark in every row.
#[derive(Debug, Clone)]
pub struct Distribution {
    pub title: String,
    pub subtitle: String,
    pub rows: Vec<Row>,
    /// (run index, its label)
    pub highlight: Option<(usize, String)>,
}

/// The file written for a distribution figure: a PNG only, since with a
/// dot per run in every row an SVG holds tens of thousands of elements
/// (2 MB a figure for 300 runs) and shows nothing the PNG does not.
#[derive(Debug, Clone)]
pub struct DrawnDistribution {
    pub png: PathBuf,
    /// Rows drawn on a linear axis of their own (not all values positive).
    pub linear_rows: usize,
    /// Values beyond ×1/8..×8 of their median, drawn at the axis' end.
    pub clamped: usize,
}

/// A small, stable vertical offset for run `index` inside its row, so
/// runs with equal values do not hide one another.
fn jitter(index: usize) -> i32 {
    let h = (index as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(17);
    (h % 13) as i32 - 6
}

/// The scene of a distribution figure, and (rows on a linear axis, values
/// clamped at the axis' ends).
pub fn scene(d: &Distribution) -> (Scene, usize, usize) {
    let heading = Heading::new(&d.title, &d.subtitle, WIDTH);
    let top = heading.height() + 34;
    let left = MARGIN + LABEL_WIDTH;
    let right = WIDTH - MARGIN - STATS_WIDTH;
    let n_rows = d.rows.len().max(1) as i32;
    let bottom = top + n_rows * ROW_HEIGHT;
    let legend_top = bottom + 30;
    let height = legend_top + 3 * 22 + MARGIN;
    let mut scene = Scene::new(WIDTH as u32, height as u32);
    heading.draw(&mut scene);
    let x_of_ratio = |ratio: f64| -> (i32, bool) {
        let t = (ratio.ln() / RANGE.ln()).clamp(-1.0, 1.0);
        let clamped = ratio.ln().abs() > RANGE.ln();
        (
            left + ((t + 1.0) / 2.0 * (right - left) as f64).round() as i32,
            clamped,
        )
    };
    // The shared ratio axis: ticks at powers of two, the median line.
    for power in -3..=3 {
        let ratio = 2f64.powi(power);
        let (x, _) = x_of_ratio(ratio);
        let colour = if power == 0 { Rgb::AXIS } else { Rgb::GRID };
        scene.line(vec![(x, top - 4), (x, bottom)], colour, 1);
        let text = match power {
            0 => "median".to_string(),
            p if p > 0 => format!("×{}", 1 << p),
            p => format!("×1/{}", 1 << -p),
        };
        scene.text(&text, x, top - 8, 13.0, Rgb::MUTED, Anchor::BottomCenter);
    }
    scene.text(
        "median · IQR (n)",
        WIDTH - MARGIN,
        top - 8,
        13.0,
        Rgb::MUTED,
        Anchor::TopRight,
    );
    let mut linear_rows = 0;
    let mut clamped = 0;
    for (r, row) in d.rows.iter().enumerate() {
        let y = top + r as i32 * ROW_HEIGHT + ROW_HEIGHT / 2;
        if r % 2 == 1 {
            scene.rect(
                MARGIN,
                y - ROW_HEIGHT / 2,
                WIDTH - MARGIN,
                y + ROW_HEIGHT / 2,
                Rgb(0xF7, 0xF7, 0xF7),
            );
        }
        scene.text(
            &ellipsize(&row.label, ROW_SIZE, LABEL_WIDTH - 8),
            MARGIN,
            y,
            ROW_SIZE,
            Rgb::TEXT,
            Anchor::MiddleLeft,
        );
        let ratio_axis = row.median > 0.0 && row.values.iter().all(|(_, v)| *v > 0.0);
        let (low, high) = row
            .values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
                (lo.min(*v), hi.max(*v))
            });
        let x_of = |value: f64| -> (i32, bool) {
            if ratio_axis {
                x_of_ratio(value / row.median)
            } else if high > low {
                let t = (value - low) / (high - low);
                (left + (t * (right - left) as f64).round() as i32, false)
            } else {
                ((left + right) / 2, false)
            }
        };
        if !ratio_axis {
            linear_rows += 1;
        }
        let (x1, _) = x_of(row.q1);
        let (x3, _) = x_of(row.q3);
        let (box_left, box_right) = (x1.min(x3), x1.max(x3).max(x1.min(x3) + 1));
        scene.rect(box_left, y - 9, box_right, y + 9, BOX);
        let outlier = |i: usize| row.outliers.contains(&i);
        for (run, value) in &row.values {
            if outlier(*run) || d.highlight.as_ref().is_some_and(|(h, _)| h == run) {
                continue;
            }
            let (x, c) = x_of(*value);
            clamped += usize::from(c);
            scene.marker_sized(x, y + jitter(*run), MarkerKind::Circle, DOT, true, 2);
        }
        // The box's outline over the dots, so it shows however many runs.
        scene.outline(box_left, y - 9, box_right, y + 9, BOX_EDGE, 1);
        let (xm, _) = x_of(row.median);
        scene.line(vec![(xm, y - 11), (xm, y + 11)], Rgb::TEXT, 2);
        for (run, value) in row.values.iter().filter(|(run, _)| outlier(*run)) {
            let (x, c) = x_of(*value);
            clamped += usize::from(c);
            let kind = if c {
                MarkerKind::Triangle
            } else {
                MarkerKind::Circle
            };
            scene.marker_sized(x, y + jitter(*run), kind, OUTLIER, true, 4);
        }
        if let Some((h, _)) = &d.highlight
            && let Some((_, value)) = row.values.iter().find(|(run, _)| run == h)
        {
            let (x, c) = x_of(*value);
            clamped += usize::from(c);
            // A tick through the row and a diamond: seen among 300 dots.
            scene.line(vec![(x, y - 13), (x, y + 13)], HIGHLIGHT, 2);
            scene.marker_sized(x, y, MarkerKind::Diamond, HIGHLIGHT, true, 7);
        }
        let stats = format!(
            "{} · {}–{} ({}){}",
            format_number(row.median),
            format_number(row.q1),
            format_number(row.q3),
            row.values.len(),
            if ratio_axis { "" } else { " lin" }
        );
        scene.text(
            &ellipsize(&stats, 12.0, STATS_WIDTH - 6),
            WIDTH - MARGIN,
            y,
            12.0,
            Rgb::TEXT,
            Anchor::MiddleRight,
        );
    }
    scene.line(vec![(left, bottom), (right, bottom)], Rgb::AXIS, 1);
    let mut legend_y = legend_top;
    let mut legend = |scene: &mut Scene, marker: Option<(MarkerKind, Rgb, i32)>, text: &str| {
        let mut x = MARGIN;
        if let Some((kind, colour, size)) = marker {
            scene.marker_sized(x + 8, legend_y, kind, colour, true, size);
            x += 24;
        }
        scene.text(
            text,
            x,
            legend_y,
            LEGEND_SIZE,
            Rgb::TEXT,
            Anchor::MiddleLeft,
        );
        legend_y += 22;
    };
    legend(
        &mut scene,
        Some((MarkerKind::Circle, DOT, 3)),
        "one run; blue box: the middle half of the runs (the IQR); dark tick: the class median",
    );
    legend(
        &mut scene,
        Some((MarkerKind::Circle, OUTLIER, 5)),
        "an outlier (beyond 3 scaled median absolute deviations); a triangle: beyond ×8 or ×1/8, drawn at the end",
    );
    match &d.highlight {
        Some((_, label)) => legend(
            &mut scene,
            Some((MarkerKind::Diamond, HIGHLIGHT, 6)),
            &format!("run {label} (blue tick and diamond)"),
        ),
        None => legend(
            &mut scene,
            None,
            "rows marked lin: values not all positive, on a linear axis from the row's least to its largest value",
        ),
    }
    (scene, linear_rows, clamped)
}

/// Draws `d` into `<stem>.png`.
pub fn distribution(d: &Distribution, stem: &Path) -> anyhow::Result<DrawnDistribution> {
    use anyhow::Context;
    let (scene, linear_rows, clamped) = scene(d);
    let mut png = stem.as_os_str().to_owned();
    png.push(".png");
    let png = PathBuf::from(png);
    mmlab_core::io::write_atomic(&png, &scene.png_bytes()?)
        .with_context(|| format!("cannot write {}", png.display()))?;
    Ok(DrawnDistribution {
        png,
        linear_rows,
        clamped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[f64], outliers: &[usize]) -> Row {
        Row {
            label: "a number".into(),
            values: values.iter().copied().enumerate().collect(),
            outliers: outliers.to_vec(),
            median: 10.0,
            q1: 9.0,
            q3: 11.0,
        }
    }

    #[test]
    fn every_run_is_a_mark_and_the_highlight_and_outliers_are_drawn_apart() {
        let d = Distribution {
            title: "t".into(),
            subtitle: "s".into(),
            rows: vec![row(&[10.0, 9.0, 11.0, 3.0, 200.0], &[3, 4])],
            highlight: Some((1, "alice".into())),
        };
        let (scene, linear, clamped) = scene(&d);
        assert_eq!(linear, 0);
        // 200 is 20 times the median: beyond ×8, drawn at the end.
        assert_eq!(clamped, 1);
        let markers: Vec<_> = scene
            .shapes
            .iter()
            .filter_map(|s| match s {
                crate::scene::Shape::Marker {
                    colour, size, kind, ..
                } => Some((*colour, *size, *kind)),
                _ => None,
            })
            .collect();
        let count = |c: Rgb, size: i32| markers.iter().filter(|m| m.0 == c && m.1 == size).count();
        assert_eq!(count(DOT, 2), 2, "runs 0 and 2");
        assert_eq!(count(OUTLIER, 4), 2, "runs 3 and 4");
        assert_eq!(count(HIGHLIGHT, 7), 1, "run 1");
    }

    #[test]
    fn a_row_with_a_value_that_is_not_positive_has_a_linear_axis_of_its_own() {
        let d = Distribution {
            title: "t".into(),
            subtitle: "s".into(),
            rows: vec![row(&[0.0, 1.0, 2.0], &[])],
            highlight: None,
        };
        let (_, linear, _) = scene(&d);
        assert_eq!(linear, 1);
    }
}
