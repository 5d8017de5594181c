//! From pass records to the result file, measuring done: samples (one per
//! pass), summaries, tables, warnings and figures. No verdict is computed
//! here: the judge step ([`crate::judge`]) reads them from the file.

use mmlab_core::ResultFile;
use mmlab_core::cgroup::MemoryCgroup;
use mmlab_core::datafile::why_nothing_is_evicted;
use serde_json::{Value, json};

use crate::plan::Plan;
use crate::rows::Rows;
use crate::runner::{PassRecord, SizeInfo};
use crate::state::Reclaimers;
use crate::{figures, tables, warnings};

/// Fills in everything after measuring.
pub(crate) fn fill(
    result: &mut ResultFile,
    plan: &Plan,
    records: &[PassRecord],
    sizes: &[SizeInfo],
    cgroup: Option<&MemoryCgroup>,
    reclaimers: &Reclaimers,
) -> anyhow::Result<()> {
    // Why nothing could be evicted, where the data folder's filesystem (in
    // the fingerprint) explains it: tmpfs. It only explains; whether a
    // scenario was measured comes from mincore before its passes.
    let why_not_evicted = why_nothing_is_evicted(&result.env.data_dir_fs, &result.env.data_dir);
    let why = why_not_evicted.as_deref();
    if let Some(cgroup) = cgroup {
        let stats = cgroup.stats();
        result.extra.insert(
            "memory_cgroup".into(),
            json!({
                "cgroup": cgroup.describe(),
                "path": cgroup.path().display().to_string(),
                "limit_bytes": cgroup.limit_bytes(),
                "peak_bytes": stats.peak_bytes,
                "oom_kills": stats.oom_kills,
            }),
        );
    }
    let ceilings = tables::ceilings(records);
    result.samples = records
        .iter()
        .map(|r| {
            let first = sizes.first().map_or(0, |s| s.file_size_bytes);
            tables::sample(r, plan, ceilings.get(&r.file_size_bytes).copied(), first)
        })
        .collect();
    // Everything below is computed from the samples as the file holds them.
    let rows = Rows::of_samples(&result.samples).map_err(anyhow::Error::msg)?;
    let size_list: Vec<u64> = sizes.iter().map(|s| s.file_size_bytes).collect();
    result.summaries = tables::summaries(records);
    result.extra.insert(
        "cpu_split".into(),
        Value::Array(tables::cpu_split(records, plan)),
    );
    result.extra.insert(
        "series_table".into(),
        Value::Array(tables::series_table(&rows, plan, &size_list)),
    );
    result.extra.insert(
        "time_split".into(),
        Value::Array(
            size_list
                .iter()
                .filter_map(|size| {
                    tables::TimeSplit::of(&rows, *size, plan.headline_block_bytes)
                        .map(|split| split.row(*size))
                })
                .collect(),
        ),
    );
    result.extra.insert(
        "sizes".into(),
        Value::Array(tables::sizes_table(&rows, sizes)),
    );
    result.extra.insert(
        "repetitions".into(),
        Value::Array(tables::repetitions_table(records, sizes, plan)),
    );
    let (file_state, file_folios) = tables::file_state_tables(sizes);
    result
        .extra
        .insert("file_state".into(), Value::Array(file_state));
    result
        .extra
        .insert("file_folios".into(), Value::Array(file_folios));
    let first = size_list.first().copied().unwrap_or(0);
    let (observer_rounds, observer_sets) = tables::observer_tables(&rows, first);
    result
        .extra
        .insert("observer_rounds".into(), Value::Array(observer_rounds));
    result
        .extra
        .insert("instrumentation_cost".into(), Value::Array(observer_sets));
    let plain = tables::plain_loop_table(&rows, first, plan.observer_block_bytes);
    result.extra.insert(
        "plain_loop".into(),
        Value::Array(plain.clone().into_iter().collect()),
    );
    let syscalls_reason = match result.counters_available.get("raw_syscalls:sys_enter") {
        Some(mmlab_core::Availability::Unavailable(reason)) => reason.clone(),
        _ => "not counted".to_string(),
    };
    result
        .warnings
        .extend(warnings::warnings(records, sizes, &syscalls_reason, why));
    result
        .warnings
        .extend(warnings::reclaim_warnings(records, sizes, reclaimers));
    result
        .warnings
        .extend(warnings::plain_loop_warning(plain.as_ref()));
    if let Some(cgroup) = cgroup {
        result
            .warnings
            .extend(warnings::limit_warnings(cgroup, sizes));
    }
    let folio_sizes_read: Vec<u64> = sizes
        .iter()
        .filter(|s| {
            s.file_states
                .iter()
                .any(|(_, _, state)| state.folios.is_ok())
        })
        .map(|s| s.file_size_bytes)
        .collect();
    result.figures = figures::figures(&rows, plan, &size_list, &ceilings, why, &folio_sizes_read);
    Ok(())
}
