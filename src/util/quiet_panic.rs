//! Panics that Symphra catches and reports itself are not also printed by the process's
//! panic hook.
//!
//! The panic hook is process-global, so it is never replaced outright: the first manager
//! built installs, once, a hook that chains to whatever hook was there before (the default
//! one, or the application's). It stays silent only for a panic raised while this thread
//! runs code whose panics Symphra catches — a hook's future being polled, a blocking hook's
//! closure — and hands every other panic, on every thread, to the previous hook unchanged.
//! The location of a silenced panic is kept so that the failure report can name it.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::PanicHookInfo;
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

thread_local! {
    /// How many quiet sections this thread is inside (polls nest: a hook may poll another
    /// module's future through the manager).
    static QUIET_DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Where the last silenced panic on this thread was raised, for the report.
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

/// Installs the chaining hook, once per process.
pub(crate) fn install_hook() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if QUIET_DEPTH.with(Cell::get) > 0 {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                LAST_LOCATION.with(|last| *last.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
}

/// The location of the last panic silenced on this thread, taken.
pub(crate) fn take_location() -> Option<String> {
    LAST_LOCATION.with(|last| last.borrow_mut().take())
}

/// Marks this thread quiet while alive; unmarks on drop, even when unwinding.
struct QuietSection;

impl QuietSection {
    fn enter() -> Self {
        QUIET_DEPTH.with(|depth| depth.set(depth.get().saturating_add(1)));
        QuietSection
    }
}

impl Drop for QuietSection {
    fn drop(&mut self) {
        QUIET_DEPTH.with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

/// Runs `f` with panics on this thread silenced (the caller catches them).
pub(crate) fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let _section = QuietSection::enter();
    f()
}

pin_project! {
    /// A future whose panics are silenced while it is polled (its poller catches them).
    pub(crate) struct Quiet<F> {
        #[pin]
        inner: F,
    }
}

impl<F> Quiet<F> {
    pub(crate) fn new(inner: F) -> Self {
        Self { inner }
    }
}

impl<F: Future> Future for Quiet<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let _section = QuietSection::enter();
        self.project().inner.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_panic_records_its_location_and_a_loud_one_does_not() {
        install_hook();
        let caught = std::panic::catch_unwind(|| quietly(|| panic!("quiet")));
        assert!(caught.is_err());
        let location = take_location();
        assert!(
            location
                .as_deref()
                .is_some_and(|l| l.contains("quiet_panic.rs")),
            "{location:?}"
        );
        assert_eq!(
            QUIET_DEPTH.with(Cell::get),
            0,
            "the section ended on unwind"
        );
        let caught = std::panic::catch_unwind(|| panic!("loud"));
        assert!(caught.is_err());
        assert_eq!(
            take_location(),
            None,
            "a loud panic goes to the previous hook"
        );
    }
}
