//! The auto-save thread: drives [`AutosavePolicy`] with real time and writes
//! recovery points; writes the live state (`runtime.json`) as it changes;
//! emergency saves on SIGTERM/SIGINT and on panic.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Instant;

use cuebox_engine::show::{Runtime, Show};
use signal_hook::consts::signal::{SIGINT, SIGTERM};

use super::policy::{AutosaveConfig, AutosavePolicy, Change};
use super::retention::Retention;
use crate::store::{chain, RecoveryPoint, Result, SaveReason, SessionDir};

/// The signals that end cueboxd gracefully. SIGQUIT keeps its default (a core
/// dump is what it is for).
const TERMINATION_SIGNALS: [i32; 2] = [SIGTERM, SIGINT];

/// Auto-save of one session: a background thread writing recovery points as
/// the policy decides, and synchronous saves before risky operations and in
/// emergencies.
///
/// It keeps the latest snapshot of the show, handed over at every change, so
/// a save — above all an emergency save from a signal or a panic — never
/// needs to lock the live show. The show's live state (playhead, lock, live
/// levels) is handed over apart, cheaply, as it changes: the thread writes
/// it to `runtime.json` at once and into every recovery point.
#[derive(Debug)]
pub struct Autosaver {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    session: SessionDir,
    retention: Retention,
    state: Mutex<State>,
    wake: Condvar,
    /// The show as of the last change; swapped, never held across I/O.
    latest: Mutex<Latest>,
    /// Serialises writes of `runtime.json`, so an older state never
    /// overwrites a newer one.
    runtime_file: Mutex<()>,
    seq: AtomicU64,
}

#[derive(Debug, Clone)]
struct Latest {
    show: Arc<Show>,
    runtime: Runtime,
    /// Counts changes of `runtime`.
    runtime_seq: u64,
    /// The change last written to `runtime.json`.
    runtime_written: u64,
}

#[derive(Debug)]
struct State {
    policy: AutosavePolicy,
    stop: bool,
    last_error: Option<String>,
}

/// What happened when a termination signal arrived.
#[derive(Debug)]
pub struct TerminationReport {
    /// The signal (`SIGTERM` = 15, `SIGINT` = 2).
    pub signal: i32,
    /// The emergency recovery point, or why it could not be written.
    pub saved: std::result::Result<RecoveryPoint, String>,
}

/// Watches for SIGTERM and SIGINT; see [`Autosaver::watch_termination_signals`].
/// Dropping it stops watching, as [`close`](Self::close) does: a session
/// that fails to start leaves no handler or thread behind.
#[derive(Debug)]
pub struct Termination {
    thread: Option<JoinHandle<Option<TerminationReport>>>,
    handle: signal_hook::iterator::Handle,
    flags: Vec<signal_hook::SigId>,
}

impl Termination {
    /// Blocks until a termination signal arrived and its emergency save is
    /// done. `None` if the watcher ended without a signal.
    pub fn wait(mut self) -> Option<TerminationReport> {
        self.thread.take()?.join().ok().flatten()
    }

    /// Whether the signal arrived and was handled.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops watching (the session is closing while the process goes on):
    /// the handlers are removed, so the next session's watcher is the only one.
    pub fn close(mut self) -> Option<TerminationReport> {
        self.release()
    }

    fn release(&mut self) -> Option<TerminationReport> {
        for id in self.flags.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        self.handle.close();
        self.thread.take()?.join().ok().flatten()
    }
}

