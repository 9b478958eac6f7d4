//! The lifecycle state machine: states, operations, and which operation is legal when.

use std::fmt;

use crate::lifecycle::Hook;

/// Where a module is in its lifecycle.
///
/// ```text
/// Registered ─bootstrap→ Loaded ─install→ Installed ─start→ Starting → Started
///                          ↑                   ↑                          │ stop
///                          └──── uninstall ────┴──── Stopped ← Stopping ←─┘
/// ```
///
/// `Failed` can follow any hook; the module's [`failure`](crate::manager::ModuleHandle::failure)
/// says which hook failed and why, and the module recovers as described on
/// [`Failed`](ModuleState::Failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModuleState {
    /// Known to the manager; `bootstrap` has not run.
    Registered,
    /// `bootstrap` ran.
    Loaded,
    /// `install` ran with a validated configuration.
    Installed,
    /// `start` is running.
    Starting,
    /// `start` completed; the module is serving.
    Started,
    /// `stop` is running.
    Stopping,
    /// `stop` completed.
    Stopped,
    /// A hook failed. A setup hook (`bootstrap`, `install`, `start`, `reload`) leaves the
    /// module where it was, so the same operation can be retried; a teardown hook (`stop`,
    /// `uninstall`) is abandoned and the module moves on as if it had completed, so that
    /// shutdown always makes progress.
    Failed,
}

impl ModuleState {
    /// Every state, in declaration order: `ALL[state as usize] == state`.
    pub const ALL: [ModuleState; 8] = [
        ModuleState::Registered,
        ModuleState::Loaded,
        ModuleState::Installed,
        ModuleState::Starting,
        ModuleState::Started,
        ModuleState::Stopping,
        ModuleState::Stopped,
        ModuleState::Failed,
    ];

    /// The state whose `as u8` is `index`; `Failed` for an index out of range, which
    /// [`StateCell::pack`] never makes.
    const fn from_index(index: u8) -> Self {
        if (index as usize) < Self::ALL.len() {
            Self::ALL[index as usize]
        } else {
            ModuleState::Failed
        }
    }

    /// The state's name in lowercase, as used in logs and events.
    pub const fn as_str(self) -> &'static str {
        match self {
            ModuleState::Registered => "registered",
            ModuleState::Loaded => "loaded",
            ModuleState::Installed => "installed",
            ModuleState::Starting => "starting",
            ModuleState::Started => "started",
            ModuleState::Stopping => "stopping",
            ModuleState::Stopped => "stopped",
            ModuleState::Failed => "failed",
        }
    }
}

impl fmt::Display for ModuleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An operation the manager performs on a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Run `bootstrap`.
    Load,
    /// Validate the configuration and run `install`.
    Install,
    /// Run whatever of `bootstrap`, `install` and `start` has not run yet.
    Start,
    /// Run `stop`.
    Stop,
    /// Run `uninstall`.
    Uninstall,
    /// Remove the module from the manager.
    Unload,
    /// Run `reload` on a started module.
    Reload,
}

impl Operation {
    /// The operation's name in lowercase.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Load => "load",
            Operation::Install => "install",
            Operation::Start => "start",
            Operation::Stop => "stop",
            Operation::Uninstall => "uninstall",
            Operation::Unload => "unload",
            Operation::Reload => "reload",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A module's state and the stable state it recovers to after a failure. Small and `Copy`,
/// so that the manager can keep it in one atomic word (see [`StateCell::pack`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StateCell {
    pub(crate) state: ModuleState,
    /// The state the module behaves as while `Failed`.
    pub(crate) fallback: ModuleState,
}

/// What an operation has to do, decided from the current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// The hooks to run, in order (at most three: bootstrap, install, start).
    Run(HookChain),
    /// The module is already where the operation would take it.
    Unchanged,
}

/// The hooks one operation runs one after another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HookChain {
    hooks: [Hook; HookChain::LONGEST],
    len: u8,
}

impl HookChain {
    /// The most hooks one operation runs: a start from `Registered` runs bootstrap,
    /// install and start. Every report entry keeps a timing per hook of its chain, so the
    /// room is not sized for every hook; a longer chain fails to build in [`of`](Self::of)
    /// rather than being cut short at run time.
    pub(crate) const LONGEST: usize = 3;

    /// A chain of `hooks`, in order.
    fn of<const N: usize>(hooks: [Hook; N]) -> Self {
        const { assert!(N <= HookChain::LONGEST, "raise HookChain::LONGEST") };
        let mut chain = Self {
            hooks: [Hook::Bootstrap; HookChain::LONGEST],
            len: 0,
        };
        chain.hooks[..N].copy_from_slice(&hooks);
        chain.len = N as u8;
        chain
    }

    /// The hooks, in the order they run.
    pub(crate) fn hooks(&self) -> &[Hook] {
        &self.hooks[..usize::from(self.len)]
    }
}

