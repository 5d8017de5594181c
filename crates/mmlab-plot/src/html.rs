//! The pieces the report and the comparison share: escaping, the page's
//! head (a strict Content-Security-Policy: the page may load images from
//! its own folder and nothing from the network), verdict badges, the
//! machine fingerprint table and the advice for counters that could not be
//! read.

use std::collections::BTreeMap;
use std::path::Path;

use mmlab_core::{ResultFile, Verdict};
use serde_json::Value;

/// Text for HTML content or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Text for a Markdown table cell: pipes escaped, one line.
pub fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// A relative link target, with characters a URL cannot hold percent-encoded.
pub fn url_path(path: &str) -> String {
    let mut out = String::new();
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_./~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// An id usable in `id=` and `#` links.
pub fn anchor(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The start of a page: the CSP allows images from the page's own folder
/// (file: or 'self') and inline style and script, nothing else, so the page
/// can fetch nothing from a network.
pub fn page_head(title: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: 'DejaVu Sans', Verdana, 'Bitstream Vera Sans', sans-serif; margin: 0 auto; max-width: 1100px; padding: 1em 1.5em 4em; color: #222; line-height: 1.45; }}
h1 {{ font-size: 1.7em; margin-bottom: 0.2em; }}
h2 {{ margin-top: 2.2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }}
h3 {{ margin-top: 1.6em; }}
table {{ border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }}
th, td {{ border: 1px solid #d0d7de; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f6f8fa; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.verdict {{ display: inline-block; padding: 0.05em 0.55em; border-radius: 0.8em; font-weight: bold; white-space: nowrap; font-size: 0.9em; }}
.v-holds {{ background: #dafbe1; color: #116329; }}
.v-holds-with-nuance {{ background: #fff3c4; color: #7d4e00; }}
.v-refuted {{ background: #ffebe9; color: #a40e26; }}
.v-not-measured {{ background: #eaeef2; color: #424a53; }}
.changed {{ background: #fff8c5; }}
.muted {{ color: #57606a; }}
.problem {{ background: #ffebe9; border-left: 4px solid #cf222e; padding: 0.4em 0.8em; margin: 0.4em 0; }}
.warning {{ background: #fff8c5; border-left: 4px solid #bf8700; padding: 0.4em 0.8em; margin: 0.4em 0; }}
figure {{ margin: 1.4em 0; }}
figure img {{ max-width: 100%; height: auto; border: 1px solid #eee; }}
figure .wide {{ position: relative; left: 50%; transform: translateX(-50%); }}
figcaption {{ font-size: 0.93em; max-width: 60em; }}
.side-by-side {{ display: flex; gap: 1em; flex-wrap: wrap; }}
.side-by-side > div {{ flex: 1 1 480px; min-width: 0; }}
nav ul {{ columns: 2; }}
code {{ background: #f6f8fa; padding: 0 0.25em; }}
details {{ margin: 0.6em 0; }}
table.cases {{ width: 100%; table-layout: fixed; }}
table.cases td {{ overflow-wrap: anywhere; }}
table.cases details {{ margin: 0.2em 0 0; }}
table.cases .small {{ font-size: 0.85em; color: #57606a; }}
table.cases tr.group th {{ background: #eaeef2; font-size: 1.05em; padding-top: 0.5em; }}
table.cases tr.differs td {{ background: #ffebe9; }}
table.cases tr.differs td:first-child {{ border-left: 5px solid #cf222e; }}
table.cases tr.allowed td {{ background: #fff8c5; }}
table.cases tr.allowed td:first-child {{ border-left: 5px solid #bf8700; }}
.m-same {{ color: #116329; white-space: nowrap; }}
.m-differs {{ color: #a40e26; font-weight: bold; }}
.m-allowed {{ color: #7d4e00; font-weight: bold; }}
.only-differs:checked ~ table.cases tr.same {{ display: none; }}
</style>
</head>
<body data-images-checked="pending">
"#,
        title = escape(title)
    )
}

/// The end of a page. The inline script (the only one; it fetches nothing)
/// records on `<body>` how many images loaded and which did not, every
/// resource the page loaded from anywhere but a file, and everything the
/// Content-Security-Policy blocked, so a headless browser's `--dump-dom`
/// shows whether every figure displayed and nothing came from a network.
pub fn page_tail() -> &'static str {
    r#"<script>
var blockedByPolicy = [];
document.addEventListener('securitypolicyviolation', function (event) { blockedByPolicy.push(event.blockedURI); });
window.addEventListener('load', function () {
  var broken = [];
  for (var i = 0; i < document.images.length; i++) {
    var image = document.images[i];
    if (!image.complete || image.naturalWidth === 0) { broken.push(image.getAttribute('src')); }
  }
  var remote = [];
  var resources = performance.getEntriesByType('resource');
  for (var j = 0; j < resources.length; j++) {
    var url = resources[j].name;
    if (url.indexOf('file:') !== 0 && url.indexOf('data:') !== 0) { remote.push(url); }
  }
  document.body.setAttribute('data-images-total', String(document.images.length));
  document.body.setAttribute('data-images-broken', broken.join(' '));
  document.body.setAttribute('data-resources-total', String(resources.length));
  document.body.setAttribute('data-resources-remote', remote.join(' '));
  document.body.setAttribute('data-blocked-by-policy', blockedByPolicy.join(' '));
  document.body.setAttribute('data-images-checked', 'done');
});
</script>
</body>
</html>
"#
}

pub fn verdict_badge(verdict: Verdict) -> String {
    format!(
        r#"<span class="verdict v-{v}">{v}</span>"#,
        v = verdict.as_str()
    )
}

/// The statement of a claim: the one in the result file, else the registry's.
pub fn statement(id: &str, in_file: &str) -> String {
    if !in_file.is_empty() {
        return in_file.to_string();
    }
    mmlab_core::claim_info(id)
        .map(|c| c.statement.to_string())
        .unwrap_or_default()
}

/// Sort key for claim ids: S2 before S10.
pub fn claim_order(id: &str) -> (String, u64, String) {
    let digits: String = id.chars().filter(|c| c.is_ascii_digit()).collect();
    let prefix: String = id.chars().take_while(|c| !c.is_ascii_digit()).collect();
    (prefix, digits.parse().unwrap_or(u64::MAX), id.to_string())
}

/// The fingerprint of a result as (field, value text) rows.
pub fn fingerprint_rows(result: &ResultFile) -> Vec<(String, String)> {
    let value = serde_json::to_value(&result.env).unwrap_or(Value::Null);
    let Some(object) = value.as_object() else {
        return Vec::new();
    };
    object
        .iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Null => "none".to_string(),
                Value::Number(n) if key.ends_with("_bytes") => match n.as_u64() {
                    Some(bytes) => format!("{bytes} ({})", mmlab_core::format_size(bytes)),
                    None => n.to_string(),
                },
                other => other.to_string(),
            };
            (key.clone(), text)
        })
        .collect()
}

/// A parameter's value as text, sizes in bytes also in binary units.
pub fn param_text(key: &str, value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) if key.ends_with("_bytes") && n.as_u64().is_some_and(|b| b >= 1024) => {
            let bytes = n.as_u64().unwrap_or(0);
            format!("{bytes} ({})", mmlab_core::format_size(bytes))
        }
        other => other.to_string(),
    }
}

/// What a user can do about a counter this machine could not read, from
/// the reason the counters crate gave.
pub fn counter_remedy(counter: &str, reason: &str) -> String {
    let lower = reason.to_lowercase();
    if lower.contains("paranoid")
        || lower.contains("eacces")
        || lower.contains("eperm")
        || lower.contains("permission")
    {
        "run as root, or allow unprivileged counting: sudo sysctl kernel.perf_event_paranoid=1 (mmlab never changes it)".to_string()
    } else if lower.contains("tracefs") || lower.contains("tracepoint") || counter.contains(':') {
        "mount tracefs as root (mount -t tracefs nodev /sys/kernel/tracing), then run again"
            .to_string()
    } else if lower.contains("pmu")
        || lower.contains("enoent")
        || lower.contains("eopnotsupp")
        || lower.contains("enodev")
    {
        "needs a hardware PMU: run on bare metal, or in a VM that exposes one (KVM/QEMU: -cpu host with the PMU enabled; in a cloud, an instance type with a virtual PMU)".to_string()
    } else {
        "see `mmlab env` for what this machine can measure".to_string()
    }
}

/// Counters some result could not read: counter -> (reason, experiments).
pub fn unavailable_counters<'a>(
    results: impl IntoIterator<Item = &'a ResultFile>,
) -> BTreeMap<String, (String, Vec<String>)> {
    let mut out: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for result in results {
        for (counter, availability) in &result.counters_available {
            if let mmlab_core::Availability::Unavailable(reason) = availability {
                let entry = out
                    .entry(counter.clone())
                    .or_insert_with(|| (reason.clone(), Vec::new()));
                if !entry.1.contains(&result.experiment) {
                    entry.1.push(result.experiment.clone());
                }
            }
        }
    }
    out
}

/// `path` relative to `base` when it lies inside it, for a link.
pub fn relative_to(path: &Path, base: &Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    let base = base.canonicalize().ok()?;
    path.strip_prefix(&base)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Verdict counts as "5 holds, 2 refuted".
pub fn verdict_counts(verdicts: impl IntoIterator<Item = Verdict>) -> String {
    let mut counts: BTreeMap<Verdict, usize> = BTreeMap::new();
    for verdict in verdicts {
        *counts.entry(verdict).or_insert(0) += 1;
    }
    counts
        .iter()
        .map(|(verdict, n)| format!("{n} {verdict}"))
        .collect::<Vec<_>>()
        .join(", ")
}
