//! A relay worker running in the background of a process that does something else too: an
//! embedding program, or a test that needs a real worker beside the code it tests.

use async_nats::Client;
use tokio::{sync::oneshot, task::JoinHandle};

use crate::{Responder, WorkerError, WorkerSettings};

/// Handle of a worker started with [`spawn`]. Dropping it asks the worker to shut down, just
/// like [`stop`](Self::stop), without waiting for it.
#[derive(Debug)]
pub struct RunningWorker {
    shutdown: oneshot::Sender<()>,
    ready: Option<oneshot::Receiver<String>>,
    instance: Option<String>,
    task: JoinHandle<Result<(), WorkerError>>,
}

impl RunningWorker {
    /// Waits until the worker has sent its subscriptions to the server. Returns `false` when the
    /// worker stopped before it got there. To know that the server has them too, ping
    /// `$SRV.PING.ticket-relay.<instance id>` (as `test_util` does).
    pub async fn ready(&mut self) -> bool {
        match self.ready.take() {
            Some(ready) => match ready.await {
                Ok(instance) => {
                    self.instance = Some(instance);
                    true
                }
                Err(_) => false,
            },
            None => self.instance.is_some(),
        }
    }

    /// This instance's id in the services API, once [`Self::ready`] has returned `true`.
    pub fn instance_id(&self) -> Option<&str> {
        self.instance.as_deref()
    }

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
pub fn spawn<R: Responder>(
    client: Client,
    settings: WorkerSettings,
    responder: R,
) -> RunningWorker {
    let (shutdown, signal) = oneshot::channel::<()>();
    let (ready_tx, ready) = oneshot::channel();
    let shutdown_future = async {
        // Sent or dropped: either way it is time to stop.
        let _ = signal.await;
    };
    let task = tokio::spawn(crate::service::serve(
        client,
        settings,
        responder,
        shutdown_future,
        Some(ready_tx),
    ));
    RunningWorker {
        shutdown,
        ready: Some(ready),
        instance: None,
        task,
    }
}
