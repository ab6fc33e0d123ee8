//! The bundled example snapshot: a small, realistically broken cluster. It is compiled into
//! the binary so that `sre demo` works from any directory, and is also on disk under
//! `examples/k8s-doctor/broken-cluster/` for `--snapshot`.

use crate::model::Cluster;
use crate::snapshot::{parse_bytes, SnapshotError};
use std::path::Path;

macro_rules! example_files {
    ($($name:literal),* $(,)?) => {
        /// `(file name, contents)` of every file of the example snapshot.
        pub const BROKEN_CLUSTER: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../../examples/k8s-doctor/broken-cluster/", $name)))),*
        ];
    };
}

example_files!(
    "deployments.yaml",
    "events.json",
    "kube-system-pods.yaml",
    "namespaces.yaml",
    "node-metrics.json",
    "pod-metrics.json",
    "nodes.yaml",
    "pods.json",
    "version.json",
    "workloads.yaml",
);

/// The directory of the example inside the repository, for messages.
pub const BROKEN_CLUSTER_DIR: &str = "examples/k8s-doctor/broken-cluster";

/// Parses the embedded example snapshot.
pub fn broken_cluster() -> Result<Cluster, SnapshotError> {
    let mut cluster = Cluster::default();
    for (name, text) in BROKEN_CLUSTER {
        let path = Path::new(BROKEN_CLUSTER_DIR).join(name);
        cluster.merge(parse_bytes(&path, text.as_bytes())?);
    }
    cluster.dedup();
    Ok(cluster)
}
