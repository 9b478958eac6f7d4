//! Async Lifecycle and Resource Management: a TCP server and the connection pool it
//! depends on, each opening a real resource in its hooks and closing it again.
//!
//! - `pool` validates its configuration with a JSON Schema (checked by the manager before
//!   `install` runs), bounds connections with a `tokio::sync::Semaphore`, and hands them
//!   out under a timeout (the seed's `get_connection`).
//! - `server` depends on `pool`. `start` binds a `TcpListener` on 127.0.0.1:0 and serves a
//!   line protocol (`PING`, `ADD a b`) from a spawned task, one pool connection per
//!   client; the task is owned by the module (`ctx.spawn`): the stop signals it, runs
//!   `stop`, then joins it, and its end drops the listener and every open connection.
//!
//! Run with `cargo run --example lifecycle_resource`. Takes about 150 ms.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use symphra::context::CancellationToken;
use symphra::prelude::*;
use symphra::util::{TimeoutError, timeout};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing_subscriber::EnvFilter;

// ---------------------------------------------------------------------------------------
// The connection pool.

#[derive(Debug, Deserialize)]
struct PoolConfig {
    size: usize,
    acquire_timeout_ms: u64,
}

#[derive(Debug, thiserror::Error)]
enum PoolError {
    #[error("the pool is closed")]
    Closed,
    #[error(transparent)]
    Timeout(#[from] TimeoutError),
}

/// A pooled connection; dropping it returns it to the pool.
struct Connection {
    id: usize,
    _permit: OwnedSemaphorePermit,
}

#[derive(Default)]
struct Pool {
    config: OnceLock<PoolConfig>,
}

/// What the pool's `start` opens: handed to the manager (`ctx.set_running`), which gives
/// it to `stop` and to dependents (`ctx.running_of`), and drops it after the stop.
struct OpenPool {
    slots: Arc<Semaphore>,
    acquire_timeout: Duration,
    opened: AtomicUsize,
}

impl OpenPool {
    /// The seed's `get_connection`: waits for a free connection, but not for ever.
    async fn get_connection(&self) -> Result<Connection, PoolError> {
        let slots = Arc::clone(&self.slots);
        let permit = timeout(
            "acquiring a pool connection",
            self.acquire_timeout,
            slots.acquire_owned(),
        )
        .await?
        .map_err(|_| PoolError::Closed)?;
        let id = self.opened.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(Connection {
            id,
            _permit: permit,
        })
    }
}

impl Module for Pool {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("pool")
            .version("1.3.0")
            .config_schema(json!({
                "type": "object",
                "properties": {
                    "size": { "type": "integer", "minimum": 1, "maximum": 64 },
                    "acquire_timeout_ms": { "type": "integer", "minimum": 1 }
                },
                "required": ["size", "acquire_timeout_ms"],
                "additionalProperties": false
            }))
            .default_config(json!({ "size": 4, "acquire_timeout_ms": 1000 }))
    }

    async fn bootstrap(&self, _ctx: &Context) -> HookResult {
        println!("pool: bootstrap");
        Ok(())
    }

    async fn install(&self, _ctx: &Context, config: Config) -> HookResult {
        // The manager already checked `config` against the schema.
        let config: PoolConfig = config.parse()?;
        println!("pool: install with {config:?}");
        self.config.set(config).map_err(|_| "installed twice")?;
        Ok(())
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let config = self.config.get().ok_or("not installed")?;
        let size = config.size;
        ctx.set_running(OpenPool {
            slots: Arc::new(Semaphore::new(size)),
            acquire_timeout: Duration::from_millis(config.acquire_timeout_ms),
            opened: AtomicUsize::new(0),
        });
        println!("pool: start, {size} connections");
        Ok(())
    }

    async fn stop(&self, ctx: &Context) -> HookResult {
        if let Some(open) = ctx.running::<OpenPool>() {
            open.slots.close(); // waiters get `PoolError::Closed`
        }
        println!("pool: stop, closed");
        Ok(())
    }

