//! The app's one way to run work off the frame loop: decoding frames, building meshes, plugin
//! calls, exports, reports. A job runs on a thread of its own; the frame loop polls its handle and
//! never waits. A job that fails, panics or vanishes ends with an error naming it, so no owner is
//! left waiting for an answer that will never come.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};

enum Report<P> {
    Stage(String),
    Partial(P),
}

/// What a running job may tell its owner before it ends.
pub struct JobContext<P> {
    send: Sender<Report<P>>,
}

impl<P> JobContext<P> {
    /// What the job is doing now (shown in the status line).
    pub fn stage(&self, stage: impl Into<String>) {
        let _ = self.send.send(Report::Stage(stage.into()));
    }

    /// A result before the last one (a preview, one answer of a long-lived job). False once the
    /// owner has dropped the handle: the job should stop.
    pub fn partial(&self, value: P) -> bool {
        self.send.send(Report::Partial(value)).is_ok()
    }
}

/// The owner's end of a job. Dropping it tells the job to stop at its next `partial`.
pub struct Job<T, P = ()> {
    name: String,
    stages: Mutex<Receiver<Report<P>>>,
    result: Mutex<Receiver<Result<T, String>>>,
    /// The end has been handed out: later polls find nothing more.
    ended: AtomicBool,
}

/// What a poll found.
pub struct Polled<T, P> {
    /// The newest stage reported since the last poll.
    pub stage: Option<String>,
    pub partials: Vec<P>,
    /// The job's end: its result, or why it has none (its error, a panic, a lost thread).
    pub done: Option<Result<T, String>>,
}

/// Starts `work` on a thread named after the job.
pub fn spawn<T, P, F>(name: impl Into<String>, work: F) -> Job<T, P>
where
    T: Send + 'static,
    P: Send + 'static,
    F: FnOnce(&JobContext<P>) -> Result<T, String> + Send + 'static,
{
    let name = name.into();
    let (send_stage, stages) = channel();
    let (send_result, result) = channel();
    let thread_name = name.clone();
    let spawned = std::thread::Builder::new().name(format!("cairn-{thread_name}")).spawn(move || {
        let context = JobContext { send: send_stage };
        let outcome =
            catch_unwind(AssertUnwindSafe(|| work(&context))).unwrap_or_else(|panic| Err(format!("{thread_name} stopped: {}", panic_text(&panic))));
        let _ = send_result.send(outcome);
    });
    if let Err(e) = spawned {
        // No thread: the job ends at its first poll with the reason.
        let (send, receive) = channel();
        let _ = send.send(Err(format!("{name}: cannot start a thread: {e}")));
        return Job { name, stages: Mutex::new(stages), result: Mutex::new(receive), ended: AtomicBool::new(false) };
    }
    Job { name, stages: Mutex::new(stages), result: Mutex::new(result), ended: AtomicBool::new(false) }
}

/// The message of a panic payload (a `&str` or a `String`; anything else is unnamed).
pub fn panic_text(panic: &Box<dyn Any + Send>) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic".into()
    }
}

impl<T, P> Job<T, P> {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Everything the job reported since the last poll. Once `done` is Some the job is over.
    pub fn poll(&self) -> Polled<T, P> {
        let mut polled = Polled { stage: None, partials: Vec::new(), done: None };
        if self.ended.load(Ordering::Relaxed) {
            return polled;
        }
        // The end first: a job sends everything else before it, so what is drained after it is
        // complete.
        polled.done = match self.result.lock().expect("job lock").try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            // The thread went away without a word (it cannot panic past catch_unwind, but it can
            // end with its process's other threads).
            Err(TryRecvError::Disconnected) => Some(Err(format!("{} stopped without an answer", self.name))),
        };
        let stages = self.stages.lock().expect("job lock");
        while let Ok(report) = stages.try_recv() {
            match report {
                Report::Stage(stage) => polled.stage = Some(stage),
                Report::Partial(value) => polled.partials.push(value),
            }
        }
        if polled.done.is_some() {
            self.ended.store(true, Ordering::Relaxed);
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait<T, P>(job: &Job<T, P>) -> (Vec<P>, Option<String>, Result<T, String>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let (mut partials, mut stage) = (Vec::new(), None);
        loop {
            let polled = job.poll();
            partials.extend(polled.partials);
            stage = polled.stage.or(stage);
            if let Some(done) = polled.done {
                return (partials, stage, done);
            }
            assert!(Instant::now() < deadline, "the job did not end");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn results_partials_and_stages_arrive_in_order() {
        let job = spawn("count", |context: &JobContext<u32>| {
            context.stage("counting");
            for i in 0..3 {
                context.partial(i);
            }
            Ok("done")
        });
        let (partials, stage, done) = wait(&job);
        assert_eq!(partials, vec![0, 1, 2]);
        assert_eq!(stage.as_deref(), Some("counting"));
        assert_eq!(done, Ok("done"));
    }

    #[test]
    fn a_panic_is_an_error_naming_the_job_and_later_jobs_still_run() {
        let job: Job<(), ()> = spawn("mesh builder", |_| panic!("index out of bounds"));
        let (_, _, done) = wait(&job);
        assert_eq!(done, Err("mesh builder stopped: index out of bounds".into()));
        assert!(job.poll().done.is_none(), "the end is handed out once");
        let job: Job<u8, ()> = spawn("mesh builder", |_| Ok(7));
        assert_eq!(wait(&job).2, Ok(7));
    }

    #[test]
    fn a_dropped_handle_tells_the_job_to_stop() {
        let (tell, told) = channel();
        let job: Job<(), u8> = spawn("long", move |context| {
            while context.partial(0) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let _ = tell.send(());
            Ok(())
        });
        drop(job);
        told.recv_timeout(Duration::from_secs(10)).expect("the job noticed");
    }
}
