//! `onionfront init`: what `onionbalance-config` does, done right. Writes into `--output`
//! (default `/etc/onionfront`, the packaged unit's config folder):
//! - `keys/service-N/` with each service's key in C tor format (generated, or imported from a C
//!   tor or Onionbalance PEM key with `--key`);
//! - `backends/backend-N/ob_config` and `torrc` for each backend's tor;
//! - `config.yaml` last, listing the backends (placeholders unless `--instance` gave them).
//!
//! The layout ([`InitLayout`]) decides the paths in config.yaml: the system one (the default for
//! `/etc/onionfront`) uses the unit's status socket, state and cache folders, so that the packaged
//! unit runs the result as it is; the local one keeps everything inside the output folder. Who
//! owns the files is decided in [`super::init_owner`].
//!
//! Nothing existing is overwritten: an existing `config.yaml` stops it before anything is written.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context as _, bail};
use onionfront_core::OnionAddress;
use onionfront_core::keys::{ServiceKey, file};

use super::init_files::{self, BackendEntry, RuntimePaths, ServiceEntry};
use super::init_owner::{self, Ownership};
use crate::cli::{InitArgs, InitLayout};

/// What was written, for the summary.
struct Written {
    services: Vec<(OnionAddress, String, &'static str)>,
    backends: Vec<BackendEntry>,
    layout: InitLayout,
    /// Why config.yaml and keys were left to the invoking user in the system layout.
    ownership_note: Option<String>,
}

/// Run `onionfront init`.
pub fn run(args: &InitArgs) -> anyhow::Result<()> {
    let out = &args.output;
    if out.exists() && !out.is_dir() {
        bail!("--output {}: exists and is not a folder", out.display());
    }
    let config_path = out.join("config.yaml");
    if config_path.exists() {
        bail!(
            "{} already exists; refusing to overwrite it (choose another --output folder)",
            config_path.display()
        );
    }
    let n_services = usize::from(args.services.unwrap_or(0))
        .max(args.key.len())
        .max(1);
    if let Some(s) = args.services
        && usize::from(s) < args.key.len()
    {
        bail!(
            "--services {s} but {} --key given: give at most one --key per service",
            args.key.len()
        );
    }
    let addresses = args
        .instance
        .iter()
        .map(|a| {
            a.parse::<OnionAddress>()
                .with_context(|| format!("--instance {a}: not a valid v3 onion address"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut seen = HashSet::new();
    for a in &addresses {
        if !seen.insert(*a) {
            bail!("--instance {a} is given twice");
        }
    }
    let n_backends = match args.instances {
        Some(n) if usize::from(n) < addresses.len() => bail!(
            "--instances {n} but {} --instance addresses given",
            addresses.len()
        ),
        Some(n) => usize::from(n),
        None if addresses.is_empty() => 2,
        None => addresses.len(),
    };
    if args.target.trim().is_empty() || args.target.contains(char::is_whitespace) {
        bail!(
            "--target {:?}: expected ADDR:PORT like 127.0.0.1:8080",
            args.target
        );
    }

    // Keys: import or generate, all in memory before anything is written.
    let mut keys: Vec<(ServiceKey, &'static str)> = Vec::new();
    for path in &args.key {
        let key = ServiceKey::load(path)
            .with_context(|| format!("--key {}: cannot import this key", path.display()))?;
        if keys.iter().any(|(k, _)| k.address() == key.address()) {
            bail!(
                "--key {}: the same key ({}) is given twice",
                path.display(),
                key.address()
            );
        }
        keys.push((key, "imported"));
    }
    while keys.len() < n_services {
        keys.push((ServiceKey::generate(), "generated"));
    }
    for a in &addresses {
        if let Some((k, _)) = keys.iter().find(|(k, _)| k.address() == *a) {
            bail!(
                "--instance {a} is the address of a main key ({}); a service cannot be its own backend",
                k.address()
            );
        }
    }

    let layout = args.layout();
    let ownership = match layout {
        InitLayout::System => init_owner::for_system_layout()?,
        InitLayout::Local => Ownership::Invoker(None),
    };
    create_output_dir(out, layout, &ownership)?;
    let mut written = write_all(out, &keys, &addresses, n_backends, args, layout)?;
    match ownership {
        Ownership::Service(owner) => {
            init_owner::give_tree(&out.join("keys"), owner)?;
            init_owner::give(&config_path, owner)?;
        }
        Ownership::Invoker(note) => written.ownership_note = note,
    }
    print_summary(out, &written);
    Ok(())
}

/// Create the output folder if missing: mode 0750 and group `onionfront` for the system layout
/// when the files go to the service user (the unit's `ConfigurationDirectoryMode=`), else 0700.
/// One error naming the folder, not the OS error twice.
fn create_output_dir(out: &Path, layout: InitLayout, ownership: &Ownership) -> anyhow::Result<()> {
    if out.is_dir() {
        return Ok(());
    }
    let service = match ownership {
        Ownership::Service(owner) if layout == InitLayout::System => Some(*owner),
        _ => None,
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    std::os::unix::fs::DirBuilderExt::mode(
        &mut builder,
        if service.is_some() { 0o750 } else { 0o700 },
    );
    if let Err(e) = builder.create(out) {
        bail!("cannot create the folder {}: {e}", out.display());
    }
    if let Some(owner) = service {
        // The umask may have taken bits away from 0750.
        std::fs::set_permissions(out, std::os::unix::fs::PermissionsExt::from_mode(0o750))
            .with_context(|| format!("cannot set mode 0750 on {}", out.display()))?;
        init_owner::give_group(out, owner)?;
    }
    Ok(())
}

fn write_all(
    out: &Path,
    keys: &[(ServiceKey, &'static str)],
    addresses: &[OnionAddress],
    n_backends: usize,
    args: &InitArgs,
    layout: InitLayout,
) -> anyhow::Result<Written> {
    let mut services = Vec::new();
    let mut entries = Vec::new();
    for (i, (key, origin)) in keys.iter().enumerate() {
        let rel = format!("keys/service-{}", i + 1);
        key.write_ctor(&out.join(&rel))
            .with_context(|| format!("cannot write the key of service {}", i + 1))?;
        let key_file = format!("{rel}/hs_ed25519_secret_key");
        services.push((key.address(), key_file.clone(), *origin));
        entries.push(ServiceEntry {
            address: key.address(),
            key: key_file,
        });
    }
    let backends: Vec<BackendEntry> = (0..n_backends)
        .map(|i| BackendEntry {
            number: i + 1,
            address: addresses.get(i).copied(),
        })
        .collect();
    let ob_config = init_files::ob_config(&entries);
    for b in &backends {
        let dir = out.join("backends").join(b.name());
        file::create_private_dir(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        write(&dir.join("ob_config"), &ob_config, 0o600)?;
        write(
            &dir.join("torrc"),
            &init_files::torrc(b, args.port, &args.target),
            0o644,
        )?;
    }
    let paths = match layout {
        InitLayout::System => RuntimePaths::SYSTEM,
        InitLayout::Local => RuntimePaths::LOCAL,
    };
    let yaml = init_files::config_yaml(&entries, &backends, &paths);
    write(&out.join("config.yaml"), &yaml, 0o600)?;
    Ok(Written {
        services,
        backends,
        layout,
        ownership_note: None,
    })
}

fn write(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    file::write_new_file(path, text.as_bytes(), mode)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn print_summary(out: &Path, w: &Written) {
    let dir = out.display();
    let n = w.backends.len();
    let mut files = vec![("config.yaml".to_string(), "the configuration".to_string())];
    for (i, (_, key, origin)) in w.services.iter().enumerate() {
        files.push((key.clone(), format!("key of service {} ({origin})", i + 1)));
    }
    files.push((
        "backends/backend-N/".to_string(),
        format!("torrc snippet and ob_config for each backend (N = 1..{n})",),
    ));
    let width = files.iter().map(|(f, _)| f.len()).max().unwrap_or(0);
    println!("Wrote {dir}/:");
    for (f, what) in &files {
        println!("  {f:width$}  {what}");
    }
    println!();
    println!(
        "Public address{}:",
        if w.services.len() == 1 { "" } else { "es" }
    );
    for (address, _, _) in &w.services {
        println!("  {address}");
    }
    println!();
    println!("Keep keys/ secret and backed up: whoever has a key controls its address.");
    println!();
    println!("Next steps:");
    let mut step = 1;
    println!(
        "  {step}. On each backend machine, set up tor as described in {dir}/backends/backend-N/torrc."
    );
    step += 1;
    if w.backends.iter().any(|b| b.address.is_none()) {
        println!(
            "  {step}. Replace the <backend-N onion address> placeholders in {dir}/config.yaml with the"
        );
        println!(
            "     backends' addresses (the hostname file in each backend's HiddenServiceDir)."
        );
        step += 1;
    }
    if let Some(note) = &w.ownership_note {
        println!("  {step}. Note: {note}:");
        println!("       chown -R onionfront:onionfront {dir}/config.yaml {dir}/keys");
        step += 1;
    }
    if w.layout == InitLayout::System && out == Path::new(crate::cli::DEFAULT_INIT_OUTPUT) {
        println!("  {step}. onionfront check");
        step += 1;
        println!("  {step}. systemctl enable --now onionfront");
        step += 1;
        println!("  {step}. onionfront status      (as root, or as a member of group onionfront)");
    } else {
        println!("  {step}. onionfront check -c {dir}/config.yaml");
        step += 1;
        println!("  {step}. onionfront run -c {dir}/config.yaml");
    }
}
