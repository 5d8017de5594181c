//! The ground every mmap-lab experiment stands on: the result file (schema
//! version 1) and its atomic writer and reader, the machine fingerprint,
//! statistics over repetitions, claims and verdicts, fault-safe probes in a
//! forked child, data files that are always removed, an opt-in memory
//! cgroup that is always removed, and page tools
//! (mincore, page-cache eviction, smaps, pagemap frames, sizes).
//!
//! This crate measures nothing by itself and draws nothing: experiments call
//! it, the plot crate reads what it writes. Perf counters live in
//! `mmlab-counters`; only this crate and the experiments' probes use `unsafe`,
//! each in a small, documented function.

pub mod cgroup;
pub mod claims;
pub mod cleanup;
pub mod datafile;
pub mod experiment;
pub mod fingerprint;
pub mod guest;
pub mod io;
pub mod pages;
pub mod probe;
pub mod proc;
pub mod schema;
pub mod scratch;
pub mod size;
pub mod stats;
pub mod summing;
pub mod testing;

pub use claims::{CLAIMS, ClaimInfo, claim_info};
pub use datafile::{DataDir, DataFile};
pub use experiment::{Experiment, Profile, RunContext};
pub use fingerprint::Fingerprint;
pub use schema::{
    Availability, Axis, Claim, FigureKind, FigureSpec, ReferenceLine, ResultFile, SCHEMA_VERSION,
    Verdict, Warning,
};
pub use size::{format_size, parse_size};
pub use stats::Summary;
