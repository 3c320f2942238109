//! One WARN line in the system log for each failed call, bounded per (method, status).
//!
//! The line names the method, the path(s) and clientId (as the audit record describes the
//! call), the peer, the status name, the reply's message and the elapsed time; never a
//! property value (the description holds none). Successful calls are the audit log's.
//!
//! A BE retrying a missing file, or a store that is down, fails the same way thousands of
//! times a second: each (method, status) pair gets at most [`LINES_PER_WINDOW`] lines per
//! [`WINDOW`]; the failures past that are counted, and one line says how many when the
//! window ends (from a timer, or from the next failure of that pair if it comes first).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::audit::Record;
use crate::status::Status;
use crate::wire::{Method, Reply};

/// Lines each (method, status) pair may write per window.
pub const LINES_PER_WINDOW: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(1);

/// Methods by wire name, status codes: a key of the limiter.
type Key = (&'static str, i32);

/// Logs `reply` if it is a failure (see the module doc). Called once per answered call.
pub fn record(peer: SocketAddr, method: Method, call: &Record, reply: &Reply, elapsed: Duration) {
    let Some(status) = reply.status().filter(|s| s.status_code.0 != 0) else {
        return;
    };
    let key = (method.name(), status.status_code.0);
    let verdict = limiter().admit(key, Instant::now());
    if let Some(count) = verdict.suppressed_before {
        log_suppressed(key, count);
    }
    if let Some(end) = verdict.flush_at {
        schedule_flush(key, end);
    }
    if !verdict.log {
        return;
    }
    let or_dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    tracing::warn!(
        "call failed: method={} path={} client={} peer={peer} status={} ms={:.3} message={:?}",
        method.name(),
        or_dash(&call.paths()),
        or_dash(call.client()),
        status_name(key.1),
        elapsed.as_secs_f64() * 1000.0,
        status.message.as_deref().unwrap_or(""),
    );
}

/// The IDL name of a code (`FILE_NOT_FOUND`), `OTHER` outside the IDL.
fn status_name(code: i32) -> &'static str {
    Status::label_of_code(code).name
}

fn log_suppressed((method, code): Key, count: u64) {
    tracing::warn!(
        "call failures: method={method} status={}: suppressed {count} lines (at most {LINES_PER_WINDOW} per {WINDOW:?} per method and status)",
        status_name(code),
    );
}

/// At the end of a window with suppressed failures, says how many (unless a failure of a
/// later window said it first).
fn schedule_flush(key: Key, end: Instant) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return; // no timer here: the next failure of the pair reports the count
    };
    runtime.spawn(async move {
        tokio::time::sleep_until(end).await;
        if let Some(count) = limiter().flush(key, end) {
            log_suppressed(key, count);
        }
    });
}

struct Shared(Mutex<Limiter>);

impl Shared {
    fn admit(&self, key: Key, now: Instant) -> Verdict {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admit(key, now)
    }

    fn flush(&self, key: Key, end: Instant) -> Option<u64> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .flush(key, end)
    }
}

fn limiter() -> &'static Shared {
    static LIMITER: OnceLock<Shared> = OnceLock::new();
    LIMITER.get_or_init(|| Shared(Mutex::new(Limiter::default())))
}

/// What to do with one failure.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    /// Write its line.
    log: bool,
    /// First report this many suppressed failures of the window that just ended.
    suppressed_before: Option<u64>,
    /// The first suppression of a window: report the count at this instant.
    flush_at: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    end: Instant,
    logged: u32,
    suppressed: u64,
}

/// Fixed windows per key, started by the key's first failure after the last one ended.
/// The keys are a method (15) and a status the broker itself chose (a dozen): few.
#[derive(Default)]
struct Limiter {
    windows: HashMap<Key, Window>,
}

impl Limiter {
    fn admit(&mut self, key: Key, now: Instant) -> Verdict {
        let mut suppressed_before = None;
        let window = self.windows.entry(key).or_insert(Window {
            end: now + WINDOW,
            logged: 0,
            suppressed: 0,
        });
        if now >= window.end {
            suppressed_before = Some(window.suppressed).filter(|&n| n > 0);
            *window = Window {
                end: now + WINDOW,
                logged: 0,
                suppressed: 0,
            };
        }
        if window.logged < LINES_PER_WINDOW {
            window.logged += 1;
            return Verdict {
                log: true,
                suppressed_before,
                flush_at: None,
            };
        }
        window.suppressed += 1;
        Verdict {
            log: false,
            suppressed_before,
            flush_at: (window.suppressed == 1).then_some(window.end),
        }
    }

