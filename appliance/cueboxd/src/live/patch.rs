//! The patch: the show's logical outputs on the interface's physical
//! channels, as this box's device map says, and the [`Player`] that renders
//! each period through it on rt-out.

use crate::clocking::position::PositionWriter;
use cuebox_engine::device::alsa::Render;
use cuebox_engine::device::Cycle;
use cuebox_engine::render::{AuditionOut, MainOut, Renderer};
use cuebox_engine::show::{DeviceMap, Group, LogicalChannel, Show};

/// One source of a physical channel's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// A logical output of groups A–D.
    Main(LogicalChannel),
    /// A logical output of the audition bus.
    Audition(LogicalChannel),
}

/// One physical channel: the sources summed into it (none: silence) and
/// the groups they carry, for reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Channel {
    feeds: Vec<Feed>,
    groups: Vec<Group>,
}

/// Physical channel → sources, for every channel of the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    channels: Vec<Channel>,
}

impl Patch {
    /// The patch of `show` through `map`; without a map, logical channel n
    /// plays on physical channel n. The device gets as many channels as the
    /// highest physical channel used.
    pub fn new(show: &Show, map: Option<&DeviceMap>) -> Self {
        let physical = |l: LogicalChannel| -> u16 {
            match map {
                Some(m) => m
                    .outputs
                    .iter()
                    .find(|r| r.logical == l)
                    .map_or(0, |r| r.physical.get()),
                None => l.0.get(),
            }
        };
        let busses = &show.busses;
        let mut routed: Vec<(u16, Feed, Option<Group>)> = Vec::new();
        for group in Group::ALL {
            for &l in &busses.groups.get(group).bus.outputs {
                routed.push((physical(l), Feed::Main(l), Some(group)));
            }
        }
        for &l in &busses.audition.outputs {
            routed.push((physical(l), Feed::Audition(l), None));
        }
        let count = routed.iter().map(|(p, _, _)| *p).max().unwrap_or(2).max(1);
        let mut channels = vec![Channel::default(); usize::from(count)];
        for (p, feed, group) in routed {
            // A logical channel the map leaves out is not played (0). The
            // main mix of a logical channel already sums every group on it:
            // it is fed once, and the audition never shares a main channel.
            let Some(ch) = usize::from(p).checked_sub(1).map(|i| &mut channels[i]) else {
                continue;
            };
            let audition = |f: &Feed| matches!(f, Feed::Audition(_));
            if ch
                .feeds
                .first()
                .is_none_or(|f| audition(f) == audition(&feed))
            {
                if !ch.feeds.contains(&feed) {
                    ch.feeds.push(feed);
                }
                ch.groups.extend(group.filter(|g| !ch.groups.contains(g)));
            }
        }
        Patch { channels }
    }

    /// Physical channels the device needs.
    pub fn channels(&self) -> u16 {
        self.channels.len() as u16
    }

    /// Each physical channel's sources, channel 1 first.
    pub fn feeds(&self) -> impl Iterator<Item = &[Feed]> {
        self.channels.iter().map(|c| c.feeds.as_slice())
    }

    /// The patch for a device with `channels` channels, and a warning for
    /// each compromise. Missing channels are silent. Channels past the
    /// device fold onto it as a stereo card folds a desk's outputs (physical
    /// channel n plays on n modulo the device's count), summed; the
    /// audition bus never folds onto the show's outputs: without channels
    /// of its own it is silent. `device` names the device in the warnings.
    pub fn fit(self, channels: u16, device: &str) -> (Self, Vec<String>) {
        let n = usize::from(channels.max(1));
        if self.channels.len() <= n {
            let mut patch = self;
            patch.channels.resize(n, Channel::default());
            return (patch, Vec::new());
        }
        let mut folded = vec![Channel::default(); n];
        let mut audition_lost = false;
        for (i, ch) in self.channels.into_iter().enumerate() {
            let to = &mut folded[i % n];
            for feed in ch.feeds {
                match feed {
                    Feed::Audition(_)
                        if i >= n || to.feeds.iter().any(|f| matches!(f, Feed::Main(_))) =>
                    {
                        audition_lost = true;
                    }
                    _ if to.feeds.contains(&feed) => {}
                    _ => to.feeds.push(feed),
                }
            }
            to.groups.extend(ch.groups);
        }
        // An audition feed that landed first on a channel the main mix
        // folded onto later is dropped too.
        for ch in &mut folded {
            if ch.feeds.iter().any(|f| matches!(f, Feed::Main(_)))
                && ch.feeds.iter().any(|f| matches!(f, Feed::Audition(_)))
            {
                ch.feeds.retain(|f| matches!(f, Feed::Main(_)));
                audition_lost = true;
            }
            ch.groups.sort();
            ch.groups.dedup();
        }
        let mut warnings = shared_outputs(&folded, device);
        if audition_lost {
            warnings.push(format!(
                "the audition bus has no outputs of its own on the {n}-channel device {device}: it is silent (it never plays on the show's outputs)"
            ));
        }
        (Patch { channels: folded }, warnings)
    }

