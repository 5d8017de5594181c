//! From raw samples to what the result file and the screen show: medians
//! per case, the tables behind the figures, summaries, and the check that
//! perf and getrusage count the same faults. Nothing here measures.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use mmlab_core::Summary;

/// A string field of a sample.
pub fn text<'a>(sample: &'a Value, field: &str) -> &'a str {
    sample.get(field).and_then(Value::as_str).unwrap_or("")
}

/// A numeric field of a sample (`None` when null or absent).
pub fn number(sample: &Value, field: &str) -> Option<f64> {
    sample.get(field).and_then(Value::as_f64)
}

/// The samples whose string fields equal every (field, value) of `filter`.
pub fn select<'a>(samples: &'a [Value], filter: &[(&str, &str)]) -> Vec<&'a Value> {
    samples
        .iter()
        .filter(|s| filter.iter().all(|(f, v)| text(s, f) == *v))
        .collect()
}

/// The median of a field over samples (nulls left out).
pub fn median(samples: &[&Value], field: &str) -> Option<f64> {
    let values: Vec<f64> = samples.iter().filter_map(|s| number(s, field)).collect();
    mmlab_core::stats::median(&values)
}

/// The median rounded to an integer count; `None` when no sample has the
/// field (nothing measured is not a zero).
pub fn median_count(samples: &[&Value], field: &str) -> Option<u64> {
    median(samples, field).map(|m| m.round() as u64)
}

/// The largest value of a field; `None` when there is no sample or any
/// sample has it null (an uncounted event must not read as zero).
pub fn max_count(samples: &[&Value], field: &str) -> Option<u64> {
    if samples.is_empty() {
        return None;
    }
    let mut max = 0u64;
    for s in samples {
        max = max.max(number(s, field)? as u64);
    }
    Some(max)
}

/// Summaries per series (scenario | case | state | phase) of the metrics
/// a reader compares.
pub fn summaries(samples: &[Value]) -> Vec<Summary> {
    const METRICS: [&str; 6] = [
        "n_faults",
        "rusage_major_faults",
        "elapsed_ns",
        "storage_read_bytes",
        "n_pages_resident_after",
        "pages_mapped_per_fault",
    ];
    let mut groups: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for s in samples {
        let key = format!(
            "{} | {} | {} | {}",
            text(s, "scenario"),
            text(s, "case"),
            text(s, "file_state"),
            text(s, "phase")
        );
        groups.entry(key).or_default().push(s);
    }
    let mut out = Vec::new();
    for (series, group) in groups {
        for metric in METRICS {
            let values: Vec<f64> = group.iter().filter_map(|s| number(s, metric)).collect();
            if let Some(summary) = Summary::of(series.clone(), metric, &values) {
                out.push(summary);
            }
        }
    }
    out
}

/// Why perf's fault counters and getrusage may differ in a region.
fn known_difference(sample: &Value) -> Option<&'static str> {
    let (case, phase) = (text(sample, "case"), text(sample, "phase"));
    if phase == "mmap" && case.contains("MAP_POPULATE") {
        Some(
            "faults taken inside mmap by MAP_POPULATE (get_user_pages, no user registers): getrusage counts them, perf's software fault counters do not",
        )
    } else if phase == "madvise" && case.contains("POPULATE") {
        Some(
            "faults taken inside madvise by MADV_POPULATE_READ (get_user_pages): getrusage counts them, perf's software fault counters do not",
        )
    } else {
        None
    }
}

