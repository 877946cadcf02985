//! The command line definitions: parsing, the misplaced-subcommand hint, the option names and
//! the version text.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use clap::CommandFactory;

#[test]
fn clap_definition_is_valid() {
    Cli::command().debug_assert();
}

#[test]
fn parses_subcommands_and_onionbalance_style() {
    let cli = Cli::try_parse_from(["onionfront", "run", "-c", "x.yaml", "-v", "debug"]).unwrap();
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

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

#[test]
fn a_subcommand_after_top_level_options_gets_the_reordered_line() {
    let hint = |a: &[&str]| misplaced_subcommand_hint(&os(a));
    assert_eq!(
        hint(&["onionfront", "-c", "a", "check"]).as_deref(),
        Some("onionfront check -c a")
    );
    assert_eq!(
        hint(&["onionfront", "-c", "my config.yaml", "status", "--json"]).as_deref(),
        Some("onionfront status -c 'my config.yaml' --json")
    );
    assert_eq!(
        hint(&["onionfront", "-v", "it's", "run"]).as_deref(),
        Some(r"onionfront run -v 'it'\''s'")
    );
    // Subcommand first, no subcommand at all, or only after `--`: nothing to suggest.
    assert_eq!(hint(&["onionfront", "check", "-c", "a"]), None);
    assert_eq!(hint(&["onionfront", "-c", "a", "frobnicate"]), None);
    assert_eq!(hint(&["onionfront", "-c", "a", "--", "check"]), None);
    assert_eq!(hint(&["onionfront"]), None);
}

#[test]
fn output_is_o_everywhere_with_out_kept_and_s_only_for_the_socket() {
    for sub in ["keygen", "generate-docs"] {
        for flag in ["-o", "--output", "--out"] {
            let cli = Cli::try_parse_from(["onionfront", sub, flag, "d"]).unwrap();
            let dir = match cli.command {
                Some(Command::Keygen(k)) => k.output,
                Some(Command::GenerateDocs(g)) => g.output,
                other => panic!("{other:?}"),
            };
            assert_eq!(dir, PathBuf::from("d"), "{sub} {flag}");
        }
    }
    assert!(Cli::try_parse_from(["onionfront", "init", "-o", "d", "-s", "2"]).is_err());
    let cli = Cli::try_parse_from(["onionfront", "init", "-o", "d", "--services", "2"]).unwrap();
    assert!(matches!(cli.command, Some(Command::Init(i)) if i.services == Some(2)));
}

#[test]
fn status_options() {
    let status = |a: &[&str]| match Cli::try_parse_from(a).map(|c| c.command) {
        Ok(Some(Command::Status(s))) => Ok(s),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.kind()),
    };
    let s = status(&["onionfront", "status"]).unwrap();
    assert_eq!(s.output_format(), StatusFormat::Table);
    assert_eq!(s.timeout, Duration::from_secs(10));
    assert_eq!(s.startup_grace, Duration::from_secs(300));
    let s = status(&["onionfront", "status", "--json", "-t", "3"]).unwrap();
    assert_eq!(s.output_format(), StatusFormat::Json);
    assert_eq!(s.timeout, Duration::from_secs(3));
    let s = status(&[
        "onionfront",
        "status",
        "--format",
        "nagios",
        "--timeout",
        "1500ms",
    ])
    .unwrap();
    assert_eq!(s.output_format(), StatusFormat::Nagios);
    assert_eq!(s.timeout, Duration::from_millis(1500));
    assert!(status(&["onionfront", "status", "--timeout", "0"]).is_err());
    assert!(status(&["onionfront", "status", "--json", "--format", "table"]).is_err());
}

#[test]
fn version_names_the_commit_and_arti() {
    assert!(VERSION.starts_with(env!("CARGO_PKG_VERSION")), "{VERSION}");
    assert!(VERSION.contains("; Arti 0."), "{VERSION}");
    assert!(VERSION.contains("(commit "), "{VERSION}");
}

#[test]
fn parses_keys_provision_with_defaults_and_aliases() {
    let cli =
        Cli::try_parse_from(["onionfront", "keys", "provision", "-k", "id", "--out", "b"]).unwrap();
    let Some(Command::Keys(KeysArgs {
        command: KeysCommand::Provision(p),
    })) = cli.command
    else {
        panic!("not keys provision");
    };
    assert_eq!(p.key, PathBuf::from("id"));
    assert_eq!(p.output, PathBuf::from("b"));
    assert_eq!((p.days, p.periods, p.from), (30, None, None));
    assert_eq!((p.hsdir_interval, p.voting_interval), (1440, 3600));
    // The live network's offset: 12 voting intervals of an hour.
    assert_eq!(p.offset_secs(), 43_200);

    let cli = Cli::try_parse_from([
        "onionfront",
        "keys",
        "provision",
        "--key",
        "id",
        "-o",
        "b",
        "--periods",
        "4",
        "--from",
        "2027-01-02",
        "--hsdir-interval",
        "60",
        "--voting-interval",
        "20",
    ])
    .unwrap();
    let Some(Command::Keys(KeysArgs {
        command: KeysCommand::Provision(p),
    })) = cli.command
    else {
        panic!("not keys provision");
    };
    assert_eq!(p.periods, Some(4));
    assert_eq!(
        p.from,
        Some(std::time::UNIX_EPOCH + Duration::from_secs(1_798_848_000))
    );
    assert_eq!(p.offset_secs(), 240);
}

#[test]
fn refuses_bad_keys_provision_lines() {
    let base = ["onionfront", "keys", "provision", "-k", "id", "-o", "b"];
    let refused = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        Cli::try_parse_from(args).unwrap_err().to_string()
    };
    assert!(refused(&["--days", "3", "--periods", "2"]).contains("cannot be used with"));
    assert!(refused(&["--hsdir-interval", "4"]).contains("5..=14400"));
    assert!(refused(&["--voting-interval", "0"]).contains("1..=86400"));
    assert!(refused(&["--from", "2027-01-02T10:00:00+02:00"]).contains("UTC only"));
    assert!(Cli::try_parse_from(["onionfront", "keys", "provision", "-o", "b"]).is_err());
}

#[test]
fn parses_utc_times_and_dates() {
    let t = |s| parse_utc_time(s).unwrap();
    let day = std::time::UNIX_EPOCH + Duration::from_secs(1_798_848_000);
    assert_eq!(t("2027-01-02"), day);
    assert_eq!(t("2027-01-02T00:00:00Z"), day);
    assert_eq!(t("2027-01-02 01:00:00"), day + Duration::from_secs(3600));
    assert!(parse_utc_time("tomorrow").is_err());
}

#[test]
fn keys_show_and_generate_parse() {
    let cli = Cli::try_parse_from(["onionfront", "keys", "show", "b"]).unwrap();
    assert!(matches!(
        cli.command,
        Some(Command::Keys(KeysArgs { command: KeysCommand::Show(ShowArgs { ref bundle }) }))
            if bundle == &PathBuf::from("b")
    ));
    let cli = Cli::try_parse_from(["onionfront", "keys", "generate", "-o", "d"]).unwrap();
    assert!(matches!(
        cli.command,
        Some(Command::Keys(KeysArgs { command: KeysCommand::Generate(KeygenArgs { ref output }) }))
            if output == &PathBuf::from("d")
    ));
}
