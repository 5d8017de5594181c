//! Guides declared beside a result's figures (`figure_guides`): the
//! diagonal y = x a caption points at is drawn through the points that lie
//! on it, a vertical line stands at its x, both are named in the legend, and
//! a guide that cannot be drawn turns the figure into one that says why.

use mmlab_core::{Axis, FigureKind, FigureSpec, ResultFile};
use mmlab_plot::scene::{Scene, Shape};
use mmlab_plot::{Source, palette_for};
use serde_json::json;

fn result_with_guides(guides: serde_json::Value) -> ResultFile {
    let mut result = mmlab_plot::example::result("guides", 1.0);
    result.figures.clear();
    let mut rows = Vec::new();
    for (k, faults, resident) in [(1, 1, 16), (16, 1, 16), (256, 16, 256), (4096, 256, 4096)] {
        rows.push(json!({"k": k, "what": "faults", "count": faults}));
        rows.push(json!({"k": k, "what": "resident pages", "count": resident}));
    }
    result.extra.insert("touch".into(), json!(rows));
    let mut spec = FigureSpec::new(
        "touch",
        "How many faults does touching k pages cost?",
        FigureKind::Line,
        "touch",
        Axis::log("k", "pages touched"),
        Axis::log("count", "count"),
    );
    spec.series = Some("what".into());
    result.figures.push(spec);
    result
        .extra
        .insert(mmlab_plot::guides::KEY.into(), json!({ "touch": guides }));
    result
}

fn scene_of(result: &ResultFile) -> Scene {
    let palette = palette_for([result]);
    let (scene, _) =
        mmlab_plot::line::line_scene(&result.figures[0], &[Source::new(result)], &palette).unwrap();
    scene
}

/// The dashed lines drawn in the `index`-th reference look.
fn reference_paths(scene: &Scene, index: usize) -> Vec<Vec<(i32, i32)>> {
    let (colour, dash) = mmlab_plot::frame::reference_look(index);
    scene
        .shapes
        .iter()
        .filter_map(|shape| match shape {
            Shape::Line {
                points,
                colour: c,
                dash: Some(d),
                ..
            } if *c == colour && *d == dash && points.len() >= 2 => Some(points.clone()),
            _ => None,
        })
        .collect()
}

/// The distance in pixels from `point` to the polyline `path`.
fn distance(point: (i32, i32), path: &[(i32, i32)]) -> f64 {
    let p = (point.0 as f64, point.1 as f64);
    path.windows(2)
        .map(|pair| {
            let (a, b) = (
                (pair[0].0 as f64, pair[0].1 as f64),
                (pair[1].0 as f64, pair[1].1 as f64),
            );
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let length = dx * dx + dy * dy;
            let t = if length == 0.0 {
                0.0
            } else {
                (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / length).clamp(0.0, 1.0)
            };
            let (x, y) = (a.0 + t * dx, a.1 + t * dy);
            ((p.0 - x).powi(2) + (p.1 - y).powi(2)).sqrt()
        })
        .fold(f64::INFINITY, f64::min)
}

