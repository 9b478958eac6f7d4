//! Buffering: hold events and publish them in batches, on size, on interval, or on demand.

use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::error::BusError;
use super::event::Event;
use super::event_bus::EventBus;
use super::report::BatchReport;

/// When an [`EventBuffer`] flushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct BufferConfig {
    /// Flush when this many events are held (at least 1).
    pub max_events: usize,
    /// Also flush this often, if set.
    pub interval: Option<Duration>,
}

impl BufferConfig {
    /// Flush every `max_events` events (raised to 1 if 0).
    pub fn new(max_events: usize) -> Self {
        Self {
            max_events: max_events.max(1),
            interval: None,
        }
    }

    /// Also flush every `interval`.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }
}

struct Shared {
    bus: EventBus,
    pending: Mutex<Vec<Event>>,
    max_events: usize,
}

impl Shared {
    async fn flush(&self) -> BatchReport {
        let events = std::mem::take(&mut *self.pending.lock());
        if events.is_empty() {
            return BatchReport::default();
        }
        self.bus.publish_batch(events).await
    }
}

/// Holds events and publishes them in batches; see [`EventBus::buffer`].
///
/// Dropping the buffer hands the events it still holds to [`EventBus::emit_event`].
///
/// ```
/// use symphra::bus::{BufferConfig, EventBus};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), symphra::bus::BusError> {
/// let bus = EventBus::new();
/// let buffer = bus.buffer(BufferConfig::new(100))?;
/// buffer.publish("metrics.tick", 1_u32).await?;
/// assert_eq!(buffer.len(), 1);
/// let report = buffer.flush().await;
/// assert_eq!(report.reports().len(), 1);
/// # Ok(())
/// # }
/// ```
pub struct EventBuffer {
    shared: Arc<Shared>,
    ticker: Option<JoinHandle<()>>,
}

impl EventBuffer {
    pub(crate) fn new(bus: EventBus, config: BufferConfig) -> Result<Self, BusError> {
        let shared = Arc::new(Shared {
            bus,
            pending: Mutex::new(Vec::new()),
            max_events: config.max_events.max(1),
        });
        let ticker = match config.interval {
            Some(interval) => {
                let runtime = Handle::try_current().map_err(|_| BusError::NoRuntime {
                    what: "a buffer with a flush interval",
                })?;
                Some(runtime.spawn(tick(Arc::downgrade(&shared), interval)))
            }
            None => None,
        };
        Ok(Self { shared, ticker })
    }

    /// Holds `payload` on `topic`; if the buffer is then full, publishes everything it holds
    /// and returns the report.
    ///
    /// # Errors
    /// [`BusError::InvalidTopic`] if `topic` is invalid.
    pub async fn publish<T: Send + Sync + 'static>(
        &self,
        topic: &str,
        payload: T,
    ) -> Result<Option<BatchReport>, BusError> {
        Ok(self.push(Event::new(topic, payload)?).await)
    }

    /// Holds `event`; if the buffer is then full, publishes everything and returns the report.
    pub async fn push(&self, event: Event) -> Option<BatchReport> {
        let full = {
            let mut pending = self.shared.pending.lock();
            pending.push(event);
            pending.len() >= self.shared.max_events
        };
        if full {
            Some(self.shared.flush().await)
        } else {
            None
        }
    }

    /// Publishes everything held now.
    pub async fn flush(&self) -> BatchReport {
        self.shared.flush().await
    }

    /// How many events are held.
    pub fn len(&self) -> usize {
        self.shared.pending.lock().len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
        for event in std::mem::take(&mut *self.shared.pending.lock()) {
            if let Err(error) = self.shared.bus.emit_event(event) {
                tracing::warn!(%error, "a buffered event was lost when its buffer was dropped");
            }
        }
    }
}

impl std::fmt::Debug for EventBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBuffer")
            .field("len", &self.len())
            .field("max_events", &self.shared.max_events)
            .finish()
    }
}

async fn tick(shared: Weak<Shared>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate
    loop {
        ticks.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.flush().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn an_interval_needs_a_runtime() {
        let bus = EventBus::new();
        let err = bus
            .buffer(BufferConfig::new(10).interval(Duration::from_secs(1)))
            .unwrap_err();
        assert!(matches!(err, BusError::NoRuntime { .. }), "{err}");
        assert!(bus.buffer(BufferConfig::new(10)).is_ok());
        assert_eq!(BufferConfig::new(0).max_events, 1);
    }

    #[tokio::test]
    async fn dropping_the_buffer_emits_what_it_holds() {
        let bus = EventBus::new();
        let seen = Arc::new(AtomicUsize::new(0));
        let s = seen.clone();
        let _sub = bus
            .subscribe("t", move |_: &Event| {
                s.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        let buffer = bus.buffer(BufferConfig::new(10)).unwrap();
        buffer.publish("t", 1).await.unwrap();
        buffer.publish("t", 2).await.unwrap();
        assert_eq!(buffer.len(), 2);
        drop(buffer);
        // Bounded: a lost flush fails the test instead of hanging it.
        for _ in 0..10_000 {
            if seen.load(Ordering::SeqCst) == 2 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(
            seen.load(Ordering::SeqCst),
            2,
            "dropping the buffer flushed it"
        );
    }
}
