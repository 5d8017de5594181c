//! Bar figures: one group per x category, one bar per series (per run in a
//! comparison, the second run's bars light with an outline); the median of
//! repeated rows with a p5-p95 whisker. A value this machine could not
//! measure is a cross at the foot of its slot, never a bar of height zero.

use std::path::Path;

use mmlab_core::FigureSpec;
use serde_json::Value;

use crate::data;
use crate::figure::{
    Drawn, SeriesData, Source, Unusable, collect_series, legend_below, look, series_legend,
    subtitle,
};
use crate::frame::{Heading, LABEL_SIZE, LegendItem, MARGIN, WIDTH};
use crate::line::{PLOT_HEIGHT, PlotBox};
use crate::palette::Palette;
use crate::scale::{Scale, TickFormat};
use crate::scene::{Anchor, Rgb, Scene, text_width, wrap};

const CATEGORY_SIZE: f64 = 14.0;
const CATEGORY_LINE: i32 = 18;
const VALUE_SIZE: f64 = 12.0;

/// The least height, in pixels, of a bar whose value is not zero: a value
/// of 1 beside one of 16,000 on a linear axis is still seen to be there.
pub const MIN_BAR: i32 = 3;

/// Draws a bar figure of `sources` (several: side by side in each group)
/// into `<stem>.svg` and `<stem>.png`.
pub fn bar(
    spec: &FigureSpec,
    sources: &[Source],
    palette: &Palette,
    stem: &Path,
) -> Result<Drawn, Unusable> {
    let (scene, notes) = bar_scene(spec, sources, palette)?;
    let (svg, png) = scene.write(stem)?;
    Ok(Drawn {
        svg,
        png,
        notes,
        problem: None,
    })
}

