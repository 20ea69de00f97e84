//! The bot's registry under `nats/least-privilege.conf`: the real [`Registry`] code, logged in
//! as the `bot` user, creates and uses its three buckets (guilds, tickets, votes on answers)
//! with no permissions violation, and the worker and HTTP users cannot read what it stored.

use bot::registry::{
    Feedback, HumanRequest, Registry, TicketEntry, Vote, Voted, FEEDBACK_BUCKET, GUILDS_BUCKET,
    TICKETS_BUCKET,
};
use common::test_util::LeastPrivilegeServer;
use futures::future::join_all;
use serenity::all::{ChannelId, GuildId, MessageId, Timestamp, UserId};

#[tokio::test]
async fn the_registry_works_as_the_bot_user_and_other_users_are_refused() {
    let broker = LeastPrivilegeServer::start_jetstream();
    let (bot, _events) = broker.connect_as("bot").await;
    let registry = Registry::open(bot.clone())
        .await
        .expect("buckets created as bot");
    let (guild, channel, owner) = (GuildId::new(1), ChannelId::new(42), UserId::new(7));
    let opened = Timestamp::from_unix_timestamp(1_790_000_000).unwrap();
    registry
        .put_ticket(channel, TicketEntry::opened(guild, owner, opened))
        .await
        .unwrap();
    registry.touch(channel, Timestamp::now()).await.unwrap();
    registry.answered(channel, Timestamp::now()).await.unwrap();
    assert!(matches!(
        registry.request_human(channel, Timestamp::now()).await,
        Ok(HumanRequest::Requested(_))
    ));
    registry
        .staff_wrote(channel, Timestamp::now())
        .await
        .unwrap();
    let mut vote = Feedback {
        guild_id: guild,
        channel_id: channel,
        answer_message_id: MessageId::new(43),
        source: Some("knowledge".to_owned()),
        vote: Vote::Up,
        user_id: owner,
        at: Timestamp::now(),
    };
    assert_eq!(registry.record_vote(&vote).await.unwrap(), Voted::Counted);
    vote.vote = Vote::Down;
    assert_eq!(registry.record_vote(&vote).await.unwrap(), Voted::Changed);
    assert_eq!(registry.vote(MessageId::new(43)).await.unwrap(), Some(vote));
    // The statistics' scan sees what was written since the bucket was opened (empty).
    assert_eq!(
        registry.guild_tickets(guild, opened).await.unwrap().len(),
        1
    );
    // A restart reads everything back (keys and gets), and the statistics scan the bucket.
    let again = Registry::open(bot.clone()).await.expect("loaded as bot");
    let stored = again.open_ticket(channel).expect("still open");
    assert!(stored.last_activity > opened);
    assert_eq!(
        (stored.answers, stored.feedback_up, stored.feedback_down),
        (1, 0, 1)
    );
    assert!(stored.human_requested_at.is_some() && stored.staff_replied_at.is_some());
    assert!(!stored.awaiting_staff, "staff wrote after the request");
    let scanned = again.guild_tickets(guild, opened).await.unwrap();
    assert_eq!(scanned, vec![stored]);
    broker.assert_no_violations();

    // A refused JetStream request is never answered: only its timeout ends it, so the
    // attempts run at once, with a short timeout where the test picks the context.
    let refusals = ["worker", "http"].map(|user| {
        let broker = &broker;
        async move {
            let (client, _events) = broker.connect_as(user).await;
            let js = async_nats::jetstream::ContextBuilder::new()
                .timeout(REFUSED_WAIT)
                .build(client.clone());
            let opens = [GUILDS_BUCKET, TICKETS_BUCKET, FEEDBACK_BUCKET].map(|bucket| {
                let js = js.clone();
                async move { (bucket, js.get_key_value(bucket).await.is_err()) }
            });
            let (opens, registry) = tokio::join!(join_all(opens), Registry::open(client));
            for (bucket, refused) in opens {
                assert!(refused, "{user} may not open {bucket}");
            }
            assert!(registry.is_err(), "{user} cannot run the registry");
        }
    });
    join_all(refusals).await;
    assert!(!broker.violations().is_empty(), "the refusals were logged");
}

/// How long a refused request waits for the answer that never comes.
const REFUSED_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
