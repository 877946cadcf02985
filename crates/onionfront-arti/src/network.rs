//! [`ArtiNetwork`]: the [`Network`] trait over an embedded Arti client.
//!
//! It owns the client and the handles taken from it (runtime, directory manager, onion service
//! circuit pool) and does one network operation per call, as the scheduler wants:
//! - [`Network::directory`]: the latest *strictly* timely consensus (never the expired cached
//!   one Arti starts with), wrapped in an [`ArtiDirectory`];
//! - [`Network::fetch`]: one descriptor download from one HSDir, over a client HSDir circuit, as
//!   `tor-hsclient`'s `descriptor_fetch_attempt` does (without parsing: the caller validates);
//! - [`Network::upload`]: one descriptor upload to one HSDir, over a service HSDir circuit, as
//!   `tor-hsservice`'s `upload_descriptor` does; `Ok` only on HTTP 200;
//! - [`Network::probe`]: open and close a stream to `backend.onion:port`.
//!
//! Retries and per-attempt timeouts are the caller's; every operation here also has a generous
//! internal bound ([`MAX_HSDIR_OPERATION`], [`MAX_PROBE`], [`MAX_DIRECTORY_WAIT`]) so a stuck
//! circuit can never hang a task forever.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use arti_client::{DataStream, TorClient};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use onionfront_core::OnionAddress;
use onionfront_publish::network::{Directory, HsDirId, NetError, Network};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tor_circmgr::hspool::HsCircPool;
use tor_dirclient::request::{HsDescDownloadRequest, HsDescUploadRequest, Requestable};
use tor_dirclient::{RequestError, SourceInfo};
use tor_dirmgr::DirProvider;
use tor_hscrypto::pk::HsBlindId;
use tor_hscrypto::time::TimePeriod;
use tor_linkspec::OwnedCircTarget;
use tor_netdir::{DirEvent, NetDir, Timeliness};
use tor_rtcompat::{PreferredRuntime, SleepProvider as _, SleepProviderExt as _};
use tracing::{debug, info, warn};

use crate::directory::{ArtiDirectory, find_relay};
use crate::error::{ArtiError, chain};
use crate::progress::BootstrapProgress;

/// Upper bound of one fetch or upload (circuit, stream, request, reply).
pub const MAX_HSDIR_OPERATION: Duration = Duration::from_secs(120);
/// Upper bound of one health-check probe (descriptor lookup, introduction, rendezvous).
pub const MAX_PROBE: Duration = Duration::from_secs(180);
/// Upper bound of waiting for a strictly timely consensus.
pub const MAX_DIRECTORY_WAIT: Duration = Duration::from_secs(600);

/// The Tor network through an embedded Arti client.
pub struct ArtiNetwork {
    /// The client (keeps Arti's background tasks alive).
    client: Arc<TorClient<PreferredRuntime>>,
    /// Arti's runtime (clock, timers).
    runtime: PreferredRuntime,
    /// Internal Arti handles; Arti hands them out only once bootstrap has started.
    handles: OnceLock<Handles>,
    /// Latest bootstrap progress.
    progress: watch::Receiver<BootstrapProgress>,
    /// The task that logs and publishes bootstrap progress (aborted on drop).
    progress_task: JoinHandle<()>,
    /// Recent directories, to publish for the previous period on a young network.
    history: Mutex<DirHistory>,
}

/// Arti internals used for onion service directory work.
struct Handles {
    /// The directory manager.
    dirmgr: Arc<dyn DirProvider>,
    /// The onion service circuit pool (HSDir circuits).
    pool: Arc<HsCircPool<PreferredRuntime>>,
}

impl Handles {
    /// Take the handles from a client whose bootstrap has started.
    fn from_client(client: &TorClient<PreferredRuntime>) -> Result<Self, ArtiError> {
        let dirmgr = client.dirmgr().map_err(|error| ArtiError::Component {
            component: "directory manager",
            error,
        })?;
        let pool = client
            .hs_circ_pool()
            .map_err(|error| ArtiError::Component {
                component: "onion service circuit pool",
                error,
            })?;
        Ok(Handles { dirmgr, pool })
    }
}

/// The directories [`ArtiNetwork::directory`] handed out lately (generic for tests).
struct DirHistory<D = Arc<NetDir>> {
    /// The most recent one.
    latest: Option<D>,
    /// The last one of the period before `latest`'s.
    previous_period: Option<D>,
}

impl<D> Default for DirHistory<D> {
    fn default() -> Self {
        DirHistory {
            latest: None,
            previous_period: None,
        }
    }
}

