//! Fleet-wide desired state: the operator's decisions about each module, one key per
//! module in the desired-state bucket, written with compare-and-swap.

use async_nats::jetstream::kv::{self, CreateErrorKind, UpdateErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::quoted;
use crate::{FleetError, buckets};

/// Whether a module may run, fleet-wide.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    /// It may run (the default).
    #[default]
    Enabled,
    /// It is stopped and kept from starting on every replica.
    Disabled,
}

/// Whether a module should run, fleet-wide, when it is enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Run {
    /// Started on every replica (a singleton: on the lease holder).
    Started,
    /// Stopped on every replica, as by an operator's stop: held down until started.
    Stopped,
}

/// The operator's decisions about one module, for the whole fleet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Desired {
    /// Enabled or disabled.
    #[serde(default)]
    pub availability: Availability,
    /// Started or stopped; `None`: as each replica's own state has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    /// A configuration that replaces the module's own on every replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
}

/// A change of a module's decisions, as `symphra fleet` makes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Let it run.
    Enable,
    /// Stop it and keep it from starting.
    Disable,
    /// Start it.
    Start,
    /// Stop it and hold it down.
    Stop,
    /// Replace its configuration.
    Config(Value),
}

impl Desired {
    /// These decisions with `decision` applied.
    pub fn with(mut self, decision: Decision) -> Self {
        match decision {
            Decision::Enable => self.availability = Availability::Enabled,
            Decision::Disable => self.availability = Availability::Disabled,
            Decision::Start => self.run = Some(Run::Started),
            Decision::Stop => self.run = Some(Run::Stopped),
            Decision::Config(config) => self.config = Some(config),
        }
        self
    }

    /// Reads a value of the desired-state bucket.
    pub(crate) fn decode(key: &str, value: &[u8]) -> Result<Self, FleetError> {
        serde_json::from_slice(value).map_err(|error| FleetError::Malformed {
            bucket: buckets::DESIRED,
            key: quoted(key),
            reason: error.to_string(),
        })
    }
}

/// How many times a decision is retried when another write comes between its read and
/// its write.
const CAS_ATTEMPTS: u32 = 5;

/// Applies `decision` to the decisions about `module`: reads them, changes them, and
/// writes them back only if nobody wrote in between (compare-and-swap on the revision),
/// retrying a few times. Returns the decisions written and their revision.
pub async fn decide(
    store: &kv::Store,
    module: &str,
    decision: Decision,
) -> Result<(Desired, u64), FleetError> {
    symphra::module::validate_name(module)?;
    let failed = |action, source: async_nats::Error| FleetError::Key {
        action,
        bucket: buckets::DESIRED,
        key: quoted(module),
        source,
    };
    for _ in 0..CAS_ATTEMPTS {
        let current = store
            .entry(module)
            .await
            .map_err(|error| failed("read", error.into()))?;
        let (desired, revision) = match &current {
            Some(entry) if entry.operation == kv::Operation::Put => {
                (Desired::decode(module, &entry.value)?, Some(entry.revision))
            }
            // Deleted or never written: the defaults, written over the delete marker.
            Some(entry) => (Desired::default(), Some(entry.revision)),
            None => (Desired::default(), None),
        };
        let desired = desired.with(decision.clone());
        let value = serde_json::to_vec(&desired).map_err(|error| FleetError::Malformed {
            bucket: buckets::DESIRED,
            key: quoted(module),
            reason: error.to_string(),
        })?;
        let written = match revision {
            Some(revision) => store
                .update(module, value.into(), revision)
                .await
                .map_err(|error| {
                    (
                        error.kind() == UpdateErrorKind::WrongLastRevision,
                        error.into(),
                    )
                }),
            None => store
                .create(module, value.into())
                .await
                .map_err(|error| (error.kind() == CreateErrorKind::AlreadyExists, error.into())),
        };
        match written {
            Ok(revision) => return Ok((desired, revision)),
            Err((true, _)) => continue,
            Err((false, source)) => return Err(failed("write", source)),
        }
    }
    Err(FleetError::Conflict {
        bucket: buckets::DESIRED,
        key: quoted(module),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_combine_and_round_trip() {
        let desired = Desired::default()
            .with(Decision::Disable)
            .with(Decision::Stop)
            .with(Decision::Config(serde_json::json!({ "rate": 2 })));
        assert_eq!(desired.availability, Availability::Disabled);
        assert_eq!(desired.run, Some(Run::Stopped));
        let bytes = serde_json::to_vec(&desired).unwrap();
        assert_eq!(Desired::decode("x", &bytes).unwrap(), desired);
        assert_eq!(
            Desired::decode("x", br#"{}"#).unwrap(),
            Desired::default(),
            "an empty object is the defaults"
        );
        let error = Desired::decode("x", br#"{"availability":"gone"}"#).unwrap_err();
        assert!(error.to_string().contains("rewrite it"), "{error}");
    }
}
