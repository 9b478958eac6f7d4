//! systemd's notify protocol (`sd_notify(3)`): telling a service manager that the
//! application is ready, what it is doing, that it is stopping, and that it is alive.
//!
//! A unit of `Type=notify` passes the path of a datagram socket in `NOTIFY_SOCKET`; each
//! datagram holds `KEY=value` lines. [`ModuleManager::run_until`](crate::ModuleManager::run_until)
//! and `symphra run` send `READY=1` once every module is ready, `STATUS=` with a one-line
//! summary, `STOPPING=1` when stopping, and `WATCHDOG=1` at half of `WATCHDOG_USEC` while
//! they run. Without `NOTIFY_SOCKET` nothing is sent.
//!
//! Written on std's `UnixDatagram` rather than the `sd-notify` crate: that crate reads the
//! socket only from the environment, and a notifier aimed at a socket of the caller's
//! choosing is what lets tests (and embedders) use it without changing the process
//! environment.

use std::convert::Infallible;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

/// The longest `STATUS=` text sent; longer text is cut (at a character boundary).
pub const MAX_STATUS_LEN: usize = 256;

/// One message to the service manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notification<'a> {
    /// `READY=1`: the start is complete and every module is ready.
    Ready,
    /// `STATUS=…`: a one-line summary for `systemctl status` (newlines become spaces, cut
    /// at [`MAX_STATUS_LEN`] bytes).
    Status(&'a str),
    /// `STOPPING=1`: the application is stopping.
    Stopping,
    /// `WATCHDOG=1`: the application is alive.
    Watchdog,
}

impl fmt::Display for Notification<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notification::Ready => f.write_str("READY=1"),
            Notification::Stopping => f.write_str("STOPPING=1"),
            Notification::Watchdog => f.write_str("WATCHDOG=1"),
            Notification::Status(text) => {
                f.write_str("STATUS=")?;
                let mut end = text.len().min(MAX_STATUS_LEN);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                for c in text[..end].chars() {
                    let c = if c.is_control() { ' ' } else { c };
                    write!(f, "{c}")?;
                }
                Ok(())
            }
        }
    }
}

/// Why a notifier could not be made or a message not sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// `NOTIFY_SOCKET` is neither an absolute path nor an abstract name (`@name`).
    #[error(
        "NOTIFY_SOCKET={prefix:?} is neither an absolute path nor an abstract socket name (@name); fix the unit or unset it"
    )]
    BadSocket {
        /// The first characters of the value.
        prefix: String,
    },
    /// The socket could not be made or the datagram not sent.
    #[error("cannot notify the service manager at {target}: {source}")]
    Io {
        /// The socket, as `NOTIFY_SOCKET` names it.
        target: String,
        /// What the system said.
        #[source]
        source: io::Error,
    },
}

/// Where the datagrams go.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    /// A socket file.
    Path(PathBuf),
    /// A Linux abstract socket (`@name` in `NOTIFY_SOCKET`), without the `@`.
    Abstract(Vec<u8>),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Path(path) => write!(f, "{}", path.display()),
            Target::Abstract(name) => write!(f, "@{}", String::from_utf8_lossy(name)),
        }
    }
}

