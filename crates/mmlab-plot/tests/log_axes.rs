//! A value of 1 on a log axis is a bar (or a point) with a height, and a
//! zero is drawn and labelled as zero: checked on the laid-out shapes of a
//! figure with the values 0, 1 and 1000, not by looking at pixels.

use mmlab_core::{Axis, FigureKind, FigureSpec, ResultFile};
use mmlab_plot::scene::{Rgb, Scene, Shape};
use mmlab_plot::{Palette, Source, palette_for};
use serde_json::json;

/// A result with one table, `counts`: a row per case with its count.
fn result_with(counts: &[(&str, f64)]) -> ResultFile {
    let mut result = mmlab_plot::example::result("log-axes", 1.0);
    result.figures.clear();
    let rows: Vec<_> = counts
        .iter()
        .map(|(case, n)| json!({"case": case, "n_calls": n, "k": n}))
        .collect();
    result.extra.insert("counts".into(), json!(rows));
    result
}

fn bar_spec(log: bool) -> FigureSpec {
    let y = if log {
        Axis::log("n_calls", "system calls (count)")
    } else {
        Axis::new("n_calls", "system calls (count)")
    };
    FigureSpec::new(
        "calls",
        "How many calls?",
        FigureKind::Bar,
        "counts",
        Axis::new("case", "case"),
        y,
    )
}

/// The filled rectangles of `colour`, as (x0, top, x1, bottom).
fn bars(scene: &Scene, colour: Rgb) -> Vec<(i32, i32, i32, i32)> {
    scene
        .shapes
        .iter()
        .filter_map(|shape| match shape {
            Shape::Rect {
                x0,
                y0,
                x1,
                y1,
                fill: Some(fill),
                ..
            } if *fill == colour => Some((*x0, (*y0).min(*y1), *x1, (*y0).max(*y1))),
            _ => None,
        })
        .collect()
}

fn texts(scene: &Scene) -> Vec<(String, i32, i32)> {
    scene
        .shapes
        .iter()
        .filter_map(|shape| match shape {
            Shape::Text { text, x, y, .. } => Some((text.clone(), *x, *y)),
            _ => None,
        })
        .collect()
}

/// Horizontal lines of `colour` at least `width` wide: (x0, x1, y).
fn flat_marks(scene: &Scene, colour: Rgb, width: u32) -> Vec<(i32, i32, i32)> {
    scene
        .shapes
        .iter()
        .filter_map(|shape| match shape {
            Shape::Line {
                points,
                colour: c,
                width: w,
                dash: None,
            } if *c == colour && *w >= width && points.len() == 2 && points[0].1 == points[1].1 => {
                Some((points[0].0, points[1].0, points[0].1))
            }
            _ => None,
        })
        .collect()
}

fn colour_of(palette: &Palette, spec: &FigureSpec) -> Rgb {
    palette.colour(&spec.y.field)
}

#[test]
fn on_a_log_axis_a_bar_of_1_has_a_height_and_a_zero_is_drawn_and_labelled() {
    let result = result_with(&[("zero", 0.0), ("one", 1.0), ("thousand", 1000.0)]);
    let spec = bar_spec(true);
    let palette = palette_for([&result]);
    let (scene, notes) =
        mmlab_plot::bar::bar_scene(&spec, &[Source::new(&result)], &palette).unwrap();
    let colour = colour_of(&palette, &spec);
    let drawn = bars(&scene, colour);
    assert_eq!(drawn.len(), 2, "bars of 1 and 1000: {drawn:?}");
    let (one, thousand) = (drawn[0], drawn[1]);
    // Both stand on the same baseline (the axis's zero).
    assert_eq!(one.3, thousand.3);
    let base = one.3;
    let height = |bar: (i32, i32, i32, i32)| bar.3 - bar.1;
    // The plot is 400 pixels high; 1 is more than the zero gap and a tenth
    // of the powers above the zero, 1000 reaches the top.
    assert!(
        height(one) > mmlab_plot::scale::ZERO_GAP as i32 + 30,
        "{one:?}"
    );
    assert!(height(thousand) >= 390, "{thousand:?}");
    assert!(height(thousand) > 3 * height(one));
    // The zero: a flat mark on the baseline, in the series' colour, with
    // its value written over it, and the axis has a tick `0` there.
    let marks = flat_marks(&scene, colour, 3);
    assert_eq!(marks.len(), 1, "{marks:?}");
    let (x0, x1, y) = marks[0];
    assert_eq!(y, base);
    let all_texts = texts(&scene);
    assert!(
        all_texts
            .iter()
            .any(|(t, x, ty)| t == "0" && (x0..=x1).contains(x) && (base - 10..base).contains(ty)),
        "no value 0 over the zero mark: {all_texts:?}"
    );
    assert!(
        all_texts
            .iter()
            .any(|(t, x, ty)| t == "0" && *x < one.0 && *ty == base),
        "no tick 0 at the baseline: {all_texts:?}"
    );
    for label in ["1", "1000"] {
        assert!(all_texts.iter().any(|(t, _, _)| t == label), "{label}");
    }
    assert!(
        !notes.iter().any(|n| n.contains("cannot be drawn")),
        "{notes:?}"
    );
}

