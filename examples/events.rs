//! The seed's "Async Event Handling", in Rust: an async handler processes the data of
//! `async.event` and then publishes `processing.complete` with the data's id.
//!
//! Run: `cargo run --example events`

use std::time::Duration;

use serde::{Deserialize, Serialize};
use symphra::bus::{BusError, Event, EventBus, HANDLER_FAILED, HandlerFailure, SubscribeOptions};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Data {
    id: u64,
    text: String,
}

/// Stands in for real async work (a database write, an HTTP call).
async fn process_data_async(data: &Data) -> usize {
    tokio::time::sleep(Duration::from_millis(10)).await;
    data.text.split_whitespace().count()
}

#[tokio::main]
async fn main() -> Result<(), BusError> {
    let bus = EventBus::builder().history(100).build();

    // @bus.subscribe("async.event")
    // async def async_handler(data): ...
    let publisher = bus.clone();
    let _handler = bus.subscribe_async("async.event", move |event: Event| {
        let bus = publisher.clone();
        async move {
            let Some(data) = event.payload::<Data>() else {
                return Err(format!("async.event carries a {}", event.payload_type_name()).into());
            };
            let words = process_data_async(data).await;
            println!("processed data {} ({words} words)", data.id);
            bus.publish_event(
                Event::serializable("processing.complete", data.id)?.with_source("processor"),
            )
            .await;
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        }
    })?;

    // Everyone else hears about it.
    let _done = bus.subscribe("processing.*", |event: &Event| {
        println!(
            "{} from {}: data_id = {:?}",
            event.topic(),
            event.source().unwrap_or("?"),
            event.payload::<u64>()
        );
    })?;
    let _failures = bus.subscribe(HANDLER_FAILED, |event: &Event| {
        if let Some(failure) = event.payload::<HandlerFailure>() {
            println!("a handler failed: {failure}");
        }
    })?;
    // The seed's `*` catch-all, here counting every event once.
    let _audit = bus.subscribe_with(
        "*",
        SubscribeOptions::new().priority(-10),
        |event: &Event| {
            println!("  audit: {} {}", event.id(), event.topic());
        },
    )?;

    // await bus.publish("async.event", data)
    let data = Data {
        id: 42,
        text: "hello from the event bus".into(),
    };
    let report = bus
        .publish_event(Event::serializable("async.event", data)?.with_source("main"))
        .await;
    println!(
        "async.event: {} handlers, {} succeeded, {} failed, in {:?}",
        report.matched(),
        report.succeeded(),
        report.failed(),
        report.elapsed()
    );

    // A payload the handler does not expect: the failure is isolated and reported.
    let report = bus.publish("async.event", "not data").await?;
    for failure in report.failures() {
        println!("bad async.event: {}", failure.error);
    }

    // History, exported as JSON.
    for event in bus.recent(10) {
        println!(
            "history: {}",
            serde_json::to_string(&event).unwrap_or_default()
        );
    }
    Ok(())
}
