//! `--http2`: the HTTP/2 client, over TLS (ALPN `h2`) or over plain TCP with prior
//! knowledge (h2c). Built on hyper's HTTP/2 client (the `h2` crate): framing, flow control
//! and HPACK are no job to redo by hand. Each connection carries one stream at a time, as
//! each HTTP/1.1 connection carries one request.

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

/// One HTTP/2 connection.
pub struct Conn {
    send: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    /// The server ended the connection (GOAWAY, or an error): open a new one.
    pub closed: bool,
    /// Body bytes received so far.
    pub received: u64,
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
    })
}

impl Conn {
    /// Sends the request and reads the whole answer (body bytes counted).
    pub async fn exchange(&mut self, t: &Target) -> Result<Answer, ErrorKind> {
        let Some(r) = &t.http2 else {
            return Err(ErrorKind::Connect);
        };
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
