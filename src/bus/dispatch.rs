//! Delivering one event along its route: the delivery loop and failure notices (the clock
//! of the delivery report is in `timing`).
//!
//! The loop is written once, in [`Delivery::advance`]. It runs sync handlers in place and
//! stops at the first subscriber that needs awaiting (a queue, an async handler, or what a
//! deferring handler left to await), which
//! [`BusInner::dispatch`] awaits and hands back. So admission, the `once` guard and the
//! report's counting exist once, and a route of sync handlers is delivered without an await,
//! a boxed future, or an allocation beyond the report's failures. The exception is
//! [`BusInner::publish_inline`], the lifecycle's on-the-spot delivery, which keeps no report
//! and so has a loop of its own over the same steps (`admit`, `Handler::call_sync`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::future::BoxFuture;

use super::cache::Route;
use super::event::Event;
use super::event_bus::BusInner;
use super::handler::{Handler, Started};
use super::queue::{Pushed, SubscriberQueue};
use super::report::{DeliveryReport, HandlerError, HandlerFailure};
use super::subscription::SubEntry;
use super::timing::Start;
use crate::lifecycle::BoxError;
use crate::util::panic_message;

/// The topic on which handler failures are published, once each.
pub const HANDLER_FAILED: &str = "bus.handler_failed";

/// Events published on the spot and their deliveries, not yet added to the bus's counters
/// ([`BusStats::published`](super::BusStats), `delivered`): the events of one lifecycle
/// change are counted together, one atomic add per counter instead of one per event.
#[derive(Default)]
#[must_use = "count it, or the bus's counters miss these events"]
pub(crate) struct Tally {
    published: u64,
    delivered: u64,
}

impl Tally {
    /// Adds what was tallied to the counters of `bus`.
    #[inline]
    pub(crate) fn count(self, bus: &super::EventBus) {
        if self.published > 0 {
            let inner = &bus.inner;
            inner.published.fetch_add(self.published, Ordering::Relaxed);
            inner.delivered.fetch_add(self.delivered, Ordering::Relaxed);
        }
    }
}

/// Whether a subscriber takes this event.
enum Admit {
    Yes,
    No,
    ConditionFalse,
    ConditionPanicked(String),
}

/// A subscriber whose step has to be awaited.
enum Wait<'a> {
    /// The event goes into its queue.
    Queue(&'a Arc<SubEntry>, &'a SubscriberQueue),
    /// Its async handler runs (or, for an emitted event, its deferring handler).
    Handler(&'a Arc<SubEntry>),
    /// Its deferring handler, run in place, left a future to await: the delivery's
    /// [`deferred`](Delivery::deferred). Not held here, so that `Wait` stays plain
    /// references: with something to drop in it, every publish moved its delivery once
    /// more (22 instructions).
    Deferred(&'a Arc<SubEntry>),
}

/// One event on its way along a route.
struct Delivery<'a> {
    bus: &'a BusInner,
    event: &'a Event,
    subs: std::slice::Iter<'a, Arc<SubEntry>>,
    report: DeliveryReport,
    /// What the deferring handler of the last [`Wait::Deferred`] left to await (boxed once
    /// more, rare, so that it widens the delivery by a pointer only).
    deferred: Option<Box<BoxFuture<'static, Result<(), BoxError>>>>,
}

impl<'a> Delivery<'a> {
    fn new(bus: &'a BusInner, event: &'a Event, route: &'a Route) -> Self {
        Self {
            bus,
            event,
            subs: route.subs.iter(),
            report: DeliveryReport::empty(Some(event.id())),
            deferred: None,
        }
    }

