//! Free TCP ports on 127.0.0.1, chosen at run time so that concurrent runs do not collide.
//!
//! Ports are drawn at random below the kernel's ephemeral range (so outgoing connections of the
//! running network cannot take them meanwhile), checked by binding, and never handed out twice in
//! one process. Another process can still take a port between the check and tor's bind: callers
//! that start a process on it report a clear error (tor logs "Could not bind").

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Mutex;

use anyhow::{Result, anyhow};

/// Lowest port handed out.
const LOW: u16 = 12_000;
/// One past the highest port handed out (Linux's ephemeral range starts at 32768).
const HIGH: u16 = 32_000;

static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

fn random_u64() -> u64 {
    // RandomState is seeded randomly per process and per instance: enough for picking ports.
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// A TCP port on 127.0.0.1 that is free now and was not returned before by this process.
pub fn free_port() -> Result<u16> {
    let mut guard = HANDED_OUT
        .lock()
        .map_err(|_| anyhow!("port allocator mutex poisoned"))?;
    let used = guard.get_or_insert_with(HashSet::new);
    for _ in 0..1000 {
        let port = LOW + (random_u64() % u64::from(HIGH - LOW)) as u16;
        if used.contains(&port) {
            continue;
        }
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            used.insert(port);
            return Ok(port);
        }
    }
    Err(anyhow!("no free TCP port found in {LOW}..{HIGH}"))
}

/// `n` distinct free ports.
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
    (0..n).map(|_| free_port()).collect()
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_bindable() {
        let ports = free_ports(50).expect("ports");
        let set: HashSet<_> = ports.iter().copied().collect();
        assert_eq!(set.len(), ports.len());
        for p in ports {
            assert!((LOW..HIGH).contains(&p));
            // Another test thread spawning a child (fork before exec) may briefly hold a copy of
            // the probe socket free_port just closed: allow that moment to pass.
            let mut bound = TcpListener::bind((Ipv4Addr::LOCALHOST, p));
            for _ in 0..40 {
                if bound.is_ok() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
                bound = TcpListener::bind((Ipv4Addr::LOCALHOST, p));
            }
            bound.expect("bind");
        }
    }
}
