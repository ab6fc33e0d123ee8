//! Running a binary as a process, the way a user or a script runs it.
//!
//! [`Cli`] is a builder around [`std::process::Command`] with two differences that matter for
//! tests: standard input is never a terminal (it is empty unless [`Cli::stdin`] gives bytes),
//! and a run that takes longer than its timeout is killed and reported instead of hanging the
//! test suite.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long [`Cli::run`] waits for the process before killing it, unless [`Cli::timeout`] says
/// otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// What a finished process left behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliOutput {
    /// The exit code, or `None` when a signal ended the process.
    pub status: Option<i32>,
    /// Standard output, decoded as UTF-8 (invalid bytes replaced).
    pub stdout: String,
    /// Standard error, decoded as UTF-8 (invalid bytes replaced).
    pub stderr: String,
}

impl CliOutput {
    /// Whether the process exited with code 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// Panics, showing both streams, unless the process exited with `code`.
    #[track_caller]
    pub fn assert_status(&self, code: i32) -> &Self {
        assert!(
            self.status == Some(code),
            "expected exit code {code}, got {self}"
        );
        self
    }

    /// Panics, showing both streams, unless the process exited with code 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_status(0)
    }
}

impl fmt::Display for CliOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(code) => writeln!(f, "exit code {code}")?,
            None => writeln!(f, "no exit code (ended by a signal)")?,
        }
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

/// A process to run: program, arguments, environment, directory, input and timeout.
///
/// The environment is inherited from the test process apart from the changes made with
/// [`Cli::env`] and [`Cli::env_remove`]. A `Cli` can be run more than once.
#[derive(Clone, Debug)]
pub struct Cli {
    program: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, Option<OsString>)>,
    current_dir: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
}

impl Cli {
    /// A run of `program`: a path, or a bare name looked up on `PATH`.
    pub fn new(program: impl AsRef<Path>) -> Self {
        Self {
            program: program.as_ref().to_path_buf(),
            args: Vec::new(),
            envs: Vec::new(),
            current_dir: None,
            stdin: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Appends several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Sets an environment variable for the process.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs.push((
            key.as_ref().to_os_string(),
            Some(value.as_ref().to_os_string()),
        ));
        self
    }

    /// Removes an environment variable the process would otherwise inherit.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.envs.push((key.as_ref().to_os_string(), None));
        self
    }

    /// Runs the process in `dir` instead of the test's working directory.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.current_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Feeds `bytes` to standard input, then closes it. Without this, standard input is empty
    /// (`/dev/null`), so the process never sees a terminal.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Kills the process and fails the test if it runs longer than `timeout`
    /// (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs the process to completion and returns its exit code and output.
    ///
    /// # Panics
    ///
    /// If the process cannot be started, or if it is still running after the timeout (it is
    /// killed first; the message shows the command and the output so far).
    #[track_caller]
    pub fn run(&self) -> CliOutput {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        for (key, value) in &self.envs {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        if let Some(dir) = &self.current_dir {
            cmd.current_dir(dir);
        }
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());

        let started = Instant::now();
        let deadline = started + self.timeout;
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", self.describe()));
        let pid = child.id();

        if let (Some(mut pipe), Some(bytes)) = (child.stdin.take(), self.stdin.clone()) {
            // A process that exits without reading its input makes this write fail with a
            // broken pipe; that is the process's business, not an error of the harness.
            thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        let stdout = Capture::start(child.stdout.take());
        let stderr = Capture::start(child.stderr.take());

        let mut pause = Duration::from_millis(1);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => panic!("cannot wait for `{}` (pid {pid}): {e}", self.describe()),
            }
            if Instant::now() >= deadline {
                // Killing a process that has just exited fails harmlessly; wait() reaps it
                // either way so no zombie is left behind.
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "timed out after {:?}, killed pid {pid}: `{}`\n--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
                    self.timeout,
                    self.describe(),
                    stdout.so_far(),
                    stderr.so_far(),
                );
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        };

