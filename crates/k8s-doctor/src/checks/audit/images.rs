//! Image checks.

use super::container_finding;
use crate::checks::{check, Ctx};
use sre_core::Finding;

/// The tag of an image reference: `None` when it has none, `Some("")` never.
fn tag(image: &str) -> Option<&str> {
    let last = image.rsplit('/').next().unwrap_or(image);
    let last = last.split('@').next().unwrap_or(last);
    last.split_once(':')
        .map(|(_, t)| t)
        .filter(|t| !t.is_empty())
}

/// True when the image is pinned by digest.
fn has_digest(image: &str) -> bool {
    image.contains("@sha256:")
}

/// True when the tag moves: `latest` or no tag, and no digest.
fn mutable(image: &str) -> bool {
    !has_digest(image) && tag(image).is_none_or(|t| t == "latest")
}

check! {
    /// ### What it does
    /// Reports images with the `latest` tag or no tag at all (which means `latest`), unless
    /// pinned by digest.
    ///
    /// ### Why it matters
    /// A moving tag makes rollbacks impossible and lets two pods of one Deployment run
    /// different code.
    ///
    /// ### Example
    /// `image: nginx` or `image: ghcr.io/acme/api:latest`.
    IMAGE_LATEST_TAG {
        code: "KD320",
        name: "image-latest-tag",
        title: "Image uses latest or no tag",
        severity: Warning,
        commands: [Audit],
        run: image_latest,
    }
}

fn image_latest(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        for c in w.all_containers().filter(|c| mutable(&c.image)) {
            out.push(
                container_finding(&IMAGE_LATEST_TAG.meta, w, c, format!("image `{}` has no fixed tag", c.image))
                    .evidence("image", c.image.clone())
                    .remediation("image: nginx:1.25.4        # a version tag\n# or, immutable: image: nginx@sha256:<digest>"),
            );
        }
    }
}

check! {
    /// ### What it does
    /// Reports pull policies that make nodes disagree on the image: `imagePullPolicy:
    /// Never`, and a moving tag (`latest`, no tag) with `IfNotPresent`, where each node keeps
    /// whatever it pulled first.
    ///
    /// ### Why it matters
    /// Pods of one workload silently run different images depending on their node.
    ///
    /// ### Example
    /// `image: acme/api:latest` with `imagePullPolicy: IfNotPresent`.
    IMAGE_PULL_POLICY {
        code: "KD321",
        name: "image-pull-policy",
        title: "Image pull policy lets nodes run different images",
        severity: Warning,
        commands: [Audit],
        run: image_pull_policy,
    }
}

fn image_pull_policy(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for w in &ctx.cluster.workloads {
        for c in w.all_containers() {
            let policy = c.image_pull_policy.as_str();
            let msg = match policy {
                "Never" => "imagePullPolicy is Never: each node runs whatever image it already has"
                    .to_string(),
                "IfNotPresent" if mutable(&c.image) => format!(
                    "imagePullPolicy is IfNotPresent with the moving image `{}`",
                    c.image
                ),
                _ => continue,
            };
            out.push(
                container_finding(&IMAGE_PULL_POLICY.meta, w, c, msg)
                    .evidence("imagePullPolicy", policy)
                    .remediation("image: ghcr.io/acme/api:2.4.1   # pinned: IfNotPresent is then right\nimagePullPolicy: IfNotPresent\n# or keep the moving tag and always pull:\n# imagePullPolicy: Always"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert_eq!(tag("nginx"), None);
        assert_eq!(tag("localhost:5000/nginx"), None);
        assert_eq!(tag("localhost:5000/nginx:1.2"), Some("1.2"));
        assert!(mutable("nginx:latest") && mutable("nginx"));
        assert!(!mutable("nginx@sha256:abc") && !mutable("nginx:1.25"));
    }
}
