//! The run's parameters: recorded in the result file and printed before
//! measuring.

use mmlab_core::cgroup::MemoryCgroup;
use mmlab_core::size::format_size_short;
use mmlab_core::{ResultFile, RunContext, format_size};
use serde_json::{Value, json};

use crate::instrument::Instrumentation;
use crate::methods::Method;
use crate::plan::{Plan, Repetitions, Scenario};
use crate::state::Reclaimers;

/// Parameters, recorded and printed before measuring.
pub(crate) fn record_params(
    result: &mut ResultFile,
    context: &RunContext,
    plan: &Plan,
    sizes: &[u64],
    cgroup: Option<&MemoryCgroup>,
    reclaimers: &Reclaimers,
) {
    let list = |values: &[u64]| {
        values
            .iter()
            .map(|v| format_size_short(*v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let methods: Vec<&str> = Method::FILE_METHODS.iter().map(|m| m.name()).collect();
    let scenarios: serde_json::Map<String, Value> = plan
        .scenarios(0)
        .iter()
        .map(|s| (s.name().to_string(), s.description().into()))
        .collect();
    result.param("file_sizes_bytes", json!(sizes));
    result.param("block_sizes_bytes", json!(plan.block_sizes_bytes));
    result.param(
        "storage_block_sizes_bytes",
        json!(plan.storage_block_sizes_bytes),
    );
    result.param("headline_block_bytes", plan.headline_block_bytes);
    result.param("passes_warm", plan.warm_passes);
    result.param("passes_cold", plan.cold_passes);
    result.param("passes_evict_every_pass", plan.evicted_passes);
    if plan.memory_limit_bytes.is_some() {
        result.param("passes_memory_limit", plan.passes(Scenario::MemoryLimit));
    }
    match plan.repetitions {
        Repetitions::Fixed(n) => {
            result.param("repetitions", n);
            result.param(
                "repetition_rule",
                format!("fixed: {n} repetitions of every series"),
            );
        }
        Repetitions::Adaptive { rule, budget } => {
            result.param("repetitions", "adaptive");
            result.param("repetition_rule", rule.describe());
            result.param("repetition_confidence", rule.confidence);
            result.param("repetition_half_width", rule.half_width);
            result.param("repetitions_min", rule.min_repetitions);
            result.param("repetitions_max", rule.max_repetitions);
            result.param("measuring_budget_s", budget.as_secs());
        }
    }
    result.param("passes_counted_warm", plan.counted_passes_warm);
    result.param("passes_counted_cold", plan.counted_passes_cold);
    result.param(
        "passes_counted_evict_every_pass",
        plan.counted_passes_evicted,
    );
    result.param(
        "counting",
        "timed passes run under the timing counters only (no tracepoint is open while they run); system calls are counted in separate passes of the same series in the first repetition, with every counter on; faults come from getrusage in every pass",
    );
    result.param("counters_timed", json!(Instrumentation::Timing.events()));
    result.param("counters_counted", json!(Instrumentation::Full.events()));
    result.param("observer_block_bytes", plan.observer_block_bytes);
    result.param("observer_rounds_per_repetition", plan.observer_rounds);
    result.param("buffer_offset_bytes", 0);
    result.param("alignment_offsets_bytes", json!(plan.alignment_offsets));
    result.param(
        "alignment_block_sizes_bytes",
        json!(plan.alignment_block_sizes_bytes),
    );
    result.param(
        "file_state",
        "the data file is written afresh at the start of every repetition; its residency and folio sizes are read before every scenario's first pass (file_state)",
    );
    result.param("reclaimers", reclaimers.to_json());
    result.param("damon_pageout_active", reclaimers.pageout_active());
    result.param("methods", json!(methods));
    result.param("scenarios", Value::Object(scenarios));
    result.param(
        "order",
        "interleaved: for each repetition, every scenario, every method and block size, then its passes",
    );
    result.param("memory_limit_bytes", json!(plan.memory_limit_bytes));
    let cgroup_text = match cgroup {
        Some(cgroup) => format!(
            "{}: the memory-limit scenario's passes run in a child process inside it; removed after the run",
            cgroup.describe()
        ),
        None => "not used: the page cache too small is simulated by evicting the file before every pass (mmlab run repeated-access --memory-limit SIZE adds a real limit)".to_string(),
    };
    result.param("memory_cgroup", cgroup_text.clone());
    result.param(
        "summing_kernel",
        "wrapping sum of little-endian u64 words, 8 lanes",
    );
    let print = |name: &str, value: String| context.print_param(name, value);
    print(
        "file sizes",
        sizes
            .iter()
            .map(|s| format_size(*s))
            .collect::<Vec<_>>()
            .join(", "),
    );
    print("block sizes (warm)", list(&plan.block_sizes_bytes));
    print(
        "block sizes (cold, evict-every-pass)",
        list(&plan.storage_block_sizes_bytes),
    );
    print(
        "passes",
        format!(
            "warm {}, cold {}, evict-every-pass {}{}",
            plan.warm_passes,
            plan.cold_passes,
            plan.evicted_passes,
            if plan.memory_limit_bytes.is_some() {
                format!(", memory-limit {}", plan.passes(Scenario::MemoryLimit))
            } else {
                String::new()
            }
        ),
    );
    print(
        "repetitions",
        match plan.repetitions {
            Repetitions::Fixed(n) => format!("{n} (interleaved across methods)"),
            Repetitions::Adaptive { rule, .. } => rule.describe(),
        },
    );
    print("reclaimers", reclaimers.describe());
    print(
        "methods",
        format!(
            "{}, and the memory ceilings (memory-ceiling in one thread, memory-ceiling-all-cpus in one per CPU)",
            methods.join(", ")
        ),
    );
    for scenario in plan.scenarios(0) {
        print(
            &format!("scenario {}", scenario.name()),
            scenario.description().into(),
        );
    }
    print("memory cgroup", cgroup_text);
}
