//! Real-time threads: SCHED_FIFO on a pinned core, a bounded pre-faulted
//! stack, denormals flushed, memory locked, the RLIMIT_RTTIME safety valve —
//! each verified afterwards from /proc.

use std::thread::JoinHandle;
use std::time::Duration;

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use thread_priority::{
    set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
    RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
};

use super::procfs::{Policy, Procfs, ThreadState};

/// How a real-time thread is scheduled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtConfig {
    /// SCHED_FIFO priority, 1–98 (rt-out 80, rt-in 70; the sound card's IRQ
    /// thread belongs above).
    pub priority: u8,
    /// The core to pin to; `None` takes [`audio_core`].
    pub core: Option<usize>,
    /// Stack size: bounded, and pre-faulted so no page fault lands in a cycle.
    pub stack_bytes: usize,
    /// CPU time a real-time thread may use without blocking before the
    /// kernel sends SIGXCPU (the soft RLIMIT_RTTIME); the hard limit, one
    /// second more, kills the process. `cueboxd run` catches SIGXCPU, demotes
    /// its real-time threads, saves and exits non-zero before that.
    pub rttime: Duration,
}

impl Default for RtConfig {
    fn default() -> Self {
        RtConfig {
            priority: 80,
            core: None,
            stack_bytes: 512 * 1024,
            rttime: Duration::from_millis(500),
        }
    }
}

/// The audio core: the first isolated CPU if the kernel isolates any
/// (`isolcpus=`), else the last online CPU (the one housekeeping uses least).
pub fn audio_core() -> usize {
    let isolated = std::fs::read_to_string("/sys/devices/system/cpu/isolated").unwrap_or_default();
    if let Some(first) = super::procfs::parse_cpu_list(&isolated).first() {
        return *first;
    }
    std::thread::available_parallelism().map_or(0, |n| n.get() - 1)
}

/// What a real-time thread got, read back from the kernel.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RtSetup {
    /// The thread as /proc shows it.
    pub thread: Option<ThreadState>,
    /// The core asked for.
    pub core: usize,
    /// The priority asked for.
    pub priority: u8,
    /// RLIMIT_RTTIME of the process, µs (soft), from /proc.
    pub rttime_us: Option<u64>,
    /// Memory the process has locked, kB (VmLck), from /proc.
    pub locked_kb: u64,
    /// Whether denormals flush to zero on this thread (checked by a product
    /// that would be denormal).
    pub denormals_flushed: bool,
    /// What is not as asked, each with its fix. Empty: fully protected.
    pub problems: Vec<String>,
    /// The thread, to demote it from another (see [`demote`]).
    #[serde(skip)]
    pub native: Option<thread_priority::ThreadId>,
}

/// Puts the thread `setup` describes back to SCHED_OTHER: what the box does
/// when the kernel says (SIGXCPU) a real-time thread ran too long without
/// blocking, before the hard limit kills the whole process.
pub fn demote(setup: &RtSetup) -> Result<(), String> {
    let native = setup
        .native
        .ok_or("the thread's id was not recorded at its start")?;
    set_thread_priority_and_policy(
        native,
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other),
    )
    .map_err(|e| format!("cannot put the thread back to SCHED_OTHER: {e:?}"))
}

/// Makes the calling thread background work that never competes with the
/// show: SCHED_IDLE (it runs only when a CPU has nothing else to do, and the
/// kernel gives it the idle I/O class too) on every CPU but `audio_core`.
/// Processes it starts inherit both. Verified from /proc.
pub fn background(audio_core: usize) -> Result<(), String> {
    set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    )
    .map_err(|e| format!("cannot make the thread SCHED_IDLE: {e:?}"))?;
    let tid = nix::unistd::gettid();
    let proc = Procfs::default();
    let allowed = proc
        .thread(std::process::id(), tid.as_raw() as u32)
        .map_err(|e| e.to_string())?
        .cpus_allowed;
    let mut others = nix::sched::CpuSet::new();
    let mut any = false;
    for &cpu in allowed.iter().filter(|&&c| c != audio_core) {
        others.set(cpu).map_err(|e| format!("CPU {cpu}: {e}"))?;
        any = true;
    }
    // A machine with one CPU has nowhere else to go: SCHED_IDLE is the guard.
    if any {
        nix::sched::sched_setaffinity(tid, &others)
            .map_err(|e| format!("cannot keep the thread off CPU {audio_core}: {e}"))?;
    }
    let t = proc
        .thread(std::process::id(), tid.as_raw() as u32)
        .map_err(|e| e.to_string())?;
    if t.policy != Policy::Idle || (any && t.cpus_allowed.contains(&audio_core)) {
        return Err(format!(
            "the kernel reports {:?} on CPUs {:?}, not SCHED_IDLE off CPU {audio_core}",
            t.policy, t.cpus_allowed
        ));
    }
    Ok(())
}

