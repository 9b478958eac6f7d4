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
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FailureCause {
    /// The hook returned an error.
    #[error("{0}")]
    Error(SharedError),
    /// The hook panicked; the text is the panic message.
    #[error("it panicked: {0}")]
    Panic(String),
    /// The hook ran past its time limit and was abandoned.
    #[error(
        "it did not finish within {0:?} and was abandoned; make it faster or raise the hook timeout"
    )]
    TimedOut(Duration),
    /// The configuration broke the module's schema, so `install` was not called.
    #[error("its configuration is invalid: {}; fix the configuration to match the module's schema", list(.0))]
    InvalidConfig(Vec<Violation>),
    /// The hook was not run because the shutdown deadline had already passed.
    #[error("the shutdown deadline passed before it could run")]
    DeadlinePassed,
    /// The module's owned tasks (see [`Context::spawn`](crate::Context::spawn)) named here
    /// were still running at the stop deadline and were aborted.
    #[error("tasks still running at the stop deadline were aborted: {}", tasks.join(", "))]
    TasksAborted {
        /// The names the tasks were spawned with.
        tasks: Vec<Arc<str>>,
    },
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
        FailureCause::Panic(crate::util::panic_message(payload))
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
}
