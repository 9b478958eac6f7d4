//! This thread's last lifecycle events, kept for the next ones: when no handler kept a
//! copy, the next change (or the next `module.ready` of a module without a watch) rewrites
//! the event in place instead of allocating a payload and freeing the last one.

use std::cell::Cell;
use std::sync::Arc;
use std::time::SystemTime;

use crate::bus::{Event, EventId};
use crate::health::HealthEvent;
use crate::lifecycle::{Hook, ModuleState};
use crate::manager::events::ModuleEvent;

thread_local! {
    /// The last lifecycle event this thread delivered, kept for the next change when no
    /// handler kept a copy: its payload is then rewritten in place, an allocation and a
    /// free less per change, and its source kept while the module is the same. Boxed, so
    /// that taking and keeping it moves a pointer, not the 128-byte event: three such
    /// moves were a tenth of a change's cost.
    pub(super) static SPARE_EVENT: Cell<Option<Box<Event>>> = const { Cell::new(None) };

    /// The last `module.ready` event of a module without a watch that this thread
    /// delivered, kept as [`SPARE_EVENT`] is, for the next start.
    pub(super) static SPARE_READY: Cell<Option<Box<Event>>> = const { Cell::new(None) };
}

/// The first event of a change of the module named `name`: this thread's spare event
/// rewritten if nothing else holds its payload, else a new one (in the spare's box, if
/// there is one). Always inlined: as a call, its prologue, epilogue and returned pointer
/// were a fifth of its cost.
#[inline(always)]
pub(super) fn new_event(
    name: &Arc<str>,
    change: Change,
    topic: &'static str,
    id: EventId,
    time: SystemTime,
) -> Box<Event> {
    let spare = SPARE_EVENT.take();
    if let Some(mut spare) = spare {
        if let Some(payload) = spare.payload_mut::<ModuleEvent>() {
            if !Arc::ptr_eq(&payload.module, name) {
                payload.module = Arc::clone(name);
            }
            (payload.from, payload.to, payload.hook) = (change.from, change.to, change.hook);
            payload.error = change.error;
            spare.set_source(name);
            spare.reuse(topic, id, time);
            return spare;
        }
        *spare = fresh_event(name, change, topic, id, time);
        return spare;
    }
    Box::new(fresh_event(name, change, topic, id, time))
}

/// A new event of a change, with a payload of its own.
#[cold]
fn fresh_event(
    name: &Arc<str>,
    change: Change,
    topic: &'static str,
    id: EventId,
    time: SystemTime,
) -> Event {
    let payload = Arc::new(ModuleEvent {
        module: Arc::clone(name),
        from: change.from,
        to: change.to,
        hook: change.hook,
        error: change.error,
    });
    Event::shared_serializable(topic, payload, Arc::clone(name), id, time)
}

/// A change, less its module.
pub(super) struct Change {
    pub(super) from: ModuleState,
    pub(super) to: ModuleState,
    pub(super) hook: Hook,
    pub(super) error: Option<String>,
}

/// The `module.ready` event of a module without a watch that just started (ready, no
/// health): this thread's spare one rewritten if nothing else holds its payload, else a new
/// one.
#[inline]
pub(super) fn ready_event(
    name: &Arc<str>,
    topic: &'static str,
    id: EventId,
    time: SystemTime,
) -> Box<Event> {
    let fresh = || {
        let payload = HealthEvent {
            module: Arc::clone(name),
            ready: true,
            health: None,
        };
        Event::shared_serializable(topic, Arc::new(payload), Arc::clone(name), id, time)
    };
    let Some(mut spare) = SPARE_READY.take() else {
        return Box::new(fresh());
    };
    if let Some(payload) = spare.payload_mut::<HealthEvent>() {
        if !Arc::ptr_eq(&payload.module, name) {
            payload.module = Arc::clone(name);
        }
        payload.ready = true;
        payload.health = None;
        spare.set_source(name);
        spare.reuse(topic, id, time);
    } else {
        *spare = fresh();
    }
    spare
}
