//! The printer: a subscriber that writes the box's events to stdout — one
//! short line a person reads on a terminal, or (`--json`, as the image runs
//! it) one JSON object per line with every field.
//!
//! Under systemd (stderr is the journal's stream), each event goes to the
//! journal natively instead: the same line as its message, every top-level
//! field as a `CUEBOX_<FIELD>` journal field (`CUEBOX_EVENT=started`,
//! `CUEBOX_CLIP=c1`; nested values as JSON), and trouble at warning
//! priority, so `journalctl CUEBOX_EVENT=xrun` finds what it names.
//!
//! On a terminal, what repeats is said only when it changes: the clock's
//! once-a-second status prints when its source or a source's health does.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;
use systemd_journal_logger::JournalLog;

use crate::events::{BoxEvent, Publisher, Subscription, QUEUE};

/// How events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One line for a person.
    Human,
    /// One JSON object per line.
    Json,
}

/// The printer thread.
#[derive(Debug)]
pub struct Printer {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// Where the lines go.
enum Out {
    /// Standard output, one line each.
    Stdout,
    /// The journal, with fields.
    Journal(JournalLog),
}

impl Out {
    /// The journal when the process runs under it (and it answers), else stdout.
    fn choose() -> Out {
        if !systemd_journal_logger::connected_to_journal() {
            return Out::Stdout;
        }
        JournalLog::new()
            .map(|j| Out::Journal(j.with_syslog_identifier("cueboxd".into())))
            .unwrap_or(Out::Stdout)
    }

