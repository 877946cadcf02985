//! The `onionfront` binary end to end: keygen, init → check, Onionbalance's own folder accepted
//! by check, and env var precedence. (The version and help texts: tests/cli_usage.rs.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use onionfront_core::keys::ServiceKey;

mod common;
use common::{onionfront, run};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn chmod(p: &Path, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

#[test]
fn keygen_writes_ctor_files_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new/key");
    let (code, out, err) = run(&mut onionfront(&["keygen", "--output", s(&dir)]));
    assert_eq!(code, 0, "{err}");
    let address = out.trim();
    assert!(address.ends_with(".onion") && address.len() == 62, "{out}");
    assert!(err.contains("hs_ed25519_secret_key"), "{err}");
    let secret = dir.join("hs_ed25519_secret_key");
    let loaded = ServiceKey::load(&secret).unwrap();
    assert_eq!(loaded.address().to_string(), address);
    assert_eq!(
        fs::read_to_string(dir.join("hostname")).unwrap(),
        format!("{address}\n")
    );
    assert_eq!(
        fs::read(dir.join("hs_ed25519_public_key")).unwrap(),
        loaded.ctor_public_file()
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700);
        for f in ["hs_ed25519_secret_key", "hs_ed25519_public_key", "hostname"] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
        }
    }
    let before = fs::read(&secret).unwrap();
    let (code, out, err) = run(&mut onionfront(&["keygen", "--out", s(&dir)]));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(
        err,
        format!(
            "onionfront: error: cannot write the new key: {} already exists; refusing to \
             overwrite it\n",
            secret.display()
        )
    );
    assert_eq!(fs::read(&secret).unwrap(), before);
}

/// Replace the `"<backend-N onion address>"` placeholders of `config` with `addresses`.
fn fill_placeholders(config: &Path, addresses: &[String]) {
    let mut text = fs::read_to_string(config).unwrap();
    for (i, a) in addresses.iter().enumerate() {
        let ph = format!("\"<backend-{} onion address>\"", i + 1);
        assert!(text.contains(&ph), "{ph} not in\n{text}");
        text = text.replace(&ph, a);
    }
    fs::write(config, text).unwrap();
}

#[test]
fn init_then_check() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("of");
    let (code, out, err) = run(&mut onionfront(&["init", "--output", s(&dir)]));
    assert_eq!(code, 0, "{err}");
    let config = dir.join("config.yaml");
    let key = dir.join("keys/service-1/hs_ed25519_secret_key");
    let main = ServiceKey::load(&key).unwrap().address().to_string();
    assert!(out.contains(&main), "{out}");
    assert!(out.contains("Next steps:"), "{out}");
    assert!(
        out.contains(&format!("onionfront check -c {}", config.display())),
        "{out}"
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&config), 0o600);
    }
    for n in 1..=2 {
        let b = dir.join(format!("backends/backend-{n}"));
        assert_eq!(
            fs::read_to_string(b.join("ob_config")).unwrap(),
            format!("MasterOnionAddress {main}\n")
        );
        let torrc = fs::read_to_string(b.join("torrc")).unwrap();
        assert!(
            torrc.ends_with(&format!(
                "HiddenServiceDir /var/lib/tor/onionfront-backend-{n}\n\
                 HiddenServicePort 80 127.0.0.1:8080\n\
                 HiddenServiceOnionBalanceInstance 1\n"
            )),
            "{torrc}"
        );
    }

    // As written, check explains the placeholders.
    let (code, out, err) = run(&mut onionfront(&["check", "-c", s(&config)]));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    for (i, line) in lines[..2].iter().enumerate() {
        let want = format!(
            "services[0].instances[{i}].address: placeholder \"<backend-{} onion address>\" not replaced",
            i + 1
        );
        assert!(
            line.starts_with(&format!("{}:", config.display())),
            "{line}"
        );
        assert!(line.contains(&want), "{line}");
    }
    assert_eq!(
        lines[2],
        format!(
            "{}: 2 problems; onionfront would not start with this config.",
            config.display()
        )
    );

    // With the backends' addresses filled in, it is accepted.
    let backends: Vec<String> = (0..2)
        .map(|_| ServiceKey::generate().address().to_string())
        .collect();
    fill_placeholders(&config, &backends);
    let (code, out, err) = run(&mut onionfront(&["check", "-c", s(&config)]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "");
    assert!(
        out.starts_with(&format!("{}: OK\nservice 1: {main}\n", config.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!("    {}  (backend-1)\n", backends[0])),
        "{out}"
    );
    assert!(
        out.contains(&format!("    {}  (backend-2)\n", backends[1])),
        "{out}"
    );
    // --quiet (the unit's ExecStartPre): nothing when fine, so no address reaches the journal.
    let quiet = run(&mut onionfront(&["check", "--quiet", "-c", s(&config)]));
    assert_eq!(quiet, (0, String::new(), String::new()));
    assert!(
        out.contains(&format!(
            "status socket: {} (from status-socket-location)",
            dir.join("status.sock").display()
        )),
        "{out}"
    );

    // init again refuses, and changes nothing.
    let before = fs::read(&config).unwrap();
    let (code, _, err) = run(&mut onionfront(&["init", "--output", s(&dir)]));
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "onionfront: error: {} already exists; refusing to overwrite it (choose another \
             --output folder)\n",
            config.display()
        )
    );
    assert_eq!(fs::read(&config).unwrap(), before);
}

