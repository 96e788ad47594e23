//! Bus buffers, the typed firewall between groups A–D and the audition bus,
//! bus gains, and routing to logical outputs.
//!
//! A voice is typed by the bus it may feed ([`Main`] or [`Audition`]) and can
//! only mix into a [`BusBuffer`] of the same type. [`MainOut`] holds only
//! main buffers and [`AuditionOut`] only audition ones, and nothing in the
//! renderer takes both kinds of buffer at once, so audition audio cannot reach
//! an A–D output by construction — not by a check that could be wrong.

use std::marker::PhantomData;

use crate::dsp::fade::ramp_up;
use crate::show::{Group, LogicalChannel};

mod sealed {
    pub trait Sealed {}
}

/// Which side of the firewall a bus or voice is on.
pub(crate) trait BusKind: sealed::Sealed + 'static {
    /// Audition events yield queue room to A–D events.
    const AUDITION: bool;
}

/// Groups A–D.
#[derive(Debug)]
pub(crate) enum Main {}
/// The audition bus.
#[derive(Debug)]
pub(crate) enum Audition {}

impl sealed::Sealed for Main {}
impl sealed::Sealed for Audition {}
impl BusKind for Main {
    const AUDITION: bool = false;
}
impl BusKind for Audition {
    const AUDITION: bool = true;
}

/// A stereo bus buffer of one side of the firewall.
#[derive(Debug)]
pub(crate) struct BusBuffer<B> {
    l: Vec<f32>,
    r: Vec<f32>,
    _side: PhantomData<fn() -> B>,
}

impl<B: BusKind> BusBuffer<B> {
    fn new(frames: usize) -> Self {
        BusBuffer {
            l: vec![0.0; frames],
            r: vec![0.0; frames],
            _side: PhantomData,
        }
    }

    /// Left and right, frames `from..from + n` of the block.
    #[inline]
    pub(crate) fn span_mut(&mut self, from: usize, n: usize) -> (&mut [f32], &mut [f32]) {
        (&mut self.l[from..from + n], &mut self.r[from..from + n])
    }

    fn clear(&mut self, frames: usize) {
        self.l[..frames].fill(0.0);
        self.r[..frames].fill(0.0);
    }

    fn capacity(&self) -> usize {
        self.l.len()
    }

    fn view(&self, frames: usize) -> Stereo<'_> {
        Stereo {
            left: &self.l[..frames],
            right: &self.r[..frames],
        }
    }
}

/// A stereo signal of the last block: left and right, equally long.
#[derive(Debug, Clone, Copy)]
pub struct Stereo<'a> {
    /// Left channel.
    pub left: &'a [f32],
    /// Right channel.
    pub right: &'a [f32],
}

impl Stereo<'_> {
    /// Frames in the block.
    pub fn frames(&self) -> usize {
        self.left.len()
    }

    /// Writes the frames interleaved (L R L R …) into `out`, which must hold
    /// at least `2 × frames` samples; returns the samples written.
    pub fn interleave_into(&self, out: &mut [f32]) -> usize {
        for ((frame, l), r) in out.chunks_exact_mut(2).zip(self.left).zip(self.right) {
            frame[0] = *l;
            frame[1] = *r;
        }
        2 * self.frames().min(out.len() / 2)
    }
}

/// How a bus feeds one of its outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    Left,
    Right,
    /// `(L + R)/√2`: a centred mono voice comes back at its own level.
    MonoSum,
}

/// The feeds of a bus with `n` outputs: one output is the mono sum; more
/// alternate left, right; an odd last one (from 3 on) carries the mono sum.
fn feeds(n: usize) -> impl Iterator<Item = Feed> {
    (0..n).map(move |i| {
        if n == 1 || (n % 2 == 1 && i == n - 1) {
            Feed::MonoSum
        } else if i % 2 == 0 {
            Feed::Left
        } else {
            Feed::Right
        }
    })
}

