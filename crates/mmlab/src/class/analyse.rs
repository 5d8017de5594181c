//! What the class report computes from the runs: the verdict matrix with
//! its counts, the fingerprint fields that separate the runs of a claim
//! whose verdict differs, each headline number's distribution (median,
//! quartiles) with its outliers, and each outlying run's likely causes.

use std::collections::BTreeMap;

use mmlab_core::Verdict;

use super::read::{ClaimCell, ManifestState, Run};

/// A row of the verdict matrix: (claim id, experiment, scenario).
pub type ClaimKey = (String, String, Option<String>);

/// One claim across the runs.
#[derive(Debug, Clone)]
pub struct ClaimRow {
    pub key: ClaimKey,
    /// Per run (by index): the cell, if the run judged this claim.
    pub cells: Vec<Option<ClaimCell>>,
    pub counts: BTreeMap<Verdict, usize>,
    /// For a claim whose verdicts differ: the fields that separate them.
    pub separation: Option<Separation>,
}

/// The fingerprint fields that separate the verdicts of a claim.
#[derive(Debug, Clone)]
pub struct Separation {
    /// Fields after which every group of runs has one verdict, each in
    /// words ("holds-with-nuance on kernel >= 6.16 (250 runs), holds on
    /// kernel < 6.16 (50 runs)"), simplest first.
    pub exact: Vec<String>,
    /// When no field separates them exactly: the best one, the share of
    /// runs it explains, and the runs it does not.
    pub best: Option<(String, usize, usize, Vec<usize>)>,
    /// Runs left out of the search: their verdict does not follow from
    /// their samples.
    pub left_out: usize,
    /// The runs searched whose verdict is not the most common one.
    pub minority: Vec<usize>,
}

/// A fingerprint field's value for one run, for the separation search.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    /// (sort key, text)
    Number(f64, String),
}

impl Value {
    fn text(&self) -> &str {
        match self {
            Value::Text(t) | Value::Number(_, t) => t,
        }
    }
}

/// The kernel release's version as a number (6.16 -> 6016.0) and text.
pub fn kernel_version(release: &str) -> Option<(f64, String)> {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty());
    let major: u64 = parts.next()?.parse().ok()?;
    let minor: u64 = parts.next()?.parse().ok()?;
    Some(((major * 1000 + minor) as f64, format!("{major}.{minor}")))
}

/// The fields searched, with each run's value (from the fingerprint of
/// the experiment that judged the claim).
fn fields(env: &mmlab_core::Fingerprint) -> Vec<(&'static str, Option<Value>)> {
    let known_u64 = |k: &mmlab_core::fingerprint::Known<u64>| k.value().copied();
    let number = |n: Option<u64>| n.map(|n| Value::Number(n as f64, n.to_string()));
    vec![
        (
            "kernel",
            kernel_version(&env.kernel).map(|(v, t)| Value::Number(v, t)),
        ),
        ("data_dir_fs", Some(Value::Text(env.data_dir_fs.clone()))),
        ("thp_enabled", Some(Value::Text(env.thp_enabled.clone()))),
        ("pmu", Some(Value::Text(env.pmu.to_string()))),
        ("is_root", Some(Value::Text(env.is_root.to_string()))),
        ("arch", Some(Value::Text(env.arch.clone()))),
        ("n_cpus", number(known_u64(&env.n_cpus))),
        ("page_size_bytes", number(known_u64(&env.page_size_bytes))),
        (
            "fault_around_bytes",
            number(known_u64(&env.fault_around_bytes)),
        ),
        (
            "tracefs",
            Some(Value::Text(
                if env.tracefs.is_some() {
                    "mounted"
                } else {
                    "not mounted"
                }
                .to_string(),
            )),
        ),
        (
            "perf_event_paranoid",
            env.perf_event_paranoid
                .value()
                .map(|p| Value::Number(*p as f64, p.to_string())),
        ),
        (
            "protection_keys",
            env.protection_keys
                .value()
                .map(|p| Value::Text(p.to_string())),
        ),
        ("cpu_model", Some(Value::Text(env.cpu_model.clone()))),
        ("thp_defrag", Some(Value::Text(env.thp_defrag.clone()))),
    ]
}

