//! Events: a topic, a payload and metadata.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::error::BusError;
use super::event_id::EventId;
use super::topic::validate_topic;

/// The erased payload, stored once per event and shared by every handler.
pub(crate) type Payload = Arc<dyn Any + Send + Sync>;
/// Turns an erased payload into JSON; set for payloads built from a `Serialize` type.
type ToJson = fn(&(dyn Any + Send + Sync)) -> Option<Result<Value, serde_json::Error>>;

/// Something that happened, published on a topic.
///
/// Cloning is cheap (reference counts): the payload is stored once, in an `Arc`, and every
/// handler reads the same value with [`payload`](Self::payload), without serialization.
/// Events built with [`Event::json`] or [`Event::serializable`] also have a JSON form
/// ([`to_json`](Self::to_json)) for whatever crosses a process or sandbox boundary.
///
/// ```
/// use symphra::bus::Event;
///
/// let event = Event::new("user.created", 42_u32)?.with_source("accounts");
/// assert_eq!(event.topic(), "user.created");
/// assert_eq!(event.payload::<u32>(), Some(&42));
/// assert_eq!(event.payload::<String>(), None);
/// assert_eq!(event.source(), Some("accounts"));
/// # Ok::<(), symphra::bus::BusError>(())
/// ```
#[derive(Clone)]
pub struct Event {
    topic: Text,
    payload: Payload,
    type_name: &'static str,
    to_json: Option<ToJson>,
    source: Option<Arc<str>>,
    origin: Option<Text>,
    id: EventId,
    time: SystemTime,
}

/// An event's topic or origin: shared (a topic with the route cache, an origin among a
/// bridge's events), or a constant (a topic of a [`TopicSet`](super::TopicSet), a bridge's
/// default origin), which is copied and dropped without a reference count.
#[derive(Clone)]
enum Text {
    Shared(Arc<str>),
    Constant(&'static str),
}

impl Text {
    #[inline]
    fn as_str(&self) -> &str {
        match self {
            Self::Shared(text) => text,
            Self::Constant(text) => text,
        }
    }
}

fn json_of<T: Serialize + 'static>(
    any: &(dyn Any + Send + Sync),
) -> Option<Result<Value, serde_json::Error>> {
    any.downcast_ref::<T>().map(serde_json::to_value)
}

