//! Running the load: worker threads, connections, the closed and open models.
//!
//! `--threads` OS threads each run a single-threaded tokio runtime with their share of the
//! `--concurrency` connections (like wrk's per-thread event loops: no work stealing, no
//! cross-thread wake-ups) and record into their own [`Recorder`]. Shared state is a few
//! atomics: the request budget (`-n`) or the open model's send counter, and the stop flag.
//!
//! - **Closed model** (default): each connection sends its next request as soon as the
//!   previous answer is in; latency runs from the send to the answer.
//! - **Open model** (`--rate`, `--stages`): send k is due at the schedule's time t_k, and
//!   connections take the due sends in order. A send that cannot start on time (all
//!   connections busy: the server is slow) starts late, and its latency still runs from
//!   t_k: this is the coordinated-omission correction of wrk2. A connection that was idle
//!   when its send came due starts it on the timer (about a millisecond of jitter, the
//!   generator's, not the server's), and then latency runs from the actual send. The
//!   uncorrected latency (always from the actual send) is kept too. Sends still due when
//!   the run ends are `dropped`.

use crate::http1::{self, Target};
use crate::schedule::Schedule;
use crate::stats::{ErrorKind, Recorder};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a run lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// `-d`: stop sending after this long.
    Duration(Duration),
    /// `-n`: send exactly this many requests.
    Requests(u64),
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Arc<Target>,
    pub concurrency: usize,
    pub threads: usize,
    pub stop: Stop,
    /// `Some` for the open model.
    pub schedule: Option<Arc<Schedule>>,
    pub timeout: Duration,
    /// `--jtl`: a JMeter CSV row per request.
    pub jtl: Option<Jtl>,
    /// `--metrics-addr`: live counters for the Prometheus endpoint.
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
    /// The URL as given (the base URL with a scenario).
    pub url: String,
    /// `--scenario`: the requests to pick from, instead of the target's one request.
    pub scenario: Option<ScenarioTarget>,
    /// `--redirects` above 0: how to follow them.
    pub follow: Option<Arc<crate::redirect::Follow>>,
    /// `--streams`: HTTP/2 requests in flight on each connection (1 otherwise).
    pub streams: usize,
}

/// A scenario with what its requests need from the URL.
#[derive(Debug, Clone)]
pub struct ScenarioTarget {
    pub scenario: Arc<crate::scenario::Scenario>,
    pub host_header: String,
    /// The base URL's path without a trailing `/`.
    pub base_path: String,
    pub close: bool,
}

/// Where the JTL rows go, and what they name.
#[derive(Debug, Clone)]
pub struct Jtl {
    pub path: std::path::PathBuf,
    pub label: String,
    pub url: String,
}

/// A thread's JTL rows, written to `PATH.part-N` as they fill a buffer.
struct JtlPart {
    file: std::fs::File,
    buf: Vec<u8>,
    rows: u64,
    /// Rows that could not be written.
    lost: u64,
    thread: String,
}

impl JtlPart {
    /// Writes the buffered rows; on failure they are counted as lost, never retried (the
    /// buffer stays bounded and the run goes on).
    fn flush(&mut self) {
        use std::io::Write as _;
        if self.file.write_all(&self.buf).is_err() {
            self.lost += self.rows;
        }
        self.buf.clear();
        self.rows = 0;
    }
}

fn part_path(jtl: &Jtl, thread: usize) -> std::path::PathBuf {
    let mut p = jtl.path.clone().into_os_string();
    p.push(format!(".part-{thread}"));
    p.into()
}

/// What a run measured.
#[derive(Debug)]
pub struct Outcome {
    pub recorder: Recorder,
    /// From the start to the last completion.
    pub elapsed: Duration,
    /// Open model: sends due in the run, and how many never started.
    pub due: u64,
    pub dropped: u64,
    /// Stopped by Ctrl-C or SIGTERM before the end.
    pub interrupted: bool,
    /// When the run started (for the time columns of the CSV reports).
    pub started_at: std::time::SystemTime,
    /// Why the JTL file is incomplete or missing, if it is.
    pub jtl_error: Option<String>,
}

struct Shared {
    plan: Plan,
    /// Turns true on Ctrl-C: sleeping and in-flight requests stop at once.
    stop_rx: tokio::sync::watch::Receiver<bool>,
    start: Instant,
    /// `start` as milliseconds since 1970 (JTL time stamps).
    start_ms: u128,
    /// Requests handed out so far (the budget of `-n`, or the open model's send index).
    issued: AtomicU64,
    stop: Arc<AtomicBool>,
}

