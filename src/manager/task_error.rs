//! The errors of owned tasks: why a task could not be spawned, and why a task failed its
//! module.

use std::sync::Arc;

use crate::lifecycle::{BoxError, ModuleState};

/// Why [`Context::spawn`](crate::Context::spawn) (or one of its siblings) refused a task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// Tasks belong to a run of the module: they can be spawned while it starts or runs,
    /// not before its `start` hook, nor once it is stopping or has failed.
    #[error(
        "module {module:?} cannot spawn task {task:?} while it is {state}; spawn tasks from its start hook or while it runs"
    )]
    NotRunning {
        /// The module.
        module: Arc<str>,
        /// The task's name.
        task: Arc<str>,
        /// The module's state when the task was refused.
        state: ModuleState,
    },
    /// The calling thread is outside any tokio runtime, so there is nowhere to run the task.
    #[error(
        "module {module:?} cannot spawn task {task:?}: no tokio runtime on this thread; spawn from a hook or from a task of the module"
    )]
    NoRuntime {
        /// The module.
        module: Arc<str>,
        /// The task's name.
        task: Arc<str>,
        /// What tokio said.
        #[source]
        source: tokio::runtime::TryCurrentError,
    },
}

/// How an owned task failed its module; the cause of the module's failure is
/// [`FailureCause::Error`](crate::lifecycle::FailureCause::Error) holding one of these.
///
/// The message includes the task's own error, so that a `module.failed` event, which
/// carries only the text, still says what happened; [`source`](std::error::Error::source)
/// gives the error itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The task returned an error.
    #[error("task {task:?} failed while the module ran: {error}")]
    Failed {
        /// The task's name.
        task: Arc<str>,
        /// What it returned.
        #[source]
        error: BoxError,
    },
    /// The task panicked.
    #[error("task {task:?} panicked while the module ran: {message}")]
    Panicked {
        /// The task's name.
        task: Arc<str>,
        /// The panic message.
        message: String,
    },
    /// A long-running task ([`Context::spawn`](crate::Context::spawn)) returned before its
    /// shutdown signal: whatever it served is no longer served.
    #[error(
        "task {task:?} ended before its shutdown signal; a task spawned with `spawn` must run until the module stops (use `spawn_finite` for finite work)"
    )]
    EndedEarly {
        /// The task's name.
        task: Arc<str>,
    },
}

impl TaskError {
    /// The name of the task that failed.
    pub fn task(&self) -> &str {
        match self {
            TaskError::Failed { task, .. }
            | TaskError::Panicked { task, .. }
            | TaskError::EndedEarly { task } => task,
        }
    }
}
