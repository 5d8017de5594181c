//! Figures (SVG and PNG), the report (`index.html` and `report.md`) and the
//! comparison of two runs, rendered from mmap-lab result files alone.
//!
//! Experiments declare their figures as data (`FigureSpec` in each result
//! file); this crate draws every declared figure of every result file the
//! same way, one function per figure kind ([`line::line`], [`bar::bar`],
//! [`grid::grid`], [`strips::strips`]), each a pure function of the result
//! data, the palette and an output path. It knows nothing of any particular
//! experiment, measures nothing, and is the only crate that links plotters.
//! Text is drawn with a bundled DejaVu Sans, so the PNGs look the same on a
//! machine with no fonts installed.

pub mod bar;
pub mod cases;
pub mod compare;
pub mod data;
pub mod distribution;
pub mod example;
pub mod figure;
pub mod frame;
pub mod grid;
pub mod guides;
pub mod html;
pub mod line;
pub mod palette;
pub mod report;
pub mod scale;
pub mod scene;
pub mod strips;
pub mod verify;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use mmlab_core::{FigureSpec, ResultFile};

pub use figure::{Drawn, Source, draw};
pub use palette::Palette;

/// One declared figure of one experiment, drawn.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub experiment: String,
    pub spec: FigureSpec,
    pub drawn: Drawn,
}

/// The palette of a set of result files: one colour per series name across
/// all their figures, names of one figure always told apart.
pub fn palette_for<'a>(results: impl IntoIterator<Item = &'a ResultFile>) -> Palette {
    let mut groups = Vec::new();
    for result in results {
        for spec in &result.figures {
            groups.push(figure::series_names(spec, result));
        }
    }
    Palette::from_groups(groups)
}

/// The file stem of a figure: `<experiment>-<figure id>`, with anything but
/// letters, digits, `-`, `_` and `.` turned into `_` (ids come from files).
pub fn figure_stem(experiment: &str, id: &str) -> String {
    format!("{experiment}-{id}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Draws every declared figure of every result into `figures_dir`.
/// A figure that cannot be drawn as declared still gets its files (showing
/// why) and a [`Drawn::problem`]; the error is only for an unwritable folder.
pub fn render_figures(
    results: &[(PathBuf, ResultFile)],
    figures_dir: &Path,
) -> anyhow::Result<Vec<Rendered>> {
    std::fs::create_dir_all(figures_dir)
        .with_context(|| format!("cannot create the figure folder {}", figures_dir.display()))?;
    let palette = palette_for(results.iter().map(|(_, r)| r));
    let mut used = BTreeSet::new();
    let mut rendered = Vec::new();
    for (_, result) in results {
        for spec in &result.figures {
            let stem = unique_stem(&mut used, figure_stem(&result.experiment, &spec.id));
            let drawn = figure::draw(
                spec,
                &[Source::new(result)],
                &palette,
                &figures_dir.join(stem),
            )?;
            rendered.push(Rendered {
                experiment: result.experiment.clone(),
                spec: spec.clone(),
                drawn,
            });
        }
    }
    Ok(rendered)
}

/// `stem`, or `stem-2`, `stem-3`... if already taken.
pub(crate) fn unique_stem(used: &mut BTreeSet<String>, stem: String) -> String {
    let mut candidate = stem.clone();
    let mut n = 2;
    while !used.insert(candidate.clone()) {
        candidate = format!("{stem}-{n}");
        n += 1;
    }
    candidate
}