impl Shared {
    fn deadline(&self) -> Option<Instant> {
        match (self.plan.stop, &self.plan.schedule) {
            (Stop::Duration(d), _) => Some(self.start + d),
            (Stop::Requests(_), Some(s)) => Some(self.start + s.duration()),
            (Stop::Requests(_), None) => None,
        }
    }

    /// The next request to send, with its intended time in the open model; `None` when
    /// the run is over.
    /// `now` is the caller's latest reading of the clock (the end of its previous request):
    /// one clock read less per request on the hot path.
    fn next(&self, now: Instant) -> Option<Option<Instant>> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let k = self.issued.fetch_add(1, Ordering::Relaxed);
        if let Stop::Requests(n) = self.plan.stop {
            if k >= n {
                return None;
            }
        }
        match &self.plan.schedule {
            Some(s) => {
                let at = self.start + s.offset(k)?;
                // Nothing is sent once the run's time is up, however much is still due:
                // what is left counts as dropped.
                if self
                    .deadline()
                    .is_some_and(|d| at >= d || Instant::now() >= d)
                {
                    return None;
                }
                Some(Some(at))
            }
            None => {
                if self.deadline().is_some_and(|d| now >= d) {
                    return None;
                }
                Some(None)
            }
        }
    }

    fn second(&self, at: Instant) -> usize {
        at.saturating_duration_since(self.start).as_secs() as usize
    }
}

/// Ends a run early (Ctrl-C): the flag is checked before each request, the channel wakes
/// connections that sleep or wait for an answer.
#[derive(Debug, Clone)]
pub struct StopSignal {
    pub flag: Arc<AtomicBool>,
    pub tx: Arc<tokio::sync::watch::Sender<bool>>,
}

impl StopSignal {
    pub fn new() -> StopSignal {
        StopSignal {
            flag: Arc::new(AtomicBool::new(false)),
            tx: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }

    /// Stops the run.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::Relaxed);
        self.tx.send_replace(true);
    }

    /// Stops the run on Ctrl-C or SIGTERM (a thread of its own waits for them); a second
    /// one ends the process (exit 130). The handler stays for the rest of the process, so
    /// only a command that ends after its report installs it.
    pub fn on_signals(&self) {
        let stop = self.clone();
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(sre_cli::signal::terminated());
                stop.stop();
                rt.block_on(sre_cli::signal::terminated());
                std::process::exit(130);
            }
        });
    }
}

impl Default for StopSignal {
    fn default() -> Self {
        StopSignal::new()
    }
}

/// Runs the plan; `stop` ends it early (Ctrl-C).
pub fn run(plan: Plan, stop: StopSignal) -> std::io::Result<Outcome> {
    let started_at = std::time::SystemTime::now();
    let threads = plan.threads.clamp(1, plan.concurrency.max(1));
    let shared = Arc::new(Shared {
        plan,
        start_ms: started_at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis()),
        start: Instant::now(),
        issued: AtomicU64::new(0),
        stop_rx: stop.tx.subscribe(),
        stop: stop.flag,
    });
    let mut handles = Vec::with_capacity(threads);
    for t in 0..threads {
        let c = shared.plan.concurrency;
        // Connections spread evenly: the first `c % threads` threads take one more.
        let mine = c / threads + usize::from(t < c % threads);
        let shared = Arc::clone(&shared);
        handles.push(
            std::thread::Builder::new()
                .name(format!("load-{t}"))
                .spawn(move || worker_thread(&shared, mine, t))?,
        );
    }
    let mut recorder = Recorder::default();
    let mut last = shared.start;
    let mut jtl_lost = 0;
    for h in handles {
        let (r, finished, lost) = h
            .join()
            .map_err(|_| std::io::Error::other("a load worker thread panicked"))??;
        recorder.merge(&r);
        last = last.max(finished);
        jtl_lost += lost;
    }
    let mut jtl_error = (jtl_lost > 0)
        .then(|| format!("{jtl_lost} JTL rows could not be written (disk full or not writable?)"));
    if let Some(jtl) = &shared.plan.jtl {
        if let Err(e) = join_jtl(jtl, threads) {
            jtl_error = Some(format!("cannot write {}: {e}", jtl.path.display()));
        }
    }
    let interrupted = shared.stop.load(Ordering::Relaxed);
    let (due, dropped) = match &shared.plan.schedule {
        Some(s) => {
            let due = match shared.plan.stop {
                Stop::Requests(n) => s.total_sends().min(n),
                Stop::Duration(d) => {
                    // Interrupted: what was due until then.
                    let d = if interrupted {
                        d.min(last.saturating_duration_since(shared.start))
                    } else {
                        d
                    };
                    // Sends due before the end of the run: the first k due at or after
                    // `d` (offsets only grow with k, so a binary search finds it).
                    let (mut lo, mut hi) = (0, s.total_sends());
                    while lo < hi {
                        let mid = lo + (hi - lo) / 2;
                        if s.offset(mid).is_none_or(|t| t >= d) {
                            hi = mid;
                        } else {
                            lo = mid + 1;
                        }
                    }
                    lo
                }
            };
            let started = recorder.answers() + recorder.error_count();
            (due, due.saturating_sub(started))
        }
        None => (0, 0),
    };
    Ok(Outcome {
        recorder,
        elapsed: last.saturating_duration_since(shared.start),
        due,
        dropped,
        interrupted,
        started_at,
        jtl_error,
    })
}

