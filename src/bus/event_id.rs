//! Event ids: unique per process, handed to each thread in blocks.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A unique (per process) event id.
///
/// Ids are handed out to each thread in blocks of [`EventId::BLOCK`], so that threads
/// publishing at once do not contend for one shared counter. Events created one after
/// another on one thread have increasing ids; ids of events created on different threads
/// say nothing about which came first, and neither do those of a Tokio task that moved
/// between worker threads in between. For the order of events across threads, compare
/// their [`time`](Event::time)s.
///
/// ```
/// use symphra::bus::Event;
///
/// let first = Event::new("a", ())?;
/// let second = Event::new("a", ())?;
/// assert!(second.id() > first.id(), "one thread: increasing");
/// let elsewhere = std::thread::spawn(|| Event::new("a", ()).map(|e| e.id())).join().unwrap()?;
/// assert_ne!(elsewhere, first.id());
/// assert_ne!(elsewhere, second.id());
/// # Ok::<(), symphra::bus::BusError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EventId(u64);

/// The first id of the next block to hand out.
static NEXT: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's block: the next id to give out and the end of the block. Empty until
    /// the thread's first event; no destructor, so it is readable however late.
    static BLOCK: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

impl EventId {
    /// How many ids a thread takes from the process-wide counter at once. One shared
    /// increment per block instead of one per event: the counter's cache line no longer
    /// moves between the cores of threads that publish at once.
    pub const BLOCK: u64 = 1024;

    /// The first of `count` consecutive ids, taken at once: for events created together.
    pub(crate) fn reserve(count: u64) -> Self {
        Self(take(count))
    }

    /// The id `n` after this one, within a [`reserve`](Self::reserve)d range.
    pub(crate) fn nth(self, n: u64) -> Self {
        Self(self.0 + n)
    }

    #[inline]
    pub(crate) fn next() -> Self {
        Self(take(1))
    }

    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// The first of `count` consecutive ids: from this thread's block if it has that many
/// left, else from a new block (the rest of the old one is never used), or for a count
/// larger than a block straight from the shared counter.
#[inline]
fn take(count: u64) -> u64 {
    let local = BLOCK.try_with(|block| {
        let (next, end) = block.get();
        if end - next >= count {
            block.set((next + count, end));
            return next;
        }
        refill(block, count)
    });
    // Only a thread being torn down lacks its block; it shares the counter.
    local.unwrap_or_else(|_| NEXT.fetch_add(count, Ordering::Relaxed))
}

/// Takes a new block for this thread and `count` ids from its start.
#[cold]
fn refill(block: &Cell<(u64, u64)>, count: u64) -> u64 {
    if count >= EventId::BLOCK {
        return NEXT.fetch_add(count, Ordering::Relaxed);
    }
    let start = NEXT.fetch_add(EventId::BLOCK, Ordering::Relaxed);
    block.set((start + count, start + EventId::BLOCK));
    start
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::EventId;

    #[test]
    fn a_reserved_range_is_consecutive_and_later_ids_come_after_it() {
        let first = EventId::reserve(3);
        assert_eq!(first.nth(0), first);
        assert_eq!(first.nth(1).get(), first.get() + 1);
        assert_eq!(first.nth(2).get(), first.get() + 2);
        assert!(EventId::next().get() >= first.get() + 3);
    }

    #[test]
    fn a_range_larger_than_a_block_leaves_this_threads_block_usable() {
        let big = EventId::reserve(EventId::BLOCK + 5);
        let reserved = big.get()..big.get() + EventId::BLOCK + 5;
        let (next, later) = (EventId::next(), EventId::next());
        assert!(!reserved.contains(&next.get()) && !reserved.contains(&later.get()));
        assert_eq!(later.get(), next.get() + 1, "the two come from one block");
    }
}
