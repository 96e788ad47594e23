//! The renderer as a user checks it: what comes out of the busses and
//! outputs, frame by frame, and what events say — for every feature, with an
//! allocation guard around every single `process` call.

use std::f64::consts::PI;
use std::sync::Arc;

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use cuebox_engine::dsp::meter::Level;
use cuebox_engine::render::*;
use cuebox_engine::show::{
    Busses, Channels, Curve, Extra, Frames, Group, GroupMode, LogicalChannel, OutputBus, Protection,
};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const RATE: u32 = 48_000;
/// The 1 ms edge fade at 48 kHz.
const EDGE: usize = 48;

// ---------------------------------------------------------------- the rig

/// Everything one block produced, appended block after block.
#[derive(Debug, Default, Clone, PartialEq)]
struct Capture {
    groups: [[Vec<f32>; 2]; 4],
    mix: [Vec<f32>; 2],
    outputs: Vec<(u16, Vec<f32>)>,
    audition: [Vec<f32>; 2],
    audition_outputs: Vec<(u16, Vec<f32>)>,
}

impl Capture {
    fn group(&self, g: Group) -> &[Vec<f32>; 2] {
        &self.groups[Group::ALL.iter().position(|x| *x == g).unwrap()]
    }

    fn output(&self, ch: u16) -> &[f32] {
        &self.outputs.iter().find(|(c, _)| *c == ch).unwrap().1
    }

    fn audition_output(&self, ch: u16) -> &[f32] {
        &self
            .audition_outputs
            .iter()
            .find(|(c, _)| *c == ch)
            .unwrap()
            .1
    }

    /// Every A–D sample as bits, for bit-identity checks.
    fn main_bits(&self) -> Vec<u32> {
        let groups = self.groups.iter().flatten().flatten();
        let outs = self.outputs.iter().flat_map(|(_, v)| v);
        groups
            .chain(self.mix.iter().flatten())
            .chain(outs)
            .map(|x| x.to_bits())
            .collect()
    }

    fn audition_bits(&self) -> Vec<u32> {
        let outs = self.audition_outputs.iter().flat_map(|(_, v)| v);
        self.audition
            .iter()
            .flatten()
            .chain(outs)
            .map(|x| x.to_bits())
            .collect()
    }

    fn append(&mut self, main: &MainOut, aud: &AuditionOut) {
        for (i, g) in Group::ALL.into_iter().enumerate() {
            let s = main.group(g);
            self.groups[i][0].extend_from_slice(s.left);
            self.groups[i][1].extend_from_slice(s.right);
        }
        self.mix[0].extend_from_slice(main.mix().left);
        self.mix[1].extend_from_slice(main.mix().right);
        for (k, (ch, x)) in main.outputs().enumerate() {
            if self.outputs.len() <= k {
                self.outputs.push((ch.0.get(), Vec::new()));
            }
            self.outputs[k].1.extend_from_slice(x);
        }
        self.audition[0].extend_from_slice(aud.stereo().left);
        self.audition[1].extend_from_slice(aud.stereo().right);
        for (k, (ch, x)) in aud.outputs().enumerate() {
            if self.audition_outputs.len() <= k {
                self.audition_outputs.push((ch.0.get(), Vec::new()));
            }
            self.audition_outputs[k].1.extend_from_slice(x);
        }
    }
}

/// A renderer, its control side and its buffers.
struct Rig {
    renderer: Renderer,
    control: RenderControl,
    main: MainOut,
    audition: AuditionOut,
    out: Capture,
    events: Vec<Event>,
    /// Readers handed back so far.
    returned: usize,
}

impl Rig {
    fn new(config: RenderConfig) -> Rig {
        let (renderer, control) = Renderer::new(config).expect("a valid configuration");
        Rig {
            main: renderer.main_out(),
            audition: renderer.audition_out(),
            renderer,
            control,
            out: Capture::default(),
            events: Vec::new(),
            returned: 0,
        }
    }

    fn standard() -> Rig {
        Rig::new(config(Busses::default()))
    }

    fn send(&mut self, at: usize, command: Command) {
        self.control
            .send(SamplePos(at as u64), command)
            .expect("room in the queue, in time order");
    }

    /// One block, under the allocation guard.
    fn block(&mut self, frames: usize) {
        let before = violation_count();
        let (r, m, a) = (&mut self.renderer, &mut self.main, &mut self.audition);
        assert_no_alloc(|| r.process(m, a, frames)).expect("a block the renderer accepts");
        assert_eq!(
            violation_count(),
            before,
            "Renderer::process allocated or freed memory"
        );
        self.out.append(&self.main, &self.audition);
        self.events.extend(self.control.events());
        self.returned += self.control.drop_finished();
    }

    /// Renders until `until` frames have been rendered, in blocks of `period`.
    fn run_to(&mut self, until: usize, period: usize) {
        while (self.renderer.now().0 as usize) < until {
            let n = period.min(until - self.renderer.now().0 as usize);
            self.block(n);
        }
    }

    fn events_of(&self, voice: u64) -> Vec<Event> {
        let v = VoiceId(voice);
        self.events
            .iter()
            .copied()
            .filter(|e| match *e {
                Event::Started { voice, .. }
                | Event::Refused { voice, .. }
                | Event::Retired { voice, .. }
                | Event::FadeDone { voice, .. }
                | Event::Stopped { voice, .. }
                | Event::Underrun { voice, .. } => voice == v,
                _ => false,
            })
            .collect()
    }
}

fn config(busses: Busses) -> RenderConfig {
    RenderConfig {
        sample_rate: RATE,
        max_block: 4096,
        busses,
        protection: Protection::default(),
        queues: QueueSizes::default(),
    }
}

fn ch(n: u16) -> LogicalChannel {
    LogicalChannel::new(n).unwrap()
}

fn free() -> GroupMode {
    GroupMode::Free {
        extra: Extra::new(),
    }
}

fn choke(max_voices: u8) -> GroupMode {
    GroupMode::Choke {
        max_voices,
        extra: Extra::new(),
    }
}

fn all_free() -> Busses {
    let mut b = Busses::default();
    for g in [
        &mut b.groups.a,
        &mut b.groups.b,
        &mut b.groups.c,
        &mut b.groups.d,
    ] {
        g.mode = free();
    }
    b
}

// ---------------------------------------------------------------- clips

fn dc(channels: Channels, frames: usize, value: f32) -> Arc<[f32]> {
    vec![value; frames * usize::from(channels.count())].into()
}

fn reader(audio: Arc<[f32]>, channels: Channels) -> BoxedReader {
    Box::new(MemoryClip::whole(audio, channels).unwrap())
}

fn looping(audio: Arc<[f32]>, channels: Channels, t: Timeline) -> BoxedReader {
    Box::new(MemoryClip::new(audio, channels, t).unwrap())
}

fn start(voice: u64, group: Group, reader: BoxedReader) -> Start {
    let params = VoiceParams::plain(reader.channels());
    Start {
        voice: VoiceId(voice),
        clip: ClipTag(voice as u32),
        group,
        reader,
        params,
    }
}

fn go(voice: u64, group: Group, reader: BoxedReader) -> Command {
    Command::Start(start(voice, group, reader))
}

fn audition(voice: u64, reader: BoxedReader) -> Command {
    let params = VoiceParams::plain(reader.channels());
    Command::Audition(AuditionStart {
        voice: VoiceId(voice),
        clip: ClipTag(voice as u32),
        reader,
        params,
    })
}

/// Deterministic noise, so scenarios are the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn sample(&mut self) -> f32 {
        (self.below(2_000_001) as f32 / 1_000_000.0 - 1.0) * 0.5
    }

    fn noise(&mut self, channels: Channels, frames: usize) -> Arc<[f32]> {
        (0..frames * usize::from(channels.count()))
            .map(|_| self.sample())
            .collect()
    }
}

// ---------------------------------------------------------------- the analytic curves, written out again

fn curve(c: Curve, x: f64) -> f64 {
    match c {
        Curve::Linear => x,
        Curve::Exponential => (1000f64.powf(x) - 1.0) / 999.0,
        Curve::Logarithmic => 1.0 - (1000f64.powf(1.0 - x) - 1.0) / 999.0,
        Curve::SCurve => (1.0 - (PI * x).cos()) / 2.0,
    }
}

fn law(power: bool, p: f64) -> f64 {
    if power {
        p.sqrt()
    } else {
        p
    }
}

/// Gain of frame `i` after a start: the linear 1 ms edge fade.
fn edge_in(i: usize) -> f64 {
    ((i + 1) as f64 / EDGE as f64).min(1.0)
}

/// Gain of frame `i` after a stop: the linear 1 ms edge fade, silent on its last frame.
fn edge_out(i: usize) -> f64 {
    ((EDGE - 1) as f64 - i as f64).max(0.0) / EDGE as f64
}

fn assert_close(got: &[f32], expected: impl Fn(usize) -> f64, what: &str) {
    for (i, g) in got.iter().enumerate() {
        let e = expected(i);
        assert!(
            (f64::from(*g) - e).abs() <= 1e-6,
            "{what}: frame {i} is {g}, the curve says {e}"
        );
    }
}

// ---------------------------------------------------------------- the tests

#[test]
fn the_allocation_guard_is_live() {
    // Every other test relies on the guard noticing an allocation; prove it does.
    let before = violation_count();
    let v = assert_no_alloc(|| Box::new(42u64));
    assert_eq!(*v, 42);
    assert!(violation_count() > before, "the guard missed an allocation");
}

#[test]
fn an_impulse_started_at_sample_n_appears_at_sample_n_for_every_period() {
    // An impulse at the clip's first frame (under the 1 ms edge fade, so at
    // 1/48) and a full-scale one 100 frames in.
    let mut audio = vec![0.0f32; 2 * 1000];
    audio[0] = 1.0;
    audio[1] = 1.0;
    audio[200] = 1.0;
    audio[201] = 1.0;
    let audio: Arc<[f32]> = audio.into();
    for period in [16, 64, 128, 1000, 4096] {
        for n in [0, 777, 4096 * 2 + 5] {
            let mut rig = Rig::standard();
            rig.send(n, go(1, Group::A, reader(audio.clone(), Channels::Stereo)));
            rig.run_to(n + 5000, period);
            let left = &rig.out.group(Group::A)[0];
            let hits: Vec<(usize, f32)> = left
                .iter()
                .copied()
                .enumerate()
                .filter(|(_, x)| *x != 0.0)
                .collect();
            assert_eq!(
                hits,
                [(n, 1.0 / 48.0), (n + 100, 1.0)],
                "period {period}, start at {n}"
            );
            assert_eq!(
                rig.out.output(1),
                left.as_slice(),
                "output 1 is group A's left"
            );
            assert!(rig.events.contains(&Event::Started {
                voice: VoiceId(1),
                clip: ClipTag(1),
                at: SamplePos(n as u64),
            }));
            assert!(rig.events.contains(&Event::Stopped {
                voice: VoiceId(1),
                clip: ClipTag(1),
                at: SamplePos(n as u64 + 1000),
                cause: StopCause::Ended,
            }));
        }
    }
}

