//! Interfaces a module provides: the module, or what its `start` handed over, shared as a
//! trait object (`Arc<dyn UserStore>`), so that a dependent can ask for the trait by
//! dependency name and a test can register any type implementing it under that name.

use std::any::{Any, TypeId};
use std::sync::Arc;

/// What a module's `start` handed the manager, erased.
pub(crate) type RunningState = Arc<dyn Any + Send + Sync>;

/// Turns a running state into the interface (a boxed `Arc<T>`), if it is of the right type.
type CastRunning = dyn Fn(RunningState) -> Option<Box<dyn Any + Send + Sync>> + Send + Sync;

/// One interface of a registered module: an `Arc<T>` (`T` often `dyn Trait`), erased.
pub(crate) struct Interface {
    /// `TypeId` of `Arc<T>`: `T` itself may be unsized.
    type_id: TypeId,
    source: Source,
}

enum Source {
    /// The module itself, cast once when it was registered: a boxed `Arc<T>`.
    Module(Box<dyn Any + Send + Sync>),
    /// The module's running state, cast at each look-up: it changes with every start.
    Running(Box<CastRunning>),
}

impl Interface {
    pub(crate) fn new<T: ?Sized + Send + Sync + 'static>(value: Arc<T>) -> Self {
        Self {
            type_id: TypeId::of::<Arc<T>>(),
            source: Source::Module(Box::new(value)),
        }
    }

    /// The interface `T` that `cast` makes of the running state, when that is an `S`.
    pub(crate) fn from_running<S, T>(
        cast: impl Fn(Arc<S>) -> Arc<T> + Send + Sync + 'static,
    ) -> Self
    where
        S: Send + Sync + 'static,
        T: ?Sized + Send + Sync + 'static,
    {
        let cast = move |state: RunningState| -> Option<Box<dyn Any + Send + Sync>> {
            let state = state.downcast::<S>().ok()?;
            Some(Box::new(cast(state)))
        };
        Self {
            type_id: TypeId::of::<Arc<T>>(),
            source: Source::Running(Box::new(cast)),
        }
    }

    /// Whether this is the interface `T`.
    pub(crate) fn is<T: ?Sized + 'static>(&self) -> bool {
        self.type_id == TypeId::of::<Arc<T>>()
    }

    /// The interface as `Arc<T>`, if it is one; `running` gives the module's running state
    /// to an interface made of it (`None` when it handed over none, or another type).
    pub(crate) fn get<T: ?Sized + Send + Sync + 'static>(
        &self,
        running: impl FnOnce() -> Option<RunningState>,
    ) -> Option<Arc<T>> {
        if !self.is::<T>() {
            return None;
        }
        match &self.source {
            Source::Module(value) => value.downcast_ref::<Arc<T>>().cloned(),
            Source::Running(cast) => cast(running()?)?.downcast::<Arc<T>>().ok().map(|v| *v),
        }
    }
}
