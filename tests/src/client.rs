//! The C tor client (a SOCKS port with `IsolateSOCKSAuth` and `ExtendedErrors`, and an
//! unauthenticated control port on 127.0.0.1) and a hand-written SOCKS5 (RFC 1928/1929)
//! HTTP/1.0 GET over it.
//!
//! Each SOCKS username/password is its own isolation group, so a fresh tag means a fresh circuit.
//! Note that C tor caches onion service descriptors and remembers which HSDirs it failed to get a
//! descriptor from (and does not ask them again for a while), for every tag: [`Client::newnym`]
//! (`SIGNAL NEWNYM`) purges all of that, as does a fresh client.

use std::fmt;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::ports::free_port;
use crate::torrc::{TorProcess, common_torrc};

/// Default timeout of one [`Client::get`].
pub const GET_TIMEOUT: Duration = Duration::from_secs(60);

/// C tor's minimum spacing of two `SIGNAL NEWNYM` (`MAX_SIGNEWNYM_RATE`); a sooner one is
/// deferred.
pub const NEWNYM_SPACING: Duration = Duration::from_secs(10);

/// One C tor client.
#[derive(Debug)]
pub struct Client {
    /// The tor process.
    pub node: TorProcess,
    /// SOCKS port on 127.0.0.1.
    pub socks_port: u16,
    /// Control port on 127.0.0.1 (no authentication).
    pub control_port: u16,
    last_newnym: Mutex<Option<Instant>>,
}

impl Client {
    /// A client named `name` in folder `dir`; not started.
    pub fn new(name: &str, dir: &Path, dirauths: &Path) -> Result<Client> {
        Self::with_torrc(name, dir, dirauths, "")
    }

    /// A client with extra torrc lines (e.g. `ClientOnionAuthDir DIR`); not started.
    pub fn with_torrc(name: &str, dir: &Path, dirauths: &Path, extra: &str) -> Result<Client> {
        let socks_port = free_port()?;
        let control_port = free_port()?;
        let mut torrc = format!(
            "{common}\
             SocksPort 127.0.0.1:{socks_port} IsolateSOCKSAuth ExtendedErrors\n\
             ControlPort 127.0.0.1:{control_port}\n",
            common = common_torrc(&dir.join("data"), dirauths),
        );
        for line in extra.lines().filter(|l| !l.trim().is_empty()) {
            torrc += line.trim();
            torrc += "\n";
        }
        Ok(Client {
            node: TorProcess::new(name, dir, torrc)?,
            socks_port,
            control_port,
            last_newnym: Mutex::new(None),
        })
    }

    /// Send one command on the control port (after an empty `AUTHENTICATE`) and return its
    /// reply lines; an error unless the reply is `250`.
    pub fn control(&self, command: &str) -> Result<Vec<String>> {
        control_command(self.control_port, command)
    }

    /// The onion service descriptor of `onion_host` in the client's cache (what it fetched from
    /// an HSDir for its current time period), outer layer in text form.
    pub fn cached_descriptor(&self, onion_host: &str) -> Result<String> {
        let id = onion_host.trim_end_matches(".onion");
        let lines = self.control(&format!("GETINFO hs/client/desc/id/{id}"))?;
        // First line `250+hs/client/desc/id/<id>=`, then the descriptor, then `250 OK`.
        let body: Vec<&str> = lines
            .iter()
            .skip(1)
            .take(lines.len().saturating_sub(2))
            .map(String::as_str)
            .collect();
        if body.is_empty() {
            bail!("no descriptor of {id} in the client's cache: {lines:?}");
        }
        Ok(body.join("\n") + "\n")
    }

    /// `SIGNAL NEWNYM`: new circuits for new streams, and the client's onion service state
    /// (cached descriptors, failed HSDir requests, intro point failures) is purged, so the next
    /// GET fetches the descriptor again from a random responsible HSDir. Waits first if the last
    /// NEWNYM was less than [`NEWNYM_SPACING`] ago (tor would defer it).
    pub fn newnym(&self) -> Result<()> {
        let mut last = self
            .last_newnym
            .lock()
            .map_err(|_| anyhow!("newnym mutex poisoned"))?;
        if let Some(t) = *last {
            let since = t.elapsed();
            if since < NEWNYM_SPACING {
                crate::wait::sleep(NEWNYM_SPACING - since + Duration::from_millis(200))?;
            }
        }
        self.control("SIGNAL NEWNYM")?;
        *last = Some(Instant::now());
        Ok(())
    }

    /// The SOCKS address.
    pub fn socks_addr(&self) -> SocketAddr {
        (Ipv4Addr::LOCALHOST, self.socks_port).into()
    }

