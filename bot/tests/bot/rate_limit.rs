//! The bot's REST rate limiter against the sandbox's Discord limits: a burst over the global
//! limit gets 429s, and the bot waits as told and still answers every message.

use std::time::Duration;

use relay_worker::Placeholder;

use crate::{
    content,
    fake_discord::{FakeDiscord, Limit, RateLimits, SandboxOptions},
    helpers::{spawn_bot, TOKEN, USER_ID},
    set_up, wait_for_posts,
};

#[tokio::test]
async fn a_burst_over_the_global_limit_gets_429s_and_every_message_is_still_answered() {
    const CHANNELS: usize = 30;
    // A fifth of Discord's global limit: the bot's own pace (50/s) is bound to exceed it.
    let limits = RateLimits {
        global: Some(Limit {
            requests: 10,
            per: Duration::from_secs(1),
        }),
        route: None,
    };
    let fake = FakeDiscord::start(SandboxOptions::new(TOKEN).rate_limits(limits)).await;
    let (category, _) = set_up(&fake);
    let tickets: Vec<u64> = (0..CHANNELS)
        .map(|n| fake.add_text_channel(&format!("ticket-{}", USER_ID + n as u64), Some(category)))
        .collect();
    let mut bot = spawn_bot(fake.clone()).await;
    bot.start_worker(Placeholder).await;

    for ticket in &tickets {
        fake.send_message(*ticket, USER_ID, "help");
    }
    let mut answers = Vec::new();
    for ticket in &tickets {
        answers.push(wait_for_posts(&fake, *ticket, 1).await);
    }

    assert!(
        !fake.rate_limited().is_empty(),
        "the burst was over the limit"
    );
    for posts in &answers {
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].status, 200);
        assert_eq!(content(&posts[0]), Placeholder::REPLY);
    }
    let logs = bot.logs();
    assert!(logs.contains("Discord rate limited a call"), "{logs}");
    assert!(!logs.contains("[BOT] ERROR"), "{logs}");
    bot.shutdown().await.expect("clean shutdown");
}
