//! The one place an experiment is added: its crate exposes
//! `pub const EXPERIMENT: &dyn mmlab_core::Experiment`, and this list names
//! it. `mmlab list`, `mmlab run all` and `make experiments` read this list.

use mmlab_core::Experiment;

/// Every registered experiment, in the order `run all` runs them.
pub fn experiments() -> Vec<&'static dyn Experiment> {
    vec![
        // Experiments register here, one line each, e.g. `prot_flags::EXPERIMENT,`.
        prot_flags::EXPERIMENT,
        lazy_loading::EXPERIMENT,
        repeated_access::EXPERIMENT,
        copy_on_write::EXPERIMENT,
        who_calls_mmap::EXPERIMENT,
        filesystems::EXPERIMENT,
        syscall_cost::EXPERIMENT,
        where_mmap_loses::EXPERIMENT,
        writeback::EXPERIMENT,
    ]
}

/// The claims registry as the markdown of `CLAIMS.md`: each claim of the
/// notes, what decides it, and the experiments that judge it
/// (`mmlab list --claims`; a test checks that CLAIMS.md is this text).
pub fn claims_markdown() -> String {
    let mut text = String::from(
        "# The claims of the notes\n\n\
         Every statement of the student's notes on mmap that a running kernel can\n\
         check has an id. Each experiment judges the claims it names, and every\n\
         result file carries, for each of them, a verdict computed from that run's\n\
         numbers (`holds`, `holds-with-nuance`, `refuted`, `not-measured`) with its\n\
         evidence, its rule and the rule's thresholds. Where several experiments\n\
         judge one claim, the report shows one verdict: refuted if any experiment\n\
         refutes it, otherwise the weakest measured one.\n\n\
         This file is written from the registry in the code\n\
         (`crates/mmlab-core/src/claims.rs` and `crates/mmlab/src/registry.rs`):\n\
         `mmlab list --claims` prints it, and a test checks that they agree.\n\n\
         | id | the notes say | what decides it | judged by |\n|---|---|---|---|\n",
    );
    for claim in mmlab_core::CLAIMS {
        let judges: Vec<String> = experiments()
            .iter()
            .filter(|e| e.claims().contains(&claim.id))
            .map(|e| format!("[{0}](experiments/{0}/README.md)", e.id()))
            .collect();
        text.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            claim.id,
            claim.statement.replace('|', "\\|"),
            claim.decided_by.replace('|', "\\|"),
            if judges.is_empty() {
                "(no experiment yet)".to_string()
            } else {
                judges.join(", ")
            }
        ));
    }
    text
}

/// The experiment with this id.
pub fn find(id: &str) -> Option<&'static dyn Experiment> {
    experiments().into_iter().find(|e| e.id() == id)
}
