//! The ticket lifecycle against the sandbox and a real nats-server with JetStream: who may
//! close, the transcript (files, log post, DM), deletion and the registry's record, the panel's
//! button, members added and removed, the registry instead of channel names, auto-close (also
//! across a restart), and `/setup`'s repairs.

use std::time::Duration;

use axum::http::Method;
use bot::{close_ticket, create_ticket, setup, ticket_members, ticket_panel};
use common::test_util::eventually;
use sandbox::{fixtures::CommandOption, Persona, PERSONAS};
use serde_json::Value;

use crate::{
    channel_creates, content,
    fake_discord::{FakeDiscord, ADMIN_ID, MEMBER_A_ID, MEMBER_B_ID, SUPPORT_ID},
    helpers::{self, echo, spawn_bot_with_nats, spawn_bot_with_vars, TestBot, TOKEN},
    wait_for_posts, MEMBER,
};

pub(crate) fn persona(id: u64) -> &'static Persona {
    PERSONAS.iter().find(|p| p.id == id).unwrap()
}

/// A bot whose closed channels go after one second.
pub(crate) async fn bot_with(fake: &FakeDiscord, vars: &[(&str, &str)]) -> TestBot {
    let guild = crate::fake_discord::GUILD_ID.to_string();
    let mut all = vec![
        ("DISCORD_GUILD_ID", guild.as_str()),
        ("TICKET_CLOSE_DELAY_SECS", "1"),
    ];
    all.extend_from_slice(vars);
    spawn_bot_with_vars(fake.clone(), helpers::nats(), &all).await
}

/// Runs `/setup` as the administrator; returns the answer.
pub(crate) async fn set_up(fake: &FakeDiscord) -> String {
    let id = fake.run_command(setup::NAME, ADMIN_ID, true);
    fake.wait_for_answer(id).await
}

pub(crate) fn channel_named(fake: &FakeDiscord, name: &str) -> Option<u64> {
    fake.channels()
        .iter()
        .find(|c| c["name"] == name)
        .map(|c| c["id"].as_str().unwrap().parse().unwrap())
}

/// The channel in an answer's `<#id>`.
pub(crate) fn mentioned_channel(answer: &str) -> u64 {
    let start = answer.find("<#").expect("a channel mention") + 2;
    let end = start + answer[start..].find('>').unwrap();
    answer[start..end].parse().unwrap()
}

/// Opens a ticket for `user` with `/create-ticket`; returns its channel.
pub(crate) async fn open_ticket(fake: &FakeDiscord, user: u64) -> u64 {
    let id = fake.run_command(create_ticket::NAME, user, false);
    let answer = fake.wait_for_answer(id).await;
    assert!(answer.starts_with("Your ticket is ready"), "{answer}");
    mentioned_channel(&answer)
}

pub(crate) async fn run(
    fake: &FakeDiscord,
    user: u64,
    name: &str,
    channel: u64,
    options: &[CommandOption],
) -> String {
    let id = fake
        .run_command_with(persona(user), name, channel, options)
        .unwrap_or_else(|err| panic!("{name} as {user}: {err}"));
    fake.wait_for_answer(id).await
}

/// The registry's record of a ticket, read with a plain NATS client.
pub(crate) async fn stored(bot: &TestBot, channel: u64) -> Option<Value> {
    let js = async_nats::jetstream::new(bot.bot_nats.clone());
    let store = js.get_key_value("tickets").await.unwrap();
    let value = store.get(channel.to_string()).await.unwrap()?;
    Some(serde_json::from_slice(&value).unwrap())
}

/// Waits until the registry holds `channel`'s entry as `ready` wants it: some fields are
/// written after the act they record (`deleted` once Discord has deleted the channel).
pub(crate) async fn stored_when(
    bot: &TestBot,
    channel: u64,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    common::test_util::eventually("the registry's entry", Duration::from_secs(10), || {
        let entry = stored(bot, channel);
        let ready = &ready;
        async move { entry.await.filter(|e| ready(e)) }
    })
    .await
}

/// The entry of a closed ticket once its channel is gone and the deletion is recorded.
pub(crate) async fn stored_deleted(bot: &TestBot, fake: &FakeDiscord, channel: u64) -> Value {
    wait_deleted(fake, channel).await;
    stored_when(bot, channel, |e| e["status"] == "deleted").await
}

