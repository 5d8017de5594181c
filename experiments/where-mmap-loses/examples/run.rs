//! Runs the experiment without the mmlab binary and writes its result file
//! (`where-mmap-loses.json` and `.csv`) into a folder, for
//! `mmlab report FOLDER`: `cargo run --release -p where-mmap-loses --example
//! run -- OUT [quick|full]`.

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(
        args.next()
            .unwrap_or_else(|| "/tmp/where-mmap-loses".into()),
    );
    let profile = match args.next().as_deref() {
        Some("full") => mmlab_core::Profile::Full,
        _ => mmlab_core::Profile::Quick,
    };
    std::fs::create_dir_all(&out)?;
    let context = mmlab_core::RunContext {
        profile,
        quiet: false,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let result = where_mmap_loses::EXPERIMENT.run(&context)?;
    let path = mmlab_core::io::write_result(&out, &result)?;
    for claim in &result.claims {
        println!("{} {}: {}\n", claim.id, claim.verdict, claim.evidence);
    }
    println!(
        "wrote {} in {:.1} s",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
