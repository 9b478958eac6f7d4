//! `symphra stop DIR MODULE` and `symphra start DIR MODULE`: an operator's stop or start of
//! one module by name.
//!
//! Of a stopped application, they edit its state store (a stop records an operator's hold,
//! which the next `run` obeys; a start releases it). Of a running one — whose process has the
//! store locked — they ask its operator's endpoint (`--ops ADDR`, served by `run --ops`),
//! which stops or starts the module at once and records the same. docs/dev/operator-control.md
//! says why.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use symphra::state::{Availability, Change, RedbStore, StateError, StateStore};
use symphra_wasm::Discovery;

use crate::CliError;
use crate::run::DEFAULT_OPS_ADDRESS;
use crate::session;

/// How long a request to a running application's endpoint may take: its stop or start runs
/// within it (each hook within the manager's hook time limit).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// At most this many characters of a name that matches no module are quoted back.
const QUOTED_NAME_CHARS: usize = 64;

/// At most this many near matches are suggested.
const NEAR_MATCHES: usize = 3;

/// The arguments of `start` and `stop`.
#[derive(Debug, Args)]
pub struct OperatorArgs {
    /// The modules directory.
    pub dir: PathBuf,
    /// The module's name (as in its module.toml).
    pub module: String,
    /// The state store of a stopped application (default: `DIR/.symphra/state.redb`, where
    /// `run` keeps it).
    #[arg(long, value_name = "PATH", conflicts_with = "ops")]
    pub state: Option<PathBuf>,
    /// The operator's endpoint of the running application (`symphra run --ops ADDR`;
    /// default 127.0.0.1:9464): the module is stopped or started there at once.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = DEFAULT_OPS_ADDRESS)]
    pub ops: Option<SocketAddr>,
}

/// What the operator asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Start the module (and what it needs), releasing an operator's hold.
    Start,
    /// Stop the module (and what needs it), held stopped across restarts.
    Stop,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
        }
    }
}

/// Runs `start` or `stop`: exit 0 when done, 1 when the module's hooks failed (or it stays
/// down because it is disabled), 2 for a usage or I/O problem (an unknown module among
/// them), 3 when the state store is locked by a running process.
pub(crate) fn run(action: Action, args: &OperatorArgs) -> Result<ExitCode, CliError> {
    let found = session::discover(&args.dir)?;
    let names: Vec<&str> = found
        .modules
        .iter()
        .map(|module| module.manifest.name.as_str())
        .collect();
    if !names.contains(&args.module.as_str()) {
        return Err(unknown(&args.module, &args.dir, names.iter().copied()));
    }
    match args.ops {
        Some(address) => session::block_on(remote(action, address, args)),
        None => offline(action, args, &found),
    }
}

/// The error for a name that matches no module, with the nearest names.
fn unknown<'a>(name: &str, dir: &Path, names: impl Iterator<Item = &'a str>) -> CliError {
    let mut scored: Vec<(f64, &str)> = names
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, _)| *score >= 0.7)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let near: Vec<String> = scored
        .into_iter()
        .take(NEAR_MATCHES)
        .map(|(_, name)| name.to_owned())
        .collect();
    CliError::UnknownModule {
        name: quote(name),
        dir: dir.to_path_buf(),
        near: if near.is_empty() {
            "`symphra list DIR` lists them".to_owned()
        } else {
            format!("did you mean {}?", near.join(", "))
        },
    }
}

/// At most [`QUOTED_NAME_CHARS`] characters of `name`, control characters escaped.
fn quote(name: &str) -> String {
    let short: String = name.chars().take(QUOTED_NAME_CHARS).collect();
    let suffix = if name.chars().count() > QUOTED_NAME_CHARS {
        "…"
    } else {
        ""
    };
    format!("{}{suffix}", short.escape_debug())
}

