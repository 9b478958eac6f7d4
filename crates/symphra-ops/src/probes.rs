//! `/livez`, `/readyz` and `/startupz`: 200 or 503 from the manager's health snapshot, read
//! from memory (no check runs on the request path). With `?verbose`, a line per module in
//! the style of Kubernetes' own probes.

use std::fmt::Write as _;

use symphra::health::{Health, HealthSnapshot, ModuleHealth};

/// Which probe is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    /// Liveness: restart the process when it fails.
    Live,
    /// Readiness: send traffic only when it passes.
    Ready,
    /// Startup: hold the other two back until it passes.
    Startup,
}

impl Probe {
    fn name(self) -> &'static str {
        match self {
            Probe::Live => "livez",
            Probe::Ready => "readyz",
            Probe::Startup => "startupz",
        }
    }

    /// Whether the application passes.
    fn passes(self, snapshot: &HealthSnapshot) -> bool {
        match self {
            Probe::Live => snapshot.is_live(),
            Probe::Ready => snapshot.is_ready(),
            Probe::Startup => snapshot.is_started(),
        }
    }

    /// Why `module` fails this probe, if it does (a module not meant to run never does).
    fn failure(self, module: &ModuleHealth) -> Option<String> {
        if !module.expected {
            return None;
        }
        let state = module.state.as_str();
        match self {
            Probe::Live => match &module.health {
                Some(health @ Health::Unhealthy { .. }) => Some(health.to_string()),
                _ if module.state == symphra::ModuleState::Failed => Some(format!("state {state}")),
                _ => None,
            },
            Probe::Ready if !module.ready => Some(match &module.health {
                Some(health @ Health::Unhealthy { .. }) => health.to_string(),
                _ => format!("not ready (state {state})"),
            }),
            Probe::Startup if !module.started => Some(format!("not started (state {state})")),
            _ => None,
        }
    }
}

/// The probe's answer: whether it passes, and its body.
pub(crate) fn answer(probe: Probe, snapshot: &HealthSnapshot, verbose: bool) -> (bool, String) {
    let passes = probe.passes(snapshot);
    let verdict = if passes {
        format!("{} ok\n", probe.name())
    } else {
        format!("{} failed\n", probe.name())
    };
    if !verbose {
        return (passes, verdict);
    }
    let mut body = String::new();
    for module in &snapshot.modules {
        match probe.failure(module) {
            Some(why) => {
                let _ = writeln!(body, "[-]{} {why}", module.name);
            }
            None if module.expected => {
                let _ = writeln!(body, "[+]{} ok", module.name);
            }
            None => {
                let _ = writeln!(
                    body,
                    "[ ]{} not expected to run (state {})",
                    module.name,
                    module.state.as_str()
                );
            }
        }
    }
    body.push_str(&verdict);
    (passes, body)
}

/// Whether a query string asks for detail: it has a `verbose` parameter (any value but
/// `false` or `0`).
pub(crate) fn wants_verbose(query: Option<&str>) -> bool {
    query.is_some_and(|query| {
        query.split('&').any(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            key == "verbose" && value != "false" && value != "0"
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbose_parameter() {
        assert!(wants_verbose(Some("verbose")));
        assert!(wants_verbose(Some("a=1&verbose=true")));
        assert!(!wants_verbose(Some("verbose=0")));
        assert!(!wants_verbose(Some("verbosely")));
        assert!(!wants_verbose(None));
    }
}
