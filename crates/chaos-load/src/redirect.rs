//! Following redirects (`--redirects N`, default 10; `0` makes a 3xx the answer).
//!
//! A request and the redirects it is sent through count as one request: its latency runs
//! to the last answer, its status is the last one, and the hops are counted apart
//! (`redirects` in the report). A chain longer than N is a `tooManyRedirects` error.
//!
//! Each hop is built from the HTTP/1.1 bytes of the request before it, so plain runs,
//! scenarios and HTTP/2 follow alike, as browsers and HTTP clients do (RFC 9110 15.4):
//! - 301, 302 and 303 turn a method other than GET and HEAD into a GET without a body;
//!   307 and 308 keep the method and the body.
//! - The `Location` is resolved against the request's URL (relative references too); the
//!   fragment is not sent.
//! - A hop to the target's origin goes over the connection in use; a hop to another origin
//!   over a new HTTP/1.1 connection of its own, and without `Authorization`, `Cookie` and
//!   `Proxy-Authorization` (credentials meant for one host are never sent to another).

use crate::http1::Target;
use crate::stats::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

/// Whether `status` is a redirect that carries a `Location` to follow.
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// What following needs besides the requests themselves.
pub struct Follow {
    /// Hops to follow at most.
    pub max: u32,
    /// The target's origin: hops there reuse the connection.
    pub origin: url::Origin,
    /// TLS for hops to another origin (ALPN http/1.1); `None` if it could not be set up
    /// (then such hops fail as `tls`).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for Follow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follow")
            .field("max", &self.max)
            .field("origin", &self.origin.ascii_serialization())
            .finish()
    }
}

/// The next request of a chain.
#[derive(Debug)]
pub struct Hop {
    pub url: url::Url,
    /// The whole HTTP/1.1 request.
    pub bytes: Vec<u8>,
    /// A HEAD request (its answer has no body).
    pub head: bool,
}

/// The method, target, headers and body of an HTTP/1.1 request in `bytes`.
pub(crate) struct Parsed<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: Vec<(&'a str, &'a [u8])>,
    pub body: &'a [u8],
}

/// Reads back a request this crate serialized.
pub(crate) fn parse(bytes: &[u8]) -> Option<Parsed<'_>> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(n) = req.parse(bytes).ok()? else {
        return None;
    };
    Some(Parsed {
        method: req.method?,
        path: req.path?,
        headers: req.headers.iter().map(|h| (h.name, h.value)).collect(),
        body: bytes.get(n..)?,
    })
}

impl Parsed<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }
}

/// The request that follows `status` with `location`, after `request` (HTTP/1.1 bytes)
/// was sent over `scheme` (`http` or `https`). A `Location` that is no http(s) URL makes
/// the answer unusable: `invalidResponse`.
pub fn next(request: &[u8], scheme: &str, status: u16, location: &str) -> Result<Hop, ErrorKind> {
    let r = parse(request).ok_or(ErrorKind::InvalidRequest)?;
    let host = r.header("host").ok_or(ErrorKind::InvalidRequest)?;
    let from = url::Url::parse(&format!("{scheme}://{host}{}", r.path))
        .map_err(|_| ErrorKind::InvalidRequest)?;
    let to = from
        .join(location.trim())
        .map_err(|_| ErrorKind::InvalidResponse)?;
    if !matches!(to.scheme(), "http" | "https") || to.host_str().is_none() {
        return Err(ErrorKind::InvalidResponse);
    }
    let same_origin = from.origin() == to.origin();
    let to_get = matches!(status, 301..=303)
        && !r.method.eq_ignore_ascii_case("GET")
        && !r.method.eq_ignore_ascii_case("HEAD");
    let method = if to_get { "GET" } else { r.method };
    let body = if to_get { &[][..] } else { r.body };
    let host_header = match (to.host_str(), to.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => return Err(ErrorKind::InvalidResponse),
    };
    let path = match to.query() {
        Some(q) => format!("{}?{q}", to.path()),
        None => to.path().to_string(),
    };
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: {host_header}\r\n").into_bytes();
    for (name, value) in &r.headers {
        let drop = ["host", "content-length"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
            || (to_get && name.eq_ignore_ascii_case("content-type"))
            || (!same_origin
                && ["authorization", "cookie", "proxy-authorization"]
                    .iter()
                    .any(|h| name.eq_ignore_ascii_case(h)));
        if !drop {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(Hop {
        head: method.eq_ignore_ascii_case("HEAD"),
        url: to,
        bytes: out,
    })
}

impl Follow {
    /// A one-off target for a hop to another origin.
    pub async fn target_for(&self, url: &url::Url) -> Result<Target, ErrorKind> {
        let host = url.host_str().ok_or(ErrorKind::Connect)?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let port = url.port_or_known_default().ok_or(ErrorKind::Connect)?;
        let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((bare, port))
            .await
            .map_err(|_| ErrorKind::Connect)?
            .collect();
        let tls = if url.scheme() == "https" {
            let name = rustls::pki_types::ServerName::try_from(bare.to_string())
                .map_err(|_| ErrorKind::Tls)?;
            Some((name, self.tls.clone().ok_or(ErrorKind::Tls)?))
        } else {
            None
        };
        Ok(Target {
            addrs,
            tls,
            request: Vec::new(),
            head: false,
            close: true,
            connect_timeout: self.connect_timeout,
            http2: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POST: &[u8] = b"POST /a/b?x=1 HTTP/1.1\r\nHost: h:8080\r\nAuthorization: Bearer s3cret\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

    fn text(h: &Hop) -> String {
        String::from_utf8_lossy(&h.bytes).into_owned()
    }

    #[test]
    fn methods_bodies_and_locations() {
        // 303 (and 301/302) turn a POST into a GET without body or body headers.
        let h = next(POST, "http", 303, "/done#frag").expect("hop");
        assert_eq!(h.url.as_str(), "http://h:8080/done#frag");
        assert_eq!(
            text(&h),
            "GET /done HTTP/1.1\r\nHost: h:8080\r\nAuthorization: Bearer s3cret\r\n\r\n"
        );
        // 307 keeps method and body; a relative reference resolves against the path.
        let h = next(POST, "http", 307, "c?y=2").expect("hop");
        assert_eq!(
            text(&h),
            "POST /a/c?y=2 HTTP/1.1\r\nHost: h:8080\r\nAuthorization: Bearer s3cret\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
        // Another origin (scheme, host or port): no credentials.
        for loc in ["https://h:8080/x", "http://other:8080/x", "//h:9090/x"] {
            let h = next(POST, "http", 308, loc).expect("hop");
            assert!(!text(&h).contains("s3cret"), "{loc}: {}", text(&h));
            assert!(text(&h).starts_with("POST /x HTTP/1.1\r\n"), "{}", text(&h));
        }
        // Default ports are not written in Host.
        let h = next(POST, "http", 302, "https://example.org:443/").expect("hop");
        assert!(text(&h).starts_with("GET / HTTP/1.1\r\nHost: example.org\r\n"));
        // HEAD stays HEAD.
        let head = b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n";
        let h = next(head, "https", 301, "/y").expect("hop");
        assert!(h.head && h.url.as_str() == "https://h/y");
        // Not an http(s) URL.
        for bad in ["ftp://h/x", "http://", "mailto:a@b"] {
            assert_eq!(
                next(POST, "http", 302, bad).map(|h| h.url),
                Err(ErrorKind::InvalidResponse),
                "{bad}"
            );
        }
        assert!(is_redirect(308) && !is_redirect(304) && !is_redirect(300));
    }
}
