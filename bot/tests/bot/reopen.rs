//! Reopening a closed ticket (channel mode): the Reopen button under the summary (the owner's
//! DM, staff in `#ticket-logs`) and `/ticket-reopen`; the new channel starts with the link to
//! the archived transcript and its last messages, keeps the ticket ID, re-grants the added
//! members, and the assistant gets the earlier conversation in its history; a second press,
//! an owner with an open ticket, the end of the window and reopening turned off are refused.

use std::sync::Mutex;

use bot::{close_ticket, ticket_members, ticket_reopen};
use common::payload::HistoryRole;
use sandbox::fixtures::CommandOption;
use serde_json::Value;

use crate::{
    channel_creates, content,
    fake_discord::{FakeDiscord, ADMIN_ID, GUILD_ID, MEMBER_A_ID, MEMBER_B_ID},
    helpers::{echo, Seen, TestBot, TOKEN},
    tickets::{
        bot_with, channel_named, mentioned_channel, open_ticket, persona, run, set_up, stored,
        stored_when, wait_deleted,
    },
    wait_for_posts,
};

/// The Reopen button of a message: its custom ID.
pub(crate) fn reopen_button(message: &Value) -> Option<String> {
    message["components"][0]["components"][0]["custom_id"]
        .as_str()
        .filter(|id| id.starts_with(ticket_reopen::BUTTON_PREFIX))
        .map(str::to_owned)
}

pub(crate) fn id(message: &Value) -> u64 {
    message["id"].as_str().unwrap().parse().unwrap()
}

/// Closes `ticket` as `by` and waits until its channel is gone.
async fn close(fake: &FakeDiscord, by: u64, ticket: u64) {
    let closed = run(fake, by, close_ticket::NAME, ticket, &[]).await;
    assert!(closed.starts_with("Ticket closed"), "{closed}");
    wait_deleted(fake, ticket).await;
}

/// The summary of `ticket`'s close in the owner's DMs.
pub(crate) fn summary_in_dm(fake: &FakeDiscord, owner: u64, ticket: u64) -> Value {
    fake.dm_messages(owner)
        .into_iter()
        .find(|m| reopen_button(m) == Some(ticket_reopen::button_id(ticket.into())))
        .unwrap_or_else(|| panic!("the summary of {ticket} with its Reopen button"))
}

/// Presses `button` of `message` as `user`; the answer.
pub(crate) async fn press(fake: &FakeDiscord, user: u64, message: u64, button: &str) -> String {
    let pressed = fake
        .press_button(persona(user), message, button)
        .unwrap_or_else(|err| panic!("{user} presses {button}: {err}"));
    fake.wait_for_answer(pressed).await
}

/// The history the worker was sent with the message `content`: each entry's role and text.
pub(crate) fn history_of(seen: &Mutex<Vec<Seen>>, content: &str) -> Vec<(HistoryRole, String)> {
    let seen = seen.lock().unwrap();
    let request = seen
        .iter()
        .find(|s| s.request.content.as_str() == content)
        .map(|s| &s.request)
        .unwrap_or_else(|| panic!("the request of {content:?}"));
    request
        .history
        .iter()
        .map(|h| (h.role, h.content.as_str().to_owned()))
        .collect()
}

