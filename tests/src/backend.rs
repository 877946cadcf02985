//! Backend onion services: a C tor onion service (`HiddenServiceOnionBalanceInstance 1`, with
//! `ob_config` naming the main addresses) in front of a tiny HTTP server thread of the test process
//! that answers every request with the backend's name.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::process::file_count;
use crate::torrc::{TorProcess, common_torrc, mkdir_private};
use crate::wait::poll_until;

/// A tiny HTTP/1.0 server on 127.0.0.1 that answers any request with a fixed body.
#[derive(Debug)]
pub struct HttpServer {
    port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Listen on a free port of 127.0.0.1 and answer `body` to everything.
    pub fn start(body: String) -> Result<HttpServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let (stop2, requests2) = (stop.clone(), requests.clone());
        let body = Arc::new(body);
        let thread = std::thread::Builder::new()
            .name(format!("http-{port}"))
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (body, requests) = (body.clone(), requests2.clone());
                    std::thread::spawn(move || {
                        if serve(conn, &body).is_ok() {
                            requests.fetch_add(1, Ordering::SeqCst);
                        }
                    });
                }
            })?;
        Ok(HttpServer {
            port,
            stop,
            requests,
            thread: Some(thread),
        })
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many requests were answered.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(mut conn: TcpStream, body: &str) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 16 * 1024 {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        req.extend_from_slice(&buf[..n]);
    }
    let resp = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        body
    );
    conn.write_all(resp.as_bytes())?;
    conn.flush()?;
    let _ = conn.shutdown(Shutdown::Write);
    Ok(())
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(
            &(Ipv4Addr::LOCALHOST, self.port).into(),
            Duration::from_secs(1),
        );
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Log line (in `rend.log`, `[rend]info`) of one successful descriptor upload to an HSDir.
pub const UPLOAD_OK: &str = "Uploading hidden service descriptor: finished with status 200";

/// One backend onion service.
#[derive(Debug)]
pub struct Backend {
    /// Its name: what its HTTP server answers, and its `name` in onionfront's config.
    pub name: String,
    /// The tor process.
    pub node: TorProcess,
    /// The HTTP server behind it (virtual port 80).
    pub http: HttpServer,
    main_addresses: Vec<String>,
}

impl Backend {
    /// A backend named `name` in folder `dir`, serving for the given main addresses
    /// (`xxx.onion`); starts its HTTP server, writes its torrc and `ob_config`; tor is not started.
    pub fn new(
        name: &str,
        dir: &Path,
        dirauths: &Path,
        main_addresses: &[String],
    ) -> Result<Backend> {
        Self::with_torrc(name, dir, dirauths, main_addresses, "")
    }

    /// [`Backend::new`] with extra torrc lines after the onion service's lines (so `HiddenService*`
    /// options apply to it, e.g. `HiddenServiceNumIntroductionPoints 2`).
    pub fn with_torrc(
        name: &str,
        dir: &Path,
        dirauths: &Path,
        main_addresses: &[String],
        extra: &str,
    ) -> Result<Backend> {
        if main_addresses.is_empty() {
            bail!(
                "backend {name}: at least one main address is needed (tor refuses an empty ob_config)"
            );
        }
        let http = HttpServer::start(name.to_owned())?;
        let hs_dir = dir.join("hs");
        mkdir_private(&hs_dir)?;
        let torrc = format!(
            "{common}\
             Log [rend]info file {rend_log}\n\
             SocksPort 0\n\
             HiddenServiceDir {hs}\n\
             HiddenServicePort 80 127.0.0.1:{port}\n\
             HiddenServiceOnionBalanceInstance 1\n",
            common = common_torrc(&dir.join("data"), dirauths),
            rend_log = dir.join("rend.log").display(),
            hs = hs_dir.display(),
            port = http.port(),
        );
        let mut torrc = torrc;
        for line in extra.lines().filter(|l| !l.trim().is_empty()) {
            torrc += line.trim();
            torrc += "\n";
        }
        let mut b = Backend {
            name: name.to_owned(),
            node: TorProcess::new(name, dir, torrc)?,
            http,
            main_addresses: Vec::new(),
        };
        b.set_main_addresses(main_addresses)?;
        Ok(b)
    }

