//! `/metrics`: the manager's state and counters in the Prometheus text format.
//!
//! Everything is read from memory: the health snapshot, the manager's atomic counters and
//! the bus's. No check runs to answer.

use symphra::ModuleManager;
use symphra::ModuleState;
use symphra::health::{FailureKind, Health};

use crate::exposition::{Exposition, Kind};
use crate::source::MetricSource;

/// The values of the one-hot `symphra_module_health`: the three levels, and `unknown` for
/// a module without a check or whose check has not run yet.
const HEALTH_STATUSES: [&str; 4] = ["healthy", "degraded", "unhealthy", "unknown"];

/// The name of every family `/metrics` always has (those of extra sources aside).
pub const FAMILIES: [&str; 16] = [
    "symphra_module_state",
    "symphra_module_started",
    "symphra_module_ready",
    "symphra_module_health",
    "symphra_module_restarts_total",
    "symphra_module_blocked_polls_total",
    "symphra_module_health_checks_total",
    "symphra_module_health_check_failures_total",
    "symphra_module_hook_duration_seconds",
    "symphra_bus_events_published_total",
    "symphra_bus_deliveries_total",
    "symphra_bus_events_dropped_total",
    "symphra_bus_events_unconsumed_total",
    "symphra_bus_handler_failures_total",
    "symphra_bus_subscriptions",
    "symphra_ready",
];

fn flag(on: bool) -> f64 {
    if on { 1.0 } else { 0.0 }
}

/// The text of `/metrics` for `manager`, followed by what `sources` add.
pub(crate) fn render(manager: &ModuleManager, sources: &[Box<dyn MetricSource>]) -> String {
    let health = manager.health();
    let metrics = manager.metrics();
    let mut out = Exposition::new();

    let name = "symphra_module_state";
    out.family(
        name,
        Kind::Gauge,
        "The module's lifecycle state: 1 for the state it is in, 0 for the others.",
    );
    for module in &health.modules {
        for state in ModuleState::ALL {
            out.sample(
                name,
                &[("module", &module.name), ("state", state.as_str())],
                flag(module.state == state),
            );
        }
    }
    per_module(
        &mut out,
        ("symphra_module_started", Kind::Gauge),
        "1 when the module's start hooks finished and it has not stopped since.",
        &health.modules,
        |module| (&module.name, flag(module.started)),
    );
    per_module(
        &mut out,
        ("symphra_module_ready", Kind::Gauge),
        "1 when the module is effectively ready: by its own account and its required dependencies'.",
        &health.modules,
        |module| (&module.name, flag(module.ready)),
    );
    let name = "symphra_module_health";
    out.family(name, Kind::Gauge, "The last health check's answer: 1 for the status it gave, 0 for the others; unknown without a check.");
    for module in &health.modules {
        let status = module.health.as_ref().map_or("unknown", Health::as_str);
        for candidate in HEALTH_STATUSES {
            out.sample(
                name,
                &[("module", &module.name), ("status", candidate)],
                flag(candidate == status),
            );
        }
    }

    let name = "symphra_module_restarts_total";
    out.family(
        name,
        Kind::Counter,
        "Restarts by supervision, by what failed the module: error, health or watchdog.",
    );
    for module in &metrics.modules {
        for (kind, count) in module.restarts.by_kind() {
            out.sample(
                name,
                &[("module", &module.name), ("reason", reason(kind))],
                count as f64,
            );
        }
    }
    per_module(
        &mut out,
        ("symphra_module_blocked_polls_total", Kind::Counter),
        "Polls of the module's hooks and tasks that blocked the runtime longer than the threshold.",
        &metrics.modules,
        |module| (&module.name, module.blocked_polls as f64),
    );
    per_module(
        &mut out,
        ("symphra_module_health_checks_total", Kind::Counter),
        "Health checks run.",
        &metrics.modules,
        |module| (&module.name, module.health_checks as f64),
    );
    per_module(
        &mut out,
        ("symphra_module_health_check_failures_total", Kind::Counter),
        "Health checks that answered unhealthy or timed out.",
        &metrics.modules,
        |module| (&module.name, module.health_check_failures as f64),
    );
    let name = "symphra_module_hook_duration_seconds";
    out.family(
        name,
        Kind::Gauge,
        "How long each hook (start, stop, ...) took the last time it ran.",
    );
    for module in &metrics.modules {
        for hook in &module.hook_durations {
            out.sample(
                name,
                &[("module", &module.name), ("hook", hook.hook.as_str())],
                hook.seconds,
            );
        }
    }

    let bus = manager.bus().stats();
    out.family(
        "symphra_bus_events_published_total",
        Kind::Counter,
        "Events published on the bus, whether or not anyone listened.",
    )
    .sample(
        "symphra_bus_events_published_total",
        &[],
        bus.published as f64,
    );
    out.family(
        "symphra_bus_deliveries_total",
        Kind::Counter,
        "Events handed to a handler or offered to a subscriber's queue, once per subscriber.",
    )
    .sample("symphra_bus_deliveries_total", &[], bus.delivered as f64);
    out.family(
        "symphra_bus_events_dropped_total",
        Kind::Counter,
        "Events dropped: by full subscriber queues, or refused by the full emit queue.",
    )
    .sample(
        "symphra_bus_events_dropped_total",
        &[("reason", "queue_full")],
        bus.queue_dropped as f64,
    )
    .sample(
        "symphra_bus_events_dropped_total",
        &[("reason", "emit_queue_full")],
        bus.emit_rejected as f64,
    );
    out.family(
        "symphra_bus_events_unconsumed_total",
        Kind::Counter,
        "Published events that reached no subscriber.",
    )
    .sample(
        "symphra_bus_events_unconsumed_total",
        &[],
        bus.unconsumed as f64,
    );
    out.family(
        "symphra_bus_handler_failures_total",
        Kind::Counter,
        "Handler calls that returned an error or panicked.",
    )
    .sample(
        "symphra_bus_handler_failures_total",
        &[],
        bus.handler_failures as f64,
    );
    out.family(
        "symphra_bus_subscriptions",
        Kind::Gauge,
        "Subscriptions active now.",
    )
    .sample("symphra_bus_subscriptions", &[], bus.subscriptions as f64);
    out.family(
        "symphra_ready",
        Kind::Gauge,
        "1 when every module meant to run is ready (what /readyz answers).",
    )
    .sample("symphra_ready", &[], flag(health.is_ready()));

    for source in sources {
        source.collect(&mut out);
    }
    out.finish()
}

/// One family with one sample per module, labelled with the module's name; `sample` gives
/// a module's name and value.
fn per_module<M>(
    out: &mut Exposition,
    (name, kind): (&str, Kind),
    help: &str,
    modules: &[M],
    sample: impl for<'m> Fn(&'m M) -> (&'m str, f64),
) {
    out.family(name, kind, help);
    for module in modules {
        let (module, value) = sample(module);
        out.sample(name, &[("module", module)], value);
    }
}

/// A restart reason as a label value.
fn reason(kind: FailureKind) -> &'static str {
    kind.as_str()
}