#[test]
fn on_a_log_axis_without_zeros_the_smallest_bar_still_has_a_height() {
    // who-calls-mmap's calls-per-case: 1 mmap beside 257 reads.
    let result = result_with(&[("mmap", 1.0), ("read-4k", 257.0)]);
    let spec = bar_spec(true);
    let palette = palette_for([&result]);
    let (scene, _) = mmlab_plot::bar::bar_scene(&spec, &[Source::new(&result)], &palette).unwrap();
    let drawn = bars(&scene, colour_of(&palette, &spec));
    assert_eq!(drawn.len(), 2);
    assert!(drawn[0].3 - drawn[0].1 > 40, "{drawn:?}");
    // No zero, so no zero tick.
    assert!(!texts(&scene).iter().any(|(t, _, _)| t == "0"));
}

#[test]
fn on_a_linear_axis_a_bar_of_1_beside_16000_is_still_seen() {
    let result = result_with(&[("zero", 0.0), ("one", 1.0), ("many", 16384.0)]);
    let spec = bar_spec(false);
    let palette = palette_for([&result]);
    let (scene, _) = mmlab_plot::bar::bar_scene(&spec, &[Source::new(&result)], &palette).unwrap();
    let colour = colour_of(&palette, &spec);
    let drawn = bars(&scene, colour);
    assert_eq!(drawn.len(), 2, "{drawn:?}");
    assert!(drawn[0].3 - drawn[0].1 >= mmlab_plot::bar::MIN_BAR);
    assert_eq!(flat_marks(&scene, colour, 3).len(), 1);
}

#[test]
fn on_a_log_axis_a_point_of_0_is_drawn_at_the_axis_zero() {
    let result = result_with(&[("a", 0.0), ("b", 1.0), ("c", 1000.0)]);
    let mut spec = bar_spec(true);
    spec.kind = FigureKind::Line;
    spec.x = Axis::log("k", "k");
    let palette = palette_for([&result]);
    let (scene, notes) =
        mmlab_plot::line::line_scene(&spec, &[Source::new(&result)], &palette).unwrap();
    let markers: Vec<(i32, i32)> = scene
        .shapes
        .iter()
        .filter_map(|shape| match shape {
            Shape::Marker { x, y, .. } => Some((*x, *y)),
            _ => None,
        })
        .collect();
    // Zero is on both axes here: three points, the first at both zeros.
    assert_eq!(markers.len(), 3, "{markers:?} {notes:?}");
    let zero_tick_y = texts(&scene)
        .into_iter()
        .filter(|(t, _, _)| t == "0")
        .map(|(_, _, y)| y)
        .collect::<Vec<_>>();
    assert!(
        zero_tick_y.contains(&markers[0].1),
        "{zero_tick_y:?} {markers:?}"
    );
    assert!(markers[1].1 < markers[0].1 - mmlab_plot::scale::ZERO_GAP as i32);
    assert!(
        !notes.iter().any(|n| n.contains("cannot be drawn")),
        "{notes:?}"
    );
}

#[test]
fn a_value_too_wide_for_its_bar_is_written_upright_over_it() {
    // who-calls-mmap's read-4k: 257 reads in a group of narrow bars.
    let mut result = result_with(&[]);
    let mut rows = Vec::new();
    for case in [
        "program-start",
        "read-4k",
        "mmap",
        "malloc",
        "fs-read",
        "anon",
    ] {
        for (i, syscall) in [
            "brk",
            "close",
            "mmap",
            "mprotect",
            "munmap",
            "openat",
            "read",
            "statx",
            "pread64",
            "newfstatat",
        ]
        .iter()
        .enumerate()
        {
            let n = if case == "read-4k" && *syscall == "read" {
                257
            } else {
                i % 3 + 1
            };
            rows.push(json!({"case": case, "syscall": syscall, "n_calls": n}));
        }
    }
    result.extra.insert("counts".into(), json!(rows));
    let mut spec = bar_spec(true);
    spec.series = Some("syscall".into());
    let palette = palette_for([&result]);
    let (scene, _) = mmlab_plot::bar::bar_scene(&spec, &[Source::new(&result)], &palette).unwrap();
    let upright: Vec<&str> = scene
        .shapes
        .iter()
        .filter_map(|shape| match shape {
            Shape::Text {
                text,
                vertical: true,
                ..
            } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(upright.contains(&"257"), "{upright:?}");
}

#[test]
fn bars_below_zero_hang_from_zero_and_numeric_categories_read_in_order() {
    let result = result_with(&[("256", -1140.0), ("1", 0.0), ("4", 32800.0)]);
    let spec = bar_spec(false);
    let palette = palette_for([&result]);
    let (scene, _) = mmlab_plot::bar::bar_scene(&spec, &[Source::new(&result)], &palette).unwrap();
    let colour = colour_of(&palette, &spec);
    let drawn = bars(&scene, colour);
    assert_eq!(drawn.len(), 2, "{drawn:?}");
    // Sorted by number: 1 (zero mark), 4 (up), 256 (down), left to right.
    let (up, down) = (drawn[0], drawn[1]);
    assert!(up.0 < down.0, "{drawn:?}");
    let zero = flat_marks(&scene, colour, 3);
    assert_eq!(zero.len(), 1);
    assert!(zero[0].1 < up.0, "{zero:?} {up:?}");
    // Both bars meet at the zero mark's height: the 0 of the axis.
    assert_eq!(up.3, zero[0].2);
    assert_eq!(down.1, zero[0].2);
    assert!(down.3 > down.1 + mmlab_plot::bar::MIN_BAR);
    // The negative value is written under its bar.
    assert!(
        texts(&scene)
            .iter()
            .any(|(t, _, y)| t == "-1140" && *y > down.3),
        "{:?}",
        texts(&scene)
    );
}
