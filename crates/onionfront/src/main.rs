//! The `onionfront` binary: parses the command line (`onionfront::cli`) and dispatches to the
//! subcommands (`onionfront::commands` for keygen, init and check; `onionfront::daemon` for run;
//! `onionfront::status_client` for status).
//!
//! Exit codes: 0 success, 1 failure (a config that does not load, a key that cannot be written,
//! the daemon stopping on an error), 2 command line errors.

use std::process::ExitCode;

use clap::Parser as _;

use onionfront::cli::{Cli, Command};
use onionfront::{commands, daemon, status_client};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Keygen(args)) => {
            init_cli_logging();
            commands::keygen::run(&args)
        }
        Some(Command::Init(args)) => {
            init_cli_logging();
            commands::init::run(&args)
        }
        Some(Command::Check(args)) => {
            init_cli_logging();
            return match commands::check::check(&args) {
                Ok(report) => {
                    print!("{report}");
                    ExitCode::SUCCESS
                }
                Err(problems) => {
                    eprintln!("{problems}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Command::Run(args)) => block_on(daemon::run(args)),
        Some(Command::Status(args)) => block_on(status_client::run(args)),
        Some(Command::Reload(args)) => commands::reload::run(&args),
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

/// Run `fut` on a new multi-threaded Tokio runtime.
fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(fut: F) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    rt.block_on(fut)
}
