//! Async utilities: named timeouts, retries and concurrency limits.
//!
//! All waiting goes through [`tokio::time`], so everything here works under a paused test
//! clock (`#[tokio::test(start_paused = true)]`).
//!
//! # Timeouts
//!
//! [`timeout()`] (or [`TimeoutExt::timeout`] on any future) gives an operation a time
//! limit and a name; the [`TimeoutError`] says what timed out and after how long.
//!
//! ```
//! use std::time::Duration;
//! use symphra::util::{TimeoutError, TimeoutExt};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let slow = tokio::time::sleep(Duration::from_secs(60));
//! let result = slow.timeout("fetch data", Duration::from_secs(30)).await;
//! assert_eq!(result, Err(TimeoutError::new("fetch data", Duration::from_secs(30))));
//! # }
//! ```
//!
//! # Retries
//!
//! [`Retry`] builds a retry policy: how many attempts, fixed or exponential delays
//! (with a cap and optional jitter), which errors to retry and a callback per retry.
//! `@async_retry(max_attempts=3, delay=1.0)` becomes:
//!
//! ```
//! use std::time::Duration;
//! use symphra::util::Retry;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let mut calls = 0;
//! let result: Result<&str, &str> = Retry::fixed(Duration::from_secs(1))
//!     .max_attempts(3)
//!     .run(|| {
//!         calls += 1;
//!         let outcome = if calls == 1 { Err("network error") } else { Ok("done") };
//!         async move { outcome }
//!     })
//!     .await;
//! assert_eq!(result, Ok("done"));
//! assert_eq!(calls, 2);
//! # }
//! ```
//!
//! Retries and timeouts compose: put the timeout inside the operation to limit each
//! attempt, or around [`Retry::run`] to limit the whole sequence.
//!
//! # Concurrency limiting
//!
//! There is no wrapper for this on purpose: [`tokio::sync::Semaphore`] already is the
//! clear answer. Acquire a permit before the limited work; dropping the permit
//! releases it, also on error or cancellation. A module that allows at most
//! 10 requests in flight looks like this:
//!
//! ```
//! use std::sync::Arc;
//! use tokio::sync::{AcquireError, Semaphore};
//!
//! struct RateLimitedModule {
//!     semaphore: Arc<Semaphore>,
//! }
//!
//! impl RateLimitedModule {
//!     fn new() -> Self {
//!         Self { semaphore: Arc::new(Semaphore::new(10)) } // max 10 concurrent requests
//!     }
//!
//!     async fn rate_limited_request(&self, url: &str) -> Result<String, AcquireError> {
//!         // Fails only if the semaphore was closed, e.g. during shutdown.
//!         let _permit = self.semaphore.acquire().await?;
//!         Ok(format!("response from {url}")) // the real request goes here
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), AcquireError> {
//! let module = RateLimitedModule::new();
//! let urls = ["https://a.example", "https://b.example"];
//! let responses =
//!     futures_util::future::try_join_all(urls.iter().map(|u| module.rate_limited_request(u)))
//!         .await?;
//! assert_eq!(responses.len(), 2);
//! assert_eq!(module.semaphore.available_permits(), 10);
//! # Ok(())
//! # }
//! ```
//!
//! For spawned tasks, use [`Semaphore::acquire_owned`](tokio::sync::Semaphore::acquire_owned)
//! on an `Arc<Semaphore>` and move the permit into the task.

mod deadline;
mod duration;
mod panic;
mod poll;
mod quiet_panic;
mod retry;
mod timeout;

pub use deadline::{FAR_FUTURE, deadline_after};
pub use duration::{DurationError, parse_duration};
pub(crate) use panic::panic_message;
pub use poll::poll_once;
pub(crate) use quiet_panic::{
    Quiet, install_hook as install_quiet_panic_hook, quietly, take_location as take_panic_location,
};

pub use retry::{DEFAULT_MAX_ATTEMPTS, Retry};
pub use timeout::{Timeout, TimeoutError, TimeoutExt, timeout};