/// Edits the state store of a stopped application.
fn offline(action: Action, args: &OperatorArgs, found: &Discovery) -> Result<ExitCode, CliError> {
    let path = args
        .state
        .clone()
        .unwrap_or_else(|| session::default_state_path(&args.dir));
    let module = args.module.as_str();
    if action == Action::Start && !path.exists() {
        out!(
            "{module} is not held stopped (no state store at {}); the next `symphra run` starts it",
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if action == Action::Stop
        && args.state.is_none()
        && let Some(parent) = path.parent()
    {
        std::fs::create_dir_all(parent).map_err(|source| CliError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let store = RedbStore::open(&path).map_err(|error| match error {
        StateError::Locked { path } => CliError::StateInUse {
            path,
            dir: args.dir.clone(),
            module: module.to_owned(),
            action: action.as_str(),
        },
        other => other.into(),
    })?;
    match action {
        Action::Stop => {
            store.apply(&[(module.to_owned(), Change::HeldStopped(true))])?;
            let dependents = closure(found, module, Direction::Dependents);
            let also = if dependents.is_empty() {
                String::new()
            } else {
                format!(
                    ", nor what needs it ({})",
                    dependents.into_iter().collect::<Vec<_>>().join(", ")
                )
            };
            out!(
                "{module} is held stopped: the next `symphra run` does not start it{also}; \
                 `symphra start {} {module}` releases it",
                args.dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Action::Start => {
            // Starting a module by name starts what it needs, held or not: release those too.
            let mut targets = closure(found, module, Direction::Dependencies);
            targets.insert(module.to_owned());
            let mut released = Vec::new();
            let mut unavailable = Vec::new();
            for name in targets {
                let Some(record) = store.get(&name)? else {
                    continue;
                };
                if record.held_stopped {
                    released.push(name.clone());
                }
                if record.availability != Availability::Enabled {
                    unavailable.push(format!("{name} ({:?})", record.availability));
                }
            }
            let changes: Vec<(String, Change)> = released
                .iter()
                .map(|name| (name.clone(), Change::HeldStopped(false)))
                .collect();
            store.apply(&changes)?;
            if released.is_empty() {
                out!("{module} was not held stopped; the next `symphra run` starts it");
            } else {
                out!(
                    "released {}: the next `symphra run` starts {module}",
                    released.join(", ")
                );
            }
            if unavailable.is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                out!(
                    "warning: an operator made {} unavailable in the state store; {module} stays down until it is enabled",
                    unavailable.join(", ")
                );
                Ok(ExitCode::from(1))
            }
        }
    }
}

/// Which way to follow the required dependencies.
#[derive(Clone, Copy)]
enum Direction {
    /// What the module needs.
    Dependencies,
    /// What needs the module.
    Dependents,
}

/// The modules reached from `start` along required dependencies (not `start` itself).
/// An explicit work list: the depth is never the input's to decide.
fn closure(found: &Discovery, start: &str, direction: Direction) -> BTreeSet<String> {
    let mut reached = BTreeSet::new();
    let mut todo = vec![start.to_owned()];
    while let Some(current) = todo.pop() {
        let next: Vec<&str> = match direction {
            Direction::Dependencies => found
                .modules
                .iter()
                .filter(|module| module.manifest.name == current)
                .flat_map(|module| module.manifest.dependencies.keys())
                .map(String::as_str)
                .collect(),
            Direction::Dependents => found
                .modules
                .iter()
                .filter(|module| module.manifest.dependencies.contains_key(&current))
                .map(|module| module.manifest.name.as_str())
                .collect(),
        };
        for name in next {
            if name != start && reached.insert(name.to_owned()) {
                todo.push(name.to_owned());
            }
        }
    }
    reached
}

/// Asks the running application's endpoint.
async fn remote(
    action: Action,
    address: SocketAddr,
    args: &OperatorArgs,
) -> Result<ExitCode, CliError> {
    let module = args.module.as_str();
    // An endpoint bound to every address (`--ops 0.0.0.0:PORT`) is asked on loopback: the
    // control routes obey loopback requests only.
    let address = match address.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, address.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, address.port()))
        }
        _ => address,
    };
    let url = format!("http://{address}/modules/{module}/{}", action.as_str());
    let unreachable = |source: reqwest::Error| CliError::OpsUnreachable { address, source };
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(unreachable)?;
    let response = client
        .post(&url)
        .header(symphra_ops::OPERATOR_HEADER, "1")
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(unreachable)?;
    let answer: serde_json::Value =
        serde_json::from_str(&body).map_err(|_| CliError::OpsAnswer {
            address,
            status,
            body: body.chars().take(200).collect(),
        })?;
    let text = |key: &str| answer[key].as_str().unwrap_or_default().to_owned();
    match status {
        200 | 422 => {
            let report = text("report");
            if !report.is_empty() {
                out_raw!("{report}");
            }
            let done = match action {
                Action::Stop => "stopped, and held stopped across restarts",
                Action::Start => "started",
            };
            if status == 200 {
                out!("{module} {done}");
                Ok(ExitCode::SUCCESS)
            } else {
                out!(
                    "the {} of {module} failed (see the report)",
                    action.as_str()
                );
                Ok(ExitCode::from(1))
            }
        }
        404 if answer.get("modules").is_some() => {
            let running = answer["modules"]
                .as_array()
                .map(|names| names.iter().filter_map(|n| n.as_str()).collect::<Vec<_>>())
                .unwrap_or_default();
            Err(unknown(module, &args.dir, running.into_iter()))
        }
        _ => Err(CliError::OpsRefused {
            address,
            status,
            message: text("error").chars().take(500).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_get_the_nearest_module_names() {
        let names = ["database", "api", "web-frontend", "cache"];
        let error = unknown("databse", Path::new("mods"), names.into_iter()).to_string();
        assert!(error.contains("did you mean database?"), "{error}");
        let error = unknown("zzz", Path::new("mods"), names.into_iter()).to_string();
        assert!(error.contains("symphra list"), "{error}");
        let error = unknown(&"x\n".repeat(1000), Path::new("mods"), names.into_iter());
        let error = error.to_string();
        assert!(error.len() < 400 && !error.contains('\n'), "{error}");
    }
}
