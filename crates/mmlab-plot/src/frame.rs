//! What every figure has around its plot: the title (the question it
//! answers), a subtitle naming where it comes from, and a legend placed below
//! the plot so it never covers data, with a line for each series that could
//! not be measured and why.

use crate::scene::{Anchor, MarkerKind, Rgb, Scene, text_width, wrap};

pub const WIDTH: i32 = 1000;
pub const MARGIN: i32 = 24;
pub const TITLE_SIZE: f64 = 24.0;
pub const TITLE_LINE: i32 = 30;
pub const SUBTITLE_SIZE: f64 = 14.0;
pub const LABEL_SIZE: f64 = 17.0;
pub const TICK_SIZE: f64 = 15.0;
pub const LEGEND_SIZE: f64 = 15.0;
pub const LEGEND_LINE: i32 = 24;
pub const SWATCH: i32 = 30;

/// How a series is drawn: its colour and marker come from its name, the
/// run (in a comparison) picks solid or dashed, filled or hollow.
#[derive(Debug, Clone)]
pub struct SeriesLook {
    pub colour: Rgb,
    pub marker: MarkerKind,
    /// The second run of a comparison: dashed lines, hollow markers, light bars.
    pub second_run: bool,
}

/// One entry of a legend.
#[derive(Debug, Clone)]
pub enum LegendItem {
    /// A line series: a short line with its marker.
    Line { text: String, look: SeriesLook },
    /// A bar series or a colour of a grid: a filled box.
    Box { text: String, look: SeriesLook },
    /// A box with a thick outline (grid cells marked).
    Outlined { text: String },
    /// A series with no value on this machine: a crossed box and the reason.
    Missing { text: String, colour: Rgb },
    /// The `index`-th horizontal reference line of its figure.
    Reference { text: String, index: usize },
    /// A sentence, no symbol.
    Note { text: String },
}

impl LegendItem {
    fn text(&self) -> &str {
        match self {
            LegendItem::Line { text, .. }
            | LegendItem::Box { text, .. }
            | LegendItem::Outlined { text }
            | LegendItem::Missing { text, .. }
            | LegendItem::Reference { text, .. }
            | LegendItem::Note { text } => text,
        }
    }

    fn has_symbol(&self) -> bool {
        !matches!(self, LegendItem::Note { .. })
    }
}

/// A legend laid out for a given width: items flow left to right and wrap;
/// an item too long for what is left of a row starts a new row, and one too
/// long for a whole row wraps its text.
#[derive(Debug, Clone)]
pub struct Legend {
    placed: Vec<(i32, i32, LegendItem, Vec<String>)>,
    pub height: i32,
}

impl Legend {
    pub fn layout(items: &[LegendItem], width: i32) -> Legend {
        let mut placed = Vec::new();
        let (mut x, mut y) = (0, 0);
        let gap = 26;
        for item in items {
            let symbol = if item.has_symbol() { SWATCH + 8 } else { 0 };
            let text_w = text_width(item.text(), LEGEND_SIZE);
            let item_w = symbol + text_w;
            let notes_start_row =
                matches!(item, LegendItem::Missing { .. } | LegendItem::Note { .. });
            if x > 0 && (x + item_w > width || notes_start_row) {
                x = 0;
                y += LEGEND_LINE;
            }
            if item_w <= width - x && !notes_start_row {
                placed.push((x, y, item.clone(), vec![item.text().to_string()]));
                x += item_w + gap;
            } else {
                let lines = wrap(item.text(), LEGEND_SIZE, width - symbol);
                let n = lines.len() as i32;
                placed.push((0, y, item.clone(), lines));
                y += LEGEND_LINE * n;
                x = 0;
            }
        }
        let height = if x > 0 { y + LEGEND_LINE } else { y };
        Legend { placed, height }
    }

