//! The operator's control routes on a real server, asked by a real HTTP client: a stop is
//! an operator's stop (its dependents first, held across restarts in the state store), a
//! start releases it, and a request without the operator's header, with a foreign `Host`,
//! or for an unknown module is refused without touching anything.

use symphra::prelude::*;
use symphra::state::RedbStore;
use symphra_ops::{OPERATOR_HEADER, Ops, OpsServer};

struct Named(&'static str, &'static [&'static str]);

impl Module for Named {
    fn metadata(&self) -> ModuleMetadata {
        self.1
            .iter()
            .fold(ModuleMetadata::new(self.0), |meta, dep| {
                meta.depends_on(dep)
            })
    }
}

struct App {
    manager: ModuleManager,
    server: OpsServer,
    client: reqwest::Client,
    _state: tempfile::TempDir,
    state_path: std::path::PathBuf,
}

impl App {
    async fn new(control: bool) -> Self {
        let state = tempfile::tempdir().unwrap();
        let state_path = state.path().join("state.redb");
        let manager = ModuleManager::builder()
            .module(Named("db", &[]))
            .module(Named("api", &["db"]))
            .state_store(RedbStore::open(&state_path).unwrap())
            .build()
            .unwrap();
        manager.start_all().await.unwrap();
        let server = Ops::new(manager.clone())
            .control(control)
            .serve("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Self {
            manager,
            server,
            client: reqwest::Client::new(),
            _state: state,
            state_path,
        }
    }

    async fn post(&self, path: &str, operator: bool) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .post(format!("http://{}{path}", self.server.local_addr()));
        if operator {
            request = request.header(OPERATOR_HEADER, "1");
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        (status, serde_json::from_str(&body).unwrap_or(body.into()))
    }

    fn state(&self, name: &str) -> ModuleState {
        self.manager.module(name).unwrap().state()
    }
}

#[tokio::test]
async fn stop_is_an_operators_stop_and_start_releases_it() {
    let app = App::new(true).await;
    let (status, body) = app.post("/modules/db/stop", true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(body["action"], "stop");
    assert_eq!(app.state("db"), ModuleState::Stopped);
    assert_eq!(app.state("api"), ModuleState::Stopped);
    let store = app.manager.state_store().unwrap();
    assert!(store.get("db").unwrap().unwrap().held_stopped);

    let (status, body) = app.post("/modules/api/start", true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.state("db"), ModuleState::Started);
    assert_eq!(app.state("api"), ModuleState::Started);
    assert!(!store.get("db").unwrap().unwrap().held_stopped);
    assert!(app.state_path.exists());
}

#[tokio::test]
async fn an_unknown_module_is_named_with_the_modules_that_run() {
    let app = App::new(true).await;
    let (status, body) = app
        .post(&format!("/modules/{}x/stop", "d".repeat(5000)), true)
        .await;
    assert_eq!(status, 404, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.len() < 120, "{error}");
    assert_eq!(body["modules"], serde_json::json!(["db", "api"]));
    assert_eq!(app.state("db"), ModuleState::Started);
}

#[tokio::test]
async fn a_request_without_the_operators_header_or_from_a_foreign_host_is_refused() {
    let app = App::new(true).await;
    let (status, body) = app.post("/modules/db/stop", false).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("x-symphra-operator")
    );

    // A DNS-rebinding page reaches the loopback address under its own host name.
    let response = app
        .client
        .post(format!(
            "http://{}/modules/db/stop",
            app.server.local_addr()
        ))
        .header(OPERATOR_HEADER, "1")
        .header("host", "rebound.example:9464")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(app.state("db"), ModuleState::Started);
}

#[tokio::test]
async fn without_control_there_are_no_control_routes() {
    let app = App::new(false).await;
    let (status, _) = app.post("/modules/db/stop", true).await;
    assert_eq!(status, 404);
    assert_eq!(app.state("db"), ModuleState::Started);
}
