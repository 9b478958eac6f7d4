//! The `[health]` table of a manifest: when the module is ready, its health check's
//! schedule and its watchdog (see [`symphra::health`]). Each needs a component built
//! against `symphra:module@0.2.0` (checked when the component is loaded).
//!
//! ```toml
//! [health]
//! ready = "signal"             # "start" (ready when start returns, the default) or
//!                              # "signal" (ready once the guest calls host.ready)
//! interval = "10s"             # run the guest's health.check this often ...
//! timeout = "2s"               # ... each answering within this (default: the interval)
//! unhealthy-after = "30s"      # unhealthy this long fails it (default: 3 intervals)
//! watchdog = "30s"             # host.heartbeat at least this often, or it fails
//! ```

use std::time::Duration;

use serde::Deserialize;
use symphra::health::HealthCheck;
use symphra::util::parse_duration;
use toml::Spanned;

use super::error::ManifestErrorKind;
use super::limits::{check_text, quote};
use super::{Located, at, sanitize};

/// The shortest interval, timeout, threshold or watchdog period a manifest may ask for:
/// 10 ms (shorter would keep the host busy running checks).
pub const MIN_HEALTH_PERIOD: Duration = Duration::from_millis(10);

/// The longest interval, timeout, threshold or watchdog period a manifest may ask for:
/// 1 day.
pub const MAX_HEALTH_PERIOD: Duration = Duration::from_secs(24 * 3600);

/// When a module is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Readiness {
    /// As soon as its `start` returns (`ready = "start"`, the default).
    #[default]
    Start,
    /// Once the guest calls `host.ready` (`ready = "signal"`; systemd's `Type=notify`).
    Signal,
}

impl Readiness {
    /// The value as the manifest writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Signal => "signal",
        }
    }
}

/// What the `[health]` table declares; the default declares nothing (ready when `start`
/// returns, no check, no watchdog).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthSettings {
    /// When the module is ready.
    pub ready: Readiness,
    /// The schedule of the guest's `health.check`, if it has one.
    pub check: Option<HealthCheck>,
    /// The watchdog period, if the module has one.
    pub watchdog: Option<Duration>,
}

impl HealthSettings {
    /// Whether anything is declared (then the component must be built against 0.2.0).
    pub fn is_declared(&self) -> bool {
        *self != Self::default()
    }
}

/// The `[health]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawHealth {
    ready: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    unhealthy_after: Option<Spanned<String>>,
    watchdog: Option<Spanned<String>>,
}

/// A period of the table: a duration in the core's grammar, within
/// [`MIN_HEALTH_PERIOD`]..=[`MAX_HEALTH_PERIOD`].
fn period(value: &Spanned<String>, field: &str) -> Result<Duration, Located> {
    let text = value.get_ref();
    let parse = || {
        check_text(text, 64)?;
        let duration = parse_duration(text)
            .map_err(|error| (ManifestErrorKind::Invalid, sanitize(&error.to_string())))?;
        if duration < MIN_HEALTH_PERIOD {
            return Err((
                ManifestErrorKind::Invalid,
                format!(
                    "{} is under the least of {MIN_HEALTH_PERIOD:?}; checking that often would keep the host busy",
                    quote(text)
                ),
            ));
        }
        if duration > MAX_HEALTH_PERIOD {
            return Err((
                ManifestErrorKind::TooLarge,
                format!("{} is over the limit of {MAX_HEALTH_PERIOD:?}", quote(text)),
            ));
        }
        Ok(duration)
    };
    at(parse(), value.span(), field)
}

impl RawHealth {
    /// The settings the table describes.
    pub(super) fn settings(self) -> Result<HealthSettings, Located> {
        let ready = match &self.ready {
            None => Readiness::Start,
            Some(ready) => match ready.get_ref().as_str() {
                "start" => Readiness::Start,
                "signal" => Readiness::Signal,
                other => {
                    return Err((
                        ready.span(),
                        "health.ready".to_owned(),
                        ManifestErrorKind::Invalid,
                        format!(
                            "{} is not a readiness; write \"start\" or \"signal\"",
                            quote(other)
                        ),
                    ));
                }
            },
        };
        let check = match &self.interval {
            None => {
                // A timeout or threshold alone would silently check nothing.
                if let Some((value, field)) = self
                    .timeout
                    .as_ref()
                    .map(|v| (v, "health.timeout"))
                    .or_else(|| {
                        self.unhealthy_after
                            .as_ref()
                            .map(|v| (v, "health.unhealthy-after"))
                    })
                {
                    return Err((
                        value.span(),
                        field.to_owned(),
                        ManifestErrorKind::Invalid,
                        "set without `interval`, so no check would run; add interval = \"10s\" (or similar)".to_owned(),
                    ));
                }
                None
            }
            Some(interval) => {
                let mut check = HealthCheck::every(period(interval, "health.interval")?);
                if let Some(timeout) = &self.timeout {
                    check = check.timeout(period(timeout, "health.timeout")?);
                }
                if let Some(after) = &self.unhealthy_after {
                    check = check.unhealthy_after(period(after, "health.unhealthy-after")?);
                }
                Some(check)
            }
        };
        let watchdog = match &self.watchdog {
            None => None,
            Some(value) => Some(period(value, "health.watchdog")?),
        };
        Ok(HealthSettings {
            ready,
            check,
            watchdog,
        })
    }
}
