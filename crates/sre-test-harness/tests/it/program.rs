use sre_test_harness::{require_program, require_program_in};

use crate::expect_panic;

#[test]
fn finds_a_program_on_path() {
    let sh = require_program("sh", "dash");
    assert!(sh.is_absolute(), "{}", sh.display());
    assert!(sh.ends_with("sh"));
}

#[test]
fn a_missing_program_panics_naming_its_package() {
    let message = expect_panic(|| require_program("sre-no-such-program-xyz", "sre-some-package"));
    assert!(
        message.starts_with("`sre-no-such-program-xyz` not found: install it with `apt-get install -y --no-install-recommends sre-some-package`"),
        "{message}"
    );
    assert!(message.contains("cargo xtask test"), "{message}");
}

#[test]
fn searches_extra_directories_with_a_star() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("v12").join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let program = bin.join("sre-fake-tool");
    std::fs::write(&program, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let pattern = format!("{}/*/bin", dir.path().display());
    assert_eq!(
        require_program_in("sre-fake-tool", "x", &[&pattern]),
        program
    );
}
