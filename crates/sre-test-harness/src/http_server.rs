//! A small HTTP/1.1 server for load tests, with knobs: `/delay/<ms>` answers after that
//! long, `/status/<code>` answers with that status, `/redirect/<code>?to=<location>`
//! answers with that status and `Location` (without `to`, its own URL: a loop), anything else answers 200 `ok`; every answer
//! waits while the server is stalled ([`HttpTestServer::stall`]). It counts the requests
//! it answered, logs their request lines and keeps the headers of the last one.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Default)]
struct State {
    answered: AtomicU64,
    stalled_until: Mutex<Option<Instant>>,
    last_headers: Mutex<Vec<(String, String)>>,
    /// The first [`LOG_LIMIT`] requests.
    log: Mutex<Vec<Logged>>,
}

/// Requests logged at most (a long load test must not grow the log without bound).
pub const LOG_LIMIT: usize = 100_000;

/// A request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// `METHOD /path?query`.
    pub line: String,
    /// It carried a body.
    pub body: bool,
    /// It carried an `Authorization` header.
    pub authorization: bool,
    /// Its `Host` header.
    pub host: String,
}

/// The running server; stops when dropped.
pub struct HttpTestServer {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpTestServer {
    /// Starts on a loopback port with two worker threads.
    pub fn start() -> HttpTestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .unwrap_or_else(|e| panic!("cannot bind the HTTP test server: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the tokio runtime: {e}"));
        let state = Arc::new(State::default());
        let (shutdown, rx) = watch::channel(false);
        let st = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            runtime.block_on(serve(listener, st, rx));
            runtime.shutdown_timeout(Duration::from_secs(1));
        });
        HttpTestServer {
            addr,
            state,
            shutdown,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests answered so far.
    pub fn answered(&self) -> u64 {
        self.state.answered.load(Ordering::SeqCst)
    }

    /// Holds every answer (in flight and new) until `duration` from now.
    pub fn stall(&self, duration: Duration) {
        if let Ok(mut s) = self.state.stalled_until.lock() {
            *s = Some(Instant::now() + duration);
        }
    }

    /// The requests so far (the first [`LOG_LIMIT`]).
    pub fn request_log(&self) -> Vec<Logged> {
        self.state.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The headers of the last request, names lowercased.
    pub fn last_headers(&self) -> Vec<(String, String)> {
        self.state
            .last_headers
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default()
    }
}

impl Drop for HttpTestServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let stream = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            accepted = listener.accept() => match accepted {
                Ok((s, _)) => s,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(handle(req, &state).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        });
    }
}

async fn handle(req: Request<hyper::body::Incoming>, state: &State) -> Response<Full<Bytes>> {
    if let Ok(mut h) = state.last_headers.lock() {
        *h = req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
    }
    let path = req.uri().path().to_string();
    let line = format!(
        "{} {}",
        req.method(),
        req.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let query = req.uri().query().unwrap_or_default().to_string();
    let authorization = req.headers().contains_key("authorization");
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = http_body_util::BodyExt::collect(req.into_body())
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if let Ok(mut l) = state.log.lock() {
        if l.len() < LOG_LIMIT {
            l.push(Logged {
                line: line.clone(),
                body: !body.is_empty(),
                authorization,
                host,
            });
        }
    }
    let mut status = 200;
    let mut location = None;
    if let Some(ms) = path
        .strip_prefix("/delay/")
        .and_then(|v| v.parse::<u64>().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    } else if let Some(code) = path
        .strip_prefix("/status/")
        .and_then(|v| v.parse::<u16>().ok())
    {
        status = code;
    } else if let Some(code) = path
        .strip_prefix("/redirect/")
        .and_then(|v| v.parse::<u16>().ok())
    {
        status = code;
        location = Some(
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "to")
                .map_or_else(
                    || line.split_once(' ').map_or("/", |(_, p)| p).to_string(),
                    |(_, v)| v.into_owned(),
                ),
        );
    }
    loop {
        let until = state.stalled_until.lock().ok().and_then(|s| *s);
        match until {
            Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
            _ => break,
        }
    }
    state.answered.fetch_add(1, Ordering::SeqCst);
    let mut answer = Response::builder().status(status);
    if let Some(l) = location {
        answer = answer.header("location", l);
    }
    answer
        .body(Full::new(Bytes::from_static(b"ok\n")))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::from_static(b"bad status\n"))))
}
