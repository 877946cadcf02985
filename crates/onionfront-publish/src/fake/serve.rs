//! What a fake HSDir does with a fetch or an upload (the rules are in `mod.rs`'s docs), and the
//! fake backends' answers to health probes.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use futures::stream::BoxStream;
use onionfront_core::OnionAddress;
use tokio::sync::broadcast;
use tor_hscrypto::pk::HsBlindId;

use super::{
    Behaviour, FakeDirectory, FakeNetwork, MAX_DESCRIPTOR_SIZE, Stored, UploadOutcome,
    UploadRecord, lifetime_of, revision_of,
};
use crate::network::{Directory, HsDirId, NetError, Network};

impl FakeNetwork {
    /// Reach `hsdir` as its behaviour allows: an error, never (hang), or after 50 ms.
    async fn reach(&self, hsdir: HsDirId) -> Result<(), NetError> {
        match self.behaviour(hsdir) {
            None => Err(NetError::UnknownRelay(hsdir.to_string())),
            Some(Behaviour::Down) => Err(NetError::Circuit("connection refused".into())),
            Some(Behaviour::Hang) => std::future::pending().await,
            Some(Behaviour::Refuse(status)) => Err(NetError::Http {
                status,
                message: "refused".into(),
            }),
            Some(Behaviour::Normal | Behaviour::Oversized(_)) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(())
            }
        }
    }

    /// An answer of `len` bytes read as tor-dirclient reads it: window by window, giving up once
    /// past `limit`. Records how much was held.
    fn read_bounded(&self, len: usize, limit: usize) -> Result<String, NetError> {
        let mut body = String::new();
        while body.len() < len {
            let window = READ_WINDOW.min(len - body.len());
            body.extend(std::iter::repeat_n('x', window));
            if body.len() > limit {
                break;
            }
        }
        let mut inner = self.lock();
        inner.largest_answer = inner.largest_answer.max(body.len());
        if body.len() > limit {
            return Err(NetError::TooLarge {
                read: body.len(),
                limit,
            });
        }
        Ok(body)
    }
}

/// How much tor-dirclient reads at a time.
const READ_WINDOW: usize = 1024;

#[async_trait::async_trait]
impl Network for FakeNetwork {
    type Dir = FakeDirectory;

    fn now(&self) -> SystemTime {
        let back = self.lock().clock_back;
        self.start_wall + self.start_instant.elapsed() - back
    }

    async fn directory(&self) -> Result<Arc<FakeDirectory>, NetError> {
        Ok(self.snapshot())
    }

    fn directory_events(&self) -> BoxStream<'static, ()> {
        let rx = self.events.subscribe();
        futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(()) => return Some(((), rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .boxed()
    }

    async fn fetch(
        &self,
        dir: &FakeDirectory,
        hsdir: HsDirId,
        blind_id: HsBlindId,
    ) -> Result<String, NetError> {
        self.lock().fetches += 1;
        self.reach(hsdir).await?;
        if let Some(Behaviour::Oversized(len)) = self.behaviour(hsdir) {
            return self.read_bounded(len, dir.max_descriptor_size());
        }
        match self.stored(hsdir, &blind_id) {
            Some((text, _)) => {
                let mut inner = self.lock();
                inner.largest_answer = inner.largest_answer.max(text.len());
                Ok(text.to_string())
            }
            None => Err(NetError::Http {
                status: 404,
                message: "Not found".into(),
            }),
        }
    }

    async fn upload(
        &self,
        _dir: &FakeDirectory,
        hsdir: HsDirId,
        blind_id: HsBlindId,
        descriptor: Arc<str>,
    ) -> Result<(), NetError> {
        let key: [u8; 32] = *blind_id.as_ref();
        let failing = match self.behaviour(hsdir) {
            None => Some(UploadOutcome::UnknownRelay),
            Some(Behaviour::Down) => Some(UploadOutcome::Unreachable),
            Some(Behaviour::Hang) => Some(UploadOutcome::NoAnswer),
            Some(Behaviour::Refuse(status)) => Some(UploadOutcome::Refused(status)),
            Some(Behaviour::Normal | Behaviour::Oversized(_)) => None,
        };
        if let Some(outcome) = failing {
            let at = self.now();
            self.lock().uploads.push(UploadRecord {
                at,
                hsdir,
                blind_id: key,
                revision: revision_of(&descriptor).unwrap_or(0),
                accepted: false,
                outcome,
            });
        }
        self.reach(hsdir).await?;
        let revision = revision_of(&descriptor)
            .filter(|_| descriptor.len() <= MAX_DESCRIPTOR_SIZE)
            .ok_or_else(|| NetError::Http {
                status: 400,
                message: "Invalid HS descriptor. Rejected.".into(),
            })?;
        let now = self.now();
        let mut inner = self.lock();
        let accepted = inner
            .store
            .get(&(hsdir, key))
            .filter(|s| s.expires > now)
            .is_none_or(|stored| revision > stored.revision);
        inner.uploads.push(UploadRecord {
            at: now,
            hsdir,
            blind_id: key,
            revision,
            accepted,
            outcome: if accepted {
                UploadOutcome::Stored
            } else {
                UploadOutcome::Refused(400)
            },
        });
        if accepted {
            let expires = now + lifetime_of(&descriptor);
            let stored = Stored {
                text: descriptor,
                revision,
                expires,
            };
            inner.store.insert((hsdir, key), stored);
            Ok(())
        } else {
            Err(NetError::Http {
                status: 400,
                message: "Invalid HS descriptor. Rejected.".into(),
            })
        }
    }

    async fn probe(&self, address: OnionAddress, _port: u16) -> Result<(), NetError> {
        let alive = {
            let mut inner = self.lock();
            inner.probes += 1;
            inner.backends.get(&address).is_some_and(|b| b.alive)
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        if alive {
            Ok(())
        } else {
            Err(NetError::Circuit("introduction failed".into()))
        }
    }
}
