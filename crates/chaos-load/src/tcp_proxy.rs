//! `sre chaos-load proxy --tcp`: the fault proxy for any protocol over TCP (databases,
//! caches, brokers), in the manner of Toxiproxy's toxics.
//!
//! Faults are decided per connection (one draw per fault, from the seeded generator):
//! - `reset`: the connection is aborted with a TCP RST as soon as it is accepted.
//! - `timeout`: the connection is accepted and what the client sends is swallowed, with
//!   nothing passed on and nothing answered, until the fault ends; then it is closed.
//! - `latency` (and jitter): each chunk of data, both ways, waits that long.
//! - `bandwidth`: data, each way, is paced to the rate.
//! - `slicer`: data is written in slices of about `size` bytes, `delay` apart (clients
//!   and servers that assume a message arrives in one read break).
//! - `limitData`: the connection is closed once that many bytes have passed, both ways
//!   together.
//! - `down`: while it is in force the proxy does not listen: connecting is refused (the
//!   port is bound again when it ends); connections already open go on.

use crate::fault::{Connection, Faults, Outcome};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// How often the accept loop looks at `down` faults.
const DOWN_CHECK: Duration = Duration::from_millis(50);

/// Accepts connections on `local` (bound as `listener`) and passes them to `upstream`
/// with the faults in force, until the future is dropped.
pub async fn serve(
    local: SocketAddr,
    listener: TcpListener,
    upstream: Arc<Vec<SocketAddr>>,
    faults: Arc<Faults>,
) {
    let mut listener = Some(listener);
    faults.listening.store(true, Ordering::SeqCst);
    loop {
        // Registered before looking at the faults: a change made meanwhile still wakes us.
        let changed = faults.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if let Some(until) = faults.down() {
            // Down: no listener, so connecting is refused.
            listener = None;
            faults.listening.store(false, Ordering::SeqCst);
            let wait = until
                .saturating_duration_since(Instant::now())
                .min(DOWN_CHECK);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = &mut changed => {}
            }
            continue;
        }
        let Some(l) = &listener else {
            listener = TcpListener::bind(local).await.ok();
            if listener.is_none() {
                tokio::time::sleep(DOWN_CHECK).await;
            } else {
                faults.listening.store(true, Ordering::SeqCst);
            }
            continue;
        };
        let accepted = tokio::select! {
            a = l.accept() => a,
            () = &mut changed => continue,
            () = tokio::time::sleep(DOWN_CHECK) => continue,
        };
        let Ok((client, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let (upstream, faults) = (Arc::clone(&upstream), Arc::clone(&faults));
        tokio::spawn(async move { connection(client, &upstream, &faults).await });
    }
}

fn abort(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

async fn connection(mut client: TcpStream, upstream: &[SocketAddr], faults: &Faults) {
    let d = faults.decide_connection();
    match d.outcome {
        Outcome::Reset => return abort(&client),
        Outcome::Hang(until) => {
            // Swallow what comes, answer nothing, until the fault ends.
            let mut sink = vec![0u8; 16 * 1024];
            let deadline = faults.hang(until);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    () = &mut deadline => break,
                    r = client.read(&mut sink) => if matches!(r, Ok(0) | Err(_)) { break },
                }
            }
            return;
        }
        Outcome::Forward | Outcome::Error { .. } => {}
    }
    let mut server = None;
    for addr in upstream {
        if let Ok(Ok(s)) =
            tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr)).await
        {
            server = Some(s);
            break;
        }
    }
    let Some(server) = server else {
        faults.upstream_errors.fetch_add(1, Ordering::Relaxed);
        return abort(&client);
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let budget = d.limit.map(AtomicU64::new);
    let up = pump(cr, sw, &d, budget.as_ref(), d.seed);
    let down = pump(sr, cw, &d, budget.as_ref(), d.seed.rotate_left(32));
    tokio::pin!(up, down);
    // One way ending normally (a half-close) lets the other finish; a broken or
    // exhausted one ends both (the halves are dropped: both connections close).
    tokio::select! {
        r = &mut up => if r.is_ok() { let _ = down.await; },
        r = &mut down => if r.is_ok() { let _ = up.await; },
    }
}

/// Passes data one way with the connection's faults; `Err` when the connection must end
/// (a write failed, or the data limit was reached).
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    d: &Connection,
    budget: Option<&AtomicU64>,
    seed: u64,
) -> Result<(), ()> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut buf = vec![0u8; 16 * 1024];
    // Pacing: `sent` bytes since `start` must not run ahead of the rate.
    let mut start = Instant::now();
    let mut sent = 0u64;
    loop {
        let n = match from.read(&mut buf).await {
            // End of stream: pass the half-close on, and let the other way finish.
            Ok(0) => {
                let _ = to.shutdown().await;
                return Ok(());
            }
            // Reset or broken: end both ways (the other side sees its connection close).
            Err(_) => return Err(()),
            Ok(n) => n,
        };
        // What the limit still allows of this chunk.
        let (mut allowed, mut exhausted) = (n, false);
        if let Some(b) = budget {
            let before = b
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
                    Some(r.saturating_sub(n as u64))
                })
                .unwrap_or(0);
            if before <= n as u64 {
                allowed = before as usize;
                exhausted = true;
            }
        }
        if !d.latency.is_zero() || !d.jitter.is_zero() {
            let j = d.jitter.as_secs_f64() * (2.0 * rng.f64() - 1.0);
            let wait = (d.latency.as_secs_f64() + j).max(0.0);
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
        let data = &buf[..allowed];
        match d.slicer {
            Some((size, variation, delay)) => {
                let mut rest = data;
                while !rest.is_empty() {
                    let v = variation as i64;
                    let len = (size as i64 + rng.i64(-v..=v)).max(1) as usize;
                    let (slice, more) = rest.split_at(len.min(rest.len()));
                    to.write_all(slice).await.map_err(|_| ())?;
                    rest = more;
                    if !rest.is_empty() && !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                }
            }
            None => to.write_all(data).await.map_err(|_| ())?,
        }
        if let Some(rate) = d.bandwidth {
            // An idle connection earns no credit: after a pause (over 100 ms behind the
            // rate) the pacing starts anew.
            let caught_up = start + Duration::from_secs_f64(sent as f64 / rate as f64);
            if caught_up + Duration::from_millis(100) < Instant::now() {
                start = Instant::now();
                sent = 0;
            }
            sent += allowed as u64;
            let due = start + Duration::from_secs_f64(sent as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        if exhausted {
            return Err(());
        }
    }
}
