//! Issue 19, item 19: the resolver's messages name what the user must look at.

use symphra::ModuleManager;
use symphra::prelude::*;

struct PrimaryCache;
impl Module for PrimaryCache {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("cache")
    }
}

struct BackupCache;
impl Module for BackupCache {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("cache")
    }
}

struct FromFolder;
impl Module for FromFolder {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("cache").origin("modules/cache-copy")
    }
}

struct Users;
impl Module for Users {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("users").depends_on("database ^1")
    }
}

/// The resolver's message for an application, whether `build` or the resolution reports it.
async fn resolve_message(builder: symphra::ModuleManagerBuilder) -> String {
    match builder.build() {
        Err(error) => error.to_string(),
        Ok(manager) => manager
            .resolve_dependencies()
            .await
            .expect_err("the modules do not resolve")
            .to_string(),
    }
}

#[tokio::test]
async fn item_19_a_duplicate_name_names_both_registrations() {
    let message = resolve_message(
        ModuleManager::builder()
            .module(PrimaryCache)
            .module(BackupCache)
            .module(FromFolder),
    )
    .await;
    assert!(
        message.contains("3 modules are named \"cache\""),
        "{message}"
    );
    for origin in ["PrimaryCache", "BackupCache", "modules/cache-copy"] {
        assert!(message.contains(origin), "{origin} missing: {message}");
    }
    let (primary, backup) = (
        message.find("PrimaryCache").unwrap_or(usize::MAX),
        message.find("BackupCache").unwrap_or(0),
    );
    assert!(primary < backup, "in registration order: {message}");
}

#[tokio::test]
async fn item_19_a_missing_dependency_offers_removing_it() {
    let message = resolve_message(ModuleManager::builder().module(Users)).await;
    assert!(message.contains("\"database\""), "{message}");
    assert!(message.contains("register it"), "{message}");
    assert!(message.contains("optional"), "{message}");
    assert!(
        message.contains("remove it from \"users\"'s dependencies"),
        "{message}"
    );
}