        // The pipes close when the last process holding them exits; a background process the
        // program left running would keep them open, which the deadline also covers.
        let grace = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        let (stdout, stderr) = match (stdout.finish(grace), stderr.finish(grace)) {
            (Some(out), Some(err)) => (out, err),
            _ => panic!(
                "`{}` exited ({status}) but its output pipes stayed open for {grace:?}: \
                 a process it started still holds them",
                self.describe()
            ),
        };
        CliOutput {
            status: status.code(),
            stdout,
            stderr,
        }
    }

    /// The command line as a shell would show it, for failure messages.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(dir) = &self.current_dir {
            parts.push(format!("cd {} &&", quote(dir.as_os_str())));
        }
        if !self.envs.is_empty() {
            // env(1) wants its options before the assignments.
            parts.push("env".to_owned());
            for (key, _) in self.envs.iter().filter(|(_, value)| value.is_none()) {
                parts.push(format!("-u {}", quote(key)));
            }
            for (key, value) in &self.envs {
                if let Some(value) = value {
                    parts.push(format!("{}={}", key.to_string_lossy(), quote(value)));
                }
            }
        }
        parts.push(quote(self.program.as_os_str()));
        parts.extend(self.args.iter().map(|a| quote(a)));
        parts.join(" ")
    }
}

/// Quotes `s` for a shell when it holds anything but plain characters.
fn quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A pipe read to its end on a thread, with what has arrived so far visible at any time.
struct Capture {
    buffer: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Capture {
    fn start(pipe: Option<impl Read + Send + 'static>) -> Self {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = mpsc::channel();
        let sink = Arc::clone(&buffer);
        thread::spawn(move || {
            if let Some(mut pipe) = pipe {
                let mut chunk = [0u8; 8192];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => lock(&sink).extend_from_slice(&chunk[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            }
            let _ = tx.send(());
        });
        Self { buffer, done }
    }

    fn so_far(&self) -> String {
        String::from_utf8_lossy(&lock(&self.buffer)).into_owned()
    }

    /// Waits up to `timeout` for the pipe to close; `None` if it stays open.
    fn finish(self, timeout: Duration) -> Option<String> {
        self.done.recv_timeout(timeout).ok()?;
        Some(self.so_far())
    }
}

/// Locks a buffer even if a reader thread panicked while holding it.
fn lock(buffer: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    buffer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The workspace's root directory (the one holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    // This crate lives at <root>/crates/sre-test-harness.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .expect("sre-test-harness lives two levels below the workspace root")
}

/// Replaces every occurrence of each `from` with its `to`, so that output holding temporary
/// paths, ports or durations can be compared with a snapshot.
///
/// Longer patterns are replaced first, so a temporary directory and a file inside it can both
/// be given in any order. Empty patterns are ignored.
///
/// ```
/// use sre_test_harness::normalize;
///
/// let out = "wrote /tmp/abc/report.json (port 41234)";
/// let got = normalize(out, &[("/tmp/abc", "[DIR]"), ("41234", "[PORT]")]);
/// assert_eq!(got, "wrote [DIR]/report.json (port [PORT])");
/// ```
pub fn normalize(s: &str, replacements: &[(&str, &str)]) -> String {
    let mut ordered: Vec<&(&str, &str)> = replacements
        .iter()
        .filter(|(from, _)| !from.is_empty())
        .collect();
    ordered.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
    let mut out = s.to_owned();
    for (from, to) in ordered {
        out = out.replace(from, to);
    }
    out
}

/// Runs a CLI entry point in-process: `run` gets a stdout and a stderr buffer and returns
/// the exit code. Far cheaper than a process per case, for tests of many small inputs; the
/// process runner ([`Cli`]) remains the test of the real binary (argv[0], exit status,
/// pipes).
///
/// ```
/// use std::io::Write;
/// let out = sre_test_harness::cli::in_process(|stdout, stderr| {
///     writeln!(stdout, "hello").ok();
///     writeln!(stderr, "careful").ok();
///     1
/// });
/// assert_eq!((out.status, out.stdout.as_str(), out.stderr.as_str()), (Some(1), "hello\n", "careful\n"));
/// ```
pub fn in_process(run: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> i32) -> CliOutput {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let status = run(&mut stdout, &mut stderr);
    CliOutput {
        status: Some(status),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_replaces_longest_first_and_ignores_empty() {
        let got = normalize(
            "/tmp/a and /tmp/a/b",
            &[("/tmp/a", "[A]"), ("/tmp/a/b", "[B]"), ("", "x")],
        );
        assert_eq!(got, "[A] and [B]");
    }

    #[test]
    fn describe_quotes_what_a_shell_would_split() {
        let cli = Cli::new("sh")
            .args(["-c", "echo 'hi' there"])
            .env("A", "1")
            .env_remove("B");
        assert_eq!(
            cli.describe(),
            r"env -u B A=1 sh -c 'echo '\''hi'\'' there'"
        );
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml"))
            .expect("root Cargo.toml is readable");
        assert!(manifest.contains("[workspace]"));
    }
}
