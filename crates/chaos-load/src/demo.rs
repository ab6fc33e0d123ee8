//! What `sre demo` runs for chaos-load: a short load against a tiny server it starts on
//! loopback, with a threshold, and a tiny experiment through the fault proxy in front of
//! it, so the demo needs no network and nothing installed.

use crate::cli::{measure, Measured, RunArgs};
use clap::Parser;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Answers every request on a kept-alive connection with `200 ok` after about a
/// millisecond (every 50th with `503`), until the process ends. A demo fixture, not a
/// server: it reads request heads only.
fn start_demo_server() -> std::io::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        rt.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            let served = std::rc::Rc::new(std::cell::Cell::new(0u64));
            let local = tokio::task::LocalSet::new();
            local
                .run_until(async move {
                    while let Ok((mut s, _)) = listener.accept().await {
                        let served = std::rc::Rc::clone(&served);
                        tokio::task::spawn_local(async move {
                            let mut buf = vec![0u8; 8192];
                            let mut have = 0;
                            loop {
                                let Ok(n) = s.read(&mut buf[have..]).await else { return };
                                if n == 0 {
                                    return;
                                }
                                have += n;
                                while let Some(end) =
                                    buf[..have].windows(4).position(|w| w == b"\r\n\r\n")
                                {
                                    buf.copy_within(end + 4..have, 0);
                                    have -= end + 4;
                                    // This request's number, taken before the
                                    // sleep (others count on meanwhile).
                                    let n = served.get() + 1;
                                    served.set(n);
                                    tokio::time::sleep(Duration::from_millis(1)).await;
                                    let answer: &[u8] = if n.is_multiple_of(50) {
                                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 12\r\n\r\nunavailable\n"
                                    } else {
                                        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
                                    };
                                    if s.write_all(answer).await.is_err() {
                                        return;
                                    }
                                }
                                if have == buf.len() {
                                    return;
                                }
                            }
                        });
                    }
                })
                .await;
        });
    });
    Ok(addr)
}

#[derive(Parser)]
struct DemoCli {
    #[command(flatten)]
    run: RunArgs,
}

/// One second of 8 connections against the demo server, with `p99<250ms` and
/// `errors<1%` thresholds (the server fails 2%, so the second one is not met).
pub fn run() -> anyhow::Result<Measured> {
    let addr = start_demo_server()?;
    let url = format!("http://{addr}/");
    let cli = DemoCli::try_parse_from([
        "demo",
        "--url",
        &url,
        "-d",
        "1s",
        "-c",
        "8",
        "--threads",
        "1",
        "--threshold",
        "p99<250ms",
        "--threshold",
        "errors<1%",
    ])?;
    measure(&cli.run, crate::cli::LiveView::Quiet, false)
}

/// A tiny experiment against the demo server, through the fault proxy: one second of
/// steady state, one with 20% of 503s and 50 ms of latency, two of recovery, at 100
/// requests/s.
pub fn experiment() -> anyhow::Result<(Measured, crate::experiment::ExperimentResult)> {
    let addr = start_demo_server()?;
    let e = crate::experiment::Experiment::parse(&format!(
        "name: demo\nproxy: {{upstream: 'http://{addr}'}}\nload: {{rate: 100, concurrency: 8}}\nseed: 1\nphases:\n  - {{name: steady, duration: 1s}}\n  - name: faults\n    duration: 1s\n    faults: [{{type: error, rate: 0.2, status: 503}}, {{type: latency, latency: 50ms}}]\n  - {{name: recovery, duration: 2s}}\nabort: {{errorRate: 80%, window: 1s}}\n"
    ))
    .map_err(anyhow::Error::msg)?;
    crate::experiment::run(&e, crate::engine::StopSignal::new())
}