/// Locks every page of the process, now and future (mlockall), so no page
/// fault can stall a cycle.
pub fn lock_memory() -> Result<(), String> {
    use nix::sys::mman::{mlockall, MlockAllFlags};
    mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE).map_err(|e| {
        let limit = getrlimit(Resource::RLIMIT_MEMLOCK)
            .map(|(soft, _)| format!("{} KiB", soft / 1024))
            .unwrap_or_else(|_| "unknown".into());
        format!(
            "mlockall failed ({e}); RLIMIT_MEMLOCK is {limit}: run as root, or set \
             LimitMEMLOCK=infinity in the cueboxd unit (memlock unlimited in limits.conf)"
        )
    })
}

/// Sets RLIMIT_RTTIME for the process: soft `limit`, hard one second more.
pub fn set_rttime_limit(limit: Duration) -> Result<(), String> {
    let soft = limit.as_micros() as u64;
    setrlimit(Resource::RLIMIT_RTTIME, soft, soft + 1_000_000)
        .map_err(|e| format!("cannot set RLIMIT_RTTIME to {soft} µs: {e}"))
}

/// Starts a thread named `name`, makes it real-time as `config` says, and
/// runs `body` with what the kernel reports it got. A refused setting does
/// not stop the thread — a show must still play, loudly degraded — it is
/// listed in [`RtSetup::problems`].
pub fn spawn_rt<T: Send + 'static>(
    name: &str,
    config: &RtConfig,
    body: impl FnOnce(RtSetup) -> T + Send + 'static,
) -> std::io::Result<JoinHandle<T>> {
    let config = config.clone();
    std::thread::Builder::new()
        .name(name.to_string())
        .stack_size(config.stack_bytes)
        .spawn(move || {
            with_denormals_flushed(|| {
                let mut setup = make_realtime(&config);
                setup.denormals_flushed = denormals_flushed();
                if !setup.denormals_flushed {
                    setup
                        .problems
                        .push("denormals are not flushed to zero on this CPU".into());
                }
                body(setup)
            })
        })
}

/// Applies `config` to the calling thread and verifies it.
fn make_realtime(config: &RtConfig) -> RtSetup {
    let mut problems = Vec::new();
    let core = config.core.unwrap_or_else(audio_core);
    if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        problems.push(format!(
            "cannot pin to CPU {core}: is it online? (choose one with --core)"
        ));
    }
    let applied = ThreadPriorityValue::try_from(config.priority)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            set_thread_priority_and_policy(
                thread_native_id(),
                ThreadPriority::Crossplatform(p),
                ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
            )
            .map_err(|e| format!("{e:?}"))
        });
    if let Err(e) = applied {
        problems.push(format!(
            "SCHED_FIFO {} refused ({e}): run as root or give cueboxd LimitRTPRIO=95",
            config.priority
        ));
    }
    prefault_stack(config.stack_bytes);
    let proc = Procfs::default();
    let pid = std::process::id();
    let tid = nix::unistd::gettid().as_raw() as u32;
    let thread = proc.thread(pid, tid).ok();
    match &thread {
        Some(t) => {
            if t.policy != Policy::Fifo || t.rt_priority != u32::from(config.priority) {
                problems.push(format!(
                    "the kernel reports {:?} priority {}, not SCHED_FIFO {}",
                    t.policy, t.rt_priority, config.priority
                ));
            }
            if t.cpus_allowed != [core] {
                problems.push(format!(
                    "the kernel reports CPUs {:?}, not CPU {core} alone",
                    t.cpus_allowed
                ));
            }
        }
        None => problems.push("cannot read the thread back from /proc".into()),
    }
    let rttime_us = proc
        .limit(pid, "Max realtime timeout")
        .ok()
        .and_then(|(soft, _)| soft);
    if rttime_us.is_none() {
        problems.push(
            "RLIMIT_RTTIME is unlimited: a spinning real-time thread could freeze the core".into(),
        );
    }
    let locked_kb = proc.locked_kb(pid).unwrap_or(0);
    if locked_kb == 0 {
        problems.push("no memory is locked: page faults can stall a cycle".into());
    }
    RtSetup {
        thread,
        core,
        priority: config.priority,
        rttime_us,
        locked_kb,
        denormals_flushed: false,
        problems,
        native: Some(thread_native_id()),
    }
}

/// Touches the stack the thread will use, so its pages are resident (and,
/// with mlockall, locked) before the first cycle.
fn prefault_stack(stack_bytes: usize) {
    // Leave room for what is already on the stack and for the guard page.
    const CHUNK: usize = 16 * 1024;
    fn touch(depth: usize) {
        let mut page = [0u8; CHUNK];
        std::hint::black_box(&mut page);
        if depth > 0 {
            touch(depth - 1);
        }
    }
    touch((stack_bytes * 3 / 4) / CHUNK);
}

/// Runs `f` with denormals flushed to zero (FTZ and DAZ on x86, FZ on
/// aarch64): a decaying filter or fade tail can never fall into the slow
/// denormal path on the real-time thread.
#[allow(unsafe_code)]
fn with_denormals_flushed<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: no_denormals only sets the thread's own floating-point control
    // register for the closure and restores it after; the closure is the
    // whole real-time body, so no code observes a register change midway.
    unsafe { no_denormals::no_denormals(f) }
}

/// Whether denormals flush to zero on the calling thread now.
pub fn denormals_flushed() -> bool {
    let tiny = std::hint::black_box(f32::MIN_POSITIVE);
    std::hint::black_box(tiny * 0.5) == 0.0
}
