//! Past Discord's limits: the 51st ticket goes to "Tickets 2" (made with the first category's
//! overwrites, counted from the cache, or after Discord's refusal when the cache lags), an
//! emptied overflow category is deleted after the quiet period, a server at 500 channels is
//! told plainly to the member and once to staff, and `/setup` repairs the overflow categories.

use std::time::Duration;

use axum::http::Method;
use bot::{close_ticket, create_ticket, SERVER_FULL_NOTICE};
use common::test_util::eventually;
use serde_json::Value;

use crate::{
    channel_creates,
    fake_discord::{self, FakeDiscord, ADMIN_ID, GUILD_ID, MEMBER_A_ID, SUPPORT_ID},
    helpers::{
        overwrites, spawn_bot_with_nats, spawn_bot_with_settings, OTHER_USER_ID, TOKEN, USER_ID,
    },
    set_up as record_set_up,
    tickets::{bot_with, channel_named, mentioned_channel, open_ticket, run, set_up, wait_deleted},
    SetUp,
};

/// The guild's entry in the registry, read with a plain NATS client.
async fn guild_entry(nats: &async_nats::Client) -> Value {
    let js = async_nats::jetstream::new(nats.clone());
    let store = js.get_key_value("ticket_guilds").await.unwrap();
    let value = store.get(GUILD_ID.to_string()).await.unwrap().unwrap();
    serde_json::from_slice(&value).unwrap()
}

fn channel(fake: &FakeDiscord, id: u64) -> Value {
    fake.channels()
        .into_iter()
        .find(|c| c["id"].as_str() == Some(&*id.to_string()))
        .unwrap_or_else(|| panic!("channel {id}"))
}