/// Compares perf's minor/major fault counts with getrusage's in every
/// sample. Returns the JSON table and the number of unexplained differences.
pub fn fault_counter_agreement(samples: &[Value]) -> (Value, usize) {
    let mut n_compared = 0usize;
    let mut n_agreeing = 0usize;
    // Per series: samples differing, (perf, getrusage) pairs, known reason.
    type Differences = BTreeMap<String, (usize, Vec<(i64, i64)>, Option<&'static str>)>;
    let mut differences: Differences = BTreeMap::new();
    for s in samples {
        let (Some(perf_minor), Some(perf_major)) = (
            number(s, "perf_minor_faults"),
            number(s, "perf_major_faults"),
        ) else {
            continue;
        };
        let rusage_minor = number(s, "rusage_minor_faults").unwrap_or(0.0);
        let rusage_major = number(s, "rusage_major_faults").unwrap_or(0.0);
        n_compared += 1;
        if perf_minor == rusage_minor && perf_major == rusage_major {
            n_agreeing += 1;
            continue;
        }
        let key = format!(
            "{} | {} | {} | {}",
            text(s, "scenario"),
            text(s, "case"),
            text(s, "file_state"),
            text(s, "phase")
        );
        let entry = differences
            .entry(key)
            .or_insert((0, Vec::new(), known_difference(s)));
        entry.0 += 1;
        entry.1.push((
            (perf_minor + perf_major) as i64,
            (rusage_minor + rusage_major) as i64,
        ));
    }
    let mut unexplained = 0usize;
    let rows: Vec<Value> = differences
        .into_iter()
        .map(|(series, (n, pairs, why))| {
            if why.is_none() {
                unexplained += n;
            }
            json!({
                "series": series,
                "n_samples_differing": n,
                "perf_faults": pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
                "rusage_faults": pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
                "explanation": why.unwrap_or("unexplained"),
            })
        })
        .collect();
    (
        json!({
            "n_samples_compared": n_compared,
            "n_samples_agreeing": n_agreeing,
            "n_samples_unexplained": unexplained,
            "differences": rows,
        }),
        unexplained,
    )
}

/// The rows of the pages-per-fault figure: one per repetition and case.
pub fn pages_per_fault_rows(samples: &[Value]) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut add = |label: String, s: &Value| {
        if let Some(ppf) = number(s, "pages_mapped_per_fault") {
            rows.push(json!({
                "case": label,
                "pages_mapped_per_fault": ppf,
                "n_faults": number(s, "n_faults"),
                "n_pages_newly_mapped": number(s, "n_pages_newly_mapped"),
                "repetition": number(s, "repetition"),
            }));
        }
    };
    for s in samples {
        let (scenario, case, state, phase) = (
            text(s, "scenario"),
            text(s, "case"),
            text(s, "file_state"),
            text(s, "phase"),
        );
        match (scenario, phase) {
            ("folios", "touch") => {
                let state = folio_state_label(state);
                let advice = if case == "default" {
                    String::new()
                } else {
                    format!(" + {case}")
                };
                add(format!("file {state}{advice}"), s);
            }
            ("advice", "touch") if state == "warm" && case == "MADV_RANDOM" => {
                add("file cached by read() + MADV_RANDOM".to_string(), s)
            }
            ("advice", "touch") if state == "cold" && case == "MADV_NORMAL" => {
                add("file cold (readahead)".to_string(), s)
            }
            ("advice", "touch") if state == "cold" && case == "MADV_RANDOM" => {
                add("file cold + MADV_RANDOM (no readahead)".to_string(), s)
            }
            // A write after a read maps nothing new (it replaces the zero
            // page): only first passes say how much one fault maps.
            ("anonymous", "read pass") => add(format!("anonymous, {case}: {phase}"), s),
            ("anonymous", "write pass") if case.starts_with("write only") => {
                add(format!("anonymous, {case}"), s)
            }
            _ => {}
        }
    }
    rows
}

/// How the page-cache states of the folios scenario are named in figures.
pub fn folio_state_label(state: &str) -> &str {
    match state {
        "written" => "written by write()",
        "read()" => "cached by read()",
        "split" => "split (cached by MADV_RANDOM faults)",
        other => other,
    }
}

/// The folio-size figure's rows: for each page-cache state of the folios
/// scenario (first repetition), the pages of the file in folios of each
/// size, every size seen in any state listed for every state (0 where
/// absent) so that the bars line up, smallest size first.
pub fn folio_size_rows(samples: &[Value]) -> Vec<Value> {
    let histograms: Vec<(&str, BTreeMap<u64, u64>)> = samples
        .iter()
        .filter(|s| {
            text(s, "scenario") == "folios"
                && text(s, "phase") == "touch"
                && text(s, "case") == "default"
                && number(s, "repetition") == Some(0.0)
        })
        .filter_map(|s| {
            let histogram = s.get("folio_histogram")?.as_object()?;
            let sizes = histogram
                .iter()
                .filter_map(|(pages, n)| Some((pages.parse().ok()?, n.as_u64()?)))
                .collect();
            Some((folio_state_label(text(s, "file_state")), sizes))
        })
        .collect();
    let all_sizes: std::collections::BTreeSet<u64> = histograms
        .iter()
        .flat_map(|(_, h)| h.keys().copied())
        .collect();
    let mut rows = Vec::new();
    for size in &all_sizes {
        for (state, histogram) in &histograms {
            let folios = histogram.get(size).copied().unwrap_or(0);
            rows.push(json!({
                "file_state": state,
                "folio_pages": size.to_string(),
                "n_folios": folios,
                "n_pages": folios * size,
            }));
        }
    }
    rows
}

