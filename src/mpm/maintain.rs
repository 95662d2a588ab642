//! Idle-server maintenance as a pure function: Apache's perform_idle_server_maintenance
//! (reference/apache-mpm.md §2) for every MPM. The parent loop (`parent_loop.rs`) reads
//! the scoreboard once a second, describes each child as a [`ChildView`] in *units*
//! (processes for prefork, threads for worker and event), and carries out the [`Plan`]
//! this returns: at most one graceful stop, the slots to fork into, the messages to log
//! and the next [`State`]. Nothing here touches a process, a clock or the log.
//!
//! The rules, in order:
//! - more than MaxSpare idle units: stop one child (the one in the highest slot that has
//!   an idle unit), spawn rate back to 1;
//! - fewer than MinSpare idle units:
//!   - at MaxRequestWorkers (active units, or children allowed): "reached" when no unit
//!     is idle, "within MinSpareThreads of" otherwise, each once per lifetime;
//!   - no free slot although not at the limit: "scoreboard is full" every pass (the
//!     parent logs it when it starts and when it ends);
//!   - otherwise fork into up to `spawn_rate` free slots (never more children than
//!     allowed), "server seems busy" when the rate is 8 or more, and double the rate
//!     (at most [`MAX_SPAWN_RATE`]) unless hold-off passes remain after a graceful
//!     restart, which are counted down instead;
//! - otherwise: spawn rate back to 1.
//!
//! prefork has one message for every way of running out of room (AH00161, once per
//! lifetime): [`Limits::tells_limits_apart`] is false for it.

pub use super::settings::MAX_SPAWN_RATE;

/// From this spawn rate on, a spawning pass says "server seems busy" (Apache logs it at
/// INFO when the rate is 8 or more, not "more than 4" as its documentation says).
const BUSY_RATE: usize = 8;

/// One live child as maintenance sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildView {
    pub pid: i32,
    pub slot: usize,
    /// Counts toward spare capacity: of the running generation, not told to stop, and
    /// taking connections (not quiescing; event: not refusing for overload).
    pub spare: bool,
    /// Idle units (prefork: 1 when its cell is Starting or Ready; threaded: threads
    /// Dead, Starting or Ready).
    pub idle: usize,
    /// Units neither Dead, Starting nor Graceful.
    pub active: usize,
}

/// The settings maintenance works with, in units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// MinSpareServers / MinSpareThreads.
    pub min_spare: usize,
    /// MaxSpareServers / MaxSpareThreads.
    pub max_spare: usize,
    /// MaxRequestWorkers, in units.
    pub max_request_workers: usize,
    /// Most children of the running generation (prefork: MaxRequestWorkers; threaded:
    /// MaxRequestWorkers / ThreadsPerChild, at most ServerLimit).
    pub max_children: usize,
    /// Children are forked into slots `0..slots`.
    pub slots: usize,
    /// worker/event: "reached", "within MinSpareThreads of" and "scoreboard is full"
    /// are three messages; prefork (false) says "reached" for all three, once.
    pub tells_limits_apart: bool,
}

/// What maintenance carries from one pass to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    /// Children to fork on the next pass that needs some: 1, 2, 4 … MAX_SPAWN_RATE.
    pub spawn_rate: usize,
    /// Spawning passes left during which the rate does not double (10 after a graceful
    /// restart).
    pub hold_off: u32,
    /// "reached MaxRequestWorkers" was logged (once per lifetime, across restarts).
    pub reached_max_logged: bool,
    /// "within MinSpareThreads of MaxRequestWorkers" was logged (once too).
    pub near_max_logged: bool,
}

impl Default for State {
    fn default() -> Self {
        State {
            spawn_rate: 1,
            hold_off: 0,
            reached_max_logged: false,
            near_max_logged: false,
        }
    }
}

/// A message the plan asks the parent to log (worded by the MPM's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    ReachedMax,
    NearMax,
    ScoreboardFull,
    /// Spawning at a rate of 8 or more.
    Busy {
        spawning: usize,
        idle: usize,
        total: usize,
    },
}

/// What one maintenance pass decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The child to stop gracefully (SIGUSR1).
    pub stop: Option<i32>,
    /// Free slots to fork new children into, lowest first.
    pub spawn: Vec<usize>,
    pub notices: Vec<Notice>,
    pub next: State,
}

