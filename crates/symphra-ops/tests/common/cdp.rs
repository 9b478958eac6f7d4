//! A small client of the Chrome DevTools Protocol over its websocket: enough to open one
//! page in headless Chromium and evaluate scripts in it, promises awaited. Every wait is
//! bounded.

use std::future::Future;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any one step may take before the test fails.
const STEP_LIMIT: Duration = Duration::from_secs(60);

/// `future`, or a failure naming `what` after [`STEP_LIMIT`].
async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP_LIMIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: nothing within {STEP_LIMIT:?}"),
    }
}

/// One page of a headless Chromium, driven over the DevTools protocol.
pub struct Page {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    /// Events read while waiting for an answer, for [`Page::wait_event`].
    events: Vec<Value>,
    _browser: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Page {
    /// Starts `browser` headless with a fresh profile, opens a page, navigates it to `url`
    /// and waits for its load event.
    pub async fn open(browser: &Path, url: &str) -> Self {
        let profile = tempfile::tempdir().unwrap();
        let mut child = tokio::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // Chromium says where its protocol listens on stderr; the rest is drained so that
        // a full pipe never stalls it.
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let endpoint = bounded("chromium's DevTools address", async {
            while let Some(line) = stderr.next_line().await.unwrap() {
                if let Some(at) = line.find("ws://") {
                    return line[at..].trim().to_owned();
                }
            }
            panic!("chromium exited without a DevTools address");
        })
        .await;
        tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
        let (socket, _) = bounded(
            "connecting to chromium",
            tokio_tungstenite::connect_async(&endpoint),
        )
        .await
        .unwrap();
        let mut page = Self {
            socket,
            session: String::new(),
            next_id: 0,
            events: Vec::new(),
            _browser: child,
            _profile: profile,
        };
        let target = page
            .call(
                false,
                "Target.createTarget",
                json!({ "url": "about:blank" }),
            )
            .await;
        let attached = page
            .call(
                false,
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await;
        page.session = attached["sessionId"].as_str().unwrap().to_owned();
        page.call(true, "Page.enable", json!({})).await;
        page.call(true, "Page.navigate", json!({ "url": url }))
            .await;
        page.wait_event("Page.loadEventFired").await;
        page
    }

    /// Evaluates `expression` in the page, awaiting it when it is a promise, and returns
    /// its value. An exception fails the test.
    pub async fn evaluate(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                true,
                "Runtime.evaluate",
                json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
            )
            .await;
        assert!(
            result.get("exceptionDetails").is_none(),
            "the script threw: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Sends `method` (to the page's session when `in_page`) and returns its result.
    async fn call(&mut self, in_page: bool, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if in_page {
            message["sessionId"] = json!(self.session);
        }
        bounded(method, self.socket.send(Message::text(message.to_string())))
            .await
            .unwrap();
        loop {
            let message = self.next_message(method).await;
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
            if message.get("method").is_some() {
                self.events.push(message);
            }
        }
    }

    /// Waits for the event `method` of the page (or takes it if it already came).
    async fn wait_event(&mut self, method: &str) {
        if let Some(at) = self.events.iter().position(|e| e["method"] == method) {
            self.events.remove(at);
            return;
        }
        while self.next_message(method).await["method"] != method {}
    }

    /// The next protocol message, as JSON.
    async fn next_message(&mut self, waiting_for: &str) -> Value {
        loop {
            let frame = bounded(waiting_for, self.socket.next())
                .await
                .unwrap_or_else(|| panic!("chromium closed the protocol during {waiting_for}"))
                .unwrap();
            if let Message::Text(text) = frame {
                return serde_json::from_str(text.as_str()).unwrap();
            }
        }
    }
}
