//! chaos-load's report formats, snapshot-tested on a fixed run (the live runs are tested
//! against real servers in the `sre` crate's tests).

use chaos_load::cli::{assemble, RunArgs, Shape};
use chaos_load::engine::{Outcome, Stop};
use chaos_load::stats::{ErrorKind, Recorder};
use clap::Parser;
use std::time::{Duration, UNIX_EPOCH};

#[derive(Parser)]
struct T {
    #[command(flatten)]
    run: RunArgs,
}

/// A fixed open-model run: 1,000 answers of 1 to 100 ms (a few 503s), 3 resets, some late
/// sends.
fn fixed(open: bool) -> chaos_load::cli::Measured {
    fixed_with_outcome(open).0
}

fn fixed_with_outcome(open: bool) -> (chaos_load::cli::Measured, Outcome) {
    let args = T::try_parse_from([
        "t",
        "--url",
        "http://user:pw@127.0.0.1:8080/api?x=1",
        "-c",
        "8",
        "--threads",
        "2",
        "--threshold",
        "p99<50ms",
        "--threshold",
        "errors<1%",
        "--threshold",
        "rps>10",
    ])
    .expect("args");
    let mut r = Recorder::default();
    for i in 0..1000u64 {
        let status = if i.is_multiple_of(100) { 503 } else { 200 };
        let us = 1_000 + (i * 997) % 99_000;
        r.answer(status, us, open.then_some(us / 2), (i / 100) as usize);
        r.bytes_in += 200;
        r.bytes_out += 80;
    }
    for _ in 0..3 {
        r.error(ErrorKind::Reset, 9);
    }
    if open {
        r.send_delay(40_000);
        r.send_delay(20_000);
    }
    r.connections = 11;
    let outcome = Outcome {
        recorder: r,
        elapsed: Duration::from_secs(10),
        due: if open { 1010 } else { 0 },
        dropped: if open { 7 } else { 0 },
        interrupted: false,
        started_at: UNIX_EPOCH + Duration::from_secs(1_709_294_400),
        jtl_error: None,
    };
    let shape = Shape {
        url: "http://user:pw@127.0.0.1:8080/api?x=1".into(),
        steps: Vec::new(),
        open,
        concurrency: 8,
        threads: 2,
        stop: Stop::Duration(Duration::from_secs(10)),
        requested: open.then_some(101.0),
    };
    let m = assemble(
        &args.run,
        &shape,
        &outcome,
        UNIX_EPOCH + Duration::from_secs(1_709_294_400),
    );
    (m, outcome)
}

#[test]
fn table_markdown_and_json_of_a_closed_run() {
    let m = fixed(false);
    insta::assert_snapshot!(
        "closed_table",
        chaos_load::text::table(&m.report, &m.summary, &m.checked)
    );
    insta::assert_snapshot!(
        "closed_markdown",
        chaos_load::text::markdown(&m.report, &m.summary, &m.checked)
    );
    insta::assert_snapshot!("closed_json", m.json().expect("json"));
}

#[test]
fn table_markdown_and_json_of_an_open_run() {
    let m = fixed(true);
    insta::assert_snapshot!(
        "open_table",
        chaos_load::text::table(&m.report, &m.summary, &m.checked)
    );
    insta::assert_snapshot!(
        "open_markdown",
        chaos_load::text::markdown(&m.report, &m.summary, &m.checked)
    );
    insta::assert_snapshot!("open_json", m.json().expect("json"));
    insta::assert_snapshot!("open_html", chaos_load::html::render(&m.report, &m.summary));
    // The URL's credentials are not shown.
    assert!(!m.json().expect("json").contains("pw@"));
}

#[test]
fn locust_csvs_of_a_fixed_run() {
    let (m, outcome) = fixed_with_outcome(false);
    insta::assert_snapshot!(
        "locust_stats",
        chaos_load::csv::locust_stats(&outcome, &m.summary, "GET", "/api?x=1")
    );
    insta::assert_snapshot!(
        "locust_history",
        chaos_load::csv::locust_history(&outcome, 8)
    );
    let mut row = Vec::new();
    chaos_load::csv::jtl_row(
        &mut row,
        &chaos_load::csv::JtlRow {
            at_ms: 1_709_294_400_000,
            elapsed_ms: 12,
            label: "POST /a,b",
            code: "reset",
            success: false,
            failure: "reset",
            thread: "load-0",
            bytes: 0,
            sent: 80,
            threads: 8,
            url: "http://h/a,b",
            connect_ms: 3,
        },
    );
    assert_eq!(
        String::from_utf8_lossy(&row),
        "1709294400000,12,\"POST /a,b\",reset,reset,load-0,text,false,reset,0,80,8,8,\"http://h/a,b\",12,0,3\n"
    );
}

/// A server that answers one request per connection and then closes it, without saying
/// `Connection: close` (as a server with a short keep-alive timeout looks to a client).
fn closing_server() -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut have = Vec::new();
            while !have.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => have.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            let _ = s.flush();
            // Close right after the answer (the stream drops here), as an idle timeout
            // would a moment later.
        }
    });
    addr
}

#[test]
fn a_keepalive_connection_closed_while_idle_is_reopened_not_counted_as_an_error() {
    let addr = closing_server();
    let url = format!("http://{addr}/");
    let args = T::try_parse_from(["t", "--url", &url, "-n", "20", "-c", "1", "--threads", "1"])
        .expect("args");
    let m =
        chaos_load::cli::measure(&args.run, chaos_load::cli::LiveView::Quiet, false).expect("run");
    assert_eq!(
        m.summary.status_codes.get("200"),
        Some(&20),
        "{:?}",
        m.summary
    );
    assert!(m.summary.errors.is_empty(), "{:?}", m.summary.errors);
    assert_eq!(m.summary.connections, 20);
}
