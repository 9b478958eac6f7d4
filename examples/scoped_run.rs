//! Async Context Managers: `manager.scope(body)` starts every module, runs `body`, and
//! stops every module afterwards — when `body` returns, when it panics, or when SIGINT
//! (Ctrl-C) or SIGTERM arrives first. It is the seed's `async with`.
//!
//! Run with `cargo run --example scoped_run`: the body finishes by itself after 300 ms
//! (press Ctrl-C before that to interrupt it). With `-- --self-signal`, the body sends
//! this process SIGINT through `kill -INT <pid>` instead, as a service manager would.

use std::time::Duration;

use symphra::prelude::*;
use tracing_subscriber::EnvFilter;

/// A module that prints its start and stop.
struct Service {
    name: &'static str,
    deps: &'static [&'static str],
}

impl Module for Service {
    fn metadata(&self) -> ModuleMetadata {
        self.deps
            .iter()
            .fold(ModuleMetadata::new(self.name), |meta, dep| {
                meta.depends_on(dep)
            })
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        println!("  start {}", self.name);
        Ok(())
    }

    async fn stop(&self, _ctx: &Context) -> HookResult {
        tokio::time::sleep(Duration::from_millis(10)).await; // drain, flush...
        println!("  stop  {}", self.name);
        Ok(())
    }
}

/// The application's work while the modules run.
async fn serve(self_signal: bool) -> Result<&'static str, std::io::Error> {
    if self_signal {
        // Let the scope install its signal handlers before the signal is sent.
        tokio::task::yield_now().await;
        let pid = std::process::id().to_string();
        println!("body: sending SIGINT to process {pid}");
        let status = tokio::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .await?;
        if !status.success() {
            return Err(std::io::Error::other(format!("kill exited with {status}")));
        }
        std::future::pending::<()>().await; // the signal ends the scope, not the body
    }
    println!("body: serving for 300 ms (Ctrl-C to interrupt)");
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok("served every request")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .init();
    let self_signal = std::env::args().any(|arg| arg == "--self-signal");

    let manager = ModuleManager::builder()
        .module(Service {
            name: "api",
            deps: &["users", "cache"],
        })
        .module(Service {
            name: "users",
            deps: &["database"],
        })
        .module(Service {
            name: "database",
            deps: &[],
        })
        .module(Service {
            name: "cache",
            deps: &[],
        })
        .shutdown_timeout(Duration::from_secs(5))
        .build()?;

    println!("scope: starting");
    let exit = manager.scope(serve(self_signal)).await?;
    match exit {
        ScopeExit::Completed(result) => println!("scope: body completed: {}", result?),
        ScopeExit::Interrupted(signal) => println!("scope: interrupted by {signal}"),
    }

    let states: Vec<String> = manager
        .handles()
        .iter()
        .map(|handle| format!("{} {}", handle.name(), handle.state()))
        .collect();
    println!("after the scope: {}", states.join(", "));
    Ok(())
}
