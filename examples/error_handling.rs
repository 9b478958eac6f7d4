//! Best Practices / Error Handling: a module that gives a slow call a time limit and
//! falls back, a module whose start fails with a typed error (its dependent is skipped),
//! and a module that hangs past the hook timeout. Each error prints its message.
//!
//! Run with `cargo run --example error_handling`. Takes about 150 ms.

use std::sync::Mutex;
use std::time::Duration;

use symphra::lifecycle::FailureCause;
use symphra::manager::Outcome;
use symphra::prelude::*;
use symphra::util::timeout;
use tracing_subscriber::EnvFilter;

/// Fetches quotes from a slow remote service; falls back to a built-in list.
#[derive(Default)]
struct Quotes {
    quotes: Mutex<Vec<String>>,
}

impl Quotes {
    /// The unreliable call: takes 2 s here.
    async fn fetch_remote(&self) -> Result<Vec<String>, std::io::Error> {
        tokio::time::sleep(Duration::from_secs(2)).await;
        Ok(vec!["remote quote".into()])
    }

    async fn fallback(&self) -> Vec<String> {
        vec!["Simple is better than complex.".into()]
    }
}

impl Module for Quotes {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("quotes")
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        let quotes = match timeout(
            "fetching quotes",
            Duration::from_millis(50),
            self.fetch_remote(),
        )
        .await
        {
            Ok(Ok(quotes)) => quotes,
            Ok(Err(error)) => return Err(error.into()), // a real failure: fail the start
            Err(error) => {
                println!("quotes: {error}; using the fallback");
                self.fallback().await
            }
        };
        println!("quotes: started with {} quote(s)", quotes.len());
        *self.quotes.lock().map_err(|_| "poisoned")? = quotes;
        Ok(())
    }
}

/// A typed error a hook returns; the manager keeps it, and callers can downcast to it.
#[derive(Debug, thiserror::Error)]
#[error("payment gateway {host} refused the connection")]
struct GatewayUnreachable {
    host: String,
}

struct Billing;

impl Module for Billing {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("billing")
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        println!("billing: cleaning up the half-open session before failing");
        Err(GatewayUnreachable {
            host: "pay.example:443".into(),
        }
        .into())
    }
}

/// Needs billing, so it is skipped when billing fails.
struct Invoices;

impl Module for Invoices {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("invoices").depends_on("billing")
    }
}

/// Never finishes starting; the hook timeout ends it.
struct Stuck;

impl Module for Stuck {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("stuck")
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        std::future::pending().await
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .init();

    let manager = ModuleManager::builder()
        .module(Quotes::default())
        .module(Billing)
        .module(Invoices)
        .module(Stuck)
        .hook_timeout(Duration::from_millis(100))
        .build()?;

    let error = match manager.start_all().await {
        Ok(_) => return Err("every module started, which this example does not expect".into()),
        Err(symphra::Error::Start(error)) => error,
        Err(other) => return Err(other.into()),
    };
    println!("\nstart_all failed: {error}\n");
    for module in error.report().modules() {
        match module.outcome() {
            Outcome::Failed(failure) => {
                println!("{}: {failure}", module.name());
                match failure.cause() {
                    FailureCause::Error(cause) => {
                        if let Some(gateway) = cause.inner().downcast_ref::<GatewayUnreachable>() {
                            println!(
                                "  typed cause: GatewayUnreachable {{ host: {:?} }}",
                                gateway.host
                            );
                        }
                    }
                    FailureCause::TimedOut(limit) => println!("  timed out after {limit:?}"),
                    other => println!("  cause: {other}"),
                }
            }
            Outcome::Skipped(reason) => println!("{}: skipped because {reason}", module.name()),
            outcome => println!("{}: {outcome}", module.name()),
        }
    }

    // The rest of the application keeps running; stop what started.
    let report = manager.stop_all().await?;
    println!("\n{report}");
    Ok(())
}
