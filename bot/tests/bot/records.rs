//! No ticket loses its record: the archive holds the transcript (and the files people attached)
//! before anything is posted and before the channel goes; a failed post, closed DMs, a log
//! channel deleted, a bot killed midway, a channel deleted or hidden from the bot midway all end
//! with the record kept and the closer told the truth. Auto-close decides on fresh facts (a
//! member who writes while a sweep runs, messages written while the bot was away); staff read
//! over REST are staff; a guild another ticket bot set up is not taken over.

use std::time::Duration;

use axum::http::Method;
use bot::{
    close_ticket,
    registry::{Registry, TicketEntry},
    HANDOFF_MESSAGE,
};
use common::test_util::{eventually, NatsServer};
use relay_worker::test_util::spawn_worker;
use sandbox::{fixtures::MessageSpec, ApiError, HeldCall, WAIT};
use serde_json::Value;
use serenity::all::{ChannelId, GuildId, Timestamp, UserId};

use crate::{
    fake_discord::{FakeDiscord, ADMIN_ID, GUILD_ID, MEMBER_A_ID, MEMBER_B_ID, SUPPORT_ID},
    helpers::{self, echo, spawn_bot_with_nats, spawn_bot_with_vars, TestBot, TOKEN},
    set_up,
    tickets::{
        archived, channel_named, open_ticket, persona, run, set_up as run_setup, stored,
        stored_deleted, transcripts, wait_deleted,
    },
    wait_for_posts, SetUp,
};

/// Auto-close once a ticket is an hour idle and an hour past its warning: the tickets these
/// tests make due were warned two hours ago.
const AUTO_CLOSE: [(&str, &str); 2] = [
    ("TICKET_AUTO_CLOSE_HOURS", "1"),
    ("TICKET_AUTO_CLOSE_GRACE_HOURS", "1"),
];

/// Auto-close after 1.8 s idle and 1.8 s of grace, swept every 100 ms.
const FAST_AUTO_CLOSE: [(&str, &str); 2] = [
    ("TICKET_AUTO_CLOSE_HOURS", "0.0005"),
    ("TICKET_AUTO_CLOSE_GRACE_HOURS", "0.0005"),
];

/// A guild this bot set up, with a `ticket-<owner>` channel in its Tickets category for each of
/// `owners` (not registered yet); the nats-server of its registry.
async fn guild_with_channels(fake: &FakeDiscord, owners: &[u64]) -> (NatsServer, Vec<u64>) {
    let SetUp { category, nats, .. } = set_up(fake).await;
    let channels = owners
        .iter()
        .map(|owner| fake.add_text_channel(&format!("ticket-{owner}"), Some(category)))
        .collect();
    (nats, channels)
}

/// [`guild_with_channels`], each channel registered as an open ticket due for auto-close.
async fn due_tickets(fake: &FakeDiscord, owners: &[u64]) -> (NatsServer, Vec<u64>) {
    let (nats, channels) = guild_with_channels(fake, owners).await;
    let registry = registry_on(&nats).await;
    for (channel, owner) in channels.iter().zip(owners) {
        due_ticket(&registry, *channel, *owner).await;
    }
    (nats, channels)
}

/// The archived file `name` of the ticket in `channel`, as text.
async fn archived_text(bot: &TestBot, channel: u64, name: &str) -> String {
    let bytes = archived(bot, &format!("{channel}/{name}"))
        .await
        .unwrap_or_else(|| panic!("{channel}/{name} archived"));
    String::from_utf8(bytes).expect("text")
}

