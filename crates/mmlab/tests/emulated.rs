//! Runs made in an emulated guest (`mmlab kernels` under TCG): the claims an
//! experiment decides by timings are not-measured with the reason, the
//! others keep their verdicts, from the fingerprint in the file alone; a KVM
//! guest or a run outside any guest is judged as usual. Shown on the
//! recorded reference runs of this machine with `guest` written in, and
//! through `mmlab judge`, which recomputes it.

use std::path::Path;

use mmlab_core::guest::{EMULATED, KVM, NOT_MEANINGFUL};
use mmlab_core::{Experiment, ResultFile, Verdict};

fn reference(experiment: &str) -> ResultFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../results/reference")
        .join(format!("{experiment}.json"));
    mmlab_core::io::read_result(&path).expect("the reference run reads")
}

fn with_guest(result: &ResultFile, guest: Option<&str>) -> ResultFile {
    let mut result = result.clone();
    result.env.guest = guest.map(str::to_string);
    result
}

/// Under TCG exactly the timing claims change, to not-measured with the
/// reason; under KVM and outside a guest nothing changes.
fn check(experiment: &dyn Experiment, timing: &[&str]) {
    assert_eq!(experiment.timing_claims(), timing);
    let recorded = reference(experiment.id());
    let native = experiment.judge_result(&with_guest(&recorded, None));
    assert_eq!(native, experiment.judge(&recorded));
    let kvm = experiment.judge_result(&with_guest(&recorded, Some(KVM)));
    assert_eq!(
        kvm,
        native,
        "{}: a KVM guest is judged as usual",
        experiment.id()
    );
    let emulated = experiment.judge_result(&with_guest(&recorded, Some(EMULATED)));
    assert_eq!(emulated.len(), native.len());
    let mut n_timing = 0;
    for (claim, usual) in emulated.iter().zip(&native) {
        assert_eq!(claim.id, usual.id);
        if timing.contains(&claim.id.as_str()) {
            n_timing += 1;
            assert_eq!(claim.verdict, Verdict::NotMeasured, "{}", claim.id);
            assert!(
                claim.evidence.starts_with(NOT_MEANINGFUL),
                "{}",
                claim.evidence
            );
            assert!(claim.rule.contains(EMULATED) && claim.rule.ends_with(&usual.rule));
            assert_eq!(claim.thresholds, usual.thresholds);
        } else {
            assert_eq!(
                claim, usual,
                "{}: count claims are judged as usual",
                claim.id
            );
        }
    }
    assert!(
        n_timing > 0,
        "{}: the reference run judges a timing claim",
        experiment.id()
    );
    // The reference runs have verdicts other than not-measured on some
    // timing claim: the rule changes something there.
    assert!(
        native
            .iter()
            .any(|c| timing.contains(&c.id.as_str()) && c.verdict != Verdict::NotMeasured),
        "{}: no timing claim was measured in the reference run",
        experiment.id()
    );
}

#[test]
fn timing_claims_of_an_emulated_run_are_not_measured_and_counts_are_judged() {
    check(where_mmap_loses::EXPERIMENT, &["L1", "L2", "L3"]);
    check(repeated_access::EXPERIMENT, &["S13", "S14"]);
}

#[test]
fn count_experiments_have_no_timing_claims() {
    for experiment in [
        prot_flags::EXPERIMENT,
        lazy_loading::EXPERIMENT,
        copy_on_write::EXPERIMENT,
        who_calls_mmap::EXPERIMENT,
        syscall_cost::EXPERIMENT,
    ] {
        assert!(experiment.timing_claims().is_empty(), "{}", experiment.id());
        let recorded = reference(experiment.id());
        assert_eq!(
            experiment.judge_result(&with_guest(&recorded, Some(EMULATED))),
            experiment.judge(&recorded),
            "{}",
            experiment.id()
        );
    }
}

#[test]
fn mmlab_judge_recomputes_the_emulation_rule_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let result = with_guest(&reference("where-mmap-loses"), Some(EMULATED));
    mmlab_core::io::write_result(dir.path(), &result).unwrap();
    let judge = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mmlab"))
            .arg("judge")
            .arg(dir.path())
            .args(extra)
            .output()
            .unwrap()
    };
    // The stored verdicts are the native ones: the timing claims change.
    let first = judge(&[]);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert_eq!(first.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(NOT_MEANINGFUL), "{stdout}");
    assert_eq!(judge(&["--write"]).status.code(), Some(1));
    let again = judge(&[]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    let written = mmlab_core::io::read_result(&dir.path().join("where-mmap-loses.json")).unwrap();
    for claim in &written.claims {
        let timing = ["L1", "L2", "L3"].contains(&claim.id.as_str());
        assert_eq!(
            claim.verdict == Verdict::NotMeasured && claim.evidence.starts_with(NOT_MEANINGFUL),
            timing,
            "{}",
            claim.id
        );
    }
}
