//! `symphra analyze`: start everything once, then show where the start time went.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use symphra::manager::Report;
use symphra_ops::pictures;
use symphra_wasm::LoadOptions;

use crate::CliError;
use crate::module_configs;
use crate::session;

/// One module's part in the start: when its hooks ended, and how long they ran.
#[derive(Debug, Clone)]
struct Timing {
    name: String,
    /// From the start of the operation to the end of the module's last hook.
    ended: Duration,
    /// Time spent in the module's own hooks.
    busy: Duration,
    /// Each hook with its duration.
    hooks: Vec<(String, Duration)>,
}

/// Runs `analyze` on `dir` with the configurations of `config` (and the environment's
/// overrides, as `run` takes them), writing the timeline of the start to `svg` when given:
/// exit code 0 when everything started and stopped, 1 otherwise.
pub(crate) fn run(
    dir: &Path,
    max_concurrency: Option<usize>,
    svg: Option<&Path>,
    config: Option<&Path>,
    grants: Option<&Path>,
) -> Result<ExitCode, CliError> {
    let configs = module_configs::read_file(config)?;
    let host = crate::grants::host(crate::grants::read(grants, dir, None)?)?;
    session::block_on(async {
        let loaded = session::load(dir, &LoadOptions::default().host(host))?;
        session::print_rejected(&loaded.report.rejected);
        let Some(manager) = session::build(loaded.builder(), &configs, &loaded.metadata()) else {
            return Ok(session::exit_code(false));
        };
        let start = session::start(&manager, max_concurrency).await?;
        let stop = session::stop(&manager).await?;
        // Each module's resolved dependencies: those declared that are registered.
        let dependencies: BTreeMap<String, Vec<String>> = manager
            .handles()
            .iter()
            .map(|handle| {
                let deps = handle
                    .metadata()
                    .dependencies()
                    .iter()
                    .map(|dep| dep.name().to_owned())
                    .collect();
                (handle.name().to_owned(), deps)
            })
            .collect();
        let timings = timings(&start);
        out_raw!("{}", blame(&timings));
        out_raw!("{}", critical_chain(&timings, &dependencies));
        if let Some(path) = svg {
            let title = format!("start of {}", dir.display());
            let picture = pictures::start_timeline(&start, &title);
            std::fs::write(path, picture).map_err(|source| CliError::Io {
                path: path.to_owned(),
                source,
            })?;
            out!("timeline: {}", path.display());
        }
        let ok = loaded.report.rejected.is_empty() && start.is_success() && stop.is_success();
        if !ok {
            out!("{start}\n{stop}");
        }
        Ok(session::exit_code(ok))
    })
}

fn timings(report: &Report) -> Vec<Timing> {
    report
        .modules()
        .iter()
        .filter_map(|module| {
            let hooks = module.hooks();
            let ended = hooks.iter().map(|h| h.began + h.duration).max()?;
            Some(Timing {
                name: module.name().to_owned(),
                ended,
                busy: module.busy(),
                hooks: hooks
                    .iter()
                    .map(|h| (h.hook.to_string(), h.duration))
                    .collect(),
            })
        })
        .collect()
}

/// The modules by time spent in their hooks, slowest first.
fn blame(timings: &[Timing]) -> String {
    let mut sorted: Vec<&Timing> = timings.iter().collect();
    sorted.sort_by(|a, b| b.busy.cmp(&a.busy).then_with(|| a.name.cmp(&b.name)));
    let mut out = String::from("blame (time in hooks, slowest first):\n");
    for timing in sorted {
        let hooks: Vec<String> = timing
            .hooks
            .iter()
            .map(|(hook, duration)| format!("{hook} {duration:?}"))
            .collect();
        out.push_str(&format!(
            "  {:>12} {} ({})\n",
            format!("{:?}", timing.busy),
            timing.name,
            hooks.join(", ")
        ));
    }
    out
}

/// From the module whose start ended last, the dependency whose start ended last, back to
/// a module without (started) dependencies.
fn critical_chain(timings: &[Timing], dependencies: &BTreeMap<String, Vec<String>>) -> String {
    let by_name: BTreeMap<&str, &Timing> = timings.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut out = String::from("critical chain (@ when its start ended, + its own time):\n");
    let mut current = timings.iter().max_by_key(|t| t.ended);
    let mut depth = 0;
    while let Some(timing) = current {
        out.push_str(&format!(
            "  {}{} @{:?} +{:?}\n",
            "  ".repeat(depth),
            timing.name,
            timing.ended,
            timing.busy
        ));
        depth += 1;
        current = dependencies
            .get(&timing.name)
            .into_iter()
            .flatten()
            .filter_map(|dep| by_name.get(dep.as_str()).copied())
            .max_by_key(|t| t.ended);
        if depth > by_name.len() {
            break; // a cycle cannot start, but never loop
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(name: &str, ended_ms: u64, busy_ms: u64) -> Timing {
        Timing {
            name: name.to_owned(),
            ended: Duration::from_millis(ended_ms),
            busy: Duration::from_millis(busy_ms),
            hooks: vec![("start".to_owned(), Duration::from_millis(busy_ms))],
        }
    }

    #[test]
    fn chain_follows_the_latest_dependency_back_to_a_root() {
        let timings = vec![
            timing("db", 30, 30),
            timing("cache", 10, 10),
            timing("api", 50, 20),
            timing("cron", 5, 5),
        ];
        let deps = BTreeMap::from([
            ("api".to_owned(), vec!["cache".to_owned(), "db".to_owned()]),
            ("cache".to_owned(), vec![]),
            ("db".to_owned(), vec![]),
            ("cron".to_owned(), vec![]),
        ]);
        let chain = critical_chain(&timings, &deps);
        let lines: Vec<&str> = chain.lines().skip(1).map(str::trim).collect();
        assert_eq!(lines, ["api @50ms +20ms", "db @30ms +30ms"]);
        let blame = blame(&timings);
        let order: Vec<&str> = blame
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().nth(1).unwrap())
            .collect();
        assert_eq!(order, ["db", "api", "cache", "cron"]);
    }
}
