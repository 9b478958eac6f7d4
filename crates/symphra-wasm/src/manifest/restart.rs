//! The `[restart]` table of a manifest: the module's restart policy
//! ([`symphra::supervision::RestartPolicy`]).
//!
//! ```toml
//! [restart]
//! policy = "on-failure"        # never | on-failure | always (required)
//! max-restarts = 5             # at most this many restarts ...
//! within = "60s"               # ... within this window
//! backoff = "100ms"            # the first wait, doubling after each restart
//! backoff-max = "10s"          # the longest wait
//! stable-after = "30s"         # up this long and the count starts over
//! jitter = true                # up to as much again of random wait
//! ```
//!
//! Fields left out keep the core's defaults ([`RestartPolicy::new`]).

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use symphra::supervision::{Restart, RestartPolicy};
use symphra::util::parse_duration;
use toml::Spanned;

/// The `[restart]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawRestart {
    policy: Option<Spanned<String>>,
    max_restarts: Option<Spanned<i64>>,
    within: Option<Spanned<String>>,
    backoff: Option<Spanned<String>>,
    backoff_max: Option<Spanned<String>>,
    stable_after: Option<Spanned<String>>,
    jitter: Option<bool>,
}

/// A problem in the table: where (a byte span of the manifest text), which field of
/// `[restart]` (`max-restarts`), and why.
pub(super) type Problem = (Range<usize>, &'static str, String);

impl RawRestart {
    /// The policy the table describes; `table` is the span of the whole table, blamed when
    /// `policy` is missing.
    pub(super) fn policy(self, table: Range<usize>) -> Result<RestartPolicy, Problem> {
        let Some(policy) = self.policy else {
            // Required: a table that tunes restarts but leaves the policy at `never` would
            // silently restart nothing.
            return Err((
                table,
                "policy",
                "missing; write policy = \"never\", \"on-failure\" or \"always\"".to_owned(),
            ));
        };
        let restart = match policy.get_ref().trim() {
            "never" => Restart::Never,
            "on-failure" => Restart::OnFailure,
            "always" => Restart::Always,
            other => {
                return Err((
                    policy.span(),
                    "policy",
                    format!(
                        "{} is not a policy; write \"never\", \"on-failure\" or \"always\"",
                        super::quote(other)
                    ),
                ));
            }
        };
        let defaults = RestartPolicy::new(restart);
        let max_restarts = match self.max_restarts {
            None => defaults.max_restarts(),
            Some(max) => u32::try_from(*max.get_ref()).map_err(|_| {
                (
                    max.span(),
                    "max-restarts",
                    format!(
                        "{} is not a count of restarts; write a whole number from 0 to {}",
                        max.get_ref(),
                        u32::MAX
                    ),
                )
            })?,
        };
        let within = duration(self.within.as_ref(), "within", defaults.within())?;
        if within.is_zero() {
            let span = self.within.as_ref().map_or(table, Spanned::span);
            return Err((
                span,
                "within",
                "is zero; restarts are counted within a window of some length".to_owned(),
            ));
        }
        let (base_default, cap_default) = defaults.backoff_range();
        let base = duration(self.backoff.as_ref(), "backoff", base_default)?;
        let cap = duration(self.backoff_max.as_ref(), "backoff-max", cap_default)?;
        if let Some(max) = &self.backoff_max
            && cap < base
        {
            return Err((
                max.span(),
                "backoff-max",
                format!(
                    "{:?} is shorter than the first wait, backoff ({base:?}); the longest wait \
                     cannot be shorter than the first",
                    max.get_ref()
                ),
            ));
        }
        let stable_after = duration(
            self.stable_after.as_ref(),
            "stable-after",
            defaults.stable_period(),
        )?;
        let jitter = self.jitter.unwrap_or(defaults.has_jitter());
        Ok(defaults
            .intensity(max_restarts, within)
            .backoff(base, cap)
            .stable_after(stable_after)
            .jitter(jitter))
    }
}

/// A duration field in the core's grammar, or `default` when left out.
fn duration(
    text: Option<&Spanned<String>>,
    field: &'static str,
    default: Duration,
) -> Result<Duration, Problem> {
    match text {
        None => Ok(default),
        Some(text) => {
            // The core's message quotes the whole text: check its size and characters first.
            super::limits::check_text(text.get_ref(), 64)
                .map_err(|(_, message)| (text.span(), field, message))?;
            parse_duration(text.get_ref()).map_err(|error| (text.span(), field, error.to_string()))
        }
    }
}

/// The policy's settings in one line, as `symphra list` and `check` show them:
/// `on-failure, at most 5 within 60s, backoff 100ms..10s, jitter, stable after 30s`.
pub fn describe_restart(policy: &RestartPolicy) -> String {
    let restart = match policy.restart() {
        Restart::Never => return "never".to_owned(),
        Restart::OnFailure => "on-failure",
        Restart::Always => "always",
    };
    let (base, cap) = policy.backoff_range();
    format!(
        "{restart}, at most {} within {:?}, backoff {base:?}..{cap:?}{}, stable after {:?}",
        policy.max_restarts(),
        policy.within(),
        if policy.has_jitter() {
            " with jitter"
        } else {
            ""
        },
        policy.stable_period()
    )
}
