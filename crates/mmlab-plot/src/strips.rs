//! Strips figures: one horizontal strip per row, a bitmap of pages (the `y`
//! field: a string of "1" and "0", or an array of booleans or numbers),
//! first page on the left, labelled by the `x` field. Where one pixel stands
//! for several pages its shade is the share of ones among them.

use std::path::Path;

use mmlab_core::FigureSpec;
use serde_json::Value;

use crate::data;
use crate::figure::{Drawn, Source, Unusable, subtitle};
use crate::frame::{Heading, LABEL_SIZE, LegendItem, MARGIN, SeriesLook, TICK_SIZE, WIDTH};
use crate::palette::COLOURS;
use crate::scene::{Anchor, MarkerKind, Rgb, Scene, text_width, wrap};

const ROW_SIZE: f64 = 14.0;
const ROW_HEIGHT: i32 = 28;
/// The height of a second line of a row's label.
const LINE: i32 = 17;
const STRIP_HEIGHT: i32 = 18;
const SET: Rgb = COLOURS[0];
const CLEAR: Rgb = Rgb(0xE6, 0xE6, 0xE6);

/// A row's bitmap, or None when the value is null or not a bitmap.
fn bits(value: Option<&Value>) -> Option<Vec<bool>> {
    match value? {
        Value::String(text) => Some(
            text.chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| c == '1')
                .collect(),
        ),
        Value::Array(items) => Some(items.iter().map(|v| data::truthy(Some(v))).collect()),
        _ => None,
    }
}

