//! Interfaces a module provides: the module, shared as a trait object (`Arc<dyn UserStore>`),
//! so that a dependent can ask for the trait by dependency name and a test can register any
//! type implementing it under that name.

use std::any::{Any, TypeId};
use std::sync::Arc;

/// One interface of a registered module: an `Arc<T>` (`T` often `dyn Trait`), erased.
pub(crate) struct Interface {
    /// `TypeId` of `Arc<T>`: `T` itself may be unsized.
    type_id: TypeId,
    value: Box<dyn Any + Send + Sync>,
}

impl Interface {
    pub(crate) fn new<T: ?Sized + Send + Sync + 'static>(value: Arc<T>) -> Self {
        Self {
            type_id: TypeId::of::<Arc<T>>(),
            value: Box::new(value),
        }
    }

    /// The interface as `Arc<T>`, if it is one.
    pub(crate) fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        if self.type_id != TypeId::of::<Arc<T>>() {
            return None;
        }
        self.value.downcast_ref::<Arc<T>>().cloned()
    }
}