/// An object of the transcript archive, read with a plain NATS client.
pub(crate) async fn archived(bot: &TestBot, name: &str) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let js = async_nats::jetstream::new(bot.bot_nats.clone());
    let store = js.get_object_store("ticket_transcripts").await.ok()?;
    let mut object = store.get(name).await.ok()?;
    let mut bytes = Vec::new();
    object.read_to_end(&mut bytes).await.ok()?;
    Some(bytes)
}

pub(crate) async fn wait_deleted(fake: &FakeDiscord, channel: u64) {
    eventually(
        "the ticket channel deleted",
        Duration::from_secs(15),
        || {
            let gone = !fake
                .channels()
                .iter()
                .any(|c| c["id"].as_str() == Some(&*channel.to_string()));
            async move { gone.then_some(()) }
        },
    )
    .await;
}

/// The transcripts posted in `log` (the commands run there leave their answers too).
pub(crate) fn transcripts(fake: &FakeDiscord, log: u64) -> Vec<Value> {
    fake.messages(log)
        .into_iter()
        .filter(|m| m["attachments"].as_array().is_some_and(|a| !a.is_empty()))
        .collect()
}

/// Calls of `method` whose path contains `part`.
fn calls_with(fake: &FakeDiscord, method: Method, part: &str) -> Vec<sandbox::Recorded> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.contains(part))
        .collect()
}

