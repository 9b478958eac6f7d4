//! The lifecycle hooks a module implements.

use std::fmt;

/// One lifecycle hook of a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    /// One-time initialisation after registration (`Registered → Loaded`).
    Bootstrap,
    /// Receives the validated configuration (`Loaded → Installed`).
    Install,
    /// Starts serving (`Installed`/`Stopped` → `Started`).
    Start,
    /// Stops serving (`Started → Stopped`).
    Stop,
    /// Releases what install set up (`Installed`/`Stopped` → `Loaded`).
    Uninstall,
    /// Re-reads configuration or refreshes resources while running (`Started → Started`).
    Reload,
}

impl Hook {
    /// Every hook, in lifecycle order.
    pub const ALL: [Hook; 6] = [
        Hook::Bootstrap,
        Hook::Install,
        Hook::Start,
        Hook::Stop,
        Hook::Uninstall,
        Hook::Reload,
    ];

    /// The hook's name in lowercase, as used in logs and events.
    pub const fn as_str(self) -> &'static str {
        match self {
            Hook::Bootstrap => "bootstrap",
            Hook::Install => "install",
            Hook::Start => "start",
            Hook::Stop => "stop",
            Hook::Uninstall => "uninstall",
            Hook::Reload => "reload",
        }
    }

    /// Whether the hook tears something down. A teardown hook that fails is abandoned: the
    /// module moves on as if it had succeeded (and is reported `Failed`), so that shutdown
    /// always makes progress.
    pub const fn is_teardown(self) -> bool {
        matches!(self, Hook::Stop | Hook::Uninstall)
    }
}

// `ALL` lists every hook once, in declaration order: arrays indexed by hook are sized from
// it, so a hook missing from it would go unnoticed without this check.
const _: () = {
    let mut i = 0;
    while i < Hook::ALL.len() {
        assert!(Hook::ALL[i] as usize == i);
        i += 1;
    }
    assert!(
        Hook::ALL.len() == Hook::Reload as usize + 1,
        "`Reload` is the last hook"
    );
};

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
