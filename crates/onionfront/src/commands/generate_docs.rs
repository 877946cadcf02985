//! `onionfront generate-docs`: man pages and shell completions, generated from the clap
//! definitions so they never drift from `--help`, and onionfront.yaml(5) from
//! docs/configuration.md ([`config_page`]).
//!
//! The layout under `--output DIR` is fixed (the Debian package installs from it):
//! `man/onionfront.1`, `man/onionfront-<subcommand>.1` for each visible subcommand (and
//! `man/onionfront-keys-<subcommand>.1` for nested ones, like `keys provision`),
//! `man/onionfront.yaml.5`, `completions/onionfront.bash`, `completions/_onionfront`,
//! `completions/onionfront.fish`.
//!
//! Rules: every page is titled with its own name (`ONIONFRONT-INIT`), carries the version in
//! its footer and has an EXIT STATUS section ([`sections`]); pages list only pages that are
//! written (clap's `help` subcommand gets none, so it is left out of the docs); completions
//! offer no hidden option (the Onionbalance compatibility options and `--out` still parse but
//! are not suggested).

pub mod config_page;
pub mod sections;

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory as _;
use clap_complete::Shell;

use crate::cli::{Cli, GenerateDocsArgs};

/// Write `man/` and `completions/` under `args.output`; print each file written.
pub fn run(args: &GenerateDocsArgs) -> Result<()> {
    let man = args.output.join("man");
    let completions = args.output.join("completions");
    for dir in [&man, &completions] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let cmd = docs_command();
    let mut subcommands = Vec::new();
    collect_subcommands(&cmd, "onionfront", &mut subcommands);
    let mut pages = vec!["onionfront".to_string()];
    pages.extend(subcommands.iter().map(|(name, _)| name.clone()));
    write_man(&cmd, "onionfront", &pages, &man)?;
    for (name, sub) in &subcommands {
        write_man(sub, name, &pages, &man)?;
    }
    write(
        &man.join("onionfront.yaml.5"),
        config_page::render(config_page::CONFIGURATION_MD, env!("CARGO_PKG_VERSION")).as_bytes(),
    )?;
    let mut for_completions = completion_command(&Cli::command());
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let path =
            clap_complete::generate_to(shell, &mut for_completions, "onionfront", &completions)
                .with_context(|| {
                    format!(
                        "cannot write {shell} completions to {}",
                        completions.display()
                    )
                })?;
        println!("{}", path.display());
    }
    Ok(())
}

/// The command line as the man pages show it: built (so subcommands know their full names,
/// `onionfront-init` and `onionfront init`), without clap's `help` subcommand.
fn docs_command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The visible subcommands under `cmd` (named `prefix`), depth first, each with its page name:
/// `onionfront-keys`, then `onionfront-keys-provision`.
fn collect_subcommands<'a>(
    cmd: &'a clap::Command,
    prefix: &str,
    out: &mut Vec<(String, &'a clap::Command)>,
) {
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = format!("{prefix}-{}", sub.get_name());
        out.push((name.clone(), sub));
        collect_subcommands(sub, &name, out);
    }
}

/// `cmd` and its subcommands without hidden arguments, for completions.
pub fn completion_command(cmd: &clap::Command) -> clap::Command {
    let mut out = clap::Command::new(cmd.get_name().to_string())
        .args_conflicts_with_subcommands(cmd.is_args_conflicts_with_subcommands_set())
        .disable_help_subcommand(cmd.is_disable_help_subcommand_set());
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    if let Some(v) = cmd.get_version() {
        out = out.version(v.to_string());
    }
    if let Some(v) = cmd.get_long_version() {
        out = out.long_version(v.to_string());
    }
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        out = out.arg(arg.clone());
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out = out.subcommand(completion_command(sub));
    }
    out
}

fn write_man(cmd: &clap::Command, name: &str, pages: &[String], dir: &Path) -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .date(env!("ONIONFRONT_COMMIT_DATE"))
        .source(format!("onionfront {}", env!("CARGO_PKG_VERSION")))
        .manual("onionfront manual")
        .render(&mut buf)
        .with_context(|| format!("cannot render the man page of {name}"))?;
    let page = String::from_utf8_lossy(&buf).into_owned();
    // Our sections go before clap's VERSION section (or at the end).
    let extra = sections::render(name, pages);
    let at = page.find("\n.SH VERSION").map_or(page.len(), |i| i + 1);
    let page = format!("{}{extra}{}", &page[..at], &page[at..]);
    write(&dir.join(format!("{name}.1")), page.as_bytes())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    println!("{}", path.display());
    Ok(())
}
