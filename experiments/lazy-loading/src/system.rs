//! The kernel's knobs that shape what a fault maps (fault-around,
//! transparent huge pages), read but never changed, and /proc/meminfo, read
//! before and after an action. The readahead window of the data folder's
//! disk is the fingerprint's (`data_dir_read_ahead_kb`).

use std::collections::BTreeMap;
use std::fs;

/// A value read from the kernel, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Knob {
    Value(String),
    Unknown(String),
}

impl Knob {
    /// As stored in the result's params: the value, or "unknown: <reason>".
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Knob::Value(v) => match v.parse::<u64>() {
                Ok(n) => n.into(),
                Err(_) => v.clone().into(),
            },
            Knob::Unknown(reason) => format!("unknown: {reason}").into(),
        }
    }

    pub fn display(&self) -> String {
        match self {
            Knob::Value(v) => v.clone(),
            Knob::Unknown(reason) => format!("unknown ({reason})"),
        }
    }

    pub fn number(&self) -> Option<u64> {
        match self {
            Knob::Value(v) => v.parse().ok(),
            Knob::Unknown(_) => None,
        }
    }
}

fn read_trimmed(path: &str) -> Result<String, String> {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("cannot read {path}: {e}"))
}

/// The selected value of a sysfs choice file: `always [madvise] never` -> `madvise`.
pub fn selected_choice(text: &str) -> String {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix('[').and_then(|w| w.strip_suffix(']')))
        .unwrap_or(text)
        .to_string()
}

/// fault_around_bytes lives in debugfs, which this experiment never mounts
/// (mounting is a change to the machine): read it if debugfs is there.
pub fn fault_around_bytes() -> Knob {
    let path = "/sys/kernel/debug/fault_around_bytes";
    match read_trimmed(path) {
        Ok(v) => Knob::Value(v),
        Err(_) => {
            let mounted = mmlab_core::proc::mounts()
                .is_ok_and(|m| !mmlab_core::proc::mount_points_of_type(&m, "debugfs").is_empty());
            if mounted {
                Knob::Unknown(format!("{path} is unreadable (needs root)"))
            } else {
                Knob::Unknown(format!(
                    "debugfs is not mounted, so {path} cannot be read (as root: mount -t debugfs none /sys/kernel/debug); the kernel's default is 65536"
                ))
            }
        }
    }
}

/// Transparent huge page settings: the global mode, defrag, the huge zero
/// page, the PMD size and each enabled anonymous mTHP size.
pub fn thp_settings() -> BTreeMap<String, Knob> {
    let base = "/sys/kernel/mm/transparent_hugepage";
    let mut knobs = BTreeMap::new();
    for (name, file, choice) in [
        ("thp_enabled", "enabled", true),
        ("thp_defrag", "defrag", true),
        ("thp_use_zero_page", "use_zero_page", false),
        ("thp_pmd_size_bytes", "hpage_pmd_size", false),
    ] {
        let knob = match read_trimmed(&format!("{base}/{file}")) {
            Ok(v) if choice => Knob::Value(selected_choice(&v)),
            Ok(v) => Knob::Value(v),
            Err(reason) => Knob::Unknown(reason),
        };
        knobs.insert(name.to_string(), knob);
    }
    let mut sizes: Vec<String> = Vec::new();
    if let Ok(entries) = fs::read_dir(base) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(size) = name.strip_prefix("hugepages-")
                && let Ok(v) = read_trimmed(&format!("{base}/{name}/enabled"))
            {
                let mode = selected_choice(&v);
                if mode != "never" {
                    sizes.push(format!("{size}={mode}"));
                }
            }
        }
    }
    sizes.sort();
    knobs.insert(
        "thp_anon_sizes_enabled".to_string(),
        Knob::Value(if sizes.is_empty() {
            "none".to_string()
        } else {
            sizes.join(" ")
        }),
    );
    knobs
}

/// /proc/meminfo in KiB, by field name (read by `mmlab_core::proc`).
pub fn meminfo() -> anyhow::Result<BTreeMap<String, u64>> {
    let fields = mmlab_core::proc::meminfo().map_err(anyhow::Error::msg)?;
    Ok(fields
        .into_iter()
        .map(|(name, kib)| (name.to_string(), kib))
        .collect())
}

/// The three meminfo fields that say where loaded data lives.
pub const MEMINFO_FIELDS: [&str; 3] = ["Cached", "Buffers", "SReclaimable"];

/// Signed change of each of [`MEMINFO_FIELDS`] between two readings, in
/// KiB; `None` for a field missing from either reading (never read as 0).
pub fn meminfo_delta(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<&'static str, Option<i64>> {
    MEMINFO_FIELDS
        .iter()
        .map(|field| {
            let b = before.get(*field).map(|v| *v as i64);
            let a = after.get(*field).map(|v| *v as i64);
            (*field, a.zip(b).map(|(a, b)| a - b))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_choices_and_meminfo() {
        assert_eq!(selected_choice("always [madvise] never"), "madvise");
        assert_eq!(selected_choice("1"), "1");
        let fields = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let before = fields(&[("Cached", 100), ("Buffers", 10), ("SReclaimable", 5)]);
        let after = fields(&[("Cached", 90), ("Buffers", 30), ("SReclaimable", 5)]);
        let delta = meminfo_delta(&before, &after);
        assert_eq!(delta["Cached"], Some(-10));
        assert_eq!(delta["Buffers"], Some(20));
        assert_eq!(delta["SReclaimable"], Some(0));
        let without = fields(&[("Cached", 90), ("Buffers", 30)]);
        assert_eq!(
            meminfo_delta(&before, &without)["SReclaimable"],
            None,
            "a missing field is not a zero change"
        );
    }

    #[test]
    fn knobs_of_this_machine_are_read_or_explained() {
        match fault_around_bytes() {
            Knob::Value(v) => assert!(v.parse::<u64>().unwrap() >= 4096),
            Knob::Unknown(reason) => assert!(reason.contains("fault_around_bytes"), "{reason}"),
        }
        let thp = thp_settings();
        assert!(thp.contains_key("thp_enabled") && thp.contains_key("thp_anon_sizes_enabled"));
        let info = meminfo().unwrap();
        assert!(info["MemTotal"] > 0 && info.contains_key("Cached"));
    }
}
