//! A figure as a list of shapes in pixel coordinates, laid out once and
//! painted twice: into an SVG document and into an RGB bitmap encoded as PNG.
//! Text is measured and drawn with the bundled DejaVu Sans (ab_glyph), so the
//! bitmap looks the same on a machine with no fonts installed; the SVG keeps
//! text as `<text>` elements naming DejaVu Sans with sans-serif fallbacks.

use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};

use anyhow::Context;
use plotters::backend::DrawingBackend;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// DejaVu Sans 2.37 (Debian's fonts-dejavu-core); licence in `fonts/`.
static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// The family name plotters knows the bundled font by. Registering it under
/// the generic name means the SVG backend writes `font-family="sans-serif"`,
/// which [`svg_document`] widens to DejaVu Sans with fallbacks.
const FAMILY: &str = "sans-serif";
const SVG_FAMILY: &str = "'DejaVu Sans', Verdana, 'Bitstream Vera Sans', sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font checked in beside this file;
        // a failure here is a broken checkout, reported by the first text
        // measurement (FontUnavailable) rather than a panic.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS);
    });
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub const BLACK: Rgb = Rgb(0, 0, 0);
    pub const WHITE: Rgb = Rgb(255, 255, 255);
    pub const TEXT: Rgb = Rgb(0x22, 0x22, 0x22);
    pub const MUTED: Rgb = Rgb(0x66, 0x66, 0x66);
    pub const AXIS: Rgb = Rgb(0x44, 0x44, 0x44);
    pub const GRID: Rgb = Rgb(0xE4, 0xE4, 0xE4);
    pub const EMPTY: Rgb = Rgb(0xEE, 0xEE, 0xEE);

    /// This colour mixed with white: `amount` 0 keeps it, 1 gives white.
    pub fn tint(self, amount: f64) -> Rgb {
        let mix = |c: u8| (c as f64 + (255.0 - c as f64) * amount).round() as u8;
        Rgb(mix(self.0), mix(self.1), mix(self.2))
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// The plotters style: this colour, filled, with a stroke `width`.
    fn style(self, width: u32) -> ShapeStyle {
        ShapeStyle {
            color: RGBColor(self.0, self.1, self.2).to_rgba(),
            filled: true,
            stroke_width: width,
        }
    }
}

/// Where a text's anchor point sits on the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    TopLeft,
    TopCenter,
    TopRight,
    MiddleLeft,
    MiddleCenter,
    MiddleRight,
    BottomCenter,
}

