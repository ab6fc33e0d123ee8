//! Following redirects (`--redirects N`, default 10; `0` makes a 3xx the answer).
//!
//! A request and the redirects it is sent through count as one request: its latency runs
//! to the last answer, its status is the last one, and the hops are counted apart
//! (`redirects` in the report). A chain longer than N is a `tooManyRedirects` error.
//!
//! Each hop is built from the HTTP/1.1 bytes of the request before it, so plain runs,
//! scenarios and HTTP/2 follow alike, as browsers and HTTP clients do (RFC 9110 15.4):
//! - 303 turns a method other than GET and HEAD into a GET without a body, 301 and 302 a
//!   POST (Fetch, curl); 307 and 308, and 301/302 of other methods, keep method and body.
//! - The `Location` is resolved against the request's URL (relative references too); the
//!   fragment is not sent.
//! - The `Location` is resolved against the URL the request was really sent to (not its
//!   `Host` header, which `-H` may set for a virtual host: a relative redirect stays on the
//!   target).
//! - A hop to the target's origin goes over the connection in use; a hop to another origin
//!   over a new HTTP/1.1 connection of its own, and without `Authorization`, `Cookie` and
//!   `Proxy-Authorization`.

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
    /// The target's URL (its origin: hops there reuse the connection).
    pub base: url::Url,
    /// TLS for hops to another origin (ALPN http/1.1); `None` if it could not be set up
    /// (then such hops fail as `tls`).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub connect_timeout: Duration,
    /// [`Follow::left_origin`] has warned.
    pub warned: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Follow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follow")
            .field("max", &self.max)
            .field("origin", &self.base.origin().ascii_serialization())
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

/// Headers about the body, dropped with it when a redirect turns the request into a GET
/// (as the Fetch standard does).
const BODY_HEADERS: [&str; 6] = [
    "content-type",
    "content-encoding",
    "content-language",
    "content-location",
    "content-length",
    "transfer-encoding",
];

