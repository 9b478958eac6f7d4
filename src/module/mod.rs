//! The module model: the [`Module`] and [`SyncModule`] traits and [`ModuleMetadata`].

mod dependency;
mod metadata;
#[allow(clippy::module_inception)]
mod module;
mod name;
mod sync_module;

pub use dependency::Dependency;
pub use metadata::ModuleMetadata;
pub use module::Module;
pub use name::{MAX_NAME_LEN, validate_name};
pub use sync_module::SyncModule;

pub use crate::error::MetadataError;
