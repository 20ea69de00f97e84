//! The bot's registry under `nats/least-privilege.conf`: the real [`Registry`] code, logged in
//! as the `bot` user, creates and uses both buckets with no permissions violation, and the
//! worker and HTTP users cannot read what it stored.

use bot::registry::{Registry, TicketEntry, GUILDS_BUCKET, TICKETS_BUCKET};
use common::test_util::LeastPrivilegeServer;
use serenity::all::{ChannelId, GuildId, Timestamp, UserId};

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
    broker.assert_no_violations();

    for user in ["worker", "http"] {
        let (client, _events) = broker.connect_as(user).await;
        let js = async_nats::jetstream::new(client.clone());
        for bucket in [GUILDS_BUCKET, TICKETS_BUCKET] {
            assert!(
                js.get_key_value(bucket).await.is_err(),
                "{user} may not open {bucket}"
            );
        }
        assert!(
            Registry::open(client).await.is_err(),
            "{user} cannot run the registry"
        );
    }
    assert!(!broker.violations().is_empty(), "the refusals were logged");
}
