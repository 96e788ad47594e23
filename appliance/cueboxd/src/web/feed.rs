//! The live state browsers follow: the box's events (from its
//! [`Publisher`], through a bounded queue) and, while anyone watches, the
//! status with the meters every [`FRAME`], each serialised once for every
//! browser. A browser that falls behind loses events (and is told how
//! many); it never slows the box.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};

use crate::api::service::ShowControl;
use crate::events::Publisher;
use crate::link::{LiveLink, Playhead};

/// How often the status and meters go out: 25 frames a second.
pub const FRAME: Duration = Duration::from_millis(40);
/// Events a browser may have waiting before it loses some.
const BACKLOG: usize = 256;

/// The two streams every browser's feed reads.
pub struct Feed {
    /// The box's events, as JSON with a `trouble` flag.
    pub events: broadcast::Sender<Arc<str>>,
    /// The latest status frame, as JSON.
    pub status: watch::Sender<Arc<str>>,
}

/// The thread carrying the box's events into the feed; stopped when dropped.
pub struct Bridge {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The feed, and the `web-events` thread subscribed to `events` for it.
pub fn start(events: &Publisher) -> std::io::Result<(Feed, Bridge)> {
    let (tx, _) = broadcast::channel(BACKLOG);
    let (status, _) = watch::channel(Arc::<str>::from("{}"));
    let subscription = events.subscribe(crate::events::QUEUE);
    let stop = Arc::new(AtomicBool::new(false));
    let thread = std::thread::Builder::new()
        .name("web-events".into())
        .spawn({
            let (tx, stop) = (tx.clone(), stop.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(event) = subscription.recv_timeout(Duration::from_millis(200)) else {
                        continue;
                    };
                    let mut value = event.to_json();
                    if let Value::Object(fields) = &mut value {
                        fields.insert("trouble".into(), event.is_trouble().into());
                    }
                    // None listening is fine: nobody has the page open.
                    let _ = tx.send(Arc::from(value.to_string()));
                }
            }
        })?;
    Ok((
        Feed { events: tx, status },
        Bridge {
            stop,
            thread: Some(thread),
        },
    ))
}

/// Sends a status frame every [`FRAME`] while a browser follows the feed.
pub async fn tick(link: Arc<LiveLink>, status: watch::Sender<Arc<str>>) {
    let mut every = tokio::time::interval(FRAME);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        if status.receiver_count() > 0 {
            status.send_replace(Arc::from(frame(&link).to_string()));
        }
    }
}

/// One status frame: what plays (position, paused) and what is queued,
/// the meters, the device's figures, the clock (its source, timecode and
/// state), the lock, the groups' live levels and the playhead.
fn frame(link: &Arc<LiveLink>) -> Value {
    let mut status = serde_json::to_value(link.status()).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut status {
        // The full figures are for hosts; a browser needs the summary.
        fields.remove("detail");
        fields.remove("device");
    }
    let deck = link.deck();
    let cue = link.playhead().ok().flatten();
    let levels: serde_json::Map<String, Value> = link
        .group_levels()
        .into_iter()
        .map(|(group, db)| (group.to_string(), db.into()))
        .collect();
    json!({
        "status": status,
        "locked": link.locked(),
        "levels": levels,
        "clock": link.clock_now(),
        "deck": {
            "page": deck.place.page.0.get(),
            "tab": deck.place.tab.number(),
            "end": deck.playhead == Playhead::End,
            "cue": cue.as_ref().and_then(|c| c.number).map(|n| n.to_string()),
            "clip": cue.map(|c| c.clip.to_string()),
        },
    })
}