/// What [`DirHistory`] needs to know about a directory.
trait PeriodOf: Clone {
    /// Its current time period.
    fn period(&self) -> TimePeriod;
    /// Its consensus' `valid-after`.
    fn valid_after(&self) -> SystemTime;
}

impl PeriodOf for Arc<NetDir> {
    fn period(&self) -> TimePeriod {
        self.hs_time_period()
    }
    fn valid_after(&self) -> SystemTime {
        self.lifetime().valid_after()
    }
}

impl<D: PeriodOf> DirHistory<D> {
    /// Record `dir` (older ones than the latest are ignored); return the last directory of the
    /// period just before `dir`'s, if one was seen.
    fn observe(&mut self, dir: &D) -> Option<D> {
        match &self.latest {
            Some(latest) if dir.valid_after() < latest.valid_after() => {}
            Some(latest) if latest.period() != dir.period() => {
                self.previous_period = Some(latest.clone());
                self.latest = Some(dir.clone());
            }
            _ => self.latest = Some(dir.clone()),
        }
        let wanted = dir.period().prev();
        self.previous_period
            .clone()
            .filter(|p| wanted == Some(p.period()))
    }
}

impl ArtiNetwork {
    /// Wrap a created (not necessarily bootstrapped) client.
    pub(crate) fn new(
        client: Arc<TorClient<PreferredRuntime>>,
        progress: watch::Receiver<BootstrapProgress>,
        progress_task: JoinHandle<()>,
    ) -> Self {
        ArtiNetwork {
            runtime: client.runtime().clone(),
            client,
            handles: OnceLock::new(),
            progress,
            progress_task,
            history: Mutex::new(DirHistory::default()),
        }
    }

    /// Bootstrap (if not done yet): returns once Arti can build circuits.
    pub async fn bootstrap(&self) -> Result<(), ArtiError> {
        let started = std::time::Instant::now();
        self.client
            .bootstrap()
            .await
            .map_err(|error| ArtiError::Bootstrap { error })?;
        info!(elapsed = ?started.elapsed(), "Arti bootstrapped");
        if self.handles.get().is_none() {
            let handles = Handles::from_client(&self.client)?;
            let _ = self.handles.set(handles);
        }
        Ok(())
    }

    /// The Arti handles, if bootstrap has started.
    fn handles(&self) -> Result<&Handles, NetError> {
        if let Some(h) = self.handles.get() {
            return Ok(h);
        }
        let handles =
            Handles::from_client(&self.client).map_err(|e| NetError::NoDirectory(e.to_string()))?;
        Ok(self.handles.get_or_init(|| handles))
    }

    /// The latest bootstrap progress.
    pub fn progress(&self) -> BootstrapProgress {
        self.progress.borrow().clone()
    }

    /// A receiver of bootstrap progress updates.
    pub fn progress_watch(&self) -> watch::Receiver<BootstrapProgress> {
        self.progress.clone()
    }

    /// The embedded Arti client (for callers that need more than [`Network`]).
    pub fn client(&self) -> &Arc<TorClient<PreferredRuntime>> {
        &self.client
    }

    /// The latest strictly timely directory, recorded in the history.
    async fn strict_netdir(&self) -> Result<ArtiDirectory, NetError> {
        let wait = self.handles()?.dirmgr.wait_for_netdir(Timeliness::Strict);
        let netdir = self
            .runtime
            .timeout(MAX_DIRECTORY_WAIT, wait)
            .await
            .map_err(|_| {
                NetError::NoDirectory(format!(
                    "none after waiting {}s",
                    MAX_DIRECTORY_WAIT.as_secs()
                ))
            })?
            .map_err(|e| NetError::NoDirectory(e.to_string()))?;
        let previous = match self.history.lock() {
            Ok(mut h) => h.observe(&netdir),
            Err(poisoned) => poisoned.into_inner().observe(&netdir),
        };
        Ok(ArtiDirectory::with_previous(netdir, previous))
    }

    /// One directory request to `hsdir` over the circuit `open` returns; the reply body.
    async fn dir_request<Q, F, Fut, T>(&self, req: &Q, open: F) -> Result<String, NetError>
    where
        Q: Requestable + Sync,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, tor_circmgr::Error>>,
        T: AsRef<tor_proto::ClientTunnel> + DirStreamOpener,
    {
        let tunnel = open().await.map_err(|e| NetError::Circuit(chain(&e)))?;
        let source = SourceInfo::from_tunnel(&tunnel).map_err(|e| NetError::Circuit(chain(&e)))?;
        let mut stream = tunnel
            .open_dir_stream()
            .await
            .map_err(|e| NetError::Circuit(chain(&e)))?;
        let response = tor_dirclient::send_request(&self.runtime, req, &mut stream, source)
            .await
            .map_err(dirclient_error)?;
        response
            .into_output_string()
            .map_err(|e| request_error(&e.error))
    }
}

