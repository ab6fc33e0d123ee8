use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sre_test_harness::{prometheus, Ready, Service, ServiceSpec};

use crate::{assert_process_gone, expect_panic};

#[test]
fn prometheus_answers_a_query() {
    let prom = prometheus(None, &[]);
    let answer = prom.get_json("/api/v1/query?query=1%2B1");
    assert_eq!(answer["status"], "success", "{answer}");
    assert_eq!(answer["data"]["resultType"], "scalar", "{answer}");
    assert_eq!(answer["data"]["result"][1], "2", "{answer}");
    assert!(prom.dir().join("prom.yml").is_file());
    assert_eq!(prom.url(), format!("http://127.0.0.1:{}", prom.port()));
    assert_eq!(prom.addr().port(), prom.port());
}

#[test]
fn concurrent_instances_get_their_own_port_and_directory() {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| prometheus(None, &[]));
        let b = s.spawn(|| prometheus(None, &[]));
        (a.join(), b.join())
    });
    let (a, b) = (
        a.unwrap_or_else(|e| std::panic::resume_unwind(e)),
        b.unwrap_or_else(|e| std::panic::resume_unwind(e)),
    );
    assert_ne!(a.port(), b.port());
    assert_ne!(a.dir(), b.dir());
    assert_ne!(a.pid(), b.pid());
    for prom in [&a, &b] {
        assert_eq!(prom.get("/-/ready").0, 200);
    }
}

#[test]
fn drop_kills_the_process_and_removes_its_directory() {
    let prom = prometheus(None, &[]);
    let (pid, dir) = (prom.pid(), prom.dir().to_path_buf());
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(prom);
    assert_process_gone(pid);
    assert!(!dir.exists(), "{} still exists", dir.display());
}

#[test]
fn a_service_not_ready_in_time_is_killed_and_reported() {
    // sleep never listens, so it can never be ready.
    let message = expect_panic(|| {
        Service::start(
            ServiceSpec::new("sleep", "coreutils")
                .arg("100")
                .ready(Ready::http("/"))
                .startup_timeout(Duration::from_millis(200)),
        )
    });
    assert!(message.contains("was not ready within 200ms"), "{message}");
    assert!(message.contains("command: "), "{message}");
    assert_process_gone(pid_in(&message));
}

#[test]
fn a_panicking_test_still_kills_its_service() {
    let recorded = Mutex::new(None);
    let message = expect_panic(|| {
        let prom = prometheus(None, &[]);
        *recorded.lock().unwrap_or_else(PoisonError::into_inner) = Some(prom.pid());
        panic!("the test failed while prometheus ran");
    });
    assert!(message.contains("the test failed"), "{message}");
    let pid = recorded
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .expect("prometheus started");
    assert_process_gone(pid);
}

#[test]
fn a_service_that_exits_is_reported_with_its_log_and_status() {
    let started = Instant::now();
    let message = expect_panic(|| {
        Service::start(
            ServiceSpec::new("sh", "dash")
                .args(["-c", "echo starting on {port}; echo boom >&2; exit 7"]),
        )
    });
    assert!(
        message.contains("exited (exit status: 7) before it was ready"),
        "{message}"
    );
    assert!(message.contains("boom"), "{message}");
    assert!(message.contains("starting on "), "{message}");
    assert!(
        !message.contains("{port}"),
        "placeholder not filled: {message}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn tcp_readiness_and_placeholders() {
    // python3 is a test dependency of the project; its http.server is a small real server.
    let service = Service::start(
        ServiceSpec::new("python3", "python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "--directory",
                "{dir}/site",
                "{port}",
            ])
            .file("site/hello.txt", "port {port}\n"),
    );
    let (status, body) = service.get("/hello.txt");
    assert_eq!(status, 200);
    assert_eq!(body, format!("port {}\n", service.port()));
    assert_eq!(service.get("/missing").0, 404);
}

/// The pid in a failure message of `Service::start`: "... (pid N, port P) ...".
fn pid_in(message: &str) -> u32 {
    message
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in: {message}"))
}
