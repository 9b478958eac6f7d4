//! A small modular application: a database, a cache, a user service on top of both, and
//! an HTTP-ish line server on top of the users — started in dependency order, used once,
//! and stopped in reverse order.
//!
//! Run it with `cargo run --example app`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::json;
use symphra::prelude::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// An in-memory table standing in for a database pool.
#[derive(Default)]
struct Database {
    users: Mutex<HashMap<u32, String>>,
}

impl Module for Database {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("database")
            .version("1.4.0")
            .description("user table")
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        tokio::time::sleep(Duration::from_millis(20)).await; // "connecting"
        let mut users = self.users.lock().map_err(|_| "database lock poisoned")?;
        users.insert(1, "ada".into());
        users.insert(2, "grace".into());
        println!("  database: connected, {} users", users.len());
        Ok(())
    }

    async fn stop(&self, _ctx: &Context) -> HookResult {
        println!("  database: disconnected");
        Ok(())
    }
}

/// A cache with a configurable capacity, validated by its schema.
#[derive(Default)]
struct Cache {
    capacity: OnceLock<u64>,
}

impl Module for Cache {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("cache")
            .version("0.3.1")
            .config_schema(json!({
                "type": "object",
                "properties": { "capacity": { "type": "integer", "minimum": 1 } },
                "required": ["capacity"]
            }))
            .default_config(json!({ "capacity": 128 }))
    }

    async fn install(&self, _ctx: &Context, config: Config) -> HookResult {
        let capacity = config.get::<u64>("capacity")?.unwrap_or(128);
        let _ = self.capacity.set(capacity);
        println!("  cache: installed with capacity {capacity}");
        Ok(())
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        tokio::time::sleep(Duration::from_millis(10)).await;
        println!("  cache: warmed");
        Ok(())
    }
}

/// Looks users up in the database; uses the cache when there is one.
#[derive(Default)]
struct Users {
    db: OnceLock<Arc<Database>>,
}

impl Users {
    fn name_of(&self, id: u32) -> Option<String> {
        self.db.get()?.users.lock().ok()?.get(&id).cloned()
    }
}

impl Module for Users {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("users")
            .version("2.0.0")
            .depends_on("database >=1.0, <2")
            .optionally_depends_on("cache")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let _ = self.db.set(ctx.get::<Database>()?);
        let cached = ctx.try_get::<Cache>().is_some();
        println!(
            "  users: ready (user 1 is {:?}, cache {})",
            self.name_of(1).unwrap_or_default(),
            if cached { "on" } else { "off" }
        );
        Ok(())
    }
}

/// Answers `GET <id>` lines with the user's name, on a port of 127.0.0.1.
///
/// The accept loop is a task the module owns (`ctx.spawn`): the manager signals it when the
/// module stops, and joins it after `stop` returns, so the module keeps no task handle and
/// no shutdown channel of its own. What `start` built that others need — the address — is
/// handed to the manager (`ctx.set_running`), which gives it back to `stop`, to dependents
/// (`ctx.running_of`) and to handles, and drops it after the stop: no `Mutex<Option<_>>`.
struct Api;

/// What the api's `start` builds.
struct Listening {
    address: String,
}

impl Module for Api {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("api")
            .version("1.0.0")
            .depends_on("users ^2")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let users = ctx.get::<Users>()?;
        ctx.spawn("accept", |shutdown| async move {
            // Dropped when the loop ends: that aborts the connections still open.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    accepted = listener.accept() => {
                        let (stream, _) = accepted?;
                        connections.spawn(serve(stream, Arc::clone(&users)));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        })?;
        println!("  api: listening on {address}");
        ctx.set_running(Listening { address });
        Ok(())
    }

    async fn stop(&self, ctx: &Context) -> HookResult {
        // The accept task has been signalled already; the manager joins it after this.
        if let Some(listening) = ctx.running::<Listening>() {
            println!("  api: closed {}", listening.address);
        }
        Ok(())
    }
}

/// One client: a name per `GET <id>` line, until the client hangs up.
async fn serve(stream: TcpStream, users: Arc<Users>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let id = line.trim_start_matches("GET ").trim().parse().unwrap_or(0);
        let answer = users.name_of(id).unwrap_or_else(|| "not found".into());
        if write
            .write_all(format!("{answer}\n").as_bytes())
            .await
            .is_err()
        {
            break;
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manager = ModuleManager::builder()
        .module(Api)
        .module(Users::default())
        .module(Cache::default())
        .module(Database::default())
        .config("cache", json!({ "capacity": 1024 }))
        .max_concurrency(4)
        .build()?;

    let resolution = manager.resolve_dependencies().await?;
    println!("start waves: {:?}", resolution.waves());

    println!("starting...");
    let report = manager.start_all().await?;
    println!("{report}");

    let listening = manager
        .module("api")?
        .running::<Listening>()
        .ok_or("the api is not listening")?;
    let mut stream = TcpStream::connect(&listening.address).await?;
    stream.write_all(b"GET 2\n").await?;
    let mut answer = String::new();
    BufReader::new(&mut stream).read_line(&mut answer).await?;
    println!("client: GET 2 -> {}", answer.trim());

    println!("stopping...");
    let report = manager.stop_all().await?;
    println!("{report}");
    Ok(())
}
