//! The registry agrees with itself and with what a user reads: the README's
//! experiment table lists exactly the registered experiments with their
//! questions and claims, CLAIMS.md is what `mmlab list --claims` prints,
//! every registry claim is judged by some experiment, and a result file of
//! each experiment carries exactly the claims that experiment declares.

use std::path::Path;
use std::process::Command;

fn mmlab(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_mmlab"))
        .args(args)
        .output()
        .expect("mmlab runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// (id, claims, question) of every registered experiment, from `mmlab list`.
fn registered() -> Vec<(String, Vec<String>, String)> {
    mmlab(&["list"])
        .lines()
        .map(|line| {
            let (id, rest) = line.split_once(' ').expect("an id");
            let (claims, question) = rest
                .trim_start()
                .strip_prefix('[')
                .and_then(|r| r.split_once(']'))
                .expect("[claims]");
            (
                id.to_string(),
                claims.split_whitespace().map(String::from).collect(),
                question.trim().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_readme_table_lists_the_registered_experiments_with_their_questions_and_claims() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let rows: Vec<(String, String, Vec<String>)> = readme
        .lines()
        .filter(|l| l.starts_with("| [") && l.contains("](experiments/"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            let id = cells[0]
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap()
                .to_string();
            (
                id,
                cells[1].to_string(),
                cells[2].split_whitespace().map(String::from).collect(),
            )
        })
        .collect();
    let registered = registered();
    assert_eq!(
        rows.len(),
        registered.len(),
        "README rows {rows:?} vs registry {registered:?}"
    );
    for (id, claims, question) in &registered {
        let row = rows
            .iter()
            .find(|r| &r.0 == id)
            .unwrap_or_else(|| panic!("{id} is not in the README's table"));
        assert_eq!(&row.1, question, "{id}: the README's question");
        assert_eq!(&row.2, claims, "{id}: the README's claims");
        assert!(
            root()
                .join("experiments")
                .join(id)
                .join("README.md")
                .is_file(),
            "{id} has a handout"
        );
    }
}

#[test]
fn claims_md_is_the_registry_and_every_claim_has_an_experiment() {
    let printed = mmlab(&["list", "--claims"]);
    let file = std::fs::read_to_string(root().join("CLAIMS.md")).unwrap();
    assert_eq!(
        file, printed,
        "CLAIMS.md differs from the registry: write it again with `mmlab list --claims > CLAIMS.md`"
    );
    let judged: Vec<String> = registered().into_iter().flat_map(|(_, c, _)| c).collect();
    for claim in mmlab_core::CLAIMS {
        assert!(
            judged.iter().any(|c| c == claim.id),
            "{} is in the registry but no experiment judges it",
            claim.id
        );
        assert!(file.contains(&format!("| {} | {} |", claim.id, claim.statement)));
    }
    for id in &judged {
        assert!(
            mmlab_core::claim_info(id).is_some(),
            "an experiment judges {id}, which the registry lacks"
        );
    }
}

#[test]
fn each_experiments_reference_result_carries_exactly_its_declared_claims() {
    for (id, claims, _) in registered() {
        let path = root().join("results/reference").join(format!("{id}.json"));
        let result = mmlab_core::io::read_result(&path)
            .unwrap_or_else(|e| panic!("{id}: no readable reference run: {e}"));
        let carried: Vec<String> = result.claims.iter().map(|c| c.id.clone()).collect();
        assert_eq!(carried, claims, "{id}: claims in {}", path.display());
    }
}