/// The rows of the cold-vs-warm figures.
pub fn cold_vs_warm_rows(samples: &[Value]) -> Vec<Value> {
    samples
        .iter()
        .filter(|s| {
            text(s, "scenario") == "cold-vs-warm" && matches!(text(s, "phase"), "touch" | "read()")
        })
        .map(|s| {
            // A run recorded before both passes summed every byte read one
            // byte per page by mmap while read() copied the whole file.
            let every_byte = text(s, "access") == crate::scenarios::ACCESS_EVERY_BYTE;
            let method = match (text(s, "case") == "mmap", every_byte) {
                (true, true) => "mmap, every byte summed",
                (true, false) => "mmap, first byte of each page",
                (false, true) => "read(), 1 MiB blocks, every byte summed",
                (false, false) => "read(), 1 MiB blocks copied",
            };
            json!({
                "method": method,
                "file_state": text(s, "file_state"),
                "elapsed_ms": number(s, "elapsed_ms"),
                "storage_read_mib": number(s, "storage_read_bytes").map(|b| b / (1u64 << 20) as f64),
                "major_faults": number(s, "rusage_major_faults"),
                "faults": number(s, "n_faults"),
                "repetition": number(s, "repetition"),
            })
        })
        .collect()
}

/// The rows of the second-pass figure: faults and system calls per pass.
pub fn second_pass_rows(samples: &[Value]) -> Vec<Value> {
    let mut rows = Vec::new();
    for s in select(samples, &[("scenario", "second-pass")]) {
        let phase = text(s, "phase");
        if !matches!(phase, "first pass" | "second pass") {
            continue;
        }
        let mapping = if text(s, "file_state") == "anonymous" {
            "anonymous"
        } else {
            "file"
        };
        for (what, field) in [
            ("page faults", "n_faults"),
            ("system calls", "perf_raw_syscalls_sys_enter"),
        ] {
            if let Some(count) = number(s, field) {
                rows.push(json!({
                    "pass": format!("{mapping}, {phase}"),
                    "what": what,
                    "count": count,
                    "repetition": number(s, "repetition"),
                }));
            }
        }
    }
    rows
}

/// A table printed on screen: a header and rows, columns padded.
pub fn print_table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    println!("  {title}");
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect();
        println!("    {}", padded.join("  "));
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// A median for the screen: an integer, or "-" when there is none.
pub fn cell(samples: &[&Value], field: &str) -> String {
    match median(samples, field) {
        Some(m) if m.fract() == 0.0 || m >= 100.0 => format!("{}", m.round() as i64),
        Some(m) => format!("{m:.1}"),
        None => "-".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(case: &str, phase: &str, perf: Option<u64>, rusage: u64) -> Value {
        json!({"scenario": "advice", "case": case, "file_state": "warm", "phase": phase,
               "perf_minor_faults": perf, "perf_major_faults": perf.map(|_| 0),
               "rusage_minor_faults": rusage, "rusage_major_faults": 0, "n_faults": rusage})
    }

    #[test]
    fn agreement_explains_populate_and_flags_the_rest() {
        let samples = vec![
            s("MADV_NORMAL", "touch", Some(79), 79),
            s("MAP_POPULATE", "mmap", Some(0), 1024),
            s("MADV_POPULATE_READ", "madvise", Some(0), 1024),
            s("MADV_NORMAL", "touch", None, 79),
        ];
        let (table, unexplained) = fault_counter_agreement(&samples);
        assert_eq!(unexplained, 0, "{table}");
        assert_eq!(table["n_samples_compared"], 3);
        assert_eq!(table["n_samples_agreeing"], 1);
        let (table, unexplained) =
            fault_counter_agreement(&[s("MADV_NORMAL", "touch", Some(78), 79)]);
        assert_eq!(unexplained, 1, "{table}");
        assert_eq!(table["differences"][0]["explanation"], "unexplained");
    }

    #[test]
    fn medians_and_maxima_skip_nothing_silently() {
        let samples = [
            json!({"a": 1, "b": null}),
            json!({"a": 3, "b": 2}),
            json!({"a": 2, "b": 4}),
        ];
        let refs: Vec<&Value> = samples.iter().collect();
        assert_eq!(median_count(&refs, "a"), Some(2));
        assert_eq!(
            median_count(&refs[..0], "a"),
            None,
            "no sample is not a zero"
        );
        assert_eq!(max_count(&refs, "a"), Some(3));
        assert_eq!(max_count(&refs, "b"), None, "a null count is not a zero");
        assert_eq!(max_count(&refs[..0], "a"), None, "no sample is not a zero");
        assert_eq!(cell(&refs, "missing"), "-");
    }
}
