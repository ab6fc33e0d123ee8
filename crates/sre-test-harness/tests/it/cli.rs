use std::time::{Duration, Instant};

use sre_test_harness::{Cli, CliOutput};

use crate::{assert_process_gone, expect_panic};

#[test]
fn captures_exit_code_stdout_and_stderr() {
    let out = Cli::new("sh")
        .args(["-c", "echo out; echo err >&2; exit 3"])
        .run();
    assert_eq!(
        out,
        CliOutput {
            status: Some(3),
            stdout: "out\n".to_owned(),
            stderr: "err\n".to_owned(),
        }
    );
    assert!(!out.success());
    out.assert_status(3);
}

#[test]
fn stdin_is_empty_and_not_a_terminal_by_default() {
    let out = Cli::new("sh")
        .args([
            "-c",
            "if [ -t 0 ]; then echo tty; else echo no-tty; fi; cat",
        ])
        .run();
    out.assert_success();
    assert_eq!(out.stdout, "no-tty\n");
}

#[test]
fn feeds_stdin_bytes() {
    let out = Cli::new("cat").stdin("line 1\nline 2\n").run();
    out.assert_success();
    assert_eq!(out.stdout, "line 1\nline 2\n");
}

#[test]
fn sets_and_removes_environment_and_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Cli::new("sh")
        .args(["-c", "echo \"${SRE_A-unset} ${HOME-unset}\"; pwd -P"])
        .env("SRE_A", "one")
        .env_remove("HOME")
        .current_dir(dir.path())
        .run();
    out.assert_success();
    let real_dir = dir.path().canonicalize().expect("canonical temp dir");
    assert_eq!(out.stdout, format!("one unset\n{}\n", real_dir.display()));
}

#[test]
fn timeout_kills_the_process_and_says_what_ran() {
    let started = Instant::now();
    let message = expect_panic(|| {
        Cli::new("sleep")
            .arg("100")
            .timeout(Duration::from_millis(300))
            .run()
    });
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(message.contains("timed out after 300ms"), "{message}");
    assert!(message.contains("sleep 100"), "{message}");
    let pid: u32 = message
        .split("killed pid ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in: {message}"));
    assert_process_gone(pid);
}

#[test]
fn a_missing_program_panics_with_its_name() {
    let message = expect_panic(|| Cli::new("sre-no-such-program-xyz").run());
    assert!(message.contains("sre-no-such-program-xyz"), "{message}");
}
