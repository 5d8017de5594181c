//! Renders the figures and the report of a results folder, like `mmlab
//! report DIR`, and prints how long reading, drawing and writing took: the
//! benchmark in this crate's README.

fn main() -> anyhow::Result<()> {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "results/latest".to_string()),
    );
    let started = std::time::Instant::now();
    let (results, errors) = mmlab_core::io::read_results_dir(&dir);
    let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    for error in &errors {
        eprintln!("skipped: {error}");
    }
    let questions = Default::default();
    let input = mmlab_plot::report::ReportInput {
        results_dir: &dir,
        results: &results,
        read_errors: &errors,
        questions: &questions,
    };
    let output = mmlab_plot::report::write_report(&input, &dir)?;
    for problem in &output.problems {
        eprintln!("problem: {problem}");
    }
    println!(
        "{} result file(s), {} figure(s) (SVG + PNG, each checked) and the report in {:.3} s",
        results.len(),
        output.figures.len(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", output.html.display());
    Ok(())
}
