//! The man page sections clap does not know about: EXIT STATUS, SIGNALS, ENVIRONMENT, FILES and
//! SEE ALSO, per page (`onionfront` and each subcommand). A subcommand without an entry here (a
//! new one) gets the common exit codes and SEE ALSO, so every page has an EXIT STATUS.

use roff::{Roff, bold, roman};

use crate::cli::{
    DEFAULT_CONFIG, DEFAULT_STATUS_SOCKET, ENV_CONFIG, ENV_OB_CONFIG, ENV_OB_STATUS_SOCKET,
    ENV_STATUS_SOCKET,
};

/// One section: a title, an optional paragraph, then tagged paragraphs.
struct Section {
    title: &'static str,
    intro: Option<String>,
    items: Vec<(String, String)>,
}

fn section(title: &'static str, intro: Option<&str>, items: &[(&str, &str)]) -> Section {
    Section {
        title,
        intro: intro.map(str::to_string),
        items: items
            .iter()
            .map(|(t, d)| ((*t).to_string(), (*d).to_string()))
            .collect(),
    }
}

const USAGE_ERROR: (&str, &str) = ("2", "The command line is wrong (the message says why).");

fn env_config() -> [(&'static str, &'static str); 2] {
    [
        (
            ENV_CONFIG,
            "The config file when -c is not given (an empty value counts as unset).",
        ),
        (
            ENV_OB_CONFIG,
            "Onionbalance's name for the same; ONIONFRONT_CONFIG wins.",
        ),
    ]
}

fn env_socket() -> [(&'static str, &'static str); 2] {
    [
        (
            ENV_STATUS_SOCKET,
            "The status socket; wins over the config's status-socket-location.",
        ),
        (
            ENV_OB_STATUS_SOCKET,
            "Onionbalance's name for the same; ONIONFRONT_STATUS_SOCKET wins.",
        ),
    ]
}

fn exit_simple(failure: &str) -> Section {
    section(
        "EXIT STATUS",
        None,
        &[("0", "Success."), ("1", failure), USAGE_ERROR],
    )
}

/// The status rules, also in `crate::status_client::check` (kept short here).
fn exit_status_check() -> Section {
    section(
        "EXIT STATUS",
        Some(
            "The Nagios plugin convention, whatever the --format; the state is also the first \
             word after ONIONFRONT in --format nagios and the \"state\" of the --json error \
             object.",
        ),
        &[
            (
                "0 (OK)",
                "Every service is published, every backend is live, no HSDir upload is failing.",
            ),
            (
                "1 (WARNING)",
                "Some backends are not live; some HSDir uploads are failing (retrying or \
                 failed); or, within --startup-grace of the daemon's start, it is still \
                 bootstrapping or a service is not published yet.",
            ),
            (
                "2 (CRITICAL)",
                "The daemon cannot be reached (no socket, nothing listening, no answer within \
                 --timeout); a service that was published has no live backend; or, after \
                 --startup-grace, a service has never been published or no service runs.",
            ),
            (
                "3 (UNKNOWN)",
                "The check cannot tell: permission denied on the socket (run as root or as a \
                 member of group onionfront), an answer that is not a status document, a \
                 service state this version does not know, or a command line error.",
            ),
        ],
    )
}

fn files_config() -> (String, String) {
    (
        DEFAULT_CONFIG.to_string(),
        "The default config file; see onionfront.yaml(5).".to_string(),
    )
}

fn files_socket() -> (String, String) {
    (
        DEFAULT_STATUS_SOCKET.to_string(),
        "The status socket of the packaged systemd unit (mode 0660, group onionfront), and the \
         default of onionfront status."
            .to_string(),
    )
}