    /// Delivers to the next subscribers in order, sync handlers in place, up to the first
    /// one whose step has to be awaited; `None` when the route is done. The caller awaits
    /// the step and hands its outcome to [`queued`](Self::queued) or
    /// [`handled`](Self::handled) before advancing again.
    ///
    /// `INLINE_SYNC` says the route holds only sync handlers without a queue (see
    /// `Route::inline_sync`): the same loop, compiled without the checks for the others,
    /// which measurably slowed routes of many sync handlers. `EMITTED` says the event was
    /// emitted: deferring handlers then get it through their emit lanes, as async handlers
    /// do, rather than in place.
    ///
    /// Never inlined: inlined into `publish`, the loop ran a route of 100 sync handlers 6%
    /// slower (registers shared with the rest of the publish), and made its future larger.
    #[inline(never)]
    fn advance<const INLINE_SYNC: bool, const EMITTED: bool>(&mut self) -> Option<Wait<'a>> {
        while let Some(entry) = self.subs.next() {
            match admit(entry, self.event) {
                Admit::Yes => self.report.matched += 1,
                Admit::No => continue,
                Admit::ConditionFalse => {
                    self.report.skipped += 1;
                    continue;
                }
                Admit::ConditionPanicked(message) => {
                    let failure =
                        self.bus
                            .failure(entry, self.event, HandlerError::Panicked(message));
                    self.report.failures.push(failure);
                    continue;
                }
            }
            if !INLINE_SYNC && let Some(queue) = &entry.queue {
                return Some(Wait::Queue(entry, queue));
            }
            match &entry.handler {
                Handler::Sync(f) => {
                    let result = Handler::call_sync(f, self.event);
                    self.handled(entry, result);
                }
                // In place, as a sync handler, unless it leaves a future to await.
                Handler::Deferring(f) if !INLINE_SYNC && !EMITTED => {
                    match Handler::start_deferring(f, self.event) {
                        Started::Done(result) => self.handled(entry, result),
                        Started::Wait(future) => {
                            self.deferred = Some(Box::new(future));
                            return Some(Wait::Deferred(entry));
                        }
                    }
                }
                Handler::Async(_) | Handler::Deferring(_) => return Some(Wait::Handler(entry)),
            }
        }
        None
    }

    /// Awaits what the last deferring handler left (see [`Wait::Deferred`]).
    async fn await_deferred(&mut self) -> Result<(), HandlerError> {
        match self.deferred.take() {
            Some(future) => Handler::awaited(*future).await,
            // `advance` sets it with every `Wait::Deferred`.
            None => Ok(()),
        }
    }

    /// Counts what a subscriber's queue did with the event.
    fn queued(&mut self, entry: &Arc<SubEntry>, pushed: Pushed) {
        let report = &mut self.report;
        if matches!(pushed, Pushed::ReplacedOldest | Pushed::DroppedNewest) {
            self.bus.queue_dropped.fetch_add(1, Ordering::Relaxed);
        }
        match pushed {
            Pushed::Queued => report.queued += 1,
            Pushed::ReplacedOldest => {
                report.queued += 1;
                report.dropped += 1;
            }
            Pushed::DroppedNewest => report.dropped += 1,
            Pushed::Closed => report.matched -= 1,
        }
        self.used(entry);
    }

    /// Counts what a handler on the publisher's task returned. Inlined: it runs once per
    /// handler, and as a call it cost a route of 100 sync handlers half as much again.
    #[inline(always)]
    fn handled(&mut self, entry: &Arc<SubEntry>, result: Result<(), HandlerError>) {
        self.used(entry);
        match result {
            Ok(()) => self.report.succeeded += 1,
            Err(error) => self.failed(entry, error),
        }
    }

    /// Records a handler's failure.
    #[cold]
    #[inline(never)]
    fn failed(&mut self, entry: &Arc<SubEntry>, error: HandlerError) {
        let failure = self.bus.failure(entry, self.event, error);
        self.report.failures.push(failure);
    }

    /// Ends a `once` subscription after its delivery.
    #[inline(always)]
    fn used(&self, entry: &Arc<SubEntry>) {
        if entry.once {
            self.bus.remove(entry);
        }
    }

    /// The report, timed from `start` to now if there is a start (see [`Start`]).
    #[inline(always)]
    fn finish(self, start: Option<Start>) -> DeliveryReport {
        let mut report = self.report;
        if let Some(start) = start {
            report.elapsed = start.elapsed();
        }
        report
    }
}

#[inline]
fn admit(entry: &SubEntry, event: &Event) -> Admit {
    if !entry.is_active() {
        return Admit::No;
    }
    if let Some(condition) = &entry.condition {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| condition(event))) {
            Ok(true) => {}
            Ok(false) => return Admit::ConditionFalse,
            Err(panic) => return Admit::ConditionPanicked(panic_message(panic)),
        }
    }
    // The first publisher to claim a `once` subscription is the only one to deliver.
    if entry.once && entry.fired.swap(true, Ordering::AcqRel) {
        return Admit::No;
    }
    Admit::Yes
}

impl BusInner {
    /// Records `event` in the history, delivers it, and announces the failures. With a
    /// `start`, the report's elapsed time runs from it to the end of the delivery (not of the
    /// announcing).
    pub(super) async fn publish_routed(
        &self,
        event: &Event,
        route: &Route,
        start: Option<Start>,
    ) -> DeliveryReport {
        if let Some(history) = &self.history {
            history.record(event);
        }
        // A route of sync handlers is delivered here, without entering another future.
        // Delivered here rather than through `dispatch`: a route of sync handlers then
        // enters no second future, which measurably slowed every publish.
        let (delivery, first) = self.begin(event, route);
        let report = match first {
            None => delivery.finish(start),
            Some(wait) => self.deliver_rest(delivery, wait, start).await,
        };
        self.count_published(&report);
        if !report.failures.is_empty() {
            self.announce(event, &report.failures).await;
        }
        report
    }