#[test]
fn a_stop_is_a_one_millisecond_edge_fade_at_its_frame() {
    let mut rig = Rig::standard();
    rig.send(
        0,
        go(
            1,
            Group::A,
            reader(dc(Channels::Stereo, 96_000, 1.0), Channels::Stereo),
        ),
    );
    rig.send(1234, Command::Stop(Target::Voice(VoiceId(1))));
    rig.run_to(2000, 100);
    let left = &rig.out.group(Group::A)[0];
    assert_close(&left[..1234], edge_in, "start edge");
    assert_close(&left[1234..2000], edge_out, "stop edge");
    assert_eq!(
        rig.events_of(1).last(),
        Some(&Event::Stopped {
            voice: VoiceId(1),
            clip: ClipTag(1),
            at: SamplePos(1234 + EDGE as u64),
            cause: StopCause::Stopped,
        })
    );
    assert_eq!(rig.returned, 1, "the reader came back to be dropped");
    assert_eq!(rig.renderer.usage().voices, 0);
}

#[test]
fn fade_in_and_out_follow_every_curve_and_law() {
    for c in Curve::ALL {
        for power in [false, true] {
            let mut rig = Rig::standard();
            let (n, len_in, m, len_out) = (1000, 480, 5000, 960);
            let mut s = start(
                1,
                Group::B,
                reader(dc(Channels::Stereo, 48_000, 1.0), Channels::Stereo),
            );
            s.params.fade_in = FadeSpec::new(FrameCount(len_in as u64), c, power);
            rig.send(n, Command::Start(s));
            let out_fade = FadeSpec::new(FrameCount(len_out as u64), c, power);
            rig.send(
                m,
                Command::FadeOut {
                    target: Target::Clip(ClipTag(1)),
                    fade: Some(out_fade),
                },
            );
            rig.run_to(m + len_out + 500, 128);
            let what = format!("{c:?} power={power}");
            let left = &rig.out.group(Group::B)[0];
            assert_close(&left[..n], |_| 0.0, &what);
            assert_close(
                &left[n..m],
                |i| {
                    let fade = if i < len_in {
                        law(power, curve(c, (i + 1) as f64 / len_in as f64))
                    } else {
                        1.0
                    };
                    edge_in(i) * fade
                },
                &format!("fade in {what}"),
            );
            assert_close(
                &left[m..],
                |i| match i < len_out {
                    true => law(power, curve(c, 1.0 - (i + 1) as f64 / len_out as f64)),
                    false => 0.0,
                },
                &format!("fade out {what}"),
            );
            let at = |f: usize| SamplePos(f as u64);
            assert_eq!(
                rig.events_of(1),
                [
                    Event::Started {
                        voice: VoiceId(1),
                        clip: ClipTag(1),
                        at: at(n)
                    },
                    Event::FadeDone {
                        voice: VoiceId(1),
                        fade: FadeKind::In,
                        at: at(n + len_in)
                    },
                    Event::FadeDone {
                        voice: VoiceId(1),
                        fade: FadeKind::Out,
                        at: at(m + len_out)
                    },
                    Event::Stopped {
                        voice: VoiceId(1),
                        clip: ClipTag(1),
                        at: at(m + len_out),
                        cause: StopCause::Faded
                    },
                ],
                "{what}"
            );
        }
    }
}

#[test]
fn a_crossfade_is_power_complementary_on_every_curve() {
    for c in Curve::ALL {
        let mut rig = Rig::standard();
        let (m, len) = (2000, 960);
        rig.send(
            0,
            go(
                1,
                Group::A,
                reader(dc(Channels::Stereo, 48_000, 1.0), Channels::Stereo),
            ),
        );
        let mut incoming = start(
            2,
            Group::B,
            reader(dc(Channels::Stereo, 48_000, 1.0), Channels::Stereo),
        );
        incoming.params.crossfade = CrossfadeSpec {
            frames: FrameCount(len as u64),
            curve: c,
        };
        rig.send(
            m,
            Command::Crossfade {
                start: incoming,
                from: Target::Group(Group::A),
            },
        );
        rig.run_to(m + 2 * len, 64);
        let x = |i: usize| curve(c, ((i + 1) as f64 / len as f64).min(1.0));
        let a = &rig.out.group(Group::A)[0][m..];
        let b = &rig.out.group(Group::B)[0][m..];
        assert_close(a, |i| (1.0 - x(i)).sqrt(), &format!("outgoing {c:?}"));
        assert_close(b, |i| edge_in(i) * x(i).sqrt(), &format!("incoming {c:?}"));
        for i in EDGE..len {
            let p = f64::from(a[i]).powi(2) + f64::from(b[i]).powi(2);
            assert!((p - 1.0).abs() < 1e-6, "{c:?}: power {p} at {i}");
        }
        assert!(rig.events.contains(&Event::Stopped {
            voice: VoiceId(1),
            clip: ClipTag(1),
            at: SamplePos((m + len) as u64),
            cause: StopCause::Faded,
        }));
        assert!(rig.events.contains(&Event::FadeDone {
            voice: VoiceId(2),
            fade: FadeKind::CrossIn,
            at: SamplePos((m + len) as u64),
        }));
    }
}

#[test]
fn a_choke_group_retires_its_oldest_voice_with_the_edge_fade() {
    // Choke 1: the second start cuts the first with the 1 ms edge fade.
    let mut busses = Busses::default();
    busses.groups.a.mode = choke(1);
    let mut rig = Rig::new(config(busses));
    let s = 3000;
    rig.send(
        0,
        go(
            1,
            Group::A,
            reader(dc(Channels::Stereo, 48_000, 1.0), Channels::Stereo),
        ),
    );
    rig.send(
        s,
        go(
            2,
            Group::A,
            reader(dc(Channels::Stereo, 48_000, 0.25), Channels::Stereo),
        ),
    );
    rig.run_to(s + 500, 128);
    let left = &rig.out.group(Group::A)[0][s..];
    assert_close(left, |i| edge_out(i) + 0.25 * edge_in(i), "retire");
    assert!(rig.events.contains(&Event::Retired {
        voice: VoiceId(1),
        by: VoiceId(2),
        at: SamplePos(s as u64),
    }));
    assert!(rig.events.contains(&Event::Stopped {
        voice: VoiceId(1),
        clip: ClipTag(1),
        at: SamplePos((s + EDGE) as u64),
        cause: StopCause::Retired,
    }));

    // Choke 3 (the default): the fourth start retires the oldest, and a
    // voice fading out still counts; a voice crossfading out does not.
    let mut rig = Rig::standard();
    let clip = || reader(dc(Channels::Mono, 48_000, 0.1), Channels::Mono);
    rig.send(0, go(1, Group::C, clip()));
    rig.send(10, go(2, Group::C, clip()));
    rig.send(20, go(3, Group::C, clip()));
    rig.send(30, go(4, Group::C, clip()));
    rig.send(
        40,
        Command::FadeOut {
            target: Target::Voice(VoiceId(2)),
            fade: Some(FadeSpec::new(FrameCount(24_000), Curve::Linear, false)),
        },
    );
    rig.send(50, go(5, Group::C, clip()));
    let mut six = start(6, Group::C, clip());
    six.params.crossfade = CrossfadeSpec {
        frames: FrameCount(2000),
        curve: Curve::SCurve,
    };
    rig.send(
        60,
        Command::Crossfade {
            start: six,
            from: Target::Voice(VoiceId(3)),
        },
    );
    rig.run_to(1000, 128);
    let retired: Vec<(u64, u64)> = rig
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Retired { voice, by, .. } => Some((voice.0, by.0)),
            _ => None,
        })
        .collect();
    assert_eq!(
        retired,
        [(1, 4), (2, 5)],
        "oldest first; a fading voice still counts"
    );
    assert_eq!(
        rig.renderer.usage().voices,
        4,
        "voice 3 crossfading out does not count: 3, 4, 5 and 6 play"
    );
}

#[test]
fn free_mode_refuses_a_start_when_the_pool_is_full_and_says_why() {
    let mut rig = Rig::new(config(all_free()));
    for v in 0..24 {
        rig.send(
            v,
            go(
                v as u64,
                Group::ALL[v % 4],
                reader(dc(Channels::Stereo, 96_000, 0.01), Channels::Stereo),
            ),
        );
    }
    rig.send(
        100,
        go(
            100,
            Group::A,
            reader(dc(Channels::Stereo, 96_000, 0.01), Channels::Stereo),
        ),
    );
    rig.send(
        101,
        go(
            101,
            Group::B,
            reader(dc(Channels::Mono, 96_000, 0.01), Channels::Mono),
        ),
    );
    rig.send(2000, Command::Stop(Target::Voice(VoiceId(0))));
    // The stopping voice holds its place for its 1 ms edge fade...
    rig.send(
        2000,
        go(
            102,
            Group::A,
            reader(dc(Channels::Stereo, 96_000, 0.01), Channels::Stereo),
        ),
    );
    // ...and frees it after.
    rig.send(
        2000 + EDGE,
        go(
            103,
            Group::A,
            reader(dc(Channels::Stereo, 96_000, 0.01), Channels::Stereo),
        ),
    );
    rig.run_to(1000, 256);
    assert_eq!(rig.renderer.usage().mono_voices, 48);
    assert_eq!(rig.renderer.usage().voices, 24);
    rig.run_to(3000, 256);
    let refused = |v: u64, needed: u8| Event::Refused {
        voice: VoiceId(v),
        clip: ClipTag(v as u32),
        at: SamplePos(match v {
            100 => 100,
            101 => 101,
            _ => 2000,
        }),
        reason: RefuseReason::PoolFull { needed, free: 0 },
    };
    assert_eq!(rig.events_of(100), [refused(100, 2)]);
    assert_eq!(rig.events_of(101), [refused(101, 1)]);
    assert_eq!(rig.events_of(102), [refused(102, 2)]);
    assert!(matches!(rig.events_of(103)[..], [Event::Started { .. }]));
    assert_eq!(
        RefuseReason::PoolFull { needed: 2, free: 0 }.to_string(),
        "the voice pool is full: the clip needs 2 mono voice(s), 0 of 48 are free"
    );
    assert_eq!(
        rig.returned, 4,
        "three refused readers and the stopped one came back"
    );
}

