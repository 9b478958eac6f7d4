//! Real processes for the fleet's tests: a cluster of `nats-server`s with JetStream on
//! loopback ports, and replicas of the test application (`symphra-fleet-replica`), whose
//! stdout lines arrive as events.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
         server with JetStream. Install it with `bash .ci/install-nats`."
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// A line a process printed: which process, what, and when it arrived.
#[derive(Clone, Debug)]
pub struct Line {
    pub source: usize,
    pub text: String,
    pub at: Instant,
}

/// The lines of every process of a test, in arrival order.
///
/// Waits look at the lines since the last [`mark`](Self::mark) (all of them before the
/// first), then at new lines as they come.
pub struct Events {
    sender: mpsc::Sender<Line>,
    receiver: mpsc::Receiver<Line>,
    /// Every line received so far.
    pub seen: Vec<Line>,
    mark: usize,
}

impl Events {
    pub fn new() -> Self {
        let (sender, receiver) = mpsc::channel();
        Self {
            sender,
            receiver,
            seen: Vec::new(),
            mark: 0,
        }
    }

    /// Waits from now on look only at lines that arrive after this call.
    pub fn mark(&mut self) -> usize {
        while let Ok(line) = self.receiver.try_recv() {
            self.seen.push(line);
        }
        self.mark = self.seen.len();
        self.mark
    }

