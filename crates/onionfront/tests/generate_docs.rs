//! `onionfront generate-docs` writes the layout the Debian package installs: a man page for the
//! command and each subcommand, onionfront.yaml(5) from docs/configuration.md, and completions
//! for three shells that offer no hidden option.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::Command;

const SUBCOMMANDS: [&str; 10] = [
    "keygen",
    "keys",
    "keys-generate",
    "keys-provision",
    "keys-show",
    "init",
    "check",
    "run",
    "status",
    "generate-docs",
];

fn generate(flag: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_onionfront"))
        .args(["generate-docs", flag])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

fn read(dir: &Path, rel: &str) -> String {
    fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn man_pages_are_titled_versioned_and_complete() {
    let dir = generate("--output");
    let d = dir.path();
    let version = env!("CARGO_PKG_VERSION");
    let mut pages = vec!["onionfront".to_string()];
    pages.extend(SUBCOMMANDS.iter().map(|s| format!("onionfront-{s}")));
    for page in &pages {
        let text = read(d, &format!("man/{page}.1"));
        let th = format!(
            ".TH {} 1 {} \"onionfront {version}\" \"onionfront manual\"",
            page.to_uppercase(),
            env!("ONIONFRONT_COMMIT_DATE")
        );
        assert!(text.contains(&th), "{page}: no `{th}` in\n{text}");
        // NAME is the page's own name (roff escapes its dash).
        let name = page.replace('-', "\\-");
        assert!(
            text.contains(&format!(".SH NAME\n{name} \\- ")),
            "{page} NAME:\n{text}"
        );
        assert!(text.contains(".SH \"EXIT STATUS\""), "{page}:\n{text}");
        assert!(text.contains(".SH \"SEE ALSO\""), "{page}:\n{text}");
        // Every page it refers to is written.
        for (i, _) in text.match_indices("onionfront\\-") {
            let rest = &text[i + "onionfront\\-".len()..];
            if let Some(end) = rest.find("(1)") {
                let sub = &rest[..end];
                if sub
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '\\' || c == '-')
                {
                    let file = format!("man/onionfront-{}.1", sub.replace("\\-", "-"));
                    assert!(d.join(&file).exists(), "{page} refers to missing {file}");
                }
            }
        }
        assert!(!text.contains("onionfront\\-help"), "{page}:\n{text}");
        // Hidden Onionbalance options are not documented.
        assert!(!text.contains("is\\-testnet"), "{page}");
    }
    // Nested subcommands get their own page with their options.
    let provision = read(d, "man/onionfront-keys-provision.1");
    for option in [
        "\\-\\-hsdir\\-interval",
        "\\-\\-voting\\-interval",
        "\\-\\-periods",
    ] {
        assert!(provision.contains(option), "{option}:\n{provision}");
    }
    assert!(read(d, "man/onionfront-keys.1").contains("onionfront\\-keys\\-provision(1)"));
    let main = read(d, "man/onionfront.1");
    for section in [".SH ENVIRONMENT", ".SH FILES", ".SH SIGNALS"] {
        assert!(main.contains(section), "{section}:\n{main}");
    }
    assert!(main.contains("ONIONFRONT_CONFIG") && main.contains("/run/onionfront/control"));
    let status = read(d, "man/onionfront-status.1");
    for state in ["0 (OK)", "1 (WARNING)", "2 (CRITICAL)", "3 (UNKNOWN)"] {
        assert!(status.contains(state), "{state}:\n{status}");
    }
    assert!(status.contains("group onionfront"), "{status}");
    // Our sections come before clap's VERSION section.
    let exit = main.find(".SH \"EXIT STATUS\"").unwrap();
    assert!(main.find(".SH VERSION").is_none_or(|v| v > exit));
}

#[test]
fn config_page_is_made_from_configuration_md() {
    let dir = generate("-o");
    let page = read(dir.path(), "man/onionfront.yaml.5");
    assert!(
        page.contains(&format!(
            ".TH ONIONFRONT.YAML 5 {} \"onionfront {}\" \"onionfront manual\"",
            env!("ONIONFRONT_COMMIT_DATE"),
            env!("CARGO_PKG_VERSION")
        )),
        "{page}"
    );
    assert!(page.contains(".SH NAME\nonionfront.yaml \\- "), "{page}");
    let md = read(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        "../../docs/configuration.md",
    );
    // Every `## section` and every key of the key tables is in the page.
    for line in md.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            let h = h.replace('`', "").to_uppercase();
            assert!(
                page.contains(&format!(".SH {h}")) || page.contains(&format!(".SH \"{h}\"")),
                "section {h}"
            );
        }
        if let Some(key) = line.strip_prefix("| `").and_then(|l| l.split('`').next()) {
            let key = key.replace('-', "\\-");
            assert!(
                page.contains(&format!("\\fB{key}\\fR")),
                "key {key} not in the page"
            );
        }
    }
    assert!(page.contains(".nf\n"), "code blocks are unfilled");
    assert!(!page.contains("```"), "no markdown left");
}

#[test]
fn completions_cover_subcommands_but_no_hidden_option() {
    let dir = generate("--out");
    let d = dir.path();
    for file in ["onionfront.bash", "_onionfront", "onionfront.fish"] {
        let text = read(d, &format!("completions/{file}"));
        for sub in SUBCOMMANDS {
            let word = sub.strip_prefix("keys-").unwrap_or(sub);
            assert!(text.contains(word), "{file} lacks {sub}");
        }
        for visible in [
            "--log-level",
            "--output",
            "--socket",
            "--format",
            "--hsdir-interval",
            "--voting-interval",
        ] {
            assert!(
                text.contains(visible.trim_start_matches('-')),
                "{file} lacks {visible}"
            );
        }
        for hidden in ["is-testnet", "hs-version", "--ip", "'--out'", "--out "] {
            assert!(!text.contains(hidden), "{file} offers hidden {hidden}");
        }
    }
}
