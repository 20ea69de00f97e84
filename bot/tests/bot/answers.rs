//! The buttons under the assistant's answers, end to end against the sandbox and a real
//! nats-server: every answer carries Talk to a human and 👍/👎 (an ungrounded one only Talk to
//! a human; a long one on its last piece); Talk to a human pings the Support role once and
//! quiets the assistant until staff write, across a restart too; who may press what; votes
//! stored in `ticket_feedback` and counted in the ticket's entry.

use axum::http::Method;
use bot::{
    answer_buttons::{
        ALREADY_ASKED, DOWN_BUTTON, HUMAN_BUTTON, HUMAN_ON_THE_WAY, NOT_YOURS_TO_ASK,
        ONLY_THE_OWNER_RATES, THANKS, THANKS_CHANGED, UP_BUTTON,
    },
    HANDOFF_MESSAGE,
};
use common::{payload::RelayReply, test_util::eventually};
use relay_worker::Responder;
use sandbox::{Persona, Recorded, PERSONAS};
use serde_json::Value;

use crate::{
    content,
    fake_discord::{FakeDiscord, ADMIN_ID, BOT_ID, GUILD_ID, MEMBER_A_ID, MEMBER_B_ID, SUPPORT_ID},
    helpers::{echo, spawn_bot_with_vars, Replying, TestBot, TOKEN},
    reference_id, set_up, SetUp,
};

/// The question of member A that the tests ask first.
const QUESTION: &str = "where is my order?";

pub fn persona(id: u64) -> &'static Persona {
    PERSONAS.iter().find(|p| p.id == id).expect("a persona")
}

