//! Writes the example result files (every figure kind, see
//! `mmlab_plot::example`) into a folder (default target/plot-example) as
//! `example-a.json` and `example-b.json`, renders their figures into
//! `figures/` there and prints how long that took. Then try
//! `mmlab report target/plot-example`.

fn main() -> anyhow::Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/plot-example".to_string());
    let out = std::path::PathBuf::from(out);
    let mut results = Vec::new();
    for (id, scale) in [("example-a", 1.0), ("example-b", 1.3)] {
        let result = mmlab_plot::example::result(id, scale);
        let path = mmlab_core::io::write_result(&out, &result)?;
        results.push((path, result));
    }
    let started = std::time::Instant::now();
    let rendered = mmlab_plot::render_figures(&results, &out.join("figures"))?;
    for figure in &rendered {
        println!("{}", figure.drawn.png.display());
        for note in &figure.drawn.notes {
            println!("  note: {note}");
        }
        if let Some(problem) = &figure.drawn.problem {
            println!("  problem: {problem}");
        }
    }
    println!(
        "{} figures in {:.3} s",
        rendered.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
