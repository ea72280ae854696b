//! Process measurements (RSS, CPU time) and summary statistics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Clock ticks per second of `/proc/*/stat` (`getconf CLK_TCK`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmHWM`).
pub(crate) fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// Samples `VmRSS` and `RssAnon` every 5 ms on a thread until stopped.
pub(crate) struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    peak_anon: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

/// Peaks of one [`RssSampler`], in kB.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RssPeaks {
    /// Peak `VmRSS` (anonymous + file-backed + shared pages).
    pub(crate) rss_kb: u64,
    /// Peak `RssAnon` (heap and stacks only; leaves out mapped files such
    /// as SQLite's shared-memory WAL index).
    pub(crate) anon_kb: u64,
}

impl RssSampler {
    pub(crate) fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let peak_anon = Arc::new(AtomicU64::new(0));
        sample(&peak, &peak_anon);
        let thread = {
            let stop = stop.clone();
            let peak = peak.clone();
            let peak_anon = peak_anon.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    sample(&peak, &peak_anon);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        Self {
            stop,
            peak,
            peak_anon,
            thread: Some(thread),
        }
    }

    /// Stops sampling and returns the peaks.
    pub(crate) fn finish(mut self) -> RssPeaks {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        sample(&self.peak, &self.peak_anon);
        RssPeaks {
            rss_kb: self.peak.load(Ordering::Relaxed),
            anon_kb: self.peak_anon.load(Ordering::Relaxed),
        }
    }
}

fn sample(peak: &AtomicU64, peak_anon: &AtomicU64) {
    if let Some(rss) = status_kb("VmRSS") {
        peak.fetch_max(rss, Ordering::Relaxed);
    }
    if let Some(anon) = status_kb("RssAnon") {
        peak_anon.fetch_max(anon, Ordering::Relaxed);
    }
}

/// `utime + stime` of a `/proc/<pid>/stat` line, in ticks.
fn stat_ticks(stat: &str) -> Option<u64> {
    // The command name may contain spaces: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(0) ppid(1) … utime(11) stime(12).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU time consumed so far by this process and by every `postgres`
/// process of the machine (the local server), in ticks.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CpuSnapshot {
    pub(crate) own: u64,
    pub(crate) postgres: u64,
}

impl CpuSnapshot {
    pub(crate) fn now() -> Self {
        let own = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| stat_ticks(&s))
            .unwrap_or(0);
        let mut postgres = 0;
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if !name.bytes().all(|b| b.is_ascii_digit()) {
                    continue;
                }
                let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) else {
                    continue;
                };
                if comm.trim() != "postgres" {
                    continue;
                }
                if let Some(ticks) = std::fs::read_to_string(entry.path().join("stat"))
                    .ok()
                    .and_then(|s| stat_ticks(&s))
                {
                    postgres += ticks;
                }
            }
        }
        Self { own, postgres }
    }

    /// CPU use since `earlier` over `wall`, in cores (1.0 = one core busy):
    /// `(this process, postgres)`. Backends that exited in between are
    /// missed, so the postgres figure is a lower bound.
    pub(crate) fn cores_since(&self, earlier: &Self, wall: Duration) -> (f64, f64) {
        let secs = wall.as_secs_f64().max(1e-9);
        let own = self.own.saturating_sub(earlier.own) as f64 / TICKS_PER_SECOND / secs;
        let pg = self.postgres.saturating_sub(earlier.postgres) as f64 / TICKS_PER_SECOND / secs;
        (own, pg)
    }
}

/// The value at quantile `q` (0..=1) of sorted `values` (nearest rank).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median, minimum and maximum of `values`.
pub(crate) fn summary(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = if sorted.is_empty() {
        f64::NAN
    } else if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
    };
    (
        median,
        sorted.first().copied().unwrap_or(f64::NAN),
        sorted.last().copied().unwrap_or(f64::NAN),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_summary() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&values, 0.5), 50.0);
        assert_eq!(quantile(&values, 0.99), 99.0);
        assert_eq!(quantile(&values, 1.0), 100.0);
        assert_eq!(summary(&[3.0, 1.0, 2.0]), (2.0, 1.0, 3.0));
        assert_eq!(summary(&[4.0, 1.0, 2.0, 3.0]), (2.5, 1.0, 4.0));
        assert_eq!(
            stat_ticks("12 (a b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15"),
            Some(11 + 12)
        );
    }
}
