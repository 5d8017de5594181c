//! Grid figures: a table of coloured cells, rows by the `y` field, columns by
//! the `x` field; each cell shows its `cell_text`, is coloured by its
//! `cell_colour` value (equal values, equal colours, as in every figure) and
//! outlined when its `cell_mark` field is true.

use std::path::Path;

use mmlab_core::FigureSpec;
use serde_json::Value;

use crate::bar::shorten_lines;
use crate::data;
use crate::figure::{Drawn, Source, Unusable, subtitle};
use crate::frame::{Heading, LABEL_SIZE, LegendItem, MARGIN, SeriesLook};
use crate::palette::Palette;
use crate::scene::{Anchor, MarkerKind, Rgb, Scene, text_width, wrap};

const CELL_SIZE: f64 = 14.0;
const LINE: i32 = 18;
const PAD: i32 = 8;
const MAX_WIDTH: i32 = 1600;
/// More rows than this (about a screen's height) make a figure that must be
/// scaled down to unreadable text to be seen whole: the figure says so.
pub const TALL_ROWS: usize = 40;
/// How much lighter than the series colour a cell is, so dark text reads.
const CELL_TINT: f64 = 0.55;

struct GridCell {
    text: String,
    colour_key: Option<String>,
    marked: bool,
}

/// Draws a grid figure of one run into `<stem>.svg` and `<stem>.png`.
pub fn grid(
    spec: &FigureSpec,
    source: &Source,
    palette: &Palette,
    stem: &Path,
) -> Result<Drawn, Unusable> {
    let mut notes = Vec::new();
    let rows = data::rows(source.result, spec).map_err(Unusable)?;
    if rows.is_empty() {
        return Err(Unusable(format!("no rows in data `{}`", spec.data)));
    }
    for (role, field) in [
        ("x", Some(&spec.x.field)),
        ("y", Some(&spec.y.field)),
        ("cell_text", spec.cell_text.as_ref()),
        ("cell_colour", spec.cell_colour.as_ref()),
    ] {
        if let Some(field) = field
            && !rows.iter().any(|r| r.get(field).is_some())
        {
            return Err(Unusable(format!(
                "field `{field}` ({role}) is in no row of data `{}`",
                spec.data
            )));
        }
    }
    let mut columns: Vec<String> = Vec::new();
    let mut row_keys: Vec<String> = Vec::new();
    let mut cells: Vec<((usize, usize), GridCell)> = Vec::new();
    let mut duplicates = 0;
    let null = Value::Null;
    for row in &rows {
        let column = data::label(&spec.x.field, row.get(&spec.x.field).unwrap_or(&null));
        let key = data::label(&spec.y.field, row.get(&spec.y.field).unwrap_or(&null));
        let c = index_of(&mut columns, column);
        let r = index_of(&mut row_keys, key);
        if cells.iter().any(|(at, _)| *at == (r, c)) {
            duplicates += 1;
            continue;
        }
        let text_field = spec.cell_text.as_deref().or(spec.cell_colour.as_deref());
        let text = match text_field.map(|f| (f, row.get(f))) {
            Some((_, None | Some(Value::Null))) => "—".to_string(),
            Some((field, Some(value))) => data::label(field, value),
            None => String::new(),
        };
        let colour_key = spec
            .cell_colour
            .as_deref()
            .and_then(|f| row.get(f))
            .filter(|v| !v.is_null())
            .map(|v| data::label(spec.cell_colour.as_deref().unwrap_or(""), v));
        let marked = spec
            .cell_mark
            .as_deref()
            .is_some_and(|f| data::truthy(row.get(f)));
        cells.push((
            (r, c),
            GridCell {
                text,
                colour_key,
                marked,
            },
        ));
    }
    if row_keys.len() > TALL_ROWS {
        notes.push(format!(
            "{} rows: too tall to read as one picture; declare one figure per group of rows (a `filter` on the group's field)",
            row_keys.len()
        ));
    }
    if duplicates > 0 {
        notes.push(format!(
            "{duplicates} row(s) repeat a (row, column) pair already drawn and are left out"
        ));
    }

    // Column widths: what the header and the cells need, within bounds, so
    // the whole table fits in MAX_WIDTH.
    let row_header_width = row_keys
        .iter()
        .map(|k| text_width(k, CELL_SIZE))
        .chain([text_width(&spec.y.label, CELL_SIZE)])
        .max()
        .unwrap_or(60)
        .clamp(60, 260)
        + 2 * PAD;
    let n_columns = columns.len().max(1) as i32;
    let column_cap = ((MAX_WIDTH - 2 * MARGIN - row_header_width) / n_columns).clamp(60, 220);
    let column_widths: Vec<i32> = columns
        .iter()
        .enumerate()
        .map(|(c, header)| {
            let header_need = header
                .split(' ')
                .map(|w| text_width(w, CELL_SIZE))
                .max()
                .unwrap_or(0)
                .max(text_width(header, CELL_SIZE).min(140));
            let cell_need = cells
                .iter()
                .filter(|((_, cc), _)| *cc == c)
                .map(|(_, cell)| text_width(&cell.text, CELL_SIZE))
                .max()
                .unwrap_or(0);
            (header_need.max(cell_need) + 2 * PAD).clamp(70, column_cap)
        })
        .collect();
    let table_width = row_header_width + column_widths.iter().sum::<i32>();
    let width = (table_width + 2 * MARGIN).max(700);

    let header_lines: Vec<Vec<String>> = columns
        .iter()
        .zip(&column_widths)
        .map(|(header, w)| shorten_lines(wrap(header, CELL_SIZE, w - 2 * PAD), 4, w - 2 * PAD))
        .collect();
    let corner_lines = shorten_lines(
        wrap(&spec.y.label, CELL_SIZE, row_header_width - 2 * PAD),
        3,
        row_header_width - 2 * PAD,
    );
    let header_height = header_lines
        .iter()
        .map(Vec::len)
        .chain([corner_lines.len()])
        .max()
        .unwrap_or(1) as i32
        * LINE
        + 2 * PAD;
    let row_lines: Vec<Vec<String>> = row_keys
        .iter()
        .map(|k| {
            shorten_lines(
                wrap(k, CELL_SIZE, row_header_width - 2 * PAD),
                3,
                row_header_width - 2 * PAD,
            )
        })
        .collect();
    let cell_lines = |cell: &GridCell, c: usize| {
        shorten_lines(
            wrap(&cell.text, CELL_SIZE, column_widths[c] - 2 * PAD),
            3,
            column_widths[c] - 2 * PAD,
        )
    };
    let row_heights: Vec<i32> = (0..row_keys.len())
        .map(|r| {
            let most = cells
                .iter()
                .filter(|((rr, _), _)| *rr == r)
                .map(|((_, c), cell)| cell_lines(cell, *c).len())
                .chain([row_lines[r].len()])
                .max()
                .unwrap_or(1) as i32;
            (most * LINE + 2 * PAD).max(34)
        })
        .collect();

    // Legend: one box per colour value, in first-seen order; the outline.
    let mut items = Vec::new();
    let mut seen_colours: Vec<String> = Vec::new();
    for (_, cell) in &cells {
        if let Some(key) = &cell.colour_key
            && !seen_colours.contains(key)
        {
            seen_colours.push(key.clone());
            items.push(LegendItem::Box {
                text: key.clone(),
                look: SeriesLook {
                    colour: palette.colour(key).tint(CELL_TINT),
                    marker: MarkerKind::Square,
                    second_run: false,
                },
            });
        }
    }
    if let Some(mark) = &spec.cell_mark
        && cells.iter().any(|(_, c)| c.marked)
    {
        items.push(LegendItem::Outlined {
            text: format!("thick outline: {} is true", data::humanize(mark)),
        });
    }
    let missing = row_keys.len() * columns.len() - cells.len();
    if missing > 0 {
        items.push(LegendItem::Note {
            text: format!("grey cells: no row for that pair ({missing})"),
        });
    }

    let heading = Heading::new(
        &spec.title,
        &subtitle(spec, std::slice::from_ref(source)),
        width,
    );
    let legend = crate::frame::Legend::layout(&items, width - 2 * MARGIN);
    let x_label_y = heading.height() + 8;
    let table_top = x_label_y + 28;
    let table_left = MARGIN;
    let table_bottom = table_top + header_height + row_heights.iter().sum::<i32>();
    let legend_top = table_bottom + 18;
    let height = legend_top + legend.height + MARGIN;
    let mut scene = Scene::new(width as u32, height as u32);
    heading.draw(&mut scene);
    let columns_left = table_left + row_header_width;
    scene.text(
        &spec.x.label,
        columns_left + (table_width - row_header_width) / 2,
        x_label_y,
        LABEL_SIZE,
        Rgb::TEXT,
        Anchor::TopCenter,
    );

    // Header row.
    scene.rect(
        table_left,
        table_top,
        table_left + table_width,
        table_top + header_height,
        Rgb(0xF4, 0xF4, 0xF4),
    );
    for (i, line) in corner_lines.iter().enumerate() {
        scene.text(
            line,
            table_left + PAD,
            table_top + PAD + i as i32 * LINE + LINE / 2,
            CELL_SIZE,
            Rgb::MUTED,
            Anchor::MiddleLeft,
        );
    }
    let mut x = columns_left;
    let mut column_lefts = Vec::new();
    for (lines, w) in header_lines.iter().zip(&column_widths) {
        column_lefts.push(x);
        for (i, line) in lines.iter().enumerate() {
            scene.text(
                line,
                x + w / 2,
                table_top + PAD + i as i32 * LINE + LINE / 2,
                CELL_SIZE,
                Rgb::TEXT,
                Anchor::MiddleCenter,
            );
        }
        x += w;
    }
    // Body.
    let mut y = table_top + header_height;
    let mut marked_cells = Vec::new();
    for (r, lines) in row_lines.iter().enumerate() {
        let h = row_heights[r];
        let text_top = y + (h - lines.len() as i32 * LINE) / 2;
        for (i, line) in lines.iter().enumerate() {
            scene.text(
                line,
                table_left + PAD,
                text_top + i as i32 * LINE + LINE / 2,
                CELL_SIZE,
                Rgb::TEXT,
                Anchor::MiddleLeft,
            );
        }
        for (c, w) in column_widths.iter().enumerate() {
            let x0 = column_lefts[c];
            match cells.iter().find(|(at, _)| *at == (r, c)) {
                Some((_, cell)) => {
                    let fill = cell
                        .colour_key
                        .as_ref()
                        .map(|k| palette.colour(k).tint(CELL_TINT))
                        .unwrap_or(Rgb::WHITE);
                    scene.rect(x0, y, x0 + w, y + h, fill);
                    let lines = cell_lines(cell, c);
                    let text_top = y + (h - lines.len() as i32 * LINE) / 2;
                    for (i, line) in lines.iter().enumerate() {
                        scene.text(
                            line,
                            x0 + w / 2,
                            text_top + i as i32 * LINE + LINE / 2,
                            CELL_SIZE,
                            Rgb::TEXT,
                            Anchor::MiddleCenter,
                        );
                    }
                    if cell.marked {
                        marked_cells.push((x0, y, x0 + w, y + h));
                    }
                }
                None => scene.rect(x0, y, x0 + w, y + h, Rgb::EMPTY),
            }
        }
        y += h;
    }
    // Cell borders, then the marks on top of them.
    let mut y = table_top;
    for h in std::iter::once(header_height).chain(row_heights.iter().copied()) {
        scene.line(
            vec![(table_left, y), (table_left + table_width, y)],
            Rgb::WHITE,
            2,
        );
        y += h;
    }
    for x in &column_lefts {
        scene.line(vec![(*x, table_top), (*x, table_bottom)], Rgb::WHITE, 2);
    }
    scene.outline(
        table_left,
        table_top,
        table_left + table_width,
        table_bottom,
        Rgb(0xBB, 0xBB, 0xBB),
        1,
    );
    for (x0, y0, x1, y1) in marked_cells {
        scene.outline(x0 + 1, y0 + 1, x1 - 1, y1 - 1, Rgb::BLACK, 3);
    }
    legend.draw(&mut scene, MARGIN, legend_top);
    let (svg, png) = scene.write(stem)?;
    Ok(Drawn {
        svg,
        png,
        notes,
        problem: None,
    })
}

fn index_of(list: &mut Vec<String>, item: String) -> usize {
    match list.iter().position(|x| *x == item) {
        Some(i) => i,
        None => {
            list.push(item);
            list.len() - 1
        }
    }
}
