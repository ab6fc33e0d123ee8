//! Kubernetes resource quantities (`250m`, `1.5`, `128Mi`, `2G`, `1e3`).
//!
//! Written by hand: the only crate that does this, `k8s-openapi`, is a very large dependency
//! for one small function, and we only need an `f64` to compare usage with capacity.

/// Parses a quantity into base units (cores for CPU, bytes for memory).
pub fn parse(q: &str) -> Option<f64> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let split = q
        .char_indices()
        .find(|(i, c)| {
            c.is_ascii_alphabetic()
                && !(matches!(c, 'e' | 'E') && q[i + 1..].parse::<i32>().is_ok())
        })
        .map(|(i, _)| i)
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let value: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(value * mult)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn quantities() {
        assert_eq!(parse("250m"), Some(0.25));
        assert_eq!(parse("2"), Some(2.0));
        assert_eq!(parse("128Mi"), Some(134_217_728.0));
        assert_eq!(parse("1e3"), Some(1000.0));
        assert_eq!(parse("1500000n"), Some(0.0015));
        assert_eq!(parse("12parsecs"), None);
        assert_eq!(parse(""), None);
    }
}
