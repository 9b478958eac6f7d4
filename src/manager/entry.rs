//! One registered module as the manager holds it: the module, its metadata, its state.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::config::Config;
use crate::lifecycle::{ModuleState, StateCell};
use crate::module::{ModuleMetadata, ModuleObject};
use crate::state::Availability;

/// A registered module. Shared between graph versions, handles and running hooks.
pub(crate) struct Entry {
    pub(crate) name: Arc<str>,
    pub(crate) metadata: ModuleMetadata,
    pub(crate) object: ModuleObject,
    state: Mutex<StateCell>,
    /// The configuration the application gave for this module, if any.
    configured: Mutex<Option<Value>>,
    /// The configuration `install` last received.
    installed: Mutex<Config>,
    /// Whether the module subscribed to the bus since it last stopped.
    pub(crate) subscribed: AtomicBool,
    /// The operator's [`Availability`], as its index.
    availability: AtomicU8,
    /// Whether an operator stopped the module (it then stays down in `start_all`).
    pub(crate) held_stopped: AtomicBool,
}

impl Entry {
    pub(crate) fn new(metadata: ModuleMetadata, object: ModuleObject) -> Self {
        Self {
            name: Arc::from(metadata.name()),
            metadata,
            object,
            state: Mutex::new(StateCell::new()),
            configured: Mutex::new(None),
            installed: Mutex::new(Config::default()),
            subscribed: AtomicBool::new(false),
            availability: AtomicU8::new(0),
            held_stopped: AtomicBool::new(false),
        }
    }

    /// Locks the state. Never held across an `.await`; a poisoned lock is taken over, as
    /// every update leaves the cell consistent.
    pub(crate) fn state(&self) -> MutexGuard<'_, StateCell> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn current_state(&self) -> ModuleState {
        self.state().state
    }

    pub(crate) fn availability(&self) -> Availability {
        match self.availability.load(Ordering::Acquire) {
            1 => Availability::Disabled,
            2 => Availability::Ignored,
            _ => Availability::Enabled,
        }
    }

    pub(crate) fn set_availability(&self, availability: Availability) {
        let index = match availability {
            Availability::Enabled => 0,
            Availability::Disabled => 1,
            Availability::Ignored => 2,
        };
        self.availability.store(index, Ordering::Release);
    }

    /// Whether the application gave this module a configuration.
    pub(crate) fn is_configured(&self) -> bool {
        self.configured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Replaces the configuration the application gives this module.
    pub(crate) fn set_configured(&self, config: Value) {
        *self.configured.lock().unwrap_or_else(|p| p.into_inner()) = Some(config);
    }

    /// The configuration to install: the application's, laid over the module's default
    /// (top-level keys of the application's win), or the empty configuration.
    pub(crate) fn config_to_install(&self) -> Config {
        let configured = self
            .configured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match (self.metadata.default_config_value(), configured) {
            (Some(Value::Object(defaults)), Some(Value::Object(overrides))) => {
                let mut merged = defaults.clone();
                merged.extend(overrides);
                Config::new(Value::Object(merged))
            }
            (_, Some(configured)) => Config::new(configured),
            (Some(default), None) => Config::new(default.clone()),
            (None, None) => Config::default(),
        }
    }

    /// The tag of the bus subscriptions the module makes through its context.
    pub(crate) fn subscription_tag(&self) -> String {
        format!("module:{}", self.name)
    }

    pub(crate) fn installed_config(&self) -> Config {
        self.installed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_installed_config(&self, config: Config) {
        *self.installed.lock().unwrap_or_else(|p| p.into_inner()) = config;
    }
}
