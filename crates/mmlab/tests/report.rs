//! `mmlab plot`, `mmlab report` and `mmlab compare` run as a user runs them,
//! on result folders these tests write (example results with every figure
//! kind, plus files that cannot be used), and the report opened in a real
//! headless Chromium from disk.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mmlab_core::{FigureSpec, ResultFile, Verdict};

fn mmlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmlab"))
        .args(args)
        .output()
        .expect("run mmlab")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A folder kept under the target directory (so a screenshot survives the
/// test), emptied first.
fn kept_folder(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes two good example results, one whose figure spec names data that
/// is not there, and three files that cannot be used; returns the good
/// results and the names of the bad files.
fn write_results(dir: &Path, scale: f64) -> Vec<ResultFile> {
    let mut results = Vec::new();
    for id in ["example-a", "example-b"] {
        let result = mmlab_plot::example::result(id, scale);
        mmlab_core::io::write_result(dir, &result).unwrap();
        results.push(result);
    }
    let mut odd = mmlab_plot::example::result("example-odd-spec", scale);
    odd.figures.truncate(1);
    odd.figures[0].id = "no-such-data".into();
    odd.figures[0].data = "no_such_array".into();
    mmlab_core::io::write_result(dir, &odd).unwrap();
    results.push(odd);
    let json = serde_json::to_value(&results[0]).unwrap();
    let full = serde_json::to_string(&json).unwrap();
    std::fs::write(dir.join("truncated.json"), &full[..full.len() / 2]).unwrap();
    let mut other_version = json.clone();
    other_version["schema_version"] = 99.into();
    other_version["experiment"] = "other-version".into();
    std::fs::write(dir.join("other-version.json"), other_version.to_string()).unwrap();
    let mut no_env = json;
    no_env.as_object_mut().unwrap().remove("env");
    no_env["experiment"] = "no-env".into();
    std::fs::write(dir.join("no-env.json"), no_env.to_string()).unwrap();
    results
}

fn figure_files(dir: &Path, result: &ResultFile, spec: &FigureSpec) -> (PathBuf, PathBuf) {
    let stem = mmlab_plot::figure_stem(&result.experiment, &spec.id);
    (
        dir.join(format!("{stem}.png")),
        dir.join(format!("{stem}.svg")),
    )
}

fn check_valid_figure(png: &Path, svg: &Path) {
    let (width, height) = mmlab_plot::verify::png(png).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        width >= 600 && height >= 150,
        "{} is {width}x{height}",
        png.display()
    );
    let elements = mmlab_plot::verify::svg(svg).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(elements > 5, "{} has {elements} elements", svg.display());
    let svg_text = std::fs::read_to_string(svg).unwrap();
    assert!(
        svg_text.contains("<text"),
        "{} keeps no text as text",
        svg.display()
    );
    assert!(
        svg_text.contains("DejaVu Sans"),
        "{} names no font family to fall back from",
        svg.display()
    );
}

/// The path on the line `report: PATH` of mmlab's output.
fn printed_report_path(stdout: &str) -> PathBuf {
    let last = stdout.lines().last().unwrap_or_default();
    let path = last
        .strip_prefix("report: ")
        .unwrap_or_else(|| panic!("the last line is not the report's path: {stdout}"));
    PathBuf::from(path)
}

#[test]
fn report_draws_every_figure_and_every_claim_and_names_unusable_files() {
    let dir = tempfile::tempdir().unwrap();
    let results = write_results(dir.path(), 1.0);
    let output = mmlab(&["report", dir.path().to_str().unwrap()]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    // Everything usable is rendered; the skipped files make it exit 1.
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stdout.starts_with("mmlab report\n  param results: "),
        "parameters first: {stdout}"
    );

    // One clear line per unusable file, naming the file and the field.
    assert!(
        stderr.contains("truncated.json is not valid JSON"),
        "{stderr}"
    );
    assert!(
        stderr.contains("other-version.json: schema_version 99 is not supported"),
        "{stderr}"
    );
    assert!(stderr.contains("no-env.json: field `env`"), "{stderr}");
    assert!(
        stderr.contains(
            "figure `no-such-data` of example-odd-spec cannot be drawn: data `no_such_array`"
        ),
        "{stderr}"
    );

    let index = printed_report_path(&stdout);
    assert_eq!(index, dir.path().canonicalize().unwrap().join("index.html"));
    let html = std::fs::read_to_string(&index).unwrap();
    let markdown = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    let figures = dir.path().join("figures");
    for result in &results {
        for spec in &result.figures {
            let (png, svg) = figure_files(&figures, result, spec);
            check_valid_figure(&png, &svg);
            let link = format!("figures/{}", png.file_name().unwrap().to_string_lossy());
            assert!(
                html.contains(&format!("src=\"{link}\"")),
                "{link} not shown in index.html"
            );
            assert!(
                markdown.contains(&format!("]({link})")),
                "{link} not shown in report.md"
            );
        }
        assert!(html.contains(&format!("id=\"exp-{}\"", result.experiment)));
        for claim in &result.claims {
            // A claim one experiment judges is a row of its own; one that
            // several judge shows each experiment's verdict in its row.
            let judged_by = results
                .iter()
                .filter(|r| r.claims.iter().any(|c| c.id == claim.id))
                .count();
            let expected = if judged_by == 1 {
                format!(
                    "| {} | {} | **{}** | {} | {} |",
                    claim.id, claim.statement, claim.verdict, claim.evidence, result.experiment
                )
            } else {
                format!(
                    "{}: **{}** {}",
                    result.experiment, claim.verdict, claim.evidence
                )
            };
            assert!(
                markdown.contains(&expected),
                "claim {} of {} missing from report.md: {expected}",
                claim.id,
                result.experiment
            );
        }
    }
    for (_, verdict) in mmlab_plot::example::CLAIMS {
        assert!(
            html.contains(&format!("class=\"verdict v-{verdict}\">{verdict}<")),
            "no {verdict} badge"
        );
    }
    // A claim links to the figure that is its evidence.
    assert!(
        html.contains("href=\"#fig-example-a-truth-table\""),
        "S8 does not link its figure"
    );
    // Unusable files, the figure that could not be drawn, counters and warnings are all in the report.
    for expected in [
        "truncated.json",
        "other-version.json",
        "no-env.json",
        "no_such_array",
        "dTLB-load-misses",
        "needs a hardware PMU",
        "no-pmu",
    ] {
        assert!(html.contains(expected), "index.html lacks {expected}");
        assert!(markdown.contains(expected), "report.md lacks {expected}");
    }
    // A counter this machine could not read is named as such, not drawn as zero.
    let tlb = results[0].figures.iter().find(|f| f.id == "tlb").unwrap();
    let (_, tlb_svg) = figure_files(&figures, &results[0], tlb);
    let tlb_svg = std::fs::read_to_string(tlb_svg).unwrap();
    assert!(
        tlb_svg.contains("not measured on this machine: unsupported: no hardware PMU (ENOENT)")
    );
    // Static page: nothing to fetch from a network.
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "index.html names a network URL"
    );
}

