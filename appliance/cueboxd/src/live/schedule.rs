//! The live scheduler's core: stamps each request with the render frame it
//! applies at, holds the future ones in time order, and says which are due
//! to go to the render thread. No I/O and no clock of its own — every call
//! is told the render clock's `now` — so it is tested with fake time, as
//! [`MasterClock`](cuebox_engine::timecode::clock::MasterClock) is.
//!
//! The render thread's command queue is a timeline: a command may never be
//! sent for a frame before one already sent. The schedule keeps that rule
//! in one place. It remembers the last frame handed over, stamps "as soon
//! as possible" after it, and hands a command whose frame has passed over
//! at that last frame instead (the renderer applies it at once and reports
//! it late).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use cuebox_engine::control::At;
use cuebox_engine::render::{FrameCount, SamplePos};

/// The fixed timing a schedule works to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Frames per second.
    pub rate: u32,
    /// Frames per period: "as soon as possible" is one period ahead.
    pub period: FrameCount,
    /// The render frame of show time zero (the card's first audible frame):
    /// `At` times count from it, as they do in an offline render.
    pub origin: SamplePos,
    /// A command is handed over once its frame is at most this far ahead
    /// of the render clock: enough for a decoder to open and the head to
    /// start, short enough that a later command rarely has to wait.
    pub horizon: FrameCount,
}

impl Timing {
    /// How far ahead of the render clock chase steering is sent: two
    /// periods and 10 ms, time to load a head from where a voice joins.
    pub fn chase_lead(&self) -> FrameCount {
        FrameCount(2 * self.period.0 + u64::from(self.rate / 100))
    }

    /// `frame` in show time (frames from the origin; 0 before it).
    pub fn show_frame(&self, frame: SamplePos) -> u64 {
        frame.0.saturating_sub(self.origin.0)
    }
}

/// When an accepted request applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The render frame it was stamped with.
    pub frame: SamplePos,
    /// The same frame in show time, as the operator sees it.
    pub show_frame: u64,
    /// How far ahead of the render clock it was stamped (0 for a time
    /// already past).
    pub lead: FrameCount,
}

/// A command due to go to the render thread, and the frame to send it for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due<C> {
    /// Its frame, never before a frame already handed over.
    pub frame: SamplePos,
    /// The command.
    pub command: C,
}

/// Commands waiting for their frame, in time order; equal frames keep the
/// order they arrived in. Generic over the command so the core knows
/// nothing of what it schedules.
#[derive(Debug)]
pub struct Schedule<C> {
    timing: Timing,
    pending: BinaryHeap<Entry<C>>,
    /// Requests queued so far: each entry's place among equal frames.
    arrivals: u64,
    /// The latest frame handed over: nothing may be sent before it.
    last_sent: SamplePos,
}

impl<C> Schedule<C> {
    /// An empty schedule with room for `capacity` waiting commands before
    /// its queue grows.
    pub fn with_capacity(timing: Timing, capacity: usize) -> Self {
        Schedule {
            timing,
            pending: BinaryHeap::with_capacity(capacity),
            arrivals: 0,
            last_sent: SamplePos(0),
        }
    }

    /// The timing it works to.
    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// Stamps a request that arrives when the render clock is at `now` and
    /// queues it: `at` `None` is as soon as possible — the next period,
    /// after anything already handed over — else a show time.
    pub fn accept(&mut self, now: SamplePos, at: Option<At>, command: C) -> Stamp {
        let frame = match at {
            None => now.after(self.timing.period).max(self.last_sent),
            Some(at) => SamplePos(
                self.timing
                    .origin
                    .0
                    .saturating_add(at.frame(self.timing.rate)),
            ),
        };
        self.insert(frame, command);
        Stamp {
            frame,
            show_frame: self.timing.show_frame(frame),
            lead: FrameCount(frame.0.saturating_sub(now.0)),
        }
    }

    /// Queues `command` at render frame `frame` as it is (a timecode cue,
    /// already on the render clock).
    pub fn insert(&mut self, frame: SamplePos, command: C) {
        let arrival = self.arrivals;
        self.arrivals += 1;
        self.pending.push(Entry {
            frame,
            arrival,
            command,
        });
    }

    /// The next command to hand over with the render clock at `now`: the
    /// earliest waiting one if its frame is within the horizon. A frame
    /// before the last one handed over (a time already past) becomes that
    /// frame, so the render queue stays a timeline.
    pub fn next_due(&mut self, now: SamplePos) -> Option<Due<C>> {
        let head = self.pending.peek()?;
        if head.frame > now.after(self.timing.horizon) {
            return None;
        }
        let Entry { frame, command, .. } = self.pending.pop()?;
        let frame = frame.max(self.last_sent);
        self.last_sent = frame;
        Some(Due { frame, command })
    }

