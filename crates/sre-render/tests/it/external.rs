//! Running the real consumers of the machine formats. A missing tool fails the test with the
//! command that installs it: these checks are the point of the tests, so they never skip.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Output of a finished process: exit success and stdout + stderr.
pub struct Run {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Run {
            success: out.status.success(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

fn spawn(program: &str, args: &[&str], stdin: &str, install_hint: &str) -> Run {
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!(
                "`{program}` is not installed; this test needs it. Install it with: {install_hint}"
            )
        }
        Err(e) => panic!("could not run `{program}`: {e}"),
    };
    let mut pipe = child.stdin.take().expect("child stdin");
    pipe.write_all(stdin.as_bytes())
        .expect("writing to child stdin");
    drop(pipe);
    Run::from(child.wait_with_output().expect("waiting for child"))
}

/// `promtool check metrics`, which reads the exposition text on stdin and lints it.
pub fn promtool_check_metrics(text: &str) -> Run {
    spawn(
        "promtool",
        &["check", "metrics"],
        text,
        "apt-get install -y --no-install-recommends prometheus",
    )
}

/// Exit code a Python helper uses when a module is missing.
pub const PY_MISSING_MODULE: i32 = 3;

/// Runs a Python 3 script (given on the command line) with `args`.
pub fn python(script: &str, args: &[&str]) -> Run {
    let mut all = vec!["-c", script];
    all.extend_from_slice(args);
    spawn(
        "python3",
        &all,
        "",
        "apt-get install -y --no-install-recommends python3",
    )
}

/// Writes `text` to a file in a fresh temporary directory, which lives as long as the guard.
pub fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("writing a temporary file");
    (dir, path)
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}
