//! The lifecycle hooks a module implements.

use std::fmt;

/// Declares the hooks from one list: the enum, [`Hook::ALL`] and the names, so that a new
/// hook cannot be left out of any of them (arrays indexed by hook are sized from `ALL`).
macro_rules! hooks {
    ($($(#[$doc:meta])* $hook:ident => $name:literal,)*) => {
        /// One lifecycle hook of a module.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(rename_all = "lowercase")]
        pub enum Hook {
            $($(#[$doc])* $hook,)*
        }

        impl Hook {
            /// Every hook, in lifecycle order.
            pub const ALL: [Hook; [$(Hook::$hook),*].len()] = [$(Hook::$hook),*];

            /// The hook's name in lowercase, as used in logs and events.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Hook::$hook => $name,)*
                }
            }
        }
    };
}

hooks! {
    /// One-time initialisation after registration (`Registered → Loaded`).
    Bootstrap => "bootstrap",
    /// Receives the validated configuration (`Loaded → Installed`).
    Install => "install",
    /// Starts serving (`Installed`/`Stopped` → `Started`).
    Start => "start",
    /// Stops serving (`Started → Stopped`).
    Stop => "stop",
    /// Releases what install set up (`Installed`/`Stopped` → `Loaded`).
    Uninstall => "uninstall",
    /// Re-reads configuration or refreshes resources while running (`Started → Started`).
    Reload => "reload",
}

impl Hook {
    /// Whether the hook tears something down. A teardown hook that fails is abandoned: the
    /// module moves on as if it had succeeded (and is reported `Failed`), so that shutdown
    /// always makes progress.
    pub const fn is_teardown(self) -> bool {
        // Every hook named, so that a new one must be decided on.
        match self {
            Hook::Stop | Hook::Uninstall => true,
            Hook::Bootstrap | Hook::Install | Hook::Start | Hook::Reload => false,
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
