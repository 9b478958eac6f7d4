//! Two modules coupled only by the bus: `api` publishes `user.created` from a task it owns,
//! `worker` handles them through a queued subscription of its context. Neither depends on
//! the other; `api` stops before `worker` (`stops_before`), so that the worker is still
//! there to take what the api published last, and the worker's stop first drains its
//! queue. The stop report says how many events the bus could not deliver (none, or the
//! exact count).
//!
//! `main` publishes `user.created` too, and stops the application with one of its
//! publishes in flight: after `BUS_COUPLED_EVENTS` events (default 200), or at Ctrl-C.
//!
//! Run: `cargo run --example bus_coupled` (`tests/bus_coupled.rs` runs the same scenario
//! on tokio's paused clock).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use symphra::Error;
use symphra::bus::{Event, QueueConfig, QueuePolicy, SubscribeOptions};
use symphra::manager::Report;
use symphra::prelude::*;

/// How long the worker takes per user, and how often the api announces one.
const HANDLING: Duration = Duration::from_millis(2);
const API_EVERY: Duration = Duration::from_millis(5);

/// Publishes a `user.created` every [`API_EVERY`] from an owned task, until it stops.
struct Api {
    published: Arc<AtomicU64>,
}

impl Module for Api {
    fn metadata(&self) -> ModuleMetadata {
        // No dependency: only an ordering for the stop.
        ModuleMetadata::new("api").stops_before("worker")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let bus = ctx.bus().clone();
        let published = Arc::clone(&self.published);
        ctx.spawn("announce", move |shutdown| async move {
            let mut every = tokio::time::interval(API_EVERY);
            for id in 0_u64.. {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = every.tick() => {}
                }
                // Not raced with the shutdown: a publish begun is finished, and counted.
                bus.publish_event(Event::new("user.created", id)?.with_source("api"))
                    .await;
                published.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        })?;
        Ok(())
    }
}

/// Handles `user.created` on its own task, fed by a queue: publishers do not wait for it.
struct Worker {
    handled: Arc<AtomicU64>,
}

impl Module for Worker {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("worker")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let handled = Arc::clone(&self.handled);
        ctx.subscribe_async_with(
            "user.created",
            SubscribeOptions::new().queue(QueueConfig::new(4096, QueuePolicy::Wait)),
            move |_: Event| {
                let handled = Arc::clone(&handled);
                async move {
                    tokio::time::sleep(HANDLING).await; // "sending the welcome mail"
                    handled.fetch_add(1, Ordering::SeqCst);
                }
            },
        )?;
        Ok(())
    }
}

/// What a run of the scenario did.
pub struct Tally {
    /// Events whose publish completed, by the api and by `main`.
    pub published: u64,
    /// Events the worker handled.
    pub handled: u64,
    /// The stop's report.
    pub report: Report,
}

/// Starts both modules, publishes up to `events` from the caller every millisecond (fewer
/// if `interrupt` completes first), stops everything with one more publish in flight, and
/// lets the worker's queue settle.
pub async fn scenario(events: u64, interrupt: impl Future<Output = ()>) -> Result<Tally, Error> {
    let published = Arc::new(AtomicU64::new(0));
    let handled = Arc::new(AtomicU64::new(0));
    let manager = ModuleManager::builder()
        .module(Api {
            published: Arc::clone(&published),
        })
        .module(Worker {
            handled: Arc::clone(&handled),
        })
        .build()?;
    manager.start_all().await?;

    let bus = manager.bus().clone();
    let publish = |id: u64| {
        let (bus, published) = (bus.clone(), Arc::clone(&published));
        async move {
            match Event::new("user.created", id) {
                Ok(event) => {
                    bus.publish_event(event.with_source("main")).await;
                    published.fetch_add(1, Ordering::SeqCst);
                }
                Err(error) => eprintln!("not published: {error}"),
            }
        }
    };
    let feed = async {
        for id in 0..events {
            publish(id).await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::select! {
        () = feed => {}
        () = interrupt => println!("interrupted"),
    }

    // The stop and a publish run together: the publish lands in the worker's queue (it is
    // drained, or still handled after) or after the worker stopped (then it is counted).
    let (report, ()) = tokio::join!(manager.stop_all(), publish(events));
    let report = report?;
    // Events accepted while the worker drained are still handled by its queue's task.
    tokio::time::sleep(HANDLING * 64).await;
    Ok(Tally {
        published: published.load(Ordering::SeqCst),
        handled: handled.load(Ordering::SeqCst),
        report,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let events = std::env::var("BUS_COUPLED_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let ctrl_c = async {
        symphra::signal::shutdown_signal().await;
    };
    let tally = scenario(events, ctrl_c).await?;
    println!("{}", tally.report);
    println!(
        "published {}, handled {}, lost {}",
        tally.published,
        tally.handled,
        tally.report.lost_events()
    );
    if tally.handled + tally.report.lost_events() != tally.published {
        eprintln!("some events are neither handled nor counted as lost");
        std::process::exit(1);
    }
    Ok(())
}
