//! LVM2's own test suite in the real-kernel test VM: the `test/shell` scripts of Debian's
//! `lvm2` source package, run unchanged, with real LVM2 and with rlvm as `lvm`.
//!
//! - `tests/lvm2-suite/prepare.sh` (host) fetches the source with `apt-get source` into
//!   `.vm-cache/lvm2-suite` (once) and packs the suite in its installed layout;
//! - `tests/lvm2-suite/run.sh` (guest, the scenario) runs the scripts listed in
//!   `tests/lvm2-suite/scripts.list`, all in one boot, and prints `PASS|FAIL|SKIP name (secs)`
//!   per script and `N passed, M failed, K skipped`;
//! - this file boots one VM for LVM2 and two for rlvm (the list split between them, so both
//!   cores work) and checks every listed script passed (a script flagged `rlvm-xfail` may
//!   fail with rlvm).
//!
//! Like tests/vm.rs these fail, not skip, when the VM or the source cannot be had under CI
//! (`CI` set) or `RLVM_VM_TESTS=1`. Knobs: `RLVM_LVM2_SUITE_SCRIPTS="a.sh b.sh"` runs those
//! scripts instead of the list; `RLVM_LVM2_SUITE_LVM2_ALL=1` runs the whole list with LVM2
//! too (by default LVM2 runs the merge scripts only, as the harness check); `RLVM_LVM2_SUITE_TIMEOUT` (seconds per script, default 300,
//! times `RLVM_VM_TIMEOUT_SCALE`); `RLVM_LVM2_SUITE_PROFILE=1` times every lvm command of the
//! scripts (run.sh's PROFILE lines on the console, kept with `RLVM_VM_KEEP=1`);
//! `RLVM_LVM2_SUITE_STEPS=N` times every traced step of the scripts, harness included (STEPS
//! lines: per command word, and the N slowest); `RLVM_LVM2_SUITE_TARBALL` uses that suite tarball instead
//! of prepare.sh's (a locally modified suite, for a diagnosis); `RLVM_VM_KEEP=1` keeps the
//! console logs.

#[path = "vm/harness.rs"]
mod harness;

use harness::{image_or_skip, repo_root, shout, vm_tests_required, Vm};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const GUEST_DIR: &str = "/rlvm/lvm2-suite";
const MERGE_SCRIPTS: [&str; 3] = [
    "snapshot-merge.sh",
    "snapshot-merge-stack.sh",
    "pvscan-autoactivation-polling.sh",
];

fn list_path() -> PathBuf {
    repo_root().join("tests/lvm2-suite/scripts.list")
}

/// A script of the list and whether it is known to fail with rlvm.
#[derive(Debug, PartialEq)]
struct Listed {
    name: String,
    rlvm_xfail: bool,
}

/// `tests/lvm2-suite/scripts.list`, parsed as run.sh parses it.
fn listed_scripts() -> Vec<Listed> {
    let text = std::fs::read_to_string(list_path()).expect("tests/lvm2-suite/scripts.list");
    parse_list(&text)
}

fn parse_list(text: &str) -> Vec<Listed> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let name = words.next()?.to_owned();
            let rlvm_xfail = words.any(|w| w == "rlvm-xfail");
            Some(Listed { name, rlvm_xfail })
        })
        .collect()
}

/// The suite tarball from prepare.sh, once per process; `None` after a loud message when it
/// cannot be had and need not. Panics when it cannot be had and must.
fn suite_tarball(test: &str) -> Option<&'static PathBuf> {
    static TARBALL: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = TARBALL.get_or_init(|| {
        if let Ok(path) = std::env::var("RLVM_LVM2_SUITE_TARBALL") {
            return Ok(PathBuf::from(path));
        }
        let script = repo_root().join("tests/lvm2-suite/prepare.sh");
        let out = Command::new(&script)
            .arg("--quiet")
            .output()
            .map_err(|e| format!("{}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed ({}):\n{}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let path = PathBuf::from(stdout.lines().last().unwrap_or("").trim());
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{} printed no tarball path", script.display()))
        }
    });
    match result {
        Ok(path) => Some(path),
        Err(why) if vm_tests_required() => panic!(
            "VM test {test} cannot get LVM2's test suite, and VM tests are required here (CI or RLVM_VM_TESTS=1): {why}"
        ),
        Err(why) => {
            shout(&format!(
                "\n*** SKIPPED VM test {test}: no LVM2 test suite: {why}\n*** (run scripts/install-deps.sh; CI=true or RLVM_VM_TESTS=1 makes this a failure)\n"
            ));
            None
        }
    }
}