/// Writes the JTL file: the header, then every thread's part; atomically (a temporary file
/// renamed over the target), the parts removed.
fn join_jtl(jtl: &Jtl, threads: usize) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut tmp = jtl.path.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    out.write_all(crate::csv::JTL_HEADER.as_bytes())?;
    for t in 0..threads {
        let part = part_path(jtl, t);
        if let Ok(mut f) = std::fs::File::open(&part) {
            std::io::copy(&mut f, &mut out)?;
        }
        let _ = std::fs::remove_file(&part);
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, &jtl.path)
}

fn worker_thread(
    shared: &Arc<Shared>,
    connections: usize,
    index: usize,
) -> std::io::Result<(Recorder, Instant, u64)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let jtl = match &shared.plan.jtl {
        Some(j) => Some(Rc::new(RefCell::new(JtlPart {
            file: std::fs::File::create(part_path(j, index))?,
            buf: Vec::with_capacity(1 << 16),
            rows: 0,
            lost: 0,
            thread: format!("load-{index}"),
        }))),
        None => None,
    };
    let recorder = Rc::new(RefCell::new(Recorder::default()));
    let last = Rc::new(RefCell::new(shared.start));
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        // `--streams S`: S tasks per connection, sharing it (HTTP/2 only).
        let streams = shared.plan.streams.max(1);
        let mut tasks = Vec::with_capacity(connections * streams);
        for _ in 0..connections {
            let slot: Option<Rc<SharedH2>> = (streams > 1).then(|| Rc::new(SharedH2::default()));
            for _ in 0..streams {
                let (shared, recorder, last) =
                    (Arc::clone(shared), Rc::clone(&recorder), Rc::clone(&last));
                let (jtl, slot) = (jtl.clone(), slot.clone());
                tasks.push(tokio::task::spawn_local(async move {
                    connection(&shared, &recorder, &last, jtl.as_deref(), slot.as_deref()).await;
                }));
            }
        }
        // Ctrl-C: one watcher per thread aborts its connections wherever they wait (a
        // sleep, a connect, an answer): what is in flight is abandoned, not counted. No
        // cost per request, unlike a stop check in every await.
        let aborts: Vec<tokio::task::AbortHandle> = tasks
            .iter()
            .map(tokio::task::JoinHandle::abort_handle)
            .collect();
        let mut stop_rx = shared.stop_rx.clone();
        let watcher = tokio::task::spawn_local(async move {
            if stop_rx.wait_for(|s| *s).await.is_ok() {
                for a in aborts {
                    a.abort();
                }
            }
        });
        for t in tasks {
            let _ = t.await;
        }
        watcher.abort();
    });
    let lost = match &jtl {
        Some(j) => {
            let mut j = j.borrow_mut();
            j.flush();
            j.lost
        }
        None => 0,
    };
    let r = recorder.borrow().clone();
    let l = *last.borrow();
    Ok((r, l, lost))
}

/// An HTTP/2 connection shared by the tasks of `--streams`; the lock makes one of them
/// open it while the others wait for it (instead of each opening its own).
type SharedH2 = tokio::sync::Mutex<Option<crate::h2::Conn>>;