#[test]
fn a_choke_group_always_gets_its_voices_however_many_a_free_group_wants() {
    // A free group asks for the whole pool; choke groups B (3), C (1) and
    // D (2) keep, each, stereo room for their limit plus one voice retiring
    // under its 1 ms edge: 8 + 4 + 6 mono voices that A never takes.
    let mut busses = Busses::default();
    busses.groups.a.mode = free();
    busses.groups.b.mode = choke(3);
    busses.groups.c.mode = choke(1);
    busses.groups.d.mode = choke(2);
    let mut rig = Rig::new(config(busses));
    let stereo = |level: f32| reader(dc(Channels::Stereo, 96_000, level), Channels::Stereo);
    for v in 0..24 {
        rig.send(v, go(v as u64, Group::A, stereo(1.0 / 64.0)));
    }
    // D: three GOs at one frame, the third retiring the first.
    for k in 0..3 {
        rig.send(1000, go(300 + k, Group::D, stereo(0.5)));
    }
    // C: a retrigger inside the retired voice's edge fade still fits.
    rig.send(1000, go(200, Group::C, stereo(0.25)));
    rig.send(1010, go(201, Group::C, stereo(0.25)));
    // B: four GOs, the fourth retiring the first, all at full reservation.
    for (k, at) in [1020, 1100, 1200, 1300].into_iter().enumerate() {
        rig.send(at, go(100 + k as u64, Group::B, stereo(0.125)));
    }
    rig.run_to(2000, 256);

    let started = |group: std::ops::Range<u64>| {
        rig.events
            .iter()
            .filter(|e| matches!(e, Event::Started { voice, .. } if group.contains(&voice.0)))
            .count()
    };
    assert_eq!(started(0..24), 15, "A gets 48 - 18 mono voices");
    assert_eq!(
        rig.events_of(15),
        [Event::Refused {
            voice: VoiceId(15),
            clip: ClipTag(15),
            at: SamplePos(15),
            reason: RefuseReason::Reserved {
                needed: 2,
                free: 18,
                reserved: 18
            },
        }]
    );
    assert_eq!(
        RefuseReason::Reserved {
            needed: 2,
            free: 18,
            reserved: 18
        }
        .to_string(),
        "the voice pool is full for this group: the clip needs 2 mono voice(s); 18 of 48 are \
         free but 18 of those are reserved for the choke groups' guaranteed voices"
    );
    assert_eq!(started(100..104), 4, "B: every GO plays");
    assert_eq!(started(200..202), 2, "C: every GO plays");
    assert_eq!(started(300..303), 3, "D: every GO plays");
    let refused: Vec<Event> = rig
        .events
        .iter()
        .copied()
        .filter(|e| matches!(e, Event::Refused { voice, .. } if voice.0 >= 100))
        .collect();
    assert_eq!(refused, [], "no choke group GO is refused");
    for (voice, by, at) in [(100, 103, 1300), (200, 201, 1010), (300, 302, 1000)] {
        assert!(
            rig.events.contains(&Event::Retired {
                voice: VoiceId(voice),
                by: VoiceId(by),
                at: SamplePos(at),
            }),
            "{voice} retired by {by}"
        );
    }
    // What plays once the edges are over, sample-exact: 15 voices in A,
    // three in B, one in C, two in D.
    let level = |g: Group| f64::from(rig.out.group(g)[0][1500]);
    let want = [
        (Group::A, 15.0 / 64.0),
        (Group::B, 3.0 * 0.125),
        (Group::C, 0.25),
        (Group::D, 2.0 * 0.5),
    ];
    for (g, w) in want {
        assert!((level(g) - w).abs() < 1e-6, "{g:?}: {} not {w}", level(g));
    }
    // The retired B voice's edge fade, under the new one rising.
    let b = &rig.out.group(Group::B)[0][1300..1300 + EDGE];
    assert_close(
        b,
        |i| 0.125 * (2.0 + edge_out(i) + edge_in(i)),
        "B's retire edge",
    );
    assert_eq!(rig.renderer.usage().mono_voices, 30 + 6 + 2 + 4);
}

#[test]
fn mono_clips_pack_two_per_stereo_voice() {
    let mut rig = Rig::new(config(all_free()));
    let v = 1.0 / 64.0;
    for i in 0..48 {
        let mut s = start(
            i,
            Group::ALL[i as usize % 4],
            reader(dc(Channels::Mono, 96_000, v), Channels::Mono),
        );
        s.params.pan = Pan::Mono { pan: -1.0 };
        rig.send(0, Command::Start(s));
    }
    rig.send(
        10,
        go(
            48,
            Group::A,
            reader(dc(Channels::Mono, 96_000, v), Channels::Mono),
        ),
    );
    rig.send(
        11,
        go(
            49,
            Group::A,
            reader(dc(Channels::Stereo, 96_000, v), Channels::Stereo),
        ),
    );
    // Two mono voices leave; a stereo one fits in their place.
    rig.send(1000, Command::Stop(Target::Voice(VoiceId(0))));
    rig.send(1000, Command::Stop(Target::Voice(VoiceId(1))));
    rig.send(
        1000 + EDGE,
        go(
            50,
            Group::D,
            reader(dc(Channels::Stereo, 96_000, v), Channels::Stereo),
        ),
    );
    rig.run_to(2000, 128);
    let started = rig
        .events
        .iter()
        .filter(|e| matches!(e, Event::Started { .. }))
        .count();
    assert_eq!(started, 49, "48 mono clips, then one stereo");
    assert_eq!(
        rig.events_of(48)[0],
        Event::Refused {
            voice: VoiceId(48),
            clip: ClipTag(48),
            at: SamplePos(10),
            reason: RefuseReason::PoolFull { needed: 1, free: 0 },
        }
    );
    assert!(matches!(rig.events_of(49)[0], Event::Refused { .. }));
    // All 48 really play: the mix's left is their sum (each panned hard left).
    let left = &rig.out.mix[0];
    for (i, x) in left[EDGE..1000].iter().enumerate() {
        assert!(
            (f64::from(*x) - 48.0 * f64::from(v)).abs() < 1e-6,
            "frame {i}: {x}"
        );
    }
    assert_eq!(
        rig.out.mix[1][500], 0.0,
        "hard left means nothing on the right"
    );
    assert_eq!(rig.renderer.usage().mono_voices, 48);
}

#[test]
fn edit_point_and_loop_point_fades_sit_exactly_at_the_markers() {
    let protection = Protection {
        edit_point_fade_ms: 3.0, // 144 frames
        loop_point_fade_ms: 0.5, // 24 frames
        ..Protection::default()
    };
    let (edit, lp) = (144usize, 24usize);
    // Each sample holds its own frame number, so the output shows which
    // frame played: cue from 1000, looping `loop_start`..3000.
    // The session's protection, or (`own`) the session's default with the
    // voice's own ramps of the same lengths: a clip's own protection fades.
    let play_as = |loop_start: u64, own: bool| {
        let mut cfg = config(Busses::default());
        if !own {
            cfg.protection = protection.clone();
        }
        let mut rig = Rig::new(cfg);
        let audio: Arc<[f32]> = (0..10_000).map(|f| f as f32 / 65_536.0).collect();
        let t = Timeline::new(
            Frames(10_000),
            Frames(1000),
            Some(Frames(9000)),
            Some((Frames(loop_start), Frames(3000))),
        )
        .unwrap();
        let mut s = start(1, Group::D, looping(audio, Channels::Mono, t));
        s.params.pan = Pan::Mono { pan: -1.0 };
        if own {
            s.params.edit_ramp = Some(FrameCount(edit as u64));
            s.params.loop_ramp = Some(FrameCount(lp as u64));
        }
        rig.send(500, Command::Start(s));
        rig.run_to(500 + 5500, 100);
        assert!(
            rig.renderer.usage().voices == 1,
            "a loop plays until stopped"
        );
        rig.out.group(Group::D)[0][500..].to_vec()
    };
    let play = |loop_start: u64| {
        let session = play_as(loop_start, false);
        assert_eq!(session, play_as(loop_start, true), "a voice's own ramps");
        session
    };
    // Loop 2000..3000: cue start to loop end, then the loop again and
    // again; the last 24 frames of each pass crossfade into the 24 before
    // the loop start, so the loop start follows on from them.
    let left = play(2000);
    let (first, loop_len) = (2000usize, 1000usize);
    let expected = |k: usize| {
        let (seg_pos, seg_len, src) = if k < first {
            (k, first, 1000 + k)
        } else {
            let p = (k - first) % loop_len;
            (p, loop_len, 2000 + p)
        };
        let up = if k < first {
            ((seg_pos + 1) as f64 / edit as f64).min(1.0)
        } else {
            1.0
        };
        let mut x = src as f64;
        if let Some(i) = (seg_pos + lp).checked_sub(seg_len) {
            let w = (i + 1) as f64 / lp as f64;
            x = x * (1.0 - w) + (2000 - lp + i) as f64 * w;
        }
        x / 65_536.0 * edge_in(k) * up
    };
    assert_close(&left, expected, "cue protection and loop seam");
    // The jump itself: the last frame of the pass is the one before the loop start.
    assert_close(
        &left[first - 1..first + 1],
        |i| (1999 + i) as f64 / 65_536.0,
        "seam",
    );

    // Loop 1000..3000, from the cue start: no audio before it to cross
    // into, so it wraps onto its own end as the file does — no ramp at the
    // loop points at all ...
    let left = play_as(1000, false);
    let expected = |k: usize| {
        let seg_pos = k % 2000;
        let up = if k < 2000 {
            ((seg_pos + 1) as f64 / edit as f64).min(1.0)
        } else {
            1.0
        };
        (1000 + seg_pos) as f64 / 65_536.0 * edge_in(k) * up
    };
    assert_close(&left, expected, "a loop with no audio before it wraps");
    // ... unless the clip asks for its own loop protection: then its loop
    // points dip with its 24-frame ramps.
    let left = play_as(1000, true);
    let expected = |k: usize| {
        let seg_pos = k % 2000;
        let up = if k < 2000 {
            ((seg_pos + 1) as f64 / edit as f64).min(1.0)
        } else {
            ((seg_pos + 1) as f64 / lp as f64).min(1.0)
        };
        let left_in_seg = 2000 - seg_pos;
        let down = if left_in_seg <= lp {
            (left_in_seg - 1) as f64 / lp as f64
        } else {
            1.0
        };
        (1000 + seg_pos) as f64 / 65_536.0 * edge_in(k) * up * down
    };
    assert_close(&left, expected, "cue and loop protection");
    assert_eq!(left[1999], 0.0, "silent last frame of the pass");
}

#[test]
fn a_cue_end_gets_the_edit_point_and_edge_fades_and_ends_the_voice() {
    let mut rig = Rig::standard();
    let t = Timeline::new(Frames(10_000), Frames(1000), Some(Frames(5000)), None).unwrap();
    let n = 300;
    rig.send(
        n,
        go(
            1,
            Group::A,
            looping(dc(Channels::Stereo, 10_000, 1.0), Channels::Stereo, t),
        ),
    );
    rig.run_to(n + 4500, 1000);
    let edit = 96; // 2 ms, the session default
    let len = 4000;
    let left = &rig.out.group(Group::A)[0][n..];
    assert_close(
        left,
        |k| {
            if k >= len {
                return 0.0;
            }
            let left_in_seq = len - k;
            let down = |ramp: usize| match left_in_seq <= ramp {
                true => (left_in_seq - 1) as f64 / ramp as f64,
                false => 1.0,
            };
            edge_in(k) * ((k + 1) as f64 / edit as f64).min(1.0) * down(edit) * down(EDGE)
        },
        "cue range",
    );
    assert!(rig.events.contains(&Event::Stopped {
        voice: VoiceId(1),
        clip: ClipTag(1),
        at: SamplePos((n + len) as u64),
        cause: StopCause::Ended,
    }));
}

