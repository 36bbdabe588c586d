//! CPU time of other processes, from /proc: a whole PostgreSQL server (the postmaster, its live backends,
//! and the backends that already exited, which the kernel adds to the postmaster's children's time), a
//! Redis server, or the machine.

/// USER_HZ on every Linux this runs on.
const HZ: f64 = 100.0;

/// The numeric fields after the command name of `/proc/<pid>/stat` (the name may hold spaces).
fn stat_fields(pid: u32) -> Vec<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    after.split_whitespace().map(|field| field.parse().unwrap_or(0.0)).collect()
}

fn command(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_owned()
}

fn pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok()).collect()
}

/// CPU seconds of one process so far (`utime + stime`), and of its waited-for children (`cutime + cstime`).
fn cpu_of(pid: u32) -> (f64, f64) {
    let fields = stat_fields(pid);
    let get = |i: usize| fields.get(i).copied().unwrap_or(0.0);
    // After the name: state is field 0, so utime, stime, cutime, cstime are 11..=14.
    ((get(11) + get(12)) / HZ, (get(13) + get(14)) / HZ)
}

/// CPU seconds the PostgreSQL server has used so far: every `postgres` process, plus the exited backends
/// that the postmaster has reaped.
pub fn postgres_seconds() -> f64 {
    let mut total = 0.0;
    for pid in pids() {
        if command(pid) != "postgres" {
            continue;
        }
        let (own, reaped) = cpu_of(pid);
        let parent = stat_fields(pid).get(1).copied().unwrap_or(0.0) as u32;
        // Only the postmaster's reaped children count: its parent is not itself a postgres process.
        total += own + if command(parent) == "postgres" { 0.0 } else { reaped };
    }
    total
}

/// CPU seconds every `redis-server` process has used so far.
pub fn redis_seconds() -> f64 {
    pids().into_iter().filter(|pid| command(*pid) == "redis-server").map(|pid| cpu_of(pid).0).sum()
}

/// CPU seconds all cores have spent busy since boot (`/proc/stat`: user, nice, system, irq and softirq), or
/// 0 where there is no `/proc`.
pub fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    [0, 1, 2, 5, 6].iter().filter_map(|&i| ticks.get(i)).sum::<f64>() / HZ
}

/// The three readings at one moment; `since` gives what was used in between.
#[derive(Clone, Copy, Debug)]
pub struct CpuReading {
    pub postgres: f64,
    pub redis: f64,
    pub machine: f64,
}

impl CpuReading {
    pub fn now() -> CpuReading {
        CpuReading { postgres: postgres_seconds(), redis: redis_seconds(), machine: machine_busy_seconds() }
    }

    pub fn since(self, earlier: CpuReading) -> CpuReading {
        CpuReading {
            postgres: self.postgres - earlier.postgres,
            redis: self.redis - earlier.redis,
            machine: self.machine - earlier.machine,
        }
    }
}
