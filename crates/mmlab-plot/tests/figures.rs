//! Every figure kind drawn from the example result: valid files, a counter
//! this machine cannot read named as such, a series keeping its colour from
//! figure to figure, and a spec that names missing data turned into a figure
//! that says so.

use mmlab_plot::{Source, palette_for, render_figures};

fn svg_of(drawn: &mmlab_plot::Drawn) -> String {
    std::fs::read_to_string(&drawn.svg).unwrap().to_lowercase()
}

#[test]
fn every_kind_draws_valid_files_and_names_what_was_not_measured() {
    let dir = tempfile::tempdir().unwrap();
    let result = mmlab_plot::example::result("example", 1.0);
    let results = vec![(dir.path().join("example.json"), result.clone())];
    let rendered = render_figures(&results, dir.path()).unwrap();
    assert_eq!(rendered.len(), result.figures.len());
    for figure in &rendered {
        assert!(figure.drawn.problem.is_none(), "{:?}", figure.drawn.problem);
        mmlab_plot::verify::png(&figure.drawn.png).unwrap();
        mmlab_plot::verify::svg(&figure.drawn.svg).unwrap();
        // The title, the question, is in the figure as text.
        assert!(
            svg_of(&figure.drawn)
                .contains(&figure.spec.title.to_lowercase().replace('\'', "&#39;")),
            "{}",
            figure.spec.id
        );
    }
    let by_id = |id: &str| &rendered.iter().find(|f| f.spec.id == id).unwrap().drawn;

    // dTLB misses are null in every sample: each method is "not measured",
    // with the reason from counters_available, and nothing is drawn as zero.
    let tlb = by_id("tlb");
    for method in ["read 4k", "read 64k", "mmap"] {
        let note = format!(
            "{method}: not measured on this machine: unsupported: no hardware PMU (ENOENT)"
        );
        assert!(tlb.notes.contains(&note), "{:?}", tlb.notes);
        assert!(svg_of(tlb).contains(&note.to_lowercase()));
    }
    // The null bitmap of the residency figure is a hatched strip, said so.
    assert!(
        by_id("residency")
            .notes
            .iter()
            .any(|n| n.contains("1 strip(s): not measured")),
        "{:?}",
        by_id("residency").notes
    );

    // The same name, the same colour, in every figure that shows it.
    let palette = palette_for([&result]);
    let mmap = palette.colour("mmap").hex();
    let read = palette.colour("read 4k").hex();
    assert_ne!(mmap, read);
    for id in ["time", "syscalls", "faults"] {
        let svg = svg_of(by_id(id));
        assert!(
            svg.contains(&mmap) && svg.contains(&read),
            "figure {id} lacks {mmap} or {read}"
        );
    }
}

#[test]
fn a_spec_naming_missing_data_or_fields_becomes_a_figure_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let result = mmlab_plot::example::result("example", 1.0);
    let palette = palette_for([&result]);
    let check = |change: &dyn Fn(&mut mmlab_core::FigureSpec), expected: &str| {
        let mut spec = result.figures[0].clone();
        change(&mut spec);
        let stem = dir.path().join(format!("bad-{}", expected.len()));
        let drawn = mmlab_plot::draw(&spec, &[Source::new(&result)], &palette, &stem).unwrap();
        let problem = drawn.problem.clone().unwrap_or_default();
        assert!(problem.contains(expected), "{problem:?} lacks {expected:?}");
        mmlab_plot::verify::png(&drawn.png).unwrap();
        assert!(svg_of(&drawn).contains(&expected.to_lowercase()));
    };
    check(
        &|s| s.data = "nowhere".into(),
        "data `nowhere`: no such array in the result",
    );
    check(
        &|s| s.y.field = "no_such_ns".into(),
        "field `no_such_ns` (y) is in no row of data `samples`",
    );
    check(
        &|s| s.x.field = "no_such_x".into(),
        "field `no_such_x` (x) is in no row of data `samples`",
    );
    check(
        &|s| s.x.field = "method".into(),
        "field `method` (x) holds no number",
    );
    check(
        &|s| {
            s.filter.insert("method".into(), "no such method".into());
        },
        "no rows in data `samples`",
    );
}
