//! When a module's health check runs: interval, timeout, start delay, threshold.

use std::time::Duration;

/// The schedule of a module's health check, declared with
/// [`ModuleMetadata::health_check`](crate::ModuleMetadata::health_check) (Kubernetes'
/// `periodSeconds`, `timeoutSeconds`, `initialDelaySeconds`; .NET's publisher period,
/// timeout and delay).
///
/// The check runs on a task of the manager while the module is started: first after the
/// start delay, then once per interval. A check that does not answer within the timeout is
/// [`Unhealthy`](crate::health::Health::Unhealthy). A module that stays unhealthy for the
/// threshold fails, and its restart policy applies.
///
/// Defaults: the timeout is the interval, no start delay, and the threshold is three
/// intervals.
///
/// ```
/// use std::time::Duration;
/// use symphra::health::HealthCheck;
///
/// let check = HealthCheck::every(Duration::from_secs(10))
///     .timeout(Duration::from_secs(2))
///     .start_delay(Duration::from_secs(5))
///     .unhealthy_after(Duration::from_secs(30));
/// assert_eq!(check.interval(), Duration::from_secs(10));
/// assert_eq!(check.get_timeout(), Duration::from_secs(2));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    interval: Duration,
    timeout: Duration,
    start_delay: Duration,
    unhealthy_after: Option<Duration>,
}

/// The shortest interval, timeout and watchdog period accepted: anything shorter is
/// reported as a metadata problem, as it would keep the manager's task busy.
pub const MIN_PERIOD: Duration = Duration::from_millis(1);

impl HealthCheck {
    /// A check every `interval`, with the defaults above.
    pub fn every(interval: Duration) -> Self {
        Self {
            interval,
            timeout: interval,
            start_delay: Duration::ZERO,
            unhealthy_after: None,
        }
    }

    /// A check that has not answered after `timeout` is unhealthy (and abandoned).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The first check runs this long after the module started.
    pub fn start_delay(mut self, delay: Duration) -> Self {
        self.start_delay = delay;
        self
    }

    /// A module unhealthy for this long, check after check, fails while running. Counted
    /// from the first unhealthy answer in a row; a healthy or degraded answer ends it.
    pub fn unhealthy_after(mut self, threshold: Duration) -> Self {
        self.unhealthy_after = Some(threshold);
        self
    }

    /// How often the check runs.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How long a check may take.
    pub fn get_timeout(&self) -> Duration {
        self.timeout
    }

    /// How long after the start the first check runs.
    pub fn get_start_delay(&self) -> Duration {
        self.start_delay
    }

    /// How long a module may stay unhealthy before it fails: three intervals unless set.
    pub fn get_unhealthy_after(&self) -> Duration {
        self.unhealthy_after
            .unwrap_or_else(|| self.interval.saturating_mul(3))
    }

    /// What is wrong with the schedule, if anything.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.interval < MIN_PERIOD {
            Some("the health check's interval is shorter than 1 ms")
        } else if self.timeout < MIN_PERIOD {
            Some("the health check's timeout is shorter than 1 ms")
        } else {
            None
        }
    }
}
