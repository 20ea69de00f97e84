//! Harness of the broker tests: the least-privilege server of `common::test_util` (the repo's
//! config run for real, clients connected as each of its users, violation checks), plus a
//! worker from the library logged in as its user.

use std::{net::TcpListener, time::Duration};

use async_nats::Client;
pub use common::test_util::{assert_received_nothing, LeastPrivilegeServer};
use common::{payload::RelayReply, relay_client::RelayClient, test_util::eventually};
pub use relay_worker::test_util::{sample_request, spawn_worker_probed, SUBJECT};
use relay_worker::{Placeholder, RunningWorker, WorkerSettings};

pub const ERRORS_SUBJECT: &str = "tickets.relay.errors";
/// Bounds every wait, so that a broken setup fails instead of hanging.
pub const WITHIN: Duration = Duration::from_secs(15);

/// The two users that send relay requests and must not be able to do anything else.
pub const REQUESTERS: [&str; 2] = ["bot", "http"];

/// Starts a Placeholder worker logged in as `worker`, the way the binary connects, and returns
/// once `broker` routes requests to it.
pub async fn spawn_worker(broker: &LeastPrivilegeServer) -> RunningWorker {
    spawn_worker_answering(broker, Placeholder).await
}

/// [`spawn_worker`] with `responder` as its answer source.
pub async fn spawn_worker_answering(
    broker: &LeastPrivilegeServer,
    responder: impl relay_worker::Responder,
) -> RunningWorker {
    // The worker user may not ping; the admin checks that the server routes to it.
    spawn_worker_probed(
        &broker.settings_for("worker"),
        WorkerSettings::new(SUBJECT),
        responder,
        &broker.settings_for("admin"),
    )
    .await
}

/// Serves with the Placeholder on `client` (the caller may keep a clone to inspect it).
pub fn serve(client: Client) -> RunningWorker {
    relay_worker::spawn(client, WorkerSettings::new(SUBJECT), Placeholder)
}

/// Sends real requests until one is answered: the worker is connected, subscribed, and its
/// interest has reached the requester's server.
pub async fn first_reply(relay: &RelayClient) -> RelayReply {
    eventually("a worker to answer", WITHIN, || async {
        relay.send(&sample_request(), None).await.ok()
    })
    .await
}

/// A port nobody listens on right now (for cluster routes, which have no "pick one" option
/// whose result the harness could read).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a free port")
        .port()
}

/// The pieces [`Streaming`] writes, and its answer.
pub const STREAMED: [&str; 2] = ["Hello", " there"];

/// An answer source that writes [`STREAMED`] and answers after [`common::relay_stream::ACK_AFTER`]
/// has passed, so that its requester gets the whole protocol: ack, chunks, reply.
pub struct Streaming;

impl relay_worker::Responder for Streaming {
    async fn respond(
        &self,
        _request: common::payload::RelayRequest,
    ) -> Result<RelayReply, relay_worker::ResponderError> {
        Ok(RelayReply::new(STREAMED.concat()))
    }

    async fn respond_streaming(
        &self,
        request: common::payload::RelayRequest,
        pieces: relay_worker::Pieces,
    ) -> Result<RelayReply, relay_worker::ResponderError> {
        for piece in STREAMED {
            pieces.send(piece);
        }
        tokio::time::sleep(common::relay_stream::ACK_AFTER * 2).await;
        self.respond(request).await
    }
}
