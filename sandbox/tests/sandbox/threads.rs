//! Threads as serenity makes and reads them: a private thread in a text channel, its members,
//! messages in it (events and paging as in a channel), archived and locked as Discord allows,
//! listed among the guild's active threads and in GUILD_CREATE, seen on the page by its
//! members only; and Discord's refusals (a thread outside a text channel, 1,000 active
//! threads, a locked archived thread).

use sandbox::{ApiError, Sandbox, ACTIVE_THREAD_LIMIT, BOT_ID, GUILD_ID, MEMBER_A_ID, MEMBER_B_ID};
use serde_json::{json, Value};
use serenity::{
    all::{
        AutoArchiveDuration, ChannelId, ChannelType, CreateThread, EditThread, GetMessages,
        GuildChannel, GuildId, UserId,
    },
    http::HttpError,
};

use crate::helpers::{serenity_http, start_unlimited, Client, Gateway};

/// The names of the channels `user` sees on the page, each thread as `parent/thread`.
async fn seen_on_page(sandbox: &Sandbox, user: &str) -> Vec<String> {
    let state = Client::new(sandbox)
        .page("GET", &format!("/sandbox/state?user={user}"), None)
        .await;
    let channels = state.body["channels"].as_array().unwrap().clone();
    let name_of = |id: &Value| {
        channels
            .iter()
            .find(|c| &c["id"] == id)
            .map_or("?", |c| c["name"].as_str().unwrap())
            .to_owned()
    };
    channels
        .iter()
        .map(|c| match c["type"].as_u64() {
            Some(11 | 12) => format!(
                "{}/{}",
                name_of(&c["parent_id"]),
                c["name"].as_str().unwrap()
            ),
            _ => c["name"].as_str().unwrap().to_owned(),
        })
        .collect()
}

/// Discord's error code of a refused serenity call.
fn code<T: std::fmt::Debug>(result: serenity::Result<T>) -> isize {
    match result {
        Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(response))) => response.error.code,
        other => panic!("expected Discord's refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_private_thread_made_through_serenity_has_its_members_messages_and_events() {
    let sandbox = start_unlimited().await;
    let http = serenity_http(&sandbox);
    let parent = sandbox.add_text_channel("tickets", None);
    let mut gateway = Gateway::connect(&sandbox).await;

    let thread = ChannelId::new(parent)
        .create_thread(
            &http,
            CreateThread::new("ticket-alice")
                .kind(ChannelType::PrivateThread)
                .invitable(false)
                .auto_archive_duration(AutoArchiveDuration::OneWeek),
        )
        .await
        .expect("the thread is made");
    let created = gateway.next("THREAD_CREATE").await;
    thread
        .id
        .add_thread_member(&http, UserId::new(MEMBER_A_ID))
        .await
        .expect("alice joins");
    let joined = gateway.next("THREAD_MEMBERS_UPDATE").await;
    let welcome = thread
        .id
        .say(&http, "Describe your problem here")
        .await
        .unwrap();
    let welcomed = gateway.next("MESSAGE_CREATE").await;
    sandbox.send_message(thread.id.get(), MEMBER_A_ID, "my printer");
    let written = gateway.next("MESSAGE_CREATE").await;
    let members = thread.id.get_thread_members(&http).await.unwrap();
    let newest = thread
        .id
        .messages(&http, GetMessages::new().limit(1))
        .await
        .unwrap();
    let active = GuildId::new(GUILD_ID)
        .get_active_threads(&http)
        .await
        .unwrap();
    let seen_by_a = seen_on_page(&sandbox, "member-a").await;
    let seen_by_b = seen_on_page(&sandbox, "member-b").await;

    assert_eq!(thread.kind, ChannelType::PrivateThread);
    assert_eq!(thread.parent_id.map(|p| p.get()), Some(parent));
    assert_eq!(thread.owner_id.map(|o| o.get()), Some(BOT_ID));
    let metadata = thread.thread_metadata.unwrap();
    assert!(!metadata.archived && !metadata.locked && !metadata.invitable);
    let created: GuildChannel = serde_json::from_value(created).expect("a serenity channel");
    assert_eq!(created.id, thread.id);
    assert_eq!(
        joined["added_members"][0]["user_id"],
        MEMBER_A_ID.to_string()
    );
    assert_eq!(joined["member_count"], 2);
    assert_eq!(welcomed["channel_id"], thread.id.to_string());
    assert_eq!(welcomed["id"], welcome.id.to_string());
    assert_eq!(written["channel_id"], thread.id.to_string());
    assert_eq!(written["guild_id"], GUILD_ID.to_string());
    let ids: Vec<u64> = members.iter().map(|m| m.user_id.get()).collect();
    assert_eq!(ids, [BOT_ID, MEMBER_A_ID]);
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].content, "my printer");
    assert_eq!(active.threads.len(), 1);
    assert_eq!(active.threads[0].message_count, Some(2));
    assert_eq!(active.members[0].user_id.get(), BOT_ID);
    assert_eq!(seen_by_a, ["tickets", "tickets/ticket-alice"]);
    assert_eq!(
        seen_by_b,
        ["tickets"],
        "a private thread is not for everyone"
    );
    assert_eq!(
        sandbox.thread_members(thread.id.get()),
        [BOT_ID, MEMBER_A_ID]
    );
    assert_eq!(
        sandbox.channels().len(),
        1,
        "threads are not among the channels"
    );
    assert_eq!(sandbox.threads().len(), 1);
}

