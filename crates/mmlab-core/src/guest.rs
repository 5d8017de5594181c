//! Runs made inside a guest kernel that `mmlab kernels` booted under qemu.
//!
//! The guest's kernel command line carries `mmlab.guest=tcg` (software
//! emulation) or `mmlab.guest=kvm` (hardware virtualisation); the
//! fingerprint records it as [`Fingerprint::guest`](crate::Fingerprint),
//! beside the guest's own kernel, memory and CPUs. Counts (faults, pages per
//! fault, folios, residency, system calls, outcomes of calls) are the guest
//! kernel's own and are judged as on any machine; timings taken under
//! emulation are not meaningful (several times slower, and unsteady), so
//! every claim an experiment decides by timings
//! ([`Experiment::timing_claims`](crate::Experiment::timing_claims)) is
//! `not-measured` in an emulated guest. This is applied when judging, from
//! the fingerprint in the file, so `mmlab judge` recomputes it.

use crate::schema::{Claim, ResultFile, Verdict};

/// The kernel command-line parameter `mmlab kernels` sets for its guest.
pub const CMDLINE_PARAMETER: &str = "mmlab.guest";
/// The fingerprint's `guest` under software emulation (qemu's TCG).
pub const EMULATED: &str = "emulated (TCG)";
/// The fingerprint's `guest` under hardware virtualisation.
pub const KVM: &str = "KVM";
/// Why a timing-based claim is not judged in an emulated guest.
pub const NOT_MEANINGFUL: &str = "timings under emulation are not meaningful";

/// The fingerprint's `guest` value for a kernel command line: `Some` only
/// when it carries `mmlab.guest=tcg` or `mmlab.guest=kvm`.
pub fn from_cmdline(cmdline: &str) -> Option<String> {
    cmdline.split_whitespace().find_map(|word| {
        match word.strip_prefix(CMDLINE_PARAMETER)?.strip_prefix('=')? {
            "tcg" => Some(EMULATED.to_string()),
            "kvm" => Some(KVM.to_string()),
            other => Some(format!("unknown ({CMDLINE_PARAMETER}={other})")),
        }
    })
}

/// This kernel's `guest` value (from /proc/cmdline); `None` outside a guest
/// that `mmlab kernels` booted.
pub fn detect() -> Option<String> {
    from_cmdline(&std::fs::read_to_string("/proc/cmdline").ok()?)
}

/// Whether the run was made in a guest whose timings are not meaningful:
/// emulated, or a guest marker this version does not know (never trusted
/// for timings).
pub fn timings_not_meaningful(result: &ResultFile) -> bool {
    result.env.guest.as_deref().is_some_and(|g| g != KVM)
}

/// The generic rule over an experiment's verdicts: in a run whose
/// fingerprint says it was made in an emulated guest, each claim named in
/// `timing_claims` becomes `not-measured` with the reason, the rule and
/// its thresholds kept (prefixed by this rule); every other claim, and
/// every claim of a run outside an emulated guest, is returned unchanged.
pub fn judge_timings(
    result: &ResultFile,
    timing_claims: &[&str],
    claims: Vec<Claim>,
) -> Vec<Claim> {
    if !timings_not_meaningful(result) {
        return claims;
    }
    let guest = result.env.guest.as_deref().unwrap_or("unknown");
    claims
        .into_iter()
        .map(|claim| {
            if !timing_claims.contains(&claim.id.as_str()) {
                return claim;
            }
            Claim {
                verdict: Verdict::NotMeasured,
                evidence: format!(
                    "{NOT_MEANINGFUL}: this run was made in a guest kernel ({}) booted by `mmlab kernels` ({guest}), and this claim is decided by timings (on their own they would say {}: {})",
                    result.env.kernel, claim.verdict, claim.evidence
                ),
                rule: format!(
                    "in a run whose fingerprint says guest = {EMULATED}, a claim decided by timings is not-measured ({NOT_MEANINGFUL}); otherwise: {}",
                    claim.rule
                ),
                ..claim
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_read_from_the_command_line() {
        assert_eq!(
            from_cmdline("console=ttyS0 mmlab.guest=tcg quiet").as_deref(),
            Some(EMULATED)
        );
        assert_eq!(from_cmdline("mmlab.guest=kvm").as_deref(), Some(KVM));
        assert_eq!(from_cmdline("console=ttyS0 quiet"), None);
        assert_eq!(from_cmdline("mmlab.guestx=tcg"), None);
        assert!(
            from_cmdline("mmlab.guest=xen")
                .unwrap()
                .starts_with("unknown")
        );
    }
}