    /// Takes out the waiting commands at or after `from` that `cancel`
    /// picks (a PANIC's starts), in no order; the rest keep theirs.
    pub fn cancel(&mut self, from: SamplePos, mut cancel: impl FnMut(&C) -> bool) -> Vec<C> {
        let (gone, kept): (Vec<Entry<C>>, Vec<Entry<C>>) = std::mem::take(&mut self.pending)
            .into_vec()
            .into_iter()
            .partition(|e| e.frame >= from && cancel(&e.command));
        self.pending = BinaryHeap::from(kept);
        gone.into_iter().map(|e| e.command).collect()
    }

    /// The frame chase steering computed at `now` is for: the chase lead
    /// ahead, and never before a frame already handed over.
    pub fn chase_frame(&self, now: SamplePos) -> SamplePos {
        now.after(self.timing.chase_lead()).max(self.last_sent)
    }

    /// Records a command sent straight to the render thread (chase
    /// steering) for `frame`: later hand-overs come at or after it.
    pub fn sent(&mut self, frame: SamplePos) {
        self.last_sent = self.last_sent.max(frame);
    }
}

/// A waiting command. Ordered for a max-heap so the earliest frame, then
/// the earliest arrival, comes out first; the command takes no part.
#[derive(Debug)]
struct Entry<C> {
    frame: SamplePos,
    arrival: u64,
    command: C,
}

impl<C> Entry<C> {
    fn key(&self) -> (SamplePos, u64) {
        (self.frame, self.arrival)
    }
}

impl<C> PartialEq for Entry<C> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl<C> Eq for Entry<C> {}

impl<C> PartialOrd for Entry<C> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<C> Ord for Entry<C> {
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::alloc_guard::allocations;

    const RATE: u32 = 48_000;
    const PERIOD: u64 = 256;
    const ORIGIN: u64 = 1_280;
    const HORIZON: u64 = 9_600;

    fn schedule() -> Schedule<u32> {
        Schedule::with_capacity(
            Timing {
                rate: RATE,
                period: FrameCount(PERIOD),
                origin: SamplePos(ORIGIN),
                horizon: FrameCount(HORIZON),
            },
            16,
        )
    }

    /// Everything due at `now`, as (frame, command).
    fn due(s: &mut Schedule<u32>, now: u64) -> Vec<(u64, u32)> {
        std::iter::from_fn(|| s.next_due(SamplePos(now)))
            .map(|d| (d.frame.0, d.command))
            .collect()
    }

    #[test]
    fn cancelled_commands_never_come_due_and_the_rest_keep_their_order() {
        let mut s = schedule();
        for (frame, c) in [
            (20_000, 1),
            (30_000, 2),
            (25_000, 3),
            (40_000, 4),
            (10_000, 5),
        ] {
            s.insert(SamplePos(frame), c);
        }
        // From frame 20 000 on, the odd ones.
        let mut gone = s.cancel(SamplePos(20_000), |c| c % 2 == 1);
        gone.sort_unstable();
        assert_eq!(gone, [1, 3]);
        assert_eq!(due(&mut s, 40_000), [(10_000, 5), (30_000, 2), (40_000, 4)]);
    }

    #[test]
    fn as_soon_as_possible_is_the_next_period_and_a_time_counts_from_the_origin() {
        let mut s = schedule();
        let now = SamplePos(10_000);
        let asap = s.accept(now, None, 1);
        assert_eq!(
            asap,
            Stamp {
                frame: SamplePos(10_256),
                show_frame: 10_256 - ORIGIN,
                lead: FrameCount(PERIOD),
            }
        );
        let timed = s.accept(now, Some(At::Seconds(0.5)), 2);
        assert_eq!(timed.frame, SamplePos(ORIGIN + 24_000));
        assert_eq!(timed.show_frame, 24_000);
        assert_eq!(timed.lead, FrameCount(ORIGIN + 24_000 - 10_000));
        let sample = s.accept(now, Some(At::Sample(7)), 3);
        assert_eq!(
            (sample.frame, sample.show_frame),
            (SamplePos(ORIGIN + 7), 7)
        );
        assert_eq!(
            sample.lead,
            FrameCount(0),
            "a time already past has no lead"
        );
    }

    #[test]
    fn commands_come_out_in_time_order_whatever_order_they_arrive_in() {
        let mut s = schedule();
        for (k, frame) in [5_000u64, 1_000, 3_000, 2_000, 4_000]
            .into_iter()
            .enumerate()
        {
            s.accept(SamplePos(0), Some(At::Sample(frame)), k as u32);
        }
        let out = due(&mut s, 10_000);
        let frames: Vec<u64> = out.iter().map(|d| d.0 - ORIGIN).collect();
        assert_eq!(frames, [1_000, 2_000, 3_000, 4_000, 5_000]);
        assert_eq!(out.iter().map(|d| d.1).collect::<Vec<_>>(), [1, 3, 2, 4, 0]);
        assert_eq!(s.next_due(SamplePos(u64::MAX / 2)), None, "nothing left");
    }