/// Headers that carry credentials: never sent to another origin (as browsers and curl).
const CREDENTIALS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// The request that follows `status` with `location`, after `request` (HTTP/1.1 bytes)
/// was sent to `from` (the URL it really went to: the target's origin, or the previous
/// hop's, whatever its `Host` header says). A `Location` that is no http(s) URL makes the
/// answer unusable: `invalidResponse`.
pub fn next(
    request: &[u8],
    from: &url::Url,
    status: u16,
    location: &str,
) -> Result<Hop, ErrorKind> {
    let r = parse(request).ok_or(ErrorKind::InvalidRequest)?;
    let from = from.join(r.path).map_err(|_| ErrorKind::InvalidRequest)?;
    let to = from
        .join(location.trim())
        .map_err(|_| ErrorKind::InvalidResponse)?;
    if !matches!(to.scheme(), "http" | "https") || to.host_str().is_none() {
        return Err(ErrorKind::InvalidResponse);
    }
    let same_origin = from.origin() == to.origin();
    // 303: GET (HEAD stays HEAD); 301 and 302: a POST becomes a GET (Fetch, curl); 307,
    // 308 and the other methods keep method and body.
    let to_get = match status {
        303 => !r.method.eq_ignore_ascii_case("HEAD") && !r.method.eq_ignore_ascii_case("GET"),
        301 | 302 => r.method.eq_ignore_ascii_case("POST"),
        _ => false,
    };
    let method = if to_get { "GET" } else { r.method };
    let body = if to_get { &[][..] } else { r.body };
    let path = match to.query() {
        Some(q) => format!("{}?{q}", to.path()),
        None => to.path().to_string(),
    };
    let mut out = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
    if !same_origin {
        // Another host: its own Host header. Within the origin, the request's own Host
        // (which -H may have set, for a virtual host) stays.
        let host = match (to.host_str(), to.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(ErrorKind::InvalidResponse),
        };
        out.extend_from_slice(format!("Host: {host}\r\n").as_bytes());
    }
    for (name, value) in &r.headers {
        let is = |list: &[&str]| list.iter().any(|h| name.eq_ignore_ascii_case(h));
        let drop = name.eq_ignore_ascii_case("content-length")
            || (to_get && is(&BODY_HEADERS))
            || (!same_origin && (is(&CREDENTIALS) || name.eq_ignore_ascii_case("host")));
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
    /// Says once per run, on stderr, that redirects lead away from the target: each such
    /// hop costs a connection of its own, and what `-H` adds goes along.
    pub fn left_origin(&self, to: &url::Url) {
        if !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(
                "redirects lead from {} to {}: each such hop opens a connection of its own (counted in `connections`) and carries the request's headers except Authorization, Cookie and Proxy-Authorization; use --redirects 0 to stop at the redirect",
                self.base.origin().ascii_serialization(),
                to.origin().ascii_serialization()
            );
        }
    }

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

    fn url(u: &str) -> url::Url {
        url::Url::parse(u).expect("url")
    }

    #[test]
    fn methods_bodies_and_locations() {
        let from = url("http://h:8080/");
        // 303 turns a POST into a GET without body or body headers; the Host stays.
        let h = next(POST, &from, 303, "/done#frag").expect("hop");
        assert_eq!(h.url.as_str(), "http://h:8080/done#frag");
        assert_eq!(
            text(&h),
            "GET /done HTTP/1.1\r\nHost: h:8080\r\nAuthorization: Bearer s3cret\r\n\r\n"
        );
        // 307 keeps method and body; a relative reference resolves against the path.
        let h = next(POST, &from, 307, "c?y=2").expect("hop");
        assert_eq!(
            text(&h),
            "POST /a/c?y=2 HTTP/1.1\r\nHost: h:8080\r\nAuthorization: Bearer s3cret\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
        // 301 and 302 change a POST only; a PUT stays a PUT with its body.
        let put = b"PUT /p HTTP/1.1\r\nHost: h:8080\r\nContent-Length: 1\r\n\r\nx";
        let h = next(put, &from, 302, "/q").expect("hop");
        assert_eq!(
            text(&h),
            "PUT /q HTTP/1.1\r\nHost: h:8080\r\nContent-Length: 1\r\n\r\nx"
        );
        let h = next(put, &from, 303, "/q").expect("hop");
        assert_eq!(text(&h), "GET /q HTTP/1.1\r\nHost: h:8080\r\n\r\n");
        // Another origin (scheme, host or port): its own Host, no credentials.
        for loc in ["https://h:8080/x", "http://other:8080/x", "//h:9090/x"] {
            let h = next(POST, &from, 308, loc).expect("hop");
            assert!(!text(&h).contains("s3cret"), "{loc}: {}", text(&h));
            assert!(
                text(&h).starts_with("POST /x HTTP/1.1\r\nHost: "),
                "{}",
                text(&h)
            );
            assert_eq!(text(&h).matches("Host:").count(), 1, "{}", text(&h));
        }
        // Default ports are not written in Host.
        let h = next(POST, &from, 302, "https://example.org:443/").expect("hop");
        assert!(text(&h).starts_with("GET / HTTP/1.1\r\nHost: example.org\r\n"));
        // HEAD stays HEAD.
        let head = b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n";
        let h = next(head, &url("https://h/"), 301, "/y").expect("hop");
        assert!(h.head && h.url.as_str() == "https://h/y");
        // Not an http(s) URL.
        for bad in ["ftp://h/x", "http://", "mailto:a@b"] {
            assert_eq!(
                next(POST, &from, 302, bad).map(|h| h.url),
                Err(ErrorKind::InvalidResponse),
                "{bad}"
            );
        }
        assert!(is_redirect(308) && !is_redirect(304) && !is_redirect(300));
    }

    #[test]
    fn a_host_header_does_not_move_a_relative_redirect_off_the_target() {
        // -H 'Host: shop.example.com' against 10.0.0.5: `/login` is on 10.0.0.5, with the
        // same Host and the token (the same origin as the request really went to).
        let req = b"GET / HTTP/1.1\r\nHost: shop.example.com\r\nAuthorization: Bearer t\r\n\r\n";
        let h = next(req, &url("http://10.0.0.5:8080/"), 302, "/login").expect("hop");
        assert_eq!(h.url.as_str(), "http://10.0.0.5:8080/login");
        assert_eq!(
            text(&h),
            "GET /login HTTP/1.1\r\nHost: shop.example.com\r\nAuthorization: Bearer t\r\n\r\n"
        );
    }
}