impl Anchor {
    fn pos(self) -> Pos {
        let (h, v) = match self {
            Anchor::TopLeft => (HPos::Left, VPos::Top),
            Anchor::TopCenter => (HPos::Center, VPos::Top),
            Anchor::TopRight => (HPos::Right, VPos::Top),
            Anchor::MiddleLeft => (HPos::Left, VPos::Center),
            Anchor::MiddleCenter => (HPos::Center, VPos::Center),
            Anchor::MiddleRight => (HPos::Right, VPos::Center),
            Anchor::BottomCenter => (HPos::Center, VPos::Bottom),
        };
        Pos::new(h, v)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerKind {
    Circle,
    Square,
    Triangle,
    Diamond,
}

/// One thing to draw, in pixels from the top left corner.
#[derive(Debug, Clone)]
pub enum Shape {
    Rect {
        x0: i32,
        y0: i32,
        x1: i32,
        y1: i32,
        fill: Option<Rgb>,
        stroke: Option<(Rgb, u32)>,
    },
    Line {
        points: Vec<(i32, i32)>,
        colour: Rgb,
        width: u32,
        /// Dash and gap lengths in pixels; `None` for a solid line.
        dash: Option<(f64, f64)>,
    },
    Marker {
        x: i32,
        y: i32,
        kind: MarkerKind,
        colour: Rgb,
        size: i32,
        filled: bool,
    },
    Text {
        text: String,
        x: i32,
        y: i32,
        size: f64,
        colour: Rgb,
        anchor: Anchor,
        vertical: bool,
    },
}

/// A figure laid out in pixels.
#[derive(Debug, Clone)]
pub struct Scene {
    pub width: u32,
    pub height: u32,
    pub shapes: Vec<Shape>,
}

impl Scene {
    pub fn new(width: u32, height: u32) -> Scene {
        Scene {
            width,
            height,
            shapes: Vec::new(),
        }
    }

    pub fn rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, fill: Rgb) {
        self.shapes.push(Shape::Rect {
            x0,
            y0,
            x1,
            y1,
            fill: Some(fill),
            stroke: None,
        });
    }

    pub fn outline(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, colour: Rgb, width: u32) {
        self.shapes.push(Shape::Rect {
            x0,
            y0,
            x1,
            y1,
            fill: None,
            stroke: Some((colour, width)),
        });
    }

    pub fn line(&mut self, points: Vec<(i32, i32)>, colour: Rgb, width: u32) {
        self.shapes.push(Shape::Line {
            points,
            colour,
            width,
            dash: None,
        });
    }

    pub fn dashed(&mut self, points: Vec<(i32, i32)>, colour: Rgb, width: u32) {
        self.pattern(points, colour, width, (8.0, 5.0));
    }

    /// A line of `dash.0` pixels on, `dash.1` pixels off.
    pub fn pattern(&mut self, points: Vec<(i32, i32)>, colour: Rgb, width: u32, dash: (f64, f64)) {
        self.shapes.push(Shape::Line {
            points,
            colour,
            width,
            dash: Some(dash),
        });
    }

    pub fn marker(&mut self, x: i32, y: i32, kind: MarkerKind, colour: Rgb, filled: bool) {
        self.marker_sized(x, y, kind, colour, filled, 5);
    }

    /// A marker `size` pixels from its centre to its edge.
    pub fn marker_sized(
        &mut self,
        x: i32,
        y: i32,
        kind: MarkerKind,
        colour: Rgb,
        filled: bool,
        size: i32,
    ) {
        self.shapes.push(Shape::Marker {
            x,
            y,
            kind,
            colour,
            size,
            filled,
        });
    }

    pub fn text(&mut self, text: &str, x: i32, y: i32, size: f64, colour: Rgb, anchor: Anchor) {
        self.shapes.push(Shape::Text {
            text: text.to_string(),
            x,
            y,
            size,
            colour,
            anchor,
            vertical: false,
        });
    }

    /// Text turned a quarter left, reading bottom to top (a y-axis label);
    /// (x, y) is its centre.
    pub fn vertical_text(&mut self, text: &str, x: i32, y: i32, size: f64, colour: Rgb) {
        self.shapes.push(Shape::Text {
            text: text.to_string(),
            x,
            y,
            size,
            colour,
            anchor: Anchor::MiddleCenter,
            vertical: true,
        });
    }

    /// Writes `<stem>.svg` and `<stem>.png` and returns both paths.
    pub fn write(&self, stem: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
        let svg_path = with_extension(stem, "svg");
        let png_path = with_extension(stem, "png");
        let svg = self.svg_document()?;
        mmlab_core::io::write_atomic(&svg_path, svg.as_bytes())
            .with_context(|| format!("cannot write {}", svg_path.display()))?;
        let png = self.png_bytes()?;
        mmlab_core::io::write_atomic(&png_path, &png)
            .with_context(|| format!("cannot write {}", png_path.display()))?;
        Ok((svg_path, png_path))
    }

    /// The scene as an SVG document; text stays text.
    pub fn svg_document(&self) -> anyhow::Result<String> {
        register_font();
        let mut document = String::new();
        {
            let mut backend = plotters::backend::SVGBackend::with_string(
                &mut document,
                (self.width, self.height),
            );
            paint(&mut backend, self, false)
                .map_err(|e| anyhow::anyhow!("cannot draw the SVG: {e}"))?;
            backend
                .present()
                .map_err(|e| anyhow::anyhow!("cannot finish the SVG: {e}"))?;
        }
        Ok(document.replace(
            &format!("font-family=\"{FAMILY}\""),
            &format!("font-family=\"{SVG_FAMILY}\""),
        ))
    }

    /// The scene as a PNG file's bytes (8-bit RGB).
    pub fn png_bytes(&self) -> anyhow::Result<Vec<u8>> {
        register_font();
        let (width, height) = (self.width, self.height);
        let mut pixels = vec![255u8; width as usize * height as usize * 3];
        {
            let mut backend =
                plotters::backend::BitMapBackend::with_buffer(&mut pixels, (width, height));
            paint(&mut backend, self, true)
                .map_err(|e| anyhow::anyhow!("cannot draw the bitmap: {e}"))?;
            backend
                .present()
                .map_err(|e| anyhow::anyhow!("cannot finish the bitmap: {e}"))?;
        }
        let mut canvas = Canvas {
            pixels: &mut pixels,
            width: width as i32,
            height: height as i32,
        };
        for shape in &self.shapes {
            if let Shape::Text {
                text,
                x,
                y,
                size,
                colour,
                anchor,
                vertical,
            } = shape
            {
                rasterize_text(
                    &mut canvas,
                    text,
                    (*x, *y),
                    *size,
                    *colour,
                    *anchor,
                    *vertical,
                );
            }
        }
        let mut bytes = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut bytes, width, height);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().context("cannot start the PNG")?;
            writer
                .write_image_data(&pixels)
                .context("cannot encode the PNG")?;
            writer.finish().context("cannot finish the PNG")?;
        }
        Ok(bytes)
    }
}