#[test]
fn a_varispeed_voice_follows_its_speed_from_the_command_frame_and_ends_with_its_sequence() {
    let mut rig = Rig::new(config(all_free()));
    let frames = 24_000;
    // Both channels a slow ramp: interpolation reproduces it, so every
    // output frame tells the sequence position it was read at.
    let ramp: Arc<[f32]> = (0..frames * 2).map(|i| (i / 2) as f32 / 1e5).collect();
    let noise = Lcg(3).noise(Channels::Stereo, frames);
    let varispeed = |voice, group, audio: &Arc<[f32]>| {
        let mut s = start(voice, group, reader(audio.clone(), Channels::Stereo));
        s.params.speed = Some(Speed::UNITY);
        Command::Start(s)
    };
    let n = 500;
    // At unity a varispeed voice is the plain voice (the ramps are applied
    // before resampling, so only rounding may differ).
    rig.send(n, go(1, Group::A, reader(noise.clone(), Channels::Stereo)));
    rig.send(n, varispeed(2, Group::B, &noise));
    rig.send(n, varispeed(3, Group::C, &ramp));
    let fast = Speed::from_ratio(1.5);
    rig.send(
        n + 1_000,
        Command::Speed {
            voice: VoiceId(3),
            speed: fast,
        },
    );
    // A voice started without a speed cannot change it.
    rig.send(
        n + 1_000,
        Command::Speed {
            voice: VoiceId(1),
            speed: fast,
        },
    );
    rig.run_to(n + frames + 1_000, 256);

    let (a, b) = (&rig.out.group(Group::A)[0], &rig.out.group(Group::B)[0]);
    assert!(
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6),
        "unity is transparent"
    );
    let c = &rig.out.group(Group::C)[0][n..];
    for k in [200, 999, 1_000, 1_001, 5_000, 15_000] {
        let pos = match k {
            0..=1_000 => k as f64,
            _ => 1_000.0 + Speed::position_frames(fast.advance(k as u64 - 1_000)),
        };
        assert!(
            (f64::from(c[k]) - pos / 1e5).abs() < 1e-6,
            "output frame {k}: {} is not sequence position {pos}",
            c[k] * 1e5
        );
    }
    // 1 000 frames at unity, the other 23 000 at 1.5: it ends after about
    // 1 000 + 15 333 frames, on its own.
    let ended = rig.events_of(3).into_iter().find_map(|e| match e {
        Event::Stopped {
            at,
            cause: StopCause::Ended,
            ..
        } => Some(at.0 as usize - n),
        _ => None,
    });
    let want = 1_000 + 23_000 * 2 / 3;
    assert!(
        ended.is_some_and(|e| e.abs_diff(want) <= 2),
        "ended at {ended:?}, not {want}"
    );
    assert!(rig.events.contains(&Event::Unmatched {
        target: Target::Voice(VoiceId(1)),
        at: SamplePos(n as u64 + 1_000),
    }));
}

/// A reader that delivers `stall_at` frames, then nothing for `stall_calls`
/// calls, then the rest: a disk that could not keep up.
struct Starving {
    inner: MemoryClip,
    delivered: usize,
    stall_at: usize,
    stall_calls: usize,
}

impl ClipReader for Starving {
    fn channels(&self) -> Channels {
        self.inner.channels()
    }

    fn timeline(&self) -> Timeline {
        self.inner.timeline()
    }

    fn read(&mut self, out: &mut [f32]) -> usize {
        let ch = usize::from(self.channels().count());
        let mut want = out.len() / ch;
        if self.delivered >= self.stall_at && self.stall_calls > 0 {
            self.stall_calls -= 1;
            return 0;
        }
        if self.delivered < self.stall_at {
            want = want.min(self.stall_at - self.delivered);
        }
        let n = self.inner.read(&mut out[..want * ch]);
        self.delivered += n;
        n
    }
}

#[test]
fn an_underrun_plays_silence_reports_once_and_resumes_where_it_left_off() {
    let mut rig = Rig::standard();
    let audio: Arc<[f32]> = (0..2000).map(|f| 1.0 + f as f32 / 4096.0).collect();
    let r = Starving {
        inner: MemoryClip::whole(audio, Channels::Mono).unwrap(),
        delivered: 0,
        stall_at: 100,
        stall_calls: 3,
    };
    let mut s = start(1, Group::A, Box::new(r));
    s.params.pan = Pan::Mono { pan: -1.0 };
    rig.send(0, Command::Start(s));
    rig.run_to(2500, 64);
    let left = &rig.out.group(Group::A)[0];
    // Blocks of 64: the second read stops at frame 100, three more reads get
    // nothing, and audio resumes with frame 100 of the clip at frame 320.
    assert!(left[99] != 0.0);
    assert!(
        left[100..320].iter().all(|x| *x == 0.0),
        "silence while starved"
    );
    assert_eq!(left[320], 1.0 + 100.0 / 4096.0);
    let underruns: Vec<Event> = rig
        .events
        .iter()
        .copied()
        .filter(|e| matches!(e, Event::Underrun { .. }))
        .collect();
    assert_eq!(
        underruns,
        [Event::Underrun {
            voice: VoiceId(1),
            at: SamplePos(100),
        }]
    );
    assert!(rig.events.contains(&Event::Stopped {
        voice: VoiceId(1),
        clip: ClipTag(1),
        at: SamplePos(2000 + 220),
        cause: StopCause::Ended,
    }));
}

#[test]
fn a_pause_falls_silent_holds_its_place_and_resumes_exactly_where_it_paused() {
    let audio: Arc<[f32]> = (0..20_000).map(|f| 1.0 + f as f32 / 65_536.0).collect();
    let a = |f: usize| f64::from(audio[f]);
    for period in [64, 100, 1024] {
        let mut rig = Rig::standard();
        let mut s = start(1, Group::A, reader(audio.clone(), Channels::Mono));
        s.params.pan = Pan::Mono { pan: -1.0 };
        rig.send(0, Command::Start(s));
        rig.send(1000, Command::Pause(Target::Clip(ClipTag(1))));
        rig.send(5000, Command::Resume(Target::Clip(ClipTag(1))));
        rig.run_to(7000, period);
        let left = &rig.out.group(Group::A)[0];
        let what = |part: &str| format!("period {period}: {part}");
        assert_close(&left[48..1000], |i| a(48 + i), &what("before"));
        assert_close(
            &left[1000..1048],
            |i| edge_out(i) * a(1000 + i),
            &what("pause edge"),
        );
        assert!(
            left[1048..5000].iter().all(|x| *x == 0.0),
            "{}",
            what("silent while paused")
        );
        // The audio goes on from the frame after the pause edge.
        assert_close(
            &left[5000..5048],
            |i| edge_in(i) * a(1048 + i),
            &what("resume edge"),
        );
        assert_close(&left[5048..7000], |i| a(1096 + i), &what("after"));
        let held: Vec<Event> = rig
            .events
            .iter()
            .copied()
            .filter(|e| matches!(e, Event::Paused { .. } | Event::Resumed { .. }))
            .collect();
        assert_eq!(
            held,
            [
                Event::Paused {
                    voice: VoiceId(1),
                    at: SamplePos(1048)
                },
                Event::Resumed {
                    voice: VoiceId(1),
                    at: SamplePos(5000)
                }
            ],
            "{}",
            what("events")
        );
    }
}

#[test]
fn a_paused_voice_stops_at_once_and_a_resume_within_the_edge_loses_nothing() {
    let audio: Arc<[f32]> = (0..20_000).map(|f| 1.0 + f as f32 / 65_536.0).collect();
    let mut rig = Rig::standard();
    let left_only = |voice, group| {
        let mut s = start(voice, group, reader(audio.clone(), Channels::Mono));
        s.params.pan = Pan::Mono { pan: -1.0 };
        Command::Start(s)
    };
    rig.send(0, left_only(1, Group::A));
    rig.send(0, left_only(2, Group::B));
    rig.send(1000, Command::PauseAll);
    rig.send(3000, Command::Stop(Target::Voice(VoiceId(1))));
    rig.send(
        3000,
        Command::FadeOut {
            target: Target::Voice(VoiceId(2)),
            fade: None,
        },
    );
    rig.send(3500, left_only(3, Group::C));
    rig.send(4000, Command::Pause(Target::Voice(VoiceId(3))));
    rig.send(4020, Command::ResumeAll);
    rig.run_to(6000, 256);
    // Stopped and faded while paused: silent already, so they end at once.
    for voice in [1, 2] {
        assert_eq!(
            rig.events_of(voice).last(),
            Some(&Event::Stopped {
                voice: VoiceId(voice),
                clip: ClipTag(voice as u32),
                at: SamplePos(3000),
                cause: StopCause::Stopped,
            })
        );
    }
    assert!(rig.out.group(Group::A)[0][1048..].iter().all(|x| *x == 0.0));
    // Resumed 20 frames into its pause edge: it rises from where it got to
    // and never falls silent, and its audio never skipped a frame.
    let c = &rig.out.group(Group::C)[0];
    assert!(c[4000..4100].iter().all(|x| *x > 0.5), "no silent frame");
    let at = |f: usize| f64::from(audio[f - 3500]);
    assert_close(&c[4100..6000], |i| at(4100 + i), "continuous after");
    assert!(!rig.events.iter().any(
        |e| matches!(e, Event::Paused { voice, .. } | Event::Resumed { voice, .. } if voice.0 == 3)
    ));
}