/// A connection for a task: its own, or with `--streams` a handle on the shared one (opened
/// again if the server closed it); counted in `connections` when opened.
async fn open(
    target: &Target,
    slot: Option<&SharedH2>,
    recorder: &RefCell<Recorder>,
) -> Result<AnyConn, ErrorKind> {
    let Some(slot) = slot else {
        let c = AnyConn::connect(target).await?;
        recorder.borrow_mut().connections += 1;
        return Ok(c);
    };
    let mut shared = slot.lock().await;
    if let Some(c) = shared.as_ref().filter(|c| !c.is_closed()) {
        let mut handle = c.clone();
        handle.closed = false;
        handle.location = None;
        return Ok(AnyConn::H2(handle));
    }
    let c = crate::h2::connect(target).await?;
    recorder.borrow_mut().connections += 1;
    *shared = Some(c.clone());
    Ok(AnyConn::H2(c))
}

/// An HTTP/1.1 or HTTP/2 connection.
enum AnyConn {
    H1(http1::Conn),
    H2(crate::h2::Conn),
}

impl AnyConn {
    async fn connect(t: &Target) -> Result<AnyConn, ErrorKind> {
        Ok(if t.http2.is_some() {
            AnyConn::H2(crate::h2::connect(t).await?)
        } else {
            AnyConn::H1(http1::connect(t).await?)
        })
    }

    /// Sends the target's request, or `bytes` (a scenario's or a redirect's HTTP/1.1
    /// request, turned into HTTP/2 on an HTTP/2 connection).
    async fn exchange(
        &mut self,
        t: &Target,
        bytes: Option<(&[u8], bool)>,
    ) -> Result<http1::Answer, ErrorKind> {
        match (self, bytes) {
            (AnyConn::H1(c), Some((b, head))) => c.exchange_bytes(b, head).await,
            (AnyConn::H1(c), None) => c.exchange(t).await,
            (AnyConn::H2(c), Some((b, _))) => {
                let scheme = if t.tls.is_some() { "https" } else { "http" };
                let r = crate::h2::Request::from_h1(b, scheme)
                    .map_err(|_| ErrorKind::InvalidRequest)?;
                c.exchange_request(&r).await
            }
            (AnyConn::H2(c), None) => c.exchange(t).await,
        }
    }

    /// The `Location` of the last answer, if it was a redirect.
    fn take_location(&mut self) -> Option<String> {
        match self {
            AnyConn::H1(c) => c.location.take(),
            AnyConn::H2(c) => c.location.take(),
        }
    }

    fn closed(&self) -> bool {
        match self {
            AnyConn::H1(c) => c.closed,
            AnyConn::H2(c) => c.closed || c.is_closed(),
        }
    }

    fn received(&self) -> u64 {
        match self {
            AnyConn::H1(c) => c.received,
            AnyConn::H2(c) => c.received,
        }
    }
}

/// What a request's redirects added: hops followed and their request bytes (recorded with
/// the request's outcome, and only if it has one).
#[derive(Debug, Default, Clone, Copy)]
struct Chain {
    hops: u64,
    bytes_out: u64,
}

/// Sends `bytes` (or the target's request) over `conn`, opening it if needed; a kept-alive
/// connection the server closed while it was idle fails before any byte of an answer: that
/// is not the server failing the request, so it is sent again once on a new connection (as
/// browsers and HTTP clients do).
async fn send(
    conn: &mut Option<AnyConn>,
    slot: Option<&SharedH2>,
    target: &Target,
    bytes: Option<(&[u8], bool)>,
    recorder: &RefCell<Recorder>,
) -> Result<http1::Answer, ErrorKind> {
    let reused = conn.is_some();
    if conn.is_none() {
        *conn = Some(open(target, slot, recorder).await?);
    }
    let c = conn.as_mut().ok_or(ErrorKind::Connect)?;
    let before = c.received();
    match c.exchange(target, bytes).await {
        Err(ErrorKind::Reset) if reused && c.received() == before => {
            let mut fresh = open(target, slot, recorder).await?;
            let answer = fresh.exchange(target, bytes).await;
            *conn = Some(fresh);
            answer
        }
        other => other,
    }
}