fn sections(page: &str, pages: &[String]) -> Vec<Section> {
    let mut v = match page {
        "onionfront" => {
            let mut exit = exit_simple(
                "Failure: a config that does not load, a key that cannot be written, the daemon \
                 stopping on an error.",
            );
            exit.items.push((
                "0 to 3".into(),
                "onionfront status follows the Nagios plugin convention instead; see \
                 onionfront-status(1)."
                    .into(),
            ));
            let mut env = section("ENVIRONMENT", None, &env_config());
            env.items.extend(
                env_socket()
                    .iter()
                    .map(|(a, b)| ((*a).to_string(), (*b).to_string())),
            );
            env.items.push((
                "ONIONFRONT_LOG".into(),
                "The daemon's log level, below --log-level and above log.level.".into(),
            ));
            env.items.push((
                "RUST_LOG".into(),
                "The log filter of keygen, init and check (default: warn).".into(),
            ));
            env.items.push((
                "NOTIFY_SOCKET, WATCHDOG_USEC".into(),
                "Set by systemd: readiness, status and watchdog notifications.".into(),
            ));
            let mut files = section("FILES", None, &[]);
            files.items.push(files_config());
            files.items.push(files_socket());
            vec![
                exit,
                section(
                    "SIGNALS",
                    None,
                    &[
                        (
                            "SIGHUP",
                            "Reload the config and keys; a config that does not load is refused \
                             and the running one kept.",
                        ),
                        ("SIGTERM, SIGINT", "Stop within a few seconds."),
                    ],
                ),
                env,
                files,
            ]
        }
        "onionfront-run" => {
            let mut env = section("ENVIRONMENT", None, &env_config());
            env.items.extend(
                env_socket()
                    .iter()
                    .map(|(a, b)| ((*a).to_string(), (*b).to_string())),
            );
            env.items.push((
                "ONIONFRONT_LOG".into(),
                "The log level, below --log-level and above the config's log.level.".into(),
            ));
            let mut files = section("FILES", None, &[]);
            files.items.push(files_config());
            vec![
                exit_simple(
                    "The config does not load, Tor cannot bootstrap, or the daemon stopped on \
                     an error (0 when stopped by SIGTERM or SIGINT).",
                ),
                section(
                    "SIGNALS",
                    None,
                    &[
                        (
                            "SIGHUP",
                            "Reload the config and keys, or refuse a broken config.",
                        ),
                        ("SIGTERM, SIGINT", "Stop within a few seconds."),
                    ],
                ),
                env,
                files,
            ]
        }
        "onionfront-status" => {
            let mut env = section("ENVIRONMENT", None, &env_socket());
            env.items.extend(
                env_config()
                    .iter()
                    .map(|(a, b)| ((*a).to_string(), (*b).to_string())),
            );
            let mut files = section("FILES", None, &[]);
            files.items.push(files_socket());
            files.items.push(files_config());
            vec![exit_status_check(), env, files]
        }
        "onionfront-check" => {
            let mut files = section("FILES", None, &[]);
            files.items.push(files_config());
            vec![
                exit_simple("The config or a key does not load; every problem is on stderr."),
                section("ENVIRONMENT", None, &env_config()),
                files,
            ]
        }
        "onionfront-keys-provision" => vec![
            exit_simple(
                "The identity key does not load, or the bundle could not be written (an \
                 existing file is never replaced).",
            ),
            section(
                "FILES",
                None,
                &[(
                    "BUNDLE",
                    "The key bundle, mode 0600: per covered time period, a descriptor-signing \
                     key certified by the period's blinded key (no blinded or identity secret). \
                     A thief of the file can sign descriptors until its last certificate \
                     expires, the end of the last period + 12 h. The format, the threat model \
                     and the workflow: docs/offline-keys.md.",
                )],
            ),
        ],
        "onionfront-keys-show" => vec![exit_simple(
            "The bundle does not load (not private, truncated, altered; the message names the \
             line).",
        )],
        "onionfront-keygen" | "onionfront-keys-generate" => vec![
            exit_simple("The key could not be written (existing key files are never replaced)."),
            section(
                "FILES",
                None,
                &[
                    (
                        "DIR/hs_ed25519_secret_key",
                        "The secret key, C tor's format, mode 0600.",
                    ),
                    (
                        "DIR/hs_ed25519_public_key, DIR/hostname",
                        "Its public key and address.",
                    ),
                ],
            ),
        ],
        "onionfront-generate-docs" => vec![
            exit_simple("A file could not be written."),
            section(
                "FILES",
                None,
                &[
                    (
                        "DIR/man/onionfront.1, DIR/man/onionfront-*.1",
                        "The man pages of the command and each subcommand.",
                    ),
                    ("DIR/man/onionfront.yaml.5", "The config file format."),
                    (
                        "DIR/completions/onionfront.bash, _onionfront, onionfront.fish",
                        "Completions for bash, zsh and fish.",
                    ),
                ],
            ),
        ],
        "onionfront-init" => vec![exit_simple(
            "A file could not be written, or one already exists (nothing is overwritten).",
        )],
        _ => vec![exit_simple("Failure; the message says why.")],
    };
    let mut see_also: Vec<String> = pages
        .iter()
        .filter(|p| p.as_str() != page)
        .map(|p| format!("{p}(1)"))
        .collect();
    see_also.push("onionfront.yaml(5)".into());
    see_also.push("tor(1)".into());
    v.push(Section {
        title: "SEE ALSO",
        intro: Some(see_also.join(", ")),
        items: Vec::new(),
    });
    v
}

/// The extra sections of man page `page` (`onionfront`, `onionfront-status`, ...) as roff;
/// `pages` are all the pages written, for SEE ALSO.
pub fn render(page: &str, pages: &[String]) -> String {
    let mut roff = Roff::new();
    for s in sections(page, pages) {
        roff.control("SH", [s.title]);
        if let Some(intro) = s.intro {
            roff.text([roman(intro)]);
        }
        for (tag, text) in s.items {
            roff.control("TP", []);
            roff.text([bold(tag)]);
            roff.text([roman(text)]);
        }
    }
    roff.to_roff()
}