pub(crate) fn attachments(message: &Value) -> Vec<(String, String)> {
    message["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["filename"].as_str().unwrap().to_owned(),
                a["url"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_owner_closes_with_a_transcript_in_the_logs_and_by_dm_then_opens_a_new_ticket() {
    let fake = FakeDiscord::start(TOKEN).await;
    let mut bot = bot_with(&fake, &[]).await;
    bot.start_worker(echo()).await;
    assert!(set_up(&fake).await.contains("#ticket-logs"));
    let log = channel_named(&fake, "ticket-logs").unwrap();
    let ticket = open_ticket(&fake, MEMBER_A_ID).await;

    let screen = fake.host_file("screen.png", "image/png", b"not really a PNG".to_vec());
    let (screen_id, screen_url) = (screen.id, screen.url.clone());
    fake.send(
        sandbox::fixtures::MessageSpec::human(ticket, MEMBER_A_ID, "first <question>")
            .with_attachment(screen),
    );
    wait_for_posts(&fake, ticket, 2).await;
    fake.send_message(ticket, MEMBER_A_ID, "second question");
    wait_for_posts(&fake, ticket, 3).await;

    let answer = run(
        &fake,
        MEMBER_A_ID,
        close_ticket::NAME,
        ticket,
        &[CommandOption::String(
            "reason".into(),
            "solved, thanks".into(),
        )],
    )
    .await;
    assert!(answer.starts_with("Ticket closed"), "{answer}");
    assert!(answer.contains(&format!("<#{log}>")), "{answer}");

    // The log post: the summary and both files.
    let logged = eventually(
        "the transcript in ticket-logs",
        Duration::from_secs(10),
        || {
            let m = transcripts(&fake, log);
            async move { m.into_iter().next() }
        },
    )
    .await;
    let summary = logged["content"].as_str().unwrap();
    assert!(
        summary.contains(&format!("**Owner:** <@{MEMBER_A_ID}>")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("by <@{MEMBER_A_ID}>")),
        "{summary}"
    );
    assert!(summary.contains("**Reason:** solved, thanks"), "{summary}");
    // Welcome, two questions, two answers.
    assert!(summary.contains("**Messages:** 5"), "{summary}");
    let files = attachments(&logged);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            format!("transcript-{ticket}.txt"),
            format!("transcript-{ticket}.html")
        ]
    );
    let text = String::from_utf8(fake.attachment_bytes(&files[0].1).unwrap()).unwrap();
    let attachment_line = format!(
        "[attachment] screen.png (16 bytes) archived as attachments/{screen_id}-screen.png"
    );
    let order = [
        "Welcome <@",
        "first <question>",
        attachment_line.as_str(),
        "answer to first <question>",
        "second question",
        "answer to second question",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|needle| {
            text.find(*needle)
                .unwrap_or_else(|| panic!("{needle:?} in\n{text}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "in order:\n{text}"
    );
    let html = String::from_utf8(fake.attachment_bytes(&files[1].1).unwrap()).unwrap();
    assert!(html.contains("first &lt;question&gt;"), "{html}");
    assert!(html.contains(&format!(
        "<a href=\"attachments/{screen_id}-screen.png\">screen.png</a>"
    )));
    assert!(!html.contains(&screen_url), "no link to Discord's CDN");
    // The archive holds the transcript as posted, and the file's bytes.
    assert_eq!(
        archived(&bot, &format!("{ticket}/transcript.txt"))
            .await
            .unwrap(),
        text.as_bytes()
    );
    assert_eq!(
        archived(
            &bot,
            &format!("{ticket}/attachments/{screen_id}-screen.png")
        )
        .await
        .unwrap(),
        b"not really a PNG"
    );

    // The DM: the same files.
    let dms = fake.dm_messages(MEMBER_A_ID);
    assert_eq!(dms.len(), 1, "{dms:?}");
    assert_eq!(attachments(&dms[0]).len(), 2);
    assert!(dms[0]["content"].as_str().unwrap().contains("was closed"));

    // The channel goes, and the registry keeps the record.
    let record = stored_deleted(&bot, &fake, ticket).await;
    assert_eq!(record["closed_by"], MEMBER_A_ID.to_string());
    assert_eq!(record["owner_id"], MEMBER_A_ID.to_string());
    assert_eq!(record["reason"], "solved, thanks");

    // A new ticket afterwards.
    let again = open_ticket(&fake, MEMBER_A_ID).await;
    assert_ne!(again, ticket);
    assert_eq!(stored(&bot, again).await.unwrap()["status"], "open");
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn support_and_administrators_may_close_others_may_not_and_dms_closed_is_reported() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = bot_with(&fake, &[]).await;
    set_up(&fake).await;
    let log = channel_named(&fake, "ticket-logs").unwrap();
    let first = open_ticket(&fake, MEMBER_A_ID).await;
    let second = open_ticket(&fake, MEMBER_B_ID).await;

    // Member B, added to A's ticket, may write there but not close it.
    let added = run(
        &fake,
        SUPPORT_ID,
        ticket_members::ADD_NAME,
        first,
        &[CommandOption::User("member".into(), MEMBER_B_ID)],
    )
    .await;
    assert!(added.contains("can now see"), "{added}");
    let refused = run(&fake, MEMBER_B_ID, close_ticket::NAME, first, &[]).await;
    assert_eq!(refused, close_ticket::NOT_ALLOWED);
    assert_eq!(stored(&bot, first).await.unwrap()["status"], "open");
    // Outside a ticket.
    let elsewhere = run(&fake, ADMIN_ID, close_ticket::NAME, log, &[]).await;
    assert_eq!(elsewhere, close_ticket::NOT_A_TICKET);

    // Support closes A's ticket; A accepts no DMs, which the answer says.
    fake.close_dms(MEMBER_A_ID);
    let closed = run(&fake, SUPPORT_ID, close_ticket::NAME, first, &[]).await;
    assert!(closed.starts_with("Ticket closed"), "{closed}");
    assert!(closed.contains("could not be sent"), "{closed}");
    assert!(fake.dm_messages(MEMBER_A_ID).is_empty());
    assert_eq!(
        stored(&bot, first).await.unwrap()["closed_by"],
        SUPPORT_ID.to_string()
    );

    // An administrator closes B's.
    let closed = run(&fake, ADMIN_ID, close_ticket::NAME, second, &[]).await;
    assert!(closed.starts_with("Ticket closed"), "{closed}");
    assert_eq!(
        stored(&bot, second).await.unwrap()["closed_by"],
        ADMIN_ID.to_string()
    );
    wait_deleted(&fake, first).await;
    wait_deleted(&fake, second).await;
    assert_eq!(transcripts(&fake, log).len(), 2, "two transcripts logged");
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_close_button_asks_first_then_closes() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = bot_with(&fake, &[]).await;
    set_up(&fake).await;
    let ticket = open_ticket(&fake, MEMBER_A_ID).await;
    let welcome = &fake.messages(ticket)[0];
    assert_eq!(
        welcome["components"][0]["components"][0]["custom_id"],
        close_ticket::CLOSE_BUTTON
    );
    let welcome_id: u64 = welcome["id"].as_str().unwrap().parse().unwrap();

    let press = fake
        .press_button(persona(MEMBER_A_ID), welcome_id, close_ticket::CLOSE_BUTTON)
        .unwrap();
    let question = fake.wait_for_answer(press).await;
    assert_eq!(question, close_ticket::CONFIRM_QUESTION);
    let callback = &fake.callbacks(press)[0];
    assert_eq!(
        callback.body["data"]["flags"], 64,
        "only the presser sees it"
    );
    assert_eq!(
        stored(&bot, ticket).await.unwrap()["status"],
        "open",
        "not yet"
    );

    let confirm_message: u64 = fake
        .messages(ticket)
        .iter()
        .find(|m| m["content"] == close_ticket::CONFIRM_QUESTION)
        .map(|m| m["id"].as_str().unwrap().parse().unwrap())
        .unwrap();
    let confirm = fake
        .press_button(
            persona(MEMBER_A_ID),
            confirm_message,
            close_ticket::CLOSE_CONFIRM_BUTTON,
        )
        .unwrap();
    let answer = fake.wait_for_answer(confirm).await;
    assert!(answer.starts_with("Ticket closed"), "{answer}");
    stored_deleted(&bot, &fake, ticket).await;
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_panel_button_opens_one_ticket_even_when_pressed_twice() {
    let fake = FakeDiscord::start(TOKEN).await;
    let general = fake.add_text_channel("general", None);
    let bot = bot_with(&fake, &[]).await;
    set_up(&fake).await;

    // Members do not even see the command: Discord hides it by its default permissions.
    assert!(fake
        .run_command_with(persona(MEMBER_A_ID), ticket_panel::NAME, general, &[])
        .is_err());
    let answer = run(&fake, ADMIN_ID, ticket_panel::NAME, general, &[]).await;
    assert!(answer.starts_with("Panel posted"), "{answer}");
    let panel = fake.messages(general).into_iter().last().unwrap();
    assert_eq!(panel["content"], ticket_panel::PANEL_TEXT);
    assert_eq!(
        panel["components"][0]["components"][0]["custom_id"],
        ticket_panel::OPEN_BUTTON
    );
    let panel_id: u64 = panel["id"].as_str().unwrap().parse().unwrap();

    let first = fake
        .press_button(persona(MEMBER_A_ID), panel_id, ticket_panel::OPEN_BUTTON)
        .unwrap();
    let second = fake
        .press_button(persona(MEMBER_A_ID), panel_id, ticket_panel::OPEN_BUTTON)
        .unwrap();
    let answers = [
        fake.wait_for_answer(first).await,
        fake.wait_for_answer(second).await,
    ];
    let mut sorted = answers.clone();
    sorted.sort();
    assert!(
        sorted[0].starts_with("You already have a ticket"),
        "{answers:?}"
    );
    assert!(sorted[1].starts_with("Your ticket is ready"), "{answers:?}");
    assert_eq!(
        mentioned_channel(&answers[0]),
        mentioned_channel(&answers[1])
    );
    let tickets: Vec<_> = channel_creates(&fake)
        .into_iter()
        .filter(|c| c.body["name"] == format!("ticket-{MEMBER_A_ID}"))
        .collect();
    assert_eq!(tickets.len(), 1, "one ticket for two presses");
    for press in [first, second] {
        assert_eq!(
            fake.callbacks(press)[0].body["data"]["flags"],
            64,
            "ephemeral"
        );
    }
    // The panel is on record in the guild's entry.
    let js = async_nats::jetstream::new(bot.bot_nats.clone());
    let guilds = js.get_key_value("ticket_guilds").await.unwrap();
    let entry: Value = serde_json::from_slice(
        &guilds
            .get(crate::fake_discord::GUILD_ID.to_string())
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        entry["panel_messages"][0]["message_id"],
        panel_id.to_string()
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn ticket_add_and_remove_change_exactly_one_member_overwrite() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = bot_with(&fake, &[]).await;
    set_up(&fake).await;
    let ticket = open_ticket(&fake, MEMBER_A_ID).await;
    assert!(!fake.can_see(MEMBER_B_ID, ticket));

    // The owner is not staff.
    let refused = run(
        &fake,
        MEMBER_A_ID,
        ticket_members::ADD_NAME,
        ticket,
        &[CommandOption::User("member".into(), MEMBER_B_ID)],
    )
    .await;
    assert_eq!(refused, ticket_members::NOT_STAFF);
    assert!(calls_with(&fake, Method::PUT, "/permissions/").is_empty());

    run(
        &fake,
        SUPPORT_ID,
        ticket_members::ADD_NAME,
        ticket,
        &[CommandOption::User("member".into(), MEMBER_B_ID)],
    )
    .await;
    let puts = calls_with(&fake, Method::PUT, "/permissions/");
    assert_eq!(puts.len(), 1);
    assert!(puts[0]
        .path
        .ends_with(&format!("/channels/{ticket}/permissions/{MEMBER_B_ID}")));
    assert_eq!(puts[0].body["type"], 1, "a member overwrite");
    assert_eq!(helpers::permission_bits(&puts[0].body["allow"]), MEMBER);
    assert_eq!(helpers::permission_bits(&puts[0].body["deny"]), 0);
    assert!(fake.can_see(MEMBER_B_ID, ticket));

    let removed = run(
        &fake,
        ADMIN_ID,
        ticket_members::REMOVE_NAME,
        ticket,
        &[CommandOption::User("member".into(), MEMBER_B_ID)],
    )
    .await;
    assert!(removed.contains("no longer has access"), "{removed}");
    let deletes = calls_with(&fake, Method::DELETE, "/permissions/");
    assert_eq!(deletes.len(), 1);
    assert!(deletes[0]
        .path
        .ends_with(&format!("/channels/{ticket}/permissions/{MEMBER_B_ID}")));
    assert!(!fake.can_see(MEMBER_B_ID, ticket));
    // The owner stays.
    let owner = run(
        &fake,
        SUPPORT_ID,
        ticket_members::REMOVE_NAME,
        ticket,
        &[CommandOption::User("member".into(), MEMBER_A_ID)],
    )
    .await;
    assert!(owner.contains("owner"), "{owner}");
    assert_eq!(calls_with(&fake, Method::DELETE, "/permissions/").len(), 1);
    assert!(fake.can_see(MEMBER_A_ID, ticket));
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn only_registered_tickets_are_answered_and_old_ones_are_adopted_and_survive_a_restart() {
    let fake = FakeDiscord::start(TOKEN).await;
    let crate::SetUp { category, nats, .. } = crate::set_up(&fake).await;
    // From before the registry: adopted. Named like tickets but public or elsewhere: ignored.
    let old = fake.add_text_channel(&format!("ticket-{MEMBER_A_ID}"), Some(category));
    let info = fake.add_text_channel("ticket-info", None);
    let stray = fake.add_text_channel(&format!("ticket-{MEMBER_B_ID}"), None);
    let mut bot = spawn_bot_with_nats(fake.clone(), nats).await;
    bot.start_worker(echo()).await;

    fake.send_message(info, MEMBER_B_ID, "is this a ticket?");
    fake.send_message(stray, MEMBER_B_ID, "and this?");
    fake.send_message(old, MEMBER_A_ID, "still there?");
    let posts = wait_for_posts(&fake, old, 1).await;
    assert_eq!(content(&posts[0]), "answer to still there?");
    let record = stored(&bot, old).await.unwrap();
    assert_eq!(record["owner_id"], MEMBER_A_ID.to_string());
    assert_eq!(record["status"], "open");
    assert!(stored(&bot, info).await.is_none());
    assert!(stored(&bot, stray).await.is_none());

    // A restart: the registry is in JetStream, not in the bot.
    let (result, nats, _) = bot.stop().await;
    result.unwrap();
    let mut bot = spawn_bot_with_nats(fake.clone(), nats).await;
    bot.start_worker(echo()).await;
    fake.send_message(old, MEMBER_A_ID, "after the restart");
    let posts = wait_for_posts(&fake, old, 2).await;
    assert_eq!(content(&posts[1]), "answer to after the restart");
    for ignored in [info, stray] {
        let posts = fake.calls(Method::POST, &format!("/channels/{ignored}/messages"));
        assert!(posts.is_empty(), "never answered: {posts:?}");
    }
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn idle_tickets_are_warned_then_closed_unless_someone_writes_also_across_a_restart() {
    let fake = FakeDiscord::start(TOKEN).await;
    // 0.0005 h = 1.8 s idle, then 1.8 s of grace.
    let vars = [
        ("TICKET_AUTO_CLOSE_HOURS", "0.0005"),
        ("TICKET_AUTO_CLOSE_GRACE_HOURS", "0.0005"),
    ];
    let mut bot = bot_with(&fake, &vars).await;
    bot.start_worker(echo()).await;
    set_up(&fake).await;
    let log = channel_named(&fake, "ticket-logs").unwrap();
    let quiet = open_ticket(&fake, MEMBER_A_ID).await;
    let busy = open_ticket(&fake, MEMBER_B_ID).await;

    let warned = |channel: u64| {
        let fake = fake.clone();
        async move {
            eventually("the idle warning", Duration::from_secs(15), || {
                let found = fake
                    .messages(channel)
                    .into_iter()
                    .find(|m| m["content"].as_str().unwrap_or("").contains("no activity"));
                async move { found }
            })
            .await
        }
    };
    let warning = warned(busy).await;
    assert!(warning["content"]
        .as_str()
        .unwrap()
        .contains(&format!("<@{MEMBER_B_ID}>")));
    // Someone writes in the busy one: its warning is withdrawn.
    fake.send_message(busy, MEMBER_B_ID, "I'm still here");
    eventually("the warning cleared", Duration::from_secs(10), || {
        let bot = &bot;
        async move {
            let record = stored(bot, busy).await?;
            record["warned_at"].is_null().then_some(())
        }
    })
    .await;

    // The bot stops after the quiet ticket's warning and comes back after its grace ended:
    // the stored warning time, not a timer, closes it.
    warned(quiet).await;
    let (result, nats, _) = bot.stop().await;
    result.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(fake
        .channels()
        .iter()
        .any(|c| c["id"].as_str() == Some(&*quiet.to_string())));
    let guild = crate::fake_discord::GUILD_ID.to_string();
    let mut all = vec![
        ("DISCORD_GUILD_ID", guild.as_str()),
        ("TICKET_CLOSE_DELAY_SECS", "1"),
    ];
    all.extend_from_slice(&vars);
    let bot = spawn_bot_with_vars(fake.clone(), nats, &all).await;
    let record = stored_deleted(&bot, &fake, quiet).await;
    assert!(record["reason"]
        .as_str()
        .unwrap()
        .contains("closed automatically"));
    let logged = eventually("the transcript logged", Duration::from_secs(10), || {
        let logged = transcripts(&fake, log);
        let found = logged.iter().any(|m| {
            m["content"]
                .as_str()
                .unwrap()
                .contains(&format!("<@{MEMBER_A_ID}>"))
        });
        async move { found.then_some(logged) }
    })
    .await;
    assert!(logged[0]["content"]
        .as_str()
        .unwrap()
        .contains("closed automatically"));
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn setup_again_after_the_role_and_category_were_deleted_makes_them_anew_and_regrants_tickets()
{
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = bot_with(&fake, &[]).await;
    set_up(&fake).await;
    let ticket = open_ticket(&fake, MEMBER_A_ID).await;
    let old_role: u64 = fake
        .roles()
        .iter()
        .find(|r| r["name"] == "Support")
        .map(|r| r["id"].as_str().unwrap().parse().unwrap())
        .unwrap();
    let old_category = channel_named(&fake, "Tickets").unwrap();
    assert!(fake.delete_role(old_role));
    assert!(fake.delete_channel(old_category));

    let answer = set_up(&fake).await;
    assert!(answer.contains("made the Support role again"), "{answer}");
    assert!(answer.contains("made the Tickets category"), "{answer}");
    assert!(answer.contains("Repaired 1 open ticket"), "{answer}");
    let new_role: u64 = fake
        .roles()
        .iter()
        .find(|r| r["name"] == "Support")
        .map(|r| r["id"].as_str().unwrap().parse().unwrap())
        .unwrap();
    assert_ne!(new_role, old_role);
    let grant = fake.calls(
        Method::PUT,
        &format!("/channels/{ticket}/permissions/{new_role}"),
    );
    assert_eq!(grant.len(), 1);
    assert_eq!(helpers::permission_bits(&grant[0].body["allow"]), MEMBER);
    let new_category = channel_named(&fake, "Tickets").unwrap();
    let ticket_now = fake
        .channels()
        .into_iter()
        .find(|c| c["id"].as_str() == Some(&*ticket.to_string()))
        .unwrap();
    assert_eq!(ticket_now["parent_id"], new_category.to_string());
    assert!(
        fake.can_see(SUPPORT_ID, ticket),
        "Support sees the ticket again"
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn setup_says_when_it_uses_a_support_role_it_did_not_make() {
    let fake = FakeDiscord::start(TOKEN).await;
    fake.add_role("Support");
    let bot = bot_with(&fake, &[]).await;
    let answer = set_up(&fake).await;
    assert!(answer.contains("I did not create it"), "{answer}");
    let roles = fake.calls(Method::POST, "/roles");
    assert!(roles.is_empty(), "the existing role is used");
    bot.shutdown().await.unwrap();
}