#[test]
fn stop_all_fade_all_and_panic() {
    let mut rig = Rig::standard();
    for (v, g) in Group::ALL.into_iter().enumerate() {
        rig.send(
            0,
            go(
                v as u64,
                g,
                reader(dc(Channels::Stereo, 96_000, 0.5), Channels::Stereo),
            ),
        );
    }
    rig.send(
        0,
        audition(
            9,
            reader(dc(Channels::Stereo, 96_000, 0.5), Channels::Stereo),
        ),
    );
    rig.send(1000, Command::StopAll);
    rig.run_to(2000, 128);
    for g in Group::ALL {
        assert_close(
            &rig.out.group(g)[0][1000..2000],
            |i| 0.5 * edge_out(i),
            "stop all",
        );
    }
    assert_eq!(
        rig.out.audition[0][1999], 0.5,
        "Stop All leaves the audition alone"
    );

    for (v, g) in Group::ALL.into_iter().enumerate() {
        rig.send(
            2000,
            go(
                10 + v as u64,
                g,
                reader(dc(Channels::Stereo, 96_000, 0.5), Channels::Stereo),
            ),
        );
    }
    rig.send(
        3000,
        Command::FadeAll(Some(FadeSpec::new(FrameCount(4800), Curve::Linear, false))),
    );
    // Panic in the middle of the fade: everything, audition included, goes
    // with only the 1 ms edge fade.
    rig.send(5400, Command::Panic);
    rig.run_to(6000, 128);
    for g in Group::ALL {
        let l = &rig.out.group(g)[0];
        assert_close(
            &l[3000..5400],
            |i| 0.5 * (1.0 - (i + 1) as f64 / 4800.0),
            "fade all",
        );
        let fade = |i: usize| 1.0 - (2400 + i + 1) as f64 / 4800.0;
        assert_close(&l[5400..6000], |i| 0.5 * edge_out(i) * fade(i), "panic");
    }
    assert_close(
        &rig.out.audition[0][5400..6000],
        |i| 0.5 * edge_out(i),
        "panic audition",
    );
    let causes: Vec<StopCause> = rig
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Stopped { cause, .. } => Some(*cause),
            _ => None,
        })
        .collect();
    assert_eq!(
        causes.iter().filter(|c| **c == StopCause::StopAll).count(),
        4
    );
    assert_eq!(causes.iter().filter(|c| **c == StopCause::Panic).count(), 5);
    assert_eq!(
        rig.renderer.usage(),
        PoolUsage {
            mono_voices: 0,
            voices: 0,
            audition: false
        }
    );
}

#[test]
fn the_audition_voice_is_replaced_suspended_and_never_reaches_a_to_d() {
    let mut rig = Rig::standard();
    rig.send(
        100,
        audition(
            1,
            reader(dc(Channels::Stereo, 96_000, 0.5), Channels::Stereo),
        ),
    );
    // A new audition: the old one fades for 1 ms, then the new one starts.
    rig.send(
        1000,
        audition(2, reader(dc(Channels::Mono, 96_000, 0.5), Channels::Mono)),
    );
    rig.run_to(2000, 128);
    let l = &rig.out.audition[0];
    assert_close(&l[1000..1000 + EDGE], |i| 0.5 * edge_out(i), "replaced");
    let mono = 0.5 * std::f64::consts::FRAC_1_SQRT_2;
    assert_close(&l[1000 + EDGE..1200], |i| mono * edge_in(i), "replacement");
    assert!(rig.events.contains(&Event::Started {
        voice: VoiceId(2),
        clip: ClipTag(2),
        at: SamplePos(1000 + EDGE as u64),
    }));
    // Audition outputs 9 and 10 carry it; A–D carry nothing.
    assert_eq!(rig.out.audition_output(9), l.as_slice());
    assert!(
        rig.out.main_bits().iter().all(|b| *b == 0),
        "audition leaked into A-D"
    );
    assert!(rig.out.outputs.iter().all(|(c, _)| *c <= 8));

    // Suspended (the governor's seam): the voice fades, starts are refused.
    rig.renderer.set_audition_suspended(true);
    rig.send(
        2100,
        audition(
            3,
            reader(dc(Channels::Stereo, 96_000, 0.5), Channels::Stereo),
        ),
    );
    rig.run_to(3000, 128);
    assert!(rig.events.contains(&Event::Stopped {
        voice: VoiceId(2),
        clip: ClipTag(2),
        at: SamplePos(2000 + EDGE as u64),
        cause: StopCause::Suspended,
    }));
    assert!(matches!(
        rig.events_of(3)[..],
        [Event::Refused {
            reason: RefuseReason::AuditionSuspended,
            ..
        }]
    ));
    assert!(rig.out.audition[0][2000 + EDGE..].iter().all(|x| *x == 0.0));
    rig.renderer.set_audition_suspended(false);
    rig.send(
        3000,
        audition(
            4,
            reader(dc(Channels::Stereo, 96_000, 0.5), Channels::Stereo),
        ),
    );
    rig.send(3500, Command::StopAudition);
    rig.run_to(4000, 128);
    assert_eq!(rig.out.audition[1][3400], 0.5);
    assert!(matches!(
        rig.events_of(4).last(),
        Some(Event::Stopped {
            cause: StopCause::Stopped,
            ..
        })
    ));
}

#[test]
fn levels_pans_widths_and_routing() {
    let mut busses = Busses::default();
    busses.groups.b.bus = OutputBus::new(vec![ch(3)]); // one output: the mono sum
    busses.groups.b.bus.level_db = -6.0;
    busses.groups.c.bus = OutputBus::new(vec![ch(5), ch(6), ch(11)]); // pair + sum
    busses.groups.d.bus = OutputBus::new(vec![ch(1), ch(2)]); // shares A's pair
    let mut rig = Rig::new(config(busses));
    let mono = || reader(dc(Channels::Mono, 96_000, 1.0), Channels::Mono);
    let stereo = |l: f32, r: f32| {
        let audio: Arc<[f32]> = (0..96_000).flat_map(|_| [l, r]).collect();
        reader(audio, Channels::Stereo)
    };
    // A: a mono clip panned hard right at -12 dB.
    let mut a = start(1, Group::A, mono());
    a.params.pan = Pan::Mono { pan: 1.0 };
    a.params.level_db = -12.0;
    // B: a centred mono clip, into one output through a -6 dB bus.
    let b = start(2, Group::B, mono());
    // C: a stereo clip (1, 0) folded to mono by width 0.
    let mut c = start(3, Group::C, stereo(1.0, 0.0));
    c.params.pan = Pan::Stereo {
        width: 0.0,
        balance: 0.0,
    };
    // D: a stereo clip (1, 1) balanced hard left.
    let mut d = start(4, Group::D, stereo(1.0, 1.0));
    d.params.pan = Pan::Stereo {
        width: 1.0,
        balance: -1.0,
    };
    for s in [a, b, c, d] {
        rig.send(0, Command::Start(s));
    }
    rig.send(
        1000,
        Command::GroupGain {
            group: Group::D,
            level_db: 0.0,
            mute: true,
            balance: 0.0,
            ramp: FrameCount(0),
        },
    );
    rig.run_to(2000, 256);
    let at = 500;
    let db = |x: f64| 10f64.powf(x / 20.0);
    let s = std::f64::consts::FRAC_1_SQRT_2;
    let near = |x: f32, e: f64| (f64::from(x) - e).abs() < 1e-6;
    let ga = rig.out.group(Group::A);
    assert!(
        ga[0][at] == 0.0 && near(ga[1][at], db(-12.0)),
        "hard right at -12 dB"
    );
    assert!(
        near(rig.out.output(3)[at], db(-6.0)),
        "a centred mono clip summed to mono keeps its level"
    );
    let gc = rig.out.group(Group::C);
    assert!(
        near(gc[0][at], 0.5) && near(gc[1][at], 0.5),
        "width 0 folds to mono"
    );
    assert!(
        near(rig.out.output(11)[at], 2.0 * 0.5 * s),
        "a third output carries the mono sum"
    );
    let gd = rig.out.group(Group::D);
    assert!(
        near(gd[0][at], 1.0) && gd[1][at] == 0.0,
        "balance hard left"
    );
    assert!(
        near(rig.out.output(1)[at], 1.0) && near(rig.out.output(2)[at], db(-12.0)),
        "A and D sum on 1/2"
    );
    // Muting D ramps over 1 ms, then it is silent.
    assert_close(&gd[0][1000..1100], edge_out, "group mute ramp");
}

/// Every bus's meters as read after rendering, by bus.
fn read_meters(rig: &mut Rig) -> impl Fn(MeterBus) -> [ChannelLevels; 2] {
    let levels = rig.control.meters();
    move |bus| levels[MeterBus::ALL.iter().position(|b| *b == bus).unwrap()]
}

#[test]
fn bus_meters_read_each_bus_peak_and_rms_measured_under_the_allocation_guard() {
    let mut busses = Busses::default();
    busses.groups.c.bus.level_db = -6.0;
    let mut rig = Rig::new(config(busses));
    let seconds = 2;
    let frames = seconds * RATE as usize;
    let tau = std::f32::consts::TAU;
    // B: a 1 kHz sine, 0.5 left and 0.25 right (−6 and −12 dBFS).
    let sine: Arc<[f32]> = (0..frames)
        .flat_map(|i| {
            let x = (tau * 1000.0 * i as f32 / RATE as f32).sin();
            [0.5 * x, 0.25 * x]
        })
        .collect();
    rig.send(0, go(1, Group::B, reader(sine, Channels::Stereo)));
    // C: full-scale DC through its −6 dB bus; the audition: DC at 0.125.
    rig.send(
        0,
        go(
            2,
            Group::C,
            reader(dc(Channels::Stereo, frames, 1.0), Channels::Stereo),
        ),
    );
    rig.send(
        0,
        audition(
            3,
            reader(dc(Channels::Stereo, frames, 0.125), Channels::Stereo),
        ),
    );
    // Every block, metering included, runs under the allocation guard.
    rig.run_to(frames - RATE as usize / 10, 256);
    let m = read_meters(&mut rig);
    let db = |l: Level| l.dbfs().db();
    let near = |got: f32, want: f32, what: &str| {
        assert!(
            (got - want).abs() < 0.05,
            "{what}: {got} dBFS, expected {want}"
        );
    };
    let [bl, br] = m(MeterBus::Group(Group::B));
    near(db(bl.peak), -6.02, "B left peak");
    near(db(br.peak), -12.04, "B right peak");
    // A sine's RMS is 3 dB under its peak (after 6 time constants).
    near(db(bl.rms), -9.03, "B left RMS");
    near(db(br.rms), -15.05, "B right RMS");
    for c in m(MeterBus::Group(Group::C)) {
        near(db(c.peak), -6.0, "C peak, after its bus level");
        near(db(c.rms), -6.0, "C RMS");
    }
    // The mains carry B plus C; the audition bus is metered on its own.
    let [ml, _] = m(MeterBus::Main);
    near(
        db(ml.peak),
        20.0 * (0.5f32 + 10f32.powf(-6.0 / 20.0)).log10(),
        "main left",
    );
    for c in m(MeterBus::Audition) {
        near(db(c.peak), -18.06, "audition");
    }
    for g in [Group::A, Group::D] {
        assert_eq!(
            m(MeterBus::Group(g)),
            [ChannelLevels::default(); 2],
            "{g} is silent"
        );
    }

    // A read holds the peaks since the last one: the clips' last 0.1 s,
    // then (after they ended) nothing.
    rig.run_to(frames + RATE as usize / 10, 256);
    near(
        db(read_meters(&mut rig)(MeterBus::Group(Group::B))[0].peak),
        -6.02,
        "B's tail",
    );
    rig.run_to(frames + RATE as usize, 256);
    let after = read_meters(&mut rig);
    for bus in MeterBus::ALL {
        for (c, before) in after(bus).into_iter().zip(m(bus)) {
            assert_eq!(c.peak, Level::SILENCE, "{bus}: no peak since the last read");
            // A second of silence after the clips end is 3.3 of the RMS's
            // 300 ms time constants: e^(−1/0.3) of the power, 14.5 dB down.
            if before.rms == Level::SILENCE {
                assert_eq!(c.rms, Level::SILENCE, "{bus}");
            } else {
                near(
                    db(c.rms) - db(before.rms),
                    -14.48,
                    &format!("{bus}: RMS decay"),
                );
            }
        }
    }
}

