//! Line figures: y against a numeric x, one line per series; repeated rows
//! at the same (series, x) are drawn as their median with a p5-p95 whisker.

use std::path::Path;

use mmlab_core::FigureSpec;

use crate::data;
use crate::figure::{
    Drawn, Source, Unusable, collect_series, legend_below, look, series_legend, subtitle,
};
use crate::frame::{Heading, LABEL_SIZE, LegendItem, MARGIN, TICK_SIZE, WIDTH};
use crate::guides::Guide;
use crate::palette::Palette;
use crate::scale::{Scale, TickFormat};
use crate::scene::{Anchor, Rgb, Scene, ellipsize, text_width, wrap};

pub const PLOT_HEIGHT: i32 = 400;

/// Points along a slope guide (straight on linear and log-log axes; on one
/// log axis and one linear a curve, so sampled).
const GUIDE_STEPS: usize = 120;

/// x, median y, and the p5-p95 whisker when there is one.
type Point = (f64, f64, Option<(f64, f64)>);

/// Draws a line figure of `sources` (several: overlaid, the second dashed)
/// into `<stem>.svg` and `<stem>.png`.
pub fn line(
    spec: &FigureSpec,
    sources: &[Source],
    palette: &Palette,
    stem: &Path,
) -> Result<Drawn, Unusable> {
    let (scene, notes) = line_scene(spec, sources, palette)?;
    let (svg, png) = scene.write(stem)?;
    Ok(Drawn {
        svg,
        png,
        notes,
        problem: None,
    })
}

