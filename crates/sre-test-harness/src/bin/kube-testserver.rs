//! `kube-testserver --fixtures PATH... --kubeconfig FILE`: serves snapshot objects over the
//! Kubernetes REST protocol on a free loopback port until killed (see `sre_test_harness::kube`).

use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    let mut fixtures = Vec::new();
    let mut kubeconfig = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--fixtures" => fixtures.extend(args.next().map(PathBuf::from)),
            "--kubeconfig" => kubeconfig = args.next().map(PathBuf::from),
            other => {
                eprintln!("error: unknown argument `{other}`\nusage: kube-testserver --fixtures PATH [--fixtures PATH...] --kubeconfig FILE");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let Some(kubeconfig) = kubeconfig else {
        eprintln!("error: --kubeconfig FILE is required (the server writes a kubeconfig pointing at itself there)");
        return std::process::ExitCode::from(2);
    };
    let objects = match sre_test_harness::kube::load_fixtures(&fixtures) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let server = match sre_test_harness::kube::KubeTestServer::start(objects) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::copy(server.kubeconfig(), &kubeconfig) {
        eprintln!("error: cannot write {}: {e}", kubeconfig.display());
        return std::process::ExitCode::from(2);
    }
    eprintln!(
        "serving on {} (kubeconfig {})",
        server.url(),
        kubeconfig.display()
    );
    loop {
        std::thread::park();
    }
}