#[test]
fn a_folder_that_is_not_there_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder");
    for command in ["report", "plot"] {
        let output = mmlab(&[command, missing.to_str().unwrap()]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{command}: {stderr}");
        assert!(
            stderr.contains(&format!("{}: not an existing folder", missing.display())),
            "{stderr}"
        );
    }
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let output = mmlab(&["report", empty.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("no result files"),
        "{}",
        text(&output.stderr)
    );
    let output = mmlab(&[
        "compare",
        empty.to_str().unwrap(),
        missing.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn plot_writes_only_figures() {
    let dir = tempfile::tempdir().unwrap();
    let results = write_results(dir.path(), 1.0);
    let out = dir.path().join("only-figures");
    let output = mmlab(&[
        "plot",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    // The three unusable files of write_results: exit 1 after drawing the rest.
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    for result in &results[..2] {
        for spec in &result.figures {
            let (png, svg) = figure_files(&out, result, spec);
            check_valid_figure(&png, &svg);
        }
    }
    assert!(!dir.path().join("index.html").exists());
}

#[test]
fn compare_puts_two_runs_side_by_side_with_their_differences() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("monday"), dir.path().join("tuesday"));
    write_results(&a, 1.0);
    let mut tuesday = write_results(&b, 1.5);
    // One verdict changes between the runs.
    tuesday[0].claims[0].verdict = Verdict::Refuted;
    mmlab_core::io::write_result(&b, &tuesday[0]).unwrap();
    let out = dir.path().join("comparison");
    let output = mmlab(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = text(&output.stdout);
    // Both runs have unusable files: compared all the same, then exit 1.
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("1 claim verdict(s) differ"), "{stdout}");
    let html = std::fs::read_to_string(printed_report_path(&stdout)).unwrap();
    // Per claim: verdict A vs B, the changed one marked.
    assert!(html.contains("<tr class=\"changed\"><td><b>S5</b></td><td>example-a</td><td><span class=\"verdict v-holds\">holds</span></td><td><span class=\"verdict v-refuted\">refuted</span>"), "no changed S5 row");
    // Per summary: median A, median B, ratio (timings scaled by 1.5).
    assert!(
        html.contains("<td class=\"num\">1.50×</td>"),
        "no 1.50x ratio"
    );
    // Fingerprints side by side.
    assert!(html.contains("<th>Field</th><th>monday</th><th>tuesday</th>"));
    // Line and bar figures overlaid, series suffixed with the run's label;
    // grid and strips side by side, one file per run.
    let figures = out.join("figures");
    let time_svg = std::fs::read_to_string(figures.join("example-a-time.svg")).unwrap();
    assert!(time_svg.contains("mmap (monday)") && time_svg.contains("mmap (tuesday)"));
    for run in ["monday", "tuesday"] {
        check_valid_figure(
            &figures.join(format!("example-a-truth-table.{run}.png")),
            &figures.join(format!("example-a-truth-table.{run}.svg")),
        );
    }
    check_valid_figure(
        &figures.join("example-a-time.png"),
        &figures.join("example-a-time.svg"),
    );
    assert!(
        html.contains("truncated.json"),
        "unusable files of a run are listed"
    );
}

/// A result file of the committed reference run, as JSON.
fn reference(experiment: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../results/reference")
        .join(format!("{experiment}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The reference result these tests copy: one of the smallest, with bar
/// and line figures drawn from its samples and its own arrays.
const REFERENCE: &str = "who-calls-mmap";

fn write_reference(dir: &Path, name: &str, value: &serde_json::Value) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path
}

/// Runs mmlab in `cwd`, killed and failed if it has not ended after
/// `limit` (a reader blocked on a FIFO would never end by itself).
fn mmlab_within(args: &[&str], cwd: &Path, limit: std::time::Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mmlab"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mmlab");
    // Read both pipes while waiting, so a full pipe cannot stall the child.
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = reader(Box::new(child.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.stderr.take().unwrap()));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "mmlab {args:?} still running after {limit:?}: killed; stderr so far: {}",
                text(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

const FEW_SECONDS: std::time::Duration = std::time::Duration::from_secs(20);

#[test]
fn a_truncated_result_file_is_named_the_good_one_still_rendered_and_the_exit_status_is_1() {
    let dir = tempfile::tempdir().unwrap();
    let good = reference(REFERENCE);
    write_reference(dir.path(), &format!("{REFERENCE}.json"), &good);
    let full = serde_json::to_string_pretty(&good).unwrap();
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &full[..full.len() / 3]).unwrap();

    let output = mmlab_within(
        &["report", dir.path().to_str().unwrap()],
        dir.path(),
        FEW_SECONDS,
    );
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "skipped a result file: {} is not valid JSON",
            truncated.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.lines().last().is_some_and(
            |l| l.contains("1 result file(s) could not be used") && l.contains("exit status 1")
        ),
        "the last line says why the status is 1: {stderr}"
    );
    // The good file is in the report, with its figures; the bad one is named in it.
    let html = std::fs::read_to_string(printed_report_path(&stdout)).unwrap();
    assert!(
        html.contains(&format!("id=\"exp-{REFERENCE}\"")),
        "no section"
    );
    assert!(
        html.contains("truncated.json"),
        "the skipped file is not listed"
    );
    let n_figures = good["figures"].as_array().unwrap().len();
    assert!(
        stdout.contains(&format!("{n_figures} figure(s), ")),
        "{stdout}"
    );

    let out = dir.path().join("plotted");
    let output = mmlab_within(
        &[
            "plot",
            dir.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
        FEW_SECONDS,
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("truncated.json is not valid JSON"));
    let n_png = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert_eq!(n_png, n_figures, "the good file's figures are drawn");
}

#[test]
fn a_fifo_named_json_is_skipped_without_opening_it_by_report_and_compare() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let good = reference(REFERENCE);
    write_reference(&a, &format!("{REFERENCE}.json"), &good);
    write_reference(&b, &format!("{REFERENCE}.json"), &good);
    // Opening a FIFO for reading blocks until a writer comes: none will.
    let fifo = a.join("x.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let named = format!(
        "{} is not a regular file (a FIFO); not opened",
        fifo.display()
    );

    let output = mmlab_within(&["report", a.to_str().unwrap()], dir.path(), FEW_SECONDS);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&named), "{stderr}");
    assert!(a.join("index.html").is_file());

    let out = dir.path().join("comparison");
    let output = mmlab_within(
        &[
            "compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
        FEW_SECONDS,
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&named), "{stderr}");
    assert!(out.join("index.html").is_file());
}

#[test]
fn a_mistyped_field_is_named_by_its_path_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = reference(REFERENCE);
    bad["summaries"][2]["median"] = "fast".into();
    let path = write_reference(dir.path(), "mistyped.json", &bad);
    let mut huge_count = reference(REFERENCE);
    huge_count["duration_ns"] = serde_json::json!(1e308);
    let huge = write_reference(dir.path(), "huge-duration.json", &huge_count);
    let out = dir.path().join("figures");
    let output = mmlab_within(
        &[
            "plot",
            dir.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
        FEW_SECONDS,
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: field `summaries[2].median`: invalid type: string \"fast\"",
            path.display()
        )),
        "{stderr}"
    );
    // The field, not the value, is what is named.
    assert!(
        stderr.contains(&format!("{}: field `duration_ns`: ", huge.display())),
        "{stderr}"
    );
    assert!(!stderr.contains("field `1e"), "{stderr}");
    assert!(!stderr.contains("(unknown)"), "{stderr}");
}

#[test]
fn a_value_no_figure_can_draw_is_a_figure_problem_not_a_broken_axis() {
    let dir = tempfile::tempdir().unwrap();
    let mut result = reference(REFERENCE);
    // A value of a figure of this experiment: the watch-cost bars.
    let figure = result["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["data"] == "samples")
        .cloned()
        .expect("a figure of the samples");
    let (id, y) = (
        figure["id"].as_str().unwrap().to_string(),
        figure["y"]["field"].as_str().unwrap().to_string(),
    );
    let index = result["samples"]
        .as_array()
        .unwrap()
        .iter()
        .position(|row| {
            row.get(&y).is_some_and(|v| v.is_number())
                && figure["filter"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .all(|(k, v)| row.get(k) == Some(v))
        })
        .expect("a row drawn by that figure");
    result["samples"][index][&y] = serde_json::json!(1e308);
    write_reference(dir.path(), &format!("{REFERENCE}.json"), &result);

    let output = mmlab_within(
        &["report", dir.path().to_str().unwrap()],
        dir.path(),
        FEW_SECONDS,
    );
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    // The file itself is usable: its other figures and claims are reported.
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let problem = format!(
        "figure `{id}` of {REFERENCE} cannot be drawn: `samples[{index}].{y}` (y) is 1e+308, beyond what a figure can draw"
    );
    assert!(stderr.contains(&problem), "{stderr}");
    assert!(stdout.contains("1 figure problem(s)"), "{stdout}");
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(
        html.contains(&format!("`samples[{index}].{y}`"))
            || html.contains(&format!("samples[{index}].{y}")),
        "the report names it"
    );
    for entry in std::fs::read_dir(dir.path().join("figures")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "svg") {
            let svg = std::fs::read_to_string(&path).unwrap();
            assert!(
                !svg.contains("9223372036854775807"),
                "{} has a saturated tick label",
                path.display()
            );
        }
    }
}

#[test]
fn comparing_a_folder_with_itself_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    write_reference(&run, &format!("{REFERENCE}.json"), &reference(REFERENCE));
    for (a, b, labels) in [
        ("run", "run", false),
        ("run", "./run/", false),
        ("./run", "run/.", true),
    ] {
        let mut args = vec!["compare", a, b];
        if labels {
            args.extend(["--label-a", "one", "--label-b", "two"]);
        }
        let output = mmlab_within(&args, dir.path(), FEW_SECONDS);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("DIR_A {a} and DIR_B {b} are the same folder")),
            "{args:?}: {stderr}"
        );
        assert!(
            !dir.path().join("results/compare").exists(),
            "nothing written"
        );
    }
}