/// One script's result line from the console: `PASS name (1.2s)`, `FAIL name (3.4s): why`.
#[derive(Debug, PartialEq)]
struct ScriptResult {
    status: String,
    line: String,
    /// The indented output tail run.sh prints under a FAIL line.
    detail: Vec<String>,
}

fn parse_console(console: &str) -> (BTreeMap<String, ScriptResult>, Option<String>) {
    let mut results: BTreeMap<String, ScriptResult> = BTreeMap::new();
    let mut summary = None;
    let mut last: Option<String> = None;
    for line in console.lines().map(|l| l.trim_end_matches('\r')) {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if matches!(first, "PASS" | "FAIL" | "SKIP") {
            if let Some(name) = words.next() {
                results.insert(
                    name.to_owned(),
                    ScriptResult {
                        status: first.to_owned(),
                        line: line.to_owned(),
                        detail: Vec::new(),
                    },
                );
                last = Some(name.to_owned());
                continue;
            }
        }
        if line.starts_with("    | ") {
            if let Some(r) = last.as_ref().and_then(|n| results.get_mut(n)) {
                r.detail.push(line.to_owned());
            }
            continue;
        }
        last = None;
        let is_summary = line
            .split_once(" passed, ")
            .is_some_and(|(n, rest)| n.parse::<u32>().is_ok() && rest.contains(" failed"));
        if is_summary {
            summary = Some(line.to_owned());
        }
    }
    (results, summary)
}

fn timeout_scale() -> f64 {
    std::env::var("RLVM_VM_TIMEOUT_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(1.0)
}

/// The release binary as users get it: `scripts/build-release.sh` (static on glibc Linux),
/// which prints its path.
fn release_rlvm() -> PathBuf {
    let out = std::process::Command::new(repo_root().join("scripts/build-release.sh"))
        .current_dir(repo_root())
        .output()
        .expect("run scripts/build-release.sh");
    assert!(
        out.status.success(),
        "scripts/build-release.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// With real LVM2, what the run checks by default: the three merge scripts, enough to show
/// that the image, the prepared suite and the runner are right, in a third of the time of the
/// whole list (each listed script was checked with LVM2 when it was listed; CI's time is
/// shared). `RLVM_LVM2_SUITE_LVM2_ALL=1` runs the whole list with LVM2.
fn lvm2_harness_check(mode: &str) -> Option<Vec<String>> {
    let all = std::env::var("RLVM_LVM2_SUITE_LVM2_ALL").is_ok_and(|v| v == "1");
    (mode == "lvm2" && !all).then(|| MERGE_SCRIPTS.iter().map(|s| s.to_string()).collect())
}

/// With rlvm the list is run in this many VMs at once, split by [`balanced_shards`]: the
/// machines have two cores, and one VM (one CPU) per test leaves the other core to whatever
/// else runs (the LVM2 check, which is short, or other VM tests).
const RLVM_SHARDS: usize = 2;

/// `tests/lvm2-suite/seconds.list`: how long each listed script took with rlvm in one
/// CI-like run (`name seconds` per line), used only to split the list evenly between VMs.
fn script_seconds() -> BTreeMap<String, f64> {
    let path = repo_root().join("tests/lvm2-suite/seconds.list");
    parse_seconds(&std::fs::read_to_string(path).unwrap_or_default())
}

fn parse_seconds(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split('#').next()?.split_whitespace();
            let name = words.next()?.to_owned();
            let secs = words.next()?.parse::<f64>().ok()?;
            Some((name, secs))
        })
        .collect()
}

/// Splits `scripts` into `n` shards of about equal time: the longest script first, each to
/// the shard with the least time so far (a script with no recorded time counts as the
/// median of those with one). Each shard keeps the list's order. The same list and times
/// give every test process the same split, so the shards never overlap nor miss a script.
fn balanced_shards(
    scripts: &[String],
    seconds: &BTreeMap<String, f64>,
    n: usize,
) -> Vec<Vec<String>> {
    let mut known: Vec<f64> = scripts
        .iter()
        .filter_map(|s| seconds.get(s).copied())
        .collect();
    known.sort_by(f64::total_cmp);
    let median = known.get(known.len() / 2).copied().unwrap_or(1.0);
    let cost = |s: &String| seconds.get(s).copied().unwrap_or(median);
    let mut order: Vec<usize> = (0..scripts.len()).collect();
    // Stable: equal times keep the list's order, so the split is deterministic.
    order.sort_by(|&a, &b| cost(&scripts[b]).total_cmp(&cost(&scripts[a])));
    let mut load = vec![0.0f64; n];
    let mut owner = vec![0usize; scripts.len()];
    for i in order {
        let k = (0..n)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]))
            .unwrap_or(0);
        load[k] += cost(&scripts[i]);
        owner[i] = k;
    }
    (0..n)
        .map(|k| {
            scripts
                .iter()
                .zip(&owner)
                .filter(|(_, &o)| o == k)
                .map(|(s, _)| s.clone())
                .collect()
        })
        .collect()
}

