//! Prints what the standard set counts for 1000 read() calls on this machine.
use std::io::Read;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let set = mmlab_counters::CounterSet::standard_with(&["syscalls:sys_enter_read"])?;
    for (event, a) in set.availability() {
        println!("{event:28} {a:?}");
    }
    let mut f = std::fs::File::open("/dev/zero")?;
    let mut buf = [0u8; 64];
    for _ in 0..3 {
        let (_, m) = set.measure(|| {
            for _ in 0..1000 {
                let _ = f.read(&mut buf);
            }
        });
        println!("{:?}", m.counts);
        println!(
            "{:?}",
            m.notes
                .iter()
                .filter(|(_, n)| !n.starts_with("unsupported"))
                .collect::<Vec<_>>()
        );
        println!("{:?}", m.rusage);
    }
    Ok(())
}