    /// Interleaves `frames` frames into `out`, each physical channel the
    /// sum of its feeds' audio as `source` gives it (silence for none).
    pub fn interleave<'a>(
        &self,
        source: impl Fn(Feed) -> Option<&'a [f32]>,
        out: &mut [f32],
        frames: usize,
    ) {
        let n = self.channels.len();
        let out = &mut out[..frames * n];
        // One physical channel's samples in the interleaved buffer.
        fn lane(out: &mut [f32], ch: usize, n: usize) -> impl Iterator<Item = &mut f32> {
            out.iter_mut().skip(ch).step_by(n)
        }
        for (ch, channel) in self.channels.iter().enumerate() {
            let mut sources = channel.feeds.iter().filter_map(|feed| source(*feed));
            match sources.next() {
                Some(first) => {
                    lane(out, ch, n).zip(first).for_each(|(o, s)| *o = *s);
                    for src in sources {
                        lane(out, ch, n).zip(src).for_each(|(o, s)| *o += *s);
                    }
                }
                None => lane(out, ch, n).for_each(|o| *o = 0.0),
            }
        }
    }
}

/// One warning per set of groups that share physical outputs.
fn shared_outputs(channels: &[Channel], device: &str) -> Vec<String> {
    let mut sets: Vec<(&[Group], Vec<usize>)> = Vec::new();
    for (i, ch) in channels
        .iter()
        .enumerate()
        .filter(|(_, c)| c.groups.len() > 1)
    {
        match sets.iter_mut().find(|(g, _)| *g == ch.groups.as_slice()) {
            Some((_, outs)) => outs.push(i + 1),
            None => sets.push((&ch.groups, vec![i + 1])),
        }
    }
    sets.into_iter()
        .map(|(groups, outs)| {
            let names: Vec<String> = groups.iter().map(ToString::to_string).collect();
            let (last, rest) = names.split_last().expect("two groups or more");
            let outs: Vec<String> = outs.iter().map(ToString::to_string).collect();
            format!(
                "groups {} and {last} share output{} {} of the {}-channel device {device}: it plays their sum",
                rest.join(", "),
                if outs.len() > 1 { "s" } else { "" },
                outs.join(", "),
                channels.len()
            )
        })
        .collect()
}

/// The renderer with its output buffers and patch: what rt-out runs.
pub struct Player {
    renderer: Renderer,
    main: MainOut,
    audition: AuditionOut,
    patch: Patch,
    position: PositionWriter,
}

impl Player {
    /// A player for `renderer` through `patch`, publishing where the card
    /// is to `position`; allocates every buffer now.
    pub fn new(renderer: Renderer, patch: Patch, position: PositionWriter) -> Self {
        let main = renderer.main_out();
        let audition = renderer.audition_out();
        Player {
            renderer,
            main,
            audition,
            patch,
            position,
        }
    }
}

