//! The network's nodes while it runs: the consensus the authorities serve, the client, the
//! backends (added, stopped, restarted, each waited for until it uploaded its descriptors) and the
//! relays.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};

use super::{BOOTSTRAP_TIMEOUT, Network, READY_UPLOADS, UPLOAD_TIMEOUT};
use crate::backend::Backend;
use crate::client::Client;
use crate::torrc::TorProcess;
use crate::wait::poll_until;

impl Network {
    pub(super) fn routers(&self) -> impl Iterator<Item = &TorProcess> {
        self.authorities
            .iter()
            .map(|a| &a.node)
            .chain(self.relays.iter().map(|r| &r.node))
    }

    fn check_routers_alive(&mut self) -> Result<()> {
        for a in &mut self.authorities {
            a.node.check_alive()?;
        }
        for r in &mut self.relays {
            if r.node.pid().is_some() {
                r.node.check_alive()?;
            }
        }
        Ok(())
    }

    /// The current microdesc consensus as served by authority `i`'s DirPort.
    pub fn fetch_consensus(&self, i: usize) -> Result<String> {
        let a = self
            .authorities
            .get(i)
            .ok_or_else(|| anyhow!("no authority {i}"))?;
        http_get_plain(a.dir_port, "/tor/status-vote/current/consensus-microdesc")
    }

    /// Wait until authority 0 serves a consensus listing every running router with HSDir.
    pub fn wait_for_consensus(&mut self, timeout: Duration) -> Result<()> {
        let want: Vec<String> = self.routers().map(|n| n.name().to_owned()).collect();
        poll_until(
            "a consensus listing every router as HSDir",
            timeout,
            Duration::from_millis(500),
            || {
                self.check_routers_alive()?;
                let Ok(text) = self.fetch_consensus(0) else {
                    return Ok(None);
                };
                let hsdirs = hsdirs_in_consensus(&text);
                Ok(want.iter().all(|n| hsdirs.contains(n)).then_some(()))
            },
        )
    }

    pub(super) fn start_new_client(&mut self) -> Result<()> {
        self.start_new_client_with("")
    }

    fn start_new_client_with(&mut self, extra_torrc: &str) -> Result<()> {
        let name = format!("client{}", self.clients_made);
        self.clients_made += 1;
        let mut c =
            Client::with_torrc(&name, &self.dir().join(&name), &self.dirauths, extra_torrc)?;
        c.node.start()?;
        self.client = Some(c);
        Ok(())
    }

    /// The current client.
    pub fn client(&self) -> Result<&Client> {
        self.client
            .as_ref()
            .ok_or_else(|| anyhow!("no client started"))
    }

    /// Replace the client by a new C tor client (new state: no memory of failed HSDir lookups)
    /// and wait until it has bootstrapped. The old one is stopped.
    pub fn fresh_client(&mut self) -> Result<&Client> {
        self.fresh_client_with_torrc("")
    }

    /// [`Network::fresh_client`] with extra torrc lines (e.g. `ClientOnionAuthDir DIR`).
    pub fn fresh_client_with_torrc(&mut self, extra_torrc: &str) -> Result<&Client> {
        if let Some(mut old) = self.client.take() {
            old.node.stop()?;
        }
        self.start_new_client_with(extra_torrc)?;
        let c = self
            .client
            .as_mut()
            .ok_or_else(|| anyhow!("client vanished"))?;
        c.wait_ready(BOOTSTRAP_TIMEOUT)?;
        Ok(c)
    }

    /// Start a backend `name` serving for `main_addrs` and wait until it is ready. Returns its
    /// index in [`Network::backends`].
    pub fn add_backend(&mut self, name: &str, main_addrs: &[String]) -> Result<usize> {
        self.add_backends(&[(name.to_owned(), main_addrs.to_vec())])?;
        Ok(self.backends.len() - 1)
    }

    /// Start several backends (name, main addresses) at once and wait until all are ready.
    pub fn add_backends(&mut self, specs: &[(String, Vec<String>)]) -> Result<()> {
        let first = self.backends.len();
        for (name, mains) in specs {
            if self.backends.iter().any(|b| &b.name == name) {
                bail!("a backend named {name} exists already");
            }
            let dir = self.dir().join(format!("backend-{name}"));
            let mut b =
                Backend::with_torrc(name, &dir, &self.dirauths, mains, &self.backend_torrc)?;
            b.node.start()?;
            self.backends.push(b);
        }
        let befores = vec![0; specs.len()];
        self.wait_backends_ready(first, &befores)
    }

