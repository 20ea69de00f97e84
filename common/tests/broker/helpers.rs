//! Harness of the ticket-state broker tests: the bot's key-value calls exactly as the bot makes
//! them, on a client of `common::test_util::LeastPrivilegeServer`.

use std::time::Duration;

use async_nats::{
    jetstream::{
        self,
        context::{CreateKeyValueError, KeyValueErrorKind},
        kv::{Config, Store},
        stream::StorageType,
    },
    Client,
};
use common::test_util::{Events, LeastPrivilegeServer};

/// The bot's key-value buckets: the guilds it is set up in, their tickets, and the members'
/// votes on the answers.
pub const BUCKETS: [&str; 3] = ["ticket_guilds", "tickets", "ticket_feedback"];

/// Bounds every wait, so that a broken setup fails instead of hanging.
pub const WITHIN: Duration = Duration::from_secs(15);

/// How long a watch may take to resume after a server restart: async-nats 0.51 recreates its
/// consumer when it notices, at the latest once idle heartbeats have been missing (seen here
/// after 10 to 25 s).
pub const RECREATE_WITHIN: Duration = Duration::from_secs(60);

/// How long a refused JetStream request waits for its answer. The server drops a refused
/// publish without answering, so only this ends the wait; short, because the violation it
/// reports is what the tests check.
pub const REFUSED_WAIT: Duration = Duration::from_secs(2);

/// The JetStream context of `client`; requests wait at most `timeout` for their answer.
pub fn jetstream(client: Client, timeout: Duration) -> jetstream::Context {
    jetstream::ContextBuilder::new()
        .timeout(timeout)
        .build(client)
}

/// The JetStream context of a client logged in as `bot` (requests wait at most `timeout`),
/// and the events of that client.
pub async fn connect_bot(
    broker: &LeastPrivilegeServer,
    timeout: Duration,
) -> (jetstream::Context, Events) {
    let (client, events) = broker.connect_as("bot").await;
    (jetstream(client, timeout), events)
}

/// Opens `bucket` as the bot does: `get_key_value`, and `create_key_value` (history 1, file
/// storage) when it says the bucket is missing.
pub async fn open_bucket(
    jetstream: &jetstream::Context,
    bucket: &str,
) -> Result<Store, CreateKeyValueError> {
    match jetstream.get_key_value(bucket).await {
        Ok(store) => Ok(store),
        Err(err) if err.kind() == KeyValueErrorKind::GetBucket => {
            jetstream
                .create_key_value(Config {
                    bucket: bucket.to_owned(),
                    history: 1,
                    storage: StorageType::File,
                    ..Default::default()
                })
                .await
        }
        Err(err) => panic!("get_key_value({bucket}) failed otherwise than missing: {err}"),
    }
}

/// The bot's object store of transcripts.
pub const ARCHIVE: &str = "ticket_transcripts";

/// The bot's key-value bucket of claims on messages (create and delete only).
pub const CLAIMS: &str = "relay_claims";

/// Opens the archive as the bot does: `get_object_store`, and `create_object_store` (file
/// storage) when it is missing.
pub async fn open_archive(
    jetstream: &jetstream::Context,
) -> Result<jetstream::object_store::ObjectStore, String> {
    if let Ok(store) = jetstream.get_object_store(ARCHIVE).await {
        return Ok(store);
    }
    jetstream
        .create_object_store(jetstream::object_store::Config {
            bucket: ARCHIVE.to_owned(),
            storage: StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())
}