    #[test]
    fn commands_at_the_same_sample_keep_their_arrival_order() {
        let mut s = schedule();
        // Interleave two frames so a heap that ignored arrival would mix them.
        for k in 0..20u32 {
            let frame = if k % 2 == 0 { 500 } else { 400 };
            s.accept(SamplePos(0), Some(At::Sample(frame)), k);
        }
        s.insert(SamplePos(ORIGIN + 400), 100); // a timecode cue arriving last
        let out = due(&mut s, 0);
        let at_400: Vec<u32> = out
            .iter()
            .filter(|d| d.0 == ORIGIN + 400)
            .map(|d| d.1)
            .collect();
        let at_500: Vec<u32> = out
            .iter()
            .filter(|d| d.0 == ORIGIN + 500)
            .map(|d| d.1)
            .collect();
        assert_eq!(at_400, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 100]);
        assert_eq!(at_500, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
        assert_eq!(out.len(), 21);
    }

    #[test]
    fn a_command_is_handed_over_once_its_frame_is_within_the_horizon() {
        let mut s = schedule();
        let t = |show: u64| Some(At::Sample(show));
        s.accept(SamplePos(0), t(20_000), 1);
        s.accept(SamplePos(0), t(20_001), 2);
        // The horizon reaches frame ORIGIN + 20_000 from here.
        let now = ORIGIN + 20_000 - HORIZON;
        assert_eq!(due(&mut s, now - 1), []);
        assert_eq!(due(&mut s, now), [(ORIGIN + 20_000, 1)]);
        assert_eq!(due(&mut s, now), [], "the next one is a frame further");
        assert_eq!(due(&mut s, now + 1), [(ORIGIN + 20_001, 2)]);
        // As soon as possible is always within the horizon: due at once.
        let asap = s.accept(SamplePos(now + 1), None, 3);
        assert_eq!(due(&mut s, now + 1), [(asap.frame.0, 3)]);
    }

    #[test]
    fn a_late_command_goes_at_once_after_what_was_sent() {
        let mut s = schedule();
        let now = 50_000;
        s.accept(SamplePos(now), Some(At::Sample(58_000)), 1);
        assert_eq!(due(&mut s, now), [(ORIGIN + 58_000, 1)]);
        // Show frame 100 passed long ago: it goes now, but not before the
        // frame already handed over, and is stamped with what was asked.
        let late = s.accept(SamplePos(now), Some(At::Sample(100)), 2);
        assert_eq!((late.show_frame, late.lead), (100, FrameCount(0)));
        assert_eq!(due(&mut s, now), [(ORIGIN + 58_000, 2)]);
        // As soon as possible also waits for what was sent.
        let asap = s.accept(SamplePos(now), None, 3);
        assert_eq!(asap.frame, SamplePos(ORIGIN + 58_000));
        assert_eq!(due(&mut s, now), [(ORIGIN + 58_000, 3)]);
    }

    #[test]
    fn chase_steering_leads_the_clock_and_moves_what_comes_after_it() {
        let mut s = schedule();
        let lead = 2 * PERIOD + u64::from(RATE / 100);
        assert_eq!(s.timing().chase_lead(), FrameCount(lead));
        assert_eq!(s.chase_frame(SamplePos(1_000)), SamplePos(1_000 + lead));
        // Steering sent for a frame ahead of the period: a command as soon
        // as possible after it may not go before it.
        s.sent(SamplePos(1_000 + lead));
        let asap = s.accept(SamplePos(1_000), None, 1);
        assert_eq!(asap.frame, SamplePos(1_000 + lead));
        assert_eq!(due(&mut s, 1_000), [(1_000 + lead, 1)]);
        // Sending is never undone by an earlier frame.
        s.sent(SamplePos(10));
        assert_eq!(s.chase_frame(SamplePos(0)), SamplePos(1_000 + lead));
    }

    #[test]
    fn a_flood_of_ten_thousand_requests_loses_nothing_keeps_order_and_allocates_nothing() {
        const N: u32 = 10_000;
        let mut s = Schedule::with_capacity(*schedule().timing(), N as usize);
        // Every request as soon as possible from the same clock reading,
        // every tenth also at a time (most of them past): one burst.
        let ((), made) = allocations(|| {
            for k in 0..N {
                let at = (k % 10 == 0).then_some(At::Sample(u64::from(k) * 7));
                s.accept(SamplePos(50_000), at, k);
            }
        });
        assert_eq!(
            made, 0,
            "accepting a request allocated beyond the queue's room"
        );
        // Late enough that every one is due.
        let mut out = Vec::with_capacity(N as usize);
        let ((), made) = allocations(|| {
            while let Some(d) = s.next_due(SamplePos(200_000)) {
                out.push((d.frame.0, d.command));
            }
        });
        assert_eq!(made, 0, "handing over allocated");
        assert_eq!(out.len(), N as usize, "none lost");
        assert!(
            out.windows(2).all(|w| w[0].0 <= w[1].0),
            "frames never go back"
        );
        let mut asap: Vec<u32> = out.iter().map(|d| d.1).filter(|k| k % 10 != 0).collect();
        assert!(
            asap.windows(2).all(|w| w[0] < w[1]),
            "equal frames in arrival order"
        );
        asap.extend(out.iter().map(|d| d.1).filter(|k| k % 10 == 0));
        asap.sort_unstable();
        assert!(asap.iter().copied().eq(0..N), "every request once");
    }
}
