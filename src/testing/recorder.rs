//! Recording bus events in tests, and waiting for them without sleeping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::bus::{BusError, Event, EventBus, Subscription};
use crate::util::{TimeoutError, timeout};

/// Records every event that matches a pattern, from the moment it is created, and lets a
/// test wait for "the next N events" or "an event like this" with a time limit instead of
/// sleeping. Works on tokio's paused clock. Stops recording when dropped.
///
/// ```
/// use std::time::Duration;
/// use symphra::bus::EventBus;
/// use symphra::testing::EventRecorder;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let bus = EventBus::new();
/// let recorder = EventRecorder::new(&bus, "orders.*").unwrap();
/// let publisher = bus.clone();
/// tokio::spawn(async move {
///     tokio::time::sleep(Duration::from_secs(2)).await;
///     publisher.publish("orders.created", 42_u32).await.unwrap();
/// });
/// let event = recorder.wait_for(|e| e.topic() == "orders.created", Duration::from_secs(5)).await.unwrap();
/// assert_eq!(event.payload::<u32>(), Some(&42));
/// assert!(recorder.wait_for_count(2, Duration::from_secs(1)).await.is_err());
/// # }
/// ```
pub struct EventRecorder {
    events: Arc<Mutex<Vec<Event>>>,
    arrived: Arc<Notify>,
    _subscription: Subscription,
}

impl EventRecorder {
    /// Starts recording the events on `bus` that match `pattern`.
    pub fn new(bus: &EventBus, pattern: &str) -> Result<Self, BusError> {
        let events: Arc<Mutex<Vec<Event>>> = Arc::default();
        let arrived = Arc::new(Notify::new());
        let (sink, signal) = (Arc::clone(&events), Arc::clone(&arrived));
        let subscription = bus.subscribe(pattern, move |event: &Event| {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(event.clone());
            signal.notify_waiters();
        })?;
        Ok(Self {
            events,
            arrived,
            _subscription: subscription,
        })
    }

    /// Every event recorded so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.lock().clone()
    }

    /// The topics of the events recorded so far, in order.
    pub fn topics(&self) -> Vec<String> {
        self.lock()
            .iter()
            .map(|event| event.topic().to_owned())
            .collect()
    }

    /// Waits until at least `count` events have been recorded, then returns the first
    /// `count`; fails after `within`.
    pub async fn wait_for_count(
        &self,
        count: usize,
        within: Duration,
    ) -> Result<Vec<Event>, TimeoutError> {
        let operation = format!("waiting for {count} events");
        self.wait(operation, within, |events| {
            (events.len() >= count).then(|| events[..count].to_vec())
        })
        .await
    }

    /// Waits for the first recorded event (already recorded or still to come) for which
    /// `matches` is true; fails after `within`.
    pub async fn wait_for(
        &self,
        matches: impl Fn(&Event) -> bool,
        within: Duration,
    ) -> Result<Event, TimeoutError> {
        self.wait("waiting for a matching event", within, |events| {
            events.iter().find(|event| matches(event)).cloned()
        })
        .await
    }

    async fn wait<T>(
        &self,
        operation: impl Into<std::borrow::Cow<'static, str>>,
        within: Duration,
        done: impl Fn(&[Event]) -> Option<T>,
    ) -> Result<T, TimeoutError> {
        timeout(operation, within, async {
            loop {
                // Register for the next arrival before looking, so none is missed.
                let arrived = self.arrived.notified();
                if let Some(found) = done(&self.lock()) {
                    return found;
                }
                arrived.await;
            }
        })
        .await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Event>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for EventRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let recorded = self.events.lock().map_or(0, |events| events.len());
        f.debug_struct("EventRecorder")
            .field("recorded", &recorded)
            .finish_non_exhaustive()
    }
}
