//! Tests of [`super::ServiceKey`]: known answers, round trips in both formats, and every refusal
//! with its exact message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use tor_llcrypto::pk::ed25519::{ExpandedKeypair, Keypair};

use super::*;

/// Seed 0x00, 0x01, ..., 0x1f (see testdata/README.md for how the answers were computed).
const SEED: [u8; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31,
];
const SEED_ADDRESS: &str = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead.onion";
const SEED_EXPANDED_HEX: &str = "3894eea49c580aef816935762be049559d6d1440dede12e6a125f1841fff8e6f\
                                 a9d71862a3e5746b571be3d187b0041046f52ebd850c7cbd5fde8ee38473b649";
const SEED_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
                        MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n\
                        -----END PRIVATE KEY-----\n";

const CTOR_SECRET: &[u8] = include_bytes!("testdata/ctor/hs_ed25519_secret_key");
const CTOR_PUBLIC: &[u8] = include_bytes!("testdata/ctor/hs_ed25519_public_key");
const CTOR_HOSTNAME: &str = include_str!("testdata/ctor/hostname");

fn write(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
    p
}

fn err(path: &Path, data: &[u8], mode: u32) -> String {
    let dir = path.parent().unwrap();
    let p = write(dir, path.file_name().unwrap().to_str().unwrap(), data, mode);
    ServiceKey::load(&p).unwrap_err().to_string()
}

#[test]
fn seed_known_answer() {
    let key = ServiceKey::from_seed(&SEED);
    assert_eq!(key.address().to_string(), SEED_ADDRESS);
    let file = key.ctor_secret_file();
    assert_eq!(&file[..32], ctor::SECRET_TAG);
    assert_eq!(
        data_encoding::HEXLOWER.encode(&file[32..]),
        SEED_EXPANDED_HEX
    );
    assert_eq!(key.to_pem().unwrap().as_str(), SEED_PEM);
    // Arti's own expansion of the seed gives the same public key and signatures.
    let via_seed = ExpandedKeypair::from(&Keypair::from_bytes(&SEED));
    let mut expanded = [0u8; 64];
    expanded.copy_from_slice(&file[32..]);
    let via_ctor = ServiceKey::from_expanded(&expanded).unwrap();
    assert_eq!(via_ctor.address(), key.address());
    let msg = b"onionfront";
    assert_eq!(
        via_seed.sign(msg).to_bytes(),
        via_ctor.keypair().as_ref().sign(msg).to_bytes()
    );
    assert_eq!(
        key.keypair().as_ref().sign(msg).to_bytes(),
        via_ctor.keypair().as_ref().sign(msg).to_bytes()
    );
}

#[test]
fn real_ctor_key_known_answer_and_byte_exact_rewrite() {
    let key = ServiceKey::parse(CTOR_SECRET, Path::new("hs_ed25519_secret_key")).unwrap();
    assert_eq!(key.format(), KeyFormat::CTor);
    assert_eq!(key.address().to_string(), CTOR_HOSTNAME.trim());
    assert!(key.to_pem().is_none());
    assert_eq!(key.ctor_secret_file().as_slice(), CTOR_SECRET);
    assert_eq!(key.ctor_public_file(), CTOR_PUBLIC);
    assert_eq!(
        ctor::parse_public(CTOR_PUBLIC),
        Some(*key.address().public_key())
    );
    let dir = tempfile::tempdir().unwrap();
    let files = key.write_ctor(&dir.path().join("hs")).unwrap();
    assert_eq!(fs::read(&files.secret).unwrap(), CTOR_SECRET);
    assert_eq!(fs::read(&files.public).unwrap(), CTOR_PUBLIC);
    assert_eq!(fs::read_to_string(&files.hostname).unwrap(), CTOR_HOSTNAME);
}

#[test]
fn ctor_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let key = ServiceKey::generate();
    assert_eq!(key.format(), KeyFormat::Generated);
    let files = key.write_ctor(dir.path()).unwrap();
    #[cfg(unix)]
    for p in [&files.secret, &files.public, &files.hostname] {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let loaded = ServiceKey::load(&files.secret).unwrap();
    assert_eq!(loaded.format(), KeyFormat::CTor);
    assert_eq!(loaded.address(), key.address());
    assert_eq!(
        fs::read_to_string(&files.hostname).unwrap(),
        format!("{}\n", key.address())
    );
    // Same signatures from the generated and the reloaded key.
    assert_eq!(
        key.keypair().as_ref().sign(b"x").to_bytes(),
        loaded.keypair().as_ref().sign(b"x").to_bytes()
    );
    // Writing again refuses, and names the first existing file.
    let e = key.write_ctor(dir.path()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{} already exists; refusing to overwrite it",
            files.secret.display()
        )
    );
}

