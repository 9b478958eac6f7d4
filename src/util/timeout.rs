//! Named timeouts: [`timeout`], [`TimeoutExt::timeout`] and [`TimeoutError`].

use std::borrow::Cow;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

/// The error returned when an operation does not finish within its time limit.
///
/// It names the operation and the limit, so the message alone tells a reader what
/// was slow and by how much it was allowed to be:
///
/// ```text
/// fetch users timed out after 30s; raise the timeout or make the operation faster
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} timed out after {after:?}; raise the timeout or make the operation faster")]
pub struct TimeoutError {
    operation: Cow<'static, str>,
    after: Duration,
}

impl TimeoutError {
    /// Builds the error for `operation` that was given `after` to finish.
    pub fn new(operation: impl Into<Cow<'static, str>>, after: Duration) -> Self {
        Self {
            operation: operation.into(),
            after,
        }
    }

    /// The name of the operation that timed out, as given to [`timeout`].
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// The time limit the operation exceeded.
    pub fn after(&self) -> Duration {
        self.after
    }
}

/// Runs `future` with a time limit of `after`, naming it `operation` in the error.
///
/// Returns the future's output if it finishes in time, or a [`TimeoutError`] naming
/// `operation` and `after` if it does not; the future is dropped (cancelled) then.
///
/// The deadline is fixed when `timeout` is called, not when the returned future is
/// first polled. Time is measured with [`tokio::time`], so this needs a Tokio
/// runtime with the time driver enabled and follows a paused test clock.
///
/// ```
/// use std::time::Duration;
/// use symphra::util::timeout;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// // Finishes in time: the value comes through.
/// let users = timeout("fetch users", Duration::from_secs(30), async { vec!["ada"] }).await;
/// assert_eq!(users, Ok(vec!["ada"]));
///
/// // Too slow: the error says what timed out and after how long.
/// let slow = tokio::time::sleep(Duration::from_secs(60));
/// let err = timeout("fetch users", Duration::from_secs(30), slow).await.unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "fetch users timed out after 30s; raise the timeout or make the operation faster"
/// );
/// # }
/// ```
pub fn timeout<F>(
    operation: impl Into<Cow<'static, str>>,
    after: Duration,
    future: F,
) -> Timeout<F::IntoFuture>
where
    F: IntoFuture,
{
    Timeout {
        inner: tokio::time::timeout(after, future.into_future()),
        operation: Some(operation.into()),
        after,
    }
}

pin_project! {
    /// The future returned by [`timeout`] and [`TimeoutExt::timeout`].
    ///
    /// Resolves to `Ok(output)` if the inner future finishes in time and to
    /// `Err(TimeoutError)` otherwise.
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        inner: tokio::time::Timeout<F>,
        // Taken on completion so the name moves into the error without a clone.
        operation: Option<Cow<'static, str>>,
        after: Duration,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(output)) => Poll::Ready(Ok(output)),
            Poll::Ready(Err(_elapsed)) => {
                let operation = this.operation.take().unwrap_or_default();
                let after = *this.after;
                tracing::debug!(operation = %operation, ?after, "operation timed out");
                Poll::Ready(Err(TimeoutError { operation, after }))
            }
        }
    }
}

/// Adds [`timeout`](TimeoutExt::timeout) to every future.
///
/// ```
/// use std::time::Duration;
/// use symphra::util::TimeoutExt;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let answer = async { 42 }.timeout("compute answer", Duration::from_secs(1)).await;
/// assert_eq!(answer, Ok(42));
/// # }
/// ```
pub trait TimeoutExt: IntoFuture + Sized {
    /// Runs `self` with a time limit of `after`, naming it `operation` in the error.
    ///
    /// Same as [`timeout(operation, after, self)`](timeout).
    fn timeout(
        self,
        operation: impl Into<Cow<'static, str>>,
        after: Duration,
    ) -> Timeout<Self::IntoFuture> {
        timeout(operation, after, self)
    }
}

impl<F: IntoFuture> TimeoutExt for F {}
