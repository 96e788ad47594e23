//! The live show as remote inputs see it: the API (and show control) send
//! commands through here into the live box's request queue, read its
//! status, and ask it to switch sessions. Double-GO protection lives here,
//! so every remote input gets it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cuebox_engine::control::Command;
use cuebox_engine::show::{ClipId, Show};
use serde_json::json;

use crate::api::proto::{Meter, MeterChannel, Playing, RefusalKind, Status};
use crate::api::service::{no_session, ShowControl};
use crate::live::{Request, StatusSource};

/// What status needs of the show: names and groups of its clips.
#[derive(Debug, Clone, Default)]
pub struct ShowSummary {
    /// Every clip: id, name, group letter.
    pub clips: Vec<(ClipId, String, String)>,
    /// Its number of pages.
    pub pages: u16,
}

/// The summary of `show`.
pub fn show_summary(show: &Show) -> ShowSummary {
    ShowSummary {
        clips: show
            .clips
            .iter()
            .map(|c| (c.id.clone(), c.name.clone(), c.group.to_string()))
            .collect(),
        pages: show.pages.len().min(usize::from(u16::MAX)) as u16,
    }
}

/// The session playing now, as the link reaches it.
pub struct Current {
    /// Its name.
    pub session: String,
    /// The live box's request queue.
    pub requests: Sender<Request>,
    /// Its clips.
    pub ids: HashSet<ClipId>,
    /// The engine rate.
    pub rate: u32,
    /// Names and groups.
    pub show: Arc<ShowSummary>,
    /// Where status comes from.
    pub status: StatusSource,
}

/// The link between remote inputs and whatever session plays.
pub struct LiveLink {
    current: Mutex<Option<Current>>,
    switch: Mutex<Option<String>>,
    page: AtomicU16,
    guard: Duration,
    last_go: Mutex<HashMap<ClipId, Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LiveLink {
    /// A link refusing a second GO of a clip within `guard`.
    pub fn new(guard: Duration) -> Self {
        LiveLink {
            current: Mutex::new(None),
            switch: Mutex::new(None),
            page: AtomicU16::new(1),
            guard,
            last_go: Mutex::new(HashMap::new()),
        }
    }

    /// A session started playing.
    pub fn attach(&self, current: Current) {
        *lock(&self.current) = Some(current);
        self.page.store(1, Ordering::Relaxed);
        lock(&self.last_go).clear();
    }

    /// The session stopped playing.
    pub fn detach(&self) {
        *lock(&self.current) = None;
    }

    /// The session a host activated, once.
    pub fn take_switch(&self) -> Option<String> {
        lock(&self.switch).take()
    }

    /// The page grid controllers play.
    pub fn page_now(&self) -> u16 {
        self.page.load(Ordering::Relaxed)
    }

    /// Refuses a GO that comes too soon after the last GO of the same clip.
    fn double_go(&self, command: &Command) -> Result<(), (RefusalKind, String)> {
        let Command::Go { clip } = command else {
            return Ok(());
        };
        let now = Instant::now();
        let mut last = lock(&self.last_go);
        if let Some(t) = last.get(clip) {
            let since = now.saturating_duration_since(*t);
            if since < self.guard {
                return Err((
                    RefusalKind::TooSoon,
                    format!(
                        "GO of {clip} {} ms after the last one: double-GO protection ignores GOs within {} ms",
                        since.as_millis(),
                        self.guard.as_millis()
                    ),
                ));
            }
        }
        last.insert(clip.clone(), now);
        Ok(())
    }
}

impl ShowControl for Arc<LiveLink> {
    fn status(&self) -> Status {
        let current = lock(&self.current);
        let Some(c) = current.as_ref() else {
            return Status::default();
        };
        let board = lock(&c.status.board).clone();
        let rate = f64::from(c.rate);
        let playing = board
            .voices
            .iter()
            .filter_map(|(_, index, started)| {
                let (id, name, group) = c.show.clips.get(*index)?;
                Some(Playing {
                    clip: id.to_string(),
                    name: name.clone(),
                    group: group.clone(),
                    position: board.now.saturating_sub(*started) as f64 / rate,
                })
            })
            .collect();
        let meters = board
            .meters
            .readings()
            .map(|(bus, channels)| Meter {
                bus: bus.to_string(),
                channels: channels
                    .iter()
                    .map(|r| MeterChannel {
                        peak_dbfs: r.peak,
                        hold_dbfs: r.hold,
                        rms_dbfs: r.rms,
                    })
                    .collect(),
            })
            .collect();
        let stats = c.status.playback.snapshot();
        let clock = lock(&c.status.clock).clone();
        let period_us = c.status.period as f64 * 1e6 / rate;
        Status {
            session: Some(c.session.clone()),
            page: self.page_now(),
            show_seconds: board.now as f64 / rate,
            rate: c.rate,
            playing,
            meters,
            xruns: stats.xruns,
            dsp_load: stats.process.p99_us as f64 / period_us,
            clock_source: clock.source.map(|s| format!("{s:?}").to_lowercase()),
            clock_health: clock
                .sources
                .iter()
                .map(|h| {
                    format!(
                        "{}: {} offset {:+.1} µs jitter {:.1} µs{}",
                        h.name,
                        if h.healthy { "healthy" } else { "unhealthy" },
                        h.offset_us,
                        h.jitter_us,
                        h.note
                            .as_deref()
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default()
                    )
                })
                .collect(),
            detail: json!({"playback": stats, "clock": clock}).to_string(),
            ..Status::default()
        }
    }