#[test]
fn a_command_for_a_frame_already_rendered_applies_at_once_and_says_so() {
    let mut rig = Rig::standard();
    rig.run_to(256, 128);
    rig.send(
        10,
        go(
            1,
            Group::A,
            reader(dc(Channels::Stereo, 1000, 1.0), Channels::Stereo),
        ),
    );
    rig.run_to(512, 128);
    assert!(rig.events.contains(&Event::Late {
        at: SamplePos(10),
        applied: SamplePos(256)
    }));
    assert_eq!(rig.out.group(Group::A)[0][256], 1.0 / 48.0);
    // Out-of-order sends are refused on the control side.
    rig.send(1000, Command::StopAll);
    let err = rig
        .control
        .send(SamplePos(900), Command::StopAll)
        .unwrap_err();
    assert!(matches!(err, SendError::OutOfOrder { .. }), "{err}");
    // Unknown targets are reported, not ignored.
    rig.send(1100, Command::Stop(Target::Clip(ClipTag(77))));
    rig.run_to(1200, 128);
    assert!(rig.events.contains(&Event::Unmatched {
        target: Target::Clip(ClipTag(77)),
        at: SamplePos(1100),
    }));
}

#[test]
fn starts_that_cannot_play_are_refused_with_the_reason() {
    let mut rig = Rig::standard();
    let mut s = start(
        1,
        Group::A,
        reader(dc(Channels::Stereo, 1000, 1.0), Channels::Stereo),
    );
    s.params.pan = Pan::Mono { pan: 0.0 };
    rig.send(0, Command::Start(s));
    rig.send(
        0,
        go(
            2,
            Group::A,
            reader(dc(Channels::Stereo, 1000, 1.0), Channels::Stereo),
        ),
    );
    rig.send(
        5,
        go(
            2,
            Group::B,
            reader(dc(Channels::Stereo, 1000, 1.0), Channels::Stereo),
        ),
    );
    rig.run_to(100, 64);
    assert!(matches!(
        rig.events_of(1)[..],
        [Event::Refused {
            reason: RefuseReason::PanningMismatch { pan: 1, audio: 2 },
            ..
        }]
    ));
    assert!(rig.events_of(2).contains(&Event::Refused {
        voice: VoiceId(2),
        clip: ClipTag(2),
        at: SamplePos(5),
        reason: RefuseReason::DuplicateVoice,
    }));
}

#[test]
fn bad_configurations_and_buffers_are_refused() {
    let mut b = Busses::default();
    b.audition.outputs = vec![ch(2), ch(9)];
    let err = Renderer::new(config(b)).err().unwrap();
    assert_eq!(
        err,
        RenderConfigError::AuditionNotIsolated {
            output: ch(2),
            group: Group::A
        }
    );
    assert_eq!(
        err.to_string(),
        "output 2 is fed by both the audition bus and group A; \
         the audition bus must stay isolated from groups A-D"
    );
    let mut b = Busses::default();
    b.groups.c.mode = choke(4);
    assert!(matches!(
        Renderer::new(config(b)).err().unwrap(),
        RenderConfigError::ChokeLimit { max: 4, .. }
    ));
    let mut c = config(Busses::default());
    c.protection.loop_point_fade_ms = 20.0;
    assert!(matches!(
        Renderer::new(c).err().unwrap(),
        RenderConfigError::Protection { .. }
    ));
    let mut c = config(Busses::default());
    c.max_block = 0;
    assert!(Renderer::new(c).is_err());

    let mut c = config(Busses::default());
    c.max_block = 128;
    let mut rig = Rig::new(c);
    let (r, m, a) = (&mut rig.renderer, &mut rig.main, &mut rig.audition);
    assert_eq!(
        assert_no_alloc(|| r.process(m, a, 129)),
        Err(ProcessError::BlockTooLarge {
            frames: 129,
            max: 128
        })
    );
    // Buffers made for smaller blocks than asked for are refused too.
    let (mut big, _control) = Renderer::new(config(Busses::default())).unwrap();
    let mut small_main = rig.renderer.main_out();
    let mut big_aud = big.audition_out();
    assert_eq!(
        assert_no_alloc(|| big.process(&mut small_main, &mut big_aud, 129)),
        Err(ProcessError::Buffers)
    );
    assert_eq!(
        big.now(),
        SamplePos(0),
        "nothing rendered, the clock did not move"
    );
}

// ---------------------------------------------------------------- whole-show properties

/// A busy show: every group mode, mono and stereo, cue ranges and loops,
/// every fade curve, stops, crossfades, bus changes, Fade All and Panic —
/// and, when `with_audition`, a hammering audition bus.
fn busy_show(with_audition: bool) -> Vec<(usize, Command)> {
    let mut rng = Lcg(7);
    let mut cmds: Vec<(usize, Command)> = Vec::new();
    let channels = [Channels::Mono, Channels::Stereo];
    for k in 0..160 {
        let voice = k as u64;
        let at = 200 + k * 800 + rng.below(700) as usize;
        let ch = channels[rng.below(2) as usize];
        let frames = 2_000 + rng.below(60_000) as usize;
        let audio = rng.noise(ch, frames);
        let r: BoxedReader = if rng.below(3) == 0 {
            let a = rng.below(frames as u64 / 2);
            let ls = a + rng.below(frames as u64 / 4);
            let le = ls + 1 + rng.below(frames as u64 - ls - 1);
            let t = Timeline::new(
                Frames(frames as u64),
                Frames(a),
                None,
                Some((Frames(ls), Frames(le))),
            )
            .unwrap();
            looping(audio, ch, t)
        } else {
            let a = rng.below(frames as u64 / 3);
            let t = Timeline::new(
                Frames(frames as u64),
                Frames(a),
                Some(Frames(frames as u64 - rng.below(500))),
                None,
            )
            .unwrap();
            looping(audio, ch, t)
        };
        let group = Group::ALL[rng.below(4) as usize];
        let mut s = start(voice, group, r);
        s.params.level_db = -(rng.below(24) as f64);
        s.params.pan = match ch {
            Channels::Mono => Pan::Mono {
                pan: rng.below(201) as f64 / 100.0 - 1.0,
            },
            Channels::Stereo => Pan::Stereo {
                width: rng.below(101) as f64 / 100.0,
                balance: rng.below(201) as f64 / 100.0 - 1.0,
            },
        };
        let c = Curve::ALL[rng.below(4) as usize];
        s.params.fade_in = FadeSpec::new(FrameCount(rng.below(5000)), c, rng.below(2) == 0);
        s.params.fade_out = FadeSpec::new(FrameCount(rng.below(9000)), c, rng.below(2) == 0);
        s.params.crossfade = CrossfadeSpec {
            frames: FrameCount(rng.below(4000)),
            curve: c,
        };
        let cmd = match rng.below(5) {
            0 => Command::Crossfade {
                start: s,
                from: Target::Group(group),
            },
            _ => Command::Start(s),
        };
        cmds.push((at, cmd));
        let later = at + rng.below(20_000) as usize;
        let target = Target::Voice(VoiceId(voice.saturating_sub(rng.below(3))));
        cmds.push((
            later,
            match rng.below(3) {
                0 => Command::Stop(target),
                1 => Command::FadeOut { target, fade: None },
                _ => Command::FadeOut {
                    target: Target::Clip(ClipTag(voice as u32)),
                    fade: Some(FadeSpec::new(FrameCount(rng.below(3000)), c, true)),
                },
            },
        ));
        if k % 17 == 0 {
            let group = Group::ALL[rng.below(4) as usize];
            cmds.push((
                at + 5,
                Command::GroupGain {
                    group,
                    level_db: -(rng.below(12) as f64),
                    mute: rng.below(5) == 0,
                    balance: rng.below(3) as f64 - 1.0,
                    // Edge-length and long ramps, some overlapping the next change.
                    ramp: FrameCount((k as u64 % 3) * 9_000),
                },
            ));
        }
    }
    // A burst in free group C that runs the pool dry: some starts are refused.
    for k in 0..30 {
        let r = reader(rng.noise(Channels::Stereo, 20_000), Channels::Stereo);
        cmds.push((60_000 + 7 * k, go(5_000 + k as u64, Group::C, r)));
    }
    cmds.push((100_000, Command::FadeAll(None)));
    cmds.push((110_000, Command::StopAll));
    cmds.push((
        125_000,
        go(
            9_000,
            Group::A,
            reader(rng.noise(Channels::Stereo, 30_000), Channels::Stereo),
        ),
    ));
    cmds.push((140_000, Command::Panic));
    if with_audition {
        let mut rng = Lcg(99);
        for k in 0..400 {
            let at = k * 350 + rng.below(300) as usize;
            let ch = channels[rng.below(2) as usize];
            let frames = 500 + rng.below(20_000) as usize;
            let r = reader(rng.noise(ch, frames), ch);
            let cmd = match rng.below(6) {
                0 => Command::StopAudition,
                _ => audition(100_000 + k as u64, r),
            };
            cmds.push((at, cmd));
        }
    }
    cmds.sort_by_key(|(at, _)| *at); // stable: same-frame commands keep their order
    cmds
}

fn play(cmds: Vec<(usize, Command)>, periods: &mut dyn FnMut() -> usize) -> Rig {
    let mut busses = Busses::default();
    busses.groups.b.mode = choke(1);
    busses.groups.c.mode = free();
    busses.groups.d.mode = choke(2);
    busses.groups.d.bus = OutputBus::new(vec![ch(8)]);
    let mut rig = Rig::new(config(busses));
    for (at, cmd) in cmds {
        rig.send(at, cmd);
    }
    while rig.renderer.now().0 < 150_000 {
        let n = periods().min(150_000 - rig.renderer.now().0 as usize);
        rig.block(n);
    }
    rig
}

fn sorted_events(rig: &Rig, audition: bool) -> Vec<String> {
    let mut e: Vec<String> = rig
        .events
        .iter()
        .filter(|e| {
            let id = match e {
                Event::Started { voice, .. }
                | Event::Refused { voice, .. }
                | Event::Stopped { voice, .. }
                | Event::FadeDone { voice, .. } => Some(voice.0),
                _ => None,
            };
            audition || id.is_none_or(|v| v < 100_000)
        })
        .map(|e| format!("{e:?}"))
        .collect();
    e.sort();
    e
}

