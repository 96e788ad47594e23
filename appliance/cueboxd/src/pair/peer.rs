//! The main's link thread: its connection to the backup, the heartbeats
//! that measure the offset between the two show clocks, and the forwarded
//! commands.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Weak;
use std::time::Instant;

use super::{
    compare, lock, timescale, Forward, Instants, Pair, BEAT, BEST, CALL, COMPARE_EVERY, SILENT,
};
use crate::api::proto::{PairMessage, Request, Response};
use crate::api::{Client, Expect, Identity};
use crate::clocking::ptp::monotonic_ns;
use crate::link::LiveLink;

/// The link thread, while its unit is main: connects to the backup (its key pinned), beats
/// every [`BEAT`] and sends each accepted command as it comes; reconnects
/// every second while the backup is away, losing (and counting) what is
/// queued meanwhile. Ends with the run.
pub(super) fn main_link(
    pair: &Weak<Pair>,
    link: &Weak<LiveLink>,
    identity: &Identity,
    rx: &Receiver<Forward>,
) {
    loop {
        let Some(p) = pair.upgrade() else { return };
        // It serves whichever unit is main (docs/pair.md, "Takeover").
        if !p.forwards() {
            drop(p);
            std::thread::sleep(BEAT);
            continue;
        }
        let connected = Client::connect(
            &p.config.peer,
            identity,
            Expect::Pinned(p.config.fingerprint),
            CALL,
        );
        drop(p);
        let Ok(mut client) = connected else {
            // What waited for a backup that is not there is lost.
            while rx.try_recv().is_ok() {
                let Some(p) = pair.upgrade() else { return };
                lock(&p.state).answered(None);
            }
            std::thread::sleep(SILENT);
            continue;
        };
        // The backup may have started its session again while away: what
        // was measured of its show clock before is no longer true.
        if let Some(p) = pair.upgrade() {
            lock(&p.state).measure_afresh();
        }
        let mut next_beat = Instant::now();
        loop {
            let wait = next_beat.saturating_duration_since(Instant::now());
            let (Some(p), Some(l)) = (pair.upgrade(), link.upgrade()) else {
                return;
            };
            let sent = match rx.recv_timeout(wait) {
                Ok(f) => apply(&p, &l, &mut client, f),
                Err(RecvTimeoutError::Timeout) => {
                    next_beat = Instant::now() + BEAT;
                    beat(&p, &l, &mut client)
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            if !sent || !p.forwards() {
                break;
            }
        }
    }
}

/// Sends one forwarded command, edit, page turn or lock, its show sample
/// moved onto the backup's show clock (a command stamped with its PTP
/// instant too, when the main is on a timescale); false when the link
/// failed.
fn apply(pair: &Pair, link: &LiveLink, client: &mut Client, f: Forward) -> bool {
    let Forward(mut message) = f;
    let offset = lock(&pair.state).link.offset_samples;
    let moved = |at_sample: &mut u64| {
        let at = offset
            .map(|o| (*at_sample as f64 + o).round())
            .filter(|&at| at >= 0.0);
        at.map(|at| *at_sample = at as u64).is_some()
    };
    let command = matches!(message, PairMessage::Apply { .. });
    let placed = match &mut message {
        PairMessage::Apply {
            at_sample, at_ptp, ..
        } => {
            *at_ptp = timescale::instant_of(link, *at_sample as f64);
            moved(at_sample)
        }
        PairMessage::Revise {
            at_sample, at_ptp, ..
        } => {
            *at_ptp = timescale::instant_of(link, *at_sample as f64);
            moved(at_sample)
        }
        _ => true,
    };
    let message = placed.then_some(message);
    let Some(message) = message else {
        // No offset measured yet: the backup cannot place it.
        lock(&pair.state).answered(None);
        return true;
    };
    let answer = client.call_within(&Request::Pair(message), CALL);
    let mut state = lock(&pair.state);
    if command {
        state.answered(answer.as_ref().ok());
    } else {
        state.in_flight = state.in_flight.saturating_sub(1);
        match &answer {
            Ok(Response::Refused { .. }) | Err(_) => state.lost += 1,
            Ok(_) => state.forwarded += 1,
        }
    }
    if answer.is_ok() {
        state.last_heard = Some(Instant::now());
    }
    answer.is_ok()
}

/// One heartbeat: the backup's show sample against the main's either side
/// of the round trip; false when the link failed.
fn beat(pair: &Pair, link: &LiveLink, client: &mut Client) -> bool {
    let (measured, beats, settled) = {
        let mut state = lock(&pair.state);
        state.beats_sent += 1;
        (state.link, state.beats_sent, state.beats.len() >= BEST)
    };
    // Compared only once the offset rests on enough beats.
    let state = (settled && beats % COMPARE_EVERY == 0)
        .then(|| compare::snapshot(link, None))
        .flatten()
        .map(|(state, _)| state);
    if let Some(state) = &state {
        lock(&pair.state).digest = Some(state.digest.clone());
    }
    let anchor = timescale::anchor(link);
    let sent_anchor = anchor.is_some();
    let request = Request::Pair(PairMessage::Beat {
        link: measured,
        state,
        timescale: anchor,
    });
    let t0 = monotonic_ns();
    let answer = client.call_within(&request, CALL);
    let t1 = monotonic_ns();
    let Ok(answer) = answer else { return false };
    // Read before the state is locked: status locks the link, then the state.
    let samples = (link.show_sample_at(t0), link.show_sample_at(t1));
    let mut state = lock(&pair.state);
    state.last_heard = Some(Instant::now());
    if let Response::PairBeat {
        show_sample,
        on_timescale,
    } = answer
    {
        state.instants = Instants::of(sent_anchor && on_timescale);
        if let (Some(b), (Some(s0), Some(s1))) = (show_sample, samples) {
            state.beat(t1.saturating_sub(t0), b - (s0 + s1) / 2.0);
        }
    }
    true
}