/// Boots the VM once with run.sh for `mode` ("lvm2" or "rlvm") and checks the results: every
/// script, or with `shard` = (k, n) the k-th of [`balanced_shards`]'s n shares of the list.
fn run_suite(mode: &str, shard: Option<(usize, usize)>) {
    let name = match shard {
        Some((k, n)) => format!("lvm2-suite-{mode}-{}of{n}", k + 1),
        None => format!("lvm2-suite-{mode}"),
    };
    let Some(image) = image_or_skip(&name) else {
        return;
    };
    let Some(tarball) = suite_tarball(&name) else {
        return;
    };
    let listed = listed_scripts();
    let chosen: Option<Vec<String>> = std::env::var("RLVM_LVM2_SUITE_SCRIPTS")
        .ok()
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .filter(|v: &Vec<String>| !v.is_empty())
        .or_else(|| lvm2_harness_check(mode));
    let mut to_run: Vec<String> = chosen
        .clone()
        .unwrap_or_else(|| listed.iter().map(|l| l.name.clone()).collect());
    // RLVM_LVM2_SUITE_SHARDS=1: the first VM runs every chosen script, the second none
    // (one VM for a small batch while working on scripts).
    let shard = shard.map(|(k, n)| {
        let n = std::env::var("RLVM_LVM2_SUITE_SHARDS")
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|&m| m >= 1)
            .unwrap_or(n);
        (k, n)
    });
    if let Some((k, n)) = shard {
        if k >= n {
            shout(&format!("{name}: no script falls to this shard"));
            return;
        }
        to_run = balanced_shards(&to_run, &script_seconds(), n).swap_remove(k);
        if to_run.is_empty() {
            shout(&format!("{name}: no script falls to this shard"));
            return;
        }
    }
    let chosen = (chosen.is_some() || shard.is_some()).then(|| to_run.clone());
    let per_script_unscaled: u64 = std::env::var("RLVM_LVM2_SUITE_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let per_script = (per_script_unscaled as f64 * timeout_scale()).ceil() as u64;

    let mut builder = Vm::builder(&name)
        .scenario(repo_root().join("tests/lvm2-suite/run.sh"))
        .disks(&[])
        .memory_mib(1024)
        // Unscaled: the harness scales the boot's limit itself.
        .timeout(Duration::from_secs(
            to_run.len() as u64 * per_script_unscaled + 180,
        ))
        .file(tarball, format!("{GUEST_DIR}/lvm2-testsuite.tar.gz"))
        .file(list_path(), format!("{GUEST_DIR}/scripts.list"))
        .env("LVM2_SUITE_LVM", mode)
        .env("LVM2_SUITE_TIMEOUT", &per_script.to_string());
    if let Some(chosen) = &chosen {
        builder = builder.env("LVM2_SUITE_SCRIPTS", &chosen.join(" "));
    }
    if std::env::var("RLVM_LVM2_SUITE_PROFILE").is_ok_and(|v| v == "1") {
        builder = builder.env("LVM2_SUITE_PROFILE", "1");
    }
    if let Ok(n) = std::env::var("RLVM_LVM2_SUITE_STEPS") {
        builder = builder.env("LVM2_SUITE_STEPS", &n);
    }
    if mode == "rlvm" {
        // The build users install: the suite's scripts race the kernel in places
        // (snapshot-merge-stack.sh fails a device under a merge that must not have
        // finished yet), and a debug build's start-up under TCG loses those races.
        builder = builder.rlvm(Some(release_rlvm()));
    }
    let mut vm = builder.build(image).unwrap_or_else(|e| panic!("{e}"));
    let outcome = vm.boot().unwrap_or_else(|e| panic!("{e}"));
    let console =
        String::from_utf8_lossy(&std::fs::read(&outcome.console).unwrap_or_default()).into_owned();
    let (results, summary) = parse_console(&console);

    // The per-script lines with their timings, visible even when the test passes.
    let mut report = format!(
        "LVM2 test suite with {mode} as lvm (boot {:.1}s, suite {:.1}s):\n",
        outcome.boot_time.as_secs_f64(),
        outcome.scenario_time.as_secs_f64()
    );
    for r in results.values() {
        report.push_str(&format!("  {}\n", r.line));
    }
    report.push_str(&format!(
        "  {}\n",
        summary.as_deref().unwrap_or("(no summary line)")
    ));
    shout(&report);

    let Some(_) = summary else {
        panic!(
            "{}",
            outcome.failure_report("run.sh did not finish (no summary line)")
        );
    };
    let mut problems = Vec::new();
    for script in &to_run {
        let xfail = mode == "rlvm" && listed.iter().any(|l| &l.name == script && l.rlvm_xfail);
        match results.get(script) {
            None => problems.push(format!("{script}: no result line")),
            Some(r) if r.status == "PASS" => {}
            Some(_) if xfail => {}
            Some(r) => {
                let mut p = r.line.clone();
                for d in &r.detail {
                    p.push('\n');
                    p.push_str(d);
                }
                problems.push(p);
            }
        }
    }
    assert!(
        problems.is_empty(),
        "LVM2 test suite with {mode} as lvm: {} script(s) did not pass (console log: {}):\n{}",
        problems.len(),
        outcome.console.display(),
        problems.join("\n")
    );
    // rc 0 is run.sh's own verdict, which must agree.
    outcome.assert_success();
}