impl Drop for ArtiNetwork {
    fn drop(&mut self) {
        self.progress_task.abort();
    }
}

/// Opening a BEGIN_DIR stream on the two kinds of HSDir tunnels.
#[async_trait::async_trait]
trait DirStreamOpener {
    /// `begin_dir_stream()`.
    async fn open_dir_stream(&self) -> Result<DataStream, tor_circmgr::Error>;
}

#[async_trait::async_trait]
impl DirStreamOpener for tor_circmgr::ClientOnionServiceDirTunnel {
    async fn open_dir_stream(&self) -> Result<DataStream, tor_circmgr::Error> {
        self.begin_dir_stream().await
    }
}

#[async_trait::async_trait]
impl DirStreamOpener for tor_circmgr::ServiceOnionServiceDirTunnel {
    async fn open_dir_stream(&self) -> Result<DataStream, tor_circmgr::Error> {
        self.begin_dir_stream().await
    }
}

/// The circuit target for `hsdir`, which must be in `netdir`.
fn circ_target(netdir: &NetDir, hsdir: &HsDirId) -> Result<OwnedCircTarget, NetError> {
    let relay =
        find_relay(netdir, hsdir).ok_or_else(|| NetError::UnknownRelay(hsdir.to_string()))?;
    Ok(OwnedCircTarget::from_circ_target(&relay))
}

/// Map a `send_request` error.
fn dirclient_error(e: tor_dirclient::Error) -> NetError {
    match e {
        tor_dirclient::Error::RequestFailed(rfe) => request_error(&rfe.error),
        tor_dirclient::Error::CircMgr(ce) => NetError::Circuit(chain(&ce)),
        other => NetError::Other(chain(&other)),
    }
}

/// Map the error of one HTTP exchange with an HSDir.
fn request_error(e: &RequestError) -> NetError {
    match e {
        RequestError::HttpStatus(status, message) => NetError::Http {
            status: *status,
            message: message.clone(),
        },
        RequestError::DirTimeout => NetError::Timeout,
        // The limit is filled in by the caller, which set it.
        RequestError::ResponseTooLong(read) => NetError::TooLarge {
            read: *read,
            limit: 0,
        },
        RequestError::IoError(_)
        | RequestError::Proto(_)
        | RequestError::Tunnel(_)
        | RequestError::TruncatedHeaders => NetError::Circuit(chain(e)),
        other => NetError::Other(chain(other)),
    }
}

/// Map a probe (stream connection) error.
fn probe_error(e: &arti_client::Error) -> NetError {
    use arti_client::{ErrorKind, HasKind as _};
    match e.kind() {
        ErrorKind::TorNetworkTimeout | ErrorKind::RemoteNetworkTimeout => NetError::Timeout,
        _ => NetError::Circuit(chain(e)),
    }
}

/// `max_len` for a descriptor download: the consensus' HSDir size limit.
fn max_desc_len(dir: &ArtiDirectory) -> usize {
    Directory::max_descriptor_size(dir)
}

#[async_trait::async_trait]
impl Network for ArtiNetwork {
    type Dir = ArtiDirectory;

    fn now(&self) -> SystemTime {
        self.runtime.wallclock()
    }

    async fn directory(&self) -> Result<Arc<ArtiDirectory>, NetError> {
        let dir = self.strict_netdir().await?;
        Ok(Arc::new(dir))
    }

