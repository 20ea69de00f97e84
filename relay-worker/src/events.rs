//! The worker's side of the relay stream protocol (`common::relay_stream`): while an answer
//! runs for a requester that named a stream subject, tell it so (an ack, then heartbeats) and
//! send on the pieces of the answer as the source writes them.

use std::future::Future;

use async_nats::{Client, Subject};
use bytes::Bytes;
use common::relay_stream::{event_headers, EventKind, ACK_AFTER, HEARTBEAT_EVERY};
use tokio::{sync::mpsc, time::Instant};

/// The events of one request, numbered in the order they are published.
pub(crate) struct Events {
    client: Client,
    subject: Subject,
    seq: u64,
    acked: bool,
}

impl Events {
    pub(crate) fn new(client: Client, subject: Subject) -> Self {
        Self {
            client,
            subject,
            seq: 0,
            acked: false,
        }
    }

    /// Runs `answer`, publishing its events: the ack once it has run [`ACK_AFTER`] (or before
    /// its first piece), a heartbeat every [`HEARTBEAT_EVERY`] after that, and each piece that
    /// arrives on `pieces` as a chunk, all before `answer`'s output is returned (so that the
    /// requester gets every piece before the reply).
    pub(crate) async fn around<T>(
        mut self,
        answer: impl Future<Output = T>,
        mut pieces: mpsc::UnboundedReceiver<String>,
    ) -> T {
        tokio::pin!(answer);
        let mut next_beat = Instant::now() + ACK_AFTER;
        let mut pieces_open = true;
        loop {
            tokio::select! {
                biased;
                piece = pieces.recv(), if pieces_open => match piece {
                    Some(piece) => self.chunk(piece).await,
                    None => pieces_open = false,
                },
                output = &mut answer => {
                    while let Ok(piece) = pieces.try_recv() {
                        self.chunk(piece).await;
                    }
                    return output;
                }
                () = tokio::time::sleep_until(next_beat) => {
                    let kind = if self.acked { EventKind::Heartbeat } else { EventKind::Ack };
                    self.acked = true;
                    self.publish(kind, Bytes::new()).await;
                    next_beat = Instant::now() + HEARTBEAT_EVERY;
                }
            }
        }
    }

    async fn chunk(&mut self, piece: String) {
        if !self.acked {
            self.acked = true;
            self.publish(EventKind::Ack, Bytes::new()).await;
        }
        self.publish(EventKind::Chunk, Bytes::from(piece)).await;
    }

    async fn publish(&mut self, kind: EventKind, body: Bytes) {
        let headers = event_headers(kind, self.seq);
        self.seq += 1;
        if let Err(err) = self
            .client
            .publish_with_headers(self.subject.clone(), headers, body)
            .await
        {
            // The reply still goes out; the requester may take the silence for a dead worker
            // and ask another, which costs a second answer, not a lost one.
            tracing::warn!(error = %err, kind = kind.as_str(), "cannot publish a relay stream event");
        }
    }
}
