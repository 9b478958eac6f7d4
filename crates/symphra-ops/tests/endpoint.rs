//! The operator's endpoint on a real server (an ephemeral loopback port), asked by a real
//! HTTP client: probes move from 503 to 200 as a module becomes ready, no probe runs a
//! health check, and `/metrics` passes Prometheus' own checker with every family there.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use symphra::bus::Event;
use symphra::health::{HEALTH_CHANGED, Health, HealthCheck, READY};
use symphra::prelude::*;
use symphra_ops::{Exposition, FAMILIES, Kind, Ops, OpsError, OpsServer};
use tokio::sync::{Notify, mpsc};

/// A module that signals readiness itself, when the test opens its gate; its health check
/// counts its calls.
struct Gated {
    gate: Arc<Notify>,
    checks: Arc<AtomicUsize>,
}

impl Module for Gated {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("gated")
            .signals_readiness()
            .health_check(HealthCheck::every(Duration::from_secs(3600)))
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let gate = Arc::clone(&self.gate);
        let ready = ctx.clone();
        ctx.spawn("warm-up", move |shutdown| async move {
            tokio::select! {
                () = gate.notified() => ready.ready(),
                () = shutdown.cancelled() => return Ok(()),
            }
            shutdown.cancelled().await;
            Ok(())
        })?;
        Ok(())
    }

    async fn health(&self, _ctx: &Context) -> Health {
        self.checks.fetch_add(1, Ordering::SeqCst);
        Health::degraded("cache cold")
    }
}

struct Plain;

impl Module for Plain {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("plain")
    }
}

struct App {
    manager: ModuleManager,
    server: OpsServer,
    gate: Arc<Notify>,
    checks: Arc<AtomicUsize>,
    client: reqwest::Client,
}

impl App {
    async fn new(ops: impl FnOnce(Ops) -> Ops) -> Self {
        let gate = Arc::new(Notify::new());
        let checks = Arc::new(AtomicUsize::new(0));
        let manager = ModuleManager::builder()
            .module(Gated {
                gate: Arc::clone(&gate),
                checks: Arc::clone(&checks),
            })
            .module(Plain)
            .build()
            .unwrap();
        let server = ops(Ops::new(manager.clone()))
            .serve("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Self {
            manager,
            server,
            gate,
            checks,
            client: reqwest::Client::new(),
        }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let url = format!("http://{}{path}", self.server.local_addr());
        let response = self.client.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Opens the gate and waits for the module's `module.ready`.
    async fn make_ready(&self) {
        let (sender, mut ready) = mpsc::unbounded_channel();
        let _subscription = self
            .manager
            .bus()
            .subscribe(READY, move |_: &Event| {
                let _ = sender.send(());
            })
            .unwrap();
        self.gate.notify_one();
        ready.recv().await.unwrap();
    }
}

#[tokio::test]
async fn probes_answer_503_then_200_as_the_module_becomes_ready() {
    let app = App::new(|ops| ops).await;
    // Nothing started yet.
    for probe in ["/readyz", "/startupz"] {
        assert_eq!(app.get(probe).await.0, 503, "{probe}");
    }
    assert_eq!(app.get("/livez").await, (200, "livez ok\n".to_owned()));

    app.manager.start_all().await.unwrap();
    // Started, not ready: it has not signalled readiness.
    assert_eq!(app.get("/startupz").await.0, 200);
    let (status, body) = app.get("/readyz?verbose").await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        "[-]gated not ready (state started)\n[+]plain ok\nreadyz failed\n"
    );