    /// Wait for `Bootstrapped 100%`.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        self.node.wait_for_log("Bootstrapped 100%", timeout)
    }

    /// `GET http://<onion_host>/` through this client, isolated by `isolation_tag` (a fresh tag is
    /// a fresh circuit), within [`GET_TIMEOUT`]. Returns the body of a 200 response.
    pub fn get(&self, onion_host: &str, isolation_tag: &str) -> Result<String> {
        self.get_with_timeout(onion_host, isolation_tag, GET_TIMEOUT)
    }

    /// [`Client::get`] with an explicit timeout.
    pub fn get_with_timeout(
        &self,
        onion_host: &str,
        isolation_tag: &str,
        timeout: Duration,
    ) -> Result<String> {
        let host = crate::backend::with_onion_suffix(onion_host);
        let resp = socks5_http_get(self.socks_addr(), &host, 80, "/", isolation_tag, timeout)?;
        if resp.status != 200 {
            bail!("GET http://{host}/: HTTP status {}", resp.status);
        }
        Ok(resp.body)
    }

    /// [`Client::get`] up to `attempts` times (tags `<tag>-1`, `<tag>-2`, …), pausing `pause`
    /// between attempts. Returns the first body, or the last error.
    pub fn get_retry(
        &self,
        onion_host: &str,
        tag: &str,
        attempts: usize,
        pause: Duration,
    ) -> Result<String> {
        let mut last = anyhow!("no attempt made");
        for i in 1..=attempts {
            match self.get(onion_host, &format!("{tag}-{i}")) {
                Ok(body) => return Ok(body),
                Err(e) => {
                    eprintln!("[harness] GET {onion_host} attempt {i}/{attempts}: {e:#}");
                    last = e;
                }
            }
            if i < attempts {
                crate::wait::sleep(pause)?;
            }
        }
        Err(last)
    }
}

impl Client {
    /// `n` GETs of `onion_host`, each on its own circuit (tags `<tag_prefix>-0` …), one after the
    /// other. For spread checks: assert every backend answered at least once, not an even split.
    pub fn get_many(&self, onion_host: &str, n: usize, tag_prefix: &str) -> Vec<Result<String>> {
        (0..n)
            .map(|i| self.get(onion_host, &format!("{tag_prefix}-{i}")))
            .collect()
    }
}

/// Send `command` on the unauthenticated control port at 127.0.0.1:`port`; the reply lines of a
/// `250` answer (data blocks, `250+key=` … `.`, are returned as their lines, unescaped).
pub fn control_command(port: u16, command: &str) -> Result<Vec<String>> {
    let mut s =
        TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(5))
            .with_context(|| format!("connecting to control port {port}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(format!("AUTHENTICATE\r\n{command}\r\nQUIT\r\n").as_bytes())?;
    let mut buf = Vec::new();
    // tor closes the connection after QUIT.
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    parse_control_reply(&text).with_context(|| format!("control port {port}: {command:?}"))
}

/// The reply to the command after `AUTHENTICATE` in a control port transcript.
fn parse_control_reply(text: &str) -> Result<Vec<String>> {
    let mut lines = text.lines();
    let auth = lines.next().unwrap_or_default();
    if !auth.starts_with("250") {
        bail!("AUTHENTICATE: {auth:?}");
    }
    let mut reply = Vec::new();
    let mut in_data = false;
    for l in lines {
        if in_data {
            if l == "." {
                in_data = false;
            } else {
                reply.push(l.strip_prefix('.').unwrap_or(l).to_owned());
            }
            continue;
        }
        if l.len() < 4 {
            bail!("malformed reply line {l:?}");
        }
        reply.push(l.to_owned());
        match l.as_bytes()[3] {
            b'+' => in_data = true,
            b' ' => {
                return if l.starts_with("250") {
                    Ok(reply)
                } else {
                    Err(anyhow!("{reply:?}"))
                };
            }
            _ => {}
        }
    }
    bail!("incomplete reply: {reply:?}")
}

/// The `revision-counter` of an onion service descriptor's outer (plaintext) layer.
pub fn descriptor_revision_counter(descriptor: &str) -> Option<u64> {
    descriptor
        .lines()
        .find_map(|l| l.strip_prefix("revision-counter "))
        .and_then(|v| v.trim().parse().ok())
}

/// A SOCKS5 reply other than "succeeded". Downcast an error to this to look at the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocksReplyError(pub u8);

impl fmt::Display for SocksReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.0 {
            0x01 => "general failure",
            0x02 => "not allowed by ruleset",
            0x03 => "network unreachable",
            0x04 => "host unreachable",
            0x05 => "connection refused",
            0x06 => "TTL expired",
            0x07 => "command not supported",
            0x08 => "address type not supported",
            0xF0 => "onion service descriptor can not be found",
            0xF1 => "onion service descriptor is invalid",
            0xF2 => "onion service introduction failed",
            0xF3 => "onion service rendezvous failed",
            0xF4 => "onion service missing client authorization",
            0xF5 => "onion service wrong client authorization",
            0xF6 => "onion service invalid address",
            0xF7 => "onion service introduction timed out",
            _ => "unknown",
        };
        write!(f, "SOCKS5 reply {:#04x} ({what})", self.0)
    }
}

impl std::error::Error for SocksReplyError {}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body (lossy UTF-8).
    pub body: String,
}

struct Deadline(Instant);