impl StateCell {
    pub(crate) const fn new() -> Self {
        Self {
            state: ModuleState::Registered,
            fallback: ModuleState::Registered,
        }
    }

    /// The cell as one word: the state in the low byte, the fallback in the high one.
    pub(crate) const fn pack(self) -> u16 {
        self.state as u16 | (self.fallback as u16) << 8
    }

    /// The cell [`pack`](Self::pack) made `word` from.
    pub(crate) const fn unpack(word: u16) -> Self {
        Self {
            state: ModuleState::from_index(word as u8),
            fallback: ModuleState::from_index((word >> 8) as u8),
        }
    }

    /// The state the module behaves as: its own, or, when `Failed`, the one it recovers to.
    pub(crate) fn effective(&self) -> ModuleState {
        match self.state {
            ModuleState::Failed => self.fallback,
            state => state,
        }
    }

    /// Decides what `operation` must do, or why it is illegal now.
    pub(crate) fn plan(&self, operation: Operation) -> Result<Plan, &'static str> {
        use ModuleState as S;
        let state = self.effective();
        fn chain<const N: usize>(hooks: [Hook; N]) -> Result<Plan, &'static str> {
            Ok(Plan::Run(HookChain::of(hooks)))
        }
        match (operation, state) {
            (_, S::Starting | S::Stopping) => {
                Err("another operation on it is in progress; wait for it to finish")
            }
            (Operation::Load, S::Registered) => chain([Hook::Bootstrap]),
            (Operation::Load, _) => Err("it is already loaded"),
            (Operation::Install, S::Loaded) => chain([Hook::Install]),
            (Operation::Install, S::Registered) => {
                Err("load it first (start loads and installs on its own)")
            }
            (Operation::Install, S::Started) => Err("stop and uninstall it first"),
            (Operation::Install, _) => Err("it is already installed; uninstall it first"),
            (Operation::Start, S::Registered) => {
                chain([Hook::Bootstrap, Hook::Install, Hook::Start])
            }
            (Operation::Start, S::Loaded) => chain([Hook::Install, Hook::Start]),
            (Operation::Start, S::Installed | S::Stopped) => chain([Hook::Start]),
            (Operation::Start, _) => Ok(Plan::Unchanged),
            (Operation::Stop, S::Started) => chain([Hook::Stop]),
            (Operation::Stop, _) => Ok(Plan::Unchanged),
            (Operation::Uninstall, S::Installed | S::Stopped) => chain([Hook::Uninstall]),
            (Operation::Uninstall, S::Started) => Err("stop it first"),
            (Operation::Uninstall, _) => Err("it is not installed"),
            (Operation::Unload, S::Registered | S::Loaded) => chain([]),
            (Operation::Unload, S::Started) => Err("stop and uninstall it first"),
            (Operation::Unload, _) => Err("uninstall it first"),
            (Operation::Reload, S::Started) => chain([Hook::Reload]),
            (Operation::Reload, _) => Err("only a started module can be reloaded; start it first"),
        }
    }

    /// Moves to the state a successful `hook` leads to; returns (old, new).
    pub(crate) fn succeed(&mut self, hook: Hook) -> (ModuleState, ModuleState) {
        let old = self.state;
        self.state = success_state(hook);
        (old, self.state)
    }

    /// Marks the start of a hook that has a transient state (`Starting`, `Stopping`);
    /// returns (old, new) when the state changed.
    pub(crate) fn begin(&mut self, hook: Hook) -> Option<(ModuleState, ModuleState)> {
        // Every hook named: a new one must say whether it has a state of its own meanwhile.
        let transient = match hook {
            Hook::Start => ModuleState::Starting,
            Hook::Stop => ModuleState::Stopping,
            Hook::Bootstrap | Hook::Install | Hook::Uninstall | Hook::Reload => return None,
        };
        let old = self.state;
        if old != ModuleState::Failed {
            self.fallback = old;
        }
        self.state = transient;
        Some((old, transient))
    }

    /// Records a failed `hook`; returns the previous state.
    pub(crate) fn fail(&mut self, hook: Hook) -> ModuleState {
        let previous = self.state;
        self.fallback = if hook.is_teardown() {
            success_state(hook)
        } else {
            match previous {
                ModuleState::Starting | ModuleState::Failed => self.fallback,
                state => state,
            }
        };
        self.state = ModuleState::Failed;
        previous
    }
}

