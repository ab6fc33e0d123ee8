//! Integration tests of the harness itself, against real processes and a real Prometheus.
//!
//! One test binary with a module per area (see STYLE.md, "Tests").

mod cli;
mod kube;
mod program;
mod service;

use std::any::Any;
use std::path::Path;
use std::time::{Duration, Instant};

/// The message of a caught panic.
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => (*s).to_owned(),
            Err(_) => "<panic payload is not a string>".to_owned(),
        },
    }
}

/// Runs `f`, which must panic, and returns its message.
fn expect_panic<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> String {
    match std::panic::catch_unwind(f) {
        Ok(_) => panic!("expected a panic, but the call returned"),
        Err(payload) => panic_message(payload),
    }
}

/// Waits until process `pid` no longer exists, failing after a deadline.
fn assert_process_gone(pid: u32) {
    let proc_dir = format!("/proc/{pid}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&proc_dir).exists() {
        assert!(
            Instant::now() < deadline,
            "process {pid} still exists 10 s after it should have been killed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
