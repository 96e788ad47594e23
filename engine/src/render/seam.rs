//! The loop seam: where a loop jumps back, the last frames of the pass
//! crossfade into the frames that come just before the loop start, so the
//! loop start follows on from what was heard as it would in the file.
//!
//! A seamless loop (the audio before the loop start is the audio before the
//! loop end) therefore passes through unchanged, with no dip; a loop with a
//! discontinuity is smoothed over the loop-point protection length. The
//! crossfade is equal-gain: the two sides are the same material when the
//! loop is seamless, and equal-gain keeps correlated material at its level.
//!
//! The frames before the loop start are captured as the first pass plays
//! them (into a buffer the renderer allocated for the voice's slot), so the
//! reader never seeks and nothing is allocated. A sequence with too little
//! audio before its loop start (a loop that begins at the cue start, a
//! whole file) has no seam: it wraps onto its own end as the file does, and
//! its loop points dip over protection ramps only when the clip sets its
//! own loop protection.

use super::reader::Timeline;

/// Where a voice's loop seams fall in its playback sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seam {
    /// Sequence frames seen so far.
    pos: u64,
    /// Sequence index of the first frame captured (the crossfade's target).
    from: u64,
    /// Crossfade frames (at least 1).
    len: u64,
    /// Frames to the first jump.
    first: u64,
    /// Frames of one loop pass.
    loop_len: u64,
    /// Samples per frame.
    ch: usize,
}

impl Seam {
    /// The seam of `timeline`'s loop, crossfading over `frames`; `None`
    /// when it does not loop, when the loop is shorter than the crossfade,
    /// or when the sequence has fewer than `frames` frames before the loop
    /// start.
    pub(crate) fn new(timeline: &Timeline, frames: u64, ch: usize) -> Option<Seam> {
        let (loop_start, _) = timeline.loop_region()?;
        let loop_len = timeline.loop_len()?;
        let before = loop_start.0.checked_sub(timeline.start().0)?;
        if frames == 0 || before < frames || loop_len < frames {
            return None;
        }
        Some(Seam {
            pos: 0,
            from: before - frames,
            len: frames,
            first: timeline.first_segment(),
            loop_len,
            ch,
        })
    }

    /// Samples of capture a seam of `frames` frames needs (stereo).
    pub(crate) fn buffer_len(frames: u64) -> usize {
        2 * frames as usize
    }

    /// Takes the next frames of the sequence, `x` (interleaved, as read):
    /// captures the frames before the loop start into `buf` (at least
    /// [`buffer_len`](Self::buffer_len) long) and crossfades the last frames
    /// of each pass into them.
    pub(crate) fn apply(&mut self, x: &mut [f32], buf: &mut [f32]) {
        let ch = self.ch;
        let n = (x.len() / ch) as u64;
        let (start, end) = (self.pos, self.pos + n);
        // The capture: the first pass only, before any crossfade (the loop
        // is at least as long as the crossfade, so the two never overlap).
        let (lo, hi) = (start.max(self.from), end.min(self.from + self.len));
        if lo < hi {
            let s = (lo - start) as usize * ch;
            let d = (lo - self.from) as usize * ch;
            let k = (hi - lo) as usize * ch;
            buf[d..d + k].copy_from_slice(&x[s..s + k]);
        }
        // The crossfades before each jump that this run reaches.
        let mut jump = if start < self.first {
            self.first
        } else {
            self.first + ((start - self.first) / self.loop_len + 1) * self.loop_len
        };
        while jump - self.len < end {
            let fade_start = jump - self.len;
            for at in fade_start.max(start)..jump.min(end) {
                let i = (at - fade_start) as usize;
                let w = (i + 1) as f32 / self.len as f32;
                let frame = &mut x[(at - start) as usize * ch..][..ch];
                for (y, c) in frame.iter_mut().zip(&buf[i * ch..(i + 1) * ch]) {
                    *y = *y * (1.0 - w) + c * w;
                }
            }
            jump += self.loop_len;
        }
        self.pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::Frames;

    #[test]
    fn the_last_frames_of_each_pass_fade_into_the_frames_before_the_loop_start() {
        // Cue 0..20, loop 10..14, a crossfade of 2: frames 8 and 9 are
        // captured; frames 12 and 13 of every pass fade into them.
        let t = Timeline::new(Frames(20), Frames(0), None, Some((Frames(10), Frames(14)))).unwrap();
        let mut seam = Seam::new(&t, 2, 1).unwrap();
        let mut buf = [0.0; 4];
        let mut out = Vec::new();
        for chunk in [3, 1, 7, 5, 6] {
            let mut x: Vec<f32> = (out.len() as u64..out.len() as u64 + chunk)
                .map(|n| t.source_frame(n).unwrap().0 as f32)
                .collect();
            seam.apply(&mut x, &mut buf);
            out.extend(x);
        }
        let mix = |tail: f32, pre: f32, w: f32| tail * (1.0 - w) + pre * w;
        assert_eq!(
            &out[..12],
            &(0..12).map(|f| f as f32).collect::<Vec<_>>()[..]
        );
        assert_eq!(&out[12..14], &[mix(12.0, 8.0, 0.5), 9.0]);
        assert_eq!(&out[14..16], &[10.0, 11.0]);
        assert_eq!(&out[16..18], &[mix(12.0, 8.0, 0.5), 9.0]);
        assert_eq!(&out[20..22], &[mix(12.0, 8.0, 0.5), 9.0]);
    }

    #[test]
    fn a_loop_without_audio_before_its_start_has_no_seam() {
        let at_cue = Timeline::new(Frames(20), Frames(4), None, Some((Frames(5), Frames(14))));
        assert_eq!(Seam::new(&at_cue.unwrap(), 2, 1), None);
        let short = Timeline::new(Frames(20), Frames(0), None, Some((Frames(10), Frames(11))));
        assert_eq!(Seam::new(&short.unwrap(), 2, 1), None);
        assert_eq!(Seam::new(&Timeline::whole(Frames(20)).unwrap(), 2, 1), None);
    }
}
