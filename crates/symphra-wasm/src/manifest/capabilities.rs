//! What a module is granted by its manifest: topics, WASI (environment, folders, stdio),
//! memory, time, and the bound of its inbox.

use std::path::PathBuf;
use std::time::Duration;

use symphra::bus::Pattern;

/// The hook time limit when the manifest sets none: 10 s.
///
/// Shorter than the manager's ([`symphra::manager::DEFAULT_HOOK_TIMEOUT`], 60 s) on
/// purpose: it bounds how long a guest *runs* (epoch interruption), not how long a hook is
/// waited for. A guest has no network, so its hooks compute rather than wait on a server,
/// and 10 s of running is a stuck guest. It also bounds every run of `on-event` deliveries
/// (see [`Capabilities::hook_timeout`]). The manager's limit still applies to every hook
/// on top.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The memory limit when the manifest sets none: 64 MiB.
pub const DEFAULT_MEMORY_LIMIT: u64 = 64 * 1024 * 1024;

/// How many events may wait for a guest when the manifest sets no `inbox-events`: 1,024.
pub const DEFAULT_INBOX_EVENTS: usize = 1024;

/// How many bytes of events (topics and payloads) may wait for a guest when the manifest
/// sets no `inbox-bytes`: 4 MiB.
pub const DEFAULT_INBOX_BYTES: u64 = 4 * 1024 * 1024;

/// The largest `inbox-events` a manifest may ask for.
pub const MAX_INBOX_EVENTS: usize = 1 << 20;

/// The largest `inbox-bytes` a manifest may ask for: 1 GiB.
pub const MAX_INBOX_BYTES: u64 = 1 << 30;

/// The first tokens of the topics only the runtime publishes on: `module.>` (lifecycle,
/// failures) and `bus.>`. A guest may subscribe to them, never publish.
pub const RESERVED_TOPIC_ROOTS: [&str; 2] = ["module", "bus"];

/// Whether `topic` (or a pattern) starts with a token reserved for the runtime.
pub fn is_reserved_topic(topic: &str) -> bool {
    let first = topic.split('.').next().unwrap_or("");
    RESERVED_TOPIC_ROOTS.contains(&first)
}

/// Where the guest sees its data folder (`[capabilities] data = true`).
pub const DATA_GUEST_PATH: &str = "/data";

/// What happens to an event that arrives when a guest's inbox is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InboxPolicy {
    /// The arriving event is dropped (and counted); the queued ones are kept.
    #[default]
    DropNewest,
    /// The oldest queued events are dropped (and counted) to make room.
    DropOldest,
}

impl InboxPolicy {
    /// The policy as the manifest writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DropNewest => "drop-newest",
            Self::DropOldest => "drop-oldest",
        }
    }
}

/// What a module is granted. Everything not listed is denied.
#[derive(Debug, Clone, PartialEq)]
pub struct Capabilities {
    /// Topic patterns the module may publish on (never under the reserved roots, see
    /// [`RESERVED_TOPIC_ROOTS`]).
    pub publish: Vec<Pattern>,
    /// Topic patterns the module may subscribe within.
    pub subscribe: Vec<Pattern>,
    /// Environment variables (names) the module asks to read through WASI; each must also
    /// be granted by the operator ([`OperatorGrants`](crate::OperatorGrants)).
    pub env: Vec<String>,
    /// Directories the module asks to open through WASI: inside its folder, or granted by
    /// the operator.
    pub dirs: Vec<DirGrant>,
    /// Maximum linear memory of the module, in bytes.
    pub memory_limit: u64,
    /// How long the guest may run without a pause: one hook call, or one run of `on-event`
    /// deliveries (events delivered back to back, including those the guest causes itself,
    /// share one budget, which is renewed only when its inbox is empty).
    pub hook_timeout: Duration,
    /// Whether the module's stdout and stderr go to the host's (through WASI).
    pub stdio: bool,
    /// Whether the module asks for its own writable data folder, which Symphra creates
    /// under the operator's data root and opens for the guest at [`DATA_GUEST_PATH`]
    /// (see [`OperatorGrants::data_root`](crate::OperatorGrants::data_root)).
    pub data: bool,
    /// How many events may wait for the guest.
    pub inbox_events: usize,
    /// How many bytes of events (topic and payload) may wait for the guest.
    pub inbox_bytes: u64,
    /// What happens to an event that arrives when the inbox is full.
    pub inbox_policy: InboxPolicy,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            publish: Vec::new(),
            subscribe: Vec::new(),
            env: Vec::new(),
            dirs: Vec::new(),
            memory_limit: DEFAULT_MEMORY_LIMIT,
            hook_timeout: DEFAULT_HOOK_TIMEOUT,
            stdio: false,
            data: false,
            inbox_events: DEFAULT_INBOX_EVENTS,
            inbox_bytes: DEFAULT_INBOX_BYTES,
            inbox_policy: InboxPolicy::default(),
        }
    }
}

impl Capabilities {
    /// Whether publishing on `topic` is granted: a granted pattern matches it and it is not
    /// reserved for the runtime.
    pub fn may_publish(&self, topic: &str) -> bool {
        !is_reserved_topic(topic) && self.publish.iter().any(|granted| granted.matches(topic))
    }

    /// Whether subscribing to `pattern` is granted: every topic it can match must be
    /// matched by one granted pattern ([`Pattern::covers`]). A pattern that does not parse
    /// is not granted.
    pub fn may_subscribe(&self, pattern: &str) -> bool {
        let Ok(asked) = Pattern::parse(pattern) else {
            return false;
        };
        self.subscribe.iter().any(|granted| granted.covers(&asked))
    }

    /// What `self` grants that `before` did not, one phrase each (empty when nothing):
    /// what a reload must not add unless the operator allows it.
    pub fn widened_from(&self, before: &Capabilities) -> Vec<String> {
        let mut wider = Vec::new();
        for pattern in &self.publish {
            if !before.publish.iter().any(|p| p.covers(pattern)) {
                wider.push(format!("publish `{pattern}`"));
            }
        }
        for pattern in &self.subscribe {
            if !before.subscribe.iter().any(|p| p.covers(pattern)) {
                wider.push(format!("subscribe `{pattern}`"));
            }
        }
        for name in &self.env {
            if !before.env.contains(name) {
                wider.push(format!("environment variable `{name}`"));
            }
        }
        for dir in &self.dirs {
            let covered = before
                .dirs
                .iter()
                .any(|d| d.host == dir.host && d.guest == dir.guest && (d.write || !dir.write));
            if !covered {
                let access = if dir.write { "read-write" } else { "read-only" };
                wider.push(format!("{access} folder `{}`", dir.host.display()));
            }
        }
        if self.memory_limit > before.memory_limit {
            wider.push(format!("memory-limit {} bytes", self.memory_limit));
        }
        if self.hook_timeout > before.hook_timeout {
            wider.push(format!("hook-timeout {:?}", self.hook_timeout));
        }
        if self.stdio && !before.stdio {
            wider.push("stdio".to_owned());
        }
        if self.data && !before.data {
            wider.push("a data folder".to_owned());
        }
        if self.inbox_events > before.inbox_events || self.inbox_bytes > before.inbox_bytes {
            wider.push("a larger inbox".to_owned());
        }
        wider
    }
}

/// A directory a module may open through WASI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// The directory on the host: relative to the module folder, and inside it, unless the
    /// operator grants a folder outside.
    pub host: PathBuf,
    /// The path the guest sees.
    pub guest: String,
    /// Whether the guest may create, write and delete files in it.
    pub write: bool,
}
