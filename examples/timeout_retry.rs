//! A flaky operation under `Retry` and a slow one under `timeout`.
//!
//! Run with `cargo run --example timeout_retry` (add `RUST_LOG=symphra=debug` to see
//! the library's own log lines). Takes about 250 ms: two 100 ms retry waits and
//! one 50 ms timeout.

use std::time::Duration;

use symphra::util::{Retry, TimeoutExt};
use tracing_subscriber::EnvFilter;

/// The error of the flaky operation.
#[derive(Debug, thiserror::Error)]
#[error("connection refused (attempt {attempt})")]
struct Refused {
    attempt: u32,
}

/// Fails on its first two calls and succeeds on the third, deterministically.
async fn flaky_fetch(attempt: u32) -> Result<&'static str, Refused> {
    println!("attempt {attempt}: calling the service");
    if attempt <= 2 {
        Err(Refused { attempt })
    } else {
        Ok("42 users")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .init();

    let mut attempt = 0;
    let users = Retry::fixed(Duration::from_millis(100))
        .max_attempts(3)
        .notify(|n, e: &Refused, next| println!("attempt {n} failed: {e}; retrying in {next:?}"))
        .run(|| {
            attempt += 1;
            flaky_fetch(attempt)
        })
        .await?;
    println!("succeeded after {attempt} attempts: {users}");

    let slow = tokio::time::sleep(Duration::from_secs(5));
    match slow
        .timeout("generate report", Duration::from_millis(50))
        .await
    {
        Ok(()) => println!("report ready"),
        Err(e) => println!("error: {e}"),
    }
    Ok(())
}