/// The line figure of `sources` laid out in pixels, and its notes. On a log
/// axis a value of zero is drawn at the axis's own zero (below its powers,
/// labelled `0`), never left out.
pub fn line_scene(
    spec: &FigureSpec,
    sources: &[Source],
    palette: &Palette,
) -> Result<(Scene, Vec<String>), Unusable> {
    let mut notes = Vec::new();
    let series = collect_series(spec, sources, &mut notes)?;

    let mut n_not_numeric_x = 0;
    let mut n_off_log = 0;
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for s in &series {
        for (x, cell) in &s.cells {
            let Some(x) = data::number(x) else {
                n_not_numeric_x += 1;
                continue;
            };
            xs.push(x);
            if let Some(median) = cell.median() {
                ys.push(median);
                if let Some((low, high)) = cell.whisker() {
                    ys.extend([low, high]);
                }
            }
        }
    }
    if xs.is_empty() && n_not_numeric_x > 0 {
        return Err(Unusable(format!(
            "field `{}` (x) holds no number: a line figure needs numbers (declare a bar figure for categories)",
            spec.x.field
        )));
    }
    ys.extend(spec.reference_lines.iter().map(|r| r.value));
    // Guides widen the axes to show themselves: a vertical line its x, a
    // slope its values at both ends of the data's x.
    let guides = crate::guides::of(spec, sources)?;
    let x_ends = {
        let on_axis: Vec<f64> = xs
            .iter()
            .copied()
            .filter(|x| !spec.x.log || *x > 0.0)
            .collect();
        let low = on_axis.iter().copied().fold(f64::INFINITY, f64::min);
        let high = on_axis.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (low <= high).then_some((low, high))
    };
    for guide in &guides {
        match guide {
            Guide::Vertical { x, .. } => xs.push(*x),
            Guide::Slope { slope, .. } => {
                if let Some((low, high)) = x_ends {
                    ys.extend([slope * low, slope * high]);
                }
            }
        }
    }
    let mut x_scale = Scale::tight(&xs, spec.x.log, TickFormat::for_field(&spec.x.field));
    let mut y_scale = Scale::for_points(&ys, spec.y.log, TickFormat::for_field(&spec.y.field));
    if n_not_numeric_x > 0 {
        notes.push(format!(
            "{n_not_numeric_x} point(s) whose `{}` is not a number are left out",
            spec.x.field
        ));
    }

    let mut items = series_legend(spec, &series, sources, palette, false, &mut notes);
    let first_guide = spec.reference_lines.len();
    for (i, guide) in guides.iter().enumerate() {
        items.push(LegendItem::Reference {
            text: guide.label().to_string(),
            index: first_guide + i,
        });
    }
    let heading = Heading::new(&spec.title, &subtitle(spec, sources), WIDTH);
    let legend = legend_below(&items);
    let plot = PlotBox::new(&heading, &y_scale, PLOT_HEIGHT);
    x_scale.place(plot.left, plot.right);
    y_scale.place(plot.bottom, plot.top);
    let height = plot.bottom + 66 + legend.height + MARGIN;
    let mut scene = Scene::new(WIDTH as u32, height as u32);
    heading.draw(&mut scene);
    plot.draw_axes(
        &mut scene,
        &x_scale,
        &y_scale,
        &spec.x.label,
        &spec.y.label,
        Some(36),
    );

    for (index, reference) in spec.reference_lines.iter().enumerate() {
        if y_scale.can_show(reference.value) {
            let y = y_scale.pixel(reference.value);
            crate::frame::reference_line(&mut scene, index, (plot.left, plot.right), y);
        }
    }
    for (i, guide) in guides.iter().enumerate() {
        let points: Vec<(i32, i32)> = match guide {
            Guide::Vertical { x, .. } if x_scale.contains(*x) => {
                let px = x_scale.pixel(*x);
                vec![(px, plot.top), (px, plot.bottom)]
            }
            Guide::Vertical { .. } => Vec::new(),
            Guide::Slope { slope, .. } => (0..=GUIDE_STEPS)
                .map(|step| x_scale.value_at(step as f64 / GUIDE_STEPS as f64))
                .filter(|x| y_scale.contains(slope * x))
                .map(|x| (x_scale.pixel(x), y_scale.pixel(slope * x)))
                .collect(),
        };
        if points.len() > 1 {
            crate::frame::reference_path(&mut scene, first_guide + i, points);
        } else {
            notes.push(format!("guide `{}` falls outside the plot", guide.label()));
        }
    }
    // Where each series is drawn, in pixels, before drawing any: a series
    // hidden under a later one (the same points) gets a wide halo so both
    // stay visible.
    struct Placed {
        look: crate::frame::SeriesLook,
        pixels: Vec<(i32, i32)>,
        whiskers: Vec<Option<(i32, i32)>>,
    }
    let mut placed: Vec<Placed> = Vec::new();
    for s in series.iter().filter(|s| s.n_values > 0) {
        let mut points: Vec<Point> = s
            .cells
            .iter()
            .filter_map(|(x, cell)| Some((data::number(x)?, cell.median()?, cell.whisker())))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let shown: Vec<_> = points
            .iter()
            .filter(|(x, y, _)| x_scale.can_show(*x) && y_scale.can_show(*y))
            .collect();
        n_off_log += points.len() - shown.len();
        placed.push(Placed {
            look: look(s, &series, palette),
            pixels: shown
                .iter()
                .map(|(x, y, _)| (x_scale.pixel(*x), y_scale.pixel(*y)))
                .collect(),
            whiskers: shown
                .iter()
                .map(|(_, _, whisker)| {
                    whisker
                        .filter(|(low, high)| y_scale.can_show(*low) && y_scale.can_show(*high))
                        .map(|(low, high)| (y_scale.pixel(low), y_scale.pixel(high)))
                })
                .collect(),
        });
    }
    let close = |a: (i32, i32), b: (i32, i32)| (a.0 - b.0).abs() <= 2 && (a.1 - b.1).abs() <= 2;
    let mut n_hidden = 0;
    for (i, series_placed) in placed.iter().enumerate() {
        let Placed {
            look,
            pixels,
            whiskers,
        } = series_placed;
        let hidden = placed[i + 1..].iter().any(|later| {
            let shared = pixels
                .iter()
                .filter(|p| later.pixels.iter().any(|q| close(**p, *q)))
                .count();
            // Most of its points (four in five) under the later series.
            shared * 5 >= pixels.len() * 4 && !pixels.is_empty()
        });
        if hidden {
            n_hidden += 1;
            if pixels.len() > 1 {
                scene.line(pixels.clone(), look.colour.tint(0.45), 8);
            }
            for (px, py) in pixels {
                scene.marker_sized(*px, *py, look.marker, look.colour.tint(0.45), true, 9);
            }
        }
        if pixels.len() > 1 {
            if look.second_run {
                scene.dashed(pixels.clone(), look.colour, 2);
            } else {
                scene.line(pixels.clone(), look.colour, 2);
            }
        }
        for ((px, py), whisker) in pixels.iter().zip(whiskers) {
            if let Some((y_low, y_high)) = whisker
                && (y_low - y_high).abs() > 2
            {
                scene.line(vec![(*px, *y_low), (*px, *y_high)], look.colour, 1);
                scene.line(vec![(px - 4, *y_low), (px + 4, *y_low)], look.colour, 1);
                scene.line(vec![(px - 4, *y_high), (px + 4, *y_high)], look.colour, 1);
            }
            scene.marker(*px, *py, look.marker, look.colour, !look.second_run);
        }
    }
    if n_hidden > 0 {
        notes.push(format!(
            "{n_hidden} series lie under another one; drawn with a wide light halo"
        ));
    }
    if n_off_log > 0 {
        notes.push(format!(
            "{n_off_log} point(s) below zero cannot be drawn on the log scale"
        ));
    }
    if series.iter().all(|s| s.n_values == 0) {
        plot.empty_message(
            &mut scene,
            &series
                .first()
                .map(|s| s.missing_reason.clone())
                .unwrap_or_default(),
        );
    }
    legend.draw(&mut scene, MARGIN, plot.bottom + 66);
    Ok((scene, notes))
}

/// The plot rectangle of a line or bar figure, under its heading, with room
/// on the left for the y tick labels and the y-axis label.
#[derive(Debug, Clone, Copy)]
pub struct PlotBox {
    pub left: i32,
    pub right: i32,
    pub top: i32,
    pub bottom: i32,
}

