//! Metrics from outside the manager — a NATS bridge's counters, an application's own — added
//! to `/metrics` by a [`MetricSource`].

use crate::exposition::Exposition;

/// Adds families to the operator's `/metrics`, read from memory each time it is asked
/// (it runs on the request path: no I/O, no waiting).
///
/// A closure `Fn(&mut Exposition)` is one. A counter kept elsewhere (a NATS bridge's, say,
/// without this crate depending on the bridge), read at each scrape:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use symphra_ops::{Exposition, Kind, MetricSource};
///
/// let exported = Arc::new(AtomicU64::new(0));
/// let source = {
///     let exported = Arc::clone(&exported);
///     move |out: &mut Exposition| {
///         let count = exported.load(Ordering::Relaxed);
///         out.family("app_exported_total", Kind::Counter, "Events sent elsewhere.")
///             .sample("app_exported_total", &[], count as f64);
///     }
/// };
///
/// exported.fetch_add(3, Ordering::Relaxed);
/// let mut out = Exposition::new();
/// source.collect(&mut out);
/// assert!(out.finish().contains("app_exported_total 3"));
/// // Given to the operator's endpoint with `Ops::metric_source(source)`.
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