/// The most groups a text field may split the runs into and still count
/// as an explanation (a field with a value per run "separates" anything).
const MAX_GROUPS: usize = 6;

fn plural(n: usize) -> &'static str {
    if n == 1 { "run" } else { "runs" }
}

/// A run for the separation search: (index, verdict, its field values).
type Point = (usize, Verdict, Vec<(&'static str, Option<Value>)>);

/// Separates `points` by one field.
fn separate(points: &[Point]) -> Separation {
    let mut exact = Vec::new();
    let mut best: Option<(String, usize, usize, Vec<usize>)> = None;
    let n = points.len();
    let field_names: Vec<&'static str> = points
        .first()
        .map(|(_, _, f)| f.iter().map(|(name, _)| *name).collect())
        .unwrap_or_default();
    for (f, name) in field_names.iter().enumerate() {
        let values: Vec<(usize, Verdict, &Value)> = points
            .iter()
            .filter_map(|(i, v, fields)| fields[f].1.as_ref().map(|x| (*i, *v, x)))
            .collect();
        if values.len() < n {
            continue; // unknown on some run: no explanation for all
        }
        // Numeric fields: the best single threshold (below / at or above).
        if values
            .iter()
            .all(|(_, _, x)| matches!(x, Value::Number(..)))
        {
            let mut keys: Vec<(f64, String)> = values
                .iter()
                .map(|(_, _, x)| match x {
                    Value::Number(k, t) => (*k, t.clone()),
                    Value::Text(_) => unreachable!(),
                })
                .collect();
            keys.sort_by(|a, b| a.0.total_cmp(&b.0));
            keys.dedup_by(|a, b| a.0 == b.0);
            for (threshold, text) in keys.iter().skip(1) {
                let key_of = |x: &Value| match x {
                    Value::Number(k, _) => *k,
                    Value::Text(_) => f64::NAN,
                };
                let below: Vec<_> = values
                    .iter()
                    .filter(|(_, _, x)| key_of(x) < *threshold)
                    .collect();
                let above: Vec<_> = values
                    .iter()
                    .filter(|(_, _, x)| key_of(x) >= *threshold)
                    .collect();
                let (vb, nb, wrong_b) = majority(below.iter().map(|(i, v, _)| (*i, *v)));
                let (va, na, wrong_a) = majority(above.iter().map(|(i, v, _)| (*i, *v)));
                if va == vb {
                    continue;
                }
                let explained = nb + na;
                let words = format!(
                    "{va} on {name} >= {text} ({} {}), {vb} on {name} < {text} ({} {})",
                    above.len(),
                    plural(above.len()),
                    below.len(),
                    plural(below.len())
                );
                if explained == n {
                    exact.push((2, words));
                } else if best.as_ref().is_none_or(|b| explained > b.1) {
                    let mut wrong = wrong_a;
                    wrong.extend(wrong_b);
                    best = Some((words, explained, n, wrong));
                }
            }
            continue;
        }
        let mut groups: BTreeMap<String, Vec<(usize, Verdict)>> = BTreeMap::new();
        for (i, v, x) in &values {
            groups
                .entry(x.text().to_string())
                .or_default()
                .push((*i, *v));
        }
        if groups.len() < 2 || groups.len() > MAX_GROUPS {
            continue;
        }
        let mut explained = 0;
        let mut wrong = Vec::new();
        // verdict -> the values whose majority it is.
        let mut by_verdict: BTreeMap<Verdict, Vec<(String, usize)>> = BTreeMap::new();
        for (value, members) in &groups {
            let (verdict, n_right, w) = majority(members.iter().copied());
            explained += n_right;
            wrong.extend(w);
            by_verdict
                .entry(verdict)
                .or_default()
                .push((value.clone(), members.len()));
        }
        if by_verdict.len() < 2 {
            continue;
        }
        let words = by_verdict
            .iter()
            .map(|(verdict, values)| {
                let n_runs: usize = values.iter().map(|(_, n)| n).sum();
                let names: Vec<&str> = values.iter().map(|(v, _)| v.as_str()).collect();
                let condition = if names.len() == 1 {
                    format!("{name} = {}", names[0])
                } else {
                    format!("{name} in {{{}}}", names.join(", "))
                };
                format!("{verdict} on {condition} ({n_runs} {})", plural(n_runs))
            })
            .collect::<Vec<_>>()
            .join(", ");
        if explained == n {
            exact.push((groups.len(), words));
        } else if best.as_ref().is_none_or(|b| explained > b.1) {
            best = Some((words, explained, n, wrong));
        }
    }
    exact.sort_by_key(|(groups, _)| *groups);
    let exact: Vec<String> = exact.into_iter().map(|(_, w)| w).collect();
    Separation {
        best: if exact.is_empty() { best } else { None },
        exact,
        left_out: 0,
        minority: majority(points.iter().map(|(i, v, _)| (*i, *v))).2,
    }
}

/// The most common verdict of `members`, how many have it, and the
/// indices of those that do not.
fn majority(members: impl Iterator<Item = (usize, Verdict)>) -> (Verdict, usize, Vec<usize>) {
    let members: Vec<(usize, Verdict)> = members.collect();
    let mut counts: BTreeMap<Verdict, usize> = BTreeMap::new();
    for (_, v) in &members {
        *counts.entry(*v).or_default() += 1;
    }
    let (verdict, n) = counts
        .iter()
        .max_by_key(|(v, n)| (**n, std::cmp::Reverse(**v)))
        .map(|(v, n)| (*v, *n))
        .unwrap_or((Verdict::NotMeasured, 0));
    let wrong = members
        .iter()
        .filter(|(_, v)| *v != verdict)
        .map(|(i, _)| *i)
        .collect();
    (verdict, n, wrong)
}

/// The verdict matrix: one row per claim, sorted as the report sorts them.
pub fn claim_rows(runs: &[Run]) -> Vec<ClaimRow> {
    let mut keys: Vec<ClaimKey> = Vec::new();
    for run in runs {
        for e in &run.experiments {
            for c in &e.claims {
                let key = (c.id.clone(), e.experiment.clone(), c.scenario.clone());
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
    }
    keys.sort_by(|a, b| {
        mmlab_plot::html::claim_order(&a.0)
            .cmp(&mmlab_plot::html::claim_order(&b.0))
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(&b.2))
    });
    keys.into_iter()
        .map(|key| {
            let cells: Vec<Option<ClaimCell>> = runs
                .iter()
                .map(|run| {
                    run.experiments
                        .iter()
                        .find(|e| e.experiment == key.1)
                        .and_then(|e| {
                            e.claims
                                .iter()
                                .find(|c| c.id == key.0 && c.scenario == key.2)
                                .cloned()
                        })
                })
                .collect();
            let mut counts = BTreeMap::new();
            for cell in cells.iter().flatten() {
                *counts.entry(cell.stored).or_insert(0) += 1;
            }
            let separation = (counts.len() > 1).then(|| {
                let points: Vec<_> = cells
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| c.as_ref().map(|c| (i, c)))
                    .filter(|(_, c)| c.consistent())
                    .map(|(i, c)| {
                        let env = &runs[i]
                            .experiments
                            .iter()
                            .find(|e| e.experiment == key.1)
                            .expect("the cell came from it")
                            .env;
                        (i, c.stored, fields(env))
                    })
                    .collect();
                let left_out = cells.iter().flatten().filter(|c| !c.consistent()).count();
                let distinct: std::collections::BTreeSet<Verdict> =
                    points.iter().map(|(_, v, _)| *v).collect();
                let mut separation = if distinct.len() > 1 {
                    separate(&points)
                } else {
                    Separation {
                        exact: Vec::new(),
                        best: None,
                        left_out: 0,
                        minority: Vec::new(),
                    }
                };
                separation.left_out = left_out;
                separation
            });
            ClaimRow {
                key,
                cells,
                counts,
                separation,
            }
        })
        .collect()
}

/// A headline number: (experiment, series, metric).
pub type NumberKey = (String, String, String);

/// One headline number across the runs.
#[derive(Debug, Clone)]
pub struct NumberRow {
    pub key: NumberKey,
    /// (run index, median of that run)
    pub values: Vec<(usize, f64)>,
    pub median: f64,
    pub q1: f64,
    pub q3: f64,
    /// (run index, how far out: deviations in units of the spread)
    pub outliers: Vec<(usize, f64)>,
}

/// The outlier rule: a value is an outlier when it lies more than
/// [`OUTLIER_MADS`] scaled median absolute deviations from the median, on
/// logarithms where every value is positive (a factor, so ×2 and ×1/2 are
/// as far), else on the values.
pub const OUTLIER_MADS: f64 = 3.0;
/// 1.4826 × MAD estimates the standard deviation of normal noise.
pub const MAD_SCALE: f64 = 1.4826;
/// The least spread assumed (5% of the median, or ln 1.05 on logarithms),
/// so that numbers every run reports alike (page counts) do not make a
/// run that differs by 1% an outlier.
pub const MIN_RELATIVE_SPREAD: f64 = 0.05;
/// Fewer runs than this have no outliers.
pub const MIN_RUNS_FOR_OUTLIERS: usize = 5;

pub const OUTLIER_RULE: &str = "a run's value of a number is an outlier when it lies more than 3 scaled median absolute deviations (3 × 1.4826 × MAD, about 3 standard deviations for normal noise) from the class's median of that number; on logarithms when every value is positive (so ×2 and ×1/2 count alike), on the values otherwise; the spread is taken as at least 5% of the median (ln 1.05 on logarithms), so numbers every run reports alike do not flag a 1% difference; numbers with fewer than 5 runs have no outliers";

pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let position = q * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

fn median_of(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    quantile(&sorted, 0.5)
}

/// The outliers of `values` by [`OUTLIER_RULE`]: (index in `values`,
/// distance in spreads), and whether logarithms were used.
pub fn outliers(values: &[f64]) -> (Vec<(usize, f64)>, bool) {
    let log = values.iter().all(|v| *v > 0.0);
    if values.len() < MIN_RUNS_FOR_OUTLIERS {
        return (Vec::new(), log);
    }
    let xs: Vec<f64> = if log {
        values.iter().map(|v| v.ln()).collect()
    } else {
        values.to_vec()
    };
    let median = median_of(&xs);
    let deviations: Vec<f64> = xs.iter().map(|x| (x - median).abs()).collect();
    let mad = median_of(&deviations) * MAD_SCALE;
    let floor = if log {
        (1.0 + MIN_RELATIVE_SPREAD).ln()
    } else {
        MIN_RELATIVE_SPREAD * median_of(values).abs()
    };
    let spread = mad.max(floor);
    if spread == 0.0 {
        // Every value alike and zero: a value that is not zero stands out,
        // but by how much has no scale.
        return (
            xs.iter()
                .enumerate()
                .filter(|(_, x)| **x != median)
                .map(|(i, _)| (i, f64::INFINITY))
                .collect(),
            log,
        );
    }
    (
        deviations
            .iter()
            .enumerate()
            .filter(|(_, d)| **d > OUTLIER_MADS * spread)
            .map(|(i, d)| (i, d / spread))
            .collect(),
        log,
    )
}

/// Every headline number (every summary's median, as `compare` uses them)
/// across the runs, in the order the runs' files list them.
pub fn number_rows(runs: &[Run]) -> Vec<NumberRow> {
    let mut order: Vec<NumberKey> = Vec::new();
    let mut values: BTreeMap<NumberKey, Vec<(usize, f64)>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for e in &run.experiments {
            for (series, metric, median) in &e.summaries {
                if !median.is_finite() {
                    continue;
                }
                let key = (e.experiment.clone(), series.clone(), metric.clone());
                let entry = values.entry(key.clone()).or_insert_with(|| {
                    order.push(key.clone());
                    Vec::new()
                });
                // A file listing the same summary twice: the first counts.
                if entry.last().is_none_or(|(r, _)| *r != i) {
                    entry.push((i, *median));
                }
            }
        }
    }
    order
        .into_iter()
        .map(|key| {
            let values = values.remove(&key).unwrap_or_default();
            let mut sorted: Vec<f64> = values.iter().map(|(_, v)| *v).collect();
            sorted.sort_by(f64::total_cmp);
            let plain: Vec<f64> = values.iter().map(|(_, v)| *v).collect();
            let (found, _) = outliers(&plain);
            NumberRow {
                outliers: found.into_iter().map(|(i, d)| (values[i].0, d)).collect(),
                median: quantile(&sorted, 0.5),
                q1: quantile(&sorted, 0.25),
                q3: quantile(&sorted, 0.75),
                key,
                values,
            }
        })
        .collect()
}

/// A run that is an outlier in some numbers, with its likely causes.
#[derive(Debug, Clone)]
pub struct OutlierRun {
    pub run: usize,
    /// (number row index, value, distance in spreads), farthest first.
    pub numbers: Vec<(usize, f64, f64)>,
    pub causes: Vec<String>,
}

/// The fingerprint fields shown as causes when a run's value is rare.
const CAUSE_FIELDS: [&str; 9] = [
    "kernel",
    "data_dir_fs",
    "thp_enabled",
    "pmu",
    "is_root",
    "arch",
    "n_cpus",
    "page_size_bytes",
    "cpu_model",
];

/// A value (or a warning) held by at most this share of the runs is "rare".
const RARE_SHARE: f64 = 0.1;

/// The runs with outlying numbers, most outlying first, each with what in
/// its fingerprint, warnings and integrity may explain it.
pub fn outlier_runs(runs: &[Run], numbers: &[NumberRow]) -> Vec<OutlierRun> {
    let mut per_run: BTreeMap<usize, Vec<(usize, f64, f64)>> = BTreeMap::new();
    for (n, row) in numbers.iter().enumerate() {
        for (run, distance) in &row.outliers {
            let value = row
                .values
                .iter()
                .find(|(r, _)| r == run)
                .map_or(f64::NAN, |(_, v)| *v);
            per_run.entry(*run).or_default().push((n, value, *distance));
        }
    }
    // How many runs hold each value of each cause field.
    let mut held: BTreeMap<(&str, String), usize> = BTreeMap::new();
    let run_fields: Vec<Vec<(&'static str, Option<Value>)>> =
        runs.iter().map(|r| fields(r.env())).collect();
    for fields in &run_fields {
        for (name, value) in fields {
            if let Some(value) = value {
                *held.entry((name, value.text().to_string())).or_default() += 1;
            }
        }
    }
    // How many runs have each warning (experiment, kind): a warning every
    // run has explains nothing.
    let mut warned: BTreeMap<(String, String), usize> = BTreeMap::new();
    for run in runs {
        let mut seen = std::collections::BTreeSet::new();
        for (experiment, w) in run.warnings() {
            if seen.insert((experiment.to_string(), w.kind.clone())) {
                *warned
                    .entry((experiment.to_string(), w.kind.clone()))
                    .or_default() += 1;
            }
        }
    }
    let mut out: Vec<OutlierRun> = per_run
        .into_iter()
        .map(|(run, mut numbers_of)| {
            numbers_of.sort_by(|a, b| b.2.total_cmp(&a.2));
            let r = &runs[run];
            let mut causes = Vec::new();
            if let ManifestState::Failed(problems) = &r.manifest {
                causes.push(format!(
                    "its bundle is not as it was made ({})",
                    problems.join("; ")
                ));
            }
            let mismatches = r.mismatches();
            if !mismatches.is_empty() {
                causes.push(format!(
                    "verdicts do not match the samples ({})",
                    mismatches
                        .iter()
                        .map(|(e, c)| format!("{} of {e}", c.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            // Warnings of the experiments whose numbers are out.
            let experiments: Vec<&str> = numbers_of
                .iter()
                .map(|(n, _, _)| numbers[*n].key.0.as_str())
                .collect();
            let mut kinds: Vec<String> = Vec::new();
            for (experiment, warning) in r.warnings() {
                let n = warned
                    .get(&(experiment.to_string(), warning.kind.clone()))
                    .copied()
                    .unwrap_or(0);
                if experiments.contains(&experiment) && (n as f64) <= RARE_SHARE * runs.len() as f64 {
                    let mut message: String = warning.message.chars().take(240).collect();
                    if message.len() < warning.message.len() {
                        message.push('…');
                    }
                    let text = format!(
                        "warning {} in {experiment} (rare: {n} of {} runs): {message}",
                        warning.kind,
                        runs.len()
                    );
                    if !kinds.contains(&text) {
                        kinds.push(text);
                    }
                }
            }
            causes.extend(kinds);
            for (name, value) in &run_fields[run] {
                if !CAUSE_FIELDS.contains(name) {
                    continue;
                }
                if let Some(value) = value {
                    let n = held
                        .get(&(*name, value.text().to_string()))
                        .copied()
                        .unwrap_or(0);
                    if (n as f64) <= RARE_SHARE * runs.len() as f64 {
                        causes.push(format!(
                            "{name} = {} (rare: {n} of {} runs)",
                            value.text(),
                            runs.len()
                        ));
                    }
                }
            }
            if causes.is_empty() {
                causes.push("nothing in its fingerprint, warnings or files explains it: a machine slower or busier than its fingerprint shows, or numbers changed by hand (its verdicts still follow from its samples)".to_string());
            }
            OutlierRun {
                run,
                numbers: numbers_of,
                causes,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.numbers
            .len()
            .cmp(&a.numbers.len())
            .then(a.run.cmp(&b.run))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions_compare_as_numbers() {
        assert_eq!(kernel_version("6.18.44-fc-v1045").unwrap().1, "6.18");
        assert!(kernel_version("6.9.1").unwrap().0 < kernel_version("6.16.0").unwrap().0);
        assert!(kernel_version("unknown").is_none());
    }

    #[test]
    fn a_value_three_spreads_out_is_an_outlier_and_alike_values_are_not() {
        let mut values: Vec<f64> = (0..50).map(|i| 10.0 + (i % 7) as f64 * 0.1).collect();
        values.push(3.0);
        let (found, log) = outliers(&values);
        assert!(log);
        assert_eq!(found.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [50]);
        // Counts every run reports alike, one 1% off: no outlier.
        let mut counts = vec![256.0; 30];
        counts.push(258.0);
        assert!(outliers(&counts).0.is_empty());
        // Fewer than five runs: never.
        assert!(outliers(&[1.0, 1.0, 1.0, 100.0]).0.is_empty());
        // Values not all positive: on the values.
        let mut mixed = vec![0.0; 10];
        mixed.extend([1.0, -1.0, 0.5]);
        mixed.push(50.0);
        let (found, log) = outliers(&mixed);
        assert!(!log);
        assert!(found.iter().any(|(i, _)| *i == 13));
    }

    fn point(i: usize, v: Verdict, kernel: &str, fs: &str) -> Point {
        let (k, t) = kernel_version(kernel).unwrap();
        (
            i,
            v,
            vec![
                ("kernel", Some(Value::Number(k, t))),
                ("data_dir_fs", Some(Value::Text(fs.to_string()))),
            ],
        )
    }

    #[test]
    fn a_kernel_threshold_or_a_filesystem_separates_verdicts() {
        use Verdict::*;
        let points = vec![
            point(0, HoldsWithNuance, "6.18.1", "ext4"),
            point(1, HoldsWithNuance, "6.16.0", "ext4"),
            point(2, Holds, "6.8.0", "ext4"),
            point(3, Holds, "5.15.0", "ext4"),
        ];
        let s = separate(&points);
        assert_eq!(
            s.exact,
            ["holds-with-nuance on kernel >= 6.16 (2 runs), holds on kernel < 6.16 (2 runs)"]
        );
        let points = vec![
            point(0, Holds, "6.18.1", "ext4"),
            point(1, NotMeasured, "6.18.1", "tmpfs"),
            point(2, Holds, "5.15.0", "xfs"),
        ];
        let s = separate(&points);
        assert_eq!(
            s.exact,
            [
                "holds on data_dir_fs in {ext4, xfs} (2 runs), not-measured on data_dir_fs = tmpfs (1 run)"
            ]
        );
        // Nothing separates exactly: the best field, with the runs it misses.
        let points = vec![
            point(0, Holds, "6.18.1", "ext4"),
            point(1, Holds, "6.18.1", "ext4"),
            point(2, Refuted, "6.18.1", "ext4"),
            point(3, Refuted, "5.15.0", "ext4"),
        ];
        let s = separate(&points);
        assert!(s.exact.is_empty());
        let (_, explained, n, wrong) = s.best.unwrap();
        assert_eq!((explained, n, wrong), (3, 4, vec![2]));
    }
}