impl Deadline {
    fn left(&self) -> Result<Duration> {
        let left = self.0.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("timed out");
        }
        Ok(left)
    }
}

fn read_exact(s: &mut TcpStream, buf: &mut [u8], d: &Deadline) -> Result<()> {
    s.set_read_timeout(Some(d.left()?))?;
    s.read_exact(buf).context("reading from the SOCKS port")
}

/// `GET path` on `host:port` through the SOCKS5 proxy at `socks`, authenticating with
/// username = password = `isolation_tag` (isolation), all within `timeout`.
pub fn socks5_http_get(
    socks: SocketAddr,
    host: &str,
    port: u16,
    path: &str,
    isolation_tag: &str,
    timeout: Duration,
) -> Result<HttpResponse> {
    let d = Deadline(Instant::now() + timeout);
    let host_len = u8::try_from(host.len()).map_err(|_| anyhow!("host name too long"))?;
    let tag = if isolation_tag.is_empty() {
        "-"
    } else {
        isolation_tag
    };
    let tag_len = u8::try_from(tag.len()).map_err(|_| anyhow!("isolation tag too long"))?;

    let mut s = TcpStream::connect_timeout(&socks, d.left()?)
        .with_context(|| format!("connecting to SOCKS port {socks}"))?;
    s.set_write_timeout(Some(timeout))?;
    // Greeting: version 5, one method, username/password.
    s.write_all(&[0x05, 0x01, 0x02])?;
    let mut r2 = [0u8; 2];
    read_exact(&mut s, &mut r2, &d)?;
    if r2 != [0x05, 0x02] {
        bail!("SOCKS server refused username/password auth: {r2:?}");
    }
    let mut auth = vec![0x01, tag_len];
    auth.extend_from_slice(tag.as_bytes());
    auth.push(tag_len);
    auth.extend_from_slice(tag.as_bytes());
    s.write_all(&auth)?;
    read_exact(&mut s, &mut r2, &d)?;
    if r2[1] != 0x00 {
        bail!("SOCKS username/password auth failed: {r2:?}");
    }
    // CONNECT host:port by name.
    let mut req = vec![0x05, 0x01, 0x00, 0x03, host_len];
    req.extend_from_slice(host.as_bytes());
    req.extend_from_slice(&port.to_be_bytes());
    s.write_all(&req)?;
    let mut head = [0u8; 4];
    read_exact(&mut s, &mut head, &d).with_context(|| format!("SOCKS CONNECT to {host}"))?;
    if head[0] != 0x05 {
        bail!("bad SOCKS reply version {:#04x}", head[0]);
    }
    if head[1] != 0x00 {
        return Err(anyhow::Error::new(SocksReplyError(head[1]))
            .context(format!("SOCKS CONNECT to {host}:{port}")));
    }
    let addr_len = match head[3] {
        0x01 => 4,
        0x04 => 16,
        0x03 => {
            let mut l = [0u8; 1];
            read_exact(&mut s, &mut l, &d)?;
            usize::from(l[0])
        }
        t => bail!("bad SOCKS address type {t:#04x}"),
    };
    let mut rest = vec![0u8; addr_len + 2];
    read_exact(&mut s, &mut rest, &d)?;

    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes())?;
    let mut resp = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        s.set_read_timeout(Some(d.left()?))?;
        let n = s.read(&mut buf).context("reading the HTTP response")?;
        if n == 0 {
            break;
        }
        resp.extend_from_slice(&buf[..n]);
    }
    parse_http(&resp)
}

fn parse_http(resp: &[u8]) -> Result<HttpResponse> {
    let text = String::from_utf8_lossy(resp);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("incomplete HTTP response: {text:?}"))?;
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("bad HTTP status line: {head:?}"))?;
    Ok(HttpResponse {
        status,
        body: body.to_owned(),
    })
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_control_replies() {
        let t = "250 OK\r\n250+hs/client/desc/id/abc=\r\nhs-descriptor 3\r\n\
                 revision-counter 42\r\n..dot\r\n.\r\n250 OK\r\n250 closing connection\r\n";
        let r = parse_control_reply(t).expect("parse");
        assert_eq!(
            r,
            vec![
                "250+hs/client/desc/id/abc=",
                "hs-descriptor 3",
                "revision-counter 42",
                ".dot",
                "250 OK"
            ]
        );
        assert_eq!(descriptor_revision_counter(&r.join("\n")), Some(42));
        assert!(parse_control_reply("250 OK\r\n552 Unrecognized key\r\n").is_err());
        assert!(parse_control_reply("515 Authentication failed\r\n").is_err());
        assert_eq!(
            parse_control_reply("250 OK\r\n250 OK\r\n").expect("ok"),
            vec!["250 OK"]
        );
    }

    #[test]
    fn parses_http() {
        let r = parse_http(b"HTTP/1.0 200 OK\r\nA: b\r\n\r\nhello").expect("parse");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "hello");
        assert!(parse_http(b"HTTP/1.0 200 OK\r\n").is_err());
    }
}
