//! The command line: subcommands and their arguments (clap derive), and the rules for values
//! that can also come from the environment: the config path ([`default_config_path`]) and the
//! status socket ([`status_socket_path`]).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use onionfront_core::config::{self, Config};

/// Where the config is read from when neither `-c` nor an env var says.
pub const DEFAULT_CONFIG: &str = "/etc/onionfront/config.yaml";
/// Where `onionfront status` looks for the socket when nothing else says.
pub const DEFAULT_STATUS_SOCKET: &str = "/run/onionfront/control";
/// Env var for the config path (wins over [`ENV_OB_CONFIG`]).
pub const ENV_CONFIG: &str = "ONIONFRONT_CONFIG";
/// Onionbalance's env var for the config path.
pub const ENV_OB_CONFIG: &str = "ONIONBALANCE_CONFIG";
/// Env var for the status socket (wins over [`ENV_OB_STATUS_SOCKET`] and the config).
pub const ENV_STATUS_SOCKET: &str = "ONIONFRONT_STATUS_SOCKET";
/// Onionbalance's env var for the status socket (wins over the config).
pub const ENV_OB_STATUS_SOCKET: &str = "ONIONBALANCE_STATUS_SOCKET_LOCATION";

const ABOUT: &str = "Publish one onion address for several backend onion services \
                     (an Onionbalance-compatible load balancer with an embedded Arti Tor client).";

const LONG_ABOUT: &str = "\
Publish one onion address for several backend onion services: an Onionbalance-compatible load
balancer with an embedded Arti Tor client (no separate tor process or control port needed).

Clients connect to the main (\"frontend\") address. onionfront fetches each backend's descriptor,
combines their introduction points, and publishes them under the main address. The backends are
ordinary C tor onion services with `HiddenServiceOnionBalanceInstance 1`.

Quick start:
  onionfront init --output /etc/onionfront      # main key, config.yaml, backend torrc snippets
  # set up each backend's tor as described in /etc/onionfront/backends/*/torrc,
  # then put the backends' addresses into /etc/onionfront/config.yaml
  onionfront check -c /etc/onionfront/config.yaml
  onionfront run -c /etc/onionfront/config.yaml

Onionbalance users: your config.yaml and key files work as they are; `onionfront -c config.yaml`
runs the daemon like `onionbalance -c config.yaml` did.";

/// `onionfront`: the whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "onionfront",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    args_conflicts_with_subcommands = true,
    arg_required_else_help = true,
    max_term_width = 100
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Without a subcommand: run the daemon, like `onionfront run` (Onionbalance style).
    #[command(
        flatten,
        next_help_heading = "Without a subcommand (Onionbalance style: same as `run`)"
    )]
    pub run: RunArgs,
    /// Onionbalance's tor control port options, accepted and ignored.
    #[command(flatten)]
    pub compat: ObCompatArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new main onion service key (C tor format) and print its address.
    Keygen(KeygenArgs),
    /// Write a ready-to-edit setup: config.yaml, main key(s), and each backend's tor snippets.
    Init(InitArgs),
    /// Check a config file and its keys; print each service's address and backends.
    Check(CheckArgs),
    /// Run the daemon: fetch backend descriptors and publish the main descriptors.
    Run(RunArgs),
    /// Ask a running daemon for its status (through its status socket).
    Status(StatusArgs),
    /// Make a running daemon reload its configuration (SIGHUP) and wait until it has, or has
    /// refused the new one (what the systemd unit's `ExecReload=` runs).
    Reload(ReloadArgs),
    /// Write man pages and shell completions generated from this command line.
    GenerateDocs(GenerateDocsArgs),
}

/// `onionfront generate-docs`.
#[derive(Debug, Clone, Args)]
pub struct GenerateDocsArgs {
    /// Folder to write into: `man/onionfront*.1` and `completions/` (bash, zsh, fish).
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `onionfront keygen`.
#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// Folder for hs_ed25519_secret_key, hs_ed25519_public_key and hostname (created with mode
    /// 0700 if missing). Existing key files there are never overwritten.
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
}

/// Where `onionfront init` writes when no `--output` is given: the packaged unit's config folder.
pub const DEFAULT_INIT_OUTPUT: &str = "/etc/onionfront";

/// The paths `onionfront init` writes into config.yaml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InitLayout {
    /// The packaged systemd unit's paths: status socket /run/onionfront/control, Arti's state in
    /// /var/lib/onionfront and cache in /var/cache/onionfront; files owned by the `onionfront`
    /// user when run as root.
    System,
    /// Everything inside the output folder (relative paths), to run by hand.
    Local,
}

