//! Draining: waiting, up to a deadline, until the queued subscriptions of a tag have handled
//! what they hold.
//!
//! Driven by the queues' own notifications: the wait wakes when a handler finishes, never
//! on a timer, so it costs nothing while nothing happens and ends the moment the backlog is
//! handled.

use std::sync::Arc;

use tokio::time::Instant;

use super::event_bus::EventBus;
use super::queue::SubscriberQueue;

/// What [`EventBus::drain_tag`] found and left.
///
/// ```
/// use symphra::bus::DrainReport;
///
/// let report = DrainReport::default();
/// assert!(report.is_complete());
/// assert_eq!((report.subscriptions, report.waited_for, report.left), (0, 0, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DrainReport {
    /// The subscriptions with the tag that hold events: those with a queue, and async
    /// handlers that were handed emitted events (their emit lanes). The others hold nothing.
    pub subscriptions: usize,
    /// Events in their queues, or being handled, when the drain began.
    pub waited_for: u64,
    /// Of those, the events not yet handled when the deadline passed; 0 when the drain
    /// completed.
    pub left: u64,
}

impl DrainReport {
    /// Whether every event waited for was handled (or dropped by its queue's policy for a
    /// newer one) before the deadline.
    pub fn is_complete(&self) -> bool {
        self.left == 0
    }
}

/// One queue to drain: how many of its accepted events must be done.
struct Target {
    queue: Arc<SubscriberQueue>,
    accepted: u64,
}

impl Target {
    fn left(&self) -> u64 {
        let (_, settled) = self.queue.progress();
        self.accepted.saturating_sub(settled)
    }
}

impl EventBus {
    /// Waits until every event already accepted into the queues (and emit lanes) of the subscriptions tagged
    /// `tag` has been handled, or until `deadline`; says how many were waited for and how
    /// many were left.
    ///
    /// A module's context subscribes with the tag `module:<name>`: the manager drains it
    /// before the module's `stop` hook, so that its queued handlers finish their backlog.
    /// Events accepted after the drain began are not waited for (the subscriptions stay, and
    /// handle them later); nor are events still waiting for room in a full
    /// [`QueuePolicy::Wait`](super::QueuePolicy::Wait) queue, nor emitted events the bus has
    /// not delivered yet. Call it before [`unsubscribe_tag`](Self::unsubscribe_tag): the
    /// tag's subscriptions are found through it. Subscriptions without a queue run on the
    /// publisher's task and hold nothing.
    ///
    /// The wait wakes on the handlers' completions, not on a timer. It needs a Tokio runtime
    /// with time enabled when something is left to wait for. A queued handler that drains
    /// its own tag waits for itself until the deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use symphra::bus::{Event, EventBus, QueueConfig, QueuePolicy, SubscribeOptions};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), symphra::bus::BusError> {
    /// let bus = EventBus::new();
    /// bus.subscribe_async_with(
    ///     "user.created",
    ///     SubscribeOptions::new()
    ///         .tag("module:worker")
    ///         .queue(QueueConfig::new(64, QueuePolicy::Wait)),
    ///     |_event: Event| tokio::time::sleep(Duration::from_millis(10)),
    /// )?
    /// .detach();
    /// for n in 0..3_u32 {
    ///     bus.publish("user.created", n).await?;
    /// }
    /// let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    /// let report = bus.drain_tag("module:worker", deadline).await;
    /// assert!(report.is_complete());
    /// assert_eq!((report.subscriptions, report.waited_for), (1, 3));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn drain_tag(&self, tag: &str, deadline: Instant) -> DrainReport {
        let targets: Vec<Target> = {
            let registry = self.inner.registry.read();
            registry
                .tags
                .get(tag)
                .into_iter()
                .flatten()
                .flat_map(|entry| entry.queue.iter().chain(entry.emit_lane.get()).cloned())
                .map(|queue| Target {
                    accepted: queue.progress().0,
                    queue,
                })
                .collect()
        };
        let waited_for = targets.iter().map(Target::left).sum();
        let mut report = DrainReport {
            subscriptions: targets.len(),
            waited_for,
            left: waited_for,
        };
        if waited_for == 0 {
            return report;
        }
        // One deadline for all: the queues drain concurrently on their own tasks, so waiting
        // for them one after another takes as long as the slowest.
        let all = async {
            for target in &targets {
                target.queue.settle(target.accepted).await;
            }
        };
        if tokio::time::timeout_at(deadline, all).await.is_err() {
            tracing::debug!(tag, "drain deadline passed");
        }
        report.left = targets.iter().map(Target::left).sum();
        report
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use tokio::sync::Semaphore;

    use super::*;
    use crate::bus::{Event, QueueConfig, QueuePolicy, SubscribeOptions};

    const HANDLER: Duration = Duration::from_millis(10);

    /// A queued subscription tagged `tag` whose handler takes [`HANDLER`] and counts.
    fn slow_worker(bus: &EventBus, tag: &str, queue: QueueConfig) -> Arc<AtomicU32> {
        let handled = Arc::new(AtomicU32::new(0));
        let count = handled.clone();
        bus.subscribe_async_with(
            "user.created",
            SubscribeOptions::new().tag(tag).queue(queue),
            move |_: Event| {
                let count = count.clone();
                async move {
                    tokio::time::sleep(HANDLER).await;
                    count.fetch_add(1, Ordering::SeqCst);
                }
            },
        )
        .unwrap()
        .detach();
        handled
    }

