//! The bus's background tasks: one per queued subscriber, and one that delivers emitted
//! events. Both hold the bus weakly, so that they never keep it alive.

use std::sync::{Arc, Weak};

use tokio::sync::mpsc;

use super::event::Event;
use super::event_bus::BusInner;
use super::subscription::SubEntry;

/// Feeds one queued subscriber, on its own task, until it is unsubscribed and drained.
pub(super) async fn run_queue(entry: Arc<SubEntry>, bus: Weak<BusInner>) {
    let Some(queue) = entry.queue.clone() else {
        return;
    };
    while let Some(event) = queue.pop().await {
        let result = entry.handler.call(&event).await;
        // Handled, failed or not: a drain waits for the handler, not for the notice of its
        // failure, which may itself wait on a full queue.
        queue.handled();
        if let Err(error) = result {
            match bus.upgrade() {
                Some(bus) => {
                    let failure = bus.failure(&entry, &event, error);
                    bus.announce(&event, std::slice::from_ref(&failure)).await;
                }
                None => tracing::warn!(
                    subscription = %entry.id,
                    topic = event.topic(),
                    error = %error,
                    "event handler failed after its bus was dropped"
                ),
            }
        }
    }
}

/// Delivers emitted events in order, until the bus is dropped.
pub(super) async fn run_emitter(bus: Weak<BusInner>, mut events: mpsc::Receiver<Event>) {
    while let Some(event) = events.recv().await {
        let Some(bus) = bus.upgrade() else { break };
        let route = bus.route_valid(event.topic());
        bus.publish_emitted(&event, &route).await;
        bus.emit_delivered
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

impl Drop for BusInner {
    fn drop(&mut self) {
        // Let queued subscribers finish what they hold and stop.
        for entry in self.registry.get_mut().queued.values() {
            entry.close_queues();
        }
    }
}
