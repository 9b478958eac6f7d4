//! Why a hook failed: an error it returned, a panic, or a timeout.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Violation;
use crate::lifecycle::Hook;

/// The error type hooks return: any error, boxed. `?` converts any
/// `std::error::Error + Send + Sync` into it, and so does `.into()` on a `&str` or `String`.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What a lifecycle hook returns.
pub type HookResult = Result<(), BoxError>;

/// A hook of a module that did not complete.
///
/// Its `Display` names the module and the hook and shows the whole chain of causes; its
/// [`source`](StdError::source) is the [`FailureCause`], whose own source is the error the
/// hook returned, if it returned one.
///
/// Cheap to clone and small to move (one pointer): the module's state, the report, and the
/// error returned to the caller all share one value.
#[derive(Clone)]
pub struct HookFailure(Arc<Failure>);

#[derive(Debug, thiserror::Error)]
#[error("module {module:?} failed in its {hook} hook: {cause}")]
struct Failure {
    module: Arc<str>,
    hook: Hook,
    #[source]
    cause: FailureCause,
}

impl HookFailure {
    pub(crate) fn new(module: Arc<str>, hook: Hook, cause: FailureCause) -> Self {
        Self(Arc::new(Failure {
            module,
            hook,
            cause,
        }))
    }

    /// The module whose hook failed.
    pub fn module(&self) -> &str {
        &self.0.module
    }

    /// The hook that failed.
    pub fn hook(&self) -> Hook {
        self.0.hook
    }

    /// Why it failed.
    pub fn cause(&self) -> &FailureCause {
        &self.0.cause
    }
}

impl fmt::Debug for HookFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookFailure")
            .field("module", &self.0.module)
            .field("hook", &self.0.hook)
            .field("cause", &self.0.cause)
            .finish()
    }
}

impl fmt::Display for HookFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for HookFailure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// How a hook failed.
///
/// Its `Display` shows the whole chain of causes of an error the hook returned
/// (`opening sqlite:///app.db: unable to open database file (code 14)`), and
/// [`source`](StdError::source) gives the hook's own error, so that a walk of the sources
/// reaches the original error and everything under it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum FailureCause {
    /// The hook returned an error.
    Error(SharedError),
    /// The hook panicked; the text is the panic message.
    Panic(String),
    /// The hook ran past its time limit and was abandoned.
    TimedOut(Duration),
    /// The configuration broke the module's schema, so `install` was not called.
    InvalidConfig(Vec<Violation>),
    /// The hook was not run because the shutdown deadline had already passed.
    DeadlinePassed,
    /// The module's owned tasks (see [`Context::spawn`](crate::Context::spawn)) named here
    /// were still running at the stop deadline and were aborted.
    TasksAborted {
        /// The names the tasks were spawned with.
        tasks: Vec<Arc<str>>,
    },
    /// The hook was waiting when its operation was cancelled (a shutdown signal arrived
    /// during a start, see [`ModuleManager::run_until`](crate::ModuleManager::run_until)),
    /// and was abandoned.
    Cancelled,
}

impl fmt::Display for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureCause::Error(error) => write_chain(f, error.inner()),
            FailureCause::Panic(message) => write!(f, "it panicked: {message}"),
            FailureCause::TimedOut(limit) => write!(
                f,
                "it did not finish within {limit:?} and was abandoned; make it faster or raise the hook timeout"
            ),
            FailureCause::InvalidConfig(violations) => write!(
                f,
                "its configuration is invalid: {}; fix the configuration to match the module's schema",
                list(violations)
            ),
            FailureCause::DeadlinePassed => {
                f.write_str("the shutdown deadline passed before it could run")
            }
            FailureCause::Cancelled => f.write_str("cancelled by shutdown"),
            FailureCause::TasksAborted { tasks } => write!(
                f,
                "tasks still running at the stop deadline were aborted: {}",
                tasks.join(", ")
            ),
        }
    }
}

impl StdError for FailureCause {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            // The hook's own error itself, not `SharedError` (whose `source` skips a level):
            // a caller can then `downcast_ref` to the type the hook returned.
            FailureCause::Error(error) => Some(error.inner()),
            _ => None,
        }
    }
}

/// Writes `error` and each error under it, `: `-separated, outermost first.
///
/// Many errors already include their source in their own message (thiserror's
/// `#[error("…: {0}")]`, anyhow's wrappers), so a source whose text the chain written so
/// far already ends with is left out rather than shown twice.
fn write_chain(f: &mut fmt::Formatter<'_>, error: &(dyn StdError + 'static)) -> fmt::Result {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        let message = source.to_string();
        if !text.ends_with(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        next = source.source();
    }
    f.write_str(&text)
}

