//! The threads that run password hashes. A hash is deliberately slow CPU
//! work; run on the async workers it would stall every request, and run at
//! normal priority a login storm would take the CPU that cheap requests
//! (whoami above all) need. So hashes run on a fixed set of dedicated
//! threads (the concurrency bound) whose nice value is raised: under
//! contention the kernel gives the request workers the CPU first, and when
//! nothing else runs the hashes get all of it.

use kernel::{Error, Result};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send + 'static>;

pub(crate) struct HashPool {
    jobs: Mutex<Option<Sender<Job>>>,
}

impl HashPool {
    /// Starts `threads` workers at nice value `niceness` (0 leaves it).
    pub(crate) fn start(threads: usize, niceness: i32) -> Self {
        let (sender, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..threads.max(1) {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{index}"))
                .spawn(move || work(&receiver, niceness));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Self {
            jobs: Mutex::new(Some(sender)),
        }
    }

    /// Runs `work` on a hashing thread and waits for its result.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have gone away; the work is done either way.
            let _ = done.send(work());
        });
        let sender = self
            .jobs
            .lock()
            .map_err(|_| Error::internal("password hashing pool is poisoned"))?
            .clone()
            .ok_or_else(|| Error::internal("password hashing pool is stopped"))?;
        sender
            .send(job)
            .map_err(|_| Error::internal("password hashing threads are gone"))?;
        result
            .await
            .map_err(|_| Error::internal("password hashing job was dropped"))
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        // Closing the queue ends the threads once they finish their job.
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
    }
}

fn work(receiver: &Mutex<Receiver<Job>>, niceness: i32) {
    if niceness != 0 {
        lower_priority(niceness);
    }
    loop {
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(target_os = "linux")]
fn lower_priority(niceness: i32) {
    // On Linux the nice value is per thread: PRIO_PROCESS with a thread id.
    let tid = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(tid), niceness) {
        tracing::warn!(error = %e, niceness, "could not lower the priority of a hashing thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_niceness: i32) {}
