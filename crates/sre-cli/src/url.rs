//! URLs as messages and reports show them.

/// `url` without `user:password@`: only the authority is looked at (up to the first `/`,
/// `?` or `#`), and its last `@` ends the userinfo, as a password may hold `@`.
pub fn shown_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match scheme {
        Some(s) => format!("{s}://{host}{path}"),
        None => format!("{host}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_dropped() {
        assert_eq!(shown_url("https://u:p@prom:9090/x"), "https://prom:9090/x");
        assert_eq!(shown_url("http://prom:9090"), "http://prom:9090");
        assert_eq!(shown_url("https://u:p@ss@prom/x@y"), "https://prom/x@y");
        assert_eq!(shown_url("http://u:p@h?q=a@b"), "http://h?q=a@b");
        assert_eq!(shown_url("u:p@h/x"), "h/x");
    }
}