/// One bus-to-output connection.
#[derive(Debug, Clone, Copy)]
struct Route {
    bus: usize,
    output: usize,
    feed: Feed,
}

/// Logical output buffers and the routes that fill them from busses.
#[derive(Debug)]
struct Outputs {
    channels: Vec<LogicalChannel>,
    buffers: Vec<Vec<f32>>,
    routes: Vec<Route>,
}

impl Outputs {
    /// Outputs for busses each listing its logical outputs; a channel fed by
    /// several busses is their sum.
    fn new<'a>(busses: impl Iterator<Item = &'a [LogicalChannel]>, frames: usize) -> Self {
        let busses: Vec<&[LogicalChannel]> = busses.collect();
        let mut channels: Vec<LogicalChannel> =
            busses.iter().flat_map(|b| b.iter().copied()).collect();
        channels.sort();
        channels.dedup();
        let routes = busses
            .iter()
            .enumerate()
            .flat_map(|(bus, outs)| {
                let channels = &channels;
                outs.iter()
                    .zip(feeds(outs.len()))
                    .map(move |(ch, feed)| Route {
                        bus,
                        // Every channel of every bus is in `channels`.
                        output: channels.binary_search(ch).unwrap_or_default(),
                        feed,
                    })
            })
            .collect();
        Outputs {
            buffers: vec![vec![0.0; frames]; channels.len()],
            channels,
            routes,
        }
    }

    fn fill<B: BusKind>(&mut self, busses: &[BusBuffer<B>], frames: usize) {
        for b in &mut self.buffers {
            b[..frames].fill(0.0);
        }
        for route in &self.routes {
            let bus = &busses[route.bus];
            let out = &mut self.buffers[route.output][..frames];
            let (l, r) = (&bus.l[..frames], &bus.r[..frames]);
            match route.feed {
                Feed::Left => out.iter_mut().zip(l).for_each(|(o, x)| *o += x),
                Feed::Right => out.iter_mut().zip(r).for_each(|(o, x)| *o += x),
                Feed::MonoSum => {
                    for ((o, a), b) in out.iter_mut().zip(l).zip(r) {
                        *o += (a + b) * std::f32::consts::FRAC_1_SQRT_2;
                    }
                }
            }
        }
    }

    fn get(&self, ch: LogicalChannel, frames: usize) -> Option<&[f32]> {
        let i = self.channels.binary_search(&ch).ok()?;
        Some(&self.buffers[i][..frames])
    }

    fn iter(&self, frames: usize) -> impl Iterator<Item = (LogicalChannel, &[f32])> {
        self.channels
            .iter()
            .copied()
            .zip(self.buffers.iter().map(move |b| &b[..frames]))
    }
}

/// The output of groups A–D for one block: each group's stereo bus (post
/// level, mute and balance: a tap an offline render can write as
/// `--bus A`), their stereo sum, and the logical outputs the groups are
/// routed to. Made by [`Renderer::main_out`](super::Renderer::main_out).
#[derive(Debug)]
pub struct MainOut {
    pub(crate) groups: [BusBuffer<Main>; 4],
    mix: BusBuffer<Main>,
    outputs: Outputs,
    pub(crate) frames: usize,
}

impl MainOut {
    pub(crate) fn new(routing: [&[LogicalChannel]; 4], frames: usize) -> Self {
        MainOut {
            groups: std::array::from_fn(|_| BusBuffer::new(frames)),
            mix: BusBuffer::new(frames),
            outputs: Outputs::new(routing.into_iter(), frames),
            frames: 0,
        }
    }

