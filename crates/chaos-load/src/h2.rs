//! `--http2`: the HTTP/2 client, over TLS (ALPN `h2`) or over plain TCP with prior
//! knowledge (h2c). Built on hyper's HTTP/2 client (the `h2` crate): framing, flow control
//! and HPACK are no job to redo by hand. Each connection carries one stream at a time, as
//! each HTTP/1.1 connection carries one request, unless `--streams N`: then N connection
//! tasks share one connection (clones of its sender), each with a stream in flight.
//!
//! Requests are made from the HTTP/1.1 bytes the rest of the crate builds (the target's
//! request, a scenario's, a redirect's), so every feature speaks both versions.

use crate::http1::{connect_stream, Answer, Target};
use crate::stats::ErrorKind;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};

/// The request, kept in parts so that each send builds it cheaply (the body is shared).
#[derive(Clone)]
pub struct Request {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

// Not derived: the headers may hold Authorization.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("headers", &self.headers.len())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// Headers that exist in HTTP/1.1 only (RFC 9113 8.2.2; `TE` may stay as `trailers`, which
/// gRPC servers require), and `Host`, which becomes the `:authority`; `Content-Length` is
/// set from the body.
const NOT_IN_H2: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "host",
    "content-length",
];

impl Request {
    /// The HTTP/2 form of an HTTP/1.1 request (`bytes`) sent over `scheme`; the error
    /// names what HTTP/2 cannot carry.
    pub fn from_h1(bytes: &[u8], scheme: &str) -> Result<Request, String> {
        let r = crate::redirect::parse(bytes).ok_or("the request is not HTTP/1.1")?;
        let host = r.header("host").ok_or("the request has no Host")?;
        let uri: http::Uri = format!("{scheme}://{host}{}", r.path)
            .parse()
            .map_err(|_| format!("`{}` is not a request target", r.path))?;
        let mut headers = http::HeaderMap::new();
        for (name, value) in &r.headers {
            let te_trailers =
                name.eq_ignore_ascii_case("te") && value.eq_ignore_ascii_case(b"trailers");
            if NOT_IN_H2.iter().any(|h| name.eq_ignore_ascii_case(h)) && !te_trailers {
                continue;
            }
            // The value may be a secret: the error names the header only.
            let bad = || format!("header `{name}` is not one HTTP/2 can send");
            let name = http::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
            let value = http::header::HeaderValue::from_bytes(value).map_err(|_| bad())?;
            headers.append(name, value);
        }
        Ok(Request {
            method: http::Method::from_bytes(r.method.as_bytes())
                .map_err(|_| format!("`{}` is not an HTTP method", r.method))?,
            uri,
            headers,
            body: Bytes::copy_from_slice(r.body),
        })
    }
}

/// One HTTP/2 connection (a clone is another handle on the same connection, with its own
/// per-request state).
#[derive(Clone)]
pub struct Conn {
    send: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    /// The server ended the connection (GOAWAY, or an error): open a new one.
    pub closed: bool,
    /// Body bytes received so far.
    pub received: u64,
    /// The `Location` of the last answer, if it was a redirect.
    pub location: Option<String>,
}

fn kind_of(e: &hyper::Error) -> ErrorKind {
    if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_parse() || e.is_user() {
        ErrorKind::InvalidResponse
    } else {
        ErrorKind::Reset
    }
}

/// Connects and performs the HTTP/2 handshake. Over TLS the server must agree to `h2`.
pub async fn connect(t: &Target) -> Result<Conn, ErrorKind> {
    let stream = connect_stream(t).await?;
    if t.tls.is_some() && stream.alpn() != Some(b"h2") {
        // The server offered HTTP/1.1 only: not an answer this client can read.
        return Err(ErrorKind::InvalidResponse);
    }
    let (send, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| kind_of(&e))?;
    // The connection's I/O runs beside the requests; it ends when the server goes away.
    tokio::task::spawn_local(async move {
        let _ = connection.await;
    });
    Ok(Conn {
        send,
        closed: false,
        received: 0,
        location: None,
    })
}

impl Conn {
    /// The connection itself is gone (GOAWAY, an error, the server closed it).
    pub fn is_closed(&self) -> bool {
        self.send.is_closed()
    }

    /// Sends the target's request and reads the whole answer (body bytes counted).
    pub async fn exchange(&mut self, t: &Target) -> Result<Answer, ErrorKind> {
        let Some(r) = &t.http2 else {
            return Err(ErrorKind::InvalidRequest);
        };
        self.exchange_request(r).await
    }

    /// Sends `r` and reads the whole answer (body bytes counted).
    pub async fn exchange_request(&mut self, r: &Request) -> Result<Answer, ErrorKind> {
        self.location = None;
        if self.send.ready().await.is_err() {
            self.closed = true;
            return Err(ErrorKind::Reset);
        }
        let mut req = http::Request::new(Full::new(r.body.clone()));
        *req.method_mut() = r.method.clone();
        *req.uri_mut() = r.uri.clone();
        *req.headers_mut() = r.headers.clone();
        let resp = self.send.send_request(req).await.map_err(|e| {
            self.closed = true;
            kind_of(&e)
        })?;
        let status = resp.status().as_u16();
        if crate::redirect::is_redirect(status) {
            self.location = resp
                .headers()
                .get(http::header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        }
        let mut body = resp.into_body();
        let mut bytes = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                self.closed = true;
                kind_of(&e)
            })?;
            if let Some(data) = frame.data_ref() {
                bytes += data.len() as u64;
            }
        }
        self.received += bytes;
        Ok(Answer { status, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http1_requests_become_http2_requests() {
        let r = Request::from_h1(
            b"POST /a?b=1 HTTP/1.1\r\nHost: h:8443\r\nConnection: keep-alive\r\nTE: trailers\r\nX-Run: ci\r\nContent-Length: 3\r\n\r\nabc",
            "https",
        )
        .expect("converts");
        assert_eq!(r.method, http::Method::POST);
        assert_eq!(r.uri, "https://h:8443/a?b=1");
        assert_eq!(r.body.as_ref(), b"abc");
        let names: Vec<&str> = r.headers.keys().map(http::HeaderName::as_str).collect();
        assert_eq!(names, ["te", "x-run"]);
        // A control character in a value: refused, and the error never shows the value.
        let e = Request::from_h1(
            b"GET / HTTP/1.1\r\nHost: h\r\nX-Secret: a\x01b\r\n\r\n",
            "http",
        )
        .map(|_| ())
        .expect_err("refused");
        assert!(!e.contains("a\u{1}b"), "{e}");
    }
}
