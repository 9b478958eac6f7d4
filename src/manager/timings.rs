//! When each hook of one job ran, kept raw: one clock reading per hook, turned into
//! durations only when a report is read, so that a report of many modules costs no
//! allocation and little memory per module.

use std::time::Duration;

use crate::lifecycle::{Hook, HookChain};
use crate::manager::clock::{self, Tick};

/// How many hooks one job can run.
const CAPACITY: usize = HookChain::LONGEST;

/// The timings of the hooks one job ran on one module, back to back.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timings {
    /// Whether the readings are counter ticks (else nanoseconds of tokio time).
    counted: bool,
    /// When the operation began.
    origin: Tick,
    /// `marks[k]` is when hook `k` began; `marks[k + 1]` when it ended.
    marks: [Tick; CAPACITY + 1],
    hooks: [Hook; CAPACITY],
    len: u8,
}

impl Timings {
    /// No hooks yet: the operation began at `origin`, the first hook begins at `at`; both
    /// counter ticks if `counted`, else nanoseconds of tokio time.
    pub(crate) fn new(counted: bool, origin: Tick, at: Tick) -> Self {
        Self {
            counted,
            origin,
            marks: [at; CAPACITY + 1],
            hooks: [Hook::Bootstrap; CAPACITY],
            len: 0,
        }
    }

    /// Records that `hook` ended at `at` (it began when the previous one ended).
    pub(crate) fn push(&mut self, hook: Hook, at: Tick) {
        let k = usize::from(self.len);
        // A job runs one chain, which has at most `CAPACITY` hooks, so there is room.
        if let (Some(slot), Some(mark)) = (self.hooks.get_mut(k), self.marks.get_mut(k + 1)) {
            *slot = hook;
            *mark = at;
            self.len += 1;
        }
    }

    /// Each hook with when it began, from the start of the operation, and how long it ran.
    pub(crate) fn list(&self) -> Vec<(Hook, Duration, Duration)> {
        (0..usize::from(self.len))
            .map(|k| {
                (
                    self.hooks[k],
                    self.between(self.origin, self.marks[k]),
                    self.between(self.marks[k], self.marks[k + 1]),
                )
            })
            .collect()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// When the last hook ended (when the first began, if none ran).
    pub(crate) fn end(&self) -> Tick {
        self.marks[usize::from(self.len)]
    }

    /// From when the first hook began to when the last ended.
    pub(crate) fn busy(&self) -> Duration {
        self.between(self.marks[0], self.end())
    }

    fn between(&self, start: Tick, end: Tick) -> Duration {
        clock::between(self.counted, start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::clock::tests::counter;

    const MICRO: Duration = Duration::from_micros(1);

    /// The first counter reading at least a microsecond after `t`.
    fn after(t: Tick) -> Tick {
        loop {
            let tick = counter().now();
            if counter().between(t, tick) >= MICRO {
                return tick;
            }
        }
    }

    fn close(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) <= Duration::from_nanos(2)
    }

    #[test]
    fn hooks_follow_one_another_from_the_first_reading() {
        let origin = counter().now();
        let began = after(origin);
        let mut timings = Timings::new(true, origin, began);
        assert!(timings.is_empty());
        timings.push(Hook::Install, after(began));
        let ended = after(timings.end());
        timings.push(Hook::Start, ended);
        assert_eq!(timings.end(), ended);

        let list = timings.list();
        assert_eq!(list.len(), 2);
        let (hook, began_at, took) = list[0];
        assert_eq!(hook, Hook::Install);
        assert!(began_at >= MICRO && took >= MICRO, "{began_at:?} {took:?}");
        let (hook, next_began_at, next_took) = list[1];
        assert_eq!(hook, Hook::Start);
        assert!(close(next_began_at, began_at + took), "{list:?}");
        assert!(close(timings.busy(), took + next_took), "{list:?}");
    }

    #[test]
    fn the_longest_chain_fits() {
        let longest = [Hook::Bootstrap, Hook::Install, Hook::Start];
        assert_eq!(longest.len(), HookChain::LONGEST);
        let mut timings = Timings::new(false, 0, 0);
        for (k, hook) in longest.into_iter().enumerate() {
            timings.push(hook, 10 * (k as u64 + 1));
        }
        let hooks: Vec<Hook> = timings.list().into_iter().map(|(hook, ..)| hook).collect();
        assert_eq!(hooks, longest);
        assert_eq!(timings.busy(), Duration::from_nanos(30));
    }
}
