//! Case tables in the report: a result table of expected against observed
//! outcomes is an HTML table (and a Markdown one), grouped, mismatches
//! marked, each case linked to its claim; tables of another shape are not.

use mmlab_core::ResultFile;
use serde_json::json;

fn result_with_cases() -> ResultFile {
    let mut result = mmlab_plot::example::result("conformance", 1.0);
    result.extra.insert(
        "checks".into(),
        json!([
            {"id": "prot-none-read", "group": "prot x access", "setup": "PROT_NONE, MAP_PRIVATE",
             "action": "read the byte at +64", "expected": "signal SIGSEGV/SEGV_ACCERR",
             "expected_source": "mmap(2): \"PROT_NONE Pages may not be accessed.\"",
             "observed": "signal SIGSEGV/SEGV_ACCERR", "matches": true, "mismatch": false,
             "documented_variation": null, "note": null, "claims": "S8"},
            {"id": "prot-w-read", "group": "prot x access", "expected": "signal SIGSEGV/SEGV_ACCERR",
             "observed": "ok: read 0x37", "matches": false, "mismatch": true,
             "documented_variation": "mmap(2) NOTES: PROT_WRITE implies PROT_READ", "claims": "S8"},
            {"id": "flags-shared-sync", "group": "flags", "expected": "ok: read 0x37",
             "observed": "errno EOPNOTSUPP (mmap)", "matches": false, "mismatch": true,
             "documented_variation": null, "claims": "", "depends_on": "the filesystem: ext4",
             "who": "root", "scope": "on ext4", "observed_note": "no DAX"},
            {"id": "hint-null", "group": "start hint", "expected": "ok", "observed": "ok",
             "matches": true, "claims": ["S7", "S8"]}
        ]),
    );
    result
}

#[test]
fn a_table_of_expected_and_observed_outcomes_is_read_as_cases() {
    let result = result_with_cases();
    let tables = mmlab_plot::cases::tables(&result);
    // The example's own `cases` (outcome, no expected/observed) is a grid's
    // data, not a case table.
    assert_eq!(tables.len(), 1, "{tables:?}");
    let table = &tables[0];
    assert_eq!(table.key, "checks");
    assert_eq!(table.cases.len(), 4);
    let groups: Vec<_> = table
        .groups()
        .into_iter()
        .map(|(g, cases)| (g.map(str::to_string), cases.len()))
        .collect();
    assert_eq!(
        groups,
        [
            (Some("prot x access".to_string()), 2),
            (Some("flags".to_string()), 1),
            (Some("start hint".to_string()), 1)
        ]
    );
    assert_eq!((table.n_differ(), table.n_allowed()), (2, 1));
    assert_eq!(table.cases[3].claims, ["S7", "S8"]);
    assert!(table.cases[2].claims.is_empty());
    assert_eq!(table.n_naming("S8"), 3);
    assert_eq!(
        table.summary(),
        "4 case(s) in 3 group(s): 2 match the documentation, 2 differ (1 of them as the documentation allows)"
    );
}

#[test]
fn the_report_shows_cases_as_an_html_and_a_markdown_table() {
    let dir = tempfile::tempdir().unwrap();
    let results = vec![(dir.path().join("conformance.json"), result_with_cases())];
    let questions = Default::default();
    let input = mmlab_plot::report::ReportInput {
        results_dir: dir.path(),
        results: &results,
        read_errors: &[],
        questions: &questions,
    };
    let output = mmlab_plot::report::write_report(&input, dir.path()).unwrap();
    let html = std::fs::read_to_string(&output.html).unwrap();
    assert!(html.contains("<table class=\"cases\">"));
    assert!(html.contains("<th>Group</th><th>Case</th><th>Expected (documentation)</th><th>Observed (this kernel)</th><th>Match</th><th>Claim</th>"));
    // One body per group, headed by its name and how many differ.
    assert_eq!(html.matches("<tbody>").count(), 3);
    assert!(html.contains("prot x access <span class=\"muted\">2 case(s), 1 differ</span>"));
    // Mismatches marked, the allowed one apart, with its quote.
    assert!(html.contains("<tr class=\"case differs\"><td class=\"small\">flags</td><td><code>flags-shared-sync</code>"));
    assert!(html.contains("<tr class=\"case allowed\">"));
    assert!(html.contains("mmap(2) NOTES: PROT_WRITE implies PROT_READ"));
    assert_eq!(html.matches("<tr class=\"case same\">").count(), 2);
    // Setup, action and the source of the expectation are there.
    assert!(html.contains("setup: PROT_NONE, MAP_PRIVATE"));
    // What the setup already says is not said twice.
    let mut again = result_with_cases();
    again.extra["checks"][2]["setup"] = "fd O_RDONLY; depends on: the filesystem: ext4".into();
    let table = &mmlab_plot::cases::tables(&again)[0];
    let once = mmlab_plot::cases::html("conformance", table);
    assert_eq!(once.matches("the filesystem: ext4").count(), 1, "{once}");
    for shown in [
        "depends on: the filesystem: ext4",
        "run as: root",
        "scope: on ext4",
        "errno EOPNOTSUPP (mmap)<br><span class=\"small\">no DAX</span>",
    ] {
        assert!(html.contains(shown), "{shown}");
    }
    assert!(html.contains("mmap(2): &quot;PROT_NONE Pages may not be accessed.&quot;"));
    // Each case links its claim's row, which exists; the claim's row links
    // back to the cases naming it.
    assert!(html.contains("<a href=\"#claim-S8\">S8</a>"));
    assert!(html.contains("<tr><td><b>S8</b><span id=\"claim-S8\"></span></td>"));
    assert!(html.contains("<a href=\"#cases-conformance-checks\">3 case(s)</a>"));
    assert!(html.contains("id=\"cases-conformance-checks\""));
    // The switch that hides the cases that match.
    assert!(html.contains("show only the 2 case(s) that differ"));

    let md = std::fs::read_to_string(&output.markdown).unwrap();
    assert!(md.contains(
        "| Group | Case | Expected (documentation) | Observed (this kernel) | Match | Claim |"
    ));
    assert!(md.contains(
        "| flags | `flags-shared-sync` | ok: read 0x37 | errno EOPNOTSUPP (mmap) (no DAX) | **✗ differs** |  |"
    ));
    assert!(md.contains("| start hint | `hint-null` | ok | ok | ✓ matches | S7, S8 |"));
}

#[test]
fn the_reference_prot_flags_result_has_its_cases_as_a_table() {
    // The committed reference run: whatever it holds, every case of its
    // `cases` array is in the table (the report works from the JSON alone).
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../results/reference/prot-flags.json");
    let result = mmlab_core::io::read_result(&path).unwrap();
    let n_cases = result.extra["cases"].as_array().unwrap().len();
    let tables = mmlab_plot::cases::tables(&result);
    let table = tables.iter().find(|t| t.key == "cases").unwrap();
    assert_eq!(table.cases.len(), n_cases);
    assert!(table.groups().len() > 1);
    assert!(
        table
            .cases
            .iter()
            .all(|c| c.group.is_some() && c.setup.is_some())
    );
}
