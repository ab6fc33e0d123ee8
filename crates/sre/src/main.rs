//! The `sre` binary. Thin on purpose: everything lives in `sre::run` (src/lib.rs).

fn main() -> std::process::ExitCode {
    let code = sre::main_with_args(std::env::args_os().collect());
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(2))
}
