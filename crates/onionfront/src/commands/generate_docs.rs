//! `onionfront generate-docs`: man pages (one per subcommand) and shell completions, generated
//! from the clap definitions so they never drift from `--help`.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory as _;
use clap_complete::Shell;

use crate::cli::{Cli, GenerateDocsArgs};

/// Write `man/` and `completions/` under `args.output`.
pub fn run(args: &GenerateDocsArgs) -> Result<()> {
    let man = args.output.join("man");
    let completions = args.output.join("completions");
    for dir in [&man, &completions] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let cmd = Cli::command();
    write_man(&cmd, "onionfront", &man)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("onionfront-{}", sub.get_name());
        write_man(sub, &name, &man)?;
    }
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let path =
            clap_complete::generate_to(shell, &mut Cli::command(), "onionfront", &completions)
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

fn write_man(cmd: &clap::Command, name: &str, dir: &Path) -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .render(&mut buf)
        .with_context(|| format!("cannot render the man page of {name}"))?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, buf).with_context(|| format!("cannot write {}", path.display()))?;
    println!("{}", path.display());
    Ok(())
}
