//! The HTTP/1.1 client of the load generator, written for the hot path.
//!
//! Written by hand rather than on hyper: a load generator sends one request, over and over,
//! on connections it owns. The request is serialized once; each exchange is one write and
//! as many reads as the answer needs, parsed with `httparse` straight from a reused buffer,
//! with no header map, no body allocation and no per-request task. General HTTP clients pay
//! for features a load loop does not use, which is why tools built on them measure below
//! wrk (oha: 0.41x to 0.77x).
//!
//! Supported: `Content-Length` and chunked bodies, bodies until close, `HEAD`, 1xx
//! interim answers, `Connection: close` from either side, TLS (rustls) with verification.

use crate::stats::ErrorKind;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// Where and how to connect, and the request, serialized once.
pub struct Target {
    /// The host's addresses, tried in order while they refuse (`localhost` may resolve to
    /// `::1` first while the server listens on 127.0.0.1 only).
    pub addrs: Vec<SocketAddr>,
    /// TLS server name and configuration, for `https`.
    pub tls: Option<(
        rustls::pki_types::ServerName<'static>,
        Arc<rustls::ClientConfig>,
    )>,
    pub request: Vec<u8>,
    /// `HEAD`: answers have no body.
    pub head: bool,
    /// `--no-keepalive`: a new connection per request.
    pub close: bool,
    pub connect_timeout: Duration,
    /// `--http2`: the request for the HTTP/2 client instead of `request`'s bytes.
    pub http2: Option<crate::h2::Request>,
}

// Not derived: the request holds the Authorization header.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("addrs", &self.addrs)
            .field("tls", &self.tls.is_some())
            .field("request_bytes", &self.request.len())
            .field("head", &self.head)
            .field("close", &self.close)
            .finish()
    }
}

/// A plain or TLS stream.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// What one exchange brought back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Bytes of the answer (head and body).
    pub bytes: u64,
}

/// One connection and its read buffer.
pub struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    /// Unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// The connection must not be reused (the server said close, or the body ran to EOF).
    pub closed: bool,
    /// Bytes received so far (to tell a connection the server closed while it was idle:
    /// its next exchange fails before any byte arrives).
    pub received: u64,
    /// The `Location` of the last answer, if it was a redirect (`--redirects`).
    pub location: Option<String>,
}

const BUF: usize = 16 * 1024;
/// Answers with a head larger than this are refused (a guard against a runaway server).
const MAX_HEAD: usize = 1024 * 1024;

fn kind_of(e: &io::Error) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        io::ErrorKind::InvalidData => ErrorKind::InvalidResponse,
        _ => ErrorKind::Reset,
    }
}

/// Opens a connection (and the TLS session), within `--connect-timeout`.
pub async fn connect(t: &Target) -> Result<Conn, ErrorKind> {
    Ok(Conn {
        stream: connect_stream(t).await?,
        buf: vec![0; BUF],
        start: 0,
        end: 0,
        closed: false,
        received: 0,
        location: None,
    })
}

/// The TCP connection (and TLS session) to the target, within `--connect-timeout`; the
/// HTTP/2 client runs over it too.
pub(crate) async fn connect_stream(t: &Target) -> Result<Stream, ErrorKind> {
    let mut tcp = Err(ErrorKind::Connect);
    for addr in &t.addrs {
        tcp = match tokio::time::timeout(t.connect_timeout, TcpStream::connect(addr)).await {
            Err(_) => Err(ErrorKind::ConnectTimeout),
            Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                Err(ErrorKind::ConnectRefused)
            }
            Ok(Err(_)) => Err(ErrorKind::Connect),
            Ok(Ok(s)) => Ok(s),
        };
        if !matches!(tcp, Err(ErrorKind::ConnectRefused)) {
            break;
        }
    }
    let tcp = tcp?;
    // Requests are small and sent whole: never wait for more to fill a segment.
    let _ = tcp.set_nodelay(true);
    let stream = match &t.tls {
        None => Stream::Plain(tcp),
        Some((name, config)) => {
            let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
            match tokio::time::timeout(t.connect_timeout, connector.connect(name.clone(), tcp))
                .await
            {
                Err(_) => return Err(ErrorKind::ConnectTimeout),
                Ok(Err(_)) => return Err(ErrorKind::Tls),
                Ok(Ok(s)) => Stream::Tls(Box::new(s)),
            }
        }
    };
    Ok(stream)
}

impl Stream {
    /// The protocol the TLS handshake agreed on (ALPN), if any.
    pub(crate) fn alpn(&self) -> Option<&[u8]> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(s) => s.get_ref().1.alpn_protocol(),
        }
    }
}

