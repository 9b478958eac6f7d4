//! Refusing re-entrant calls: a hook, or an event handler it triggers, that calls a
//! lifecycle operation of its own manager would wait for the operation it runs in.
//!
//! While a manager polls one of its modules' hooks it marks the thread with the module, and
//! an operation asked for under that mark is refused instead of waiting. This is how tokio's
//! `task_local!` works too (a thread-local swapped in around each poll); the mark here is
//! two plain words instead of a shared name, so setting it touches no reference count. It is
//! set once per module and operation: 20,000 times to start and stop 10,000 modules.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::manager::Inner;

thread_local! {
    static POLLING: Cell<Option<Mark>> = const { Cell::new(None) };
}

/// Which module's hooks are being polled, and by which manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mark {
    /// The address of the manager's shared state: compared, never dereferenced.
    manager: usize,
    /// The module's index in the manager's graph.
    pub(crate) module: usize,
}

impl Mark {
    pub(crate) fn new(manager: &Inner, module: usize) -> Self {
        Self {
            manager: address(manager),
            module,
        }
    }

    /// The mark on this thread, if it is inside a hook of `manager`.
    pub(crate) fn current(manager: &Inner) -> Option<Self> {
        POLLING
            .get()
            .filter(|mark| mark.manager == address(manager))
    }

    /// Runs `f` under this mark, as [`on`](Self::on) does around each poll of a future.
    /// Always inlined: each lifecycle change delivered on the spot runs under it, and the
    /// call's prologue and epilogue were 20 instructions a change.
    #[inline(always)]
    pub(crate) fn run<R>(self, f: impl FnOnce() -> R) -> R {
        let _restore = Restore(POLLING.replace(Some(self)));
        f()
    }

    /// Runs `future` under this mark.
    pub(crate) fn on<F: Future>(self, future: F) -> Marked<F> {
        Marked { mark: self, future }
    }
}

/// Identifies a manager for as long as it lives.
fn address(manager: &Inner) -> usize {
    std::ptr::from_ref(manager) as usize
}

pin_project_lite::pin_project! {
    /// A future polled under a [`Mark`].
    pub(crate) struct Marked<F> {
        mark: Mark,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Marked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _restore = Restore(POLLING.replace(Some(*this.mark)));
        this.future.poll(cx)
    }
}

/// Puts the previous mark back, also when the poll panics.
struct Restore(Option<Mark>);

impl Drop for Restore {
    fn drop(&mut self) {
        POLLING.set(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(module: usize) -> Mark {
        Mark { manager: 1, module }
    }

    #[tokio::test]
    async fn the_mark_is_on_only_while_the_future_is_polled() {
        let seen = mark(7)
            .on(async {
                let outer = POLLING.get();
                let inner = mark(8).on(async { POLLING.get() }).await;
                (outer, inner, POLLING.get())
            })
            .await;
        assert_eq!(seen, (Some(mark(7)), Some(mark(8)), Some(mark(7))));
        assert_eq!(POLLING.get(), None);
    }

    #[test]
    fn a_panicking_poll_takes_its_mark_off() {
        let result = std::panic::catch_unwind(|| {
            futures_util::FutureExt::now_or_never(mark(3).on(async { panic!("hook") }))
        });
        assert!(result.is_err());
        assert_eq!(POLLING.get(), None);
    }
}