#[tokio::test]
async fn an_archived_locked_thread_takes_no_member_and_reopens_for_thread_managers_only() {
    let sandbox = start_unlimited().await;
    let http = serenity_http(&sandbox);
    let client = Client::new(&sandbox);
    let parent = sandbox.add_text_channel("tickets", None);
    let thread = sandbox.add_thread(parent, "ticket-alice", &[BOT_ID, MEMBER_A_ID]);
    let mut gateway = Gateway::connect(&sandbox).await;

    let closed = ChannelId::new(thread)
        .edit_thread(&http, EditThread::new().archived(true).locked(true))
        .await
        .expect("the bot archives and locks it");
    let updated = gateway.next("THREAD_UPDATE").await;
    let add_b = ChannelId::new(thread)
        .add_thread_member(&http, UserId::new(MEMBER_B_ID))
        .await;
    let from_a = client.send_as("member-a", thread, "hello?").await;
    let from_admin = client.send_as("admin", thread, "reopening").await;
    let reopened = gateway.next("THREAD_UPDATE").await;
    sandbox.archive_thread(thread, true);
    sandbox.revoke_manage_threads();
    let from_bot = ChannelId::new(thread).say(&http, "anyone?").await;
    let unlock = ChannelId::new(thread)
        .edit_thread(&http, EditThread::new().locked(false))
        .await;

    let metadata = closed.thread_metadata.unwrap();
    assert!(metadata.archived && metadata.locked);
    assert_eq!(updated["thread_metadata"]["archived"], true);
    assert_eq!(code(add_b), 50_083, "Thread is archived");
    assert_eq!(from_a.status, 403);
    assert!(from_a.body["error"].as_str().unwrap().contains("archived"));
    assert_eq!(from_admin.status, 200, "an administrator manages threads");
    assert_eq!(
        reopened["thread_metadata"]["archived"], false,
        "writing unarchived it"
    );
    assert_eq!(code(from_bot), 50_083);
    assert_eq!(code(unlock), 50_013, "Missing Permissions");
}

#[tokio::test]
async fn only_active_threads_are_in_guild_create_and_a_thousand_is_discords_limit() {
    let sandbox = start_unlimited().await;
    let client = Client::new(&sandbox);
    let parent = sandbox.add_text_channel("tickets", None);
    let category = sandbox.add_category("Tickets");
    let archived = sandbox.add_thread(parent, "old", &[]);
    sandbox.archive_thread(archived, false);
    for n in 1..ACTIVE_THREAD_LIMIT {
        sandbox.add_thread(parent, &format!("ticket-{n}"), &[]);
    }
    let mut gateway = Gateway::open(&sandbox).await;
    gateway.identify(None, None).await;
    let guild = gateway.next("GUILD_CREATE").await;
    let new_thread = |channel: u64| {
        let path = format!("/channels/{channel}/threads");
        let client = &client;
        async move {
            let body = json!({ "name": "one more", "type": 12 });
            client.api("POST", &path, Some(body)).await
        }
    };

    let last = new_thread(parent).await;
    let over = new_thread(parent).await;
    let in_category = new_thread(category).await;
    let listed = client
        .api("GET", &format!("/guilds/{GUILD_ID}/channels"), None)
        .await;

    let threads = guild["threads"].as_array().unwrap();
    assert_eq!(
        threads.len(),
        ACTIVE_THREAD_LIMIT - 1,
        "the archived one is left out"
    );
    assert_eq!(guild["channels"].as_array().unwrap().len(), 2);
    assert_eq!(last.status, 201);
    assert_eq!(last.body["type"], 12);
    assert_eq!(over.status, 400);
    assert_eq!(
        over.body,
        json!({ "message": "Maximum number of active threads reached", "code": 160_006 })
    );
    assert_eq!(in_category.status, 400);
    assert_eq!(in_category.body["code"], 50_024);
    assert_eq!(
        listed.body.as_array().unwrap().len(),
        2,
        "no thread among the channels"
    );
    assert_eq!(
        sandbox.add_thread_member(archived, MEMBER_A_ID),
        Err(ApiError::ThreadArchived)
    );
}
