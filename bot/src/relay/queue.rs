//! The per-channel queues: every ticket channel has its own bounded queue and task, so one
//! channel's messages are answered in the order they were sent while other channels proceed in
//! parallel. A message offered twice is queued once (the [`SeenIds`] ring), a full queue turns
//! the message away with [`BUSY_MESSAGE`], a task that has been idle for a while ends, and a task
//! that died is started again by the next message.

use std::{
    collections::{HashSet, VecDeque},
    sync::Arc,
};

use serenity::all::{ChannelId, Message, MessageId};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::{notices::BUSY_MESSAGE, Inner, Relay};

/// How many recent message IDs are remembered to take a message once: far more than can arrive
/// between the collector and the `message` handler offering the same one, in a few tens of KiB.
pub(super) const SEEN_IDS_REMEMBERED: usize = 4096;

impl Relay {
    /// Queues `message` (already checked to be relayable) for its channel, once.
    pub(super) fn enqueue(&self, message: &Message) {
        if self.inner.seen.lock().insert(message.id) {
            self.queue(message);
        }
    }

    /// Queues `message`, already taken as new, for its channel.
    pub(super) fn queue(&self, message: &Message) {
        if self.inner.cancel.is_cancelled() || self.inner.tasks.is_closed() {
            return;
        }
        let channel_id = message.channel_id;
        let mut queues = self.inner.queues.lock();
        let sender = queues
            .entry(channel_id)
            .or_insert_with(|| self.spawn_channel_task(channel_id));
        match sender.try_send(message.clone()) {
            Ok(()) => {
                self.inner
                    .pending
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                self.inner.metrics.queued(1);
            }
            Err(mpsc::error::TrySendError::Full(message)) => {
                tracing::warn!(
                    channel_id = %channel_id,
                    message_id = %message.id,
                    "ticket channel queue full, message not relayed"
                );
                let inner = Arc::clone(&self.inner);
                self.inner.tasks.spawn(async move {
                    inner.post(&message, BUSY_MESSAGE).await;
                });
            }
            Err(mpsc::error::TrySendError::Closed(message)) => {
                // The channel's task is gone though the relay runs (it panicked): start another
                // so that one bad message cannot silence the channel for good.
                tracing::error!(channel_id = %channel_id, "ticket channel task ended unexpectedly, restarting it");
                let sender = self.spawn_channel_task(channel_id);
                if sender.try_send(message).is_ok() {
                    self.inner
                        .pending
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    self.inner.metrics.queued(1);
                }
                queues.insert(channel_id, sender);
            }
        }
    }

    fn spawn_channel_task(&self, channel_id: ChannelId) -> mpsc::Sender<Message> {
        let (tx, rx) = mpsc::channel(self.inner.settings.queue_capacity);
        let span = tracing::info_span!("ticket_channel", channel_id = %channel_id);
        self.inner
            .tasks
            .spawn(channel_task(Arc::clone(&self.inner), channel_id, rx).instrument(span));
        tx
    }
}

/// Relays one channel's messages in order until the channel has been idle for the idle timeout
/// or the relay is cancelled.
async fn channel_task(inner: Arc<Inner>, channel_id: ChannelId, mut rx: mpsc::Receiver<Message>) {
    loop {
        let message = tokio::select! {
            message = rx.recv() => message,
            () = inner.cancel.cancelled() => return,
            () = tokio::time::sleep(inner.settings.idle_timeout) => {
                let mut queues = inner.queues.lock();
                // Under the queues lock nobody can be queueing for this channel right now.
                if rx.is_empty() {
                    queues.remove(&channel_id);
                    return;
                }
                continue;
            }
        };
        let Some(message) = message else { return };
        let id = message.id;
        tokio::select! {
            () = inner.relay(message) => {
                inner.claims.settle(id).await;
                inner.pending.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                inner.metrics.queued(-1);
            }
            () = inner.cancel.cancelled() => {
                // Abandoned midway: the next start (its catch-up) must be able to take it.
                inner.claims.release(id).await;
                return;
            }
        }
    }
}

/// The most recent message IDs seen, so that a message offered twice is relayed once.
pub(super) struct SeenIds {
    order: VecDeque<MessageId>,
    set: HashSet<MessageId>,
    capacity: usize,
}

impl SeenIds {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            order: VecDeque::with_capacity(capacity),
            set: HashSet::with_capacity(capacity),
            capacity,
        }
    }

    /// `true` when `id` is new.
    pub(super) fn insert(&mut self, id: MessageId) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_ids_remember_recent_ids_only() {
        let mut seen = SeenIds::new(2);
        assert!(seen.insert(MessageId::new(1)));
        assert!(!seen.insert(MessageId::new(1)));
        assert!(seen.insert(MessageId::new(2)));
        assert!(seen.insert(MessageId::new(3)));
        assert!(seen.insert(MessageId::new(1)), "1 was forgotten");
    }
}
