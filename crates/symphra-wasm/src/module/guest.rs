//! The exports of a component, whichever version of the WIT package it was built against:
//! one type to prepare them at load ([`Pre`]) and one to call them ([`Exports`]).
//!
//! 0.1 and 0.2 differ in `on-event` (0.2 passes a record with the event's source) and in
//! the optional `health` export of 0.2. Everything else is the same call on either.

use std::path::Path;

use symphra::Hook;
use symphra::health::Health;
use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::store::State;
use super::wit::WitLevel;
use crate::bindings::{Module as V1, ModulePre as V1Pre};
use crate::bindings_v2::exports::symphra::module::guest as v2_guest;
use crate::bindings_v2::exports::symphra::module::health as v2_health;
use crate::error::LoadError;

/// A component's exports, looked up once at load.
pub(crate) enum Pre {
    /// Built against 0.1.
    V1(V1Pre<State>),
    /// Built against 0.2, with `health` when it exports it.
    V2 {
        pre: InstancePre<State>,
        guest: v2_guest::GuestIndices,
        health: Option<v2_health::GuestIndices>,
    },
}

/// The exports of a live instance.
pub(crate) enum Exports {
    /// Built against 0.1.
    V1(V1),
    /// Built against 0.2.
    V2 {
        guest: v2_guest::Guest,
        health: Option<v2_health::Guest>,
    },
}

/// An event as the guest receives it.
pub(crate) struct EventView<'a> {
    pub(crate) topic: &'a str,
    pub(crate) payload: &'a str,
    /// The module that published it, if one did (0.1 guests are not told).
    pub(crate) source: Option<&'a str>,
}

impl Pre {
    /// Looks up the exports of `level` in the component; `path` names it in errors.
    pub(crate) fn new(
        path: &Path,
        level: WitLevel,
        pre: InstancePre<State>,
    ) -> Result<Self, LoadError> {
        let world = |e: wasmtime::Error| LoadError::World {
            path: path.to_owned(),
            reason: format!("{e:#}"),
        };
        match level {
            WitLevel::V0_1 => V1Pre::new(pre).map(Self::V1).map_err(world),
            WitLevel::V0_2 => {
                let guest = v2_guest::GuestIndices::new(&pre).map_err(world)?;
                // Optional: a component without it simply has no health check.
                let health = pre
                    .component()
                    .get_export_index(None, "symphra:module/health@0.2.0")
                    .map(|_| v2_health::GuestIndices::new(&pre))
                    .transpose()
                    .map_err(world)?;
                Ok(Self::V2 { pre, guest, health })
            }
        }
    }

    /// Whether the component exports `health`.
    pub(crate) fn has_health(&self) -> bool {
        matches!(
            self,
            Self::V2 {
                health: Some(_),
                ..
            }
        )
    }

    /// Instantiates the component in `store` and loads its exports.
    pub(crate) async fn instantiate(&self, store: &mut Store<State>) -> wasmtime::Result<Exports> {
        match self {
            Self::V1(pre) => pre.instantiate_async(store).await.map(Exports::V1),
            Self::V2 { pre, guest, health } => {
                let instance = pre.instantiate_async(&mut *store).await?;
                let guest = guest.load(&mut *store, &instance)?;
                let health = match health {
                    Some(indices) => Some(indices.load(&mut *store, &instance)?),
                    None => None,
                };
                Ok(Exports::V2 { guest, health })
            }
        }
    }
}

impl Exports {
    /// Calls the export of `hook` (`config` is the argument of `install`).
    pub(crate) async fn invoke(
        &self,
        store: &mut Store<State>,
        hook: Hook,
        config: &str,
    ) -> wasmtime::Result<Result<(), String>> {
        match self {
            Self::V1(bindings) => {
                let guest = bindings.symphra_module_guest();
                match hook {
                    Hook::Bootstrap => guest.call_bootstrap(store).await,
                    Hook::Install => guest.call_install(store, config).await,
                    Hook::Start => guest.call_start(store).await,
                    Hook::Stop => guest.call_stop(store).await,
                    Hook::Uninstall => guest.call_uninstall(store).await,
                    Hook::Reload => guest.call_reload(store).await,
                }
            }
            Self::V2 { guest, .. } => match hook {
                Hook::Bootstrap => guest.call_bootstrap(store).await,
                Hook::Install => guest.call_install(store, config).await,
                Hook::Start => guest.call_start(store).await,
                Hook::Stop => guest.call_stop(store).await,
                Hook::Uninstall => guest.call_uninstall(store).await,
                Hook::Reload => guest.call_reload(store).await,
            },
        }
    }

    /// Calls `on-event`.
    pub(crate) async fn on_event(
        &self,
        store: &mut Store<State>,
        event: EventView<'_>,
    ) -> wasmtime::Result<Result<(), String>> {
        match self {
            Self::V1(bindings) => {
                bindings
                    .symphra_module_guest()
                    .call_on_event(store, event.topic, event.payload)
                    .await
            }
            Self::V2 { guest, .. } => {
                let record = v2_guest::Event {
                    topic: event.topic.to_owned(),
                    payload: event.payload.to_owned(),
                    source: event.source.map(str::to_owned),
                };
                guest.call_on_event(store, &record).await
            }
        }
    }

    /// Calls `health.check`; `None` when the component does not export it.
    pub(crate) async fn check_health(
        &self,
        store: &mut Store<State>,
    ) -> Option<wasmtime::Result<Health>> {
        let Self::V2 {
            health: Some(health),
            ..
        } = self
        else {
            return None;
        };
        Some(health.call_check(store).await.map(|status| match status {
            v2_health::Status::Healthy => Health::Healthy,
            v2_health::Status::Degraded(reason) => Health::degraded(reason),
            v2_health::Status::Unhealthy(reason) => Health::unhealthy(reason),
        }))
    }
}