    pub fn draw(&self, scene: &mut Scene, left: i32, top: i32) {
        for (dx, dy, item, lines) in &self.placed {
            let (x, y) = (left + dx, top + dy);
            let middle = y + LEGEND_LINE / 2;
            let text_x = if item.has_symbol() { x + SWATCH + 8 } else { x };
            match item {
                LegendItem::Line { look, .. } => {
                    if look.second_run {
                        scene.dashed(vec![(x, middle), (x + SWATCH, middle)], look.colour, 2);
                    } else {
                        scene.line(vec![(x, middle), (x + SWATCH, middle)], look.colour, 2);
                    }
                    scene.marker(
                        x + SWATCH / 2,
                        middle,
                        look.marker,
                        look.colour,
                        !look.second_run,
                    );
                }
                LegendItem::Box { look, .. } => {
                    let (x0, y0, x1, y1) = (x + 4, middle - 8, x + SWATCH - 4, middle + 8);
                    if look.second_run {
                        scene.rect(x0, y0, x1, y1, look.colour.tint(0.6));
                        scene.outline(x0, y0, x1, y1, look.colour, 2);
                    } else {
                        scene.rect(x0, y0, x1, y1, look.colour);
                    }
                }
                LegendItem::Outlined { .. } => {
                    scene.rect(x + 4, middle - 8, x + SWATCH - 4, middle + 8, Rgb::WHITE);
                    scene.outline(x + 4, middle - 8, x + SWATCH - 4, middle + 8, Rgb::BLACK, 3);
                }
                LegendItem::Missing { colour, .. } => {
                    let (x0, y0, x1, y1) = (x + 4, middle - 8, x + SWATCH - 4, middle + 8);
                    scene.outline(x0, y0, x1, y1, *colour, 2);
                    scene.line(vec![(x0, y0), (x1, y1)], *colour, 2);
                    scene.line(vec![(x0, y1), (x1, y0)], *colour, 2);
                }
                LegendItem::Reference { index, .. } => {
                    reference_line(scene, *index, (x, x + SWATCH), middle);
                }
                LegendItem::Note { .. } => {}
            }
            let colour = match item {
                LegendItem::Missing { .. } | LegendItem::Note { .. } => Rgb::MUTED,
                _ => Rgb::TEXT,
            };
            for (i, line) in lines.iter().enumerate() {
                scene.text(
                    line,
                    text_x,
                    middle + i as i32 * LEGEND_LINE,
                    LEGEND_SIZE,
                    colour,
                    Anchor::MiddleLeft,
                );
            }
        }
    }
}

/// The title block: the question, wrapped, and a small grey subtitle.
#[derive(Debug, Clone)]
pub struct Heading {
    lines: Vec<String>,
    subtitle: String,
}

impl Heading {
    pub fn new(title: &str, subtitle: &str, width: i32) -> Heading {
        Heading {
            lines: wrap(title, TITLE_SIZE, width - 2 * MARGIN),
            subtitle: subtitle.to_string(),
        }
    }

    pub fn height(&self) -> i32 {
        MARGIN + self.lines.len() as i32 * TITLE_LINE + 24
    }

    pub fn draw(&self, scene: &mut Scene) {
        let mut y = MARGIN;
        for line in &self.lines {
            scene.text(line, MARGIN, y, TITLE_SIZE, Rgb::TEXT, Anchor::TopLeft);
            y += TITLE_LINE;
        }
        scene.text(
            &self.subtitle,
            MARGIN,
            y + 2,
            SUBTITLE_SIZE,
            Rgb::MUTED,
            Anchor::TopLeft,
        );
    }
}

/// How the `index`-th reference line of a figure looks: a grey and a dash
/// pattern of its own, so that several stay apart in the legend and plot.
pub fn reference_look(index: usize) -> (Rgb, (f64, f64)) {
    const LOOKS: [(Rgb, (f64, f64)); 4] = [
        (Rgb(0x33, 0x33, 0x33), (8.0, 5.0)),
        (Rgb(0x77, 0x77, 0x77), (2.0, 4.0)),
        (Rgb(0x33, 0x33, 0x33), (18.0, 4.0)),
        (Rgb(0x77, 0x77, 0x77), (6.0, 10.0)),
    ];
    LOOKS[index % LOOKS.len()]
}

/// The `index`-th reference line of a figure, horizontal at `y`.
pub fn reference_line(scene: &mut Scene, index: usize, (from, to): (i32, i32), y: i32) {
    reference_path(scene, index, vec![(from, y), (to, y)]);
}

/// The `index`-th reference line of a figure along `points` (a diagonal,
/// a vertical line).
pub fn reference_path(scene: &mut Scene, index: usize, points: Vec<(i32, i32)>) {
    let (colour, dash) = reference_look(index);
    scene.pattern(points, colour, 2, dash);
}
