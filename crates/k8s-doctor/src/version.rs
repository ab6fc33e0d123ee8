//! Kubernetes component versions from `gitVersion` strings and image tags.

use std::fmt;

/// `major.minor.patch` of a Kubernetes component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    /// Parses `v1.29.2`, `1.29.2`, `v1.29.2-eks-a5df82a`, `v1.30.1+k3s1`, `v1.29`.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim().trim_start_matches('v');
        let core = s.split(['-', '+']).next()?;
        let mut it = core.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        let patch = it.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(Version {
            major,
            minor,
            patch,
        })
    }

    /// The version in an image reference's tag, e.g. `registry.k8s.io/kube-proxy:v1.29.2`.
    pub fn from_image(image: &str) -> Option<Version> {
        let without_digest = image.split('@').next()?;
        let last = without_digest.rsplit('/').next()?;
        let (_, tag) = last.rsplit_once(':')?;
        Version::parse(tag)
    }

    /// Minor versions `self` is newer than `other` (negative when older). Different majors
    /// count as 100 minors apart: no skew rule allows them.
    pub fn minors_ahead_of(self, other: Version) -> i64 {
        if self.major != other.major {
            return (i64::from(self.major) - i64::from(other.major)) * 100;
        }
        i64::from(self.minor) - i64::from(other.minor)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::Version;

    #[test]
    fn parses_real_versions() {
        let v = |s| Version::parse(s).map(|v| v.to_string());
        assert_eq!(v("v1.29.2-eks-a5df82a").as_deref(), Some("v1.29.2"));
        assert_eq!(v("v1.30.1+k3s1").as_deref(), Some("v1.30.1"));
        assert_eq!(v("garbage"), None);
        let img = Version::from_image("registry.k8s.io/kube-proxy:v1.28.4@sha256:abc");
        assert_eq!(img.map(|v| v.minor), Some(28));
        assert_eq!(Version::from_image("localhost:5000/kube-proxy"), None);
    }
}