/// Draws a strips figure of one run into `<stem>.svg` and `<stem>.png`.
pub fn strips(spec: &FigureSpec, source: &Source, stem: &Path) -> Result<Drawn, Unusable> {
    let mut notes = Vec::new();
    let rows = data::rows(source.result, spec).map_err(Unusable)?;
    if rows.is_empty() {
        return Err(Unusable(format!("no rows in data `{}`", spec.data)));
    }
    if !rows.iter().any(|r| r.get(&spec.y.field).is_some()) {
        return Err(Unusable(format!(
            "field `{}` (y, the bitmap) is in no row of data `{}`",
            spec.y.field, spec.data
        )));
    }
    let strips: Vec<(String, Option<Vec<bool>>)> = rows
        .iter()
        .map(|row| {
            let label = row
                .get(&spec.x.field)
                .map(|v| data::label(&spec.x.field, v))
                .unwrap_or_else(|| "(no label)".to_string());
            (label, bits(row.get(&spec.y.field)))
        })
        .collect();
    let n_pages = strips
        .iter()
        .filter_map(|(_, b)| b.as_ref().map(Vec::len))
        .max()
        .unwrap_or(0);
    let counts: Vec<String> = strips
        .iter()
        .map(|(_, b)| match b {
            Some(b) if !b.is_empty() => {
                let set = b.iter().filter(|x| **x).count();
                format!("{set}/{} ({})", b.len(), percent(set, b.len()))
            }
            Some(_) => "empty".to_string(),
            None => "not measured".to_string(),
        })
        .collect();
    let label_width = strips
        .iter()
        .map(|(l, _)| text_width(l, ROW_SIZE))
        .chain([text_width(&spec.x.label, ROW_SIZE)])
        .max()
        .unwrap_or(60)
        .min(400)
        + 16;
    let count_width = counts
        .iter()
        .map(|c| text_width(c, ROW_SIZE))
        .max()
        .unwrap_or(60)
        + 16;
    let strip_left = MARGIN + label_width;
    let strip_right = WIDTH - MARGIN - count_width;
    let strip_width = (strip_right - strip_left).max(100);

    let mut items = vec![
        LegendItem::Box {
            text: "1 = yes".to_string(),
            look: SeriesLook {
                colour: SET,
                marker: MarkerKind::Square,
                second_run: false,
            },
        },
        LegendItem::Box {
            text: "0 = no".to_string(),
            look: SeriesLook {
                colour: CLEAR,
                marker: MarkerKind::Square,
                second_run: false,
            },
        },
    ];
    let pages_per_pixel = n_pages as f64 / strip_width as f64;
    if pages_per_pixel > 1.0 {
        items.push(LegendItem::Note {
            text: format!(
                "one pixel = {pages_per_pixel:.1} cells: its shade is the share of 1s among them"
            ),
        });
    }
    let n_missing = strips.iter().filter(|(_, b)| b.is_none()).count();
    if n_missing > 0 {
        let reason = data::missing_reason(source.result, &spec.y.field, None);
        notes.push(format!("{n_missing} strip(s): {reason}"));
        items.push(LegendItem::Note {
            text: format!("hatched strip: {reason}"),
        });
    }
    let heading = Heading::new(
        &spec.title,
        &subtitle(spec, std::slice::from_ref(source)),
        WIDTH,
    );
    let legend = crate::frame::Legend::layout(&items, WIDTH - 2 * MARGIN);
    // Labels too long for their column take a second line (then an
    // ellipsis); the row grows to fit.
    let label_lines: Vec<Vec<String>> = strips
        .iter()
        .map(|(label, _)| {
            crate::bar::shorten_lines(wrap(label, ROW_SIZE, label_width - 16), 2, label_width - 16)
        })
        .collect();
    let row_heights: Vec<i32> = label_lines
        .iter()
        .map(|lines| ROW_HEIGHT + (lines.len() as i32 - 1) * LINE)
        .collect();
    let header_lines = wrap(&spec.y.label, LABEL_SIZE, strip_width);
    let header_y = heading.height() + 8;
    let rows_top = header_y + 6 + header_lines.len() as i32 * 22;
    let rows_bottom = rows_top + row_heights.iter().sum::<i32>();
    let axis_label_y = rows_bottom + 30;
    let legend_top = axis_label_y + 30;
    let height = legend_top + legend.height + MARGIN;
    let mut scene = Scene::new(WIDTH as u32, height as u32);
    heading.draw(&mut scene);
    scene.text(
        &crate::scene::ellipsize(&spec.x.label, ROW_SIZE, label_width - 16),
        MARGIN,
        rows_top - 14,
        ROW_SIZE,
        Rgb::MUTED,
        Anchor::MiddleLeft,
    );
    for (i, line) in header_lines.iter().enumerate() {
        scene.text(
            line,
            (strip_left + strip_right) / 2,
            header_y + i as i32 * 22,
            LABEL_SIZE,
            Rgb::TEXT,
            Anchor::TopCenter,
        );
    }

    let mut row_top = rows_top;
    for (i, ((_, bitmap), count)) in strips.iter().zip(&counts).enumerate() {
        let row_height = row_heights[i];
        let top = row_top + (row_height - STRIP_HEIGHT) / 2;
        row_top += row_height;
        let middle = top + STRIP_HEIGHT / 2;
        let lines = &label_lines[i];
        let first_middle = middle - (lines.len() as i32 - 1) * LINE / 2;
        for (k, line) in lines.iter().enumerate() {
            scene.text(
                line,
                MARGIN,
                first_middle + k as i32 * LINE,
                ROW_SIZE,
                Rgb::TEXT,
                Anchor::MiddleLeft,
            );
        }
        scene.text(
            count,
            strip_right + 10,
            middle,
            ROW_SIZE,
            Rgb::MUTED,
            Anchor::MiddleLeft,
        );
        match bitmap {
            Some(bitmap) if !bitmap.is_empty() => {
                // This row's pages over its share of the full width.
                let row_width =
                    (strip_width as f64 * bitmap.len() as f64 / n_pages as f64).round() as i32;
                for (x0, x1, share) in runs(bitmap, row_width.max(1)) {
                    scene.rect(
                        strip_left + x0,
                        top,
                        strip_left + x1,
                        top + STRIP_HEIGHT,
                        shade(share),
                    );
                }
            }
            _ => {
                scene.outline(
                    strip_left,
                    top,
                    strip_right,
                    top + STRIP_HEIGHT,
                    Rgb(0xBB, 0xBB, 0xBB),
                    1,
                );
                let mut x = strip_left;
                while x < strip_right - 6 {
                    scene.line(
                        vec![(x, top + STRIP_HEIGHT - 1), (x + 6, top + 1)],
                        Rgb(0xBB, 0xBB, 0xBB),
                        1,
                    );
                    x += 10;
                }
            }
        }
    }
    // Page-index axis under the strips.
    let axis_y = rows_bottom + 4;
    scene.line(
        vec![(strip_left, axis_y), (strip_right, axis_y)],
        Rgb::AXIS,
        1,
    );
    if n_pages > 0 {
        for k in 0..=4 {
            let page = (n_pages as f64 * k as f64 / 4.0).round() as usize;
            let x = strip_left + (strip_width as f64 * k as f64 / 4.0).round() as i32;
            scene.line(vec![(x, axis_y), (x, axis_y + 5)], Rgb::AXIS, 1);
            let anchor = match k {
                0 => Anchor::TopLeft,
                4 => Anchor::TopRight,
                _ => Anchor::TopCenter,
            };
            scene.text(
                &page.to_string(),
                x,
                axis_y + 7,
                TICK_SIZE,
                Rgb::TEXT,
                anchor,
            );
        }
    }
    scene.text(
        &format!("position in the strip (of {n_pages} cells, first on the left)"),
        (strip_left + strip_right) / 2,
        axis_label_y,
        LABEL_SIZE,
        Rgb::TEXT,
        Anchor::TopCenter,
    );
    legend.draw(&mut scene, MARGIN, legend_top);
    let (svg, png) = scene.write(stem)?;
    Ok(Drawn {
        svg,
        png,
        notes,
        problem: None,
    })
}