impl Render for Player {
    fn render(&mut self, out: &mut [f32], frames: usize, cycle: &Cycle) {
        self.position.publish(cycle, frames);
        match self
            .renderer
            .process(&mut self.main, &mut self.audition, frames)
        {
            Ok(()) => {
                let (main, audition) = (&self.main, &self.audition);
                let source = |feed| match feed {
                    Feed::Main(l) => main.output(l),
                    Feed::Audition(l) => audition.output(l),
                };
                self.patch.interleave(source, out, frames);
            }
            // Only a period longer than the renderer was built for fails,
            // and the device was opened with the renderer's period.
            Err(_) => out.iter_mut().for_each(|s| *s = 0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuebox_engine::show::{ChannelRoute, Extra};

    fn show() -> Show {
        let dims = cuebox_engine::show::GridDims::new(4, 8).unwrap();
        Show::new("patch", "media", dims, jiff::Timestamp::UNIX_EPOCH)
    }

    fn ch(n: u16) -> LogicalChannel {
        LogicalChannel::new(n).unwrap()
    }

    fn feeds(patch: &Patch) -> Vec<Vec<Feed>> {
        patch.feeds().map(<[Feed]>::to_vec).collect()
    }

    /// Folded onto two outputs, each output is the sum of its feeds, and
    /// interleaving (on rt-out, every period) allocates nothing.
    #[test]
    fn interleaving_sums_each_outputs_feeds_and_never_allocates() {
        let (patch, _) = Patch::new(&show(), None).fit(2, "test");
        // Each logical channel's period is one value: its number (audition +100).
        let value = |feed: Feed| match feed {
            Feed::Main(c) => f32::from(c.0.get()),
            Feed::Audition(c) => 100.0 + f32::from(c.0.get()),
        };
        let buffers: Vec<(Feed, Vec<f32>)> = (1..=10)
            .flat_map(|n| [Feed::Main(ch(n)), Feed::Audition(ch(n))])
            .map(|f| (f, vec![value(f); 64]))
            .collect();
        let mut out = vec![f32::NAN; 2 * 64];
        let ((), made) = crate::live::alloc_guard::allocations(|| {
            patch.interleave(
                |feed| {
                    buffers
                        .iter()
                        .find(|(f, _)| *f == feed)
                        .map(|(_, b)| b.as_slice())
                },
                &mut out,
                64,
            )
        });
        assert_eq!(made, 0, "interleave allocated");
        let want: Vec<f32> = patch
            .feeds()
            .map(|feeds| feeds.iter().map(|f| value(*f)).sum())
            .collect();
        assert!(
            want.iter().all(|w| *w > 0.0),
            "every output is fed: {want:?}"
        );
        for frame in out.chunks(2) {
            assert_eq!(frame, want.as_slice());
        }
    }

    #[test]
    fn without_a_map_logical_channels_play_on_their_own_numbers() {
        let show = show();
        let patch = Patch::new(&show, None);
        assert_eq!(patch.channels(), 10);
        let f = feeds(&patch);
        assert_eq!(f[0], [Feed::Main(ch(1))]);
        assert_eq!(f[7], [Feed::Main(ch(8))]);
        assert_eq!(f[9], [Feed::Audition(ch(10))]);
    }

    #[test]
    fn the_device_map_moves_channels_and_leaves_unmapped_ones_out() {
        let show = show();
        let route = |l: u16, p: u16| ChannelRoute {
            logical: ch(l),
            physical: std::num::NonZeroU16::new(p).unwrap(),
            extra: Extra::new(),
        };
        let mut map = DeviceMap::identity("hw:1,0", 0);
        map.outputs = vec![route(1, 3), route(2, 4), route(9, 1), route(10, 2)];
        let patch = Patch::new(&show, Some(&map));
        assert_eq!(
            feeds(&patch),
            [
                vec![Feed::Audition(ch(9))],
                vec![Feed::Audition(ch(10))],
                vec![Feed::Main(ch(1))],
                vec![Feed::Main(ch(2))]
            ]
        );
        let (wider, warnings) = patch.fit(6, "hw:1,0");
        assert_eq!(feeds(&wider)[5], []);
        assert!(warnings.is_empty());
    }

    #[test]
    fn a_stereo_card_folds_the_groups_and_silences_the_audition() {
        let show = show();
        let (patch, warnings) = Patch::new(&show, None).fit(2, "hw:CARD=Intel,DEV=0");
        assert_eq!(
            feeds(&patch),
            [
                [1, 3, 5, 7].map(|n| Feed::Main(ch(n))).to_vec(),
                [2, 4, 6, 8].map(|n| Feed::Main(ch(n))).to_vec(),
            ]
        );
        assert_eq!(
            warnings,
            [
                "groups A, B, C and D share outputs 1, 2 of the 2-channel device hw:CARD=Intel,DEV=0: it plays their sum",
                "the audition bus has no outputs of its own on the 2-channel device hw:CARD=Intel,DEV=0: it is silent (it never plays on the show's outputs)"
            ]
        );
        // Eight channels: the groups keep theirs, the audition is lost.
        let (patch, warnings) = Patch::new(&show, None).fit(8, "usb");
        assert!(feeds(&patch).iter().all(|f| f.len() == 1));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("the audition bus has no outputs"));
    }

    #[test]
    fn folded_channels_play_the_sum() {
        let show = show();
        let (patch, _) = Patch::new(&show, None).fit(2, "stereo");
        let audio: Vec<[f32; 4]> = (0..=10).map(|l| [l as f32; 4]).collect();
        let source = |feed| match feed {
            Feed::Main(l) => Some(&audio[usize::from(l.0.get())][..]),
            Feed::Audition(_) => panic!("the audition is not patched"),
        };
        let mut out = [-1.0f32; 8];
        patch.interleave(source, &mut out, 4);
        // Left: 1 + 3 + 5 + 7; right: 2 + 4 + 6 + 8.
        assert_eq!(out, [16.0, 20.0, 16.0, 20.0, 16.0, 20.0, 16.0, 20.0]);
    }
}
