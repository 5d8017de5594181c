//! The run's parameters: recorded in the result file and printed before
//! measuring.

use mmlab_core::cgroup::MemoryCgroup;
use mmlab_core::size::format_size_short;
use mmlab_core::{ResultFile, RunContext, format_size};
use serde_json::{Value, json};

use crate::methods::Method;
use crate::plan::{Plan, Scenario};

/// Parameters, recorded and printed before measuring.
pub(crate) fn record_params(
    result: &mut ResultFile,
    context: &RunContext,
    plan: &Plan,
    sizes: &[u64],
    cgroup: Option<&MemoryCgroup>,
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
        .scenarios()
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
    result.param("repetitions", plan.repetitions);
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
        format!("{} (interleaved across methods)", plan.repetitions),
    );
    print(
        "methods",
        format!("{}, and memory-ceiling", methods.join(", ")),
    );
    for scenario in plan.scenarios() {
        print(
            &format!("scenario {}", scenario.name()),
            scenario.description().into(),
        );
    }
    print("memory cgroup", cgroup_text);
}
