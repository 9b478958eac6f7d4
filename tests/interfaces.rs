//! Trait-object dependencies: a module registered as providing `dyn UserStore` is asked
//! for by dependency name, a test swaps in any type implementing the trait, and the errors
//! tell "not declared" from "declared, but registered as another type".

use std::sync::Arc;

use symphra::prelude::*;
use symphra::testing::Harness;

trait UserStore: Send + Sync {
    fn names(&self) -> Vec<String>;
}

struct Db;
impl UserStore for Db {
    fn names(&self) -> Vec<String> {
        vec!["ada".into()]
    }
}
impl Module for Db {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("db")
    }
}

struct FakeDb;
impl UserStore for FakeDb {
    fn names(&self) -> Vec<String> {
        vec!["fake".into()]
    }
}

/// The API module: no generics, it asks for the trait by the dependency's name.
#[derive(Default)]
struct Api {
    seen: std::sync::OnceLock<Vec<String>>,
}
impl Module for Api {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("api").depends_on("db")
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        let store = ctx.get_dyn::<dyn UserStore>("db")?;
        let _ = self.seen.set(store.names());
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_dependent_gets_the_interface_by_name() {
    let manager = ModuleManager::builder()
        .module(Db)
        .provides(|db: Arc<Db>| -> Arc<dyn UserStore> { db })
        .module(Api::default())
        .build()
        .expect("valid");
    manager.start_all().await.expect("starts");
    let api = manager.get::<Api>().expect("registered");
    assert_eq!(
        api.seen.get().map(Vec::as_slice),
        Some(&["ada".to_owned()][..])
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_test_kit_swaps_in_a_fake_by_name() {
    let harness = Harness::builder(Api::default())
        .fake::<dyn UserStore>("db", Arc::new(FakeDb))
        .build()
        .expect("valid");
    harness.start().await.expect("starts with the fake");
    let api = harness.manager().get::<Api>().expect("registered");
    assert_eq!(
        api.seen.get().map(Vec::as_slice),
        Some(&["fake".to_owned()][..])
    );
}

/// Asks for what the test says, and keeps the error's text.
struct Asker {
    ask: fn(&Context) -> Result<(), symphra::Error>,
    error: std::sync::OnceLock<String>,
}
impl Module for Asker {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("asker").depends_on("db")
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        if let Err(error) = (self.ask)(ctx) {
            let _ = self.error.set(error.to_string());
        }
        Ok(())
    }
}

async fn error_of(ask: fn(&Context) -> Result<(), symphra::Error>) -> String {
    let manager = ModuleManager::builder()
        .module(Db) // registered without `.provides`
        .module(Asker {
            ask,
            error: std::sync::OnceLock::new(),
        })
        .build()
        .expect("valid");
    manager.start_all().await.expect("starts");
    let asker = manager.get::<Asker>().expect("registered");
    asker.error.get().cloned().expect("the ask failed")
}

#[tokio::test(flavor = "current_thread")]
async fn errors_tell_undeclared_from_registered_as_another_type() {
    let undeclared = error_of(|ctx| ctx.get_dyn::<dyn UserStore>("cache").map(drop)).await;
    assert!(
        undeclared.contains("\"cache\"")
            && undeclared.contains("not one of its declared dependencies"),
        "{undeclared}"
    );

    let not_provided = error_of(|ctx| ctx.get_dyn::<dyn UserStore>("db").map(drop)).await;
    assert!(
        not_provided.contains("declares dependency \"db\"")
            && not_provided.contains("registered as `interfaces::Db`")
            && not_provided.contains("asked for as `dyn interfaces::UserStore`"),
        "{not_provided}"
    );

    let by_type = error_of(|ctx| ctx.get::<FakeDb>().map(drop)).await;
    assert!(
        by_type.contains("`interfaces::FakeDb`")
            && by_type.contains("\"db\" is a `interfaces::Db`"),
        "{by_type}"
    );
    assert!(
        !by_type.contains("not one of its declared dependencies"),
        "{by_type}"
    );

    let named = error_of(|ctx| ctx.get_named::<FakeDb>("db").map(drop)).await;
    assert!(
        named.contains("registered as `interfaces::Db`")
            && named.contains("asked for as `interfaces::FakeDb`"),
        "{named}"
    );
}

#[test]
fn provides_after_another_module_type_fails_the_build() {
    let built = ModuleManager::builder()
        .module(Db)
        .provides(|fake: Arc<FakeDb>| -> Arc<dyn UserStore> { fake })
        .build();
    let error = built.expect_err("the cast does not fit").to_string();
    assert!(
        error.contains("FakeDb") && error.contains("interfaces::Db"),
        "{error}"
    );
}