    /// Frames of the last block rendered into it.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// A group's stereo bus.
    pub fn group(&self, group: Group) -> Stereo<'_> {
        self.groups[group_index(group)].view(self.frames)
    }

    /// Groups A–D summed to stereo.
    pub fn mix(&self) -> Stereo<'_> {
        self.mix.view(self.frames)
    }

    /// A logical output fed by the groups; `None` if no group feeds it.
    pub fn output(&self, channel: LogicalChannel) -> Option<&[f32]> {
        self.outputs.get(channel, self.frames)
    }

    /// Every logical output the groups feed, in channel order.
    pub fn outputs(&self) -> impl Iterator<Item = (LogicalChannel, &[f32])> {
        self.outputs.iter(self.frames)
    }

    pub(crate) fn fits(&self, frames: usize) -> bool {
        self.mix.capacity() >= frames
    }

    pub(crate) fn clear(&mut self, frames: usize) {
        self.groups.iter_mut().for_each(|g| g.clear(frames));
    }

    /// Sums the groups into the mix and the logical outputs.
    pub(crate) fn finish(&mut self, frames: usize) {
        self.mix.clear(frames);
        for g in &self.groups {
            let (l, r) = self.mix.span_mut(0, frames);
            l.iter_mut().zip(&g.l[..frames]).for_each(|(o, x)| *o += x);
            r.iter_mut().zip(&g.r[..frames]).for_each(|(o, x)| *o += x);
        }
        self.outputs.fill(&self.groups, frames);
        self.frames = frames;
    }
}

/// The output of the audition bus for one block: its stereo bus and the
/// logical outputs it is routed to (never shared with A–D). Made by
/// [`Renderer::audition_out`](super::Renderer::audition_out).
#[derive(Debug)]
pub struct AuditionOut {
    pub(crate) bus: [BusBuffer<Audition>; 1],
    outputs: Outputs,
    pub(crate) frames: usize,
}

impl AuditionOut {
    pub(crate) fn new(routing: &[LogicalChannel], frames: usize) -> Self {
        AuditionOut {
            bus: [BusBuffer::new(frames)],
            outputs: Outputs::new(std::iter::once(routing), frames),
            frames: 0,
        }
    }

    /// Frames of the last block rendered into it.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The audition bus in stereo.
    pub fn stereo(&self) -> Stereo<'_> {
        self.bus[0].view(self.frames)
    }

    /// An audition output; `None` if the audition bus does not feed it.
    pub fn output(&self, channel: LogicalChannel) -> Option<&[f32]> {
        self.outputs.get(channel, self.frames)
    }

    /// Every logical output of the audition bus, in channel order.
    pub fn outputs(&self) -> impl Iterator<Item = (LogicalChannel, &[f32])> {
        self.outputs.iter(self.frames)
    }

    pub(crate) fn fits(&self, frames: usize) -> bool {
        self.bus[0].capacity() >= frames
    }

    pub(crate) fn clear(&mut self, frames: usize) {
        self.bus[0].clear(frames);
    }

    pub(crate) fn finish(&mut self, frames: usize) {
        self.outputs.fill(&self.bus, frames);
        self.frames = frames;
    }
}

/// Index of a group in A–D order.
pub(crate) fn group_index(group: Group) -> usize {
    match group {
        Group::A => 0,
        Group::B => 1,
        Group::C => 2,
        Group::D => 3,
    }
}

/// A bus's left/right gain, ramped linearly when it changes so level, mute
/// and balance changes never click.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BusGain {
    to: [f32; 2],
    from: [f32; 2],
    /// Frames of the ramp rendered; `len` when there is no ramp.
    pos: u64,
    len: u64,
}

impl BusGain {
    pub(crate) fn new(gain: [f32; 2]) -> Self {
        BusGain {
            to: gain,
            from: gain,
            pos: 0,
            len: 0,
        }
    }

    #[inline]
    fn at(&self, pos: u64) -> [f32; 2] {
        let t = ramp_up(pos, self.len);
        [
            self.from[0] + (self.to[0] - self.from[0]) * t,
            self.from[1] + (self.to[1] - self.from[1]) * t,
        ]
    }

