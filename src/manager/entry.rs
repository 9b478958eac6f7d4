//! One registered module as the manager holds it: the module, its metadata, its state.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::config::{Config, ConfigSchema};
use crate::context::Lease;
use crate::lifecycle::{Hook, HookFailure, ModuleState, Operation, Plan, StateCell};
use crate::manager::driver::ModuleObject;
use crate::manager::interface::Interface;
use crate::manager::report::{Outcome, SkipReason};
use crate::manager::signals::{HookTicks, Signals, Watch};
use crate::manager::tasks::{self, TaskSlot};
use crate::module::ModuleMetadata;
use crate::state::Availability;

/// A registered module. Shared between graph versions, handles and running hooks.
///
/// Laid out in declaration order (`repr(C)`): what a start touches — the state word, the
/// flags, the configuration slots and the driver — comes first, within the entry's first
/// two cache lines, and the metadata last. Starting many modules touches each entry once,
/// and each line touched is usually a cache miss.
#[repr(C)]
pub(crate) struct Entry {
    /// The [`StateCell`], packed. Only lifecycle operations write it, and a manager runs
    /// one at a time, so a read followed by a write cannot race with another write. The
    /// one exception, a module failing while it runs, writes under the entry's task lock,
    /// which a start and a stop of a module with tasks take too (see [`tasks`]).
    state: AtomicU16,
    /// The operator's [`Availability`], as its index.
    availability: AtomicU8,
    /// Whether an operator stopped the module (it then stays down in `start_all`).
    pub(crate) held_stopped: AtomicBool,
    /// Whether the module is a singleton under a coordinator: it starts only while it holds
    /// a current lease (see [`Lease`]).
    pub(crate) lease_required: AtomicBool,
    /// Whether the module subscribed to the bus since it last stopped.
    pub(crate) subscribed: AtomicBool,
    /// Whether `tasks` holds anything a start or a stop must see, as the bits
    /// [`tasks::TASKS`] and [`tasks::REASON`]: most modules never spawn a task, and then
    /// this load is all their start and stop pay for it.
    pub(crate) attention: AtomicU8,
    /// Whether the metadata has a configuration schema, and a default configuration: read
    /// here so that installing a module without either does not touch the metadata.
    has_schema: bool,
    has_default: bool,
    pub(crate) name: Arc<str>,
    /// Whether `configured` and `installed` hold anything: most modules are given no
    /// configuration, and installing them then takes no lock.
    has_configured: AtomicBool,
    has_installed: AtomicBool,
    /// The configuration the application gave for this module, if any.
    configured: Mutex<Option<Value>>,
    /// The configuration `install` last received; `None` for the empty one.
    installed: Mutex<Option<Config>>,
    pub(crate) object: ModuleObject,
    /// The last duration of each hook, stored as each hook ends: next to the driver,
    /// whose line a start touches anyway.
    pub(crate) hook_ticks: HookTicks,
    /// The last failure, kept after the module recovers so that handles can still say
    /// what happened last.
    failure: Mutex<Option<HookFailure>>,
    /// The tasks the module spawned, and why supervision last stopped it.
    pub(crate) tasks: TaskSlot,
    pub(crate) metadata: ModuleMetadata,
    /// Counters that change rarely: restarts, blocked polls.
    pub(crate) signals: Signals,
    /// What the module declared about readiness, health and its watchdog; `None` for
    /// most modules (see [`tasks::WATCHED`]).
    pub(crate) watch: Option<Box<Watch>>,
    /// The interfaces the module was registered as providing (`.provides(..)`); empty,
    /// and so unallocated, for most modules.
    pub(crate) interfaces: Vec<Interface>,
    /// Whether `running` holds anything: one load per start and stop.
    has_running: AtomicBool,
    /// What the module's `start` handed the manager ([`Context::set_running`]), until its
    /// stop hook has run.
    ///
    /// [`Context::set_running`]: crate::Context::set_running
    running: Mutex<Option<Arc<dyn Any + Send + Sync>>>,
    /// Whether `skipped` holds a reason: one load per module and operation.
    has_skip: AtomicBool,
    /// Why the last operation that concerned the module skipped it, if it did.
    skipped: Mutex<Option<SkipReason>>,
    /// The lease a coordinator granted the module, if it is a singleton that holds one.
    lease: Mutex<Option<Lease>>,
}

