//! Async Dependency Resolution: checking a module set and ordering it.
//!
//! `build()` resolves the set and refuses a broken one, listing every problem at once.
//! On a built manager, `validate_dependencies()` checks the set again and
//! `resolve_dependencies()` returns the start order and the start waves.
//!
//! Run with `cargo run --example dependency_validation`. Takes a few milliseconds.

use symphra::prelude::*;
use tracing_subscriber::EnvFilter;

/// A module that is only its metadata: resolution looks at nothing else.
struct Declared(ModuleMetadata);

impl Module for Declared {
    fn metadata(&self) -> ModuleMetadata {
        self.0.clone()
    }
}

fn module(name: &str) -> ModuleMetadata {
    ModuleMetadata::new(name)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .init();

    println!("== a valid set");
    let good = [
        module("api").depends_on("users").depends_on("cache"),
        module("users")
            .depends_on("database >=1.0, <2")
            .optionally_depends_on("cache ^0.3"),
        module("database").version("1.4.0"),
        module("cache").version("0.3.2"),
        module("metrics"),
        module("search").optionally_depends_on("elasticsearch"), // absent: fine
    ];
    let manager = good
        .into_iter()
        .fold(ModuleManager::builder(), |builder, meta| {
            builder.module(Declared(meta))
        })
        .build()?;
    manager.validate_dependencies().await?;
    println!("validate_dependencies: ok");
    let resolution = manager.resolve_dependencies().await?;
    println!(
        "start order: {}",
        resolution.order().collect::<Vec<_>>().join(", ")
    );
    println!(
        "stop order:  {}",
        resolution.order().rev().collect::<Vec<_>>().join(", ")
    );
    for (wave, names) in resolution.waves().iter().enumerate() {
        println!("wave {wave}: {}", names.join(", "));
    }

    println!("\n== a broken set");
    let broken = [
        module("api").depends_on("auth"),           // missing
        module("users").depends_on("database >=2"), // version mismatch
        module("database").version("1.4.0"),
        module("jobs").depends_on("scheduler"), // cycle ...
        module("scheduler").depends_on("jobs"), // ... jobs -> scheduler -> jobs
        module("cache"),                        // duplicate ...
        module("cache"),                        // ... name
        module("User Cache"),                   // invalid name
        module("search").version("2.0"),        // invalid version
    ];
    let result = broken
        .into_iter()
        .fold(ModuleManager::builder(), |builder, meta| {
            builder.module(Declared(meta))
        })
        .build();
    match result {
        Ok(_) => return Err("the broken set was accepted".into()),
        Err(symphra::Error::Resolve(error)) => {
            println!(
                "build() refused it; problems().len() = {}",
                error.problems().len()
            );
            println!("{error}");
        }
        Err(other) => return Err(other.into()),
    }
    Ok(())
}
