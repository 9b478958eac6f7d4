//! A real `nats-server` per test, on a free port of 127.0.0.1, and a TCP gate to control
//! when a client may reach it.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use std::time::{Duration, Instant};
use symphra::bus::{Event, EventBus, Subscription};

/// Where `nats-server` is; panics (failing the test) if it is not installed.
pub fn nats_server_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from));
    for dir in dirs {
        let candidate = dir.join("nats-server");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "`nats-server` was not found on PATH (nor in /usr/sbin): these tests need a real NATS \
         server. Install it with `bash .ci/install-nats` (Debian package `nats-server`)."
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

fn wait_until_listening(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("nats-server exited at start ({status}); is port {port} taken?");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("nats-server did not listen on 127.0.0.1:{port} within 10 s");
}

/// A `nats-server` child process; killed when dropped.
pub struct NatsServer {
    port: u16,
    child: Option<Child>,
    /// A configuration file (`-c`), if the server was started with one.
    config: Option<PathBuf>,
}

impl NatsServer {
    /// Starts a server on a free port and waits until it listens.
    pub fn start() -> Self {
        let mut server = Self {
            port: free_port(),
            child: None,
            config: None,
        };
        server.restart();
        server
    }

    /// Starts a server with `config` (nats-server's configuration syntax) on a free port.
    pub fn with_config(config: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "symphra-nats-test-{}-{}.conf",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, config).expect("write the server's configuration");
        let mut server = Self {
            port: free_port(),
            child: None,
            config: Some(path),
        };
        server.restart();
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        let mut command = Command::new(nats_server_binary());
        if let Some(config) = &self.config {
            command.arg("-c").arg(config);
        }
        let mut child = command
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("could not start nats-server");
        wait_until_listening(self.port, &mut child);
        self.child = Some(child);
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        if let Some(config) = &self.config {
            let _ = std::fs::remove_file(config);
        }
    }
}

/// A TCP forwarder to a server that refuses (closes) new connections while shut.
pub struct Gate {
    port: u16,
    open: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Gate {
    /// An open gate in front of `upstream_port`.
    pub async fn new(upstream_port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the gate");
        let port = listener.local_addr().expect("gate address").port();
        let open = Arc::new(AtomicBool::new(true));
        let flag = open.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                tokio::spawn(async move {
                    if let Ok(mut upstream) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream_port)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upstream).await;
                    }
                });
            }
        });
        Self { port, open, task }
    }

    /// The URL to connect to through the gate.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Lets new connections through (or not).
    pub fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
pub async fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A NATS client written on a bare TCP socket, to send what real clients refuse to: subjects
/// that are not UTF-8, header names with spaces.
pub struct RawClient {
    stream: tokio::net::TcpStream,
}

impl RawClient {
    /// Connects, reads the server's `INFO` and sends `CONNECT` (headers on, not pedantic).
    pub async fn connect(port: u16) -> Self {
        use tokio::io::AsyncBufReadExt;
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect the raw client");
        let mut info = String::new();
        tokio::io::BufReader::new(&mut stream)
            .read_line(&mut info)
            .await
            .expect("read INFO");
        assert!(info.starts_with("INFO "), "{info}");
        let mut client = Self { stream };
        client
            .send(b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1}\r\n")
            .await;
        client
    }

    /// Sends raw protocol bytes.
    pub async fn send(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.stream
            .write_all(bytes)
            .await
            .expect("raw client write");
    }

    /// `PUB subject payload`, with a subject given as bytes.
    pub async fn publish(&mut self, subject: &[u8], payload: &[u8]) {
        let mut frame = b"PUB ".to_vec();
        frame.extend_from_slice(subject);
        frame.extend_from_slice(format!(" {}\r\n", payload.len()).as_bytes());
        frame.extend_from_slice(payload);
        frame.extend_from_slice(b"\r\n");
        self.send(&frame).await;
    }

    /// `HPUB subject` with one header line given as bytes (`Name: value`).
    pub async fn publish_with_header(&mut self, subject: &str, header: &[u8], payload: &[u8]) {
        let mut block = b"NATS/1.0\r\n".to_vec();
        block.extend_from_slice(header);
        block.extend_from_slice(b"\r\n\r\n");
        let mut frame = format!(
            "HPUB {subject} {} {}\r\n",
            block.len(),
            block.len() + payload.len()
        )
        .into_bytes();
        frame.extend_from_slice(&block);
        frame.extend_from_slice(payload);
        frame.extend_from_slice(b"\r\n");
        self.send(&frame).await;
    }

    /// Sends `PING` and waits for the server's `PONG`: everything sent before is processed.
    pub async fn ping(&mut self) {
        use tokio::io::AsyncReadExt;
        self.send(b"PING\r\n").await;
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        while !seen.windows(4).any(|w| w == b"PONG") {
            let n = self.stream.read(&mut buf).await.expect("raw client read");
            assert!(
                n > 0,
                "the server closed the raw client: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
        }
        assert!(
            !seen.windows(4).any(|w| w == b"-ERR"),
            "the server refused: {}",
            String::from_utf8_lossy(&seen)
        );
    }
}

/// How long a test waits for something that should happen at once.
pub const WAIT: Duration = Duration::from_secs(20);

/// Records the events a bus delivers on a pattern.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Event>>>);

impl Recorder {
    pub fn on(bus: &EventBus, pattern: &str) -> (Self, Subscription) {
        let recorder = Self::default();
        let events = recorder.0.clone();
        let sub = bus
            .subscribe(pattern, move |e| events.lock().unwrap().push(e.clone()))
            .unwrap();
        (recorder, sub)
    }
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }
    pub fn topics(&self) -> BTreeSet<String> {
        self.events().iter().map(|e| e.topic().to_owned()).collect()
    }
    pub async fn wait_for(&self, n: usize) {
        let ok = eventually(WAIT, || self.len() >= n).await;
        assert!(
            ok,
            "expected {n} events within {WAIT:?}, got {}",
            self.len()
        );
    }
}

/// The `n` of a `{"n": ..}` payload.
pub fn n_of(event: &Event) -> u64 {
    event.json_value().and_then(|v| v["n"].as_u64()).unwrap()
}

/// Publishes `{"n": n}` on `topic` for each `n` of `range`, with source `test`.
pub async fn publish_n(bus: &EventBus, topic: &str, range: std::ops::Range<u64>) {
    for n in range {
        let event = Event::json(topic, json!({ "n": n }))
            .unwrap()
            .with_source("test");
        bus.publish_event(event).await;
    }
}