/// The strip as (x0, x1, share of ones) runs over `width` pixels: each bit
/// its own cell when they are wider than a pixel, else the share of ones
/// per pixel, quantized to eighths; equal neighbours merged.
fn runs(bitmap: &[bool], width: i32) -> Vec<(i32, i32, f64)> {
    let n = bitmap.len();
    let columns: Vec<(i32, i32, f64)> = if n as i32 <= width {
        (0..n)
            .map(|i| {
                let x0 = (i as f64 * width as f64 / n as f64).round() as i32;
                let x1 = ((i + 1) as f64 * width as f64 / n as f64).round() as i32;
                (x0, x1, if bitmap[i] { 1.0 } else { 0.0 })
            })
            .collect()
    } else {
        (0..width)
            .map(|x| {
                let from = (x as f64 * n as f64 / width as f64).floor() as usize;
                let to =
                    (((x + 1) as f64 * n as f64 / width as f64).ceil() as usize).clamp(from + 1, n);
                let set = bitmap[from..to].iter().filter(|b| **b).count();
                let share = (set as f64 / (to - from) as f64 * 8.0).round() / 8.0;
                (x, x + 1, share)
            })
            .collect()
    };
    let mut merged: Vec<(i32, i32, f64)> = Vec::new();
    for (x0, x1, share) in columns {
        match merged.last_mut() {
            Some(last) if last.2 == share && last.1 == x0 => last.1 = x1,
            _ => merged.push((x0, x1, share)),
        }
    }
    merged
}

/// `part` of `whole` as a percentage that is never rounded to 0% or 100%
/// unless it is exactly that.
fn percent(part: usize, whole: usize) -> String {
    let value = 100.0 * part as f64 / whole as f64;
    if part > 0 && value < 1.0 {
        "<1%".to_string()
    } else if part < whole && value > 99.0 {
        ">99%".to_string()
    } else {
        format!("{value:.0}%")
    }
}

fn shade(share: f64) -> Rgb {
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * share).round() as u8;
    Rgb(
        mix(CLEAR.0, SET.0),
        mix(CLEAR.1, SET.1),
        mix(CLEAR.2, SET.2),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_equal_neighbours() {
        let bitmap = [true, true, false, false, true, false, false, false];
        let runs = runs(&bitmap, 80);
        assert_eq!(
            runs,
            vec![(0, 20, 1.0), (20, 40, 0.0), (40, 50, 1.0), (50, 80, 0.0)]
        );
    }

    #[test]
    fn many_pages_per_pixel_become_shares() {
        let bitmap: Vec<bool> = (0..1000).map(|i| i < 500 || i % 2 == 0).collect();
        let runs = runs(&bitmap, 10);
        assert_eq!(runs, vec![(0, 5, 1.0), (5, 10, 0.5)]);
    }
}