/// Real LVM2 as lvm: proves the harness (image, prepared suite, runner) is right (the merge
/// scripts by default; `RLVM_LVM2_SUITE_LVM2_ALL=1` for the whole list).
#[test]
fn lvm2_suite_with_lvm2() {
    run_suite("lvm2", None);
}

/// rlvm as lvm: every listed script must pass (the first of the `RLVM_SHARDS` VMs).
#[test]
fn lvm2_suite_with_rlvm() {
    run_suite("rlvm", Some((0, RLVM_SHARDS)));
}

/// rlvm as lvm, the second VM's share of the list.
#[test]
fn lvm2_suite_with_rlvm_2() {
    run_suite("rlvm", Some((1, RLVM_SHARDS)));
}

#[test]
fn the_list_holds_the_merge_scripts() {
    let listed = listed_scripts();
    for script in MERGE_SCRIPTS {
        assert!(
            listed.iter().any(|l| l.name == script),
            "{script} must be in tests/lvm2-suite/scripts.list"
        );
    }
}

/// `tests/lvm2-suite/scope.list`: every script of the suite, `in` or `out` with a reason.
fn scope() -> BTreeMap<String, Option<String>> {
    let path = repo_root().join("tests/lvm2-suite/scope.list");
    let text = std::fs::read_to_string(&path).expect("tests/lvm2-suite/scope.list");
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap().to_owned();
        let verdict = match words.next() {
            Some("in") => None,
            Some("out") => {
                let why = words.collect::<Vec<_>>().join(" ");
                assert!(
                    !why.is_empty(),
                    "scope.list: {name} is out without a reason"
                );
                Some(why)
            }
            other => panic!("scope.list: {name}: expected in|out, found {other:?}"),
        };
        assert!(
            out.insert(name.clone(), verdict).is_none(),
            "scope.list: {name} twice"
        );
    }
    out
}