/// The browser the report test uses: on PATH, or installed by the
/// project's script (root with apt-get); None with the reason otherwise.
fn chromium() -> Result<PathBuf, String> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(output) = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            && output.status.success()
        {
            return Ok(PathBuf::from(text(&output.stdout).trim()));
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-browser.sh");
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if output.status.success() {
        Ok(PathBuf::from(
            text(&output.stdout)
                .trim()
                .lines()
                .last()
                .unwrap_or_default(),
        ))
    } else {
        Err(format!(
            "chromium is not installed and {} could not install it: {}",
            script.display(),
            text(&output.stderr).trim()
        ))
    }
}

/// Runs headless Chromium as root can, with a fresh profile and no
/// background traffic of its own.
fn run_chromium(browser: &Path, profile: &Path, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium")
}

/// The `data-*` attributes the report's own script set on `<body>`.
fn body_attributes(dom: &str) -> std::collections::BTreeMap<String, String> {
    let body = dom
        .split("<body")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap_or_default();
    body.split("\" ")
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once("=\"")?;
            Some((name.to_string(), value.trim_end_matches('"').to_string()))
        })
        .collect()
}

#[test]
fn the_report_opens_from_disk_in_a_real_browser_with_every_image_and_nothing_fetched() {
    let browser = match chromium() {
        Ok(browser) => browser,
        Err(reason) => {
            mmlab_core::testing::skip(
                mmlab_core::testing::Capability::Chromium,
                "the report in a real browser",
                reason,
            );
            return;
        }
    };
    let dir = kept_folder("report-in-browser");
    let results = write_results(&dir, 1.0);
    let output = mmlab(&["report", dir.to_str().unwrap()]);
    // write_results leaves unusable files: exit 1, the report written all the same.
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let index = printed_report_path(&text(&output.stdout));
    let url = format!("file://{}", index.display());
    let n_figures: usize = results.iter().map(|r| r.figures.len()).sum();

    let dom = run_chromium(
        &browser,
        &dir.join("profile-dom"),
        &["--virtual-time-budget=10000", "--dump-dom", &url],
    );
    let attributes = body_attributes(&text(&dom.stdout));
    assert_eq!(
        attributes.get("data-images-checked").map(String::as_str),
        Some("done"),
        "the page's check did not run: {attributes:?}\n{}",
        text(&dom.stderr)
    );
    assert_eq!(attributes["data-images-total"], n_figures.to_string());
    assert_eq!(
        attributes["data-images-broken"], "",
        "images that did not load"
    );
    assert_eq!(
        attributes["data-resources-remote"], "",
        "resources from a network"
    );
    assert_eq!(
        attributes["data-blocked-by-policy"], "",
        "the page tried to fetch something"
    );

    // The checks can fail: the same page with one image from the network
    // reports it as blocked and broken, and the policy keeps it out.
    let tampered = dir.join("tampered.html");
    let html = std::fs::read_to_string(&index).unwrap();
    std::fs::write(
        &tampered,
        html.replacen(
            "<figure",
            "<img src=\"http://example.invalid/x.png\" alt=\"remote\"><figure",
            1,
        ),
    )
    .unwrap();
    let dom = run_chromium(
        &browser,
        &dir.join("profile-tampered"),
        &[
            "--virtual-time-budget=10000",
            "--dump-dom",
            &format!("file://{}", tampered.display()),
        ],
    );
    let attributes = body_attributes(&text(&dom.stdout));
    assert_eq!(
        attributes["data-images-broken"],
        "http://example.invalid/x.png"
    );
    assert!(
        attributes["data-blocked-by-policy"].contains("http://example.invalid/x.png"),
        "{attributes:?}"
    );
    std::fs::remove_file(&tampered).unwrap();

    let screenshot = dir.join("report-screenshot.png");
    let shot = run_chromium(
        &browser,
        &dir.join("profile-shot"),
        &[
            "--virtual-time-budget=10000",
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1200,3000",
            &url,
        ],
    );
    let (width, height) = mmlab_plot::verify::png(&screenshot)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", text(&shot.stderr)));
    assert_eq!((width, height), (1200, 3000));
    println!("screenshot of the report: {}", screenshot.display());
}

