//! Reading the kernel's view of threads, IRQs and CPUs from /proc. Every RT
//! setting is verified here, from what the kernel reports, never from the
//! return code of the call that made it. The root is a parameter so tests
//! can point it at a fake tree.

use std::path::{Path, PathBuf};

/// A /proc tree: `/proc` on a box, a folder in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procfs {
    root: PathBuf,
}

impl Default for Procfs {
    fn default() -> Self {
        Procfs {
            root: PathBuf::from("/proc"),
        }
    }
}

/// Scheduling policies as /proc reports them (stat field 41).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// SCHED_OTHER (0).
    Other,
    /// SCHED_FIFO (1).
    Fifo,
    /// SCHED_RR (2).
    RoundRobin,
    /// SCHED_BATCH (3).
    Batch,
    /// SCHED_IDLE (5).
    Idle,
    /// SCHED_DEADLINE (6).
    Deadline,
    /// A number this version does not know.
    Unknown(u32),
}

impl Policy {
    fn from_number(n: u32) -> Self {
        match n {
            0 => Policy::Other,
            1 => Policy::Fifo,
            2 => Policy::RoundRobin,
            3 => Policy::Batch,
            5 => Policy::Idle,
            6 => Policy::Deadline,
            n => Policy::Unknown(n),
        }
    }
}

/// One thread as the kernel sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ThreadState {
    /// Its kernel thread id.
    pub tid: u32,
    /// Its name (`comm`).
    pub name: String,
    /// Scheduling policy.
    pub policy: Policy,
    /// Real-time priority (0 for normal policies).
    pub rt_priority: u32,
    /// CPUs it may run on.
    pub cpus_allowed: Vec<usize>,
    /// Times it gave up the CPU itself (blocking in poll: expected).
    pub voluntary_switches: u64,
    /// Times it was preempted: interference.
    pub involuntary_switches: u64,
}

/// Why /proc could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {reason}", path.display())]
pub struct ProcError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

impl Procfs {
    /// A tree rooted at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Procfs { root: root.into() }
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads a file under the root.
    pub fn read(&self, rel: impl AsRef<Path>) -> Result<String, ProcError> {
        let path = self.root.join(rel);
        std::fs::read_to_string(&path).map_err(|e| ProcError {
            reason: e.to_string(),
            path,
        })
    }

