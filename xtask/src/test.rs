//! `cargo xtask test`: the project's single test command, run the same way by CI (`.ci/run`)
//! and by people.
//!
//! Steps, each announced on stderr, stopping at the first failure:
//! 1. test dependencies ([`crate::deps`]), unless `--no-deps`;
//! 2. `cargo fmt --all --check` and 3. `cargo clippy ... -D warnings`, unless `--quick`;
//! 4. doc tests, then all other tests (nextest when installed), with insta set to fail on a
//!    missing or changed snapshot and to record every snapshot file it reads;
//! 5. every `*.snap` file under `crates/` must have been read by a test, and no pending
//!    snapshot (`*.snap.new`, `*.pending-snap`) may exist.

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::deps;
use crate::util::{cargo, header, human, project_root, run_cmd, succeeds, target_dir};

/// What `cargo xtask test` was asked to do.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    /// Skip `cargo fmt` and `cargo clippy`.
    quick: bool,
    /// Skip installing test dependencies.
    no_deps: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        for arg in args {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--no-deps" => options.no_deps = true,
                other => bail!(
                    "unknown option `{other}` for `cargo xtask test` \
                     (known: --quick, --no-deps)"
                ),
            }
        }
        Ok(options)
    }
}

/// `cargo xtask test [--quick] [--no-deps]`.
pub fn run(args: &[String]) -> Result<()> {
    let options = Options::parse(args)?;
    let started = Instant::now();
    let result = steps(&options);
    let elapsed = human(started.elapsed());
    match result {
        Ok(()) => {
            eprintln!("\n==> xtask test: all steps passed in {elapsed}");
            Ok(())
        }
        Err(e) => Err(e.context(format!("xtask test failed after {elapsed}"))),
    }
}

fn steps(options: &Options) -> Result<()> {
    let root = project_root();

    if options.no_deps {
        header("test dependencies: skipped (--no-deps)");
    } else {
        deps::ensure()?;
    }

    if options.quick {
        header("fmt and clippy: skipped (--quick)");
    } else {
        header("formatting");
        run_cmd(cargo().args(["fmt", "--all", "--check"]))
            .context("formatting differs: run `cargo fmt --all`")?;

        header("clippy");
        let mut clippy = cargo();
        clippy.args(["clippy", "--workspace", "--all-targets"]);
        if root.join("Cargo.lock").exists() {
            clippy.arg("--locked");
        }
        run_cmd(clippy.args(["--", "-D", "warnings"]))?;
    }

    let references = target_dir().join("insta-references.txt");
    remove_if_exists(&references)?;

    // Doc tests first: CI reads the closing lines of the last test runner, and a workspace
    // whose last crate has no doc test would otherwise end on "0 passed".
    header("doc tests");
    run_cmd(test_env(
        cargo().args(["test", "--workspace", "--doc"]),
        &references,
    ))?;

    header("tests");
    let mut tests = cargo();
    if succeeds(cargo().args(["nextest", "--version"])) {
        tests.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        eprintln!("(cargo-nextest is not installed: using cargo test)");
        tests.args(["test", "--workspace", "--no-fail-fast"]);
    }
    run_cmd(test_env(&mut tests, &references))?;

    header("snapshots");
    check_snapshots(&root.join("crates"), &references, &root)
}