    /// Ramps to `gain` over `len` frames (at least one) from the gain of
    /// the last frame rendered, so a change during a ramp turns smoothly.
    pub(crate) fn set(&mut self, gain: [f32; 2], len: u64) {
        let now = if self.pos == 0 {
            self.from
        } else if self.pos < self.len {
            self.at(self.pos - 1)
        } else {
            self.to
        };
        *self = BusGain {
            to: gain,
            from: now,
            pos: 0,
            len: len.max(1),
        };
    }

    /// Applies the gain in place to frames `from..from + n` of `bus`.
    pub(crate) fn apply<B: BusKind>(&mut self, bus: &mut BusBuffer<B>, from: usize, n: usize) {
        let (l, r) = bus.span_mut(from, n);
        let mut i = 0;
        while i < n && self.pos < self.len {
            let [gl, gr] = self.at(self.pos);
            l[i] *= gl;
            r[i] *= gr;
            self.pos += 1;
            i += 1;
        }
        let [gl, gr] = self.to;
        if gl == 1.0 && gr == 1.0 {
            return; // unity: x·1 = x exactly, so skipping changes nothing
        }
        l[i..].iter_mut().for_each(|x| *x *= gl);
        r[i..].iter_mut().for_each(|x| *x *= gr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(n: u16) -> LogicalChannel {
        LogicalChannel::new(n).unwrap()
    }

    #[test]
    fn one_output_is_the_mono_sum_two_a_pair_three_a_pair_and_a_sum() {
        assert_eq!(feeds(1).collect::<Vec<_>>(), [Feed::MonoSum]);
        assert_eq!(feeds(2).collect::<Vec<_>>(), [Feed::Left, Feed::Right]);
        assert_eq!(
            feeds(3).collect::<Vec<_>>(),
            [Feed::Left, Feed::Right, Feed::MonoSum]
        );
        assert_eq!(
            feeds(4).collect::<Vec<_>>(),
            [Feed::Left, Feed::Right, Feed::Left, Feed::Right]
        );
    }

    #[test]
    fn busses_sharing_an_output_are_summed() {
        let a = [ch(1), ch(2)];
        let b = [ch(2)];
        let mut out = Outputs::new([&a[..], &b[..]].into_iter(), 4);
        let mut busses = [BusBuffer::<Main>::new(4), BusBuffer::new(4)];
        busses[0].l.fill(1.0);
        busses[0].r.fill(2.0);
        busses[1].l.fill(0.5);
        busses[1].r.fill(0.5);
        out.fill(&busses, 4);
        assert_eq!(out.get(ch(1), 4).unwrap(), &[1.0; 4]);
        let sum = 2.0 + (0.5 + 0.5) * std::f32::consts::FRAC_1_SQRT_2;
        assert_eq!(out.get(ch(2), 4).unwrap(), &[sum; 4]);
        assert!(out.get(ch(3), 4).is_none());
    }

    #[test]
    fn stereo_interleaves_for_a_wav_writer() {
        let (l, r) = ([1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]);
        let s = Stereo {
            left: &l,
            right: &r,
        };
        let mut out = [0.0; 6];
        assert_eq!(s.interleave_into(&mut out), 6);
        assert_eq!(out, [1.0, -1.0, 2.0, -2.0, 3.0, -3.0]);
        let mut short = [0.0; 3];
        assert_eq!(s.interleave_into(&mut short), 2);
    }

    #[test]
    fn a_bus_gain_change_ramps_over_the_edge_length() {
        let mut g = BusGain::new([1.0, 1.0]);
        let mut bus = BusBuffer::<Main>::new(8);
        bus.l.fill(1.0);
        bus.r.fill(1.0);
        g.set([0.0, 1.0], 4);
        g.apply(&mut bus, 0, 3);
        g.apply(&mut bus, 3, 5);
        assert_eq!(bus.l, [0.75, 0.5, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(bus.r, [1.0; 8]);
    }
}