    /// The HiddenServiceDir.
    pub fn hs_dir(&self) -> PathBuf {
        self.node.dir().join("hs")
    }

    /// Rewrite `ob_config` (`MasterOnionAddress` lines); tor reads it at (re)start.
    pub fn set_main_addresses(&mut self, main_addresses: &[String]) -> Result<()> {
        let text: String = main_addresses
            .iter()
            .map(|a| format!("MasterOnionAddress {}\n", with_onion_suffix(a)))
            .collect();
        std::fs::write(self.hs_dir().join("ob_config"), text)?;
        self.main_addresses = main_addresses.to_vec();
        Ok(())
    }

    /// Replace the `authorized_clients/` of its HiddenServiceDir (C tor's restricted discovery:
    /// one `<name>.auth` file per `descriptor:x25519:<base32>` line); tor reads them at
    /// (re)start. An empty list turns restricted discovery off.
    pub fn set_authorized_clients(&mut self, auth_lines: &[String]) -> Result<()> {
        let dir = self.hs_dir().join("authorized_clients");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        if auth_lines.is_empty() {
            return Ok(());
        }
        mkdir_private(&dir)?;
        for (i, line) in auth_lines.iter().enumerate() {
            std::fs::write(dir.join(format!("client{i}.auth")), format!("{line}\n"))?;
        }
        Ok(())
    }

    /// The main addresses in its `ob_config`.
    pub fn main_addresses(&self) -> &[String] {
        &self.main_addresses
    }

    /// Its own address (`xxx.onion`), once tor has written `hostname`.
    pub fn address(&self) -> Result<String> {
        let path = self.hs_dir().join("hostname");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(text.trim().to_owned())
    }

    /// Successful descriptor uploads logged so far (all runs).
    pub fn uploads(&self) -> usize {
        file_count(&self.node.dir().join("rend.log"), UPLOAD_OK)
    }

    /// Wait for `Bootstrapped 100%` in the current run's log and the `hostname` file.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        self.node.wait_for_log("Bootstrapped 100%", timeout)?;
        let name = self.name.clone();
        poll_until(
            &format!("{name}'s hostname file"),
            timeout,
            Duration::from_millis(200),
            || Ok(self.address().ok()),
        )?;
        Ok(())
    }

    /// Wait until at least `n` more descriptor uploads than `before` succeeded.
    pub fn wait_uploads(&mut self, before: usize, n: usize, timeout: Duration) -> Result<()> {
        let what = format!("{n} descriptor uploads by {}", self.name);
        poll_until(&what, timeout, Duration::from_millis(250), || {
            self.node.check_alive()?;
            Ok((self.uploads() >= before + n).then_some(()))
        })
        .map_err(|e| {
            e.context(format!(
                "{} uploads made; why C tor held back: {}",
                self.uploads().saturating_sub(before),
                self.upload_holdup()
                    .unwrap_or_else(|| "(nothing logged)".into())
            ))
        })
    }

    /// The last reason C tor logged for not uploading a descriptor yet (`log_cant_upload_desc`,
    /// e.g. "Intro circuits aren't yet all established (2/3)"), for timeout messages.
    pub fn upload_holdup(&self) -> Option<String> {
        let log = crate::process::tail(&self.node.dir().join("rend.log"), 2000);
        log.lines()
            .rev()
            .find(|l| l.contains("can't upload its"))
            .map(str::to_owned)
    }
}

/// `addr` with a `.onion` suffix (added if missing).
pub fn with_onion_suffix(addr: &str) -> String {
    if addr.ends_with(".onion") {
        addr.to_owned()
    } else {
        format!("{addr}.onion")
    }
}