/// Follows the redirects after `answer` (to `first`): the answer at the end of the chain,
/// with the bytes of all its answers; hops to the target's origin go over `conn`.
#[allow(clippy::too_many_arguments)]
async fn follow(
    conn: &mut Option<AnyConn>,
    slot: Option<&SharedH2>,
    target: &Target,
    f: &crate::redirect::Follow,
    first: &[u8],
    mut answer: http1::Answer,
    recorder: &RefCell<Recorder>,
    chain: &mut Chain,
) -> Result<http1::Answer, ErrorKind> {
    let mut request = first.to_vec();
    // Where the request really went (its Host header may say otherwise).
    let mut from = f.base.clone();
    let mut location = conn.as_mut().and_then(AnyConn::take_location);
    while crate::redirect::is_redirect(answer.status) {
        // A redirect without a Location is the answer.
        let Some(loc) = location.take() else {
            break;
        };
        if chain.hops == u64::from(f.max) {
            return Err(ErrorKind::TooManyRedirects);
        }
        let hop = crate::redirect::next(&request, &from, answer.status, &loc)?;
        let (next, loc) = if hop.url.origin() == f.base.origin() {
            if conn.as_ref().is_some_and(|c| c.closed() || target.close) {
                *conn = None;
            }
            let next = send(conn, slot, target, Some((&hop.bytes, hop.head)), recorder).await?;
            (next, conn.as_mut().and_then(AnyConn::take_location))
        } else {
            f.left_origin(&hop.url);
            let other = f.target_for(&hop.url).await?;
            let mut c = http1::connect(&other).await?;
            recorder.borrow_mut().connections += 1;
            let next = c.exchange_bytes(&hop.bytes, hop.head).await?;
            (next, c.location.take())
        };
        chain.hops += 1;
        chain.bytes_out += hop.bytes.len() as u64;
        answer = http1::Answer {
            status: next.status,
            bytes: answer.bytes + next.bytes,
        };
        location = loc;
        from = hop.url;
        request = hop.bytes;
    }
    Ok(answer)
}