#[test]
fn any_period_from_16_to_4096_gives_bit_identical_output() {
    let reference = play(busy_show(true), &mut || 128);
    let bits = reference.out.main_bits();
    assert!(
        reference.out.mix[0].iter().filter(|x| **x != 0.0).count() > 100_000,
        "the show must actually play"
    );
    // The show exercises what it should: starts, chokes, refusals, fades.
    let count = |pred: fn(&Event) -> bool| reference.events.iter().filter(|e| pred(e)).count();
    assert!(count(|e| matches!(e, Event::Retired { .. })) > 10);
    assert!(
        count(|e| matches!(
            e,
            Event::Refused {
                reason: RefuseReason::PoolFull { .. } | RefuseReason::Reserved { .. },
                ..
            }
        )) > 0
    );
    assert!(count(|e| matches!(e, Event::FadeDone { .. })) > 100);
    assert!(
        count(|e| matches!(
            e,
            Event::Stopped {
                cause: StopCause::Faded,
                ..
            }
        )) > 50
    );
    let mut sizes = Lcg(3);
    let varying = &mut move || 16 + sizes.below(4096 - 16 + 1) as usize;
    let runs: Vec<(String, Rig)> = [16usize, 17, 64, 1000, 4096]
        .into_iter()
        .map(|p| (format!("period {p}"), play(busy_show(true), &mut || p)))
        .chain([("varying periods".to_owned(), play(busy_show(true), varying))])
        .collect();
    for (what, rig) in &runs {
        assert!(
            rig.out.main_bits() == bits,
            "{what}: A-D output differs from period 128"
        );
        assert!(
            rig.out.audition_bits() == reference.out.audition_bits(),
            "{what}: audition output differs"
        );
        assert_eq!(
            sorted_events(rig, true),
            sorted_events(&reference, true),
            "{what}: events differ"
        );
    }
}

#[test]
fn groups_a_to_d_are_bit_identical_with_and_without_heavy_audition() {
    let quiet = play(busy_show(false), &mut || 256);
    let busy = play(busy_show(true), &mut || 256);
    assert!(
        busy.out.audition[0].iter().filter(|x| **x != 0.0).count() > 100_000,
        "the audition must really be busy"
    );
    assert!(quiet.out.audition_bits().iter().all(|b| *b == 0));
    assert!(
        quiet.out.main_bits() == busy.out.main_bits(),
        "audition activity changed A-D output"
    );
    assert_eq!(
        sorted_events(&quiet, false),
        sorted_events(&busy, false),
        "A-D events changed"
    );
}

#[test]
fn a_clip_from_the_show_becomes_a_voice_at_the_engine_rate() {
    // A 44.1 kHz clip with markers and fades, as a session stores it.
    let clip: cuebox_engine::show::Clip = serde_json::from_value(serde_json::json!({
        "id": "c1", "name": "Storm", "group": "B",
        "audio": {
            "path": "storm.wav",
            "hash": format!("blake3:{}", "0".repeat(64)),
            "format": {"channels": 1, "sample_rate": 44100, "bit_depth": 16,
                       "frames": 441000, "codec": "pcm_s16le"}
        },
        "processing": {
            "level_db": -6.0,
            "panning": {"mode": "mono", "pan": -0.5},
            "cue": {"start": 44100, "end": 396900},
            "loop": {"start": 88200, "end": 132300, "enabled": true},
            "fades": {"in": {"time_ms": 10, "curve": "s_curve", "power": false}}
        }
    }))
    .expect("a valid clip");
    let t = Timeline::from_clip(&clip, RATE).unwrap();
    assert_eq!(
        (t.length(), t.start(), t.end(), t.loop_region()),
        (
            Frames(480_000),
            Frames(48_000),
            Frames(432_000),
            Some((Frames(96_000), Frames(144_000)))
        )
    );
    assert!(t.cuts_in() && t.cuts_out() && t.sequence_len().is_none());
    let defaults = cuebox_engine::show::FadeDefaults::default();
    let p = VoiceParams::from_clip(&clip, &defaults, RATE);
    assert_eq!(p.level_db, -6.0);
    assert_eq!(p.pan, Pan::Mono { pan: -0.5 });
    assert_eq!(
        p.fade_in,
        FadeSpec::new(FrameCount(480), Curve::SCurve, false)
    );
    // Missing fades come from the session defaults: 2 s out, 1 s crossfade.
    assert_eq!(
        p.fade_out,
        FadeSpec::new(FrameCount(96_000), Curve::Exponential, true)
    );
    assert_eq!(
        p.crossfade,
        CrossfadeSpec {
            frames: FrameCount(48_000),
            curve: Curve::SCurve
        }
    );
    // A disabled loop is no loop.
    let mut once = clip.clone();
    once.processing.loop_region.as_mut().unwrap().enabled = false;
    assert_eq!(
        Timeline::from_clip(&once, RATE).unwrap().sequence_len(),
        Some(384_000)
    );
}

#[test]
fn the_renderer_moves_to_the_render_thread_and_its_control_anywhere() {
    fn send<T: Send>() {}
    send::<Renderer>();
    send::<RenderControl>();
    send::<Scheduled>();
    send::<Event>();
}

// ---------------------------------------------------------------- show commands, heard

/// A show of constant-level stereo clips: c1 (1.0) and c3 (0.25) in group
/// A, c2 (0.5) in group B, each 2 s long.
fn dc_show() -> cuebox_engine::show::Show {
    let mut show = cuebox_engine::show::Show::new(
        "dc",
        "media",
        cuebox_engine::show::GridDims::new(4, 8).unwrap(),
        "2026-01-01T00:00:00Z".parse().unwrap(),
    );
    for (id, group) in [("c1", "A"), ("c2", "B"), ("c3", "A")] {
        let clip = serde_json::from_value(serde_json::json!({
            "id": id, "name": id, "group": group,
            "audio": {
                "path": format!("{id}.wav"),
                "hash": format!("blake3:{}", "0".repeat(64)),
                "format": {"channels": 2, "sample_rate": 48000, "bit_depth": 24,
                           "frames": 96000, "codec": "pcm_s24le"}
            },
            "processing": {"panning": {"mode": "stereo", "width": 1.0, "balance": 0.0}}
        }))
        .expect("a valid clip");
        show.clips.push(clip);
    }
    show
}

/// Each clip's audio: constant, at the level its id gives.
struct DcAudio;

impl cuebox_engine::control::ReaderSource for DcAudio {
    fn reader(
        &mut self,
        clip: &cuebox_engine::show::Clip,
        timeline: Timeline,
    ) -> Result<BoxedReader, String> {
        let level = match clip.id.as_str() {
            "c1" => 1.0,
            "c2" => 0.5,
            _ => 0.25,
        };
        let audio = dc(Channels::Stereo, timeline.length().0 as usize, level);
        Ok(Box::new(
            MemoryClip::new(audio, Channels::Stereo, timeline).map_err(|e| e.to_string())?,
        ))
    }
}

/// Plays an event list (as `cueboxd render --events` reads it) on `show`
/// through the dispatcher, every block under the allocation guard.
fn play_events(show: &cuebox_engine::show::Show, events: serde_json::Value, until: usize) -> Rig {
    use cuebox_engine::control::{parse_events, Dispatcher};
    let ids = show.clips.iter().map(|c| &c.id).collect();
    let events = parse_events(events.to_string().as_bytes(), &ids, RATE).expect("valid events");
    let mut rig = Rig::new(RenderConfig::from_show(show, RATE, 4096));
    let mut dispatcher = Dispatcher::new(show, RATE);
    for e in &events {
        let command = dispatcher
            .translate(show, &e.command, &mut DcAudio)
            .expect("a command the show can play");
        rig.send(e.at.frame(RATE) as usize, command);
    }
    rig.run_to(until, 256);
    rig
}

#[test]
fn a_crossfade_command_fades_one_clip_into_another_over_its_time() {
    let show = dc_show();
    let (m, len) = (2_000, 960);
    let rig = play_events(
        &show,
        serde_json::json!([
            {"at_sample": 0, "cmd": "go", "clip": "c1"},
            {"at_sample": m, "cmd": "crossfade", "from": "c1", "to": "c2", "time": 0.02},
        ]),
        m + 2 * len,
    );
    // The session's crossfade curve (an S-curve), power-complementary.
    let x = |i: usize| curve(Curve::SCurve, ((i + 1) as f64 / len as f64).min(1.0));
    let a = &rig.out.group(Group::A)[0];
    let b = &rig.out.group(Group::B)[0];
    assert_close(&a[EDGE..m], |_| 1.0, "c1 before");
    assert_close(&b[..m], |_| 0.0, "c2 before");
    assert_close(&a[m..], |i| (1.0 - x(i)).sqrt(), "c1 crossfading out");
    assert_close(
        &b[m..],
        |i| 0.5 * edge_in(i) * x(i).sqrt(),
        "c2 crossfading in",
    );
    assert!(rig.events.contains(&Event::Stopped {
        voice: VoiceId(1),
        clip: ClipTag(0),
        at: SamplePos((m + len) as u64),
        cause: StopCause::Faded,
    }));

    // Without a time, the incoming clip's own crossfade: the session's 1 s.
    let rig = play_events(
        &show,
        serde_json::json!([
            {"at_sample": 0, "cmd": "go", "clip": "c1"},
            {"at_sample": m, "cmd": "crossfade", "from": "c1", "to": "c3"},
        ]),
        m + 48_000 + 100,
    );
    let len = 48_000;
    let x = |i: usize| curve(Curve::SCurve, ((i + 1) as f64 / len as f64).min(1.0));
    let a = &rig.out.group(Group::A)[0][m..];
    assert_close(
        a,
        |i| (1.0 - x(i)).sqrt() + 0.25 * edge_in(i) * x(i).sqrt(),
        "c1 into c3 on one bus",
    );
}

#[test]
fn a_group_level_command_ramps_the_bus_and_keeps_its_mute() {
    let mut show = dc_show();
    show.busses.groups.b.bus.mute = true;
    let db = |x: f64| 10f64.powf(x / 20.0) as f32;
    let rig = play_events(
        &show,
        serde_json::json!([
            {"at_sample": 0, "cmd": "go", "clip": "c1"},
            {"at_sample": 0, "cmd": "go", "clip": "c2"},
            {"at_sample": 1_000, "cmd": "group_level", "group": "A", "level_db": -6, "time": 0.01},
            {"at_sample": 1_000, "cmd": "group_level", "group": "B", "level_db": 0},
            {"at_sample": 3_000, "cmd": "group_level", "group": "A", "level_db": 0},
        ]),
        4_000,
    );
    let a = &rig.out.group(Group::A)[0];
    // Linear in gain over 480 frames, as the renderer computes it (in f32).
    let g = db(-6.0);
    let ramp = |from: f32, to: f32, len: usize| {
        move |i: usize| f64::from(from + (to - from) * ((i + 1).min(len) as f32 / len as f32))
    };
    assert_close(&a[EDGE..1_000], |_| 1.0, "A before");
    assert_close(&a[1_000..1_480], ramp(1.0, g, 480), "A ramping to -6 dB");
    assert!(
        a[1_480..3_000].iter().all(|x| *x == g),
        "A at -6 dB, exactly"
    );
    // No time: the 1 ms edge.
    assert_close(&a[3_000..3_048], ramp(g, 1.0, EDGE), "A back over the edge");
    assert!(a[3_048..].iter().all(|x| *x == 1.0), "A at 0 dB, exactly");
    // B's level changed, but it stays muted.
    assert!(
        rig.out.group(Group::B)[0].iter().all(|x| *x == 0.0),
        "a level change does not unmute"
    );
}

