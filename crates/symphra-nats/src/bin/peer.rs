//! A second process for the bridge's tests: imports `ping.*` and answers each ping with a
//! `pong.*` event through its own bridge, which sends metadata headers.
//!
//! Usage: `symphra-nats-peer NATS_URL`. Prints `ready <origin>` once connected, and exits
//! when its standard input closes.

use std::io::{BufRead, Write};

use serde_json::json;
use symphra::bus::{Event, EventBus};
use symphra_nats::NatsBridge;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: symphra-nats-peer NATS_URL")?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(url))
}

async fn run(url: String) -> Result<(), Box<dyn std::error::Error>> {
    let bus = EventBus::new();
    let bridge = NatsBridge::builder(url)
        .name("peer")
        .import("ping.*")
        .export("pong.*")
        .metadata(true)
        .connect(&bus)
        .await?;
    let answer = bus.clone();
    let _pings = bus.subscribe_async("ping.*", move |ping: Event| {
        let bus = answer.clone();
        async move {
            let suffix = ping.topic().rsplit('.').next().unwrap_or("x");
            let payload = json!({
                "n": ping.json_value().and_then(|v| v.get("n")).cloned(),
                "ping_source": ping.source(),
                "ping_origin": ping.origin(),
            });
            let pong = Event::json(&format!("pong.{suffix}"), payload)?.with_source("peer");
            bus.publish_event(pong).await;
            Ok::<(), symphra::bus::BusError>(())
        }
    })?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready {}", bridge.origin())?;
    stdout.flush()?;
    // Until the parent closes our standard input.
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        let mut stdin = std::io::stdin().lock();
        while stdin.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    })
    .await?;
    bridge.close().await?;
    Ok(())
}