impl PlotBox {
    pub fn new(heading: &Heading, y_scale: &Scale, height: i32) -> PlotBox {
        let tick_width = y_scale
            .ticks()
            .iter()
            .map(|(_, label)| text_width(label, TICK_SIZE))
            .max()
            .unwrap_or(20);
        // Room above the plot for a value label over the tallest bar.
        let top = heading.height() + 22;
        PlotBox {
            left: MARGIN + 30 + tick_width + 10,
            right: WIDTH - MARGIN - 16,
            top,
            bottom: top + height,
        }
    }

    /// Grid lines, axes, ticks and labels. `x_ticks`: for a numeric x, the
    /// offset below the plot of the x-axis label (ticks above it); `None`
    /// for categories, which draw their own labels.
    pub fn draw_axes(
        &self,
        scene: &mut Scene,
        x_scale: &Scale,
        y_scale: &Scale,
        x_label: &str,
        y_label: &str,
        x_ticks: Option<i32>,
    ) {
        for (y, label) in y_scale.ticks() {
            scene.line(vec![(self.left, y), (self.right, y)], Rgb::GRID, 1);
            scene.line(vec![(self.left - 5, y), (self.left, y)], Rgb::AXIS, 1);
            scene.text(
                &label,
                self.left - 8,
                y,
                TICK_SIZE,
                Rgb::TEXT,
                Anchor::MiddleRight,
            );
        }
        if x_ticks.is_some() {
            let mut last_right = i32::MIN;
            for (x, label) in x_scale.ticks() {
                scene.line(vec![(x, self.top), (x, self.bottom)], Rgb::GRID, 1);
                scene.line(vec![(x, self.bottom), (x, self.bottom + 5)], Rgb::AXIS, 1);
                // Leave out a label that would touch the previous one.
                let half = text_width(&label, TICK_SIZE) / 2;
                if x - half > last_right + 8 {
                    scene.text(
                        &label,
                        x,
                        self.bottom + 9,
                        TICK_SIZE,
                        Rgb::TEXT,
                        Anchor::TopCenter,
                    );
                    last_right = x + half;
                }
            }
        }
        scene.line(
            vec![
                (self.left, self.top),
                (self.left, self.bottom),
                (self.right, self.bottom),
            ],
            Rgb::AXIS,
            1,
        );
        // A log axis with a zero of its own: a break in the axis line
        // between 0 and the first power.
        if let Some((zero, powers)) = y_scale.zero_break() {
            axis_break(scene, self.left, (zero + powers) / 2, true);
        }
        if x_ticks.is_some()
            && let Some((zero, powers)) = x_scale.zero_break()
        {
            axis_break(scene, (zero + powers) / 2, self.bottom, false);
        }
        if let Some(offset) = x_ticks {
            scene.text(
                x_label,
                (self.left + self.right) / 2,
                self.bottom + offset,
                LABEL_SIZE,
                Rgb::TEXT,
                Anchor::TopCenter,
            );
        }
        let y_label = fit_vertical_label(y_label, self.bottom - self.top);
        scene.vertical_text(
            &y_label,
            MARGIN + 10,
            (self.top + self.bottom) / 2,
            LABEL_SIZE,
            Rgb::TEXT,
        );
    }

    /// Says in the middle of the plot that nothing in it was measured.
    pub fn empty_message(&self, scene: &mut Scene, reason: &str) {
        let lines = wrap(reason, LABEL_SIZE, self.right - self.left - 40);
        let middle = (self.top + self.bottom) / 2 - lines.len() as i32 * 12;
        for (i, line) in lines.iter().enumerate() {
            scene.text(
                line,
                (self.left + self.right) / 2,
                middle + i as i32 * 24,
                LABEL_SIZE,
                Rgb::MUTED,
                Anchor::MiddleCenter,
            );
        }
    }
}

/// Two slashes across an axis at (x, y), with the axis line cut between
/// them: the axis does not run on from 0 to its first power.
fn axis_break(scene: &mut Scene, x: i32, y: i32, vertical_axis: bool) {
    if vertical_axis {
        scene.rect(x - 1, y - 3, x + 2, y + 3, Rgb::WHITE);
        for dy in [-3, 3] {
            scene.line(vec![(x - 6, y + dy + 3), (x + 6, y + dy - 3)], Rgb::AXIS, 1);
        }
    } else {
        scene.rect(x - 3, y - 1, x + 3, y + 2, Rgb::WHITE);
        for dx in [-3, 3] {
            scene.line(vec![(x + dx - 3, y + 6), (x + dx + 3, y - 6)], Rgb::AXIS, 1);
        }
    }
}

/// A y-axis label shortened with an ellipsis if it is longer than the axis.
fn fit_vertical_label(label: &str, length: i32) -> String {
    ellipsize(label, LABEL_SIZE, length)
}
