//! Handlers: sync closures and async closures, erased behind one type.
//!
//! A sync handler is `Fn(&Event) -> R` and runs on the publisher's task; an async handler is
//! `Fn(Event) -> impl Future<Output = R>` and gets the event by value (a cheap clone) so that
//! its future can be `'static`. `R` is `()` or `Result<(), E>` for any error `E`
//! ([`HandlerResult`]). Panics are caught and reported like errors.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::event::Event;
use super::report::HandlerError;
use crate::lifecycle::BoxError;
use crate::util::panic_message;

/// What a handler returns: `()` for handlers that cannot fail, or `Result<(), E>`.
pub trait HandlerResult {
    /// Converts into the bus's result.
    fn into_result(self) -> Result<(), BoxError>;
}

impl HandlerResult for () {
    fn into_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> HandlerResult for Result<(), E> {
    fn into_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

type SyncFn = dyn Fn(&Event) -> Result<(), BoxError> + Send + Sync;
type AsyncFn = dyn Fn(Event) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync;
type DeferringFn = dyn Fn(&Event) -> Deferred + Send + Sync;

/// What a deferring handler did with an event: finished, or left a future to await.
pub(crate) enum Deferred {
    Done(Result<(), BoxError>),
    Wait(BoxFuture<'static, Result<(), BoxError>>),
}

/// How a deferring handler's run in place ended: with its result, or with a future to await.
pub(crate) enum Started {
    Done(Result<(), HandlerError>),
    Wait(BoxFuture<'static, Result<(), BoxError>>),
}

/// A type-erased handler.
pub(crate) enum Handler {
    Sync(Box<SyncFn>),
    Async(Box<AsyncFn>),
    /// Runs like a sync handler, with the event borrowed, and returns a future only when it
    /// has to wait: delivered where async handlers are (it may have to be awaited), but with
    /// no copy of the event and no boxed future when it does not wait.
    Deferring(Box<DeferringFn>),
}

impl Handler {
    pub(crate) fn sync<F, R>(f: F) -> Self
    where
        F: Fn(&Event) -> R + Send + Sync + 'static,
        R: HandlerResult,
    {
        Self::Sync(Box::new(move |event| f(event).into_result()))
    }

    pub(crate) fn asynchronous<F, Fut>(f: F) -> Self
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerResult,
    {
        Self::Async(Box::new(move |event| {
            f(event).map(HandlerResult::into_result).boxed()
        }))
    }

    pub(crate) fn deferring<F, Fut>(f: F) -> Self
    where
        F: Fn(&Event) -> Option<Fut> + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerResult,
    {
        Self::Deferring(Box::new(move |event| match f(event) {
            None => Deferred::Done(Ok(())),
            Some(wait) => Deferred::Wait(wait.map(HandlerResult::into_result).boxed()),
        }))
    }

    #[cfg(test)]
    pub(crate) fn is_sync(&self) -> bool {
        matches!(self, Self::Sync(_))
    }

    /// Runs a sync handler, catching a panic. For an async handler, use [`Handler::call`].
    #[inline]
    pub(crate) fn call_sync(f: &SyncFn, event: &Event) -> Result<(), HandlerError> {
        match catch_unwind(AssertUnwindSafe(|| f(event))) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(HandlerError::failed(error)),
            Err(panic) => Err(HandlerError::Panicked(panic_message(panic))),
        }
    }

    /// Runs the handler to completion, catching a panic in it or in its future.
    pub(crate) async fn call(&self, event: &Event) -> Result<(), HandlerError> {
        match self {
            Self::Sync(f) => Self::call_sync(f, event),
            Self::Async(f) => {
                let future = match catch_unwind(AssertUnwindSafe(|| f(event.clone()))) {
                    Ok(future) => future,
                    Err(panic) => return Err(HandlerError::Panicked(panic_message(panic))),
                };
                Self::awaited(future).await
            }
            Self::Deferring(f) => match Self::start_deferring(f, event) {
                Started::Done(result) => result,
                Started::Wait(future) => Self::awaited(future).await,
            },
        }
    }

    /// Runs a deferring handler in place, catching a panic.
    #[inline]
    pub(crate) fn start_deferring(f: &DeferringFn, event: &Event) -> Started {
        match catch_unwind(AssertUnwindSafe(|| f(event))) {
            Ok(Deferred::Done(Ok(()))) => Started::Done(Ok(())),
            Ok(Deferred::Done(Err(error))) => Started::Done(Err(HandlerError::failed(error))),
            Ok(Deferred::Wait(future)) => Started::Wait(future),
            Err(panic) => Started::Done(Err(HandlerError::Panicked(panic_message(panic)))),
        }
    }

    /// Awaits a handler's future, catching a panic in it.
    pub(crate) async fn awaited(
        future: BoxFuture<'static, Result<(), BoxError>>,
    ) -> Result<(), HandlerError> {
        match AssertUnwindSafe(future).catch_unwind().await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(HandlerError::failed(error)),
            Err(panic) => Err(HandlerError::Panicked(panic_message(panic))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boom(message: &str) -> Result<(), BoxError> {
        panic!("{message}")
    }

    fn event() -> Event {
        Event::new("t", 5_i32).unwrap()
    }

    #[tokio::test]
    async fn sync_results_and_panics() {
        let ok = Handler::sync(|e: &Event| assert_eq!(e.payload::<i32>(), Some(&5)));
        assert!(ok.is_sync());
        assert!(ok.call(&event()).await.is_ok());

        let err = Handler::sync(|_: &Event| Err::<(), _>("disk full"));
        let e = err.call(&event()).await.unwrap_err();
        assert_eq!(e.to_string(), "disk full");
        assert!(!e.is_panic());

        let panics = Handler::sync(|_: &Event| boom("boom 1"));
        let e = panics.call(&event()).await.unwrap_err();
        assert!(e.is_panic());
        assert!(e.to_string().contains("boom 1"), "{e}");
    }

    #[tokio::test]
    async fn async_results_and_panics() {
        let ok = Handler::asynchronous(|e: Event| async move {
            tokio::task::yield_now().await;
            assert_eq!(e.payload::<i32>(), Some(&5));
        });
        assert!(!ok.is_sync());
        assert!(ok.call(&event()).await.is_ok());

        let err = Handler::asynchronous(|_: Event| async { Err::<(), BoxError>("nope".into()) });
        assert_eq!(err.call(&event()).await.unwrap_err().to_string(), "nope");

        let panics = Handler::asynchronous(|_: Event| async {
            tokio::task::yield_now().await;
            boom("async boom")
        });
        let e = panics.call(&event()).await.unwrap_err();
        assert!(e.is_panic() && e.to_string().contains("async boom"), "{e}");

        // A panic while building the future is caught too.
        #[allow(unreachable_code)]
        let panics_early =
            Handler::asynchronous(|_: Event| -> std::future::Ready<()> { panic!("early") });
        assert!(panics_early.call(&event()).await.unwrap_err().is_panic());
    }
}