    /// The state of thread `tid` of process `pid`.
    pub fn thread(&self, pid: u32, tid: u32) -> Result<ThreadState, ProcError> {
        let dir = format!("{pid}/task/{tid}");
        let stat = self.read(format!("{dir}/stat"))?;
        let bad = |reason: &str| ProcError {
            path: self.root.join(format!("{dir}/stat")),
            reason: reason.into(),
        };
        // The name may hold spaces and parentheses: fields resume after the last ')'.
        let open = stat.find('(').ok_or_else(|| bad("no name"))?;
        let close = stat.rfind(')').ok_or_else(|| bad("no name"))?;
        let name = stat[open + 1..close].to_string();
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // fields[0] is field 3 (state): rt_priority is field 40, policy 41.
        let field = |n: usize| -> Result<u32, ProcError> {
            fields
                .get(n - 3)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| bad("short stat line"))
        };
        let status = self.read(format!("{dir}/status"))?;
        Ok(ThreadState {
            tid,
            name,
            policy: Policy::from_number(field(41)?),
            rt_priority: field(40)?,
            cpus_allowed: status_field(&status, "Cpus_allowed_list")
                .map(parse_cpu_list)
                .unwrap_or_default(),
            voluntary_switches: status_number(&status, "voluntary_ctxt_switches").unwrap_or(0),
            involuntary_switches: status_number(&status, "nonvoluntary_ctxt_switches").unwrap_or(0),
        })
    }

    /// Every thread of every process whose name starts with `prefix`.
    pub fn threads_named(&self, prefix: &str) -> Vec<ThreadState> {
        let Ok(procs) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for entry in procs.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let Ok(tasks) = std::fs::read_dir(entry.path().join("task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let Some(tid) = task.file_name().to_str().and_then(|s| s.parse().ok()) else {
                    continue;
                };
                let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                if name.trim_end().starts_with(prefix) {
                    if let Ok(state) = self.thread(pid, tid) {
                        found.push(state);
                    }
                }
            }
        }
        found
    }

    /// Memory locked by process `pid`, kB (VmLck).
    pub fn locked_kb(&self, pid: u32) -> Result<u64, ProcError> {
        let status = self.read(format!("{pid}/status"))?;
        Ok(status_number(&status, "VmLck").unwrap_or(0))
    }

    /// Resident memory of process `pid`, kB (VmRSS).
    pub fn resident_kb(&self, pid: u32) -> Result<u64, ProcError> {
        let status = self.read(format!("{pid}/status"))?;
        Ok(status_number(&status, "VmRSS").unwrap_or(0))
    }

    /// A limit of process `pid` from its `limits` file, by the name there
    /// ("Max realtime timeout"): (soft, hard), `None` for unlimited.
    pub fn limit(&self, pid: u32, name: &str) -> Result<(Option<u64>, Option<u64>), ProcError> {
        let limits = self.read(format!("{pid}/limits"))?;
        let line = limits
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| ProcError {
                path: self.root.join(format!("{pid}/limits")),
                reason: format!("no \"{name}\" line"),
            })?;
        let mut values = line[name.len()..].split_whitespace();
        let value = |v: Option<&str>| v.and_then(|v| v.parse().ok());
        Ok((value(values.next()), value(values.next())))
    }

    /// Interrupts per IRQ line and CPU: (IRQ name as in /proc/irq, counts
    /// per CPU, description).
    pub fn interrupts(&self) -> Result<Vec<(String, Vec<u64>, String)>, ProcError> {
        let text = self.read("interrupts")?;
        let mut lines = text.lines();
        let cpus = lines.next().map_or(0, |h| h.split_whitespace().count());
        Ok(lines
            .filter_map(|l| {
                let (irq, rest) = l.split_once(':')?;
                let mut parts = rest.split_whitespace();
                let counts: Vec<u64> = parts
                    .by_ref()
                    .take(cpus)
                    .map_while(|c| c.parse().ok())
                    .collect();
                let desc = parts.collect::<Vec<_>>().join(" ");
                Some((irq.trim().to_string(), counts, desc))
            })
            .collect())
    }

    /// The file holding IRQ `irq`'s CPU list.
    pub fn irq_mask(&self, irq: &str) -> PathBuf {
        self.root.join(format!("irq/{irq}/smp_affinity_list"))
    }

    /// Every IRQ under `irq/` with its CPU list (`smp_affinity_list`, as
    /// written), in IRQ number order. An IRQ whose list cannot be read
    /// (gone meanwhile) is left out.
    pub fn irq_affinities(&self) -> Result<Vec<(String, String)>, ProcError> {
        let dir = self.root.join("irq");
        let entries = std::fs::read_dir(&dir).map_err(|e| ProcError {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
        let mut irqs: Vec<(u32, String)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                Some((name.parse().ok()?, name))
            })
            .collect();
        irqs.sort_unstable();
        Ok(irqs
            .into_iter()
            .filter_map(|(_, irq)| {
                let cpus = std::fs::read_to_string(self.irq_mask(&irq)).ok()?;
                Some((irq, cpus.trim().to_string()))
            })
            .collect())
    }

    /// Busy and total jiffies of `cpu` from /proc/stat.
    pub fn cpu_times(&self, cpu: usize) -> Result<(u64, u64), ProcError> {
        let stat = self.read("stat")?;
        let key = format!("cpu{cpu} ");
        let line = stat
            .lines()
            .find(|l| l.starts_with(&key))
            .ok_or_else(|| ProcError {
                path: self.root.join("stat"),
                reason: format!("no line for cpu{cpu}"),
            })?;
        let v: Vec<u64> = line[key.len()..]
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        let total: u64 = v.iter().take(8).sum();
        // idle (3) and iowait (4) are the time it was free.
        let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
        Ok((total - idle, total))
    }
}

fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then_some(v.trim())
    })
}

fn status_number(status: &str, key: &str) -> Option<u64> {
    status_field(status, key)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A CPU list as the kernel writes it (`0-3,6`).
pub fn parse_cpu_list(list: &str) -> Vec<usize> {
    list.trim()
        .split(',')
        .filter(|s| !s.is_empty())
        .flat_map(|part| match part.split_once('-') {
            Some((a, b)) => match (a.parse::<usize>(), b.parse::<usize>()) {
                (Ok(a), Ok(b)) if a <= b => (a..=b).collect(),
                _ => Vec::new(),
            },
            None => part.parse().into_iter().collect(),
        })
        .collect()
}

/// A CPU list in the kernel's form.
pub fn format_cpu_list(cpus: &[usize]) -> String {
    let mut cpus = cpus.to_vec();
    cpus.sort_unstable();
    cpus.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        while i + 1 < cpus.len() && cpus[i + 1] == cpus[i] + 1 {
            i += 1;
        }
        out.push(if cpus[i] == start {
            start.to_string()
        } else {
            format!("{start}-{}", cpus[i])
        });
        i += 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_round_trip() {
        assert_eq!(parse_cpu_list("0-3,6\n"), vec![0, 1, 2, 3, 6]);
        assert_eq!(format_cpu_list(&[6, 0, 1, 2, 3]), "0-3,6");
        assert_eq!(parse_cpu_list(""), Vec::<usize>::new());
    }

    #[test]
    fn this_thread_reads_back_from_the_real_proc() {
        let proc = Procfs::default();
        let pid = std::process::id();
        let tid = nix::unistd::gettid().as_raw() as u32;
        let me = proc.thread(pid, tid).unwrap();
        assert_eq!(me.tid, tid);
        assert!(!me.cpus_allowed.is_empty());
        assert!(proc.limit(pid, "Max realtime timeout").is_ok());
        assert!(proc.cpu_times(0).unwrap().1 > 0);
        assert!(!proc.interrupts().unwrap().is_empty());
    }
}