    /// [`publish_routed`](Self::publish_routed) for the bus's emitter: an async handler is
    /// not awaited but handed the event through its emit lane (see `lanes`), so that a
    /// handler that never returns holds up no other subscriber. Queues are pushed to as by
    /// any publisher.
    pub(super) async fn publish_emitted(self: &Arc<Self>, event: &Event, route: &Route) {
        if let Some(history) = &self.history {
            history.record(event);
        }
        let mut delivery = Delivery::new(self, event, route);
        let mut next = delivery.advance::<false, true>();
        while let Some(wait) = next {
            let (entry, pushed) = match wait {
                // Not made for an emitted event (see `Delivery::advance`); awaited if it were.
                Wait::Deferred(entry) => {
                    let result = delivery.await_deferred().await;
                    delivery.handled(entry, result);
                    next = delivery.advance::<false, true>();
                    continue;
                }
                Wait::Queue(entry, queue) => (entry, queue.push(event.clone()).await),
                Wait::Handler(entry) => match self.emit_lane(entry) {
                    Some(lane) => {
                        let pushed = lane.push(event.clone()).await;
                        if matches!(pushed, Pushed::Queued) {
                            self.emit_lane_accepted.fetch_add(1, Ordering::Release);
                        }
                        (entry, pushed)
                    }
                    None => (entry, Pushed::Closed),
                },
            };
            delivery.queued(entry, pushed);
            next = delivery.advance::<false, true>();
        }
        // Nobody reads an emitted event's report: it is not timed.
        let report = delivery.finish(None);
        self.count_published(&report);
        if !report.failures.is_empty() {
            self.announce(event, &report.failures).await;
        }
    }

    /// Delivers `event` along `route` for a caller that reads no report
    /// ([`EventBus::forward`](super::EventBus::forward)): a route of sync handlers on the
    /// spot ([`publish_inline`](Self::publish_inline), which builds no report), any other
    /// the general way, untimed.
    pub(super) async fn forward_routed(&self, event: &Event, route: &Route) {
        if !route.inline_sync {
            self.publish_routed(event, route, None).await;
            return;
        }
        let mut tally = Tally::default();
        let failures = self.publish_inline(event, route, &mut tally);
        self.published.fetch_add(tally.published, Ordering::Relaxed);
        self.delivered.fetch_add(tally.delivered, Ordering::Relaxed);
        if !failures.is_empty() {
            self.announce(event, &failures).await;
        }
    }

    /// Counts a delivery that ended with `report`.
    #[inline(always)]
    fn count_published(&self, report: &DeliveryReport) {
        self.published.fetch_add(1, Ordering::Relaxed);
        self.delivered
            .fetch_add(report.matched as u64, Ordering::Relaxed);
        if report.matched == 0 && report.skipped == 0 && report.failures.is_empty() {
            self.count_unconsumed();
        }
    }

    /// [`publish_routed`](Self::publish_routed) for a route of sync handlers only
    /// (`route.inline_sync`), on the spot: no future, and no clock read, as no report is
    /// kept. Returns the failures of handlers, for the caller to
    /// [`announce`](Self::announce), which may have to await. The event and its deliveries
    /// are added to `tally`, for the caller to [count](Tally::count) with those of the
    /// events published with it.
    ///
    /// The one loop besides [`Delivery::advance`], with the same steps for a sync handler
    /// (`admit`, the call, `once`, the failure) but no report to build and copy: a
    /// lifecycle change delivers two or three events this way, and the report was a fifth
    /// of each delivery. `tests/lifecycle_paths.rs` and `tests/ready_with_start.rs` compare
    /// what it delivers with the general path.
    pub(super) fn publish_inline(
        &self,
        event: &Event,
        route: &Route,
        tally: &mut Tally,
    ) -> Vec<HandlerFailure> {
        debug_assert!(route.inline_sync);
        if let Some(history) = &self.history {
            history.record(event);
        }
        let mut matched = 0;
        let mut skipped = false;
        let mut failures = Vec::new();
        for entry in &route.subs {
            match admit(entry, event) {
                Admit::Yes => matched += 1,
                Admit::No => continue,
                Admit::ConditionFalse => {
                    skipped = true;
                    continue;
                }
                Admit::ConditionPanicked(message) => {
                    failures.push(self.failure(entry, event, HandlerError::Panicked(message)));
                    continue;
                }
            }
            // A route of sync handlers holds nothing else.
            let Handler::Sync(f) = &entry.handler else {
                continue;
            };
            let result = Handler::call_sync(f, event);
            if entry.once {
                self.remove(entry);
            }
            if let Err(error) = result {
                failures.push(self.failure(entry, event, error));
            }
        }
        tally.published += 1;
        tally.delivered += matched;
        if matched == 0 && !skipped && failures.is_empty() {
            self.count_unconsumed();
        }
        failures
    }