    app.make_ready().await;
    assert_eq!(app.get("/readyz").await, (200, "readyz ok\n".to_owned()));
    let (status, body) = app.get("/livez?verbose").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "[+]gated ok\n[+]plain ok\nlivez ok\n")
    );

    app.manager.stop_all().await.unwrap();
    assert_eq!(app.get("/readyz").await.0, 503);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_flood_of_probes_runs_no_health_check() {
    let app = App::new(|ops| ops).await;
    // The first check runs at once after the start, on the manager's task: wait for its
    // answer (healthy to degraded is a change of level).
    let (sender, mut checked) = mpsc::unbounded_channel();
    let _subscription = app
        .manager
        .bus()
        .subscribe(HEALTH_CHANGED, move |_: &Event| {
            let _ = sender.send(());
        })
        .unwrap();
    app.manager.start_all().await.unwrap();
    app.make_ready().await;
    checked.recv().await.unwrap();
    let before = app.checks.load(Ordering::SeqCst);
    assert_eq!(before, 1);
    for _ in 0..200 {
        assert_eq!(app.get("/readyz").await.0, 200);
        app.get("/livez?verbose").await;
        app.get("/metrics").await;
    }
    // The check runs every hour, on its own schedule; asking runs none.
    assert_eq!(app.checks.load(Ordering::SeqCst), 1);
    let (_, body) = app.get("/readyz?verbose").await;
    assert!(body.contains("[+]gated ok"), "{body}");
    app.manager.stop_all().await.unwrap();
}

#[tokio::test]
async fn a_remote_address_is_refused_unless_allowed() {
    let manager = ModuleManager::builder().module(Plain).build().unwrap();
    let refused = Ops::new(manager.clone())
        .serve("0.0.0.0:0".parse().unwrap())
        .await;
    assert!(
        matches!(refused, Err(OpsError::NotLoopback { .. })),
        "{refused:?}"
    );
    let allowed = Ops::new(manager)
        .allow_remote(true)
        .serve("0.0.0.0:0".parse().unwrap())
        .await
        .unwrap();
    allowed.shutdown().await.unwrap();
}

/// `promtool check metrics` on `text`: `None` when promtool is not installed (and not
/// required), else its verdict and output.
fn promtool(text: &str) -> Option<(bool, String)> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            assert!(
                std::env::var_os("SYMPHRA_REQUIRE_PROMTOOL").is_none(),
                "promtool is required (SYMPHRA_REQUIRE_PROMTOOL) but cannot run: {error}"
            );
            eprintln!("skipped: promtool not installed (apt-get install prometheus)");
            return None;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some((output.status.success(), said))
}

#[tokio::test]
async fn metrics_pass_promtool_and_name_every_family() {
    let app = App::new(|ops| {
        ops.metric_source(|out: &mut Exposition| {
            out.family(
                "symphra_nats_exported_total",
                Kind::Counter,
                "Local events sent to NATS.",
            )
            .sample("symphra_nats_exported_total", &[], 7.0);
        })
    })
    .await;
    app.manager.start_all().await.unwrap();
    app.make_ready().await;
    let (status, text) = app.get("/metrics").await;
    assert_eq!(status, 200);

    for family in FAMILIES.iter().chain(&["symphra_nats_exported_total"]) {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{text}"
        );
    }
    for sample in [
        "symphra_module_state{module=\"gated\",state=\"started\"} 1",
        "symphra_module_state{module=\"gated\",state=\"failed\"} 0",
        "symphra_module_ready{module=\"gated\"} 1",
        "symphra_module_restarts_total{module=\"plain\",reason=\"watchdog\"} 0",
        "symphra_ready 1",
        "symphra_nats_exported_total 7",
    ] {
        assert!(text.contains(sample), "{sample} missing:\n{text}");
    }
    assert!(
        text.contains("symphra_module_hook_duration_seconds{module=\"plain\",hook=\"start\"} "),
        "{text}"
    );
    // The lifecycle events the live page listens to went over the bus.
    let published = text
        .lines()
        .find_map(|line| line.strip_prefix("symphra_bus_events_published_total "))
        .and_then(|value| value.parse::<u64>().ok());
    assert!(published.is_some_and(|n| n > 0), "{text}");

    if let Some((ok, said)) = promtool(&text) {
        assert!(ok, "promtool check metrics:\n{said}\n{text}");
    }
    app.manager.stop_all().await.unwrap();
}
