//! `kube-testserver --fixtures PATH... --kubeconfig FILE [--listen ADDR] [--token T] [--tls]
//! [--no-metrics-api]`: serves snapshot objects over the Kubernetes REST protocol until
//! killed (see `sre_test_harness::kube`).

use sre_test_harness::kube::{load_objects, KubeTestServer, Options};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: kube-testserver --fixtures PATH... --kubeconfig FILE [--listen ADDR] [--token TOKEN] [--tls [--client-certs]] [--no-metrics-api]\n\
  --fixtures PATH...  snapshot files or directories (read recursively for .json, .yaml, .yml)\n\
  --kubeconfig FILE   where to write a kubeconfig pointing at the server\n\
  --listen ADDR       address to listen on (default 127.0.0.1:0, a free port)\n\
  --token TOKEN       bearer token every request must carry\n\
  --tls               serve HTTPS with a CA generated at start (written into the kubeconfig)\n\
  --client-certs      with --tls: require a client certificate (written into the kubeconfig)\n\
  --no-metrics-api    serve no metrics.k8s.io group, as a cluster without metrics-server";

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}\n{USAGE}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut fixtures = Vec::new();
    let mut kubeconfig = None;
    let mut options = Options::default();
    let mut args = std::env::args().skip(1).peekable();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--fixtures" => match value("--fixtures") {
                Ok(v) => {
                    fixtures.push(PathBuf::from(v));
                    while let Some(more) = args.next_if(|a| !a.starts_with("--")) {
                        fixtures.push(PathBuf::from(more));
                    }
                }
                Err(e) => return fail(&e),
            },
            "--kubeconfig" => match value("--kubeconfig") {
                Ok(v) => kubeconfig = Some(PathBuf::from(v)),
                Err(e) => return fail(&e),
            },
            "--listen" => match value("--listen").map(|v| v.parse()) {
                Ok(Ok(addr)) => options.listen = Some(addr),
                Ok(Err(e)) => return fail(&format!("--listen: {e}")),
                Err(e) => return fail(&e),
            },
            "--token" => match value("--token") {
                Ok(v) => options.token = Some(v),
                Err(e) => return fail(&e),
            },
            "--tls" => options.tls = true,
            "--client-certs" => options.client_certs = true,
            "--no-metrics-api" => options.metrics_api = false,
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return fail(&format!("unknown argument `{other}`")),
        }
    }
    let Some(kubeconfig) = kubeconfig else {
        return fail("--kubeconfig FILE is required (the server writes a kubeconfig pointing at itself there)");
    };
    let started = std::time::Instant::now();
    let objects = match load_objects(&fixtures) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let loaded = (objects.len(), started.elapsed());
    let server = match KubeTestServer::start_with(objects, options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    // Written to a temporary name and renamed, so a reader never sees half a kubeconfig.
    let partial = kubeconfig.with_extension("partial");
    if let Err(e) = std::fs::copy(server.kubeconfig(), &partial)
        .and_then(|_| std::fs::rename(&partial, &kubeconfig))
    {
        eprintln!("error: cannot write {}: {e}", kubeconfig.display());
        return ExitCode::from(2);
    }
    eprintln!(
        "serving {} objects (loaded in {:.2?}) on {} (kubeconfig {})",
        loaded.0,
        loaded.1,
        server.url(),
        kubeconfig.display()
    );
    // Serves until killed; the server runs on its own threads.
    loop {
        std::thread::park();
    }
}
