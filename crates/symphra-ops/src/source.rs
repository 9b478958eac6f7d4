//! Metrics from outside the manager — a NATS bridge's counters, an application's own — added
//! to `/metrics` by a [`MetricSource`].

use crate::exposition::Exposition;

/// Adds families to the operator's `/metrics`, read from memory each time it is asked
/// (it runs on the request path: no I/O, no waiting).
///
/// A closure `Fn(&mut Exposition)` is one. The NATS bridge's counters, for example, without
/// this crate depending on the bridge:
///
/// ```ignore
/// let bridge = bridge.clone();
/// ops.metric_source(move |out: &mut Exposition| {
///     let stats = bridge.stats();
///     out.family("symphra_nats_exported_total", Kind::Counter, "Local events sent to NATS.")
///         .sample("symphra_nats_exported_total", &[], stats.exported as f64);
/// });
/// ```
pub trait MetricSource: Send + Sync + 'static {
    /// Writes this source's families.
    fn collect(&self, out: &mut Exposition);
}

impl<F> MetricSource for F
where
    F: Fn(&mut Exposition) + Send + Sync + 'static,
{
    fn collect(&self, out: &mut Exposition) {
        self(out);
    }
}