fn parent(fake: &FakeDiscord, id: u64) -> String {
    channel(fake, id)["parent_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Fills `category` with 50 channels, as an administrator (the bot hears nothing of it).
fn fill(fake: &FakeDiscord, category: u64) {
    for n in 0..fake_discord::CATEGORY_LIMIT {
        fake.add_text_channel(&format!("old-{n}"), Some(category));
    }
}

#[tokio::test]
async fn the_51st_ticket_goes_to_tickets_2_made_with_the_first_category_s_overwrites() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = bot_with(&fake, &[]).await;
    set_up(&fake).await;
    let first = channel_named(&fake, "Tickets").unwrap();
    // The bot starts again on a full category: its cache counts 50 from the first look.
    let (_, nats, _) = bot.stop().await;
    fill(&fake, first);
    let guild = GUILD_ID.to_string();
    let bot = crate::helpers::spawn_bot_with_vars(
        fake.clone(),
        nats,
        &[("DISCORD_GUILD_ID", guild.as_str())],
    )
    .await;

    let ticket = open_ticket(&fake, MEMBER_A_ID).await;

    let second = channel_named(&fake, "Tickets 2").expect("an overflow category");
    assert_eq!(parent(&fake, ticket), second.to_string());
    let creates = channel_creates(&fake);
    assert!(
        creates.iter().all(|c| c.status == 201),
        "no call refused: the cache counted"
    );
    let made = creates
        .iter()
        .find(|c| c.body["name"] == "Tickets 2")
        .unwrap();
    assert_eq!(made.body["type"], 4, "a category");
    let first_overwrites = overwrites(&channel(&fake, first));
    assert!(!first_overwrites.is_empty());
    assert_eq!(overwrites(&made.body), first_overwrites);
    assert_eq!(overwrites(&channel(&fake, second)), first_overwrites);
    let entry = guild_entry(&bot.bot_nats).await;
    assert_eq!(
        entry["category_id"],
        first.to_string(),
        "the first stays first"
    );
    assert_eq!(entry["overflow_category_ids"][0], second.to_string());
    // Another ticket goes to "Tickets 2" too, which has room.
    let other = open_ticket(&fake, crate::fake_discord::MEMBER_B_ID).await;
    assert_eq!(parent(&fake, other), second.to_string());
    assert!(channel_named(&fake, "Tickets 3").is_none());
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_category_full_behind_the_cache_s_back_sends_the_ticket_on_and_tickets_2_goes_once_empty()
{
    let fake = FakeDiscord::start(TOKEN).await;
    let guild = GUILD_ID.to_string();
    let bot = spawn_bot_with_settings(
        fake.clone(),
        crate::helpers::nats(),
        &[
            ("DISCORD_GUILD_ID", guild.as_str()),
            ("TICKET_CLOSE_DELAY_SECS", "0"),
        ],
        |s| s.lifecycle.overflow_quiet = Duration::from_millis(500),
    )
    .await;
    set_up(&fake).await;
    let first = channel_named(&fake, "Tickets").unwrap();
    // Filled while the bot looks: it hears nothing, and its cache says there is room.
    fill(&fake, first);

    let ticket = open_ticket(&fake, MEMBER_A_ID).await;

    let second = channel_named(&fake, "Tickets 2").expect("an overflow category");
    assert_eq!(parent(&fake, ticket), second.to_string());
    let statuses: Vec<u16> = channel_creates(&fake)
        .iter()
        .skip(2)
        .map(|c| c.status)
        .collect();
    assert_eq!(
        statuses,
        [400, 201, 201],
        "refused in Tickets, then Tickets 2 made and the ticket in it"
    );

    // Closed, its channel goes; the empty "Tickets 2" goes after the quiet period.
    let closed = run(&fake, MEMBER_A_ID, close_ticket::NAME, ticket, &[]).await;
    assert!(closed.starts_with("Ticket closed"), "{closed}");
    wait_deleted(&fake, ticket).await;
    wait_deleted(&fake, second).await;
    assert_eq!(
        fake.calls(Method::DELETE, &format!("/channels/{second}"))
            .len(),
        1
    );
    assert!(channel_named(&fake, "Tickets").is_some(), "never the first");
    let entry = eventually(
        "Tickets 2 out of the record",
        Duration::from_secs(10),
        || {
            let nats = bot.bot_nats.clone();
            async move {
                let entry = guild_entry(&nats).await;
                entry["overflow_category_ids"]
                    .as_array()
                    .is_some_and(Vec::is_empty)
                    .then_some(entry)
            }
        },
    )
    .await;
    assert_eq!(entry["category_id"], first.to_string());
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn past_500_channels_the_member_is_told_plainly_and_staff_once_until_there_is_room() {
    let fake = FakeDiscord::start(TOKEN).await;
    let log = fake.add_text_channel("ticket-logs", None);
    let SetUp { nats, .. } = record_set_up(&fake).await;
    let mut fillers = Vec::new();
    while fake.channels().len() < fake_discord::GUILD_CHANNEL_LIMIT {
        let n = fake.channels().len();
        fillers.push(fake.add_text_channel(&format!("chat-{n}"), None));
    }
    let bot = spawn_bot_with_nats(fake.clone(), nats).await;

    for user in [USER_ID, OTHER_USER_ID, USER_ID] {
        let interaction = fake.run_command(create_ticket::NAME, user, false);
        let answer = fake.wait_for_answer(interaction).await;
        assert!(answer.contains("limit of 500 channels"), "{answer}");
        assert!(answer.contains("Ask staff"), "{answer}");
    }

    assert_eq!(fake.channels().len(), fake_discord::GUILD_CHANNEL_LIMIT);
    let told: Vec<String> = fake
        .posted_messages(log)
        .iter()
        .map(|m| m.body["content"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(told, [SERVER_FULL_NOTICE], "staff told once");
    assert!(guild_entry(&bot.bot_nats).await["server_full_told_at"].is_string());

    // Room again: the ticket is made, and a later filling is told again.
    assert!(fake.delete_channel(fillers[0]));
    let interaction = fake.run_command(create_ticket::NAME, USER_ID, false);
    let answer = fake.wait_for_answer(interaction).await;
    assert!(answer.starts_with("Your ticket is ready"), "{answer}");
    assert!(guild_entry(&bot.bot_nats).await["server_full_told_at"].is_null());
    let interaction = fake.run_command(create_ticket::NAME, OTHER_USER_ID, false);
    assert!(fake
        .wait_for_answer(interaction)
        .await
        .contains("limit of 500 channels"));
    assert_eq!(fake.posted_messages(log).len(), 2, "told again");
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn setup_repairs_the_overflow_categories_and_makes_one_again_only_for_its_tickets() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = bot_with(&fake, &[]).await;
    set_up(&fake).await;
    let first = channel_named(&fake, "Tickets").unwrap();
    fill(&fake, first);
    let ticket = open_ticket(&fake, MEMBER_A_ID).await;
    let second = channel_named(&fake, "Tickets 2").unwrap();

    // An overwrite taken off "Tickets 2" by hand, and one added: both put right.
    let support: u64 = fake
        .roles()
        .iter()
        .find(|r| r["name"] == "Support")
        .map(|r| r["id"].as_str().unwrap().parse().unwrap())
        .unwrap();
    fake.server()
        .world()
        .delete_overwrite(second, support)
        .unwrap();
    fake.server()
        .world()
        .set_overwrite(
            second,
            sandbox::model::channel::Overwrite {
                id: MEMBER_A_ID,
                kind: sandbox::model::channel::OverwriteKind::Member,
                allow: 1 << 10,
                deny: 0,
            },
        )
        .unwrap();
    let answer = set_up(&fake).await;
    assert!(
        answer.contains("Repaired 1 overflow ticket category"),
        "{answer}"
    );
    assert_eq!(
        overwrites(&channel(&fake, second)),
        overwrites(&channel(&fake, first))
    );
    assert!(
        !fake.can_see(MEMBER_A_ID, second),
        "the added overwrite is gone"
    );
    assert!(fake.can_see(SUPPORT_ID, ticket));

    // "Tickets 2" deleted with the ticket in it: made again, and the ticket moved in.
    assert!(fake.delete_channel(second));
    let answer = set_up(&fake).await;
    assert!(answer.contains("Repaired 1 open ticket"), "{answer}");
    let again = channel_named(&fake, "Tickets 2").expect("made again");
    assert_ne!(again, second);
    assert_eq!(parent(&fake, ticket), again.to_string());
    assert_eq!(
        overwrites(&channel(&fake, again)),
        overwrites(&channel(&fake, first))
    );
    let entry = guild_entry(&bot.bot_nats).await;
    assert_eq!(
        entry["overflow_category_ids"],
        serde_json::json!([again.to_string()])
    );

    // Deleted once its ticket is closed: nothing needs it, so it is not made again.
    let closed = run(&fake, ADMIN_ID, close_ticket::NAME, ticket, &[]).await;
    assert!(closed.starts_with("Ticket closed"), "{closed}");
    wait_deleted(&fake, ticket).await;
    assert!(fake.delete_channel(again));
    let made_before = channel_creates(&fake).len();
    let answer = set_up(&fake).await;
    assert!(answer.contains("already set up"), "{answer}");
    assert_eq!(channel_creates(&fake).len(), made_before);
    assert!(channel_named(&fake, "Tickets 2").is_none());
    let entry = guild_entry(&bot.bot_nats).await;
    assert_eq!(entry["overflow_category_ids"], serde_json::json!([]));
    // A ticket opened now makes a new overflow category.
    let reopened = open_ticket(&fake, MEMBER_A_ID).await;
    let third = channel_named(&fake, "Tickets 2").unwrap();
    assert_eq!(parent(&fake, reopened), third.to_string());
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_ticket_channel_of_an_overflow_category_is_adopted_like_one_of_tickets() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { nats, .. } = record_set_up(&fake).await;
    let second = fake.add_category("Tickets 2");
    let adopted = fake.add_text_channel(&format!("ticket-{MEMBER_A_ID}"), Some(second));
    {
        let client = common::nats::connect(&nats.settings(), "arrange")
            .await
            .unwrap();
        crate::helpers::wait_connected(&client).await;
        let js = async_nats::jetstream::new(client);
        let store = js.get_key_value("ticket_guilds").await.unwrap();
        let value = store.get(GUILD_ID.to_string()).await.unwrap().unwrap();
        let mut entry: Value = serde_json::from_slice(&value).unwrap();
        entry["overflow_category_ids"] = serde_json::json!([second.to_string()]);
        store
            .put(
                GUILD_ID.to_string(),
                serde_json::to_vec(&entry).unwrap().into(),
            )
            .await
            .unwrap();
    }
    let bot = spawn_bot_with_nats(fake.clone(), nats).await;
    let interaction = fake.run_command(create_ticket::NAME, MEMBER_A_ID, false);
    let answer = fake.wait_for_answer(interaction).await;
    assert!(answer.starts_with("You already have a ticket"), "{answer}");
    assert_eq!(mentioned_channel(&answer), adopted);
    bot.shutdown().await.unwrap();
}