    /// The count of the window ending at `end`, once; `None` if it was reported already.
    fn flush(&mut self, key: Key, end: Instant) -> Option<u64> {
        let window = self.windows.get_mut(&key).filter(|w| w.end == end)?;
        let count = std::mem::take(&mut window.suppressed);
        (count > 0).then_some(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: Key = ("openReader", 501);

    fn run(limiter: &mut Limiter, key: Key, now: Instant, n: usize) -> Vec<Verdict> {
        (0..n).map(|_| limiter.admit(key, now)).collect()
    }

    #[test]
    fn a_burst_logs_a_few_lines_and_counts_the_rest_for_the_window_end() {
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        let verdicts = run(&mut limiter, KEY, t0, 1000);
        let logged = verdicts.iter().filter(|v| v.log).count();
        assert_eq!(logged, LINES_PER_WINDOW as usize);
        assert!(verdicts.iter().all(|v| v.suppressed_before.is_none()));
        // Only the first suppressed failure asks for a report, at the window's end.
        let flushes: Vec<_> = verdicts.iter().filter_map(|v| v.flush_at).collect();
        assert_eq!(flushes, vec![t0 + WINDOW]);
        assert_eq!(limiter.flush(KEY, t0 + WINDOW), Some(995));
        assert_eq!(limiter.flush(KEY, t0 + WINDOW), None, "reported once");
        // The next failure opens a new window with room for lines again.
        let next = limiter.admit(KEY, t0 + WINDOW);
        assert!(next.log && next.suppressed_before.is_none(), "{next:?}");
    }

    #[test]
    fn the_next_failure_reports_the_count_when_the_timer_has_not() {
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        run(&mut limiter, KEY, t0, 8);
        let later = t0 + WINDOW + Duration::from_millis(1);
        let next = limiter.admit(KEY, later);
        assert_eq!(
            next,
            Verdict {
                log: true,
                suppressed_before: Some(3),
                flush_at: None
            }
        );
        // The old window's timer finds nothing left to say.
        assert_eq!(limiter.flush(KEY, t0 + WINDOW), None);
    }

    #[test]
    fn a_window_without_suppression_reports_nothing() {
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        let verdicts = run(&mut limiter, KEY, t0, LINES_PER_WINDOW as usize);
        assert!(verdicts.iter().all(|v| v.log && v.flush_at.is_none()));
        let next = limiter.admit(KEY, t0 + WINDOW * 2);
        assert!(next.log && next.suppressed_before.is_none());
    }

    #[test]
    fn each_method_and_status_has_its_own_budget() {
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        run(&mut limiter, KEY, t0, 100);
        for other in [("openReader", 502), ("pread", 501)] {
            let verdicts = run(&mut limiter, other, t0, LINES_PER_WINDOW as usize);
            assert!(verdicts.iter().all(|v| v.log), "{other:?}");
        }
        assert!(!limiter.admit(KEY, t0).log);
    }

    #[tokio::test(start_paused = true)]
    async fn the_timer_reports_at_the_window_end_on_tokio_clock() {
        let key = ("test-only-method", 502);
        let t0 = Instant::now();
        let flushes: Vec<_> = (0..10)
            .filter_map(|_| limiter().admit(key, t0).flush_at)
            .collect();
        assert_eq!(flushes, vec![t0 + WINDOW]);
        schedule_flush(key, t0 + WINDOW);
        let pending = || limiter().0.lock().unwrap().windows[&key].suppressed;
        tokio::time::sleep(WINDOW / 2).await;
        assert_eq!(pending(), 5, "nothing reported before the window ends");
        tokio::time::sleep(WINDOW).await;
        assert_eq!(pending(), 0, "reported by the timer at the window's end");
        assert!(limiter().admit(key, Instant::now()).log);
    }
}
