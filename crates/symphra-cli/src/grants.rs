//! `--grants FILE`: the operator's grants, and how `check` and `list` show what each
//! module is granted (topics, environment, folders, memory, time, inbox) and what its
//! `[health]` table declares (readiness, health check, watchdog).

use std::path::Path;

use symphra_wasm::{
    DATA_GUEST_PATH, DirSource, GrantError, HostConfig, Manifest, OperatorGrants, Readiness,
    ResolvedDir, WasmHost,
};

use crate::CliError;

/// The operator's grants from `path` (none without a file), with modules' data folders
/// under `<state folder>/data`: the folder of `state`, or `DIR/.symphra` by default.
pub(crate) fn read(
    path: Option<&Path>,
    dir: &Path,
    state: Option<&Path>,
) -> Result<OperatorGrants, CliError> {
    let grants = match path {
        None => OperatorGrants::none(),
        Some(path) => OperatorGrants::from_file(path)?,
    };
    let state = state.map_or_else(|| crate::session::default_state_path(dir), Path::to_owned);
    let folder = state.parent().unwrap_or(Path::new("."));
    Ok(grants.data_root(folder.join("data")))
}

/// A host with the standard settings and the operator's `grants`.
pub(crate) fn host(grants: OperatorGrants) -> Result<WasmHost, CliError> {
    Ok(WasmHost::with_fallbacks(
        HostConfig::standard().grants(grants),
    )?)
}

/// What a module is granted, one `(label, value)` per line, its folders as `review`
/// resolved them (or the reason they are refused).
pub(crate) fn lines(
    manifest: &Manifest,
    review: &Result<Vec<ResolvedDir>, GrantError>,
) -> Vec<(&'static str, String)> {
    let caps = &manifest.capabilities;
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "-".to_owned()
        } else {
            items.join(", ")
        }
    };
    let mut out = vec![
        (
            "publish",
            list(caps.publish.iter().map(ToString::to_string).collect()),
        ),
        (
            "subscribe",
            list(caps.subscribe.iter().map(ToString::to_string).collect()),
        ),
        ("env", list(caps.env.clone())),
    ];
    let dirs = match review {
        Ok(dirs) => list(
            dirs.iter()
                .map(|dir| {
                    let access = if dir.write { "read-write" } else { "read-only" };
                    let source = match dir.source {
                        DirSource::ModuleFolder => "in the module folder",
                        DirSource::Operator => "granted by the operator",
                        DirSource::Data => "its data folder, made by Symphra",
                    };
                    format!(
                        "{} -> {} ({access}, {source})",
                        dir.host.display(),
                        dir.guest
                    )
                })
                .collect(),
        ),
        Err(_) => list(
            caps.dirs
                .iter()
                .map(|dir| {
                    let access = if dir.write { "read-write" } else { "read-only" };
                    format!("{} -> {} ({access}, asked)", dir.host.display(), dir.guest)
                })
                .chain(
                    caps.data
                        .then(|| format!("data folder -> {DATA_GUEST_PATH} (read-write, asked)")),
                )
                .collect(),
        ),
    };
    out.push(("dirs", dirs));
    out.push(("memory", format!("{} bytes", caps.memory_limit)));
    out.push(("hook-timeout", format!("{:?}", caps.hook_timeout)));
    out.push((
        "inbox",
        format!(
            "{} events, {} bytes, {}",
            caps.inbox_events,
            caps.inbox_bytes,
            caps.inbox_policy.as_str()
        ),
    ));
    out.push(("stdio", if caps.stdio { "yes" } else { "no" }.to_owned()));
    out.extend(health_lines(manifest));
    if let Err(error) = review {
        out.push(("REFUSED", error.to_string()));
    }
    out
}

/// What the manifest's `[health]` table declares: when the module is ready, its health
/// check's schedule, its watchdog.
fn health_lines(manifest: &Manifest) -> [(&'static str, String); 3] {
    let health = &manifest.health;
    let ready = match health.ready {
        Readiness::Start => "when start returns".to_owned(),
        Readiness::Signal => "when the module signals it (host.ready)".to_owned(),
    };
    let check = match &health.check {
        None => "-".to_owned(),
        Some(check) => format!(
            "every {:?}, timeout {:?}, unhealthy after {:?}",
            check.interval(),
            check.get_timeout(),
            check.get_unhealthy_after()
        ),
    };
    let watchdog = match health.watchdog {
        None => "-".to_owned(),
        Some(period) => format!("heartbeat every {period:?}"),
    };
    [("ready", ready), ("health", check), ("watchdog", watchdog)]
}

/// The grants of a module on one line, for `check`.
pub(crate) fn one_line(
    manifest: &Manifest,
    review: &Result<Vec<ResolvedDir>, GrantError>,
) -> String {
    lines(manifest, review)
        .into_iter()
        .map(|(label, value)| format!("{label} {value}"))
        .collect::<Vec<_>>()
        .join("; ")
}