    fn wait_backends_ready(&mut self, first: usize, uploads_before: &[usize]) -> Result<()> {
        let t0 = Instant::now();
        for b in &mut self.backends[first..] {
            b.wait_ready(BOOTSTRAP_TIMEOUT)?;
        }
        for (b, &before) in self.backends[first..].iter_mut().zip(uploads_before) {
            wait_ready_uploads(b, before)?;
            eprintln!(
                "[harness] backend {} ready ({}), {} uploads, after {:.1?}",
                b.name,
                b.address()?,
                b.uploads() - before,
                t0.elapsed()
            );
        }
        Ok(())
    }

    fn backend_mut(&mut self, i: usize) -> Result<&mut Backend> {
        self.backends
            .get_mut(i)
            .ok_or_else(|| anyhow!("no backend {i}"))
    }

    /// Stop backend `i`'s tor (its HTTP server keeps running). Its descriptors stay on the HSDirs.
    pub fn stop_backend(&mut self, i: usize) -> Result<()> {
        self.backend_mut(i)?.node.stop()
    }

    /// Restart backend `i`'s tor (same keys, same address) and wait until it is ready again.
    pub fn start_backend(&mut self, i: usize) -> Result<()> {
        let b = self.backend_mut(i)?;
        let before = b.uploads();
        b.node.start()?;
        self.wait_backends_ready_one(i, before)
    }

    fn wait_backends_ready_one(&mut self, i: usize, before: usize) -> Result<()> {
        let b = self.backend_mut(i)?;
        b.wait_ready(BOOTSTRAP_TIMEOUT)?;
        wait_ready_uploads(b, before)
    }

    /// Stop relay `i`.
    pub fn stop_relay(&mut self, i: usize) -> Result<()> {
        self.relays
            .get_mut(i)
            .ok_or_else(|| anyhow!("no relay {i}"))?
            .node
            .stop()
    }

    /// RSA identity fingerprint (hex) of relay `i`.
    pub fn relay_fingerprint(&self, i: usize) -> Result<String> {
        self.relays
            .get(i)
            .ok_or_else(|| anyhow!("no relay {i}"))?
            .rsa_fingerprint()
    }

    /// Restart relay `i` (does not wait for the next consensus).
    pub fn start_relay(&mut self, i: usize) -> Result<()> {
        self.relays
            .get_mut(i)
            .ok_or_else(|| anyhow!("no relay {i}"))?
            .node
            .start()
    }
}

/// Wait for [`READY_UPLOADS`] uploads by `b` since `before`. A timeout only warns (clients
/// retry, and the warning reaches the failure file); `b` having exited is an error.
fn wait_ready_uploads(b: &mut Backend, before: usize) -> Result<()> {
    if let Err(e) = b.wait_uploads(before, READY_UPLOADS, UPLOAD_TIMEOUT) {
        b.node.check_alive()?;
        crate::failures::warning(&format!("{e:#}"));
    }
    Ok(())
}

/// Nicknames listed with the HSDir flag in a (microdesc) consensus.
pub fn hsdirs_in_consensus(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<&str> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("r ") {
            current = rest.split_whitespace().next();
        } else if let Some(flags) = line.strip_prefix("s ")
            && let Some(nick) = current.take()
            && flags.split_whitespace().any(|f| f == "HSDir")
        {
            out.push(nick.to_owned());
        }
    }
    out
}

/// A plain HTTP/1.0 GET of `path` on 127.0.0.1:`port`; the body of a 200 response.
pub fn http_get_plain(port: u16, path: &str) -> Result<String> {
    let mut s =
        TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("incomplete HTTP response from 127.0.0.1:{port}"))?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        bail!(
            "GET {path} on 127.0.0.1:{port}: {}",
            head.lines().next().unwrap_or_default()
        );
    }
    Ok(body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hsdirs() {
        let c = "r relay0 AAAA 2026-01-01 00:00:00 127.0.0.1 5000 0\nm x\ns Fast HSDir Running\n\
                 r relay1 BBBB 2026-01-01 00:00:00 127.0.0.1 5001 0\ns Fast Running\n";
        assert_eq!(hsdirs_in_consensus(c), vec!["relay0".to_owned()]);
    }
}