fn list(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl FailureCause {
    /// Turns the payload of a caught panic into a cause, keeping its message when it is a
    /// string (as it is for `panic!` with a message).
    pub(crate) fn from_panic(payload: Box<dyn std::any::Any + Send>) -> Self {
        let message = crate::util::panic_message(payload);
        // The default panic hook stayed silent for this panic (see `util::quiet_panic`):
        // the report says where it was raised instead.
        match crate::util::take_panic_location() {
            Some(location) => FailureCause::Panic(format!("{message} (at {location})")),
            None => FailureCause::Panic(message),
        }
    }
}

/// An error a hook returned, shared so that failures can be cloned into states and reports.
#[derive(Clone)]
pub struct SharedError(Arc<dyn StdError + Send + Sync + 'static>);

impl SharedError {
    /// The error as the hook returned it.
    pub fn inner(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.0
    }
}

impl From<BoxError> for SharedError {
    fn from(error: BoxError) -> Self {
        Self(Arc::from(error))
    }
}

impl fmt::Debug for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl StdError for SharedError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_payloads_keep_their_message() {
        let text = FailureCause::from_panic(Box::new("boom"));
        assert_eq!(text.to_string(), "it panicked: boom");
        let owned = FailureCause::from_panic(Box::new(String::from("kaboom")));
        assert_eq!(owned.to_string(), "it panicked: kaboom");
        let other = FailureCause::from_panic(Box::new(42_u8));
        assert!(other.to_string().contains("non-string"));
    }

    #[test]
    fn failure_message_names_module_hook_and_cause() {
        let failure = HookFailure::new(
            Arc::from("database"),
            Hook::Start,
            FailureCause::Error(SharedError::from(BoxError::from("connection refused"))),
        );
        assert_eq!(
            failure.to_string(),
            "module \"database\" failed in its start hook: connection refused"
        );
        assert_eq!(failure.module(), "database");
        assert_eq!(failure.hook(), Hook::Start);
    }

    /// The bottom of the chains below: an I/O-like root cause.
    #[derive(Debug, thiserror::Error)]
    #[error("unable to open database file (code 14)")]
    struct Root;

    /// A level that does not repeat its source in its message.
    #[derive(Debug, thiserror::Error)]
    #[error("opening sqlite:///nonexistent-dir/app.db")]
    struct Opening(#[source] Root);

    /// A level that does repeat its source, as thiserror's `{0}` and anyhow do.
    #[derive(Debug, thiserror::Error)]
    #[error("connecting: {0}")]
    struct Connecting(#[source] Opening);

    fn failed_with(error: BoxError) -> HookFailure {
        HookFailure::new(
            Arc::from("database"),
            Hook::Install,
            FailureCause::Error(SharedError::from(error)),
        )
    }

    #[test]
    fn debug_shows_the_module_the_hook_and_the_inner_error() {
        let failure = failed_with(Box::new(Opening(Root)));
        let debug = format!("{failure:?}");
        assert!(
            debug.starts_with("HookFailure { module: \"database\", hook: Install"),
            "{debug}"
        );
        // The shared error debugs as the error it holds.
        assert!(debug.contains("Opening(Root)"), "{debug}");
    }

    #[test]
    fn a_shared_error_keeps_the_cause_chain_of_the_error_it_holds() {
        let shared = SharedError::from(BoxError::from(Box::new(Connecting(Opening(Root)))));
        let source = std::error::Error::source(&shared).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("opening sqlite:///nonexistent-dir/app.db")
        );
        let root = std::error::Error::source(&shared)
            .and_then(std::error::Error::source)
            .map(ToString::to_string);
        assert_eq!(
            root.as_deref(),
            Some("unable to open database file (code 14)")
        );
    }

    #[test]
    fn a_shared_error_displays_as_the_error_it_holds() {
        let shared = SharedError::from(BoxError::from(Box::new(Opening(Root))));
        assert_eq!(
            shared.to_string(),
            "opening sqlite:///nonexistent-dir/app.db"
        );
        assert_eq!(shared.inner().to_string(), shared.to_string());
    }

    #[test]
    fn display_shows_every_cause_down_to_the_root() {
        let failure = failed_with(Box::new(Opening(Root)));
        assert_eq!(
            failure.cause().to_string(),
            "opening sqlite:///nonexistent-dir/app.db: unable to open database file (code 14)"
        );
        assert_eq!(
            failure.to_string(),
            "module \"database\" failed in its install hook: \
             opening sqlite:///nonexistent-dir/app.db: unable to open database file (code 14)"
        );
    }

    #[test]
    fn a_cause_already_in_its_parents_message_is_shown_once() {
        // `Connecting` prints `Opening`, which does not print `Root`: each level once.
        let failure = failed_with(Box::new(Connecting(Opening(Root))));
        assert_eq!(
            failure.cause().to_string(),
            "connecting: opening sqlite:///nonexistent-dir/app.db: \
             unable to open database file (code 14)"
        );
    }

    #[test]
    fn sources_lead_to_the_hooks_own_error_and_below() {
        let failure = failed_with(Box::new(Opening(Root)));
        let cause = failure.source().expect("the cause");
        assert!(cause.is::<FailureCause>());
        let own = cause.source().expect("the hook's error");
        assert!(own.is::<Opening>(), "{own:?}");
        let root = own.source().expect("its source");
        assert!(root.is::<Root>(), "{root:?}");
        assert!(root.source().is_none());
    }

    #[test]
    fn causes_that_are_not_errors_have_no_source() {
        for cause in [
            FailureCause::Panic("boom".into()),
            FailureCause::TimedOut(Duration::from_secs(1)),
            FailureCause::DeadlinePassed,
        ] {
            assert!(cause.source().is_none(), "{cause}");
        }
    }
}
