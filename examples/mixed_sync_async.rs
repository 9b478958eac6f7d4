//! Auto Detection: blocking and async modules in one manager.
//!
//! Rust has no runtime "is this coroutine?" check to lean on, so the choice is made
//! once, by the trait: `Module` hooks are `async fn`s that run on the async runtime;
//! `SyncModule` hooks are plain `fn`s that the manager runs on tokio's blocking pool
//! (register with `.sync_module(..)`). Both kinds share dependency resolution,
//! scheduling and typed access through `Context::get`.
//!
//! Here `settings` (blocking: writes and reads a file with `std::fs`, then sleeps on the
//! thread) is a dependency of the async `greeter`, while an independent async
//! `heartbeat` keeps ticking during the blocking read, on a single-threaded runtime.
//!
//! Run with `cargo run --example mixed_sync_async`. Takes about 200 ms.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use symphra::prelude::*;
use tracing_subscriber::EnvFilter;

/// A blocking module: reads its settings from a file with `std::fs`.
struct Settings {
    path: PathBuf,
}

/// What the settings' `start` read: handed to the manager, which gives it to dependents.
struct Greeting(String);

impl Settings {
    fn new() -> Self {
        let file = format!("symphra-settings-{}.txt", std::process::id());
        Self {
            path: std::env::temp_dir().join(file),
        }
    }
}

impl SyncModule for Settings {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("settings").version("1.2.0")
    }

    fn bootstrap(&self, _ctx: &Context) -> HookResult {
        std::fs::write(&self.path, "hello from a file\n")?;
        println!("settings (sync): wrote {}", self.path.display());
        Ok(())
    }

    fn start(&self, ctx: &Context) -> HookResult {
        println!("settings (sync): blocking read begins");
        let text = std::fs::read_to_string(&self.path)?;
        std::thread::sleep(Duration::from_millis(150)); // a slow disk; blocks this thread only
        ctx.set_running(Greeting(text.trim().to_owned()));
        println!("settings (sync): blocking read done");
        Ok(())
    }

    fn stop(&self, _ctx: &Context) -> HookResult {
        std::fs::remove_file(&self.path)?;
        println!("settings (sync): removed the file");
        Ok(())
    }
}

/// An async module that depends on the blocking one.
struct Greeter;

impl Module for Greeter {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("greeter").depends_on("settings ^1.0")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let greeting: Arc<Greeting> = ctx.running_of::<Greeting>("settings")?;
        println!("greeter (async): {:?}", greeting.0);
        Ok(())
    }

    async fn stop(&self, _ctx: &Context) -> HookResult {
        println!("greeter (async): stopped");
        Ok(())
    }
}

/// An independent async module: its ticks show the runtime is not blocked.
struct Heartbeat;

impl Module for Heartbeat {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("heartbeat")
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        for tick in 1..=3 {
            tokio::time::sleep(Duration::from_millis(40)).await;
            println!("heartbeat (async): tick {tick}");
        }
        Ok(())
    }
}

// One thread for async code: if `settings` blocked it, the heartbeat could not tick.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .init();

    let manager = ModuleManager::builder()
        .module(Greeter)
        .sync_module(Settings::new())
        .module(Heartbeat)
        .build()?;

    let order: Vec<String> = manager
        .resolve_dependencies()
        .await?
        .order()
        .map(String::from)
        .collect();
    println!("start order: {}", order.join(" -> "));

    let report = manager.start_all().await?;
    println!("{report}");
    let report = manager.stop_all().await?;
    println!("{report}");
    Ok(())
}