fn with_extension(stem: &Path, extension: &str) -> PathBuf {
    let mut name = stem.as_os_str().to_owned();
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}

/// An RGB bitmap, three bytes per pixel, rows from the top.
struct Canvas<'a> {
    pixels: &'a mut [u8],
    width: i32,
    height: i32,
}

impl Canvas<'_> {
    /// Mixes `colour` into the pixel with the glyph's `coverage` (0..1).
    fn blend(&mut self, x: i32, y: i32, colour: Rgb, coverage: f32) {
        if x < 0 || y < 0 || x >= self.width || y >= self.height || coverage <= 0.0 {
            return;
        }
        let at = (y as usize * self.width as usize + x as usize) * 3;
        let alpha = coverage.min(1.0);
        for (channel, value) in [colour.0, colour.1, colour.2].into_iter().enumerate() {
            let old = self.pixels[at + channel] as f32;
            self.pixels[at + channel] = (old + (value as f32 - old) * alpha).round() as u8;
        }
    }
}

fn font() -> &'static ab_glyph::FontRef<'static> {
    static FONT: OnceLock<ab_glyph::FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| {
        ab_glyph::FontRef::try_from_slice(DEJAVU_SANS)
            .expect("the bundled DejaVu Sans is a valid font")
    })
}

/// Draws text into the bitmap with ab_glyph directly: each glyph at its
/// exact (sub-pixel) pen position with its side bearing, so letters keep
/// their spacing ("rn" stays "rn", never "m"; plotters' own bitmap text
/// drops the bearings). Placed as the SVG places it: a top anchor at the
/// capitals' top, a middle anchor at their middle, a bottom anchor at the
/// descenders' bottom. Vertical text reads bottom to top, centred on (x, y).
fn rasterize_text(
    canvas: &mut Canvas,
    text: &str,
    (x, y): (i32, i32),
    size: f64,
    colour: Rgb,
    anchor: Anchor,
    vertical: bool,
) {
    use ab_glyph::{Font, ScaleFont, point};
    let font = font();
    let scaled = font.as_scaled(size as f32);
    let mut glyphs = Vec::new();
    let mut caret = 0.0f32;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(previous) = previous {
            caret += scaled.kern(previous, id);
        }
        glyphs.push((id, caret));
        caret += scaled.h_advance(id);
        previous = Some(id);
    }
    let width = caret;
    let cap_height = scaled
        .outline_glyph(
            font.glyph_id('H')
                .with_scale_and_position(size as f32, point(0.0, 0.0)),
        )
        .map(|g| -g.px_bounds().min.y)
        .unwrap_or(size as f32 * 0.63);
    let descent = -scaled.descent();
    // The pen's start and the baseline, relative to the anchor point, in the
    // text's own frame (u along the text, v down).
    let (start, baseline) = match (vertical, anchor) {
        (true, _) => (-width / 2.0, cap_height / 2.0),
        (_, Anchor::TopLeft) => (0.0, cap_height),
        (_, Anchor::TopCenter) => (-width / 2.0, cap_height),
        (_, Anchor::TopRight) => (-width, cap_height),
        (_, Anchor::MiddleLeft) => (0.0, cap_height / 2.0),
        (_, Anchor::MiddleCenter) => (-width / 2.0, cap_height / 2.0),
        (_, Anchor::MiddleRight) => (-width, cap_height / 2.0),
        (_, Anchor::BottomCenter) => (-width / 2.0, -descent),
    };
    for (id, offset) in glyphs {
        let glyph = id.with_scale_and_position(size as f32, point(start + offset, baseline));
        let Some(outlined) = scaled.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, coverage| {
            let u = bounds.min.x as i32 + gx as i32;
            let v = bounds.min.y as i32 + gy as i32;
            if vertical {
                // Turned a quarter left: along the text is up the screen,
                // the text's "down" is the screen's right.
                canvas.blend(x + v, y - u, colour, coverage);
            } else {
                canvas.blend(x + u, y + v, colour, coverage);
            }
        });
    }
}

