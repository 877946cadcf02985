//! Directory authorities: key generation with `tor-gencert` and `tor --list-fingerprint`, their
//! `DirAuthority` lines, their torrc (fast testing votes, every relay HSDir), and what onionfront's
//! `tor-network:` section needs from them (v3ident, RSA and ed25519 identities, ORPort).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};

use crate::ports::free_port;
use crate::torrc::{
    TorProcess, mkdir_private, read_nick_value_file, router_torrc, tor_bin, tor_gencert_bin,
};

/// One directory authority.
#[derive(Debug)]
pub struct Authority {
    /// The tor process (nickname = its name).
    pub node: TorProcess,
    /// ORPort on 127.0.0.1.
    pub or_port: u16,
    /// DirPort on 127.0.0.1.
    pub dir_port: u16,
    /// v3 identity (hex): the `fingerprint` of its `authority_certificate`.
    pub v3ident: String,
    /// RSA identity fingerprint (hex), from `data/fingerprint`.
    pub rsa_fingerprint: String,
    /// Ed25519 identity (unpadded base64), from `data/fingerprint-ed25519`.
    pub ed_identity: String,
}

/// What [`Authority::prepare`] produced before the torrc can be written (it needs every
/// authority's line).
#[derive(Debug)]
pub struct PreparedAuthority {
    name: String,
    dir: std::path::PathBuf,
    or_port: u16,
    dir_port: u16,
    v3ident: String,
    rsa_fingerprint: String,
    ed_identity: String,
}

impl PreparedAuthority {
    /// Generate the keys of authority `name` in folder `dir`: `tor-gencert` (authority identity,
    /// signing key and certificate) and `tor --list-fingerprint` (relay identity keys).
    /// Takes a few seconds (RSA-3072): prepare several authorities on parallel threads.
    pub fn prepare(name: &str, dir: &Path) -> Result<PreparedAuthority> {
        let or_port = free_port()?;
        let dir_port = free_port()?;
        let data = dir.join("data");
        let keys = data.join("keys");
        mkdir_private(&keys)?;

        let mut child = Command::new(tor_gencert_bin())
            .arg("--create-identity-key")
            .args(["--passphrase-fd", "0", "-m", "12", "-a"])
            .arg(format!("127.0.0.1:{dir_port}"))
            .arg("-i")
            .arg(keys.join("authority_identity_key"))
            .arg("-s")
            .arg(keys.join("authority_signing_key"))
            .arg("-c")
            .arg(keys.join("authority_certificate"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("running tor-gencert (apt-get install tor)")?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(b"\n")?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "tor-gencert for {name} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let cert = std::fs::read_to_string(keys.join("authority_certificate"))?;
        let v3ident = cert
            .lines()
            .find_map(|l| l.strip_prefix("fingerprint "))
            .map(|s| s.trim().to_owned())
            .ok_or_else(|| anyhow!("no fingerprint line in {name}'s authority_certificate"))?;

        let defaults = dir.join("torrc-defaults");
        std::fs::write(&defaults, "")?;
        let out = Command::new(tor_bin())
            .arg("--list-fingerprint")
            .arg("--defaults-torrc")
            .arg(&defaults)
            .arg("-f")
            .arg(&defaults)
            .arg("--DataDirectory")
            .arg(&data)
            .arg("--ORPort")
            .arg(format!("127.0.0.1:{or_port}"))
            .args(["--Nickname", name, "--Log", "warn stderr"])
            .output()
            .context("running tor --list-fingerprint")?;
        if !out.status.success() {
            bail!(
                "tor --list-fingerprint for {name} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let rsa_fingerprint = read_nick_value_file(&data.join("fingerprint"))?;
        let ed_identity = read_nick_value_file(&data.join("fingerprint-ed25519"))?;
        Ok(PreparedAuthority {
            name: name.to_owned(),
            dir: dir.to_path_buf(),
            or_port,
            dir_port,
            v3ident,
            rsa_fingerprint,
            ed_identity,
        })
    }

    /// Its `DirAuthority` torrc line.
    pub fn dir_authority_line(&self) -> String {
        format!(
            "DirAuthority {} orport={} v3ident={} 127.0.0.1:{} {}",
            self.name, self.or_port, self.v3ident, self.dir_port, self.rsa_fingerprint
        )
    }

    /// Turn into an [`Authority`] with its torrc (not started). `voting_interval` in seconds.
    pub fn into_authority(self, dirauths: &Path, voting_interval: u32) -> Result<Authority> {
        let data = self.dir.join("data");
        let torrc = format!(
            "{router}\
             AuthoritativeDirectory 1\n\
             V3AuthoritativeDirectory 1\n\
             AuthDirMaxServersPerAddr 0\n\
             TestingV3AuthInitialVotingInterval 10\n\
             TestingV3AuthInitialVoteDelay 2\n\
             TestingV3AuthInitialDistDelay 2\n\
             V3AuthVotingInterval {vi}\n\
             V3AuthVoteDelay 4\n\
             V3AuthDistDelay 4\n\
             TestingDirAuthVoteHSDir *\n\
             TestingDirAuthVoteGuard *\n",
            router = router_torrc(&data, dirauths, &self.name, self.or_port, self.dir_port),
            vi = voting_interval,
        );
        Ok(Authority {
            node: TorProcess::new(self.name, &self.dir, torrc)?,
            or_port: self.or_port,
            dir_port: self.dir_port,
            v3ident: self.v3ident,
            rsa_fingerprint: self.rsa_fingerprint,
            ed_identity: self.ed_identity,
        })
    }
}

impl Authority {
    /// The ORPort as `127.0.0.1:PORT`.
    pub fn or_addr(&self) -> String {
        format!("127.0.0.1:{}", self.or_port)
    }
}