/// The claims table has one row per claim id: where two experiments judge
/// the same claim (S5 in repeated-access and who-calls-mmap), the row shows
/// the combined verdict and, under it, each experiment's own.
#[test]
fn the_claims_table_has_one_row_per_claim_with_each_experiments_verdict_under_it() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results/reference");
    let mut ids_per_file = Vec::new();
    for experiment in ["repeated-access", "who-calls-mmap", "prot-flags"] {
        let mut value = reference_value(&reference, experiment);
        if experiment == "who-calls-mmap" {
            // Make the two experiments disagree on S5: the combined verdict
            // must then be the refutation.
            for claim in value["claims"].as_array_mut().unwrap() {
                if claim["id"] == "S5" {
                    claim["verdict"] = "refuted".into();
                    claim["evidence"] = "a made-up refutation".into();
                }
            }
        }
        let ids: Vec<String> = value["claims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
        ids_per_file.extend(ids);
        write_reference(dir.path(), &format!("{experiment}.json"), &value);
    }
    let output = mmlab(&["report", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let markdown = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    let table: Vec<&str> = markdown
        .split("## Claims and verdicts")
        .nth(1)
        .unwrap()
        .lines()
        .skip_while(|l| !l.starts_with("|---"))
        .skip(1)
        .take_while(|l| l.starts_with("| "))
        .collect();
    let mut row_ids: Vec<&str> = table
        .iter()
        .map(|l| l.trim_start_matches("| ").split(" |").next().unwrap())
        .collect();
    let n_rows = row_ids.len();
    row_ids.sort_unstable();
    row_ids.dedup();
    assert_eq!(n_rows, row_ids.len(), "a claim id in two rows: {table:#?}");
    ids_per_file.sort_unstable();
    ids_per_file.dedup();
    assert_eq!(row_ids, ids_per_file);
    let s5 = table.iter().find(|l| l.starts_with("| S5 |")).unwrap();
    assert!(s5.contains("| **refuted** |"), "{s5}");
    assert!(
        s5.contains("repeated-access: **")
            && s5.contains("who-calls-mmap: **refuted** a made-up refutation"),
        "{s5}"
    );
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    let claims = html.split("<section id=\"claims\">").nth(1).unwrap();
    let claims = claims.split("</section>").next().unwrap();
    assert_eq!(claims.matches("<tr><td><b>S5</b>").count(), 1);
}

fn reference_value(reference: &Path, experiment: &str) -> serde_json::Value {
    let path = reference.join(format!("{experiment}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}