/// The bar figure of `sources` laid out in pixels, and its notes.
///
/// A value of zero is a flat mark in the series' colour on the baseline,
/// labelled `0`, on a linear axis and on a log axis alike (there the axis
/// gets a zero of its own below its powers); any other value is a bar at
/// least [`MIN_BAR`] pixels high.
pub fn bar_scene(
    spec: &FigureSpec,
    sources: &[Source],
    palette: &Palette,
) -> Result<(Scene, Vec<String>), Unusable> {
    let mut notes = Vec::new();
    let series = collect_series(spec, sources, &mut notes)?;

    let mut categories: Vec<(Value, String)> = Vec::new();
    for s in &series {
        for (x, _) in &s.cells {
            let text = data::label(&spec.x.field, x);
            if !categories.iter().any(|(_, t)| *t == text) {
                categories.push((x.clone(), text));
            }
        }
    }
    // Categories that are all numbers (folio sizes, block sizes) read in
    // order of size; names keep the order the data gives them.
    let number = |v: &Value| match v {
        Value::Number(_) | Value::String(_) => data::number(v),
        _ => None,
    };
    if categories.iter().all(|(key, _)| number(key).is_some()) {
        categories.sort_by(|a, b| {
            let key = |v: &Value| number(v).unwrap_or(f64::NAN);
            key(&a.0).total_cmp(&key(&b.0))
        });
    }
    let mut ys = Vec::new();
    for s in &series {
        for (_, cell) in &s.cells {
            if let Some(median) = cell.median() {
                ys.push(median);
                if let Some((low, high)) = cell.whisker() {
                    ys.extend([low, high]);
                }
            }
        }
    }
    ys.extend(spec.reference_lines.iter().map(|r| r.value));
    let format = TickFormat::for_field(&spec.y.field);
    let mut y_scale = Scale::new(&ys, spec.y.log, format, true);

    let mut items = series_legend(spec, &series, sources, palette, true, &mut notes);
    let heading = Heading::new(&spec.title, &subtitle(spec, sources), WIDTH);
    let plot = PlotBox::new(&heading, &y_scale, PLOT_HEIGHT);
    y_scale.place(plot.bottom, plot.top);

    let n_categories = categories.len().max(1) as i32;
    let slot = (plot.right - plot.left) / n_categories;
    // Category names under their slot, on up to three lines; when one does
    // not fit without cutting a word, every slot gets a number instead and
    // the names are listed under the plot.
    let wrapped: Vec<Vec<String>> = categories
        .iter()
        .map(|(_, text)| wrap(text, CATEGORY_SIZE, slot - 6))
        .collect();
    let fits = categories
        .iter()
        .zip(&wrapped)
        .all(|((_, text), lines)| lines.len() <= 3 && breaks_cleanly(text, lines));
    let category_lines: Vec<Vec<String>> = if fits {
        wrapped
    } else {
        for (i, (_, text)) in categories.iter().enumerate() {
            items.push(LegendItem::Note {
                text: format!("[{}] {text}", i + 1),
            });
        }
        (1..=categories.len())
            .map(|i| vec![format!("[{i}]")])
            .collect()
    };
    let label_rows = category_lines.iter().map(Vec::len).max().unwrap_or(1) as i32;
    let x_label_y = plot.bottom + 10 + label_rows * CATEGORY_LINE + 8;

    let any_partly_missing = series
        .iter()
        .any(|s| s.n_values > 0 && s.cells.iter().any(|(_, c)| c.values.is_empty()));
    if any_partly_missing {
        items.push(LegendItem::Note {
            text: "× at the foot of a slot: no value there (not measured on this machine)"
                .to_string(),
        });
    }
    let legend = legend_below(&items);
    let legend_top = x_label_y + 34;
    let height = legend_top + legend.height + MARGIN;
    let mut scene = Scene::new(WIDTH as u32, height as u32);
    heading.draw(&mut scene);
    let dummy_x = Scale::new(&[], false, TickFormat::Number, false);
    plot.draw_axes(
        &mut scene,
        &dummy_x,
        &y_scale,
        &spec.x.label,
        &spec.y.label,
        None,
    );
    scene.text(
        &spec.x.label,
        (plot.left + plot.right) / 2,
        x_label_y,
        LABEL_SIZE,
        Rgb::TEXT,
        Anchor::TopCenter,
    );

    let n_bars = categories
        .iter()
        .map(|(key, _)| {
            let text = data::label(&spec.x.field, key);
            series
                .iter()
                .filter(|s| {
                    s.cells
                        .iter()
                        .any(|(k, _)| data::label(&spec.x.field, k) == text)
                })
                .count()
        })
        .max()
        .unwrap_or(1)
        .max(1) as i32;
    let mut name_order: Vec<&str> = Vec::new();
    for s in &series {
        if !name_order.contains(&s.name.as_str()) {
            name_order.push(&s.name);
        }
    }
    let bar_width = ((slot as f64 * 0.8) / n_bars as f64).clamp(3.0, 90.0) as i32;
    let base = y_scale.base_pixel();
    let mut n_off_log = 0;
    // What is drawn in the plot (bars, whiskers, value labels), so that a
    // value too wide for its bar is written turned upright over it only
    // where it touches nothing.
    let mut occupied: Vec<(i32, i32, i32, i32)> = Vec::new();
    let mut labels: Vec<(String, i32, i32, bool)> = Vec::new();
    for (c, ((key, _), lines)) in categories.iter().zip(&category_lines).enumerate() {
        let slot_left = plot.left + c as i32 * slot;
        let same_category =
            |k: &Value| data::label(&spec.x.field, k) == data::label(&spec.x.field, key);
        for (i, line) in lines.iter().enumerate() {
            scene.text(
                line,
                slot_left + slot / 2,
                plot.bottom + 10 + i as i32 * CATEGORY_LINE,
                CATEGORY_SIZE,
                Rgb::TEXT,
                Anchor::TopCenter,
            );
        }
        // Only the series with a row in this category take a place in its
        // group; a row whose value is null is a cross, no row is nothing.
        // In a comparison the runs of one series stand side by side.
        let mut present: Vec<&SeriesData> = series
            .iter()
            .filter(|s| s.cells.iter().any(|(k, _)| same_category(k)))
            .collect();
        present.sort_by_key(|s| (name_order.iter().position(|n| *n == s.name), s.run));
        let group_left = slot_left + (slot - present.len() as i32 * bar_width) / 2;
        for (b, s) in present.into_iter().enumerate() {
            let look = look(s, &series, palette);
            let x0 = group_left + b as i32 * bar_width;
            let x1 = x0 + bar_width - if bar_width > 6 { 2 } else { 0 };
            let middle = (x0 + x1) / 2;
            let cell = s
                .cells
                .iter()
                .find(|(k, _)| same_category(k))
                .map(|(_, cell)| cell);
            let Some(median) = cell.and_then(|c| c.median()) else {
                // Nothing measured here: a cross, not a bar of zero.
                let y = base - 8;
                scene.line(
                    vec![(middle - 5, y - 5), (middle + 5, y + 5)],
                    look.colour,
                    2,
                );
                scene.line(
                    vec![(middle - 5, y + 5), (middle + 5, y - 5)],
                    look.colour,
                    2,
                );
                continue;
            };
            if !y_scale.can_show(median) {
                // A negative value has no place on a log axis: write it on
                // the baseline, so it reads as a value and not as missing.
                n_off_log += 1;
                let text = format.format(median);
                if text_width(&text, VALUE_SIZE) <= bar_width {
                    scene.text(
                        &text,
                        middle,
                        base - 3,
                        VALUE_SIZE,
                        Rgb::TEXT,
                        Anchor::BottomCenter,
                    );
                }
                continue;
            }
            let mut top = y_scale.pixel(median);
            if median == 0.0 {
                // Zero: a flat mark on the baseline, labelled below.
                top = base;
                scene.line(vec![(x0, base), (x1, base)], look.colour, 3);
            } else {
                // Never so short that it reads as zero.
                if median > 0.0 {
                    top = top.min(base - MIN_BAR);
                } else {
                    top = top.max(base + MIN_BAR);
                }
                if look.second_run {
                    scene.rect(x0, top, x1, base, look.colour.tint(0.6));
                    scene.outline(x0, top, x1, base, look.colour, 2);
                } else {
                    scene.rect(x0, top, x1, base, look.colour);
                }
            }
            occupied.push((x0, top.min(base), x1, top.max(base)));
            let mut label_bottom = top - 3;
            if let Some((low, high)) = cell.and_then(|c| c.whisker())
                && y_scale.can_show(low)
                && y_scale.can_show(high)
            {
                let (y_low, y_high) = (y_scale.pixel(low), y_scale.pixel(high));
                if (y_low - y_high).abs() > 2 {
                    let cap = (bar_width / 4).clamp(2, 6);
                    scene.line(vec![(middle, y_low), (middle, y_high)], Rgb::TEXT, 1);
                    scene.line(
                        vec![(middle - cap, y_high), (middle + cap, y_high)],
                        Rgb::TEXT,
                        1,
                    );
                    scene.line(
                        vec![(middle - cap, y_low), (middle + cap, y_low)],
                        Rgb::TEXT,
                        1,
                    );
                }
                label_bottom = label_bottom.min(y_high - 3);
                occupied.push((middle - 6, y_high.min(y_low), middle + 6, y_high.max(y_low)));
            }
            let text = format.format(median);
            if median >= 0.0 {
                labels.push((text, middle, label_bottom, false));
            } else {
                // Under the end of a bar that hangs below zero.
                let below = cell
                    .and_then(|c| c.whisker())
                    .filter(|(low, _)| y_scale.can_show(*low))
                    .map_or(top, |(low, _)| top.max(y_scale.pixel(low)));
                labels.push((text, middle, below + 3, true));
            }
        }
    }
    // Values over their bars, once every bar is placed: level where it
    // fits (about its bar's width) and touches nothing, else turned
    // upright where that touches nothing, else left to the axis.
    // `at`: the label's bottom (over a bar), or its top (`under` a bar
    // below zero).
    for (text, middle, at, under) in labels {
        let width = text_width(&text, VALUE_SIZE);
        let touches = |place: (i32, i32, i32, i32), occupied: &[(i32, i32, i32, i32)]| {
            occupied
                .iter()
                .any(|o| place.0 < o.2 && o.0 < place.2 && place.1 < o.3 && o.1 < place.3)
        };
        let span = |height: i32| {
            if under {
                (at, at + height)
            } else {
                (at - height, at)
            }
        };
        let (level_top, level_bottom) = span(14);
        let level = (
            middle - width / 2 - 1,
            level_top,
            middle + width / 2 + 1,
            level_bottom,
        );
        let (upright_top, upright_bottom) = span(width);
        let upright = (middle - 8, upright_top, middle + 8, upright_bottom);
        let inside = |top: i32, bottom: i32| top >= plot.top - 18 && bottom <= plot.bottom;
        if width <= bar_width + 2 && inside(level_top, level_bottom) && !touches(level, &occupied) {
            let anchor = if under {
                Anchor::TopCenter
            } else {
                Anchor::BottomCenter
            };
            scene.text(&text, middle, at, VALUE_SIZE, Rgb::TEXT, anchor);
            occupied.push(level);
        } else if inside(upright_top, upright_bottom) && !touches(upright, &occupied) {
            let centre = (upright_top + upright_bottom) / 2;
            scene.vertical_text(&text, middle, centre, VALUE_SIZE, Rgb::TEXT);
            occupied.push(upright);
        }
    }
    for (index, reference) in spec.reference_lines.iter().enumerate() {
        if y_scale.can_show(reference.value) {
            let y = y_scale.pixel(reference.value);
            crate::frame::reference_line(&mut scene, index, (plot.left, plot.right), y);
        }
    }
    if n_off_log > 0 {
        notes.push(format!(
            "{n_off_log} bar(s) below zero cannot be drawn on the log scale: their value is written on the baseline"
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
    legend.draw(&mut scene, MARGIN, legend_top);
    Ok((scene, notes))
}

/// At most `max` lines, the last ending in an ellipsis when text was cut.
pub fn shorten_lines(mut lines: Vec<String>, max: usize, width: i32) -> Vec<String> {
    if lines.len() <= max {
        return lines;
    }
    lines.truncate(max);
    let last = lines.last_mut().expect("max > 0");
    *last = crate::scene::ellipsize(&format!("{last}…"), CATEGORY_SIZE, width);
    if !last.ends_with('…') {
        last.push('…');
    }
    lines
}

/// Whether `lines` break `text` only at spaces or after `-`, `_`, `/`,
/// `|`, `,` or `=` (never inside a word).
pub fn breaks_cleanly(text: &str, lines: &[String]) -> bool {
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut rest = words.as_str();
    for (i, line) in lines.iter().enumerate() {
        let Some(after) = rest.strip_prefix(line.as_str()) else {
            return false;
        };
        rest = after;
        if i + 1 == lines.len() {
            break;
        }
        if let Some(after_space) = rest.strip_prefix(' ') {
            rest = after_space;
        } else if !line.ends_with(['-', '_', '/', '|', ',', '=']) {
            return false;
        }
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_breaks_are_at_spaces_or_after_separators() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(breaks_cleanly(
            "read-fresh-buffer 64k",
            &lines(&["read-fresh-", "buffer 64k"])
        ));
        assert!(breaks_cleanly(
            "file cold (readahead)",
            &lines(&["file cold", "(readahead)"])
        ));
        assert!(!breaks_cleanly(
            "file cold (readahead)",
            &lines(&["file cold (readahea", "d)"])
        ));
        assert!(!breaks_cleanly(
            "anonymous, read",
            &lines(&["anonymo", "us, read"])
        ));
    }
}