    fn wait_queue() -> QueueConfig {
        QueueConfig::new(64, QueuePolicy::Wait)
    }

    #[tokio::test(start_paused = true)]
    async fn waits_until_the_backlog_is_handled_and_no_longer() {
        let bus = EventBus::new();
        let handled = slow_worker(&bus, "module:worker", wait_queue());
        for n in 0..5_u32 {
            bus.publish("user.created", n).await.unwrap();
        }
        let began = Instant::now();
        let report = bus
            .drain_tag("module:worker", began + Duration::from_secs(60))
            .await;
        assert_eq!(
            report,
            DrainReport {
                subscriptions: 1,
                waited_for: 5,
                left: 0
            }
        );
        assert_eq!(handled.load(Ordering::SeqCst), 5);
        // Woken by the last handler, not by a timer: exactly five handler times.
        assert_eq!(began.elapsed(), HANDLER * 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_says_how_many_were_left() {
        let bus = EventBus::new();
        let handled = slow_worker(&bus, "module:worker", wait_queue());
        for n in 0..10_u32 {
            bus.publish("user.created", n).await.unwrap();
        }
        let began = Instant::now();
        // 35 ms: three handled, the fourth under way.
        let report = bus
            .drain_tag("module:worker", began + Duration::from_millis(35))
            .await;
        assert_eq!(began.elapsed(), Duration::from_millis(35));
        assert_eq!((report.waited_for, report.left), (10, 7));
        assert!(!report.is_complete());
        assert_eq!(handled.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn events_accepted_during_the_drain_are_not_waited_for() {
        let bus = EventBus::new();
        slow_worker(&bus, "module:worker", wait_queue());
        for n in 0..2_u32 {
            bus.publish("user.created", n).await.unwrap();
        }
        let publisher = {
            let bus = bus.clone();
            tokio::spawn(async move {
                for n in 0..100_u32 {
                    bus.publish("user.created", n).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
        };
        let began = Instant::now();
        let report = bus
            .drain_tag("module:worker", began + Duration::from_secs(60))
            .await;
        assert_eq!((report.waited_for, report.left), (2, 0));
        assert_eq!(began.elapsed(), HANDLER * 2);
        publisher.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn several_queues_drain_together_and_other_tags_are_ignored() {
        let bus = EventBus::new();
        slow_worker(&bus, "module:worker", wait_queue());
        slow_worker(&bus, "module:worker", wait_queue());
        slow_worker(&bus, "module:other", wait_queue());
        // A subscription without a queue holds nothing to drain.
        bus.subscribe_with(
            "user.created",
            SubscribeOptions::new().tag("module:worker"),
            |_: &Event| (),
        )
        .unwrap()
        .detach();
        for n in 0..4_u32 {
            bus.publish("user.created", n).await.unwrap();
        }
        let began = Instant::now();
        let report = bus
            .drain_tag("module:worker", began + Duration::from_secs(60))
            .await;
        assert_eq!((report.subscriptions, report.waited_for), (2, 8));
        assert!(report.is_complete());
        // Concurrently: as long as one queue's backlog.
        assert_eq!(began.elapsed(), HANDLER * 4);
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_to_drain_returns_at_once() {
        let bus = EventBus::new();
        slow_worker(&bus, "module:worker", wait_queue());
        let began = Instant::now();
        let report = bus.drain_tag("module:worker", began).await;
        assert_eq!((report.subscriptions, report.waited_for), (1, 0));
        assert_eq!(
            bus.drain_tag("module:nobody", began).await,
            DrainReport::default()
        );
        assert_eq!(began.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn events_dropped_for_newer_ones_count_as_done() {
        // A gated handler holds the first event while newer ones push older ones out.
        let bus = EventBus::new();
        let gate = Arc::new(Semaphore::new(0));
        let handled = Arc::new(AtomicU32::new(0));
        {
            let (gate, handled) = (gate.clone(), handled.clone());
            bus.subscribe_async_with(
                "user.created",
                SubscribeOptions::new()
                    .tag("module:worker")
                    .queue(QueueConfig::new(2, QueuePolicy::DropOldest)),
                move |_: Event| {
                    let (gate, handled) = (gate.clone(), handled.clone());
                    async move {
                        if let Ok(permit) = gate.acquire().await {
                            permit.forget();
                        }
                        handled.fetch_add(1, Ordering::SeqCst);
                    }
                },
            )
            .unwrap()
            .detach();
        }
        bus.publish("user.created", 0_u32).await.unwrap();
        tokio::task::yield_now().await; // the task takes event 0 and waits at the gate
        for n in 1..=2_u32 {
            bus.publish("user.created", n).await.unwrap();
        }
        let drain = tokio::spawn({
            let bus = bus.clone();
            async move {
                bus.drain_tag("module:worker", Instant::now() + Duration::from_secs(60))
                    .await
            }
        });
        tokio::task::yield_now().await;
        // Two more push events 1 and 2 out; the drain still waits for event 0's handler.
        for n in 3..=4_u32 {
            bus.publish("user.created", n).await.unwrap();
        }
        tokio::task::yield_now().await;
        assert!(!drain.is_finished(), "event 0 is still being handled");
        gate.add_permits(1);
        let report = drain.await.unwrap();
        assert_eq!((report.waited_for, report.left), (3, 0));
        assert_eq!(handled.load(Ordering::SeqCst), 1);
    }
}