/// Sends notifications to a service manager's socket.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    target: Target,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// The notifier the environment asks for: `None` when `NOTIFY_SOCKET` is unset (not
    /// under systemd) or unusable (logged as a warning). Its watchdog period is
    /// `WATCHDOG_USEC` when set and meant for this process (`WATCHDOG_PID` unset or ours).
    pub fn from_env() -> Option<Self> {
        let socket = std::env::var_os("NOTIFY_SOCKET")?;
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let pid = std::env::var("WATCHDOG_PID").ok();
        let watchdog = watchdog_period(usec.as_deref(), pid.as_deref(), std::process::id());
        match Self::to_socket(&socket) {
            Ok(notifier) => Some(notifier.with_watchdog(watchdog)),
            Err(error) => {
                tracing::warn!(%error, "systemd notifications disabled");
                None
            }
        }
    }

    /// A notifier sending to `socket`, in `NOTIFY_SOCKET`'s form: an absolute path, or
    /// `@name` for an abstract socket. It has no watchdog period until
    /// [`with_watchdog`](Self::with_watchdog) gives one.
    pub fn to_socket(socket: &OsStr) -> Result<Self, NotifyError> {
        let target = parse_target(socket)?;
        let unbound = UnixDatagram::unbound().map_err(|source| NotifyError::Io {
            target: target.to_string(),
            source,
        })?;
        // A full socket buffer must not stall the runtime: the datagram is dropped instead.
        unbound
            .set_nonblocking(true)
            .map_err(|source| NotifyError::Io {
                target: target.to_string(),
                source,
            })?;
        Ok(Self {
            socket: unbound,
            target,
            watchdog: None,
        })
    }

    /// The same notifier with the watchdog period `WatchdogSec=` set: [`keep_alive`]
    /// sends `WATCHDOG=1` at half of it. `None` turns the watchdog off.
    ///
    /// [`keep_alive`]: Self::keep_alive
    pub fn with_watchdog(mut self, period: Option<Duration>) -> Self {
        self.watchdog = period.filter(|period| !period.is_zero());
        self
    }

    /// The watchdog period, if the service manager asked for one.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Sends `messages` in one datagram, one per line, in order.
    pub fn send(&self, messages: &[Notification<'_>]) -> Result<(), NotifyError> {
        let text = messages
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        let sent = match &self.target {
            Target::Path(path) => self.socket.send_to(text.as_bytes(), path),
            Target::Abstract(name) => send_abstract(&self.socket, text.as_bytes(), name),
        };
        sent.map(|_| ()).map_err(|source| NotifyError::Io {
            target: self.target.to_string(),
            source,
        })
    }

    /// Sends `messages`, logging a failure instead of returning it: a service manager that
    /// went away must not stop the application.
    pub fn send_or_log(&self, messages: &[Notification<'_>]) {
        if let Err(error) = self.send(messages) {
            tracing::warn!(%error, "systemd notification not sent");
        }
    }

    /// Sends `WATCHDOG=1` now and at every half of the watchdog period, forever; pending
    /// forever without a watchdog period. Run it beside the work it vouches for; it never
    /// returns.
    pub async fn keep_alive(&self) -> Infallible {
        let Some(period) = self.watchdog else {
            return std::future::pending().await;
        };
        let mut ticks = tokio::time::interval(period / 2);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.send_or_log(&[Notification::Watchdog]);
        }
    }
}

/// The target `NOTIFY_SOCKET` names.
fn parse_target(socket: &OsStr) -> Result<Target, NotifyError> {
    use std::os::unix::ffi::OsStrExt as _;
    let bytes = socket.as_bytes();
    match bytes.first() {
        Some(b'/') => Ok(Target::Path(PathBuf::from(socket))),
        Some(b'@') if bytes.len() > 1 => Ok(Target::Abstract(bytes[1..].to_vec())),
        _ => Err(NotifyError::BadSocket {
            prefix: socket.to_string_lossy().chars().take(32).collect(),
        }),
    }
}

/// The watchdog period from `WATCHDOG_USEC`, when it is meant for the process `own_pid`:
/// `WATCHDOG_PID` unset, or equal to it. A value that does not parse means no watchdog.
pub fn watchdog_period(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok() != Some(own_pid)
    {
        return None;
    }
    let usec = usec?.trim().parse::<u64>().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn send_abstract(socket: &UnixDatagram, data: &[u8], name: &[u8]) -> io::Result<usize> {
    use std::os::linux::net::SocketAddrExt as _;
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    socket.send_to_addr(data, &address)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn send_abstract(_socket: &UnixDatagram, _data: &[u8], _name: &[u8]) -> io::Result<usize> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets exist only on Linux",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_one_line_and_bounded() {
        let text = format!("a\nb{}", "é".repeat(MAX_STATUS_LEN));
        let line = Notification::Status(&text).to_string();
        assert!(line.starts_with("STATUS=a b"));
        assert!(!line.contains('\n'));
        assert!(line.len() <= "STATUS=".len() + MAX_STATUS_LEN);
    }

    #[test]
    fn targets() {
        assert_eq!(
            parse_target(OsStr::new("/run/x")).ok(),
            Some(Target::Path("/run/x".into()))
        );
        assert_eq!(
            parse_target(OsStr::new("@sd")).ok(),
            Some(Target::Abstract(b"sd".to_vec()))
        );
        for bad in ["", "@", "relative/path"] {
            assert!(parse_target(OsStr::new(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn watchdog_only_for_this_process() {
        let five = Some(Duration::from_secs(5));
        assert_eq!(watchdog_period(Some("5000000"), None, 7), five);
        assert_eq!(watchdog_period(Some("5000000"), Some("7"), 7), five);
        assert_eq!(watchdog_period(Some("5000000"), Some("8"), 7), None);
        assert_eq!(watchdog_period(Some("0"), None, 7), None);
        assert_eq!(watchdog_period(Some("soon"), None, 7), None);
        assert_eq!(watchdog_period(None, None, 7), None);
    }
}
