//! The rows a figure draws, taken from a result file as its [`FigureSpec`]
//! says: `samples`, `summaries` or an array of objects in the result's
//! extra fields, filtered; and the values in them, read leniently (a number
//! written as a string is still a number; null is "not measured").

use mmlab_core::{Availability, FigureSpec, ResultFile};
use serde_json::Value;

/// The rows of `spec.data` that pass `spec.filter`, or why there are none
/// to read.
pub fn rows(result: &ResultFile, spec: &FigureSpec) -> Result<Vec<Value>, String> {
    Ok(indexed_rows(result, spec)?
        .into_iter()
        .map(|(_, row)| row)
        .collect())
}

/// Like [`rows`], each with its index in `spec.data`, so that a value that
/// cannot be drawn can be named where it is (`samples[12].gb_per_s`).
pub fn indexed_rows(result: &ResultFile, spec: &FigureSpec) -> Result<Vec<(usize, Value)>, String> {
    let all: Vec<Value> = match spec.data.as_str() {
        "samples" => result.samples.clone(),
        "summaries" => result
            .summaries
            .iter()
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
            .collect(),
        key => match result.extra.get(key) {
            Some(Value::Array(items)) => items.clone(),
            Some(_) => return Err(format!("data `{key}` is not an array of objects")),
            None => return Err(format!("data `{key}`: no such array in the result")),
        },
    };
    Ok(all
        .into_iter()
        .enumerate()
        .filter(|(_, row)| {
            spec.filter
                .iter()
                .all(|(field, wanted)| row.get(field).is_some_and(|v| same(v, wanted)))
        })
        .collect())
}

/// JSON equality, with 1 and 1.0 equal.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// A value as a number: numbers, booleans (1/0) and numeric strings.
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value as text for a label: strings as they are, whole numbers without
/// a decimal point, sizes in bytes (by the field's name) as `64 MiB`.
pub fn label(field: &str, value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".to_string(),
        Value::Number(n) => {
            if let Some(whole) = n.as_u64() {
                if crate::scale::TickFormat::for_field(field) == crate::scale::TickFormat::Bytes {
                    return mmlab_core::format_size(whole);
                }
                return whole.to_string();
            }
            if let Some(whole) = n.as_i64() {
                return whole.to_string();
            }
            crate::scale::format_number(n.as_f64().unwrap_or(f64::NAN))
        }
        other => other.to_string(),
    }
}

/// Whether a row's field is true (true, a non-zero number, "true", "yes").
pub fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|v| v != 0.0),
        Some(Value::String(s)) => matches!(s.as_str(), "true" | "yes" | "1"),
        _ => false,
    }
}

/// The sample field name of a perf event, as the counters crate writes it:
/// `perf_` + the event lowercased, `-` and `:` turned into `_`.
pub fn counter_field_name(event: &str) -> String {
    format!("perf_{}", event.to_lowercase().replace(['-', ':'], "_"))
}

/// Why a value is missing, for the legend: the reason from
/// `counters_available` when the field (or the series name) is a counter
/// this machine could not read.
pub fn missing_reason(result: &ResultFile, field: &str, series: Option<&str>) -> String {
    let reason_of = |name: &str| -> Option<String> {
        result
            .counters_available
            .iter()
            .find(|(event, _)| {
                event.as_str() == name
                    || counter_field_name(event) == name
                    || counter_field_name(event) == counter_field_name(name)
            })
            .and_then(|(_, availability)| match availability {
                Availability::Unavailable(reason) => Some(reason.clone()),
                Availability::Available => None,
            })
    };
    let found = reason_of(field).or_else(|| series.and_then(reason_of));
    match found {
        Some(reason) => format!("not measured on this machine: {reason}"),
        None => "not measured on this machine: no value in the result".to_string(),
    }
}

/// The p-quantile of `values` (any order).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    mmlab_core::stats::quantile(&sorted, q)
}

/// Turns `snake_case_name` into "snake case name" for a legend.
pub fn humanize(field: &str) -> String {
    field.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_read_like_people_write_them() {
        assert_eq!(label("file_size_bytes", &json!(67108864)), "64 MiB");
        assert_eq!(label("n_pages", &json!(16384)), "16384");
        assert_eq!(label("mode", &json!("MAP_PRIVATE")), "MAP_PRIVATE");
        assert_eq!(label("ratio", &json!(0.5)), "0.5");
    }

    #[test]
    fn numbers_are_read_leniently() {
        assert_eq!(number(&json!(3)), Some(3.0));
        assert_eq!(number(&json!("2.5")), Some(2.5));
        assert_eq!(number(&json!(true)), Some(1.0));
        assert_eq!(number(&json!(null)), None);
        assert_eq!(number(&json!("SIGSEGV")), None);
    }

    #[test]
    fn counter_fields_match_the_counters_crate() {
        assert_eq!(
            counter_field_name("dTLB-load-misses"),
            "perf_dtlb_load_misses"
        );
        assert_eq!(
            counter_field_name("syscalls:sys_enter_read"),
            "perf_syscalls_sys_enter_read"
        );
    }
}
