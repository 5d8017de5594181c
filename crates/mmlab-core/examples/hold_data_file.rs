//! Test helper: makes a data folder and file under the folder given as the
//! first argument, says "ready" on stdout, then waits to be interrupted.
//! The interrupt test checks that Ctrl-C (SIGINT) removes everything.

use std::io::Write;

fn main() -> anyhow::Result<()> {
    mmlab_core::cleanup::install_signal_handlers();
    let base = std::env::args()
        .nth(1)
        .expect("usage: hold_data_file BASE_DIR");
    let dir = mmlab_core::DataDir::create(Some(std::path::Path::new(&base)))?;
    let file = dir.create_file("held", 1 << 20)?;
    println!("ready {}", file.path.display());
    std::io::stdout().flush()?;
    std::thread::sleep(std::time::Duration::from_secs(60));
    Ok(())
}