    /// Arti's `NewConsensus` events. Before bootstrap has started, the stream first waits for
    /// the bootstrap to finish (starting it if nobody did).
    fn directory_events(&self) -> BoxStream<'static, ()> {
        let events = match self.handles() {
            Ok(h) => h.dirmgr.events(),
            Err(_) => {
                let client = self.client.clone();
                futures::stream::once(async move {
                    if let Err(e) = client.bootstrap().await {
                        warn!("directory events unavailable: {}", chain(&e));
                    }
                    client.dirmgr().map(|d| d.events())
                })
                .filter_map(|events| futures::future::ready(events.ok()))
                .flatten()
                .boxed()
            }
        };
        events
            .filter(|e| futures::future::ready(*e == DirEvent::NewConsensus))
            .map(|_| ())
            .boxed()
    }

    async fn fetch(
        &self,
        dir: &ArtiDirectory,
        hsdir: HsDirId,
        blind_id: HsBlindId,
    ) -> Result<String, NetError> {
        let netdir = dir.netdir();
        let target = circ_target(netdir, &hsdir)?;
        let pool = &self.handles()?.pool;
        let mut req = HsDescDownloadRequest::new(blind_id);
        let limit = max_desc_len(dir);
        // tor-dirclient reads at most `limit` bytes (plus one 1 KiB window) and then fails.
        req.set_max_len(limit);
        let started = std::time::Instant::now();
        let op = self.dir_request(&req, || pool.get_or_launch_client_dir(netdir, target));
        let res = self
            .runtime
            .timeout(MAX_HSDIR_OPERATION, op)
            .await
            .unwrap_or(Err(NetError::Timeout))
            .map_err(|e| match e {
                NetError::TooLarge { read, .. } => NetError::TooLarge { read, limit },
                other => other,
            });
        debug!(%hsdir, elapsed = ?started.elapsed(), ok = res.is_ok(), "descriptor fetch");
        res
    }

    async fn upload(
        &self,
        dir: &ArtiDirectory,
        hsdir: HsDirId,
        _blind_id: HsBlindId,
        descriptor: Arc<str>,
    ) -> Result<(), NetError> {
        let netdir = dir.netdir();
        let target = circ_target(netdir, &hsdir)?;
        let pool = &self.handles()?.pool;
        let req = HsDescUploadRequest::new(descriptor);
        let started = std::time::Instant::now();
        let op = self.dir_request(&req, || pool.get_or_launch_svc_dir(netdir, target));
        let res = self
            .runtime
            .timeout(MAX_HSDIR_OPERATION, op)
            .await
            .unwrap_or(Err(NetError::Timeout))
            .map(|_| ());
        debug!(%hsdir, elapsed = ?started.elapsed(), ok = res.is_ok(), "descriptor upload");
        res
    }

    async fn probe(&self, address: OnionAddress, port: u16) -> Result<(), NetError> {
        let host = address.to_string();
        let connect = self.client.connect((host, port));
        let stream = self
            .runtime
            .timeout(MAX_PROBE, connect)
            .await
            .map_err(|_| NetError::Timeout)?
            .map_err(|e| probe_error(&e))?;
        drop(stream);
        // The backend's label is logged by the scheduler; its address never is.
        debug!(port, "probe connected");
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A fake directory: (period number, valid-after seconds).
    #[derive(Clone, Debug, PartialEq)]
    struct Fake(u64, u64);

    impl PeriodOf for Fake {
        fn period(&self) -> TimePeriod {
            TimePeriod::from_parts(8, self.0, 240)
        }
        fn valid_after(&self) -> SystemTime {
            SystemTime::UNIX_EPOCH + Duration::from_secs(self.1)
        }
    }

    #[test]
    fn history_keeps_the_last_directory_of_the_previous_period() {
        let mut h = DirHistory::default();
        assert_eq!(h.observe(&Fake(10, 100)), None);
        assert_eq!(h.observe(&Fake(10, 120)), None);
        assert_eq!(h.observe(&Fake(10, 120)), None);
        // Rotation: the last directory of period 10 is returned while in period 11.
        assert_eq!(h.observe(&Fake(11, 140)), Some(Fake(10, 120)));
        assert_eq!(h.observe(&Fake(11, 160)), Some(Fake(10, 120)));
        // An older directory does not disturb it.
        assert_eq!(h.observe(&Fake(10, 110)), None);
        assert_eq!(h.observe(&Fake(11, 180)), Some(Fake(10, 120)));
        // Next rotation.
        assert_eq!(h.observe(&Fake(12, 200)), Some(Fake(11, 180)));
    }

    #[test]
    fn history_ignores_a_gap() {
        let mut h = DirHistory::default();
        h.observe(&Fake(10, 100));
        assert_eq!(h.observe(&Fake(12, 300)), None);
        assert_eq!(h.observe(&Fake(13, 400)), Some(Fake(12, 300)));
    }

    #[test]
    fn http_status_maps_to_http_error() {
        let e = request_error(&RequestError::HttpStatus(404, "Not found".into()));
        assert_eq!(
            e,
            NetError::Http {
                status: 404,
                message: "Not found".into()
            }
        );
        assert_eq!(request_error(&RequestError::DirTimeout), NetError::Timeout);
        assert!(matches!(
            request_error(&RequestError::TruncatedHeaders),
            NetError::Circuit(_)
        ));
    }
}