/// The bot's variables: commands in the sandbox's guild, and no quiet period after staff
/// write, so that a member's message after a handoff is answered again at once.
fn vars(guild: &str) -> [(&'static str, &str); 2] {
    [("DISCORD_GUILD_ID", guild), ("HANDOFF_QUIET_MINUTES", "0")]
}

/// A set-up guild with member A's ticket, and the bot answering with `responder`; returns
/// the sandbox, the bot, the ticket and the Support role.
async fn start(responder: impl Responder) -> (FakeDiscord, TestBot, u64, u64) {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp {
        category,
        support,
        nats,
    } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{MEMBER_A_ID}"), Some(category));
    let guild = GUILD_ID.to_string();
    let mut bot = spawn_bot_with_vars(fake.clone(), nats, &vars(&guild)).await;
    bot.start_worker(responder).await;
    (fake, bot, ticket, support)
}

fn posts_in(calls: &[Recorded], channel: u64) -> impl Iterator<Item = &Recorded> {
    let suffix = format!("/channels/{channel}/messages");
    calls
        .iter()
        .filter(move |c| c.method == Method::POST && c.path.ends_with(&suffix))
}

pub fn id_of(message: &Value) -> u64 {
    message["id"]
        .as_str()
        .expect("an id")
        .parse()
        .expect("a snowflake")
}

pub fn button_ids(message: &Value) -> Vec<String> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .map(|button| button["custom_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waits for the bot's answer to message `question` in `channel` and returns its pieces as
/// stored, the reply first.
pub async fn answer_to(fake: &FakeDiscord, channel: u64, question: u64) -> Vec<Value> {
    // The first piece replies to the question; the last one carries the buttons.
    fake.wait_for(&format!("the answer to message {question}"), |calls| {
        let mut after = posts_in(calls, channel).skip_while(|c| reference_id(c) != Some(question));
        after
            .any(|c| {
                c.body["components"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
            })
            .then_some(())
    })
    .await;
    let messages = fake.messages(channel);
    let first = messages
        .iter()
        .position(|m| m["message_reference"]["message_id"] == question.to_string().as_str())
        .expect("the reply");
    let mut pieces = Vec::new();
    for message in &messages[first..] {
        assert_eq!(message["author"]["id"], BOT_ID.to_string().as_str());
        pieces.push(message.clone());
        if !button_ids(message).is_empty() {
            return pieces;
        }
    }
    panic!("no piece of the answer carries buttons: {pieces:?}");
}

/// Sends `question` in `channel` as `author`; returns its ID and the answer's last piece.
pub async fn ask(fake: &FakeDiscord, channel: u64, author: u64, question: &str) -> (u64, Value) {
    let id = fake.send_message(channel, author, question);
    let answer = answer_to(fake, channel, id).await.pop().expect("a piece");
    (id, answer)
}

/// Presses `button` of `message` as `user`; returns what the bot told them, after checking
/// that only they saw it.
pub async fn press(fake: &FakeDiscord, user: u64, message: &Value, button: &str) -> String {
    press_as(fake, persona(user), message, button).await
}

/// [`press`] as any persona.
pub async fn press_as(fake: &FakeDiscord, user: &Persona, message: &Value, button: &str) -> String {
    let interaction = fake
        .press_button(user, id_of(message), button)
        .unwrap_or_else(|err| panic!("{} presses {button}: {err}", user.name));
    let text = fake.wait_for_answer(interaction).await;
    let first = &fake.callbacks(interaction)[0];
    assert_eq!(first.body["data"]["flags"], 64, "ephemeral: {first:?}");
    text
}

/// The bot's pings of the Support team in `channel`.
fn pings(fake: &FakeDiscord, channel: u64) -> Vec<Recorded> {
    posts_in(&fake.requests(), channel)
        .filter(|c| content(c).contains("asked to talk to a human"))
        .cloned()
        .collect()
}

/// Whether the bot posted anything replying to message `id` in `channel`.
fn answered(fake: &FakeDiscord, channel: u64, id: u64) -> bool {
    posts_in(&fake.requests(), channel).any(|c| reference_id(c) == Some(id))
}

/// Staff write in `channel`; returns once the bot announced the handoff. The bot takes a
/// channel's messages in order, so every message sent before has been decided by then.
pub async fn staff_write(fake: &FakeDiscord, channel: u64, text: &str) {
    let before = handoffs(&fake.requests(), channel);
    fake.send_message(channel, SUPPORT_ID, text);
    fake.wait_for("the handoff notice", |calls| {
        (handoffs(calls, channel) > before).then_some(())
    })
    .await;
}

fn handoffs(calls: &[Recorded], channel: u64) -> usize {
    posts_in(calls, channel)
        .filter(|c| content(c) == HANDOFF_MESSAGE)
        .count()
}

/// The value of `key` in the bot's key-value bucket `bucket`.
pub async fn stored(bot: &TestBot, bucket: &str, key: u64) -> Option<Value> {
    stored_in(&bot.bot_nats, bucket, key).await
}

/// The value of `key` in the key-value bucket `bucket`, read over `nats`.
pub async fn stored_in(nats: &async_nats::Client, bucket: &str, key: u64) -> Option<Value> {
    let js = async_nats::jetstream::new(nats.clone());
    let store = js.get_key_value(bucket).await.expect("the bucket");
    let value = store.get(key.to_string()).await.expect("a read")?;
    Some(serde_json::from_slice(&value).expect("JSON"))
}

/// Waits until the ticket's entry satisfies `check`; returns it.
pub async fn ticket_entry_when(
    bot: &TestBot,
    ticket: u64,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(what, std::time::Duration::from_secs(10), || async {
        stored(bot, "tickets", ticket).await.filter(&check)
    })
    .await
}

#[tokio::test]
async fn every_answer_carries_talk_to_a_human_and_the_votes_on_its_last_piece() {
    let long = |content: &str| format!("{content}: {}", "lorem ipsum dolor ".repeat(150));
    let (fake, bot, ticket, _) = start(Replying(move |content: &str| {
        if content.starts_with("long") {
            RelayReply::new(long(content))
        } else {
            RelayReply::grounded(
                format!("answer to {content}"),
                vec!["faq.md › Orders".into()],
            )
        }
    }))
    .await;

    let (_, answer) = ask(&fake, ticket, MEMBER_A_ID, QUESTION).await;
    assert_eq!(answer["content"], "answer to where is my order?");
    assert_eq!(button_ids(&answer), [HUMAN_BUTTON, UP_BUTTON, DOWN_BUTTON]);
    let labels: Vec<&str> = answer["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Talk to a human", "Helpful", "Not helpful"]);

    let question = fake.send_message(ticket, MEMBER_A_ID, "long question");
    let pieces = answer_to(&fake, ticket, question).await;
    assert_eq!(pieces.len(), 2, "a 2,700-character answer is two pieces");
    assert!(
        button_ids(&pieces[0]).is_empty(),
        "the reply has no buttons"
    );
    assert_eq!(
        button_ids(&pieces[1]),
        [HUMAN_BUTTON, UP_BUTTON, DOWN_BUTTON]
    );
    let whole = pieces
        .iter()
        .map(|p| p["content"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        whole.split_whitespace().collect::<Vec<_>>(),
        long("long question").split_whitespace().collect::<Vec<_>>()
    );
    let entry =
        ticket_entry_when(&bot, ticket, "both answers counted", |e| e["answers"] == 2).await;
    assert!(entry["first_answer_at"].is_string(), "{entry}");
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_ungrounded_answer_offers_only_talk_to_a_human() {
    let (fake, bot, ticket, _) = start(Replying(|_: &str| {
        RelayReply::ungrounded("The documents don't cover this; a member of staff will follow up.")
    }))
    .await;
    let (_, answer) = ask(&fake, ticket, MEMBER_A_ID, "how do I fly?").await;
    assert_eq!(button_ids(&answer), [HUMAN_BUTTON]);
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn talk_to_a_human_pings_support_once_and_the_assistant_waits_for_staff() {
    let responder = echo();
    let seen = std::sync::Arc::clone(&responder.seen);
    let (fake, bot, ticket, support) = start(responder).await;
    let (_, answer) = ask(&fake, ticket, MEMBER_A_ID, QUESTION).await;

    // Another member may not; the owner may, once.
    assert_eq!(
        press(&fake, MEMBER_B_ID, &answer, HUMAN_BUTTON).await,
        NOT_YOURS_TO_ASK
    );
    assert!(pings(&fake, ticket).is_empty());
    assert_eq!(
        press(&fake, MEMBER_A_ID, &answer, HUMAN_BUTTON).await,
        HUMAN_ON_THE_WAY
    );
    assert_eq!(
        press(&fake, MEMBER_A_ID, &answer, HUMAN_BUTTON).await,
        ALREADY_ASKED
    );
    let pings = pings(&fake, ticket);
    assert_eq!(pings.len(), 1, "pinged once: {pings:?}");
    assert_eq!(
        content(&pings[0]),
        format!(
            "<@&{support}> <@{MEMBER_A_ID}> asked to talk to a human. Their question: \"{QUESTION}\""
        )
    );
    let mentions = &pings[0].body["allowed_mentions"];
    assert_eq!(mentions["roles"], serde_json::json!([support.to_string()]));
    assert_eq!(mentions["parse"], serde_json::json!([]));
    assert!(
        mentions
            .get("users")
            .is_none_or(|u| u == &serde_json::json!([])),
        "{mentions}"
    );
    let entry = stored(&bot, "tickets", ticket).await.unwrap();
    assert_eq!(entry["awaiting_staff"], true);
    assert!(entry["human_requested_at"].is_string());

    // Quiet until staff write: the member's next message is left to them...
    let waiting = fake.send_message(ticket, MEMBER_A_ID, "anyone there?");
    staff_write(&fake, ticket, "Sam from support, looking now").await;
    assert!(!answered(&fake, ticket, waiting), "left to staff");
    let entry = ticket_entry_when(&bot, ticket, "the staff reply recorded", |e| {
        e["awaiting_staff"] == false
    })
    .await;
    assert!(entry["staff_replied_at"].is_string(), "{entry}");
    assert!(
        entry["human_requested_at"].is_string(),
        "kept for the figures"
    );
    // ...then the normal handoff applies (here with no quiet period: answered again).
    let (_, again) = ask(&fake, ticket, MEMBER_A_ID, "one more thing").await;
    assert_eq!(again["content"], "answer to one more thing");
    let history: Vec<(String, String)> = seen
        .lock()
        .unwrap()
        .last()
        .unwrap()
        .request
        .history
        .iter()
        .map(|e| (e.role.as_str().to_owned(), e.content.as_str().to_owned()))
        .collect();
    assert!(
        history.contains(&("staff".into(), "Sam from support, looking now".into())),
        "{history:?}"
    );
    assert!(
        !history
            .iter()
            .any(|(_, text)| text.contains("asked to talk to a human")),
        "the ping is no part of the conversation: {history:?}"
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_request_for_a_human_survives_a_restart() {
    let (fake, bot, ticket, _) = start(echo()).await;
    let (_, answer) = ask(&fake, ticket, MEMBER_A_ID, QUESTION).await;
    assert_eq!(
        press(&fake, MEMBER_A_ID, &answer, HUMAN_BUTTON).await,
        HUMAN_ON_THE_WAY
    );

    let (stopped, nats, _) = bot.stop().await;
    stopped.unwrap();
    let guild = GUILD_ID.to_string();
    let mut bot = spawn_bot_with_vars(fake.clone(), nats, &vars(&guild)).await;
    bot.start_worker(echo()).await;

    assert_eq!(
        press(&fake, MEMBER_A_ID, &answer, HUMAN_BUTTON).await,
        ALREADY_ASKED,
        "still asked"
    );
    let waiting = fake.send_message(ticket, MEMBER_A_ID, "hello?");
    staff_write(&fake, ticket, "here now").await;
    assert!(
        !answered(&fake, ticket, waiting),
        "still quiet after the restart"
    );
    assert_eq!(pings(&fake, ticket).len(), 1);
    let (_, again) = ask(&fake, ticket, MEMBER_A_ID, "thanks, one more").await;
    assert_eq!(again["content"], "answer to thanks, one more");
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn after_a_restart_a_press_on_an_older_long_answer_still_quotes_its_question() {
    let (fake, bot, ticket, support) = start(Replying(|content: &str| RelayReply {
        source: Some("llm".to_owned()),
        ..RelayReply::new(format!("{content} {}", "word ".repeat(500)))
    }))
    .await;
    let question = "x".repeat(150) + " " + &"y".repeat(150);
    let (_, answer) = ask(&fake, ticket, MEMBER_A_ID, &question).await;
    assert!(answer["message_reference"].is_null(), "a later piece");

    let (stopped, nats, _) = bot.stop().await;
    stopped.unwrap();
    let guild = GUILD_ID.to_string();
    let bot = spawn_bot_with_vars(fake.clone(), nats, &vars(&guild)).await;

    // Staff may ask too; the question is read back from the channel, cut to 200 characters.
    assert_eq!(
        press(&fake, ADMIN_ID, &answer, HUMAN_BUTTON).await,
        HUMAN_ON_THE_WAY
    );
    let quoted = format!("{} {}…", "x".repeat(150), "y".repeat(48));
    assert_eq!(
        content(&pings(&fake, ticket)[0]),
        format!(
            "<@&{support}> <@{ADMIN_ID}> asked to talk to a human. Their question: \"{quoted}\""
        )
    );
    // The vote is stored; which source wrote the answer was known to the bot before only.
    assert_eq!(press(&fake, MEMBER_A_ID, &answer, UP_BUTTON).await, THANKS);
    let vote = stored(&bot, "ticket_feedback", id_of(&answer))
        .await
        .unwrap();
    assert_eq!(vote["source"], Value::Null);
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn votes_are_stored_per_answer_replaced_not_doubled_and_only_the_owner_votes() {
    let (fake, bot, ticket, _) = start(Replying(|content: &str| RelayReply {
        source: Some("knowledge".to_owned()),
        ..RelayReply::grounded(
            format!("answer to {content}"),
            vec!["faq.md › Orders".into()],
        )
    }))
    .await;
    let (_, first) = ask(&fake, ticket, MEMBER_A_ID, QUESTION).await;
    let counts = |e: &Value| (e["feedback_up"].clone(), e["feedback_down"].clone());

    assert_eq!(press(&fake, MEMBER_A_ID, &first, UP_BUTTON).await, THANKS);
    let vote = stored(&bot, "ticket_feedback", id_of(&first))
        .await
        .unwrap();
    assert_eq!(
        vote,
        serde_json::json!({
            "guild_id": GUILD_ID.to_string(), "channel_id": ticket.to_string(),
            "answer_message_id": id_of(&first).to_string(), "source": "knowledge",
            "vote": "up", "user_id": MEMBER_A_ID.to_string(), "at": vote["at"],
        })
    );
    assert!(vote["at"].is_string());
    let entry = stored(&bot, "tickets", ticket).await.unwrap();
    assert_eq!(counts(&entry), (1.into(), 0.into()));

    assert_eq!(press(&fake, MEMBER_A_ID, &first, UP_BUTTON).await, THANKS);
    let entry = stored(&bot, "tickets", ticket).await.unwrap();
    assert_eq!(
        counts(&entry),
        (1.into(), 0.into()),
        "the same vote is not counted twice"
    );

    assert_eq!(
        press(&fake, MEMBER_A_ID, &first, DOWN_BUTTON).await,
        THANKS_CHANGED
    );
    let entry = stored(&bot, "tickets", ticket).await.unwrap();
    assert_eq!(counts(&entry), (0.into(), 1.into()), "moved, not added");
    let vote = stored(&bot, "ticket_feedback", id_of(&first))
        .await
        .unwrap();
    assert_eq!(vote["vote"], "down");

    for other in [MEMBER_B_ID, ADMIN_ID] {
        assert_eq!(
            press(&fake, other, &first, UP_BUTTON).await,
            ONLY_THE_OWNER_RATES
        );
    }
    let (_, second) = ask(&fake, ticket, MEMBER_A_ID, "and the invoice?").await;
    assert_eq!(press(&fake, MEMBER_A_ID, &second, UP_BUTTON).await, THANKS);
    let entry = ticket_entry_when(&bot, ticket, "two answers counted", |e| e["answers"] == 2).await;
    assert_eq!(counts(&entry), (1.into(), 1.into()));
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}