#[test]
fn pem_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let key = ServiceKey::generate();
    let pem = key.to_pem().unwrap();
    let p = write(dir.path(), "whatever.name", pem.as_bytes(), 0o600);
    let loaded = ServiceKey::load(&p).unwrap();
    assert_eq!(loaded.format(), KeyFormat::Pem);
    assert_eq!(loaded.address(), key.address());
    // PEM imported into C tor format keeps the address.
    let files = loaded.write_ctor(&dir.path().join("ctor")).unwrap();
    assert_eq!(
        ServiceKey::load(&files.secret).unwrap().address(),
        key.address()
    );
    // Format detection is by content: a C tor key named like a PEM file works too.
    let odd = write(
        dir.path(),
        "key.pem",
        &ServiceKey::from_seed(&SEED).ctor_secret_file(),
        0o600,
    );
    assert_eq!(
        ServiceKey::load(&odd).unwrap().address().to_string(),
        SEED_ADDRESS
    );
    // Leading whitespace and CRLF line ends are fine.
    let crlf = format!("\n{}", SEED_PEM.replace('\n', "\r\n"));
    let p = write(dir.path(), "crlf.key", crlf.as_bytes(), 0o600);
    assert_eq!(
        ServiceKey::load(&p).unwrap().address().to_string(),
        SEED_ADDRESS
    );
}

#[test]
fn pkcs8_v2_with_public_key() {
    use base64::Engine as _;
    let key = ServiceKey::from_seed(&SEED);
    let mut der = hex("3051020101300506032b657004220420");
    der.extend_from_slice(&SEED);
    der.extend_from_slice(&hex("812100"));
    der.extend_from_slice(key.address().public_key());
    let pem = |der: &[u8]| {
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
    };
    let parsed = ServiceKey::parse(pem(&der).as_bytes(), Path::new("k")).unwrap();
    assert_eq!(parsed.address().to_string(), SEED_ADDRESS);
    let last = der.len() - 1;
    der[last] ^= 1;
    assert_eq!(
        ServiceKey::parse(pem(&der).as_bytes(), Path::new("k"))
            .unwrap_err()
            .to_string(),
        "k: invalid Onionbalance PEM key: the public key in the file does not match its private key"
    );
}

fn hex(s: &str) -> Vec<u8> {
    data_encoding::HEXLOWER.decode(s.as_bytes()).unwrap()
}

#[test]
fn refusals_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let missing = d.join("nope");
    assert_eq!(
        ServiceKey::load(&missing).unwrap_err().to_string(),
        format!("key file {} does not exist", missing.display())
    );
    assert_eq!(
        ServiceKey::load(d).unwrap_err().to_string(),
        format!(
            "{} is a directory, not a key file; point at the hs_ed25519_secret_key file inside it",
            d.display()
        )
    );
    let p = d.join("garbage");
    assert_eq!(
        err(&p, b"hello world\n", 0o600),
        format!(
            "{} is not a key onionfront understands: expected C tor's hs_ed25519_secret_key \
             (96 bytes starting with \"== ed25519v1-secret: type0 ==\") or Onionbalance's PEM key \
             (\"-----BEGIN PRIVATE KEY-----\")",
            p.display()
        )
    );
    let p = d.join("hs_ed25519_public_key");
    assert_eq!(
        err(&p, CTOR_PUBLIC, 0o600),
        format!(
            "{} is a public key (hs_ed25519_public_key); use the secret key file \
             hs_ed25519_secret_key next to it",
            p.display()
        )
    );
    let p = d.join("short");
    assert_eq!(
        err(&p, &CTOR_SECRET[..95], 0o600),
        format!(
            "{}: invalid C tor hs_ed25519_secret_key key: expected 96 bytes (32-byte tag and \
             64-byte key), found 95",
            p.display()
        )
    );
    let p = d.join("enc.pem");
    assert_eq!(
        err(
            &p,
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            0o600
        ),
        format!(
            "{}: invalid Onionbalance PEM key: encrypted PEM keys are not supported (Onionbalance \
             does not support them either); decrypt it with `openssl pkey -in FILE -out NEWFILE`",
            p.display()
        )
    );
}

#[cfg(unix)]
#[test]
fn refuses_group_or_world_accessible_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k");
    for mode in [0o644, 0o640, 0o604, 0o660, 0o602] {
        assert_eq!(
            err(&p, CTOR_SECRET, mode),
            format!(
                "key file {} is accessible by group or others (mode {mode:04o}); run `chmod 600 {}`",
                p.display(),
                p.display()
            )
        );
    }
    assert!(ServiceKey::load_with(&p, PermissionCheck::Permissive).is_ok());
    for mode in [0o600, 0o400] {
        write(dir.path(), "k", CTOR_SECRET, mode);
        assert!(ServiceKey::load(&p).is_ok());
    }
}

#[test]
fn debug_shows_only_the_address() {
    let key = ServiceKey::from_seed(&SEED);
    assert_eq!(format!("{key:?}"), format!("ServiceKey({SEED_ADDRESS})"));
    assert_eq!(format!("{:?}", KeyFormat::CTor), "CTor");
}