#[test]
fn init_imports_keys_of_both_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // An Onionbalance PEM key and a C tor key.
    let pem = ServiceKey::generate();
    let pem_path = t.join("ob.key");
    fs::write(&pem_path, pem.to_pem().unwrap().as_bytes()).unwrap();
    let ctor = ServiceKey::generate();
    let ctor_files = ctor.write_ctor(&t.join("hs")).unwrap();
    #[cfg(unix)]
    chmod(&pem_path, 0o600);
    let backends: Vec<String> = (0..3)
        .map(|_| ServiceKey::generate().address().to_string())
        .collect();
    let dir = t.join("of");
    let mut args = vec![
        "init",
        "-o",
        s(&dir),
        "--key",
        s(&pem_path),
        "--key",
        s(&ctor_files.secret),
        "--services",
        "3",
    ];
    for b in &backends {
        args.push("--instance");
        args.push(b);
    }
    let (code, out, err) = run(&mut onionfront(&args));
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("placeholders"), "{out}");
    let k1 = ServiceKey::load(&dir.join("keys/service-1/hs_ed25519_secret_key")).unwrap();
    let k2 = ServiceKey::load(&dir.join("keys/service-2/hs_ed25519_secret_key")).unwrap();
    let k3 = ServiceKey::load(&dir.join("keys/service-3/hs_ed25519_secret_key")).unwrap();
    assert_eq!(k1.address(), pem.address());
    assert_eq!(k2.address(), ctor.address());
    // Imported into C tor format, byte for byte for the C tor key.
    assert_eq!(
        fs::read(dir.join("keys/service-2/hs_ed25519_secret_key")).unwrap(),
        fs::read(&ctor_files.secret).unwrap()
    );
    let ob_config = fs::read_to_string(dir.join("backends/backend-3/ob_config")).unwrap();
    assert_eq!(
        ob_config,
        format!(
            "MasterOnionAddress {}\nMasterOnionAddress {}\nMasterOnionAddress {}\n",
            k1.address(),
            k2.address(),
            k3.address()
        )
    );
    let config = dir.join("config.yaml");
    let (code, out, err) = run(&mut onionfront(&["check", "-c", s(&config)]));
    assert_eq!(code, 0, "{err}");
    for k in [&k1, &k2, &k3] {
        assert!(out.contains(&k.address().to_string()), "{out}");
    }
    assert_eq!(out.matches(&backends[2]).count(), 3, "{out}");

    // A world-readable key is refused for import.
    #[cfg(unix)]
    {
        chmod(&pem_path, 0o644);
        let (code, _, err) = run(&mut onionfront(&[
            "init",
            "-o",
            s(&t.join("of2")),
            "--key",
            s(&pem_path),
        ]));
        assert_eq!(code, 1);
        assert!(
            err.contains(&format!("run `chmod 600 {}`", pem_path.display())),
            "{err}"
        );
        assert!(!t.join("of2").exists());
    }
}

fn copy_fixture(to: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onionbalance");
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    to.join("config.yaml")
}

