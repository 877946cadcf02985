//! `cargo run -p onionfront-e2e --bin testnet [-- --backends N] [--no-onionfront]`: bring up the
//! private Tor network with backends and onionfront in front, print how to reach it, and tear it
//! all down on Ctrl-C (or SIGTERM).
//!
//! A thread runs tokio's SIGINT/SIGTERM listeners; on a signal it cancels any wait in progress and
//! wakes the main thread, which drops onionfront and the network: that stops every child by PID.
//! (Signals are not blocked for a `sigwait`: children would inherit the blocked mask and ignore
//! SIGTERM.)

use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use onionfront_e2e::config::ConfigSpec;
use onionfront_e2e::{Network, NetworkOptions, Onionfront, onionfront, wait};

struct Args {
    backends: usize,
    with_onionfront: bool,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        backends: 3,
        with_onionfront: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--backends" => {
                a.backends = it
                    .next()
                    .context("--backends needs a number")?
                    .parse()
                    .context("--backends needs a number")?;
            }
            "--no-onionfront" => a.with_onionfront = false,
            "-h" | "--help" => {
                println!("usage: testnet [--backends N] [--no-onionfront]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    Ok(a)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("testnet: {e:#}");
        onionfront_e2e::process::kill_all();
        std::process::exit(1);
    }
}

/// Listen for SIGINT and SIGTERM on a thread; the receiver gets the signal's name.
fn watch_signals() -> Result<mpsc::Receiver<&'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    // Register the handlers before returning, so no early Ctrl-C is lost.
    let (mut int, mut term) = rt.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let name = rt.block_on(async {
            tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            }
        });
        eprintln!("\n[testnet] {name}: tearing down");
        wait::cancel();
        let _ = tx.send(name);
    });
    Ok(rx)
}

fn run() -> Result<()> {
    let args = parse_args()?;
    let rx = watch_signals()?;

    let binary = if args.with_onionfront {
        match onionfront::binary() {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("[testnet] no onionfront binary ({e:#}); running without it");
                None
            }
        }
    } else {
        None
    };

    let names: Vec<String> = (1..=args.backends).map(|i| format!("b{i}")).collect();
    let mut opts = NetworkOptions::with_backends(Vec::<String>::new());
    opts.main_keys = 0;
    let mut net = Network::start(opts)?;

    // The main key: `onionfront keygen` if it works, else the harness's own.
    let main_dir = net.dir().join("main-0");
    let key = match binary.as_deref().map(|b| onionfront::keygen(b, &main_dir)) {
        Some(Ok(k)) => k,
        other => {
            if let Some(Err(e)) = other {
                eprintln!("[testnet] onionfront keygen failed ({e:#}); generating the key here");
            }
            onionfront_e2e::keys::generate(&main_dir)?
        }
    };
    net.main_keys.push(key.clone());
    let specs: Vec<(String, Vec<String>)> = names
        .iter()
        .map(|n| (n.clone(), vec![key.address.clone()]))
        .collect();
    net.add_backends(&specs)?;

    let spec: ConfigSpec = net.default_config_spec()?;
    let written = net.write_onionfront_config(&spec)?;
    let socks = net.client()?.socks_port;

    let mut daemon = None;
    if let Some(b) = &binary {
        let mut d = Onionfront::spawn(b, &written.path)?;
        std::thread::sleep(Duration::from_secs(2));
        if d.is_running() {
            daemon = Some(d);
        } else {
            eprintln!(
                "[testnet] onionfront exited at once ({:?}); its log:\n{}",
                d.exit_status(),
                d.log_tail(30)
            );
        }
    }

    println!();
    print!("{}", net.describe());
    println!("run dir:     {}", net.dir().display());
    println!("config:      {}", written.path.display());
    for b in &net.backends {
        println!(
            "backend {}: curl --socks5-hostname 127.0.0.1:{socks} http://{}/",
            b.name,
            b.address()?
        );
    }
    println!("main address: {}", key.address);
    match (&daemon, &binary) {
        (Some(d), _) => println!(
            "onionfront:  pid {} (log {})",
            d.pid(),
            d.log_path().display()
        ),
        (None, Some(b)) => println!(
            "onionfront is not running; start it by hand with:\n  {} run --config {}",
            b.display(),
            written.path.display()
        ),
        (None, None) => println!(
            "onionfront would run as:\n  onionfront run --config {}",
            written.path.display()
        ),
    }
    println!(
        "\ncurl --socks5-hostname 127.0.0.1:{socks} http://{}/",
        key.address
    );
    println!("\nPress Ctrl-C to stop everything.");

    let _ = rx.recv();
    drop(daemon);
    drop(net);
    eprintln!("[testnet] all processes stopped");
    Ok(())
}