impl Event {
    /// An event with an in-process payload of any type.
    ///
    /// # Errors
    /// [`BusError::InvalidTopic`] if `topic` is empty, has an empty token, whitespace or a
    /// wildcard.
    pub fn new<T: Send + Sync + 'static>(topic: &str, payload: T) -> Result<Self, BusError> {
        validate_topic(topic)?;
        Ok(Self::unchecked(topic.into(), payload))
    }

    /// An event whose payload is JSON, e.g. for or from a WebAssembly module.
    ///
    /// # Errors
    /// [`BusError::InvalidTopic`] as for [`Event::new`].
    pub fn json(topic: &str, payload: Value) -> Result<Self, BusError> {
        Self::new(topic, payload)
    }

    /// A new event with a JSON payload on the same topic as this one, which is neither
    /// checked again nor copied: its own id, the time now, no source or origin. For a stream
    /// of events on one topic, such as the messages a bridge receives on one subject.
    ///
    /// ```
    /// use symphra::bus::Event;
    /// use serde_json::json;
    ///
    /// let first = Event::json("order.paid", json!(1))?.with_source("shop");
    /// let second = first.json_on_same_topic(json!(2));
    /// assert_eq!(second.topic(), "order.paid");
    /// assert_eq!(second.json_value(), Some(&json!(2)));
    /// assert_eq!(second.source(), None);
    /// assert!(second.id() > first.id());
    /// # Ok::<(), symphra::bus::BusError>(())
    /// ```
    #[must_use]
    pub fn json_on_same_topic(&self, payload: Value) -> Self {
        self.json_on_same_topic_at(payload, SystemTime::now())
    }

    /// [`json_on_same_topic`](Self::json_on_same_topic) with a creation time given rather
    /// than read: for events that arrived together, such as the messages a bridge took from
    /// its client at once, stamped with one clock read.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use symphra::bus::Event;
    /// use serde_json::json;
    ///
    /// let first = Event::json("order.paid", json!(1))?;
    /// let arrived = SystemTime::now();
    /// let [a, b] = [2, 3].map(|n| first.json_on_same_topic_at(json!(n), arrived));
    /// assert_eq!((a.time(), b.time()), (arrived, arrived));
    /// assert!(b.id() > a.id());
    /// # Ok::<(), symphra::bus::BusError>(())
    /// ```
    #[must_use]
    pub fn json_on_same_topic_at(&self, payload: Value, time: SystemTime) -> Self {
        Self {
            topic: self.topic.clone(),
            payload: Arc::new(payload),
            type_name: std::any::type_name::<Value>(),
            to_json: None,
            source: None,
            origin: None,
            id: EventId::next(),
            time,
        }
    }

    /// An event with a typed payload that also has a JSON form (through `serde`).
    ///
    /// Handlers in the process read it as `&T` with no serialization; it is serialized only
    /// when [`to_json`](Self::to_json) is called.
    ///
    /// # Errors
    /// [`BusError::InvalidTopic`] as for [`Event::new`].
    pub fn serializable<T>(topic: &str, payload: T) -> Result<Self, BusError>
    where
        T: Serialize + Send + Sync + 'static,
    {
        Ok(Self::new(topic, payload)?.serializable_as::<T>())
    }

    /// Builds an event for a topic that is already known to be valid.
    pub(crate) fn unchecked<T: Send + Sync + 'static>(topic: Arc<str>, payload: T) -> Self {
        Self::unchecked_at(topic, payload, SystemTime::now())
    }

    /// [`unchecked`](Self::unchecked) created at `time`, without reading the clock.
    #[inline]
    pub(crate) fn unchecked_at<T: Send + Sync + 'static>(
        topic: Arc<str>,
        payload: T,
        time: SystemTime,
    ) -> Self {
        Self {
            topic: Text::Shared(topic),
            payload: Arc::new(payload),
            type_name: std::any::type_name::<T>(),
            to_json: None,
            source: None,
            origin: None,
            id: EventId::next(),
            time,
        }
    }

    /// An event with a JSON form on a topic known to be valid, with a payload already
    /// shared, and an id taken with [`EventId::reserve`]: no allocation.
    pub(crate) fn shared_serializable<T>(
        topic: &'static str,
        payload: Arc<T>,
        source: Arc<str>,
        id: EventId,
        time: SystemTime,
    ) -> Self
    where
        T: Serialize + Send + Sync + 'static,
    {
        Self {
            topic: Text::Constant(topic),
            payload,
            type_name: std::any::type_name::<T>(),
            to_json: Some(json_of::<T>),
            source: Some(source),
            origin: None,
            id,
            time,
        }
    }

    /// Makes this event the next one of the same change: another topic (known to be
    /// valid) and id, the same payload, source and time. Copies taken by handlers keep
    /// what they saw.
    pub(crate) fn retarget(&mut self, topic: &'static str, id: EventId) {
        self.topic = Text::Constant(topic);
        self.id = id;
    }

    /// Makes this event, built by [`shared_serializable`](Self::shared_serializable), a new
    /// one: another topic, id and time. The caller sets its payload
    /// ([`payload_mut`](Self::payload_mut)) and source ([`set_source`](Self::set_source)).
    pub(crate) fn reuse(&mut self, topic: &'static str, id: EventId, time: SystemTime) {
        self.retarget(topic, id);
        self.time = time;
    }

    /// Sets the source, taking no reference count when it is the same already.
    pub(crate) fn set_source(&mut self, source: &Arc<str>) {
        match &self.source {
            Some(same) if Arc::ptr_eq(same, source) => {}
            _ => self.source = Some(Arc::clone(source)),
        }
    }

    /// The payload to change in place, if it is a `T` that no copy of this event shares.
    pub(crate) fn payload_mut<T: 'static>(&mut self) -> Option<&mut T> {
        Arc::get_mut(&mut self.payload)?.downcast_mut::<T>()
    }

    /// Gives the payload, a `T`, its JSON form.
    pub(crate) fn serializable_as<T: Serialize + 'static>(mut self) -> Self {
        self.to_json = Some(json_of::<T>);
        self
    }

    /// Sets the source, usually the name of the module that publishes the event.
    #[must_use]
    #[inline]
    pub fn with_source(mut self, source: impl Into<Arc<str>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets the creation time, e.g. to keep the time of an event received from another
    /// process.
    #[must_use]
    #[inline]
    pub fn with_time(mut self, time: SystemTime) -> Self {
        self.time = time;
        self
    }

    /// Marks the event as coming from outside this process, e.g. received by a bridge to
    /// another process; `origin` names where it came from. Bridges do not send such events
    /// out again, so that an event never loops between processes.
    #[must_use]
    #[inline]
    pub fn with_origin(mut self, origin: impl Into<Arc<str>>) -> Self {
        self.origin = Some(Text::Shared(origin.into()));
        self
    }

    /// [`with_origin`](Self::with_origin) for an origin known at compile time, such as a
    /// bridge's name for senders that do not say who they are: the event then copies and
    /// drops it without a reference count.
    ///
    /// ```
    /// use symphra::bus::Event;
    ///
    /// let event = Event::new("order.paid", ())?.with_constant_origin("nats");
    /// assert_eq!(event.origin(), Some("nats"));
    /// # Ok::<(), symphra::bus::BusError>(())
    /// ```
    #[must_use]
    #[inline]
    pub fn with_constant_origin(mut self, origin: &'static str) -> Self {
        self.origin = Some(Text::Constant(origin));
        self
    }

    /// Where the event came from if it was received from outside this process (see
    /// [`with_origin`](Self::with_origin)); `None` for events published in this process.
    #[inline]
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_ref().map(Text::as_str)
    }

    /// The topic, e.g. `user.created`.
    #[inline]
    pub fn topic(&self) -> &str {
        self.topic.as_str()
    }

    /// The topic as shared text: a reference count, or for a constant topic an allocation.
    pub(crate) fn topic_arc(&self) -> Arc<str> {
        match &self.topic {
            Text::Shared(topic) => Arc::clone(topic),
            Text::Constant(topic) => Arc::from(*topic),
        }
    }

    /// The payload, if it is a `T`.
    pub fn payload<T: 'static>(&self) -> Option<&T> {
        self.payload.downcast_ref::<T>()
    }

    /// The name of the payload's type, for diagnostics.
    pub fn payload_type_name(&self) -> &'static str {
        self.type_name
    }

    /// The payload if it is JSON (built with [`Event::json`] or as a `serde_json::Value`).
    #[inline]
    pub fn json_value(&self) -> Option<&Value> {
        self.payload::<Value>()
    }

    /// Whether the payload has a JSON form.
    pub fn has_json(&self) -> bool {
        self.to_json.is_some() || self.json_value().is_some()
    }

    /// The payload's JSON form.
    ///
    /// # Errors
    /// [`BusError::NotJson`] if the payload is an in-process value with no JSON form;
    /// [`BusError::Json`] if serializing it failed.
    pub fn to_json(&self) -> Result<Value, BusError> {
        if let Some(value) = self.json_value() {
            return Ok(value.clone());
        }
        match self.to_json.and_then(|f| f(&*self.payload)) {
            Some(Ok(value)) => Ok(value),
            Some(Err(source)) => Err(BusError::Json {
                topic: self.topic().to_owned(),
                target: "serde_json::Value",
                source,
            }),
            None => Err(BusError::NotJson {
                topic: self.topic().to_owned(),
            }),
        }
    }

    /// Reads a JSON payload (or any payload with a JSON form) as a typed value.
    ///
    /// # Errors
    /// [`BusError::NotJson`] if the payload has no JSON form; [`BusError::Json`] if it does
    /// not have the shape of `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, BusError> {
        let error = |source| BusError::Json {
            topic: self.topic().to_owned(),
            target: std::any::type_name::<T>(),
            source,
        };
        match self.json_value() {
            Some(value) => T::deserialize(value).map_err(error),
            None => serde_json::from_value(self.to_json()?).map_err(error),
        }
    }

    /// The module or component that published the event, if it said.
    #[inline]
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The event's id.
    #[inline]
    pub fn id(&self) -> EventId {
        self.id
    }

    /// When the event was created.
    #[inline]
    pub fn time(&self) -> SystemTime {
        self.time
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("id", &self.id)
            .field("topic", &self.topic())
            .field("payload", &self.type_name)
            .field("source", &self.source)
            .field("origin", &self.origin())
            .field("time", &self.time)
            .finish()
    }
}

/// The export form: `{id, topic, source, time_ms, payload}` with `payload` null when the
/// payload has no JSON form.
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let time_ms = self
            .time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut s = serializer.serialize_struct("Event", 5)?;
        s.serialize_field("id", &self.id)?;
        s.serialize_field("topic", self.topic())?;
        s.serialize_field("source", &self.source.as_deref())?;
        s.serialize_field("time_ms", &time_ms)?;
        s.serialize_field("payload", &self.to_json().ok())?;
        s.end()
    }
}

#[cfg(test)]
mod tests;
