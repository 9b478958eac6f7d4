//! Typed, layered configuration: a module declares its config type, the application lays
//! defaults < files < environment, and every error names its layer and key.

use std::sync::{Arc, OnceLock};

use serde_json::json;
use symphra::config::{LayerError, Layers};
use symphra::prelude::*;

#[derive(Debug, Clone, PartialEq, serde::Deserialize, schemars::JsonSchema)]
struct DbConfig {
    name: String,
    pool: Pool,
}

#[derive(Debug, Clone, PartialEq, serde::Deserialize, schemars::JsonSchema)]
struct Pool {
    max_connections: u32,
    idle_secs: u64,
}

#[derive(Default)]
struct Db {
    seen: OnceLock<DbConfig>,
}

impl Module for Db {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("db")
            .config_type::<DbConfig>()
            .default_config(
                json!({ "name": "app", "pool": { "max_connections": 4, "idle_secs": 30 } }),
            )
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        let _ = self.seen.set(ctx.config_as::<DbConfig>()?);
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn defaults_files_and_environment_merge_deeply_and_env_values_take_the_schema_type() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("app.toml");
    std::fs::write(&file, "[db.pool]\nidle_secs = 60\n").expect("written");
    let db = Arc::new(Db::default());
    let manager = ModuleManager::builder()
        .module(SharedDb(Arc::clone(&db)))
        .layers(
            Layers::new("APP")
                .file(&file)
                // `123` stays a string (the schema says so); `8` becomes an integer.
                .env_vars([
                    ("APP__DB__NAME", "123"),
                    ("APP__DB__POOL__MAX_CONNECTIONS", "8"),
                ]),
        )
        .build()
        .expect("the layers are valid");
    manager.start_all().await.expect("starts");
    assert_eq!(
        db.seen.get(),
        Some(&DbConfig {
            name: "123".into(),
            pool: Pool {
                max_connections: 8,
                idle_secs: 60,
            },
        })
    );
}

/// `Db`, shared with the test so that it can read what the module saw.
struct SharedDb(Arc<Db>);

impl Module for SharedDb {
    fn metadata(&self) -> ModuleMetadata {
        self.0.metadata()
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        self.0.start(ctx).await
    }
}

#[test]
fn a_bad_value_in_a_file_names_the_file_and_the_key() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("app.json");
    std::fs::write(
        &file,
        r#"{ "db": { "pool": { "max_connections": "many" } } }"#,
    )
    .expect("written");
    let errors = Layers::new("APP")
        .file(&file)
        .resolve([&Db::default().metadata()])
        .expect_err("a string where an integer is wanted");
    let text = errors.to_string();
    assert!(text.contains("pool.max_connections"), "{text}");
    assert!(
        text.contains("app.json") && text.contains("JSON file"),
        "{text}"
    );
}

#[test]
fn a_bad_environment_value_names_the_variable_and_the_key() {
    let errors = Layers::new("APP")
        .env_vars([("APP__DB__POOL__MAX_CONNECTIONS", "eight")])
        .resolve([&Db::default().metadata()])
        .expect_err("not an integer");
    assert_eq!(errors.0.len(), 1, "{errors}");
    let text = errors.to_string();
    assert!(
        text.contains("APP__DB__POOL__MAX_CONNECTIONS")
            && text.contains("pool.max_connections")
            && text.contains("an integer"),
        "{text}"
    );
}

#[test]
fn a_missing_required_file_is_named() {
    let errors = Layers::new("APP")
        .file("/nonexistent/app.toml")
        .resolve([&Db::default().metadata()])
        .expect_err("no such file");
    assert!(
        matches!(&errors.0[0], LayerError::File { layer, .. } if layer.contains("/nonexistent/app.toml")),
        "{errors}"
    );
    // An optional one is skipped.
    let resolved = Layers::new("APP")
        .optional_file("/nonexistent/app.toml")
        .resolve([&Db::default().metadata()])
        .expect("optional");
    assert_eq!(resolved.configs["db"]["pool"]["idle_secs"], json!(30));
}

#[test]
fn a_variable_naming_two_modules_is_an_error_naming_both() {
    let errors = Layers::new("SYMPHRA")
        .env_vars([("SYMPHRA__MY_MOD__PORT", "1")])
        .resolve([
            &ModuleMetadata::new("my-mod"),
            &ModuleMetadata::new("my_mod"),
        ])
        .expect_err("ambiguous");
    let text = errors.to_string();
    assert!(
        text.contains("\"my-mod\"") && text.contains("\"my_mod\""),
        "{text}"
    );
}

#[test]
fn a_syntax_error_names_the_file() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, "[db\nname = 1").expect("written");
    let errors = Layers::new("APP")
        .file(&file)
        .resolve([&Db::default().metadata()])
        .expect_err("does not parse");
    assert!(errors.to_string().contains("broken.toml"), "{errors}");
}

#[tokio::test(flavor = "current_thread")]
async fn layer_errors_fail_the_build() {
    let built = ModuleManager::builder()
        .module(Db::default())
        .layers(Layers::new("APP").env_vars([("APP__DB__POOL__IDLE_SECS", "-")]))
        .build();
    assert!(matches!(built, Err(symphra::Error::Layers(_))), "{built:?}");
}