impl Conn {
    /// Reads more bytes after `end`, making room first; `Ok(0)` at end of stream.
    async fn fill(&mut self) -> io::Result<usize> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buf.len() < MAX_HEAD {
                self.buf.resize(self.buf.len() * 2, 0);
            } else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "answer head too large",
                ));
            }
        }
        let n = self.stream.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        self.received += n as u64;
        Ok(n)
    }

    /// Discards `n` body bytes, reading them as needed.
    async fn skip(&mut self, mut n: u64) -> io::Result<()> {
        loop {
            let have = (self.end - self.start) as u64;
            if have >= n {
                self.start += n as usize;
                return Ok(());
            }
            n -= have;
            self.start = 0;
            self.end = 0;
            if self.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// The next CRLF-terminated line of a chunked body (without the CRLF), as its range.
    async fn line(&mut self) -> io::Result<(usize, usize)> {
        loop {
            if let Some(i) = self.buf[self.start..self.end]
                .windows(2)
                .position(|w| w == b"\r\n")
            {
                let line = (self.start, self.start + i);
                self.start += i + 2;
                return Ok(line);
            }
            if self.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Sends the request and reads the whole answer.
    pub async fn exchange(&mut self, t: &Target) -> Result<Answer, ErrorKind> {
        self.exchange_bytes(&t.request, t.head).await
    }

    /// Sends `request` (a whole HTTP/1.1 request) and reads the answer; `head`: a HEAD
    /// request, whose answer has no body.
    pub async fn exchange_bytes(
        &mut self,
        request: &[u8],
        head: bool,
    ) -> Result<Answer, ErrorKind> {
        self.stream
            .write_all(request)
            .await
            .map_err(|e| kind_of(&e))?;
        self.read_answer(head).await.map_err(|e| kind_of(&e))
    }

    async fn read_answer(&mut self, head_only: bool) -> io::Result<Answer> {
        self.location = None;
        loop {
            let (status, head_len, length, chunked, close) = loop {
                let mut headers = [httparse::EMPTY_HEADER; 128];
                let mut resp = httparse::Response::new(&mut headers);
                match resp.parse(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete(n)) => {
                        let mut length: Option<u64> = None;
                        let (mut chunked, mut close) = (false, resp.version == Some(0));
                        let code = resp.code.unwrap_or(0);
                        let redirect = crate::redirect::is_redirect(code);
                        for h in resp.headers.iter() {
                            if h.name.eq_ignore_ascii_case("content-length") {
                                // A length that does not parse, or two that disagree, make
                                // the framing unknowable: refuse the answer (RFC 9112 6.3).
                                let v = std::str::from_utf8(h.value)
                                    .ok()
                                    .and_then(|v| v.trim().parse::<u64>().ok())
                                    .ok_or(io::ErrorKind::InvalidData)?;
                                if length.is_some_and(|l| l != v) {
                                    return Err(io::ErrorKind::InvalidData.into());
                                }
                                length = Some(v);
                            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                                chunked = h
                                    .value
                                    .windows(7)
                                    .any(|w| w.eq_ignore_ascii_case(b"chunked"));
                            } else if h.name.eq_ignore_ascii_case("connection") {
                                close =
                                    h.value.windows(5).any(|w| w.eq_ignore_ascii_case(b"close"));
                            } else if redirect && h.name.eq_ignore_ascii_case("location") {
                                self.location = Some(String::from_utf8_lossy(h.value).into_owned());
                            }
                        }
                        break (code, n, length, chunked, close);
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.fill().await? == 0 {
                            return Err(io::ErrorKind::UnexpectedEof.into());
                        }
                    }
                    Err(_) => return Err(io::ErrorKind::InvalidData.into()),
                }
            };
            self.start += head_len;
            if status == 101 {
                // Switching protocols: what follows is not HTTP; count it and let go.
                self.closed = true;
                return Ok(Answer {
                    status,
                    bytes: head_len as u64,
                });
            }
            if (100..200).contains(&status) {
                // An interim answer (100 Continue): the real one follows.
                continue;
            }
            let mut bytes = head_len as u64;
            let no_body = head_only || status == 204 || status == 304;
            if no_body {
            } else if chunked {
                loop {
                    let (a, b) = self.line().await?;
                    bytes += (b - a + 2) as u64;
                    let size_text = &self.buf[a..b];
                    let hex = size_text.split(|c| *c == b';').next().unwrap_or_default();
                    let size = std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
                        .ok_or(io::ErrorKind::InvalidData)?;
                    if size == 0 {
                        // Trailers, up to the empty line.
                        loop {
                            let (a, b) = self.line().await?;
                            bytes += (b - a + 2) as u64;
                            if a == b {
                                break;
                            }
                        }
                        break;
                    }
                    self.skip(size).await?;
                    // The chunk's data ends with CRLF.
                    let (a, b) = self.line().await?;
                    if a != b {
                        return Err(io::ErrorKind::InvalidData.into());
                    }
                    bytes = bytes.saturating_add(size).saturating_add(2);
                }
            } else if let Some(n) = length {
                self.skip(n).await?;
                bytes += n;
            } else {
                // No length: the body runs until the server closes.
                loop {
                    bytes += (self.end - self.start) as u64;
                    self.start = 0;
                    self.end = 0;
                    if self.fill().await? == 0 {
                        break;
                    }
                }
                self.closed = true;
            }
            if close {
                self.closed = true;
            }
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            } else {
                // Bytes after a whole answer to a single request: the server is confused
                // (or pipelining answers nobody asked for); do not read them as the next.
                self.closed = true;
            }
            return Ok(Answer { status, bytes });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `answers` (raw bytes, in pieces) on a loopback port, one connection.
    async fn server(answers: Vec<Vec<&'static [u8]>>) -> SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.expect("accept");
            let mut req = vec![0u8; 4096];
            for pieces in answers {
                let _ = s.read(&mut req).await;
                for p in pieces {
                    let _ = s.write_all(p).await;
                    let _ = s.flush().await;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        });
        addr
    }

    fn target(addr: SocketAddr, head: bool) -> Target {
        Target {
            addrs: vec![addr],
            tls: None,
            request: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            head,
            close: false,
            connect_timeout: Duration::from_secs(5),
            http2: None,
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn lengths_chunks_interim_and_close() {
        let addr = server(vec![
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", b"lo"],
            vec![
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n",
                b"2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n",
            ],
            vec![b"HTTP/1.1 204 No Content\r\n\r\n"],
            vec![b"HTTP/1.1 503 Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"],
        ])
        .await;
        let t = target(addr, false);
        let mut c = connect(&t).await.expect("connect");
        let a = c.exchange(&t).await.expect("answer 1");
        assert_eq!(a.status, 200);
        assert_eq!(a.bytes, 38 + 5);
        let a = c.exchange(&t).await.expect("answer 2");
        assert_eq!(a.status, 201);
        let a = c.exchange(&t).await.expect("answer 3");
        assert_eq!(a.status, 204);
        assert!(!c.closed);
        let a = c.exchange(&t).await.expect("answer 4");
        assert_eq!(a.status, 503);
        assert!(c.closed);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn until_close_garbage_and_eof() {
        let addr = server(vec![vec![b"HTTP/1.0 200 OK\r\n\r\nbody until close"]]).await;
        let t = target(addr, false);
        let mut c = connect(&t).await.expect("connect");
        let a = c.exchange(&t).await.expect("answer");
        assert_eq!((a.status, c.closed), (200, true));

        let addr = server(vec![vec![b"SSH-2.0-OpenSSH\r\n\r\n"]]).await;
        let mut c = connect(&t_at(addr)).await.expect("connect");
        assert_eq!(
            c.exchange(&t_at(addr)).await,
            Err(ErrorKind::InvalidResponse)
        );

        let addr = server(vec![vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        ]])
        .await;
        let mut c = connect(&t_at(addr)).await.expect("connect");
        assert_eq!(c.exchange(&t_at(addr)).await, Err(ErrorKind::Reset));

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port");
        assert!(matches!(
            connect(&t_at(port)).await,
            Err(ErrorKind::ConnectRefused)
        ));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn bad_lengths_chunks_and_leftovers() {
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n",
        ] {
            let addr = server(vec![vec![bad]]).await;
            let mut c = connect(&t_at(addr)).await.expect("connect");
            assert_eq!(
                c.exchange(&t_at(addr)).await,
                Err(ErrorKind::InvalidResponse),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // Bytes after the answer: counted, and the connection is not reused.
        let addr = server(vec![vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
        ]])
        .await;
        let mut c = connect(&t_at(addr)).await.expect("connect");
        assert_eq!(c.exchange(&t_at(addr)).await.map(|a| a.status), Ok(200));
        assert!(c.closed);
        // 101 ends the HTTP conversation.
        let addr = server(vec![vec![
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        ]])
        .await;
        let mut c = connect(&t_at(addr)).await.expect("connect");
        assert_eq!(c.exchange(&t_at(addr)).await.map(|a| a.status), Ok(101));
        assert!(c.closed);
    }

    fn t_at(addr: SocketAddr) -> Target {
        target(addr, false)
    }
}