impl Drop for Termination {
    fn drop(&mut self) {
        self.release();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not stop the emergency save: the data under
    // these locks is always consistent between statements.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The show as it is now, live state included.
    fn snapshot(&self) -> Show {
        let latest = lock(&self.latest).clone();
        let mut show = Arc::unwrap_or_clone(latest.show);
        show.runtime = latest.runtime;
        show
    }

    fn set_snapshot(&self, show: &Show) {
        // Copy before taking the lock, so the lock is held for a swap only.
        let show = Arc::new(show.clone());
        lock(&self.latest).show = show;
    }

    /// Writes `runtime.json` if the live state changed since it was last
    /// written.
    fn write_runtime(&self) -> Result<()> {
        let _file = lock(&self.runtime_file);
        let (seq, runtime) = {
            let latest = lock(&self.latest);
            if latest.runtime_written == latest.runtime_seq {
                return Ok(());
            }
            (latest.runtime_seq, latest.runtime.clone())
        };
        self.session.write_runtime(&runtime)?;
        lock(&self.latest).runtime_written = seq;
        Ok(())
    }

    fn write(&self, reason: SaveReason) -> Result<RecoveryPoint> {
        // The live state first: a restart resumes from runtime.json.
        let runtime = self.write_runtime();
        let bytes = self.snapshot().to_json();
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        let point =
            self.session
                .write_recovery_point(&bytes, reason, jiff::Timestamp::now(), seq)?;
        runtime.map(|()| point)
    }

    fn emergency(&self) -> Result<RecoveryPoint> {
        self.write(SaveReason::Emergency)
    }
}

impl Autosaver {
    /// Starts auto-saving `session`, whose show is now `show` with nothing
    /// unsaved and `show.runtime` as its live state.
    pub fn start(
        session: SessionDir,
        show: &Show,
        config: AutosaveConfig,
        retention: Retention,
    ) -> Result<Self> {
        let seq = session.next_recovery_seq()?;
        session.prune_recovery_points(&retention, jiff::Timestamp::now())?;
        let shared = Arc::new(Shared {
            session,
            retention,
            state: Mutex::new(State {
                policy: AutosavePolicy::new(config, Instant::now()),
                stop: false,
                last_error: None,
            }),
            wake: Condvar::new(),
            latest: Mutex::new(Latest {
                runtime: show.runtime.clone(),
                show: Arc::new(show.clone()),
                runtime_seq: 0,
                runtime_written: 0,
            }),
            runtime_file: Mutex::new(()),
            seq: AtomicU64::new(seq),
        });
        let thread = std::thread::Builder::new()
            .name("autosave".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || run(&shared)
            })
            .map_err(crate::store::error::io(
                "start the auto-save thread for",
                shared.session.path(),
            ))?;
        Ok(Autosaver {
            shared,
            thread: Some(thread),
        })
    }

    /// The session being auto-saved.
    pub fn session(&self) -> &SessionDir {
        &self.shared.session
    }

    /// The show changed; `show` is how it is now.
    ///
    /// This serialises the show (milliseconds for a large one), so call it
    /// per edit; a continuous control (a fader) reports once it settles.
    pub fn changed(&self, show: &Show, change: Change) {
        self.shared.set_snapshot(show);
        lock(&self.shared.state)
            .policy
            .changed(change, Instant::now());
        self.shared.wake.notify_all();
    }

    /// The live state changed to `runtime`: it is written to `runtime.json`
    /// at once (on the auto-save thread) and is part of every recovery
    /// point from now on; `change` says how soon one is due.
    pub fn runtime_changed(&self, runtime: Runtime, change: Change) {
        {
            let mut latest = lock(&self.shared.latest);
            latest.runtime = runtime;
            latest.runtime_seq += 1;
        }
        lock(&self.shared.state)
            .policy
            .changed(change, Instant::now());
        self.shared.wake.notify_all();
    }

    /// Writes any live state not yet in `runtime.json` now (before a run ends).
    pub fn flush_runtime(&self) -> Result<()> {
        self.shared.write_runtime()
    }

    /// The show was saved manually as `show`: nothing is unsaved.
    pub fn saved(&self, show: &Show) {
        self.shared.set_snapshot(show);
        lock(&self.shared.state).policy.saved();
    }

    /// Writes a recovery point of `show` now, before a risky operation.
    pub fn before_risky(&self, show: &Show) -> Result<RecoveryPoint> {
        self.shared.set_snapshot(show);
        let reason = lock(&self.shared.state).policy.before_risky();
        let written = self.shared.write(reason);
        if written.is_err() {
            lock(&self.shared.state).policy.failed();
        }
        written
    }

    /// Writes the latest snapshot as an emergency recovery point now.
    pub fn emergency_save(&self) -> Result<RecoveryPoint> {
        lock(&self.shared.state).policy.emergency();
        self.shared.emergency()
    }