/// The state a hook leads to when it succeeds.
const fn success_state(hook: Hook) -> ModuleState {
    match hook {
        Hook::Bootstrap => ModuleState::Loaded,
        Hook::Install => ModuleState::Installed,
        Hook::Start | Hook::Reload => ModuleState::Started,
        Hook::Stop => ModuleState::Stopped,
        Hook::Uninstall => ModuleState::Loaded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(state: ModuleState) -> StateCell {
        StateCell {
            state,
            fallback: state,
        }
    }

    #[test]
    fn an_index_out_of_range_reads_as_failed() {
        for (index, state) in ModuleState::ALL.iter().enumerate() {
            assert_eq!(ModuleState::from_index(index as u8), *state);
        }
        let past_the_end = ModuleState::ALL.len() as u8;
        assert_eq!(ModuleState::from_index(past_the_end), ModuleState::Failed);
        assert_eq!(ModuleState::from_index(u8::MAX), ModuleState::Failed);
    }

    #[test]
    fn start_runs_only_the_missing_hooks() {
        let hooks = |state| match cell(state).plan(Operation::Start) {
            Ok(Plan::Run(chain)) => chain.hooks().to_vec(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            hooks(ModuleState::Registered),
            [Hook::Bootstrap, Hook::Install, Hook::Start]
        );
        assert_eq!(hooks(ModuleState::Loaded), [Hook::Install, Hook::Start]);
        assert_eq!(hooks(ModuleState::Installed), [Hook::Start]);
        assert_eq!(hooks(ModuleState::Stopped), [Hook::Start]);
        assert_eq!(
            cell(ModuleState::Started).plan(Operation::Start),
            Ok(Plan::Unchanged)
        );
    }

    #[test]
    fn illegal_operations_say_what_to_do() {
        let cases = [
            (
                ModuleState::Started,
                Operation::Install,
                "stop and uninstall",
            ),
            (ModuleState::Started, Operation::Uninstall, "stop it first"),
            (
                ModuleState::Started,
                Operation::Unload,
                "stop and uninstall",
            ),
            (
                ModuleState::Installed,
                Operation::Unload,
                "uninstall it first",
            ),
            (ModuleState::Stopped, Operation::Reload, "start it first"),
            (ModuleState::Registered, Operation::Install, "load it first"),
            (ModuleState::Loaded, Operation::Load, "already loaded"),
            (ModuleState::Loaded, Operation::Uninstall, "not installed"),
            (ModuleState::Starting, Operation::Stop, "in progress"),
        ];
        for (state, operation, hint) in cases {
            let error = cell(state).plan(operation).expect_err("illegal");
            assert!(error.contains(hint), "{state} {operation}: {error}");
        }
    }

    #[test]
    fn a_failed_setup_hook_keeps_the_module_where_it_was() {
        let mut cell = cell(ModuleState::Installed);
        cell.begin(Hook::Start);
        assert_eq!(cell.state, ModuleState::Starting);
        cell.fail(Hook::Start);
        assert_eq!(cell.state, ModuleState::Failed);
        assert_eq!(cell.effective(), ModuleState::Installed);
        // The start can be retried.
        assert!(matches!(cell.plan(Operation::Start), Ok(Plan::Run(_))));
        cell.begin(Hook::Start);
        cell.succeed(Hook::Start);
        assert_eq!(cell.effective(), ModuleState::Started);
    }

    #[test]
    fn a_start_that_fails_again_and_again_falls_back_to_where_the_module_was() {
        // Reached through its hooks, as the runner does: the fallback is not preset.
        let mut cell = StateCell::new();
        cell.succeed(Hook::Bootstrap);
        cell.succeed(Hook::Install);
        for attempt in 1..=2 {
            cell.begin(Hook::Start);
            cell.fail(Hook::Start);
            assert_eq!(
                cell.effective(),
                ModuleState::Installed,
                "attempt {attempt}"
            );
            match cell.plan(Operation::Start) {
                Ok(Plan::Run(chain)) => assert_eq!(chain.hooks(), [Hook::Start]),
                other => panic!("attempt {attempt}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_failed_teardown_hook_is_abandoned_and_moves_on() {
        let mut cell = cell(ModuleState::Started);
        cell.begin(Hook::Stop);
        cell.fail(Hook::Stop);
        assert_eq!(cell.state, ModuleState::Failed);
        assert_eq!(cell.effective(), ModuleState::Stopped);
        let mut cell = cell_after_uninstall_failure();
        assert_eq!(cell.effective(), ModuleState::Loaded);
        assert!(matches!(cell.plan(Operation::Unload), Ok(Plan::Run(_))));
        cell.succeed(Hook::Bootstrap);
        assert_eq!(cell.state, ModuleState::Loaded);
    }

    fn cell_after_uninstall_failure() -> StateCell {
        let mut cell = cell(ModuleState::Stopped);
        cell.fail(Hook::Uninstall);
        cell
    }

    #[test]
    fn packs_into_one_word_and_back() {
        for state in ModuleState::ALL {
            for fallback in ModuleState::ALL {
                let cell = StateCell { state, fallback };
                assert_eq!(StateCell::unpack(cell.pack()), cell);
            }
        }
    }

    #[test]
    fn a_failed_bootstrap_can_be_retried() {
        let mut cell = StateCell::new();
        cell.fail(Hook::Bootstrap);
        assert_eq!(cell.effective(), ModuleState::Registered);
        assert!(matches!(cell.plan(Operation::Load), Ok(Plan::Run(_))));
    }
}