    /// Writes `line`, with `event`'s fields in the journal; a journal that
    /// refuses it gets the line on stdout (which systemd also keeps).
    fn write(&self, line: &str, event: Option<&BoxEvent>) {
        if let Out::Journal(journal) = self {
            let fields = event
                .map(|e| journal_fields(&e.to_json()))
                .unwrap_or_default();
            let kvs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let level = match event {
                Some(e) if !e.is_trouble() => log::Level::Info,
                _ => log::Level::Warn,
            };
            let kvs = kvs.as_slice();
            let sent = journal.journal_send(
                &log::Record::builder()
                    .args(format_args!("{line}"))
                    .level(level)
                    .target("cueboxd")
                    .key_values(&kvs)
                    .build(),
            );
            if sent.is_ok() {
                return;
            }
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// An event's top-level fields as journal fields: `CUEBOX_` and the field's
/// name (the journal upper-cases it), strings as they are, anything else
/// as JSON.
fn journal_fields(event: &Value) -> Vec<(String, String)> {
    let Some(object) = event.as_object() else {
        return Vec::new();
    };
    object
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (format!("CUEBOX_{k}"), value)
        })
        .collect()
}

/// Starts the printer thread.
pub fn start(events: &Publisher, format: Format) -> std::io::Result<Printer> {
    let subscription = events.subscribe(QUEUE);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let out = Out::choose();
    let thread = std::thread::Builder::new()
        .name("events".into())
        .spawn(move || print(&subscription, format, &out, &flag))?;
    Ok(Printer { stop, thread })
}

impl Printer {
    /// Prints what is queued, then stops: threads that outlive the run (an
    /// API connection ending at its idle timeout) do not hold it up.
    pub fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

fn print(events: &Subscription, format: Format, out: &Out, stop: &AtomicBool) {
    let mut lines = Lines::default();
    loop {
        let event = match events.recv_timeout(Duration::from_millis(100)) {
            Ok(e) => Some(e),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let dropped = events.take_dropped();
        if dropped > 0 {
            out.write(
                &format!("cueboxd: {dropped} event(s) not printed: the output was too slow"),
                None,
            );
        }
        let Some(event) = event else {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            continue;
        };
        let line = match format {
            Format::Json => Some(event.to_json().to_string()),
            Format::Human => lines.human(&event),
        };
        if let Some(line) = line {
            out.write(&line, Some(&event));
        }
    }
}

/// The human lines, with what they remember to say only changes.
#[derive(Default)]
struct Lines {
    /// The clock's source and each source's health, as last printed.
    clock: Option<String>,
    /// The show's rate, once a device is chosen: show samples read as seconds.
    rate: Option<u32>,
}

impl Lines {
    /// The line for `event`, or `None` when it says nothing new.
    fn human(&mut self, event: &BoxEvent) -> Option<String> {
        if let BoxEvent::DeviceChosen { device } = event {
            self.rate = Some(device.rate).filter(|r| *r > 0);
        }
        let rate = self.rate;
        // A show sample as a person reads it: seconds, once the rate is known.
        let seconds = |sample: u64| match rate {
            Some(rate) => format!("{:.3} s", sample as f64 / f64::from(rate)),
            None => format!("sample {sample}"),
        };
        let line = match event {
            BoxEvent::Listening {
                address,
                name,
                fingerprint,
            } => format!("\"{name}\" listens on {address} (box key {fingerprint})"),
            BoxEvent::BoxKeyCreated { fingerprint } => {
                format!("made the box's key: {fingerprint}")
            }
            BoxEvent::ShowctlListening {
                config,
                osc_udp,
                osc_tcp,
                osc_open_role,
                msc_udp,
                midi,
            } => {
                let mut on: Vec<String> = Vec::new();
                on.extend(osc_udp.iter().map(|a| format!("OSC udp {a}")));
                on.extend(osc_tcp.iter().map(|a| format!("OSC tcp {a}")));
                if osc_udp.is_some() {
                    on.push(match osc_open_role {
                        Some(role) => format!("OSC without a passcode: {role}"),
                        None => "OSC by passcode only".into(),
                    });
                }
                on.extend(msc_udp.iter().map(|a| format!("MSC udp {a}")));
                on.extend(midi.iter().map(|p| format!("MIDI \"{p}\"")));
                format!("show control ({}): {}", config.display(), on.join(", "))
            }
            BoxEvent::ShowctlMidi { port, grid, msc } => format!(
                "MIDI port \"{port}\" open{}{}",
                grid.as_ref()
                    .map(|g| format!(", grid {g}"))
                    .unwrap_or_default(),
                if *msc { ", MSC" } else { "" }
            ),
            BoxEvent::Idle { detail } => detail.clone(),
            BoxEvent::CannotPlay {
                session,
                detail,
                retry_seconds,
            } => format!("CANNOT PLAY {session}: {detail}; trying again every {retry_seconds} s"),
            BoxEvent::Switching { session } => format!("switching to {session}"),
            BoxEvent::RtProblem { detail } => format!("real-time problem: {detail}"),
            BoxEvent::IrqRouting { core, routes } => format!(
                "{} IRQ(s) moved off audio core {core} while the show runs",
                routes.len()
            ),
            BoxEvent::RtThread { thread, setup } => format!(
                "{thread}: SCHED_FIFO {} on CPU {}, {} MB locked{}",
                setup.priority,
                setup.core,
                setup.locked_kb / 1024,
                problems(&setup.problems)
            ),
            BoxEvent::DeviceChosen { device } => {
                let mut line = format!(
                    "device {}{}: {} ch {} {} Hz, period {} x {}",
                    device.pcm,
                    device
                        .card
                        .as_ref()
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default(),
                    device.channels,
                    device.format,
                    device.rate,
                    device.period,
                    device.periods
                );
                for w in &device.warnings {
                    line.push_str("\ncueboxd:   warning: ");
                    line.push_str(w);
                }
                line
            }
            BoxEvent::Armed {
                clips,
                pages,
                head_seconds,
            } => format!("{clips} clip(s) armed on page(s) {pages:?} ({head_seconds} s heads)"),
            BoxEvent::Running {
                session,
                clips,
                latency_ms,
                ..
            } => format!("playing {session} ({clips} clips), output latency {latency_ms:.1} ms"),
            BoxEvent::Violation { violation } => format!(
                "RESERVATION BREACHED ({}): {}",
                violation.what, violation.detail
            ),
            BoxEvent::StoppedRun { summary, .. } => format!(
                "stopped: {} periods played, {} xrun(s), wake-up p99 {} µs",
                summary.playback.cycles, summary.playback.xruns, summary.playback.wakeup.p99_us
            ),
            BoxEvent::Saved { detail } => detail.clone(),
            BoxEvent::SaveFailed { detail } => format!("SAVE FAILED: {detail}"),
            BoxEvent::CommandRefused { line, reason } => format!("refused {line}: {reason}"),
            BoxEvent::LtcUnavailable { reason } => format!("no LTC: {reason}"),
            BoxEvent::Discontinuity { at, frames } => {
                format!("capture lost {frames} frame(s) before frame {at}")
            }
            BoxEvent::DeviceFailed { error } => format!("DEVICE FAILED: {error}; reopening"),
            BoxEvent::DeviceReopened => "device reopened".into(),
            BoxEvent::ClockSwitch {
                from, to, reason, ..
            } => format!(
                "clock: {} -> {} ({reason})",
                from.as_deref().unwrap_or("flywheel"),
                to.as_deref().unwrap_or("flywheel")
            ),
            BoxEvent::Clock { status } => {
                let now = format!(
                    "clock: {} ({})",
                    status
                        .source
                        .map(|s| format!("{s:?}").to_lowercase())
                        .unwrap_or_else(|| "free".into()),
                    status
                        .sources
                        .iter()
                        .map(|h| format!(
                            "{} {}",
                            h.name,
                            if h.healthy { "healthy" } else { "unhealthy" }
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                if self.clock.as_ref() == Some(&now) {
                    return None;
                }
                self.clock = Some(now.clone());
                now
            }
            BoxEvent::MtcLocked { port, after_ms, .. } => {
                format!("MTC locked on \"{port}\" after {after_ms:.0} ms")
            }
            BoxEvent::Showctl {
                via, from, action, ..
            } => format!("{via} from {from}: {action}"),
            BoxEvent::ShowctlRefused {
                via,
                from,
                what,
                reason,
                count,
            } => format!(
                "{via} from {from} refused ({what}): {reason}{}",
                times(*count)
            ),
            BoxEvent::ApiConnected { peer, role, .. } => format!(
                "host {peer} connected ({})",
                role.map_or("not authorized".into(), |r| r.to_string())
            ),
            BoxEvent::ApiRefused {
                peer,
                reason,
                detail,
                count,
                ..
            } => format!("API refused {peer}: {reason}: {detail}{}", times(*count)),
            BoxEvent::ApiClosed {
                peer,
                reason,
                count,
            } => format!("API connection {peer} closed: {reason}{}", times(*count)),
            BoxEvent::ApiProblem { detail } => format!("API problem: {detail}"),
            BoxEvent::ClipUnplayable { clip, path, reason } => format!(
                "CLIP {clip} CANNOT PLAY ({}): {reason}; everything else plays",
                path.display()
            ),
            BoxEvent::Accepted {
                command,
                origin,
                at_sample,
                ..
            } => format!(
                "{} at {} (from {origin})",
                summary(&command.to_json()),
                seconds(*at_sample)
            ),
            BoxEvent::ShowRevised {
                origin,
                at_sample,
                glides,
                deferred,
            } => {
                let later = match deferred.is_empty() {
                    true => String::new(),
                    false => format!("; at their next start: {}", deferred.join(", ")),
                };
                format!(
                    "show revised (from {origin}): {glides} change(s) ramped from {}{later}",
                    seconds(*at_sample)
                )
            }
            BoxEvent::CommandFailed {
                command, reason, ..
            } => format!("{} FAILED: {reason}", summary(command)),
            BoxEvent::TimecodeCue {
                clip,
                timecode,
                at_sample,
            } => format!("timecode {timecode}: {clip} at {}", seconds(*at_sample)),
            BoxEvent::TimecodeCueSkipped {
                clip,
                timecode,
                reason,
            } => format!("timecode {timecode} for {clip} skipped: {reason}"),
            BoxEvent::ChaseStart {
                clip,
                at_sample,
                speed,
                ..
            } => format!(
                "{clip} chases timecode from {} at {:.4}x",
                seconds(*at_sample),
                speed
            ),
            BoxEvent::ChaseStop {
                clip,
                at_sample,
                reason,
                ..
            } => format!("{clip} stops chasing at {}: {reason}", seconds(*at_sample)),
            BoxEvent::Started {
                clip, at_sample, ..
            } => format!("started {} at {}", name(clip), seconds(*at_sample)),
            BoxEvent::Stopped {
                clip,
                at_sample,
                cause,
                ..
            } => format!(
                "stopped {} at {} ({})",
                name(clip),
                seconds(*at_sample),
                cause.to_lowercase()
            ),
            BoxEvent::Refused { clip, reason, .. } => format!("REFUSED {}: {reason}", name(clip)),
            BoxEvent::Underrun { voice, at_sample } => {
                format!("UNDERRUN: voice {voice} ran dry at {}", seconds(*at_sample))
            }
            BoxEvent::Late {
                at_sample,
                applied_sample,
            } => format!(
                "late: a command for {} applied at {}",
                seconds(*at_sample),
                seconds(*applied_sample)
            ),
            BoxEvent::Paused { voice, at_sample } => {
                format!("paused voice {voice} at {}", seconds(*at_sample))
            }
            BoxEvent::Resumed { voice, at_sample } => {
                format!("resumed voice {voice} at {}", seconds(*at_sample))
            }
            BoxEvent::FadeDone { .. } => return None,
            BoxEvent::PlayLogged {
                entry,
                play,
                clip,
                record,
            } => format!("play log: entry {entry}, {record} of play {play} ({clip})"),
            BoxEvent::PlayLogMended { detail } => format!("play log mended: {detail}"),
            BoxEvent::PlayLogProblem { detail } => format!("PLAY LOG: {detail}"),
            BoxEvent::CuesheetExported {
                session,
                performance,
                file,
                summary,
            } => format!("cue sheet of {session} on {performance} exported to {file}: {summary}"),
            BoxEvent::ReportExported { file, summary } => format!("exported {file}: {summary}"),
            BoxEvent::AutoExportFailed { detail } => format!("CUE SHEET EXPORT: {detail}"),
            BoxEvent::TechLogProblem { detail } => format!("technical log: {detail}"),
            BoxEvent::OffboxStarted {
                config,
                remote,
                every_minutes,
                what,
            } => format!(
                "off-box copies of {what:?} to {remote} every {every_minutes} min ({})",
                config.display()
            ),
            BoxEvent::OffboxCopied {
                remote,
                reason,
                files,
                bytes,
                seconds,
            } => format!(
                "off-box copy ({reason:?}) to {remote}: {files} file(s), {bytes} bytes in {seconds:.1} s"
            ),
            BoxEvent::OffboxFailed {
                detail,
                retry_seconds,
                ..
            } => format!("OFF-BOX COPY FAILED: {detail}; trying again in {retry_seconds} s"),
            BoxEvent::Lock { locked: true } => {
                "show locked for the performance: edits and pushes are refused".into()
            }
            BoxEvent::Lock { locked: false } => "show unlocked: edits and pushes are taken".into(),
            BoxEvent::RuntimeUnusable { detail } => format!("warning: {detail}"),
            BoxEvent::WebListening {
                address,
                fingerprint,
                created,
            } => format!(
                "operator's page on https://{address}/ (certificate SHA-256 {fingerprint}{})",
                if *created { ", made now" } else { "" }
            ),
            BoxEvent::Pair {
                role,
                peer,
                healthy,
                detail,
            } => format!(
                "pair: {role}, link to {peer} {}: {detail}",
                if *healthy { "up" } else { "DOWN" }
            ),
            BoxEvent::PairRole {
                role,
                configured,
                address,
                holds_address,
                detail,
            } => format!(
                "pair: now {} (configured {configured}){}: {detail}",
                role.to_uppercase(),
                match (address, holds_address) {
                    (Some(a), Some(true)) => format!(", holds {a}"),
                    (Some(a), _) => format!(", does not hold {a}"),
                    _ => String::new(),
                }
            ),
            BoxEvent::PairDiverged { detail } => {
                format!("pair: DIVERGED from the main: {detail}")
            }
            BoxEvent::PairRepaired { at_sample, detail } => {
                format!("pair: repaired at sample {at_sample}, this unit now plays what the main plays (it differed: {detail})")
            }
            BoxEvent::Playhead {
                page,
                tab,
                cue,
                clip,
            } => format!(
                "playhead: page {page} tab {tab}, {}",
                match (cue, clip) {
                    (Some(cue), Some(clip)) => format!("cue {cue} ({clip})"),
                    (None, Some(clip)) => clip.to_string(),
                    _ => "past the last cue".into(),
                }
            ),
            BoxEvent::Render { detail } => format!("renderer: {detail}"),
            BoxEvent::StreamError { detail } => format!("STREAM ERROR: {detail}"),
            BoxEvent::Device(e) => fields(&serde_json::to_value(e).unwrap_or_default()),
        };
        Some(
            line.lines()
                .map(|l| {
                    if l.starts_with("cueboxd:") {
                        l.to_owned()
                    } else {
                        format!("cueboxd: {l}")
                    }
                })
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }
}

/// A clip id, or what stands for none.
fn name(clip: &Option<cuebox_engine::show::ClipId>) -> String {
    clip.as_ref()
        .map_or("(no clip)".into(), ToString::to_string)
}

/// A command as written, on one line: its name and its fields.
/// How many refusals a refusal line stands for, when more than itself.
fn times(count: u64) -> String {
    match count {
        0 | 1 => String::new(),
        n => format!(" ({n} times since the last line, this the last)"),
    }
}

fn summary(command: &Value) -> String {
    let name = command["cmd"].as_str().unwrap_or("command");
    let fields: Vec<String> = command
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "cmd")
        .map(|(k, v)| format!("{k} {}", v.as_str().map_or(v.to_string(), String::from)))
        .collect();
    if fields.is_empty() {
        name.to_owned()
    } else {
        format!("{name} {}", fields.join(" "))
    }
}

fn problems(p: &[String]) -> String {
    if p.is_empty() {
        String::new()
    } else {
        format!("; PROBLEMS: {}", p.join("; "))
    }
}

/// An event without a line of its own: its name and fields.
fn fields(e: &Value) -> String {
    let name = e["event"].as_str().unwrap_or("event");
    let fields: Vec<String> = e
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "event")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{name} {}", fields.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::origin::{Input, Origin};

    #[test]
    fn the_clock_is_said_only_when_it_changes() {
        let mut lines = Lines::default();
        let clock = |healthy| {
            let mut status = crate::clocking::ClockStatus::default();
            status.sources.push(cuebox_engine::timecode::clock::Health {
                source: cuebox_engine::timecode::timebase::Source::System,
                name: "system".into(),
                healthy,
                note: None,
                offset_us: 0.0,
                jitter_us: 0.0,
                stability: 1.0,
            });
            BoxEvent::Clock { status }
        };
        assert_eq!(
            lines.human(&clock(false)).as_deref(),
            Some("cueboxd: clock: free (system unhealthy)")
        );
        assert_eq!(lines.human(&clock(false)), None);
        assert_eq!(lines.human(&clock(false)), None);
        assert_eq!(
            lines.human(&clock(true)).as_deref(),
            Some("cueboxd: clock: free (system healthy)")
        );
    }

    #[test]
    fn a_device_with_compromises_says_each_on_its_own_line() {
        let mut lines = Lines::default();
        let line = lines
            .human(&BoxEvent::DeviceChosen {
                device: crate::api::proto::Device {
                    pcm: "hw:CARD=Intel,DEV=0".into(),
                    card: Some("HDA Intel".into()),
                    channels: 2,
                    format: "S32_LE".into(),
                    rate: 48_000,
                    period: 256,
                    periods: 3,
                    warnings: vec!["groups A and B share outputs 1, 2".into()],
                },
            })
            .unwrap();
        assert_eq!(
            line,
            "cueboxd: device hw:CARD=Intel,DEV=0 (HDA Intel): 2 ch S32_LE 48000 Hz, period 256 x 3\ncueboxd:   warning: groups A and B share outputs 1, 2"
        );
    }

    #[test]
    fn commands_and_voices_read_in_seconds_once_the_rate_is_known() {
        let mut lines = Lines::default();
        let go = || BoxEvent::Accepted {
            command: cuebox_engine::control::Command::Go {
                clip: "c1".parse().unwrap(),
                time: None,
            },
            origin: Origin::new(Input::Osc, "10.0.0.5:53000"),
            at_sample: 24_000,
            lead_samples: 256,
        };
        assert_eq!(
            lines.human(&go()).as_deref(),
            Some("cueboxd: go clip c1 at sample 24000 (from osc 10.0.0.5:53000)")
        );
        lines.human(&BoxEvent::DeviceChosen {
            device: crate::api::proto::Device {
                rate: 48_000,
                ..Default::default()
            },
        });
        assert_eq!(
            lines.human(&go()).as_deref(),
            Some("cueboxd: go clip c1 at 0.500 s (from osc 10.0.0.5:53000)")
        );
        let stopped = BoxEvent::Stopped {
            clip: Some("c1".parse().unwrap()),
            voice: 3,
            at_sample: 96_000,
            cause: "Faded".into(),
            origin: None,
        };
        assert_eq!(
            lines.human(&stopped).as_deref(),
            Some("cueboxd: stopped c1 at 2.000 s (faded)")
        );
    }
}