#[test]
fn the_default_fade_out_falls_evenly_in_db_as_a_designer_hears_it() {
    // A 5 s fade out with the session's default curve, on a 0 dBFS clip.
    let mut show = dc_show();
    show.clips[0].audio.format.frames = Frames(10 * RATE as u64);
    let start = 1_000;
    let rig = play_events(
        &show,
        serde_json::json!([
            {"at_sample": 0, "cmd": "go", "clip": "c1"},
            {"at_sample": start, "cmd": "fade_out", "clip": "c1", "time": 5.0},
        ]),
        start + 5 * RATE as usize + 100,
    );
    let a = &rig.out.group(Group::A)[0];
    let db_at = |secs: f64| 20.0 * f64::from(a[start + (secs * f64::from(RATE)) as usize]).log10();
    let levels: Vec<f64> = [1.0, 2.5, 4.0, 4.5].iter().map(|s| db_at(*s)).collect();
    assert!(
        levels.windows(2).all(|w| w[1] < w[0]),
        "the fade falls all the way: {levels:?}"
    );
    assert!(
        (-8.0..=-3.0).contains(&levels[0]),
        "about a fifth of the way down at 1 s: {levels:?}"
    );
    assert!(levels[1] <= -10.0, "well down at the midpoint: {levels:?}");
    assert!(levels[2] <= -20.0, "nearly gone at 4 s: {levels:?}");
    assert_eq!(a[start + 5 * RATE as usize - 1], 0.0, "silent at its end");
}

/// A loop of a 1 kHz sine at half scale (48 frames a period) on group A,
/// played from frame 0 for `frames` frames, plainly and at unity varispeed
/// (group B): the group A left channel, after checking B is the same.
fn play_sine_loop(loop_start: u64, loop_end: u64, frames: usize) -> Vec<f32> {
    let mut rig = Rig::new(config(all_free()));
    let audio: Arc<[f32]> = (0..48_000)
        .flat_map(|i| {
            let x = 0.5 * (2.0 * PI * i as f64 / 48.0).sin() as f32;
            [x, x]
        })
        .collect();
    let t = Timeline::new(
        Frames(48_000),
        Frames(0),
        None,
        Some((Frames(loop_start), Frames(loop_end))),
    )
    .unwrap();
    rig.send(
        0,
        go(1, Group::A, looping(audio.clone(), Channels::Stereo, t)),
    );
    let mut s = start(2, Group::B, looping(audio, Channels::Stereo, t));
    s.params.speed = Some(Speed::UNITY);
    rig.send(0, Command::Start(s));
    rig.run_to(frames, 333);
    let (a, b) = (&rig.out.group(Group::A)[0], &rig.out.group(Group::B)[0]);
    assert_eq!(
        a, b,
        "a unity varispeed voice crosses the seam as a plain one"
    );
    a.clone()
}

#[test]
fn a_seamless_loop_crossfades_at_its_seam_with_no_dip_and_a_broken_one_is_smoothed() {
    // A loop of whole periods: 200 of them, from 9 600 to 19 200.
    let (ls, le) = (9_600usize, 19_200usize);
    let len = le - ls;
    let a = play_sine_loop(ls as u64, le as u64, le + 3 * len + 1_000);
    let rms = |from: usize| {
        let w = &a[from..from + 48];
        (w.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / 48.0).sqrt()
    };
    let steady = rms(4_800);
    for seam in [le, le + len, le + 2 * len] {
        for from in (seam - 480..seam + 480).step_by(12) {
            let db = 20.0 * (rms(from) / steady).log10();
            assert!(
                db.abs() <= 0.1,
                "the 1 ms from {from} (seam at {seam}) is {db:+.2} dB from the steady level"
            );
        }
    }

    // The whole file looped (it holds whole periods, so it loops
    // seamlessly): it wraps with no dip either — the sine goes on as if
    // the file were endless.
    let a = play_sine_loop(0, 48_000, 3 * 48_000 + 1_000);
    for seam in [48_000, 96_000, 144_000] {
        for (i, x) in a[seam - 480..seam + 480].iter().enumerate() {
            let t = (seam - 480 + i) as f64;
            let want = 0.5 * (2.0 * PI * t / 48.0).sin();
            assert!(
                (f64::from(*x) - want).abs() < 1e-6,
                "frame {} of the whole-file loop is {x}, not {want}",
                seam - 480 + i
            );
        }
    }

    // A quarter period short: the loop start does not follow the loop end.
    // Across the seam no step exceeds the sine's own steepest step plus the
    // jump spread over the 2 ms (96-frame) crossfade.
    let le = le - 12;
    let len = le - ls;
    let a = play_sine_loop(ls as u64, le as u64, le + 3 * len + 1_000);
    let own = 0.5 * 2.0 * PI / 48.0;
    for seam in [le, le + len, le + 2 * len] {
        let worst = a[seam - 200..seam + 200]
            .windows(2)
            .map(|w| f64::from((w[1] - w[0]).abs()))
            .fold(0.0, f64::max);
        assert!(
            worst <= own + 1.0 / 96.0 + 1e-4,
            "a step of {worst} at the seam at {seam}"
        );
    }
}

#[test]
fn a_fade_to_a_level_ramps_a_playing_clip_and_lands_at_its_stamped_sample() {
    let show = dc_show();
    let db = |x: f64| 10f64.powf(x / 20.0) as f32;
    let (at, len) = (2_000usize, 4_800usize);
    let rig = play_events(
        &show,
        serde_json::json!([
            {"at_sample": 0, "cmd": "go", "clip": "c1"},
            {"at_sample": 0, "cmd": "go", "clip": "c2"},
            {"at_sample": at, "cmd": "fade_to", "clip": "c1", "level_db": -10, "time": 0.1},
            {"at_sample": 9_000, "cmd": "fade_to", "clip": "c1", "level_db": 0},
            {"at_sample": 9_000, "cmd": "fade_to", "clip": "c3", "level_db": 0},
        ]),
        12_000,
    );
    let a = &rig.out.group(Group::A)[0];
    let g = db(-10.0);
    assert_close(&a[EDGE..at], |_| 1.0, "c1 at its own level before");
    // Linear in gain from the stamped frame, reaching -10 dB on its last frame.
    assert_close(
        &a[at..at + len],
        |i| 1.0 + f64::from(g - 1.0) * (i + 1) as f64 / len as f64,
        "c1 ramping",
    );
    let slope = f64::from(1.0 - g) / len as f64;
    let worst = a[at - 1..at + len + 1]
        .windows(2)
        .map(|w| f64::from((w[1] - w[0]).abs()))
        .fold(0.0, f64::max);
    assert!(
        worst <= slope + 1e-6,
        "a step of {worst}, the ramp's slope is {slope}"
    );
    assert!(
        a[at + len..9_000].iter().all(|x| (x - g).abs() < 1e-6),
        "c1 plays on at -10 dB"
    );
    // No time: back over the 1 ms edge.
    assert_close(
        &a[9_000..9_000 + EDGE],
        |i| f64::from(g) + f64::from(1.0 - g) * (i + 1) as f64 / EDGE as f64,
        "c1 back to 0 dB",
    );
    assert!(a[9_000 + EDGE..].iter().all(|x| (x - 1.0).abs() < 1e-6));
    // Group B's clip is untouched; a clip that does not play is unmatched.
    assert!(rig.out.group(Group::B)[0][EDGE..].iter().all(|x| *x == 0.5));
    assert!(rig
        .events
        .iter()
        .any(|e| matches!(e, Event::Unmatched { at, .. } if at.0 == 9_000)));
}

#[test]
fn a_pan_change_glides_a_playing_voice_and_a_stereo_pan_is_refused_by_a_mono_voice() {
    let mut busses = Busses::default();
    busses.groups.a.bus = OutputBus::new(vec![ch(1), ch(2)]);
    let mut rig = Rig::new(config(busses));
    let mono = || reader(dc(Channels::Mono, 96_000, 1.0), Channels::Mono);
    let mut a = start(1, Group::A, mono());
    a.params.level_db = -6.0;
    rig.send(0, Command::Start(a));
    let (at, len) = (1_000usize, 960usize);
    rig.send(
        at,
        Command::Pan {
            target: Target::Voice(VoiceId(1)),
            pan: Pan::Mono { pan: 1.0 },
            ramp: FrameCount(len as u64),
        },
    );
    // A level change in the middle of the glide: both move together.
    rig.send(
        at + len / 2,
        Command::Level {
            target: Target::Voice(VoiceId(1)),
            level_db: 0.0,
            ramp: FrameCount(len as u64),
        },
    );
    rig.send(
        3_000,
        Command::Pan {
            target: Target::Voice(VoiceId(1)),
            pan: Pan::Stereo {
                width: 1.0,
                balance: 0.0,
            },
            ramp: FrameCount(0),
        },
    );
    rig.run_to(4_000, 256);
    let g = rig.out.group(Group::A);
    let db = |x: f64| 10f64.powf(x / 20.0) as f32;
    let centre = db(-6.0) * std::f32::consts::FRAC_1_SQRT_2;
    assert!((g[0][at - 1] - centre).abs() < 1e-6 && (g[1][at - 1] - centre).abs() < 1e-6);
    // Left falls to silence, right rises to full, frame by frame: no
    // step is larger than the glide's and the level ramp's slopes allow.
    for (side, name) in [(0, "left"), (1, "right")] {
        let worst = g[side][at - 1..at + 2 * len]
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max);
        assert!(
            worst < 2.0 / len as f32,
            "{name}: a step of {worst} within the glide"
        );
    }
    assert!(
        g[0][at + 2 * len..3_000].iter().all(|x| x.abs() < 1e-6),
        "hard right after"
    );
    assert!(
        g[1][at + 2 * len..3_000]
            .iter()
            .all(|x| (x - 1.0).abs() < 1e-6),
        "at 0 dB after"
    );
    // A stereo pan does not fit a mono voice: unmatched, nothing changes.
    assert!(rig
        .events
        .iter()
        .any(|e| matches!(e, Event::Unmatched { at, .. } if at.0 == 3_000)));
    assert!(g[1][3_000..].iter().all(|x| (x - 1.0).abs() < 1e-6));
}