impl Entry {
    pub(crate) fn new(metadata: ModuleMetadata, object: ModuleObject) -> Self {
        let watch = Watch::of(&metadata);
        let attention = if watch.is_some() { tasks::WATCHED } else { 0 };
        Self {
            state: AtomicU16::new(StateCell::new().pack()),
            availability: AtomicU8::new(0),
            held_stopped: AtomicBool::new(false),
            lease_required: AtomicBool::new(false),
            subscribed: AtomicBool::new(false),
            attention: AtomicU8::new(attention),
            has_schema: metadata.get_config_schema().is_some(),
            has_default: metadata.get_default_config().is_some(),
            name: Arc::from(metadata.name()),
            has_configured: AtomicBool::new(false),
            has_installed: AtomicBool::new(false),
            configured: Mutex::new(None),
            installed: Mutex::new(None),
            object,
            hook_ticks: HookTicks::default(),
            failure: Mutex::new(None),
            tasks: TaskSlot::default(),
            metadata,
            signals: Signals::default(),
            watch,
            interfaces: Vec::new(),
            has_running: AtomicBool::new(false),
            running: Mutex::new(None),
            has_skip: AtomicBool::new(false),
            skipped: Mutex::new(None),
            lease: Mutex::new(None),
        }
    }

    /// The schema the configuration to install must satisfy, if any.
    pub(crate) fn schema(&self) -> Option<&ConfigSchema> {
        if self.has_schema {
            self.metadata.get_config_schema()
        } else {
            None
        }
    }

    /// The state and the state it recovers to.
    pub(crate) fn cell(&self) -> StateCell {
        StateCell::unpack(self.state.load(Ordering::Acquire))
    }

    /// Applies `change` to the state cell. Not atomic as a whole: see the `state` field.
    fn update<R>(&self, change: impl FnOnce(&mut StateCell) -> R) -> R {
        let mut cell = self.cell();
        let result = change(&mut cell);
        self.state.store(cell.pack(), Ordering::Release);
        result
    }

    pub(crate) fn current_state(&self) -> ModuleState {
        self.cell().state
    }

