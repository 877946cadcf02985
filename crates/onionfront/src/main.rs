//! The `onionfront` binary: parses the command line (`onionfront::cli`) and dispatches to the
//! subcommands (`onionfront::commands` for keygen, init and check; `onionfront::daemon` for run;
//! `onionfront::status_client` for status).
//!
//! Exit codes: 0 success, 1 failure (a config that does not load, a key that cannot be written,
//! the daemon stopping on an error), 2 command line errors; `status` follows the Nagios plugin
//! convention instead (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, a command line error included;
//! see `onionfront::status_client`).
//!
//! A bare `onionfront` prints the help, unless `$ONIONFRONT_CONFIG` or `$ONIONBALANCE_CONFIG` is
//! set: then it runs the daemon with that config, as a bare `onionbalance` does.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

use onionfront::cli::{self, Cli, Command};
use onionfront::{commands, daemon, status_client};

/// Exit code of `status` for a command line error (UNKNOWN).
const STATUS_USAGE_ERROR: u8 = 3;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match parse(&args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let result = match cli.command {
        Some(Command::Keygen(args)) => {
            init_cli_logging();
            commands::keygen::run(&args)
        }
        Some(Command::Keys(args)) => {
            init_cli_logging();
            commands::keys::run(&args)
        }
        Some(Command::Init(args)) => {
            init_cli_logging();
            commands::init::run(&args)
        }
        Some(Command::Check(args)) => {
            init_cli_logging();
            return match commands::check::check(&args) {
                Ok(report) => {
                    if !args.quiet {
                        print!("{report}");
                    }
                    ExitCode::SUCCESS
                }
                Err(problems) => {
                    eprintln!("{problems}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Command::Run(args)) => block_on(daemon::run(args)),
        Some(Command::Status(args)) => {
            return match runtime() {
                Ok(rt) => ExitCode::from(rt.block_on(status_client::run(args))),
                Err(e) => {
                    eprintln!("onionfront: UNKNOWN: {e:#}");
                    ExitCode::from(status_client::Severity::Unknown.code())
                }
            };
        }
        Some(Command::Reload(args)) => block_on(commands::reload::run(args)),
        Some(Command::GenerateDocs(args)) => commands::generate_docs::run(&args),
        None => {
            let ignored = cli.compat.given();
            if !ignored.is_empty() {
                eprintln!(
                    "onionfront: ignoring Onionbalance option(s) {}: onionfront embeds its own Tor \
                     client (use `tor-network:` in the config for a test network)",
                    ignored.join(", ")
                );
            }
            block_on(daemon::run(cli.run))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onionfront: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Parse the command line; on an error, print it (with a hint for a subcommand placed after
/// top-level options) and return the exit code.
fn parse(args: &[OsString]) -> Result<Cli, ExitCode> {
    let mut cmd = Cli::command();
    if args.len() <= 1 && cli::config_from_env() {
        cmd = cmd.arg_required_else_help(false);
    }
    let parsed = cmd
        .try_get_matches_from_mut(args)
        .and_then(|m| Cli::from_arg_matches(&m))
        .map_err(|e| e.format(&mut cmd));
    let mut e = match parsed {
        Ok(cli) => return Ok(cli),
        Err(e) => e,
    };
    if !e.use_stderr() {
        // --help, --version.
        let _ = e.print();
        return Err(ExitCode::SUCCESS);
    }
    if let Some(hint) = cli::misplaced_subcommand_hint(args) {
        use clap::error::{ContextKind, ContextValue};
        let mut tips = vec![format!("subcommand options go after the subcommand: `{hint}`").into()];
        if let Some(ContextValue::StyledStrs(old)) = e.get(ContextKind::Suggested) {
            tips.extend(old.iter().cloned());
        }
        e.insert(ContextKind::Suggested, ContextValue::StyledStrs(tips));
    }
    let _ = e.print();
    let status = args.get(1).is_some_and(|a| a == "status");
    Err(ExitCode::from(if status {
        STATUS_USAGE_ERROR
    } else {
        u8::try_from(e.exit_code()).unwrap_or(2)
    }))
}

/// Logging for the short-lived subcommands: warnings and errors to stderr (`RUST_LOG` overrides).
/// The daemon sets up its own.
fn init_cli_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// A new multi-threaded Tokio runtime.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}

/// Run `fut` on a new multi-threaded Tokio runtime.
fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(fut: F) -> anyhow::Result<()> {
    runtime()?.block_on(fut)
}
