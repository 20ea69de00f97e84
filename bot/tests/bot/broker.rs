//! The bot's JetStream stores under `nats/least-privilege.conf`: the real [`Registry`],
//! [`Archive`] and [`Claims`] code, logged in as the `bot` user, creates and uses its buckets
//! with no permissions violation (two registries watching each other included), and the worker
//! and HTTP users cannot read what it stored.

use std::time::Duration;

use bot::{
    archive::{self, Archive},
    claims::Claims,
    registry::{Registry, TicketEntry, GUILDS_BUCKET, TICKETS_BUCKET},
};
use common::test_util::{eventually, LeastPrivilegeServer};
use serenity::all::{ChannelId, GuildId, MessageId, Timestamp, UserId};

#[tokio::test]
async fn the_registry_works_as_the_bot_user_and_other_users_are_refused() {
    let broker = LeastPrivilegeServer::start_jetstream();
    let (bot, _events) = broker.connect_as("bot").await;
    let registry = Registry::open(bot.clone())
        .await
        .expect("buckets created as bot");
    let channel = ChannelId::new(42);
    let opened = Timestamp::from_unix_timestamp(1_790_000_000).unwrap();
    registry
        .put_ticket(
            channel,
            TicketEntry::opened(GuildId::new(1), UserId::new(7), opened),
        )
        .await
        .unwrap();
    registry.touch(channel, Timestamp::now()).await.unwrap();
    // A restart reads everything back (keys and gets).
    let again = Registry::open(bot.clone()).await.expect("loaded as bot");
    let stored = again.open_ticket(channel).expect("still open");
    assert!(stored.last_activity > opened);
    // Each sees what the other writes, by its watch.
    let other = ChannelId::new(43);
    again
        .put_ticket(
            other,
            TicketEntry::opened(GuildId::new(1), UserId::new(8), opened),
        )
        .await
        .unwrap();
    eventually(
        "the first registry to see the second's ticket",
        Duration::from_secs(10),
        || {
            let seen = registry.is_open_ticket(other);
            async move { seen.then_some(()) }
        },
    )
    .await;
    let of_seven = again
        .find_tickets(|t| t.owner_id == UserId::new(7))
        .await
        .unwrap();
    assert_eq!(of_seven.len(), 1);

    // The archive: created, written, read back.
    let archive = Archive::new(bot.clone());
    archive
        .put(&archive::transcript_txt(channel), b"the transcript")
        .await
        .expect("archived as bot");
    assert_eq!(
        archive
            .get(&archive::transcript_txt(channel))
            .await
            .unwrap(),
        Some(b"the transcript".to_vec())
    );
    assert_eq!(archive.get("42/absent").await.unwrap(), None);
    assert!(archive.attachments(channel).await.unwrap().is_empty());

    // The claims: one process takes a message; a release lets another start take it.
    let (first, second) = (Claims::new(bot.clone()), Claims::new(bot.clone()));
    let message = MessageId::new(40);
    assert!(first.claim(message).await);
    assert!(!second.claim(message).await);
    first.release(message).await;
    assert!(second.claim(message).await);
    broker.assert_no_violations();

    // Each refusal is a request nobody answers, so each waits for its timeout: the users and
    // the stores are tried side by side.
    let refused = |user: &'static str| {
        let broker = &broker;
        async move {
            let (client, _events) = broker.connect_as(user).await;
            let js = async_nats::jetstream::new(client.clone());
            for bucket in [GUILDS_BUCKET, TICKETS_BUCKET] {
                assert!(
                    js.get_key_value(bucket).await.is_err(),
                    "{user} may not open {bucket}"
                );
            }
            let archive = Archive::new(client.clone());
            let (registry, archived) = tokio::join!(
                Registry::open(client.clone()),
                archive.get("42/transcript.txt"),
            );
            assert!(registry.is_err(), "{user} cannot run the registry");
            assert!(archived.is_err(), "{user} cannot read the archive");
        }
    };
    tokio::join!(refused("worker"), refused("http"));
    assert!(!broker.violations().is_empty(), "the refusals were logged");
}