/// One connection's loop: take the next request, send it, record.
async fn connection(
    shared: &Shared,
    recorder: &RefCell<Recorder>,
    last: &RefCell<Instant>,
    jtl: Option<&RefCell<JtlPart>>,
    slot: Option<&SharedH2>,
) {
    let target = &shared.plan.target;
    let mut conn: Option<AnyConn> = None;
    let mut previous_done = Instant::now();
    // A scenario's pick: xorshift64*, seeded per connection (fast, and no lock).
    let mut rng = shared.issued.load(Ordering::Relaxed)
        ^ 0x9E37_79B9_7F4A_7C15
        ^ (recorder.as_ptr() as u64).rotate_left(17)
        ^ (std::ptr::from_ref(last) as u64);
    let mut next_random = move || {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    loop {
        // When this connection became free: if a send comes due after that, any delay in
        // starting it is the timer's (about a millisecond), not the server's, and latency
        // counts from the actual send; if it was due before, the server kept this
        // connection busy, and latency counts from when the send was due.
        // (The closed model needs no fresh reading: the end of the previous request will do.)
        let free_since = if shared.plan.schedule.is_some() {
            Instant::now()
        } else {
            previous_done
        };
        let Some(intended) = shared.next(free_since) else {
            break;
        };
        // (Ctrl-C aborts this task wherever it waits: see `worker_thread`.)
        if let Some(at) = intended {
            tokio::time::sleep_until(at.into()).await;
        }
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        // With a scenario: which request, and its bytes for this send.
        let step = shared.plan.scenario.as_ref().map(|sc| {
            let i = sc.scenario.pick(next_random());
            let common = crate::scenario::Common {
                host_header: &sc.host_header,
                base_path: &sc.base_path,
                close: sc.close,
            };
            (
                i,
                sc.scenario.request(i, &common),
                sc.scenario.steps[i].head,
            )
        });
        let bytes = step.as_ref().map(|(_, b, head)| (b.as_slice(), *head));
        let sent = Instant::now();
        let mut connect_time = Duration::ZERO;
        let mut chain = Chain::default();
        let exchange = tokio::time::timeout(shared.plan.timeout, async {
            let reused = conn.is_some();
            if conn.is_none() {
                conn = Some(open(target, slot, recorder).await?);
                connect_time = sent.elapsed();
            }
            let Some(c) = conn.as_mut() else {
                return Err(ErrorKind::Connect);
            };
            let before = c.received();
            let answer = match c.exchange(target, bytes).await {
                // A kept-alive connection the server closed while it was idle fails before
                // any byte of an answer: that is not the server failing the request.
                // Reconnect and send it again, once (as browsers and HTTP clients do).
                Err(ErrorKind::Reset) if reused && c.received() == before => {
                    let mut fresh = open(target, slot, recorder).await?;
                    let answer = fresh.exchange(target, bytes).await;
                    conn = Some(fresh);
                    answer
                }
                other => other,
            }?;
            match &shared.plan.follow {
                Some(f) if crate::redirect::is_redirect(answer.status) => {
                    let first = bytes.map_or(target.request.as_slice(), |(b, _)| b);
                    follow(
                        &mut conn, slot, target, f, first, answer, recorder, &mut chain,
                    )
                    .await
                }
                _ => Ok(answer),
            }
        });
        let result = exchange.await.unwrap_or(Err(ErrorKind::Timeout));
        let done = Instant::now();
        let at_second = shared.second(done);
        {
            let mut r = recorder.borrow_mut();
            if let Some(at) = intended {
                // Late only when the delay is not the timer's own.
                let delay = if at < free_since {
                    sent.saturating_duration_since(at)
                } else {
                    Duration::ZERO
                };
                r.send_delay(delay.as_micros() as u64);
            }
            match result {
                Ok(answer) => {
                    let actual = done.duration_since(sent).as_micros() as u64;
                    match intended {
                        Some(at) if at < free_since => {
                            let corrected = done.saturating_duration_since(at).as_micros() as u64;
                            r.answer(answer.status, corrected, Some(actual), at_second);
                        }
                        Some(_) => r.answer(answer.status, actual, Some(actual), at_second),
                        None => r.answer(answer.status, actual, None, at_second),
                    }
                    r.bytes_in += answer.bytes;
                    r.bytes_out += bytes.map_or(target.request.len(), |(b, _)| b.len()) as u64
                        + chain.bytes_out;
                    r.redirects += chain.hops;
                    if let Some((i, _, _)) = &step {
                        let corrected = match intended {
                            Some(at) if at < free_since => done.saturating_duration_since(at),
                            _ => done.duration_since(sent),
                        };
                        r.step_answer(*i, answer.status, corrected.as_micros() as u64);
                    }
                    if let Some(m) = &shared.plan.metrics {
                        let from = match intended {
                            Some(at) if at < free_since => at,
                            _ => sent,
                        };
                        m.answer(answer.status, done.saturating_duration_since(from));
                    }
                }
                Err(kind) => {
                    r.error(kind, at_second);
                    if let Some((i, _, _)) = &step {
                        r.step_error(*i);
                    }
                    if let Some(m) = &shared.plan.metrics {
                        m.error(kind);
                    }
                }
            }
        }
        if let (Some(j), Some(spec)) = (jtl, &shared.plan.jtl) {
            let mut guard = j.borrow_mut();
            let part: &mut JtlPart = &mut guard;
            let (code, failure) = match &result {
                Ok(a) => (
                    a.status.to_string(),
                    if a.status >= 400 { "HTTP error" } else { "" },
                ),
                Err(kind) => (kind.as_str().to_string(), kind.as_str()),
            };
            let row = crate::csv::JtlRow {
                at_ms: shared.start_ms + sent.saturating_duration_since(shared.start).as_millis(),
                elapsed_ms: done.duration_since(sent).as_millis(),
                label: &spec.label,
                code: &code,
                success: failure.is_empty(),
                failure,
                thread: &part.thread,
                bytes: result.as_ref().map_or(0, |a| a.bytes),
                sent: bytes.map_or(target.request.len(), |(b, _)| b.len()) as u64 + chain.bytes_out,
                threads: shared.plan.concurrency,
                url: &spec.url,
                connect_ms: connect_time.as_millis(),
            };
            crate::csv::jtl_row(&mut part.buf, &row);
            part.rows += 1;
            if part.buf.len() >= 1 << 16 {
                part.flush();
            }
        }
        previous_done = done;
        *last.borrow_mut() = done;
        let reusable =
            result.is_ok() && !target.close && conn.as_ref().is_some_and(|c| !c.closed());
        if !reusable {
            conn = None;
        }
        // Think time: the pause a user takes before the next request.
        if let Some(think) = shared.plan.scenario.as_ref().and_then(|s| s.scenario.think) {
            tokio::time::sleep(think).await;
        }
    }
}