/// The width and height in pixels of `text` at `size`, as drawn.
pub fn text_size(text: &str, size: f64) -> (i32, i32) {
    register_font();
    let font = (FAMILY, size).into_font();
    match font.box_size(text) {
        Ok((w, h)) => (w as i32, h as i32),
        // Only a broken font gets here; estimate instead of failing.
        Err(_) => (
            (text.chars().count() as f64 * size * 0.55) as i32,
            size as i32,
        ),
    }
}

pub fn text_width(text: &str, size: f64) -> i32 {
    text_size(text, size).0
}

/// `text` cut to `max_width` pixels, ending in an ellipsis when cut.
pub fn ellipsize(text: &str, size: f64, max_width: i32) -> String {
    if text_width(text, size) <= max_width {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty()
        && text_width(&format!("{}…", chars.iter().collect::<String>()), size) > max_width
    {
        chars.pop();
    }
    format!("{}…", chars.iter().collect::<String>())
}

/// Breaks `text` into lines no wider than `max_width` pixels: at spaces
/// first, then after `_`, `-`, `/`, `,` or `=` inside a word too long for a
/// line, then anywhere.
pub fn wrap(text: &str, size: f64, max_width: i32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut current = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let candidate = if current.is_empty() {
                word.to_string()
            } else {
                format!("{current} {word}")
            };
            if text_width(&candidate, size) <= max_width {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            // The word alone may still be too wide: cut it into pieces.
            let mut rest = word.to_string();
            while text_width(&rest, size) > max_width {
                let cut = best_cut(&rest, size, max_width);
                lines.push(rest[..cut].to_string());
                rest = rest[cut..].to_string();
            }
            current = rest;
        }
        if !current.is_empty() || lines.is_empty() {
            lines.push(current);
        }
    }
    lines
}

/// The byte index at which to cut `word` so the first part fits.
fn best_cut(word: &str, size: f64, max_width: i32) -> usize {
    let boundaries: Vec<usize> = word
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .filter(|&end| end < word.len())
        .collect();
    let fitting: Vec<usize> = boundaries
        .iter()
        .copied()
        .filter(|&end| text_width(&word[..end], size) <= max_width)
        .collect();
    let preferred = fitting
        .iter()
        .copied()
        .rev()
        .find(|&end| word[..end].ends_with(['_', '-', '/', ',', '=', '|']));
    preferred
        .or_else(|| fitting.last().copied())
        .or_else(|| boundaries.first().copied())
        .unwrap_or(word.len())
}

/// Runs one backend call, turning its error (a type plotters does not
/// re-export) into text.
macro_rules! backend_call {
    ($call:expr) => {
        $call.map_err(|e| e.to_string())?
    };
}

/// Paints the scene; for a `bitmap`, all but the text (see [`rasterize_text`]).
fn paint<B: DrawingBackend>(backend: &mut B, scene: &Scene, bitmap: bool) -> Result<(), String> {
    backend_call!(backend.draw_rect(
        (0, 0),
        (scene.width as i32, scene.height as i32),
        &Rgb::WHITE.style(1),
        true,
    ));
    for shape in &scene.shapes {
        match shape {
            Shape::Rect {
                x0,
                y0,
                x1,
                y1,
                fill,
                stroke,
            } => {
                if let Some(fill) = fill {
                    backend_call!(backend.draw_rect((*x0, *y0), (*x1, *y1), &fill.style(1), true));
                }
                if let Some((colour, width)) = stroke {
                    // A thick outline as nested rectangles: the bitmap
                    // backend ignores stroke width on rectangles.
                    for inset in 0..*width as i32 {
                        backend_call!(backend.draw_rect(
                            (x0 + inset, y0 + inset),
                            (x1 - inset, y1 - inset),
                            &colour.style(1),
                            false,
                        ));
                    }
                }
            }
            Shape::Line {
                points,
                colour,
                width,
                dash,
            } => {
                let style = colour.style(*width);
                if let Some((on, off)) = dash {
                    for segment in dash_segments(points, *on, *off) {
                        backend_call!(backend.draw_path(segment, &style));
                    }
                } else {
                    backend_call!(backend.draw_path(points.iter().copied(), &style));
                }
            }
            Shape::Marker {
                x,
                y,
                kind,
                colour,
                size,
                filled,
            } => {
                let fill_style = colour.style(1);
                let outline = colour.style(2);
                let (x, y, s) = (*x, *y, *size);
                match kind {
                    MarkerKind::Circle => {
                        if *filled {
                            backend_call!(backend.draw_circle((x, y), s as u32, &fill_style, true));
                        } else {
                            backend_call!(backend.draw_circle(
                                (x, y),
                                s as u32,
                                &Rgb::WHITE.style(1),
                                true
                            ));
                            backend_call!(backend.draw_circle((x, y), s as u32, &outline, false));
                        }
                    }
                    MarkerKind::Square => {
                        let corners = [
                            (x - s, y - s),
                            (x + s, y - s),
                            (x + s, y + s),
                            (x - s, y + s),
                        ];
                        polygon(backend, &corners, *colour, *filled)?;
                    }
                    MarkerKind::Triangle => {
                        let corners = [(x, y - s - 1), (x + s + 1, y + s), (x - s - 1, y + s)];
                        polygon(backend, &corners, *colour, *filled)?;
                    }
                    MarkerKind::Diamond => {
                        let r = s + 1;
                        let corners = [(x, y - r), (x + r, y), (x, y + r), (x - r, y)];
                        polygon(backend, &corners, *colour, *filled)?;
                    }
                }
            }
            Shape::Text {
                text,
                x,
                y,
                size,
                colour,
                anchor,
                vertical,
            } => {
                if bitmap {
                    // Drawn afterwards by `rasterize_text`, on top.
                    continue;
                }
                let colour = RGBColor(colour.0, colour.1, colour.2);
                let mut style = TextStyle::from((FAMILY, *size).into_font())
                    .color(&colour)
                    .pos(anchor.pos());
                if *vertical {
                    style = style.transform(FontTransform::Rotate270);
                }
                backend_call!(backend.draw_text(text, &style, (*x, *y)));
            }
        }
    }
    Ok(())
}