#[test]
fn onionbalance_folder_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let config = copy_fixture(tmp.path());
    let key_name = "hmdiirjc37ia35tltfgmi323qotc3zrumxnodmscqdryxz2l5ajlqgad.key";
    let key = tmp.path().join(key_name);
    #[cfg(unix)]
    {
        // As checked out by git: readable by others, refused with the fix.
        chmod(&key, 0o644);
        let (code, _, err) = run(&mut onionfront(&["check", "-c", s(&config)]));
        assert_eq!(code, 1);
        assert_eq!(
            err.lines().next().unwrap(),
            format!(
                "{}:8:8: services[0].key: key file {} is accessible by group or others (mode \
                 0644); run `chmod 600 {}`",
                config.display(),
                key.display(),
                key.display()
            )
        );
        chmod(&key, 0o600);
    }
    let (code, out, err) = run(&mut onionfront(&["check", "-c", s(&config)]));
    assert_eq!(code, 0, "{err}");
    let address = key_name.trim_end_matches(".key");
    assert!(
        out.contains(&format!("service 1: {address}.onion\n")),
        "{out}"
    );
    assert!(out.contains("(Onionbalance PEM)"), "{out}");
    assert!(
        out.contains("aw55bp5myvu5wk3tklnl5dfumlscj3nj37g4abtom57qjc3y27wjfhyd.onion  (node1)")
    );
    // Onionbalance's env var for the config works too (no -c).
    let (code, out, err) = run(onionfront(&["check"]).env("ONIONBALANCE_CONFIG", &config));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(address), "{out}");
}

#[test]
fn env_var_precedence() {
    let tmp = tempfile::tempdir().unwrap();
    let config = copy_fixture(tmp.path());
    #[cfg(unix)]
    chmod(
        &tmp.path()
            .join("hmdiirjc37ia35tltfgmi323qotc3zrumxnodmscqdryxz2l5ajlqgad.key"),
        0o600,
    );
    let missing = tmp.path().join("missing.yaml");
    // ONIONFRONT_CONFIG wins over ONIONBALANCE_CONFIG.
    let (code, _, err) = run(onionfront(&["check"])
        .env("ONIONFRONT_CONFIG", &missing)
        .env("ONIONBALANCE_CONFIG", &config));
    assert_eq!(code, 1);
    assert!(
        err.starts_with(&format!(
            "{}: cannot read the config file",
            missing.display()
        )),
        "{err}"
    );
    // -c wins over both.
    let (code, _, err) = run(onionfront(&["check", "-c", s(&config)])
        .env("ONIONFRONT_CONFIG", &missing)
        .env("ONIONBALANCE_CONFIG", &missing));
    assert_eq!(code, 0, "{err}");
    // An empty value counts as unset.
    let (code, _, err) = run(onionfront(&["check"])
        .env("ONIONFRONT_CONFIG", "")
        .env("ONIONBALANCE_CONFIG", &config));
    assert_eq!(code, 0, "{err}");
    // Status socket: ONIONFRONT_STATUS_SOCKET > ONIONBALANCE_STATUS_SOCKET_LOCATION > config.
    let (_, out, _) = run(&mut onionfront(&["check", "-c", s(&config)]));
    assert!(out.contains("status socket: none"), "{out}");
    let (_, out, _) = run(onionfront(&["check", "-c", s(&config)])
        .env("ONIONBALANCE_STATUS_SOCKET_LOCATION", "/tmp/ob.sock"));
    assert!(
        out.contains("status socket: /tmp/ob.sock (from ONIONBALANCE_STATUS_SOCKET_LOCATION)"),
        "{out}"
    );
    let (_, out, _) = run(onionfront(&["check", "-c", s(&config)])
        .env("ONIONBALANCE_STATUS_SOCKET_LOCATION", "/tmp/ob.sock")
        .env("ONIONFRONT_STATUS_SOCKET", "/tmp/of.sock"));
    assert!(
        out.contains("status socket: /tmp/of.sock (from ONIONFRONT_STATUS_SOCKET)"),
        "{out}"
    );
}

#[test]
fn check_reports_every_problem_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config.yaml");
    fs::write(
        &config,
        "services:\n  - key: nokey\n    instances:\n      - address: abc.onion\n    helth: 1\n",
    )
    .unwrap();
    let (code, out, err) = run(&mut onionfront(&["check", "-c", s(&config)]));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    let c = config.display();
    assert_eq!(
        err,
        format!(
            "{c}:4:18: services[0].instances[0].address: expected 56 base32 characters \
             (optionally followed by .onion), found 3\n\
             {c}:5:5: services[0]: unknown key `helth`\n\
             {c}: 2 problems; onionfront would not start with this config.\n"
        )
    );
}
