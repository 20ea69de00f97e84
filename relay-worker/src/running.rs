//! A relay worker running in the background of a process that does something else too: an
//! embedding program, or a test that needs a real worker beside the code it tests.

use async_nats::Client;
use tokio::{sync::oneshot, task::JoinHandle};

use crate::{Responder, WorkerConfig, WorkerError};

/// Handle of a worker started with [`spawn`]. Dropping it asks the worker to shut down, just
/// like [`stop`](Self::stop), without waiting for it.
#[derive(Debug)]
pub struct RunningWorker {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<Result<(), WorkerError>>,
}

impl RunningWorker {
    /// Shuts the worker down gracefully and returns how [`crate::run`] ended.
    pub async fn stop(self) -> Result<(), WorkerError> {
        let _ = self.shutdown.send(());
        match self.task.await {
            Ok(outcome) => outcome,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_) => Err(WorkerError::Aborted),
        }
    }
}

/// Runs [`crate::run`] on a task of its own until the handle is stopped or dropped.
pub fn spawn<R: Responder>(client: Client, config: WorkerConfig, responder: R) -> RunningWorker {
    let (shutdown, signal) = oneshot::channel::<()>();
    let task = tokio::spawn(crate::run(client, config, responder, async {
        // Sent or dropped: either way it is time to stop.
        let _ = signal.await;
    }));
    RunningWorker { shutdown, task }
}