fn polygon<B: DrawingBackend>(
    backend: &mut B,
    corners: &[(i32, i32)],
    colour: Rgb,
    filled: bool,
) -> Result<(), String> {
    let fill = if filled { colour } else { Rgb::WHITE };
    backend_call!(backend.fill_polygon(corners.iter().copied(), &fill.style(1)));
    let mut closed: Vec<(i32, i32)> = corners.to_vec();
    closed.push(corners[0]);
    backend_call!(backend.draw_path(closed, &colour.style(2)));
    Ok(())
}

/// Splits a polyline into dashes of `on` pixels separated by `off` pixels.
fn dash_segments(points: &[(i32, i32)], on: f64, off: f64) -> Vec<Vec<(i32, i32)>> {
    let mut segments = Vec::new();
    let mut drawing = true;
    let mut left = on;
    let mut current: Vec<(i32, i32)> = Vec::new();
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
        let length = (dx * dx + dy * dy).sqrt();
        if length == 0.0 {
            continue;
        }
        let at = |t: f64| {
            (
                (a.0 as f64 + dx * t / length).round() as i32,
                (a.1 as f64 + dy * t / length).round() as i32,
            )
        };
        if drawing && current.is_empty() {
            current.push(a);
        }
        let mut travelled = 0.0;
        while length - travelled > left {
            travelled += left;
            current.push(at(travelled));
            if drawing {
                segments.push(std::mem::take(&mut current));
                left = off;
            } else {
                current = vec![at(travelled)];
                left = on;
            }
            drawing = !drawing;
        }
        left -= length - travelled;
        if drawing {
            current.push(b);
        }
    }
    if current.len() > 1 {
        segments.push(current);
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_character_and_fits() {
        let text = "How many page faults does touching k pages of a MAP_PRIVATE|MAP_POPULATE mapping take?";
        let lines = wrap(text, 16.0, 200);
        assert!(lines.len() > 1, "{lines:?}");
        for line in &lines {
            assert!(text_width(line, 16.0) <= 200, "{line:?} too wide");
        }
        assert_eq!(lines.join(" ").replace(' ', ""), text.replace(' ', ""));
    }

    #[test]
    fn dashes_cover_part_of_the_line() {
        let segments = dash_segments(&[(0, 0), (100, 0)], 8.0, 5.0);
        assert_eq!(segments.len(), 8, "{segments:?}");
        assert_eq!(segments[0], vec![(0, 0), (8, 0)]);
        assert_eq!(segments[1], vec![(13, 0), (21, 0)]);
    }

    #[test]
    fn text_is_measured_with_the_bundled_font() {
        let (w, h) = text_size("mmap", 20.0);
        assert!(w > 30 && w < 90, "width {w}");
        assert!(h > 5 && h < 30, "height {h}");
        assert!(text_width("mmap mmap", 20.0) > w);
    }
}