/// `onionfront init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Folder to write into (created if missing). Refuses to overwrite an existing config.yaml.
    #[arg(short, long, value_name = "DIR", default_value = DEFAULT_INIT_OUTPUT)]
    pub output: PathBuf,
    /// Paths to write into config.yaml [default: system when the folder is /etc/onionfront,
    /// local otherwise].
    #[arg(long, value_enum, value_name = "LAYOUT")]
    pub layout: Option<InitLayout>,
    /// Number of backend slots [default: 2, or the number of --instance given].
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=100))]
    pub instances: Option<u16>,
    /// Number of public services (main addresses) [default: 1, or the number of --key given].
    #[arg(short, long, value_name = "S", value_parser = clap::value_parser!(u16).range(1..=50))]
    pub services: Option<u16>,
    /// Use an existing key for a service instead of generating one: C tor's
    /// hs_ed25519_secret_key or an Onionbalance PEM key (copied in C tor format). Repeat for
    /// several services, in order.
    #[arg(short, long, value_name = "PATH")]
    pub key: Vec<PathBuf>,
    /// A backend's onion address, if already known (fills the backend slots in order instead of
    /// placeholders). Repeat for several backends.
    #[arg(long, value_name = "ADDRESS")]
    pub instance: Vec<String>,
    /// Virtual port of the service, for the backends' torrc snippet (1-65535).
    #[arg(long, value_name = "PORT", default_value_t = 80,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// Where each backend's tor sends connections, for the torrc snippet.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub target: String,
}

/// `onionfront check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Config file [env: ONIONFRONT_CONFIG, ONIONBALANCE_CONFIG] [default:
    /// /etc/onionfront/config.yaml].
    #[arg(short, long, value_name = "FILE", default_value_os_t = default_config_path(), hide_default_value = true)]
    pub config: PathBuf,
}

/// `onionfront run` (and `onionfront` without a subcommand).
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Config file [env: ONIONFRONT_CONFIG, ONIONBALANCE_CONFIG] [default:
    /// /etc/onionfront/config.yaml].
    #[arg(short, long, value_name = "FILE", default_value_os_t = default_config_path(), hide_default_value = true)]
    pub config: PathBuf,
    /// Log level, overriding the config's `log.level`: trace, debug, info, warn, error
    /// (Onionbalance's warning and critical work too), or a filter like `onionfront=debug,info`.
    #[arg(
        short = 'v',
        long = "log-level",
        visible_alias = "verbosity",
        value_name = "LEVEL"
    )]
    pub log_level: Option<String>,
}

impl RunArgs {
    /// The `tracing` filter to use: `--log-level` if given, else the config's `log.level`.
    pub fn log_filter(&self, config: &Config) -> anyhow::Result<String> {
        match &self.log_level {
            Some(l) => config::log_filter(l).map_err(|e| anyhow::anyhow!("--log-level: {e}")),
            None => Ok(config.log.level.clone()),
        }
    }
}

/// `onionfront status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The daemon's status socket. Default: $ONIONFRONT_STATUS_SOCKET, then
    /// $ONIONBALANCE_STATUS_SOCKET_LOCATION, then the config's status-socket-location, then
    /// /run/onionfront/control.
    #[arg(short, long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Print the daemon's JSON document as it is instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Config file to read status-socket-location from [env: ONIONFRONT_CONFIG,
    /// ONIONBALANCE_CONFIG] [default: /etc/onionfront/config.yaml].
    #[arg(short, long, value_name = "FILE", default_value_os_t = default_config_path(), hide_default_value = true)]
    pub config: PathBuf,
}

impl InitArgs {
    /// The layout asked for, or the default for the output folder.
    pub fn layout(&self) -> InitLayout {
        self.layout.unwrap_or_else(|| {
            if self.output == std::path::Path::new(DEFAULT_INIT_OUTPUT) {
                InitLayout::System
            } else {
                InitLayout::Local
            }
        })
    }
}

impl StatusArgs {
    /// The socket to query: `--socket`, the env vars, the config's `status-socket-location`
    /// (if the config can be read), then [`DEFAULT_STATUS_SOCKET`].
    pub fn socket_path(&self) -> PathBuf {
        socket_path_for(self.socket.as_deref(), &self.config)
    }
}

/// The status socket: `socket` if given, the env vars, the config's `status-socket-location` (if
/// the config can be read), then [`DEFAULT_STATUS_SOCKET`].
fn socket_path_for(socket: Option<&std::path::Path>, config: &std::path::Path) -> PathBuf {
    if let Some(s) = socket {
        return s.to_path_buf();
    }
    if let Some(s) = status_socket_from_env() {
        return s;
    }
    match config::load(config) {
        Ok(c) => c
            .status_socket
            .unwrap_or_else(|| PathBuf::from(DEFAULT_STATUS_SOCKET)),
        Err(_) => PathBuf::from(DEFAULT_STATUS_SOCKET),
    }
}