    /// Decides what `operation` must do, or why it is illegal now.
    pub(crate) fn plan(&self, operation: Operation) -> Result<Plan, &'static str> {
        self.cell().plan(operation)
    }

    /// See [`StateCell::begin`].
    pub(crate) fn begin(&self, hook: Hook) -> Option<(ModuleState, ModuleState)> {
        self.update(|cell| cell.begin(hook))
    }

    /// See [`StateCell::succeed`].
    pub(crate) fn succeed(&self, hook: Hook) -> (ModuleState, ModuleState) {
        self.update(|cell| cell.succeed(hook))
    }

    /// Records `failure` of `hook` (see [`StateCell::fail`]); returns the previous state.
    pub(crate) fn fail(&self, hook: Hook, failure: HookFailure) -> ModuleState {
        // The failure first, so that whoever sees `Failed` also finds why.
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(failure);
        self.update(|cell| cell.fail(hook))
    }

    /// Keeps what `start` built, replacing what was kept.
    pub(crate) fn set_running(&self, state: Arc<dyn Any + Send + Sync>) {
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(state);
        self.has_running.store(true, Ordering::Release);
    }

    /// What `start` built, if the module is running and handed anything over.
    pub(crate) fn running(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        if !self.has_running() {
            return None;
        }
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    #[inline]
    pub(crate) fn has_running(&self) -> bool {
        self.has_running.load(Ordering::Acquire)
    }

    /// Drops what `start` built (after the stop hook, or a failed start).
    pub(crate) fn clear_running(&self) {
        if take(&self.has_running) {
            let dropped = self
                .running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            // Dropped outside the lock: its destructor may take time.
            drop(dropped);
        }
    }

    /// Remembers why an operation skipped the module, or forgets an earlier skip when an
    /// operation did anything else to it.
    pub(crate) fn note_outcome(&self, outcome: &Outcome) {
        match outcome {
            Outcome::Skipped(reason) => {
                *self.skipped.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason.clone());
                self.has_skip.store(true, Ordering::Release);
            }
            _ if take(&self.has_skip) => {
                *self.skipped.lock().unwrap_or_else(|p| p.into_inner()) = None;
            }
            _ => {}
        }
    }

    /// Why the last operation that concerned the module skipped it, if it did.
    pub(crate) fn skipped(&self) -> Option<SkipReason> {
        if !self.has_skip.load(Ordering::Acquire) {
            return None;
        }
        self.skipped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The last failure, if any.
    pub(crate) fn failure(&self) -> Option<HookFailure> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
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
        self.has_configured.load(Ordering::Acquire)
    }

    /// Replaces the configuration the application gives this module.
    pub(crate) fn set_configured(&self, config: Value) {
        *self.configured.lock().unwrap_or_else(|p| p.into_inner()) = Some(config);
        self.has_configured.store(true, Ordering::Release);
    }

    /// The configuration to install: the application's, laid over the module's default
    /// (top-level keys of the application's win); `None` for the empty configuration.
    pub(crate) fn config_to_install(&self) -> Option<Config> {
        if !self.has_default && !self.is_configured() {
            return None;
        }
        let configured = self
            .configured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let default = if self.has_default {
            self.metadata.get_default_config()
        } else {
            None
        };
        Config::effective(default, configured)
    }

    /// The tag of the bus subscriptions the module makes through its context.
    pub(crate) fn subscription_tag(&self) -> String {
        format!("module:{}", self.name)
    }

    /// The configuration `install` last received.
    pub(crate) fn installed_config(&self) -> Config {
        if !self.has_installed.load(Ordering::Acquire) {
            return Config::default();
        }
        self.installed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default()
    }

    /// Records what `install` received; `None` for the empty configuration.
    pub(crate) fn set_installed_config(&self, config: Option<Config>) {
        let has = config.is_some();
        if !has && !self.has_installed.load(Ordering::Acquire) {
            return;
        }
        *self.installed.lock().unwrap_or_else(|p| p.into_inner()) = config;
        self.has_installed.store(has, Ordering::Release);
    }

    /// The lease the module holds, current or not.
    pub(crate) fn lease(&self) -> Option<Lease> {
        self.lease.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the module's lease.
    pub(crate) fn set_lease(&self, lease: Option<Lease>) {
        *self.lease.lock().unwrap_or_else(|p| p.into_inner()) = lease;
    }

    /// Whether the module holds a current lease.
    fn holds_lease(&self) -> bool {
        self.lease().is_some_and(|lease| lease.is_current())
    }

    /// Ends an operator's hold, as a start does; whether there was one.
    pub(crate) fn release_hold(&self) -> bool {
        take(&self.held_stopped)
    }

    /// What `tasks` holds that a start or stop must see ([`tasks::TASKS`],
    /// [`tasks::REASON`]); zero for most modules.
    #[inline]
    pub(crate) fn attention(&self) -> u8 {
        self.attention.load(Ordering::Acquire)
    }

    /// Ready by its own account: started and, for a module that signals readiness, having
    /// said so. Health and dependencies are not looked at here.
    pub(crate) fn own_ready(&self) -> bool {
        self.current_state() == ModuleState::Started
            && self.watch.as_ref().is_none_or(|watch| watch.own_ready())
    }

    /// Whether the module has a run of owned tasks.
    #[inline]
    pub(crate) fn has_tasks(&self) -> bool {
        self.attention() & tasks::TASKS != 0
    }

    /// Forgets that the module subscribed to the bus; whether it had.
    pub(crate) fn take_subscribed(&self) -> bool {
        take(&self.subscribed)
    }

    /// Why an operator's decision keeps this module from starting, if it does. An
    /// operator's stop holds only against `start_all`: starting a module by name starts
    /// the dependencies it needs, held or not.
    pub(crate) fn hold(&self, start_all: bool) -> Option<SkipReason> {
        match self.availability() {
            Availability::Disabled => Some(SkipReason::Disabled),
            Availability::Ignored => Some(SkipReason::Ignored),
            Availability::Enabled if start_all && self.held_stopped.load(Ordering::Acquire) => {
                Some(SkipReason::HeldStopped)
            }
            Availability::Enabled
                if self.lease_required.load(Ordering::Acquire) && !self.holds_lease() =>
            {
                Some(SkipReason::NoLease)
            }
            Availability::Enabled => None,
        }
    }
}

/// Clears `flag`; whether it was set. A plain load first: the flags are rarely set, and
/// that spares most modules a locked swap.
fn take(flag: &AtomicBool) -> bool {
    flag.load(Ordering::Acquire) && flag.swap(false, Ordering::AcqRel)
}