/// Sets up insta for a run where snapshots are checked, never written.
fn test_env<'a>(cmd: &'a mut Command, references: &Path) -> &'a mut Command {
    cmd.env("INSTA_UPDATE", "no")
        .env("CI", "true")
        // insta (env.rs, `memoize_snapshot_file`) appends the path of every snapshot file
        // an assertion reads to this file, pass or fail.
        .env("INSTA_SNAPSHOT_REFERENCES_FILE", references);
    // A developer's environment must not turn failures into passes or writes.
    for var in [
        "INSTA_FORCE_PASS",
        "INSTA_FORCE_UPDATE",
        "INSTA_FORCE_UPDATE_SNAPSHOTS",
        "INSTA_GLOB_FILTER",
        "INSTA_PENDING_DIR",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// Fails if a `*.snap` file under `crates_dir` is missing from the references file, or if a
/// pending snapshot exists. Paths in messages are relative to `root`.
fn check_snapshots(crates_dir: &Path, references: &Path, root: &Path) -> Result<()> {
    let mut files = Vec::new();
    collect_files(crates_dir, &mut files)?;

    let referenced: HashSet<PathBuf> = match fs::read_to_string(references) {
        Ok(text) => text
            .lines()
            .filter(|line| !line.is_empty())
            // insta writes paths built from the workspace root and the test's file!(), so
            // they may hold `..`; canonical paths compare reliably. A path that does not
            // exist (a snapshot a failing test did not find) references nothing.
            .filter_map(|line| fs::canonicalize(line).ok())
            .collect(),
        Err(e) if e.kind() == ErrorKind::NotFound => HashSet::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", references.display())),
    };

    let shown = |path: &Path| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    let mut problems = Vec::new();
    let mut snapshots = 0;
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
            problems.push(format!(
                "pending snapshot: {} — review it (`cargo insta review`) or delete it",
                shown(file)
            ));
        } else if name.ends_with(".snap") {
            snapshots += 1;
            let canonical = fs::canonicalize(file).unwrap_or_else(|_| file.clone());
            if !referenced.contains(&canonical) {
                problems.push(format!(
                    "unreferenced snapshot: {} — delete it or reference it",
                    shown(file)
                ));
            }
        }
    }
    if problems.is_empty() {
        eprintln!("{snapshots} snapshot files, all referenced by a test; none pending");
        return Ok(());
    }
    problems.sort();
    bail!(
        "{} snapshot problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    )
}

/// Every file under `dir`, skipping `target` and hidden directories.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = entry.path();
        let file_type = entry
            .file_type()
            .with_context(|| format!("cannot stat {}", path.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if file_type.is_dir() {
            if name != "target" && !name.starts_with('.') {
                collect_files(&path, out)?;
            }
        } else {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory under the system's temp dir, removed on drop (std only: no tempfile).
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create scratch dir");
            Self(dir)
        }

        fn write(&self, relative: &str, contents: &str) -> PathBuf {
            let path = self.0.join(relative);
            fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
            fs::write(&path, contents).expect("write");
            path
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn options() {
        let parse =
            |args: &[&str]| Options::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>());
        assert_eq!(parse(&[]).ok(), Some(Options::default()));
        assert_eq!(
            parse(&["--quick", "--no-deps"]).ok(),
            Some(Options {
                quick: true,
                no_deps: true
            })
        );
        assert!(parse(&["--fast"]).is_err());
    }

    #[test]
    fn snapshots_all_referenced_pass() {
        let s = Scratch::new("snap-ok");
        let a = s.write("crates/a/tests/it/snapshots/it__x.snap", "");
        s.write("crates/a/target/old.snap", "");
        s.write("crates/a/.hidden/old.snap", "");
        // insta may write paths with `..` in them.
        let via_dotdot = s.0.join("crates/a/tests/it/../it/snapshots/it__x.snap");
        let refs = s.write(
            "target/refs.txt",
            &format!(
                "{}\n{}\n/nonexistent.snap\n",
                via_dotdot.display(),
                a.display()
            ),
        );
        check_snapshots(&s.0.join("crates"), &refs, &s.0).expect("all referenced");
    }

    #[test]
    fn unreferenced_and_pending_snapshots_fail() {
        let s = Scratch::new("snap-bad");
        let used = s.write("crates/a/src/snapshots/a__used.snap", "");
        s.write("crates/a/src/snapshots/a__unused.snap", "");
        s.write("crates/b/tests/snapshots/b__x.snap.new", "");
        s.write("crates/b/tests/snapshots/.b__y.pending-snap", "");
        let refs = s.write("target/refs.txt", &format!("{}\n", used.display()));
        let message = check_snapshots(&s.0.join("crates"), &refs, &s.0)
            .expect_err("must fail")
            .to_string();
        assert!(
            message.contains(
                "unreferenced snapshot: crates/a/src/snapshots/a__unused.snap — delete it or reference it"
            ),
            "{message}"
        );
        assert!(
            message.contains("pending snapshot: crates/b/tests/snapshots/b__x.snap.new"),
            "{message}"
        );
        assert!(message.contains(".b__y.pending-snap"), "{message}");
        assert!(!message.contains("a__used"), "{message}");
    }

    #[test]
    fn no_references_file_means_nothing_referenced() {
        let s = Scratch::new("snap-none");
        check_snapshots(&s.0.join("crates"), &s.0.join("missing.txt"), &s.0)
            .expect("no snapshots, no problem");
        s.write("crates/a/src/snapshots/a__x.snap", "");
        assert!(check_snapshots(&s.0.join("crates"), &s.0.join("missing.txt"), &s.0).is_err());
    }
}