#[tokio::test]
async fn the_owner_reopens_from_the_dm_with_the_transcript_the_ticket_id_the_members_and_the_conversation(
) {
    let fake = FakeDiscord::start(TOKEN).await;
    let mut bot = bot_with(&fake, &[]).await;
    let responder = echo();
    let seen = responder.seen.clone();
    bot.start_worker(responder).await;
    set_up(&fake).await;
    let log = channel_named(&fake, "ticket-logs").unwrap();
    let ticket = open_ticket(&fake, MEMBER_A_ID).await;
    let added = run(
        &fake,
        ADMIN_ID,
        ticket_members::ADD_NAME,
        ticket,
        &[CommandOption::User("member".into(), MEMBER_B_ID)],
    )
    .await;
    assert!(added.contains("can now see"), "{added}");
    fake.send_message(ticket, MEMBER_A_ID, "my printer is on fire");
    // Welcome, the member added, the answer.
    wait_for_posts(&fake, ticket, 3).await;
    close(&fake, MEMBER_A_ID, ticket).await;

    let dm = summary_in_dm(&fake, MEMBER_A_ID, ticket);
    let logged = stored_when(&bot, ticket, |e| e["close"]["log_message_id"].is_string()).await;
    let log_message = logged["close"]["log_message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let in_log = fake
        .messages(log)
        .into_iter()
        .find(|m| m["id"] == log_message.as_str())
        .expect("the summary in ticket-logs");
    assert_eq!(
        reopen_button(&in_log),
        reopen_button(&dm),
        "both carry Reopen"
    );
    let button = reopen_button(&dm).unwrap();

    let answer = press(&fake, MEMBER_A_ID, id(&dm), &button).await;
    assert!(answer.starts_with(ticket_reopen::REOPENED), "{answer}");
    let reopened = mentioned_channel(&answer);
    assert_ne!(reopened, ticket);

    // It opens with the transcript's link and the last messages.
    let first = &fake.messages(reopened)[0];
    let text = first["content"].as_str().unwrap();
    assert!(text.starts_with(ticket_reopen::HEADER), "{text}");
    assert!(
        text.contains(&format!(
            "https://discord.com/channels/{GUILD_ID}/{log}/{log_message}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("/ticket-transcript ticket:{ticket}")),
        "{text}"
    );
    assert!(text.contains(": my printer is on fire"), "{text}");
    assert!(text.contains(": answer to my printer is on fire"), "{text}");
    assert_eq!(
        first["components"][0]["components"][0]["custom_id"],
        close_ticket::CLOSE_BUTTON
    );
    // The same ticket, its members back.
    let entry = stored(&bot, reopened).await.unwrap();
    assert_eq!(entry["status"], "open");
    assert_eq!(entry["owner_id"], MEMBER_A_ID.to_string());
    assert_eq!(entry["ticket_id"], ticket.to_string());
    assert_eq!(entry["reopened_from"], ticket.to_string());
    assert_eq!(entry["reopen_count"], 1);
    let closed = stored(&bot, ticket).await.unwrap();
    assert_eq!(closed["reopened"]["into"], reopened.to_string());
    assert_eq!(closed["reopened"]["by"], MEMBER_A_ID.to_string());
    assert_eq!(
        closed["close"]["members"],
        serde_json::json!([MEMBER_B_ID.to_string()])
    );
    assert!(fake.can_see(MEMBER_A_ID, reopened));
    assert!(
        fake.can_see(MEMBER_B_ID, reopened),
        "the added member again"
    );

    // The assistant is asked with the earlier conversation first.
    fake.send_message(reopened, MEMBER_A_ID, "it is still burning");
    let posts = wait_for_posts(&fake, reopened, 2).await;
    assert_eq!(content(&posts[1]), "answer to it is still burning");
    let history = history_of(&seen, "it is still burning");
    let history: Vec<(HistoryRole, &str)> = history.iter().map(|(r, c)| (*r, c.as_str())).collect();
    let question = history
        .iter()
        .position(|h| *h == (HistoryRole::User, "my printer is on fire"))
        .unwrap_or_else(|| panic!("{history:?}"));
    assert_eq!(
        history[question + 1],
        (HistoryRole::Assistant, "answer to my printer is on fire")
    );
    assert!(
        !history
            .iter()
            .any(|(_, c)| c.starts_with(ticket_reopen::HEADER)),
        "not the quote: {history:?}"
    );

    // Pressed again: nothing new.
    let made = channel_creates(&fake).len();
    let again = press(&fake, MEMBER_A_ID, id(&dm), &button).await;
    assert!(again.contains("reopened already"), "{again}");
    assert!(again.contains(&format!("<#{reopened}>")), "{again}");
    assert_eq!(channel_creates(&fake).len(), made);
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn staff_reopen_from_the_log_or_by_command_within_the_window_and_never_beside_an_open_ticket()
{
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = bot_with(&fake, &[]).await;
    set_up(&fake).await;
    let log = channel_named(&fake, "ticket-logs").unwrap();
    let first = open_ticket(&fake, MEMBER_A_ID).await;
    close(&fake, MEMBER_A_ID, first).await;
    let logged = stored_when(&bot, first, |e| e["close"]["log_message_id"].is_string()).await;
    let summary: u64 = logged["close"]["log_message_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // The owner has an open ticket: the summary's Reopen does nothing.
    let second = open_ticket(&fake, MEMBER_A_ID).await;
    let made = channel_creates(&fake).len();
    let button = ticket_reopen::button_id(first.into());
    let refused = press(&fake, ADMIN_ID, summary, &button).await;
    assert!(
        refused.contains(&format!("already has an open ticket: <#{second}>")),
        "{refused}"
    );
    assert_eq!(channel_creates(&fake).len(), made);
    assert!(stored(&bot, first).await.unwrap()["reopened"].is_null());

    // Members may not use the command; and past the window it is too late.
    let not_staff = reopen_command(&fake, MEMBER_A_ID, second, first.to_string()).await;
    assert_eq!(not_staff, ticket_reopen::NOT_STAFF);
    close(&fake, ADMIN_ID, second).await;
    age(&bot, first, "2020-01-01T00:00:00Z").await;
    let expired = reopen_command(&fake, ADMIN_ID, log, first.to_string()).await;
    assert!(expired.contains("has expired"), "{expired}");
    assert!(expired.contains("72 hours"), "{expired}");

    // Staff reopen the member's latest ticket by naming the member.
    let answer = reopen_command(&fake, ADMIN_ID, log, format!("<@{MEMBER_A_ID}>")).await;
    assert!(answer.starts_with(ticket_reopen::REOPENED), "{answer}");
    let reopened = mentioned_channel(&answer);
    let entry = stored(&bot, reopened).await.unwrap();
    assert_eq!(entry["ticket_id"], second.to_string());
    assert_eq!(entry["reopen_count"], 1);
    let closed = stored(&bot, second).await.unwrap();
    assert_eq!(closed["reopened"]["by"], ADMIN_ID.to_string());
    bot.shutdown().await.unwrap();
}

/// Runs `/ticket-reopen ticket:<target>` as `by` in `channel`; the answer.
async fn reopen_command(fake: &FakeDiscord, by: u64, channel: u64, target: String) -> String {
    let option = CommandOption::String(ticket_reopen::OPTION.into(), target);
    run(fake, by, ticket_reopen::NAME, channel, &[option]).await
}

/// Moves the close of the ticket in `channel` back to `closed_at` (the window's end without
/// waiting for it).
async fn age(bot: &TestBot, channel: u64, closed_at: &str) {
    let js = async_nats::jetstream::new(bot.bot_nats.clone());
    let store = js.get_key_value("tickets").await.unwrap();
    let mut entry = stored(bot, channel).await.unwrap();
    entry["closed_at"] = closed_at.into();
    store
        .put(
            channel.to_string(),
            serde_json::to_vec(&entry).unwrap().into(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_reopened_ticket_closed_again_reopens_with_the_same_ticket_id_and_reopening_can_be_off() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = bot_with(&fake, &[]).await;
    set_up(&fake).await;
    let first = open_ticket(&fake, MEMBER_A_ID).await;
    close(&fake, MEMBER_A_ID, first).await;
    let dm = summary_in_dm(&fake, MEMBER_A_ID, first);
    let answer = press(&fake, MEMBER_A_ID, id(&dm), &reopen_button(&dm).unwrap()).await;
    let second = mentioned_channel(&answer);
    close(&fake, MEMBER_A_ID, second).await;
    let dm = summary_in_dm(&fake, MEMBER_A_ID, second);
    let answer = press(&fake, MEMBER_A_ID, id(&dm), &reopen_button(&dm).unwrap()).await;
    let third = mentioned_channel(&answer);
    let entry = stored(&bot, third).await.unwrap();
    assert_eq!(
        entry["ticket_id"],
        first.to_string(),
        "the first channel's ID"
    );
    assert_eq!(entry["reopened_from"], second.to_string());
    assert_eq!(entry["reopen_count"], 2);
    bot.shutdown().await.unwrap();

    // With TICKET_REOPEN_HOURS=0 the summaries carry no button.
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = bot_with(&fake, &[("TICKET_REOPEN_HOURS", "0")]).await;
    set_up(&fake).await;
    let ticket = open_ticket(&fake, MEMBER_B_ID).await;
    close(&fake, MEMBER_B_ID, ticket).await;
    let dms = fake.dm_messages(MEMBER_B_ID);
    assert_eq!(dms.len(), 1);
    assert!(reopen_button(&dms[0]).is_none(), "{}", dms[0]);
    bot.shutdown().await.unwrap();
}
