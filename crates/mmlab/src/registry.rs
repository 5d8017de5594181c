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
    ]
}

/// The experiment with this id.
pub fn find(id: &str) -> Option<&'static dyn Experiment> {
    experiments().into_iter().find(|e| e.id() == id)
}
