//! Ctrl+C and SIGTERM during long work: the first asks the work to stop (an export then removes its
//! staging directory before the process exits), a second ends the process at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The flag a signal sets. The handler is installed on first use, once per process.
pub fn flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let seen = flag.clone();
        let installed = ctrlc::set_handler(move || {
            if seen.swap(true, Ordering::SeqCst) {
                std::process::exit(crate::exit::STOPPED);
            }
            eprintln!("stopping: cleaning up (a second Ctrl+C ends at once)");
        });
        if let Err(e) = installed {
            eprintln!(
                "warning: cannot catch Ctrl+C and SIGTERM ({e}); a stopped export may leave its staging directory, which the next export removes"
            );
        }
        flag
    })
    .clone()
}

pub fn requested(flag: &AtomicBool) -> bool {
    flag.load(Ordering::SeqCst)
}