/// Waits until `held` is reached (bounded, so that a broken test fails instead of hanging).
async fn reached(held: &HeldCall, what: &str) {
    tokio::time::timeout(WAIT, held.reached())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

/// The registry on `nats`, opened as the bot opens it.
async fn registry_on(nats: &NatsServer) -> Registry {
    let client = common::nats::connect(&nats.settings(), "arrange")
        .await
        .unwrap();
    helpers::wait_connected(&client).await;
    Registry::open(client).await.unwrap()
}

/// Records an open ticket of `owner` in `channel` that is due for auto-close: idle three
/// hours, warned two hours ago.
async fn due_ticket(registry: &Registry, channel: u64, owner: u64) {
    let hours_ago = |hours: i64| {
        Timestamp::from_unix_timestamp(Timestamp::now().unix_timestamp() - hours * 3600).unwrap()
    };
    let mut entry = TicketEntry::opened(GuildId::new(GUILD_ID), UserId::new(owner), hours_ago(3));
    entry.warned_at = Some(hours_ago(2));
    registry
        .put_ticket(ChannelId::new(channel), entry)
        .await
        .unwrap();
}

/// Starts the bot on `nats` with these variables (commands in the sandbox's guild, closed
/// channels deleted at once).
async fn start(fake: &FakeDiscord, nats: NatsServer, vars: &[(&str, &str)]) -> TestBot {
    let guild = GUILD_ID.to_string();
    let mut all = vec![
        ("DISCORD_GUILD_ID", guild.as_str()),
        ("TICKET_CLOSE_DELAY_SECS", "0"),
    ];
    all.extend_from_slice(vars);
    spawn_bot_with_vars(fake.clone(), nats, &all).await
}

/// How many times the bot logged `line` so far.
pub(crate) fn logged(bot: &TestBot, line: &str) -> usize {
    bot.logs().matches(line).count()
}

/// Waits until the bot has logged `line` at least `times` times.
pub(crate) async fn wait_logged(bot: &TestBot, line: &str, times: usize) {
    eventually(&format!("{times} x {line:?} in the logs"), WAIT, || {
        let done = logged(bot, line) >= times;
        async move { done.then_some(()) }
    })
    .await;
}

/// Whether channel `id` still exists.
fn exists(fake: &FakeDiscord, id: u64) -> bool {
    let id = id.to_string();
    fake.channels()
        .iter()
        .any(|c| c["id"].as_str() == Some(id.as_str()))
}

fn text(message: &Value) -> &str {
    message["content"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_refused_log_post_with_dms_closed_keeps_the_channel_until_the_archive_holds_everything() {
    let fake = FakeDiscord::start(TOKEN).await;
    let mut bot = crate::tickets::bot_with(&fake, &[]).await;
    bot.start_worker(echo()).await;
    run_setup(&fake).await;
    let log = channel_named(&fake, "ticket-logs").unwrap();
    let ticket = open_ticket(&fake, MEMBER_A_ID).await;
    let file = fake.host_file("printer.log", "text/plain", b"paper jam at tray 2".to_vec());
    let file_id = file.id;
    fake.send(MessageSpec::human(ticket, MEMBER_A_ID, "see the log").with_attachment(file));
    wait_for_posts(&fake, ticket, 2).await;

    // ticket-logs refuses the post (the bot may not write there), and the owner takes no DMs.
    fake.close_dms(MEMBER_A_ID);
    fake.fail_next(
        Method::POST,
        &format!("/channels/{log}/messages"),
        ApiError::MissingPermissions,
    );
    let deletion = fake.hold_next(Method::DELETE, &format!("/channels/{ticket}"));
    let answer = run(&fake, MEMBER_A_ID, close_ticket::NAME, ticket, &[]).await;

    assert!(answer.starts_with("Ticket closed"), "{answer}");
    assert!(answer.contains("is archived"), "{answer}");
    assert!(
        answer.contains(&format!("/ticket-transcript {ticket}")),
        "{answer}"
    );
    assert!(
        answer.contains("could not be posted in ticket-logs: I may not post"),
        "{answer}"
    );
    assert!(
        answer.contains("could not be sent to the ticket's owner"),
        "{answer}"
    );
    assert!(!answer.contains(&format!("<#{log}>,")), "{answer}");

    // The deletion waits here: by now the archive holds the transcript and the file.
    reached(&deletion, "the channel's deletion").await;
    let txt = archived_text(&bot, ticket, "transcript.txt").await;
    assert!(txt.contains("see the log"), "{txt}");
    assert!(
        txt.contains(&format!("archived as attachments/{file_id}-printer.log")),
        "{txt}"
    );
    let html = archived_text(&bot, ticket, "transcript.html").await;
    assert!(html.contains(&format!("href=\"attachments/{file_id}-printer.log\"")));
    assert_eq!(
        archived(&bot, &format!("{ticket}/attachments/{file_id}-printer.log"))
            .await
            .unwrap(),
        b"paper jam at tray 2"
    );
    let record = stored(&bot, ticket).await.unwrap();
    assert_eq!(record["status"], "archived");
    assert!(record["close"]["archived_at"].is_string(), "{record}");
    assert!(record["close"]["log_failure"].is_string(), "{record}");
    assert_eq!(record["close"]["sent_to_owner"], false);
    assert!(transcripts(&fake, log).is_empty(), "nothing in ticket-logs");
    assert!(fake.dm_messages(MEMBER_A_ID).is_empty());

    deletion.release();
    stored_deleted(&bot, &fake, ticket).await;

    // The archive gives it back.
    let again = run(
        &fake,
        SUPPORT_ID,
        bot::ticket_transcript::NAME,
        log,
        &[sandbox::fixtures::CommandOption::String(
            bot::ticket_transcript::OPTION.into(),
            format!("<@{MEMBER_A_ID}>"),
        )],
    )
    .await;
    assert!(again.contains(&format!("<#{ticket}>")), "{again}");
    let sent = fake
        .requests()
        .into_iter()
        .rfind(|c| c.method == Method::PATCH && c.path.ends_with("/messages/@original"))
        .unwrap();
    assert_eq!(
        sent.body["attachments"].as_array().map(Vec::len),
        Some(3),
        "{}",
        sent.body
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failed_log_post_is_retried_and_a_deleted_log_channel_is_told_and_made_again() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = crate::tickets::bot_with(&fake, &[]).await;
    run_setup(&fake).await;
    let log = channel_named(&fake, "ticket-logs").unwrap();

    // Discord fails once: the retry posts it.
    let first = open_ticket(&fake, MEMBER_A_ID).await;
    fake.fail_next(
        Method::POST,
        &format!("/channels/{log}/messages"),
        ApiError::ServerError,
    );
    let answer = run(&fake, MEMBER_A_ID, close_ticket::NAME, first, &[]).await;
    assert!(
        answer.contains(&format!("the transcript is in <#{log}>")),
        "{answer}"
    );
    assert_eq!(transcripts(&fake, log).len(), 1);

    // The log channel is deleted: the closer is told, and /setup makes it again.
    let second = open_ticket(&fake, MEMBER_B_ID).await;
    assert!(fake.delete_channel(log));
    let answer = run(&fake, MEMBER_B_ID, close_ticket::NAME, second, &[]).await;
    assert!(answer.contains("is archived"), "{answer}");
    assert!(
        answer.contains(&format!("<#{log}> was deleted")),
        "{answer}"
    );
    assert!(answer.contains("run /setup"), "{answer}");
    wait_deleted(&fake, second).await;
    let setup = run_setup(&fake).await;
    assert!(
        setup.contains("made #ticket-logs (staff only) again"),
        "{setup}"
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_bot_killed_between_closing_and_deleting_finishes_the_close_after_a_restart() {
    let fake = FakeDiscord::start(TOKEN).await;
    let log = fake.add_text_channel("ticket-logs", None);
    let (nats, channels) = guild_with_channels(&fake, &[MEMBER_A_ID]).await;
    let ticket = channels[0];
    helpers::register_tickets(&nats, [(ticket, MEMBER_A_ID)]).await;
    let file = fake.host_file("photo.jpg", "image/jpeg", b"JPEG".to_vec());
    let file_id = file.id;
    fake.store_offline(MessageSpec::human(ticket, MEMBER_A_ID, "it broke").with_attachment(file));

    // The real binary, killed with SIGKILL while it reads the ticket to close it.
    let proxy = fake.url();
    let nats_url = nats.url();
    let guild = GUILD_ID.to_string();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_bot"))
        .current_dir(std::env::temp_dir())
        .env_clear()
        .envs([
            ("DISCORD_TOKEN", TOKEN),
            ("DISCORD_PROXY_URL", proxy.as_str()),
            ("NATS_URL", nats_url.as_str()),
            ("DISCORD_GUILD_ID", guild.as_str()),
            ("TICKET_CLOSE_DELAY_SECS", "0"),
            ("CATCHUP_MAX_AGE_MINUTES", "0"),
            ("LOG_LEVEL", "warn"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    fake.wait_until_ready().await;
    let read = fake.hold_next(Method::GET, &format!("/channels/{ticket}/messages"));
    fake.run_command_with(persona(MEMBER_A_ID), close_ticket::NAME, ticket, &[])
        .unwrap();
    reached(&read, "the close reading the ticket").await;
    let plain = common::nats::connect(&nats.settings(), "look")
        .await
        .unwrap();
    helpers::wait_connected(&plain).await;
    let status = || async {
        let js = async_nats::jetstream::new(plain.clone());
        let store = js.get_key_value("tickets").await.unwrap();
        let value: Value =
            serde_json::from_slice(&store.get(ticket.to_string()).await.unwrap().unwrap()).unwrap();
        value
    };
    assert_eq!(status().await["status"], "closing");
    child.kill().await.unwrap();
    read.release();
    assert!(exists(&fake, ticket));

    // The restart carries the close forward: archive, post, and only then delete.
    let deletion = fake.hold_next(Method::DELETE, &format!("/channels/{ticket}"));
    let bot = start(&fake, nats, &[("CATCHUP_MAX_AGE_MINUTES", "0")]).await;
    reached(&deletion, "the channel's deletion").await;
    let txt = archived_text(&bot, ticket, "transcript.txt").await;
    assert!(txt.contains("it broke"), "{txt}");
    assert_eq!(
        archived(&bot, &format!("{ticket}/attachments/{file_id}-photo.jpg"))
            .await
            .unwrap(),
        b"JPEG"
    );
    let logged = transcripts(&fake, log);
    assert_eq!(logged.len(), 1, "posted once");
    assert!(text(&logged[0]).contains(&format!("by <@{MEMBER_A_ID}>")));
    assert_eq!(status().await["status"], "archived");
    deletion.release();
    stored_deleted(&bot, &fake, ticket).await;
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_channel_deleted_while_it_is_closed_is_told_as_closed_without_a_transcript() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = crate::tickets::bot_with(&fake, &[]).await;
    run_setup(&fake).await;
    let ticket = open_ticket(&fake, MEMBER_A_ID).await;
    let read = fake.hold_next(Method::GET, &format!("/channels/{ticket}/messages"));
    let close = fake
        .run_command_with(persona(MEMBER_A_ID), close_ticket::NAME, ticket, &[])
        .unwrap();
    reached(&read, "the close reading the ticket").await;
    assert!(fake.delete_channel(ticket));
    read.release();

    let answer = fake.wait_for_answer(close).await;
    assert!(
        answer.starts_with("Ticket closed, without a transcript: the channel was deleted"),
        "{answer}"
    );
    assert!(!answer.contains("stays open"), "{answer}");
    let record = stored(&bot, ticket).await.unwrap();
    assert_eq!(record["status"], "deleted");
    assert!(
        record["close"]["without_transcript"].is_string(),
        "{record}"
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_member_who_writes_while_the_sweep_runs_is_not_closed() {
    let fake = FakeDiscord::start(TOKEN).await;
    let log = fake.add_text_channel("ticket-logs", None);
    let (nats, channels) = due_tickets(&fake, &[MEMBER_A_ID, MEMBER_B_ID]).await;
    let (first, second) = (channels[0], channels[1]);

    // The sweep sees both due and closes the older first; its post waits here.
    let posting = fake.hold_next(Method::POST, &format!("/channels/{log}/messages"));
    let bot = start(&fake, nats, &AUTO_CLOSE).await;
    reached(&posting, "the first close's post").await;
    fake.send_message(second, MEMBER_B_ID, "still here!");
    eventually("the activity recorded", WAIT, || async {
        let record = stored(&bot, second).await?;
        record["warned_at"].is_null().then_some(())
    })
    .await;
    posting.release();

    wait_deleted(&fake, first).await;
    wait_logged(&bot, "no longer due for auto-close", 1).await;
    let record = stored(&bot, second).await.unwrap();
    assert_eq!(record["status"], "open", "{record}");
    assert!(fake
        .messages(second)
        .iter()
        .all(|m| !text(m).contains("was closed")));
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn messages_written_while_the_bot_was_away_keep_a_ticket_open() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (nats, channels) = due_tickets(&fake, &[MEMBER_A_ID, MEMBER_B_ID]).await;
    let (written, idle) = (channels[0], channels[1]);
    // A file alone is activity too.
    let file = fake.host_file("screenshot.png", "image/png", b"PNG".to_vec());
    fake.store_offline(MessageSpec::human(written, MEMBER_A_ID, "").with_attachment(file));
    let _worker = spawn_worker(&nats.settings(), echo()).await;

    let bot = start(&fake, nats, &AUTO_CLOSE).await;
    // The idle one, swept after the other (by ID), is closed: the sweep ran.
    wait_deleted(&fake, idle).await;
    let record = stored(&bot, written).await.unwrap();
    assert_eq!(record["status"], "open", "{record}");
    assert!(record["warned_at"].is_null(), "{record}");
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_ticket_the_bot_lost_access_to_is_closed_with_the_reason_and_never_tried_again() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (nats, channels) = due_tickets(&fake, &[MEMBER_A_ID]).await;
    let ticket = channels[0];
    fake.revoke_channel_access(ticket);

    let bot = start(&fake, nats, &FAST_AUTO_CLOSE).await;
    let record = eventually("the ticket closed", WAIT, || async {
        let record = stored(&bot, ticket).await?;
        (record["status"] == "deleted").then_some(record)
    })
    .await;
    assert_eq!(
        record["close"]["without_transcript"],
        "the bot lost access to the channel"
    );
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .starts_with("closed automatically"),
        "{record}"
    );
    let reads = || {
        fake.calls(Method::GET, &format!("/channels/{ticket}/messages"))
            .len()
    };
    let tried = reads();
    let sweeps = logged(&bot, "auto-close sweep");
    wait_logged(&bot, "auto-close sweep", sweeps + 5).await;
    assert_eq!(reads(), tried, "no second try");
    assert!(exists(&fake, ticket), "not deleted");
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn after_the_bot_leaves_a_guild_its_tickets_are_not_swept() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (nats, channels) = guild_with_channels(&fake, &[MEMBER_A_ID]).await;
    let ticket = channels[0];
    helpers::register_tickets(&nats, [(ticket, MEMBER_A_ID)]).await;
    let bot = start(&fake, nats, &FAST_AUTO_CLOSE).await;
    fake.dispatch(
        "GUILD_DELETE",
        serde_json::json!({ "id": GUILD_ID.to_string(), "unavailable": false }),
    );
    wait_logged(&bot, "the bot was removed from the guild", 1).await;
    // Idle for 1.8 s: it would have been warned by now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sweeps = logged(&bot, "auto-close sweep");
    wait_logged(&bot, "auto-close sweep", sweeps + 3).await;
    let record = stored(&bot, ticket).await.unwrap();
    assert!(record["warned_at"].is_null(), "{record}");
    assert!(fake.posted_messages(ticket).is_empty());
    assert_eq!(
        logged(&bot, "the bot was removed from the guild"),
        1,
        "logged once"
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_support_member_s_message_read_at_catch_up_hands_the_ticket_over_unanswered() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (nats, channels) = guild_with_channels(&fake, &[MEMBER_A_ID]).await;
    let ticket = channels[0];
    let responder = echo();
    let seen = std::sync::Arc::clone(&responder.seen);
    let _worker = spawn_worker(&nats.settings(), responder).await;
    fake.post_offline(ticket, MEMBER_A_ID, "my printer is on fire");
    fake.post_offline(ticket, SUPPORT_ID, "I'm on it, hang on");

    let bot = spawn_bot_with_nats(fake.clone(), nats).await;
    let posts = wait_for_posts(&fake, ticket, 2).await;
    let said: Vec<&str> = posts.iter().map(crate::content).collect();
    assert_eq!(said, ["answer to my printer is on fire", HANDOFF_MESSAGE]);
    let asked = helpers::asked(&seen);
    assert_eq!(
        asked,
        ["my printer is on fire"],
        "staff are not asked about"
    );
    assert!(
        !fake
            .calls(
                Method::GET,
                &format!("/guilds/{GUILD_ID}/members/{SUPPORT_ID}")
            )
            .is_empty(),
        "the roles were looked up"
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_guild_another_ticket_bot_set_up_is_not_taken_over_and_setup_says_what_it_reuses() {
    let fake = FakeDiscord::start(TOKEN).await;
    // What Ticket Tool leaves: its category and role names, its numbered ticket channels.
    let category = fake.add_category("Tickets");
    fake.add_role("Support");
    let numbered: Vec<u64> = ["ticket-0001", "ticket-0002"]
        .into_iter()
        .map(|name| fake.add_text_channel(name, Some(category)))
        .collect();
    let named_after_a_member =
        fake.add_text_channel(&format!("ticket-{MEMBER_A_ID}"), Some(category));
    let not_a_member = fake.add_text_channel("ticket-500000000000000009", Some(category));
    fake.post_offline(numbered[0], MEMBER_A_ID, "still waiting");
    let bot = start(&fake, helpers::nats(), &FAST_AUTO_CLOSE).await;
    wait_logged(&bot, "not set up by this bot", 1).await;
    // Long past the 3.6 s an adopted ticket would take to be warned and closed.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let every = [numbered[0], numbered[1], named_after_a_member, not_a_member];
    for channel in every {
        assert!(stored(&bot, channel).await.is_none(), "{channel} adopted");
        assert!(
            fake.posted_messages(channel).is_empty(),
            "{channel} written in"
        );
    }
    assert!(
        fake.calls(Method::DELETE, "/channels").is_empty(),
        "nothing deleted"
    );

    // An administrator sets up: what was there is re-used openly; only a member's channel
    // becomes a ticket.
    let id = fake.run_command(bot::setup::NAME, ADMIN_ID, true);
    let answer = fake.wait_for_answer(id).await;
    assert!(
        answer.contains("I found the Tickets category, the Support role already here"),
        "{answer}"
    );
    assert!(answer.contains("registered 1 ticket channel"), "{answer}");
    assert_eq!(
        stored(&bot, named_after_a_member).await.unwrap()["status"],
        "open"
    );
    for channel in [numbered[0], numbered[1], not_a_member] {
        assert!(stored(&bot, channel).await.is_none(), "{channel} adopted");
    }
    bot.shutdown().await.unwrap();
}
