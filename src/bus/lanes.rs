//! Emit lanes: how the bus's emitter reaches async handlers without waiting for them.
//!
//! Emitted events are delivered by one task of the bus, in emission order. Awaiting an
//! async handler there let one handler that never returns hold up every later emitted event,
//! on every topic (issue 19, item 16). So the emitter awaits no async handler: it hands the
//! event to the handler's lane, a bounded queue with a task of its own, made on the
//! subscription's first emitted event. Each subscriber still sees emitted events in emission
//! order; a stalled one holds up only itself. When its lane is full, what it cannot take is
//! dropped, newest first, and counted in [`BusStats::queue_dropped`](super::BusStats) and in
//! its report; what waits in lanes is [`BusStats::emit_lagging`](super::BusStats).
//!
//! Per-subscriber queues rather than a timeout on each handler: a timeout would still hold
//! every other topic up for its length on each event to the stalled handler, and would cancel
//! handlers that are slow but healthy.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use super::event_bus::BusInner;
use super::handler::Handler;
use super::queue::{QueueConfig, QueuePolicy, SubscriberQueue};
use super::subscription::SubEntry;

impl BusInner {
    /// The emit lane of `entry`, an async handler without a queue of its own: made, and its
    /// task spawned, on first use. `None` if the subscription has ended, or if no Tokio
    /// runtime runs here (the emitter always runs on one).
    pub(super) fn emit_lane<'a>(
        self: &Arc<Self>,
        entry: &'a Arc<SubEntry>,
    ) -> Option<&'a Arc<SubscriberQueue>> {
        debug_assert!(
            matches!(entry.handler, Handler::Async(_) | Handler::Deferring(_))
                && entry.queue.is_none()
        );
        if let Some(lane) = entry.emit_lane.get() {
            return Some(lane);
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        // Under the registry's lock, where `remove` ends subscriptions: either the entry is
        // seen ended here, or `remove` finds the lane and closes it.
        let mut registry = self.registry.write();
        if !entry.is_active() {
            return None;
        }
        let lane = entry.emit_lane.get_or_init(|| {
            let config = QueueConfig::new(self.emit_lane_capacity, QueuePolicy::DropNewest);
            let lane = Arc::new(SubscriberQueue::new(config));
            runtime.spawn(run_lane(entry.clone(), lane.clone(), Arc::downgrade(self)));
            lane
        });
        // Kept for the bus's drop, which closes lanes so their tasks end.
        registry.queued.insert(entry.id, entry.clone());
        Some(lane)
    }
}

/// Runs the handler of `entry` on the events of its emit lane until the lane is closed and
/// empty, counting each handled one for [`BusStats::emit_lagging`](super::BusStats).
async fn run_lane(entry: Arc<SubEntry>, lane: Arc<SubscriberQueue>, bus: Weak<BusInner>) {
    while let Some(event) = lane.pop().await {
        let result = entry.handler.call(&event).await;
        lane.handled();
        let Some(bus) = bus.upgrade() else {
            if let Err(error) = result {
                tracing::warn!(
                    subscription = %entry.id,
                    topic = event.topic(),
                    error = %error,
                    "event handler failed after its bus was dropped"
                );
            }
            continue;
        };
        bus.emit_lane_handled.fetch_add(1, Ordering::Release);
        if let Err(error) = result {
            let failure = bus.failure(&entry, &event, error);
            bus.announce(&event, std::slice::from_ref(&failure)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use crate::bus::{Event, EventBus, SubscribeOptions};

    /// Yields until the emitter has handed over everything emitted; bounded, so a stalled
    /// emitter fails the test.
    async fn emitter_caught_up(bus: &EventBus) {
        for _ in 0..10_000 {
            if bus.stats().emit_pending == 0 {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the emitter never caught up: {:?}", bus.stats());
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn an_async_handler_gets_emitted_events_in_order_and_its_lane_ends_with_it() {
        let bus = EventBus::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let subscription = bus
            .subscribe_async("n", move |event: Event| {
                let tx = tx.clone();
                async move {
                    // Slower than the emitter: the lane holds a backlog.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    let _ = tx.send(event.payload::<u32>().copied());
                }
            })
            .expect("valid");
        for n in 0..200_u32 {
            bus.emit("n", n).expect("accepted");
        }
        for n in 0..200_u32 {
            assert_eq!(rx.recv().await, Some(Some(n)));
        }
        assert_eq!(bus.stats().emit_lagging, 0);
        // Unsubscribing closes the lane: its task ends and drops the handler (and `tx`).
        drop(subscription);
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_drain_waits_for_what_the_emit_lanes_of_the_tag_hold() {
        let bus = EventBus::new();
        let handled = std::sync::Arc::new(AtomicU32::new(0));
        let counter = handled.clone();
        bus.subscribe_async_with(
            "work",
            SubscribeOptions::new().tag("module:worker"),
            move |_event: Event| {
                let counter = counter.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            },
        )
        .expect("valid")
        .detach();
        for n in 0..3_u32 {
            bus.emit("work", n).expect("accepted");
        }
        emitter_caught_up(&bus).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        let report = bus.drain_tag("module:worker", deadline).await;
        assert!(report.is_complete(), "{report:?}");
        assert_eq!((report.subscriptions, report.waited_for), (1, 3));
        assert_eq!(handled.load(Ordering::Relaxed), 3);
    }
}