    /// Forwards each line `reader` yields as coming from `source`, on a thread of its own.
    fn forward(&self, source: usize, reader: impl std::io::Read + Send + 'static) {
        let sender = self.sender.clone();
        std::thread::spawn(move || {
            for text in BufReader::new(reader).lines().map_while(Result::ok) {
                let line = Line {
                    source,
                    text,
                    at: Instant::now(),
                };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
    }

    /// Prints each line of replica `index`'s log (its stderr) prefixed with its number,
    /// which the test harness captures and shows when the test fails, and forwards it as
    /// coming from `LOG_SOURCE + index`; on a thread of its own.
    fn forward_logs(&self, index: usize, stderr: impl std::io::Read + Send + 'static) {
        let sender = self.sender.clone();
        std::thread::spawn(move || {
            for text in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[replica {index}] {text}");
                let line = Line {
                    source: LOG_SOURCE + index,
                    text,
                    at: Instant::now(),
                };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
    }

    /// Waits for the first line since the mark that `matches`, at most `limit`; panics
    /// with what was seen when none comes.
    pub fn wait(
        &mut self,
        what: &str,
        limit: Duration,
        matches: impl FnMut(&Line) -> bool,
    ) -> Line {
        self.wait_count(what, 1, limit, matches)
    }

    /// Waits for the `count`th line since the mark that `matches`, and returns it.
    pub fn wait_count(
        &mut self,
        what: &str,
        count: usize,
        limit: Duration,
        mut matches: impl FnMut(&Line) -> bool,
    ) -> Line {
        let deadline = Instant::now() + limit;
        let mut found = 0;
        let mut next = self.mark;
        loop {
            while next < self.seen.len() {
                if matches(&self.seen[next]) {
                    found += 1;
                    if found == count {
                        return self.seen[next].clone();
                    }
                }
                next += 1;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.receiver.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => {
                    let tail: Vec<String> = self
                        .seen
                        .iter()
                        .rev()
                        .filter(|l| !l.text.starts_with("WROTE") && l.source < SERVER_SOURCE)
                        .take(40)
                        .map(|l| format!("[{}] {}", l.source, l.text))
                        .collect();
                    panic!(
                        "{found} of {count} {what} within {limit:?}; last lines but writes, \
                         newest first: {tail:#?}"
                    );
                }
            }
        }
    }
}

/// One `nats-server` of a cluster.
struct Node {
    port: u16,
    config: PathBuf,
    child: Option<Child>,
}

/// A cluster of `nats-server`s with JetStream on loopback ports; killed when dropped.
pub struct Cluster {
    nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

/// Process numbers at which the servers' lines arrive in [`Events`].
pub const SERVER_SOURCE: usize = 100;
/// Process numbers at which the replicas' log lines (their stderr) arrive in [`Events`].
pub const LOG_SOURCE: usize = 200;

impl Cluster {
    /// Starts `size` servers routed to each other, and waits until JetStream has a
    /// metadata leader (the servers' log says so).
    pub fn start(size: usize, events: &mut Events) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let ports: Vec<(u16, u16)> = (0..size).map(|_| (free_port(), free_port())).collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, route)| format!("nats-route://127.0.0.1:{route}"))
            .collect();
        let mut nodes = Vec::new();
        for (i, (port, route)) in ports.iter().enumerate() {
            let store = dir.path().join(format!("js{i}"));
            let config = dir.path().join(format!("n{i}.conf"));
            let text = format!(
                "server_name: n{i}\nlisten: 127.0.0.1:{port}\n\
                 jetstream {{ store_dir: {store:?} }}\n\
                 cluster {{ name: fleet, listen: 127.0.0.1:{route}, routes: [{}] }}\n",
                routes.join(", ")
            );
            std::fs::write(&config, text).expect("write a server's configuration");
            nodes.push(Node {
                port: *port,
                config,
                child: None,
            });
        }
        let mut cluster = Self { nodes, _dir: dir };
        for i in 0..size {
            cluster.start_node(i, events);
        }
        events.wait(
            "a JetStream metadata leader",
            Duration::from_secs(30),
            |line| {
                (SERVER_SOURCE..LOG_SOURCE).contains(&line.source)
                    && line.text.contains("metadata leader")
            },
        );
        cluster
    }

    fn start_node(&mut self, i: usize, events: &Events) {
        let node = &mut self.nodes[i];
        let mut child = Command::new(nats_server_binary())
            .arg("-c")
            .arg(&node.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("could not start nats-server");
        if let Some(stderr) = child.stderr.take() {
            events.forward(SERVER_SOURCE + i, stderr);
        }
        wait_until_listening(node.port, &mut child);
        node.child = Some(child);
    }

    /// Every server's URL, comma-separated, starting with server `first`.
    pub fn urls(&self, first: usize) -> String {
        let n = self.nodes.len();
        (0..n)
            .map(|k| format!("nats://127.0.0.1:{}", self.nodes[(first + k) % n].port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Kills server `i` (SIGKILL).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
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

/// The test application's binary: `$SYMPHRA_FLEET_REPLICA` when set, else the one cargo
/// built. A target folder shared by several worktrees holds one `symphra-fleet-replica`
/// that the last build of any of them wrote; point the variable at this build's copy
/// under `deps/` to be sure to test it.
fn replica_binary() -> PathBuf {
    std::env::var_os("SYMPHRA_FLEET_REPLICA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_symphra-fleet-replica")))
}

/// Replicas of the test application; killed when dropped.
pub struct Replicas {
    children: Vec<Option<Child>>,
}

impl Replicas {
    pub fn new() -> Self {
        Self {
            children: Vec::new(),
        }
    }

    /// Starts a replica connecting to `urls` with leases of `ttl_ms`; its lines arrive in
    /// `events` as coming from the returned number.
    pub fn spawn(
        &mut self,
        events: &Events,
        urls: &str,
        ttl_ms: u64,
        bucket_replicas: usize,
    ) -> usize {
        self.spawn_with(events, urls, ttl_ms, bucket_replicas, &[])
    }

    /// [`spawn`](Self::spawn) with `extra` arguments (such as `--serve NAME`).
    pub fn spawn_with(
        &mut self,
        events: &Events,
        urls: &str,
        ttl_ms: u64,
        bucket_replicas: usize,
        extra: &[&str],
    ) -> usize {
        let index = self.children.len();
        let mut child = Command::new(replica_binary())
            .args(["--nats", urls, "--replica", &format!("r{index}")])
            .args(["--ttl-ms", &ttl_ms.to_string()])
            .args(["--bucket-replicas", &bucket_replicas.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("could not start symphra-fleet-replica");
        if let Some(stdout) = child.stdout.take() {
            events.forward(index, stdout);
        }
        if let Some(stderr) = child.stderr.take() {
            events.forward_logs(index, stderr);
        }
        self.children.push(Some(child));
        index
    }

    /// Sends `signal` (`KILL`, `STOP`, `CONT`, `TERM`) to replica `i`.
    pub fn signal(&mut self, i: usize, signal: &str) {
        let Some(child) = self.children[i].as_mut() else {
            return;
        };
        // The shell's own `kill`: a slim machine may have no `/bin/kill`.
        let status = Command::new("sh")
            .args(["-c", "kill -s \"$0\" \"$1\"", signal])
            .arg(child.id().to_string())
            .status()
            .expect("run sh");
        assert!(status.success(), "kill -{signal} failed");
        if signal == "KILL" {
            let _ = child.wait();
            self.children[i] = None;
        }
    }
}

impl Drop for Replicas {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