    /// Writes the latest snapshot now as a recovery point named for
    /// `reason`: a session closing for a switch (before-risky: the push that
    /// replaces it), or at the end of its run.
    pub fn save_latest(&self, reason: SaveReason) -> Result<RecoveryPoint> {
        let written = self.shared.write(reason);
        match &written {
            Ok(_) => lock(&self.shared.state).policy.saved(),
            Err(_) => lock(&self.shared.state).policy.failed(),
        }
        written
    }

    /// The last auto-save failure, until a later save succeeds.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.shared.state).last_error.clone()
    }

    /// Makes a panic on any thread write an emergency recovery point before
    /// the previous panic hook runs. Does nothing once the auto-saver is gone.
    pub fn install_panic_hook(&self) {
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(shared) = weak.upgrade() {
                match shared.emergency() {
                    Ok(p) => eprintln!(
                        "cuebox: panicked; the session was saved as recovery point {}",
                        p.id
                    ),
                    Err(e) => eprintln!(
                        "cuebox: panicked, and the emergency save failed: {}",
                        chain(&e)
                    ),
                }
            }
            previous(info);
        }));
    }

    /// Handles SIGTERM and SIGINT from now on: the first writes an emergency
    /// recovery point and completes the returned [`Termination`]; a second
    /// one, while that save is stuck (say on a dead network share), ends the
    /// process at once with status 128 + signal.
    pub fn watch_termination_signals(&self) -> std::io::Result<Termination> {
        let armed = Arc::new(AtomicBool::new(false));
        let mut flags = Vec::new();
        for sig in TERMINATION_SIGNALS {
            // Order matters: the shutdown check runs before the first signal arms it.
            flags.push(signal_hook::flag::register_conditional_shutdown(
                sig,
                128 + sig,
                Arc::clone(&armed),
            )?);
            flags.push(signal_hook::flag::register(sig, Arc::clone(&armed))?);
        }
        let mut signals = signal_hook::iterator::Signals::new(TERMINATION_SIGNALS)?;
        let handle = signals.handle();
        let weak = Arc::downgrade(&self.shared);
        let thread = std::thread::Builder::new()
            .name("termination".into())
            .spawn(move || {
                let signal = signals.forever().next()?;
                let saved = match weak.upgrade() {
                    Some(shared) => {
                        lock(&shared.state).policy.emergency();
                        shared.emergency().map_err(|e| chain(&e))
                    }
                    None => Err("auto-save had already stopped; nothing was saved".into()),
                };
                Some(TerminationReport { signal, saved })
            })?;
        Ok(Termination {
            thread: Some(thread),
            handle,
            flags,
        })
    }

    /// Stops the thread (after any save in progress); unsaved changes stay
    /// unsaved — call [`Autosaver::emergency_save`] first to keep them.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            // A panic in the thread was already reported by the panic hook.
            let _ = t.join();
        }
    }
}

impl Drop for Autosaver {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn run(shared: &Shared) {
    let mut state = lock(&shared.state);
    // The last change of the live state this thread tried to write: a
    // failure is retried at the next change or save, not in a loop.
    let mut tried = 0;
    loop {
        if state.stop {
            return;
        }
        let seq = lock(&shared.latest).runtime_seq;
        if seq > tried {
            tried = seq;
            drop(state);
            if let Err(e) = shared.write_runtime() {
                // Retried with the next change or save; a restart would
                // resume from the last state written.
                eprintln!("cuebox: cannot save the live state: {}", chain(&e));
            }
            state = lock(&shared.state);
        }
        let now = Instant::now();
        if let Some(reason) = state.policy.poll(now) {
            drop(state);
            let result = shared.write(reason).and_then(|_| {
                shared
                    .session
                    .prune_recovery_points(&shared.retention, jiff::Timestamp::now())
            });
            state = lock(&shared.state);
            match result {
                Ok(_) => state.last_error = None,
                Err(e) => {
                    state.policy.failed();
                    let message = chain(&e);
                    // stderr is the box's log (journald) until the log module exists.
                    eprintln!("cuebox: auto-save failed, retrying at the next interval: {message}");
                    state.last_error = Some(message);
                }
            }
            continue;
        }
        state = match state.policy.next_due() {
            Some(due) => {
                shared
                    .wake
                    .wait_timeout(state, due.saturating_duration_since(now))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
}