    /// Counts a published event that reached no subscriber.
    #[inline]
    pub(super) fn count_unconsumed(&self) {
        self.unconsumed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a published event whose topic no subscription matched.
    #[inline]
    pub(super) fn count_to_nobody(&self) {
        self.published.fetch_add(1, Ordering::Relaxed);
        self.count_unconsumed();
    }

    /// Delivers `event` to the subscribers of `route`, in order. Holds no lock while a
    /// handler runs, so handlers may publish, subscribe and unsubscribe.
    async fn dispatch(&self, event: &Event, route: &Route, start: Option<Start>) -> DeliveryReport {
        let (delivery, first) = self.begin(event, route);
        match first {
            None => delivery.finish(start),
            Some(wait) => self.deliver_rest(delivery, wait, start).await,
        }
    }

    /// Starts delivering `event` along `route`: the sync handlers up to the first subscriber
    /// whose step has to be awaited, if any.
    #[inline(always)]
    fn begin<'a>(&'a self, event: &'a Event, route: &'a Route) -> (Delivery<'a>, Option<Wait<'a>>) {
        let mut delivery = Delivery::new(self, event, route);
        let first = if route.inline_sync {
            delivery.advance::<true, false>()
        } else {
            delivery.advance::<false, false>()
        };
        (delivery, first)
    }

    /// Goes on with a delivery from the first subscriber whose step has to be awaited.
    async fn deliver_rest<'a>(
        &self,
        mut delivery: Delivery<'a>,
        first: Wait<'a>,
        start: Option<Start>,
    ) -> DeliveryReport {
        let mut next = Some(first);
        while let Some(wait) = next {
            match wait {
                Wait::Queue(entry, queue) => {
                    let pushed = queue.push(delivery.event.clone()).await;
                    delivery.queued(entry, pushed);
                }
                Wait::Handler(entry) => {
                    let result = entry.handler.call(delivery.event).await;
                    delivery.handled(entry, result);
                }
                Wait::Deferred(entry) => {
                    let result = delivery.await_deferred().await;
                    delivery.handled(entry, result);
                }
            }
            next = delivery.advance::<false, false>();
        }
        delivery.finish(start)
    }

    /// Counts and logs a failure.
    #[cold]
    pub(super) fn failure(
        &self,
        entry: &SubEntry,
        event: &Event,
        error: HandlerError,
    ) -> HandlerFailure {
        self.handler_failures.fetch_add(1, Ordering::Relaxed);
        let failure = HandlerFailure {
            subscription: entry.id,
            pattern: entry.pattern.as_str().into(),
            topic: event.topic_arc(),
            event_id: event.id(),
            error,
        };
        tracing::warn!(
            subscription = %failure.subscription,
            pattern = %failure.pattern,
            topic = %failure.topic,
            event = %failure.event_id,
            error = %failure.error,
            "event handler failed"
        );
        failure
    }

    /// Publishes each failure once on [`HANDLER_FAILED`]. Failures of those handlers are
    /// counted and logged only, so a failing failure handler cannot loop.
    #[cold]
    ///
    /// Boxed: the notices' deliveries would otherwise be part of every publish's future,
    /// moved on every publish however rarely a handler fails (they made `publish`'s future
    /// about 1.3 KB).
    pub(super) fn announce<'a>(
        &'a self,
        event: &'a Event,
        failures: &'a [HandlerFailure],
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if event.topic() == HANDLER_FAILED {
                return;
            }
            let topic: Arc<str> = HANDLER_FAILED.into();
            for failure in failures {
                let route = self.route_valid(&topic);
                if route.subs.is_empty() && self.history.is_none() {
                    return;
                }
                let mut notice = Event::unchecked(topic.clone(), failure.clone())
                    .serializable_as::<HandlerFailure>();
                if let Some(source) = event.source() {
                    notice = notice.with_source(source);
                }
                if let Some(history) = &self.history {
                    history.record(&notice);
                }
                // `dispatch`, not `publish_routed`: this is where the recursion stops. Its
                // report is dropped, so it is not timed.
                self.dispatch(&notice, &route, None).await;
            }
        })
    }
}