fn markers(scene: &Scene) -> Vec<(i32, i32)> {
    scene
        .shapes
        .iter()
        .filter_map(|shape| match shape {
            Shape::Marker { x, y, size: 5, .. } => Some((*x, *y)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_diagonal_goes_through_the_points_on_it_and_a_vertical_line_stands_at_its_x() {
    let result = result_with_guides(json!([
        {"label": "one per page touched (y = x)", "slope": 1},
        {"label": "fault-around window (16 pages)", "x": 16}
    ]));
    let scene = scene_of(&result);
    // No horizontal reference lines in the spec: the guides take looks 0, 1.
    let diagonal = reference_paths(&scene, 0);
    let diagonal = diagonal
        .iter()
        .find(|path| path.len() > 2)
        .expect("a diagonal");
    // It rises from left to right (pixels: y decreases as x grows).
    assert!(
        diagonal
            .windows(2)
            .all(|w| w[1].0 >= w[0].0 && w[1].1 <= w[0].1)
    );
    // The points with y = x lie on it: (1, 1) of `faults`, and (16, 16),
    // (256, 256), (4096, 4096) of `resident pages`; no other.
    let on_it: Vec<_> = markers(&scene)
        .into_iter()
        .filter(|m| distance(*m, diagonal) <= 2.0)
        .collect();
    assert_eq!(on_it.len(), 4, "{on_it:?}");
    let vertical = reference_paths(&scene, 1);
    let vertical = vertical
        .iter()
        .find(|path| path.len() == 2 && path[0].0 == path[1].0)
        .expect("a vertical line");
    // At x = 16: the markers at k = 16 share its x.
    assert!(
        markers(&scene)
            .iter()
            .filter(|m| (m.0 - vertical[0].0).abs() <= 1)
            .count()
            == 2
    );
    let texts: Vec<String> = scene
        .shapes
        .iter()
        .filter_map(|shape| match shape {
            Shape::Text { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect();
    for label in [
        "one per page touched (y = x)",
        "fault-around window (16 pages)",
    ] {
        assert!(texts.iter().any(|t| t == label), "{label} not in {texts:?}");
    }
}

#[test]
fn a_guide_that_cannot_be_drawn_is_a_problem_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let check = |guides: serde_json::Value, kind: FigureKind, expected: &str| {
        let mut result = result_with_guides(guides);
        result.figures[0].kind = kind;
        let palette = palette_for([&result]);
        let drawn = mmlab_plot::draw(
            &result.figures[0],
            &[Source::new(&result)],
            &palette,
            &dir.path().join("touch"),
        )
        .unwrap();
        let problem = drawn.problem.unwrap_or_default();
        assert!(problem.contains(expected), "{problem:?} lacks {expected:?}");
    };
    check(
        json!([{"label": "both", "slope": 1, "x": 3}]),
        FigureKind::Line,
        "`figure_guides.touch[0]` (`both`) must set exactly one of `slope` and `x`",
    );
    check(
        json!([{"label": "flat", "slope": 0}]),
        FigureKind::Line,
        "a slope of 0 has no line on a log y axis",
    );
    check(
        json!([{"label": "typo", "slop": 1}]),
        FigureKind::Line,
        "`figure_guides.touch[0]` is not a guide",
    );
    check(
        json!([{"label": "y = x", "slope": 1}]),
        FigureKind::Bar,
        "guides (a slope or a vertical line at an x) need a line figure",
    );
}

#[test]
fn without_guides_a_line_figure_has_no_reference_path() {
    let mut result = result_with_guides(json!([]));
    result.extra.remove(mmlab_plot::guides::KEY);
    let scene = scene_of(&result);
    assert!(reference_paths(&scene, 0).is_empty());
}

#[test]
fn a_guide_for_a_figure_the_result_does_not_declare_is_a_report_problem() {
    let dir = tempfile::tempdir().unwrap();
    let result = result_with_guides(json!([{"label": "y = x", "slope": 1}]));
    let mut stray = result.clone();
    stray.extra.insert(
        mmlab_plot::guides::KEY.into(),
        json!({"touch": [], "no-such-figure": [{"label": "y = x", "slope": 1}]}),
    );
    assert!(mmlab_plot::guides::stray(&result).is_empty());
    let results = vec![(dir.path().join("guides.json"), stray)];
    let questions = Default::default();
    let input = mmlab_plot::report::ReportInput {
        results_dir: dir.path(),
        results: &results,
        read_errors: &[],
        questions: &questions,
    };
    let output = mmlab_plot::report::write_report(&input, dir.path()).unwrap();
    assert_eq!(
        output.problems,
        ["`figure_guides.no-such-figure` of guides names no figure of that result"]
    );
}
