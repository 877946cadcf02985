//! Describing the network when something goes wrong: one line per node (PID, ports) and the
//! tail of every node's log.

use super::Network;
use crate::torrc::TorProcess;

impl Network {
    fn nodes(&self) -> Vec<&TorProcess> {
        let mut v: Vec<&TorProcess> = self.routers().collect();
        v.extend(self.backends.iter().map(|b| &b.node));
        v.extend(self.client.iter().map(|c| &c.node));
        v
    }

    /// One line per node: name, PID, ports.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for a in &self.authorities {
            s += &format!(
                "{:<10} pid {:<8} ORPort {} DirPort {}\n",
                a.node.name(),
                pid_str(&a.node),
                a.or_port,
                a.dir_port
            );
        }
        for r in &self.relays {
            s += &format!(
                "{:<10} pid {:<8} ORPort {} DirPort {}\n",
                r.node.name(),
                pid_str(&r.node),
                r.or_port,
                r.dir_port
            );
        }
        for b in &self.backends {
            s += &format!(
                "{:<10} pid {:<8} {} -> http 127.0.0.1:{}\n",
                b.node.name(),
                pid_str(&b.node),
                b.address().unwrap_or_else(|_| "(no address yet)".into()),
                b.http.port()
            );
        }
        if let Some(c) = &self.client {
            s += &format!(
                "{:<10} pid {:<8} SocksPort {}\n",
                c.node.name(),
                pid_str(&c.node),
                c.socks_port
            );
        }
        s
    }

    /// Print the tail of every node's log to stderr.
    pub fn dump_logs(&self) {
        self.dump_logs_lines(25);
    }

    /// Print the last `lines` lines of every node's log to stderr.
    pub fn dump_logs_lines(&self, lines: usize) {
        eprintln!(
            "===== private network logs ({}) =====",
            self.dir().display()
        );
        eprint!("{}", self.describe());
        for n in self.nodes() {
            eprintln!("----- {} ({}) -----", n.name(), n.log_path().display());
            eprintln!("{}", n.log_tail(lines));
        }
        eprintln!("===== end of network logs =====");
    }
}

fn pid_str(n: &TorProcess) -> String {
    n.pid().map_or_else(|| "-".into(), |p| p.to_string())
}
