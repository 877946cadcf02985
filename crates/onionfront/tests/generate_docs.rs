//! `onionfront generate-docs` writes a man page per subcommand and completions for three shells.

use std::process::Command;

#[test]
fn writes_man_pages_and_completions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_onionfront"))
        .args(["generate-docs", "--out"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for page in [
        "onionfront",
        "onionfront-run",
        "onionfront-status",
        "onionfront-init",
    ] {
        let text = std::fs::read_to_string(dir.path().join("man").join(format!("{page}.1")))
            .expect("man page written");
        assert!(text.contains(".TH"), "{page} is a man page");
    }
    let bash =
        std::fs::read_to_string(dir.path().join("completions/onionfront.bash")).expect("bash");
    assert!(bash.contains("keygen") && bash.contains("status"));
    assert!(dir.path().join("completions/_onionfront").exists());
    assert!(dir.path().join("completions/onionfront.fish").exists());
}
