//! The patch: the show's logical outputs on the interface's physical
//! channels, as this box's device map says, and the [`Player`] that renders
//! each period through it on rt-out.

use crate::clocking::position::PositionWriter;
use cuebox_engine::device::alsa::Render;
use cuebox_engine::device::Cycle;
use cuebox_engine::render::{AuditionOut, MainOut, Renderer};
use cuebox_engine::show::{DeviceMap, LogicalChannel, Show};

/// Where one physical channel's audio comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// Nothing: silence.
    Silent,
    /// A logical output of groups A–D.
    Main(LogicalChannel),
    /// A logical output of the audition bus.
    Audition(LogicalChannel),
}

/// Physical channel → source, for every channel of the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    feeds: Vec<Feed>,
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
        let mut routed: Vec<(u16, Feed)> = Vec::new();
        for group in cuebox_engine::show::Group::ALL {
            for &l in &busses.groups.get(group).bus.outputs {
                routed.push((physical(l), Feed::Main(l)));
            }
        }
        for &l in &busses.audition.outputs {
            routed.push((physical(l), Feed::Audition(l)));
        }
        let channels = routed.iter().map(|(p, _)| *p).max().unwrap_or(2).max(1);
        let mut feeds = vec![Feed::Silent; usize::from(channels)];
        for (p, feed) in routed {
            // A logical channel the map leaves out is not played (0).
            if p > 0 && feeds[usize::from(p) - 1] == Feed::Silent {
                feeds[usize::from(p) - 1] = feed;
            }
        }
        Patch { feeds }
    }

    /// Physical channels the device needs.
    pub fn channels(&self) -> u16 {
        self.feeds.len() as u16
    }

    /// Each physical channel's source, channel 1 first.
    pub fn feeds(&self) -> &[Feed] {
        &self.feeds
    }

    /// A patch for a device with `channels` channels: the feeds beyond it are
    /// cut, missing ones are silent.
    pub fn fit(mut self, channels: u16) -> Self {
        self.feeds.resize(usize::from(channels), Feed::Silent);
        self
    }

    /// Interleaves `frames` frames of the rendered busses into `out`.
    pub fn interleave(
        &self,
        main: &MainOut,
        audition: &AuditionOut,
        out: &mut [f32],
        frames: usize,
    ) {
        let n = self.feeds.len();
        for (ch, feed) in self.feeds.iter().enumerate() {
            let src = match *feed {
                Feed::Silent => None,
                Feed::Main(l) => main.output(l),
                Feed::Audition(l) => audition.output(l),
            };
            let lane = out[..frames * n].iter_mut().skip(ch).step_by(n);
            match src {
                Some(src) => lane.zip(src).for_each(|(o, s)| *o = *s),
                None => lane.for_each(|o| *o = 0.0),
            }
        }
    }
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
            Ok(()) => self
                .patch
                .interleave(&self.main, &self.audition, out, frames),
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

    #[test]
    fn without_a_map_logical_channels_play_on_their_own_numbers() {
        let show = show();
        let patch = Patch::new(&show, None);
        assert_eq!(patch.channels(), 10);
        assert_eq!(patch.feeds()[0], Feed::Main(ch(1)));
        assert_eq!(patch.feeds()[7], Feed::Main(ch(8)));
        assert_eq!(patch.feeds()[9], Feed::Audition(ch(10)));
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
            patch.feeds(),
            [
                Feed::Audition(ch(9)),
                Feed::Audition(ch(10)),
                Feed::Main(ch(1)),
                Feed::Main(ch(2))
            ]
        );
        assert_eq!(patch.clone().fit(6).feeds()[5], Feed::Silent);
    }
}