    fn command(&self, line: &str) -> Result<(u64, u64), (RefusalKind, String)> {
        let answer = {
            let current = lock(&self.current);
            let c = current.as_ref().ok_or_else(no_session)?;
            let (tx, rx) = mpsc::channel();
            let request =
                crate::run::request(line, &c.ids, c.rate, Some(tx)).map_err(|refusal| {
                    (
                        RefusalKind::BadRequest,
                        refusal["reason"]
                            .as_str()
                            .unwrap_or("bad command")
                            .to_owned(),
                    )
                })?;
            self.double_go(&request.command)?;
            c.requests
                .send(request)
                .map_err(|_| (RefusalKind::Failed, "the show is stopping".to_owned()))?;
            rx
        };
        let accepted = answer.recv_timeout(Duration::from_secs(2)).map_err(|_| {
            (
                RefusalKind::Failed,
                "the show did not answer; it may be stopping".to_owned(),
            )
        })?;
        Ok((
            accepted["at_sample"].as_u64().unwrap_or(0),
            accepted["lead_samples"].as_u64().unwrap_or(0),
        ))
    }

    fn page(&self, page: u16) -> Result<(), (RefusalKind, String)> {
        let current = lock(&self.current);
        let c = current.as_ref().ok_or_else(no_session)?;
        if page == 0 || page > c.show.pages {
            return Err((
                RefusalKind::NotFound,
                format!(
                    "page {page} is not in the session (it has pages 1 to {})",
                    c.show.pages
                ),
            ));
        }
        self.page.store(page, Ordering::Relaxed);
        Ok(())
    }

    fn may_replace(&self) -> Result<(), (RefusalKind, String)> {
        let current = lock(&self.current);
        let playing = current
            .as_ref()
            .map_or(0, |c| lock(&c.status.board).voices.len());
        if playing > 0 {
            return Err((
                RefusalKind::Busy,
                format!("{playing} clip(s) are playing; the box switches sessions only when nothing plays: stop them (hostctl stop-all BOX) and push again"),
            ));
        }
        Ok(())
    }

    fn activated(&self, session: &str) -> bool {
        *lock(&self.switch) = Some(session.to_owned());
        true
    }
}
