//! The device map: how one box turns the show's logical channels into its
//! interface's physical channels. Kept per box, apart from the show, so one
//! show plays on boxes with different interfaces.

use serde::{Deserialize, Serialize};

use super::ids::LogicalChannel;
use super::load::{check_size, typed, LoadError};
use super::version::FormatVersion;
use super::Extra;

/// A box's mapping of logical channels to physical ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceMap {
    /// Version of this file's format.
    pub format_version: FormatVersion,
    /// The ALSA PCM the outputs play through (`hw:1,0`, …).
    pub playback_pcm: String,
    /// The ALSA PCM the inputs capture from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_pcm: Option<String>,
    /// Logical outputs and the physical playback channel (from 1) of each.
    #[serde(default)]
    pub outputs: Vec<ChannelRoute>,
    /// Logical inputs and the physical capture channel (from 1) of each.
    #[serde(default)]
    pub inputs: Vec<ChannelRoute>,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One logical channel on one physical channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelRoute {
    /// The show's channel.
    pub logical: LogicalChannel,
    /// The interface's channel, from 1.
    pub physical: std::num::NonZeroU16,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl DeviceMap {
    /// The current format of device-map files.
    pub const FORMAT: FormatVersion = FormatVersion::new(1, 0);

    /// A map that sends logical channel n to physical channel n for `channels`
    /// outputs on `playback_pcm`.
    pub fn identity(playback_pcm: impl Into<String>, channels: u16) -> Self {
        let routes = (1..=channels)
            .filter_map(|n| {
                Some(ChannelRoute {
                    logical: LogicalChannel::new(n)?,
                    physical: std::num::NonZeroU16::new(n)?,
                    extra: Extra::new(),
                })
            })
            .collect();
        DeviceMap {
            format_version: Self::FORMAT,
            playback_pcm: playback_pcm.into(),
            capture_pcm: None,
            outputs: routes,
            inputs: Vec::new(),
            extra: Extra::new(),
        }
    }

    /// Reads a device map, refusing one written in a newer major format.
    pub fn load(bytes: &[u8]) -> Result<Self, LoadError> {
        check_size(bytes)?;
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let map: DeviceMap = typed(&mut de)?;
        if map.format_version.major > Self::FORMAT.major {
            return Err(LoadError::NewerMajor {
                found: map.format_version,
                supported: Self::FORMAT.major,
            });
        }
        Ok(map)
    }

    /// The map as pretty-printed JSON.
    pub fn to_json(&self) -> Vec<u8> {
        super::pretty_json(self)
    }

    /// Problems that would misroute audio: a logical channel mapped twice,
    /// or two logical outputs on one physical output.
    pub fn validate(&self) -> Vec<super::Problem> {
        let mut problems = Vec::new();
        for (list, routes) in [("outputs", &self.outputs), ("inputs", &self.inputs)] {
            let mut logical = std::collections::HashSet::new();
            let mut physical = std::collections::HashSet::new();
            for (i, r) in routes.iter().enumerate() {
                if !logical.insert(r.logical) {
                    problems.push(super::Problem {
                        path: format!("{list}[{i}].logical"),
                        issue: super::Issue::Repeated(format!("logical channel {}", r.logical)),
                    });
                }
                if list == "outputs" && !physical.insert(r.physical) {
                    problems.push(super::Problem {
                        path: format!("{list}[{i}].physical"),
                        issue: super::Issue::Repeated(format!("physical output {}", r.physical)),
                    });
                }
            }
        }
        problems
    }

    /// The physical output channel of a logical one.
    pub fn output(&self, logical: LogicalChannel) -> Option<std::num::NonZeroU16> {
        self.outputs
            .iter()
            .find(|r| r.logical == logical)
            .map(|r| r.physical)
    }
}
