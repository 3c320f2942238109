//! Work to do when the test process exits. The harness never drops statics, so what a
//! shared fixture owns (a broker process, its logs to archive, a temporary directory)
//! would outlive the run; a fixture hands it to [`at_exit`] instead. The C library's
//! `atexit` is the one hook that runs after the last test, whether the run passed (main
//! returns) or failed (the harness calls `exit`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, Once};

type Hook = Box<dyn FnOnce() + Send>;

static HOOKS: Mutex<Vec<Hook>> = Mutex::new(Vec::new());

/// Runs `hook` when the process exits (hooks run newest first).
pub fn at_exit(hook: impl FnOnce() + Send + 'static) {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registers a plain `extern "C" fn` that never unwinds.
        assert_eq!(unsafe { libc::atexit(run_hooks) }, 0, "atexit");
    });
    HOOKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Box::new(hook));
}

extern "C" fn run_hooks() {
    let hooks = std::mem::take(&mut *HOOKS.lock().unwrap_or_else(|e| e.into_inner()));
    for hook in hooks.into_iter().rev() {
        // A panic must not cross the C frame; the others still run.
        let _ = catch_unwind(AssertUnwindSafe(hook));
    }
}