/// One maintenance pass over `children` (every live child, of any generation).
pub fn plan(children: &[ChildView], limits: &Limits, state: State) -> Plan {
    let mut next = state;
    let mut plan = Plan {
        stop: None,
        spawn: Vec::new(),
        notices: Vec::new(),
        next,
    };
    let spare: Vec<&ChildView> = children.iter().filter(|c| c.spare).collect();
    let idle: usize = spare.iter().map(|c| c.idle).sum();
    let active: usize = spare.iter().map(|c| c.active).sum();
    if idle > limits.max_spare {
        // One graceful stop per pass: the child in the highest slot with an idle unit.
        plan.stop = spare
            .iter()
            .filter(|c| c.idle > 0)
            .max_by_key(|c| c.slot)
            .map(|c| c.pid);
        next.spawn_rate = 1;
    } else if idle < limits.min_spare {
        let at_max = active >= limits.max_request_workers || spare.len() >= limits.max_children;
        let free: Vec<usize> = (0..limits.slots)
            .filter(|&s| !children.iter().any(|c| c.slot == s))
            .take(state.spawn_rate)
            .collect();
        if at_max || free.is_empty() {
            let notice = if !limits.tells_limits_apart || (at_max && idle == 0) {
                Notice::ReachedMax
            } else if at_max {
                Notice::NearMax
            } else {
                Notice::ScoreboardFull
            };
            let first_time = match notice {
                Notice::ReachedMax => !std::mem::replace(&mut next.reached_max_logged, true),
                Notice::NearMax => !std::mem::replace(&mut next.near_max_logged, true),
                _ => true,
            };
            if first_time {
                plan.notices.push(notice);
            }
            next.spawn_rate = 1;
        } else {
            let room = limits.max_children.saturating_sub(spare.len());
            let n = free.len().min(room);
            if state.spawn_rate >= BUSY_RATE {
                plan.notices.push(Notice::Busy {
                    spawning: n,
                    idle,
                    total: children.len(),
                });
            }
            plan.spawn = free.into_iter().take(n).collect();
            if next.hold_off > 0 {
                next.hold_off -= 1;
            } else {
                next.spawn_rate = (state.spawn_rate * 2).min(MAX_SPAWN_RATE);
            }
        }
    } else {
        next.spawn_rate = 1;
    }
    plan.next = next;
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(pid: i32, slot: usize, idle: usize, active: usize) -> ChildView {
        ChildView {
            pid,
            slot,
            spare: true,
            idle,
            active,
        }
    }

    fn threaded_limits() -> Limits {
        Limits {
            min_spare: 75,
            max_spare: 250,
            max_request_workers: 400,
            max_children: 16,
            slots: 16,
            tells_limits_apart: true,
        }
    }

    fn roomy() -> Limits {
        Limits {
            min_spare: 1_000,
            max_spare: 2_000,
            max_request_workers: 10_000,
            max_children: 1_000,
            slots: 1_000,
            tells_limits_apart: true,
        }
    }

    #[test]
    fn spawn_rate_doubles_up_to_32_and_stays() {
        let limits = roomy();
        let mut children = Vec::new();
        let mut state = State::default();
        let mut spawned = Vec::new();
        for _ in 0..8 {
            let p = plan(&children, &limits, state);
            spawned.push(p.spawn.len());
            for &slot in &p.spawn {
                // Busy at once: idle stays below MinSpare.
                children.push(child(slot as i32 + 100, slot, 0, 1));
            }
            state = p.next;
        }
        assert_eq!(spawned, [1, 2, 4, 8, 16, 32, 32, 32]);
        assert_eq!(state.spawn_rate, MAX_SPAWN_RATE);
        // Slots are taken lowest first, without gaps.
        let mut slots: Vec<usize> = children.iter().map(|c| c.slot).collect();
        slots.sort_unstable();
        assert_eq!(slots, (0..slots.len()).collect::<Vec<_>>());
    }

    #[test]
    fn busy_is_told_from_rate_8() {
        let limits = roomy();
        let state = |spawn_rate| State {
            spawn_rate,
            ..State::default()
        };
        assert!(plan(&[], &limits, state(4)).notices.is_empty());
        let p = plan(&[child(1, 0, 3, 0)], &limits, state(8));
        assert_eq!(
            p.notices,
            [Notice::Busy {
                spawning: 8,
                idle: 3,
                total: 1
            }]
        );
        assert_eq!(p.spawn, (1..9).collect::<Vec<_>>());
    }

    #[test]
    fn one_graceful_stop_per_pass_in_the_highest_idle_slot() {
        let limits = Limits {
            min_spare: 1,
            max_spare: 2,
            max_request_workers: 10,
            max_children: 10,
            slots: 10,
            tells_limits_apart: false,
        };
        let mut old = child(9, 9, 1, 0);
        old.spare = false; // of the previous generation: not a candidate
        let children = [
            child(1, 0, 1, 0),
            child(2, 1, 1, 0),
            child(3, 2, 1, 0),
            child(4, 3, 1, 0),
            child(5, 5, 0, 1), // busy: not a candidate
            old,
        ];
        let state = State {
            spawn_rate: 8,
            ..State::default()
        };
        let p = plan(&children, &limits, state);
        assert_eq!(p.stop, Some(4));
        assert!(p.spawn.is_empty());
        assert_eq!(p.next.spawn_rate, 1);
        // The next pass, with that child gone, stops the next one only.
        let p = plan(&children[..3], &limits, p.next);
        assert_eq!(p.stop, Some(3));
        // Within the spares: nothing happens, rate back to 1.
        let p = plan(&children[..2], &limits, state);
        assert_eq!((p.stop, p.spawn.len(), p.next.spawn_rate), (None, 0, 1));
    }

    #[test]
    fn hold_off_keeps_the_rate_for_ten_spawning_passes() {
        let limits = roomy();
        let mut state = State {
            hold_off: 10,
            ..State::default()
        };
        for left in (0..10).rev() {
            let p = plan(&[], &limits, state);
            assert_eq!(p.spawn.len(), 1);
            assert_eq!(p.next.hold_off, left);
            assert_eq!(p.next.spawn_rate, 1);
            state = p.next;
        }
        let p = plan(&[], &limits, state);
        assert_eq!(p.next.spawn_rate, 2);
        // A pass that does not spawn does not use up the hold-off.
        let held = State {
            hold_off: 10,
            spawn_rate: 4,
            ..State::default()
        };
        let p = plan(&[child(1, 0, 100, 0)], &threaded_limits(), held);
        assert_eq!((p.next.hold_off, p.next.spawn_rate), (10, 1));
    }

    #[test]
    fn prefork_reached_max_is_told_once() {
        let limits = Limits {
            min_spare: 5,
            max_spare: 10,
            max_request_workers: 3,
            max_children: 3,
            slots: 3,
            tells_limits_apart: false,
        };
        let children = [child(1, 0, 1, 1), child(2, 1, 0, 1), child(3, 2, 0, 1)];
        let state = State {
            spawn_rate: 4,
            ..State::default()
        };
        let p = plan(&children, &limits, state);
        assert_eq!(p.notices, [Notice::ReachedMax]);
        assert!(p.spawn.is_empty());
        assert_eq!(p.next.spawn_rate, 1);
        assert!(p.next.reached_max_logged);
        let p = plan(&children, &limits, p.next);
        assert!(p.notices.is_empty());
        // Slots held by old children also count as "reached" for prefork.
        let mut old = children;
        for c in &mut old {
            c.spare = false;
        }
        let p = plan(&old, &limits, State::default());
        assert_eq!(p.notices, [Notice::ReachedMax]);
    }

    #[test]
    fn threaded_limit_messages() {
        let limits = threaded_limits();
        // 16 children, every thread busy: reached MaxRequestWorkers, once.
        let full: Vec<ChildView> = (0..16).map(|s| child(s as i32 + 1, s, 0, 25)).collect();
        let p = plan(&full, &limits, State::default());
        assert_eq!(p.notices, [Notice::ReachedMax]);
        let p = plan(&full, &limits, p.next);
        assert!(p.notices.is_empty());
        // Some idle but fewer than MinSpareThreads: "within", once, independently.
        let mut near = full.clone();
        near[0].idle = 10;
        let p = plan(&near, &limits, p.next);
        assert_eq!(p.notices, [Notice::NearMax]);
        assert!(plan(&near, &limits, p.next).notices.is_empty());
        // Every slot held by old children: "scoreboard is full", every pass.
        let mut old = full;
        for c in &mut old {
            c.spare = false;
        }
        let p = plan(&old, &limits, State::default());
        assert_eq!(p.notices, [Notice::ScoreboardFull]);
        assert_eq!(
            plan(&old, &limits, p.next).notices,
            [Notice::ScoreboardFull]
        );
        assert_eq!(p.next.spawn_rate, 1);
    }

    #[test]
    fn never_more_children_than_allowed() {
        let limits = Limits {
            max_children: 4,
            ..threaded_limits()
        };
        // Three children of this generation, two old ones holding slots 3 and 4.
        let mut children: Vec<ChildView> = (0..5).map(|s| child(s as i32 + 1, s, 0, 25)).collect();
        children[3].spare = false;
        children[4].spare = false;
        let state = State {
            spawn_rate: 8,
            ..State::default()
        };
        let p = plan(&children, &limits, state);
        assert_eq!(p.spawn, [5]);
    }
}