#[test]
fn the_ci_list_is_in_scope() {
    let scope = scope();
    for l in listed_scripts() {
        match scope.get(&l.name) {
            Some(None) => {}
            Some(Some(why)) => panic!(
                "scripts.list runs {}, which scope.list puts out: {why}",
                l.name
            ),
            None => panic!(
                "scripts.list runs {}, which scope.list does not know",
                l.name
            ),
        }
    }
}

/// The source prepare.sh fetched (and caches in .vm-cache): scope.list
/// names each of its test/shell scripts exactly once and nothing else.
#[test]
fn the_scope_list_covers_the_fetched_suite() {
    // Fetches the source when it is not cached (a failure under CI, a loud skip elsewhere).
    if suite_tarball("the_scope_list_covers_the_fetched_suite").is_none() {
        return;
    }
    let src = repo_root().join(".vm-cache/lvm2-suite/src");
    let Some(shell) = std::fs::read_dir(&src).ok().and_then(|d| {
        d.flatten()
            .map(|e| e.path().join("tree/test/shell"))
            .find(|p| p.is_dir())
    }) else {
        eprintln!(
            "the_scope_list_covers_the_fetched_suite: no fetched suite under {}",
            src.display()
        );
        return;
    };
    let fetched: std::collections::BTreeSet<String> = std::fs::read_dir(&shell)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sh"))
        .collect();
    let listed: std::collections::BTreeSet<String> = scope().into_keys().collect();
    let missing: Vec<_> = fetched.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&fetched).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "scope.list is stale against {}: not listed {missing:?}, not in the suite {extra:?}",
        shell.display()
    );
}

#[test]
fn shards_are_balanced_and_cover_the_list_once() {
    let scripts: Vec<String> = ["a.sh", "b.sh", "c.sh", "d.sh", "e.sh"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let secs = parse_seconds("a.sh 100\nb.sh 60 # comment\nc.sh 50\nd.sh 40\nbad line\n");
    assert_eq!(secs.len(), 4);
    let shards = balanced_shards(&scripts, &secs, 2);
    // e.sh counts as the median, 60. Longest first: a 100 → 0; b 60 → 1; e 60 → 1 (60 < 100);
    // c 50 → 0 (100 < 120); d 40 → 1 (120 < 150): 150 and 160 seconds.
    assert_eq!(shards[0], vec!["a.sh", "c.sh"]);
    assert_eq!(shards[1], vec!["b.sh", "d.sh", "e.sh"]);
    let mut all: Vec<String> = shards.concat();
    all.sort();
    assert_eq!(all, scripts);
    // Every listed script has a recorded time (a new one should be timed and added).
    let recorded = script_seconds();
    let missing: Vec<String> = listed_scripts()
        .into_iter()
        .map(|l| l.name)
        .filter(|n| !recorded.contains_key(n))
        .collect();
    assert!(
        missing.is_empty(),
        "tests/lvm2-suite/seconds.list has no time for {missing:?}"
    );
}

#[test]
fn parses_the_list_and_the_console() {
    assert_eq!(
        parse_list("# c\n\na.sh\nb.sh  rlvm-xfail  # why\n"),
        vec![
            Listed {
                name: "a.sh".into(),
                rlvm_xfail: false
            },
            Listed {
                name: "b.sh".into(),
                rlvm_xfail: true
            }
        ]
    );
    let console = "lvm2-suite: --- a.sh\r\nPASS a.sh (1.2s)\r\nFAIL b.sh (3.0s): exit 1\r\n    | lvs\r\n    | boom\r\n[ 12.3] kernel line\r\nSKIP c.sh (0.1s): no thin\r\n1 passed, 1 failed, 1 skipped\r\n";
    let (results, summary) = parse_console(console);
    assert_eq!(summary.as_deref(), Some("1 passed, 1 failed, 1 skipped"));
    assert_eq!(results["a.sh"].status, "PASS");
    assert_eq!(results["b.sh"].status, "FAIL");
    assert_eq!(results["b.sh"].detail, vec!["    | lvs", "    | boom"]);
    assert_eq!(results["c.sh"].status, "SKIP");
}
