//! Relays: non-exit, every one a guard and HSDir (the authorities vote so), on 127.0.0.1.

use std::path::Path;

use anyhow::Result;

use crate::ports::free_port;
use crate::torrc::{TorProcess, read_nick_value_file, router_torrc};

/// One relay.
#[derive(Debug)]
pub struct Relay {
    /// The tor process (nickname = its name).
    pub node: TorProcess,
    /// ORPort on 127.0.0.1.
    pub or_port: u16,
    /// DirPort on 127.0.0.1.
    pub dir_port: u16,
}

impl Relay {
    /// A relay named `name` (also its nickname) in folder `dir`; not started.
    pub fn new(name: &str, dir: &Path, dirauths: &Path) -> Result<Relay> {
        let or_port = free_port()?;
        let dir_port = free_port()?;
        let torrc = router_torrc(&dir.join("data"), dirauths, name, or_port, dir_port);
        Ok(Relay {
            node: TorProcess::new(name, dir, torrc)?,
            or_port,
            dir_port,
        })
    }

    /// Its RSA identity fingerprint (hex), once tor has written it.
    pub fn rsa_fingerprint(&self) -> Result<String> {
        read_nick_value_file(&self.node.data_dir().join("fingerprint"))
    }
}