    async fn uninstall(&self, _ctx: &Context) -> HookResult {
        println!("pool: uninstall");
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// The server.

#[derive(Default)]
struct Server {
    banner: OnceLock<String>,
}

impl Module for Server {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("server")
            .version("0.4.0")
            .depends_on("pool ^1.2")
            .config_schema(json!({
                "type": "object",
                "properties": { "banner": { "type": "string", "minLength": 1 } },
                "required": ["banner"]
            }))
    }

    async fn bootstrap(&self, _ctx: &Context) -> HookResult {
        println!("server: bootstrap");
        Ok(())
    }

    async fn install(&self, _ctx: &Context, config: Config) -> HookResult {
        let banner: String = config.get("banner")?.ok_or("no banner")?;
        println!("server: install with banner {banner:?}");
        self.banner.set(banner).map_err(|_| "installed twice")?;
        Ok(())
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let pool = ctx.running_of::<OpenPool>("pool")?; // what the started pool opened
        let banner = self.banner.get().ok_or("not installed")?.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        ctx.spawn("serve", |shutdown| serve(listener, pool, banner, shutdown))?;
        ctx.set_running(addr);
        println!("server: start, listening on {addr}");
        Ok(())
    }

    async fn stop(&self, _ctx: &Context) -> HookResult {
        // `serve` was signalled before this hook; the manager joins it after, and its end
        // drops the listener and the connection tasks.
        println!("server: stop, listener closing");
        Ok(())
    }

    async fn uninstall(&self, _ctx: &Context) -> HookResult {
        println!("server: uninstall");
        Ok(())
    }
}

/// Accepts clients until the module stops. Dropping the `JoinSet` aborts every connection
/// task.
async fn serve(
    listener: TcpListener,
    pool: Arc<OpenPool>,
    banner: String,
    shutdown: CancellationToken,
) -> HookResult {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(handle(stream, Arc::clone(&pool), banner.clone()));
                }
                Err(error) => println!("server: accept failed: {error}"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One client: a pool connection for the whole session, then one reply per line.
async fn handle(stream: TcpStream, pool: Arc<OpenPool>, banner: String) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let connection = match pool.get_connection().await {
        Ok(connection) => connection,
        Err(error) => {
            write.write_all(format!("ERR {error}\n").as_bytes()).await?;
            return Ok(());
        }
    };
    let hello = format!("{banner} (pool connection #{})\n", connection.id);
    write.write_all(hello.as_bytes()).await?;
    let mut lines = BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words.as_slice() {
            ["PING"] => "PONG".to_owned(),
            ["ADD", a, b] => match (a.parse::<i64>(), b.parse::<i64>()) {
                (Ok(a), Ok(b)) => (a + b).to_string(),
                _ => "ERR ADD takes two integers".to_owned(),
            },
            _ => format!("ERR unknown command {line:?}"),
        };
        write.write_all(format!("{reply}\n").as_bytes()).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// A client for the demonstration.

struct Client {
    lines: Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
}

impl Client {
    /// Connects and returns the client with the server's first line.
    async fn connect(addr: SocketAddr) -> std::io::Result<(Self, String)> {
        let (read, write) = TcpStream::connect(addr).await?.into_split();
        let mut client = Self {
            lines: BufReader::new(read).lines(),
            write,
        };
        let first = client.read_line().await?;
        Ok((client, first))
    }

    async fn read_line(&mut self) -> std::io::Result<String> {
        self.lines
            .next_line()
            .await?
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
    }

    async fn call(&mut self, request: &str) -> std::io::Result<String> {
        self.write
            .write_all(format!("{request}\n").as_bytes())
            .await?;
        let reply = self.read_line().await?;
        println!("client: {request:<10} -> {reply}");
        Ok(reply)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .init();

    // A configuration that breaks the schema never reaches `install`.
    let rejected = ModuleManager::builder()
        .module(Pool::default())
        .config("pool", json!({ "size": 0, "colour": "blue" }))
        .build()?;
    if let Err(error) = rejected.start_all().await {
        println!("invalid configuration rejected:\n  {error}\n");
    }

    let manager = ModuleManager::builder()
        .module(Server::default())
        .module(Pool::default())
        .config("pool", json!({ "size": 2, "acquire_timeout_ms": 100 }))
        .config("server", json!({ "banner": "symphra-demo/1" }))
        .build()?;

    manager.start_all().await?;
    let addr = *manager
        .module("server")?
        .running::<SocketAddr>()
        .ok_or("the server is not listening")?;

    // A round trip.
    let (mut first, hello) = Client::connect(addr).await?;
    println!("client 1: connected: {hello}");
    first.call("PING").await?;
    first.call("ADD 40 2").await?;

    // The pool has 2 connections: a third client waits 100 ms, then gets the timeout.
    let (mut second, hello) = Client::connect(addr).await?;
    println!("client 2: connected: {hello}");
    let (_third, refused) = Client::connect(addr).await?;
    println!("client 3: {refused}");

    // Hanging up returns the connection to the pool.
    drop(first);
    let (_fourth, hello) = Client::connect(addr).await?;
    println!("client 4: connected: {hello}");

    let report = manager.stop_all().await?;
    println!("{report}");

    // Stopping closed the listener and every session.
    match second.read_line().await {
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            println!("client 2: the server closed the session")
        }
        Err(error) => println!("client 2: the session ended: {error}"),
        Ok(line) => return Err(format!("session still open after stop: {line:?}").into()),
    }
    match TcpStream::connect(addr).await {
        Err(error) => println!("connect to {addr} after stop: {error}"),
        Ok(_) => return Err(format!("{addr} still accepts connections after stop").into()),
    }

    // `stop_all` leaves modules installed; uninstall them explicitly, dependents first.
    manager.uninstall("server").await?;
    manager.uninstall("pool").await?;
    println!(
        "states: server {}, pool {}",
        manager.module("server")?.state(),
        manager.module("pool")?.state()
    );
    Ok(())
}