/// `onionfront reload`.
#[derive(Debug, Clone, Args)]
pub struct ReloadArgs {
    /// The daemon's process ID [default: the one its status socket reports].
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// How long to wait for the daemon to report the reload.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    /// The daemon's status socket, found as for `onionfront status`.
    #[arg(short, long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Config file to read status-socket-location from [env: ONIONFRONT_CONFIG,
    /// ONIONBALANCE_CONFIG] [default: /etc/onionfront/config.yaml].
    #[arg(short, long, value_name = "FILE", default_value_os_t = default_config_path(), hide_default_value = true)]
    pub config: PathBuf,
}

impl ReloadArgs {
    /// The socket to query, by the rules of [`StatusArgs::socket_path`].
    pub fn socket_path(&self) -> PathBuf {
        socket_path_for(self.socket.as_deref(), &self.config)
    }
}

/// Onionbalance's command line options that make no sense with an embedded Tor client. They are
/// accepted (so an `onionbalance` command line works unchanged) and ignored with a warning.
#[derive(Debug, Clone, Default, Args)]
pub struct ObCompatArgs {
    /// Onionbalance: tor control host.
    #[arg(short = 'i', long = "ip", hide = true, value_name = "IP")]
    pub ip: Option<String>,
    /// Onionbalance: tor control port.
    #[arg(short = 'p', long = "port", hide = true, value_name = "PORT")]
    pub port: Option<String>,
    /// Onionbalance: tor control socket.
    #[arg(short = 's', long = "socket", hide = true, value_name = "SOCKET")]
    pub socket: Option<String>,
    /// Onionbalance: onion service version (only v3).
    #[arg(long = "hs-version", hide = true, value_name = "VERSION")]
    pub hs_version: Option<String>,
    /// Onionbalance: test network constants (use `tor-network:` in the config instead).
    #[arg(long = "is-testnet", hide = true)]
    pub is_testnet: bool,
}

impl ObCompatArgs {
    /// Names of the options given, for a warning.
    pub fn given(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.ip.is_some() {
            v.push("--ip");
        }
        if self.port.is_some() {
            v.push("--port");
        }
        if self.socket.is_some() {
            v.push("--socket");
        }
        if self.hs_version.is_some() {
            v.push("--hs-version");
        }
        if self.is_testnet {
            v.push("--is-testnet");
        }
        v
    }
}

/// A non-empty env var (an empty value counts as unset, as in Onionbalance).
fn env_nonempty(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// The config path when `-c` is not given: `$ONIONFRONT_CONFIG`, then `$ONIONBALANCE_CONFIG`,
/// then [`DEFAULT_CONFIG`].
pub fn default_config_path() -> PathBuf {
    env_nonempty(ENV_CONFIG)
        .or_else(|| env_nonempty(ENV_OB_CONFIG))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
}

/// The status socket set in the environment: `$ONIONFRONT_STATUS_SOCKET`, then
/// `$ONIONBALANCE_STATUS_SOCKET_LOCATION`.
pub fn status_socket_from_env() -> Option<PathBuf> {
    env_nonempty(ENV_STATUS_SOCKET)
        .or_else(|| env_nonempty(ENV_OB_STATUS_SOCKET))
        .map(PathBuf::from)
}

/// Where the daemon serves its status: the env vars (see [`status_socket_from_env`]) win over the
/// config's `status-socket-location`. `None`: no status socket (as in Onionbalance).
pub fn status_socket_path(config: &Config) -> Option<PathBuf> {
    status_socket_from_env().or_else(|| config.status_socket.clone())
}

/// Where [`status_socket_path`]'s answer comes from, for messages.
pub fn status_socket_origin(config: &Config) -> &'static str {
    if env_nonempty(ENV_STATUS_SOCKET).is_some() {
        ENV_STATUS_SOCKET
    } else if env_nonempty(ENV_OB_STATUS_SOCKET).is_some() {
        ENV_OB_STATUS_SOCKET
    } else if config.status_socket.is_some() {
        "status-socket-location"
    } else {
        "not set"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_subcommands_and_onionbalance_style() {
        let cli =
            Cli::try_parse_from(["onionfront", "run", "-c", "x.yaml", "-v", "debug"]).unwrap();
        match cli.command {
            Some(Command::Run(r)) => {
                assert_eq!(r.config, PathBuf::from("x.yaml"));
                assert_eq!(r.log_level.as_deref(), Some("debug"));
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(["onionfront", "--config", "y.yaml", "-p", "9051"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.run.config, PathBuf::from("y.yaml"));
        assert_eq!(cli.compat.given(), ["--port"]);
        let cli = Cli::try_parse_from(["onionfront", "status", "--json", "-s", "/s"]).unwrap();
        match cli.command {
            Some(Command::Status(s)) => {
                assert!(s.json);
                assert_eq!(s.socket_path(), PathBuf::from("/s"));
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["onionfront", "-c", "a", "check"]).is_err());
    }
}
