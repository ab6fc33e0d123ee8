//! The generated checks page in docs/ is up to date.

#[test]
fn checks_docs_page_is_current() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/checks/k8s-doctor.md");
    let expected = k8s_doctor::checks::docs_markdown();
    if std::env::var_os("SRE_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &expected).expect("write docs");
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is out of date: run `SRE_UPDATE_DOCS=1 cargo test -p k8s-doctor --test it docs` and commit it",
        path.display()
    );
}
