//! Polling a future once, in the calling task.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

/// Polls `future` once with the calling task's context and returns what that poll gave.
///
/// Work that usually finishes at once (a hook that does not wait, a publish into a queue
/// with room) then costs no timer, no task and no second future; only what is still
/// pending needs more. Unlike [`FutureExt::now_or_never`](futures_util::FutureExt), the
/// poll registers the caller's waker, so a future left pending is woken as usual and can
/// be awaited afterwards.
///
/// ```
/// use std::pin::pin;
/// use std::task::Poll;
/// use symphra::util::poll_once;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut ready = pin!(async { 7 });
/// assert_eq!(poll_once(&mut ready).await, Poll::Ready(7));
///
/// let mut waiting = pin!(tokio::task::yield_now());
/// assert!(poll_once(&mut waiting).await.is_pending());
/// waiting.await; // still usable
/// # }
/// ```
pub async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}
