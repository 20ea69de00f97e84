//! A channel's messages as the bot reads them: `GET /channels/{id}/messages` paged with
//! Discord's `limit`, `before` and `after` (what a transcript of the whole ticket needs),
//! thousands of messages seeded at once, a human's message carrying attachments, and only who
//! can see a channel writing in it.

use sandbox::{
    fixtures::{AttachmentSpec, MessageSpec},
    Sandbox, SandboxError, BOT_ID, MEMBER_A_ID, MEMBER_B_ID,
};
use serenity::{
    all::{ChannelId, GetMessages, Message, MessageId, PermissionOverwriteType, UserId},
    http::HttpError,
};

use serde_json::{json, Value};

use crate::helpers::{serenity_http, start_unlimited, Client, Gateway};

/// Every message of `channel`, read as a transcript does: pages of 100, each older than the
/// last one's oldest message. Returns the IDs newest first and how many pages it took.
async fn page_through(sandbox: &Sandbox, channel: u64) -> (Vec<u64>, usize) {
    let http = serenity_http(sandbox);
    let (mut ids, mut pages) = (Vec::new(), 0);
    let mut before: Option<MessageId> = None;
    loop {
        let mut query = GetMessages::new().limit(100);
        if let Some(before) = before {
            query = query.before(before);
        }
        let page = ChannelId::new(channel)
            .messages(&http, query)
            .await
            .expect("a page of messages");
        pages += 1;
        ids.extend(page.iter().map(|m| m.id.get()));
        match page.last() {
            Some(oldest) if page.len() == 100 => before = Some(oldest.id),
            _ => return (ids, pages),
        }
    }
}

#[tokio::test]
async fn paging_250_messages_with_before_gives_each_exactly_once_newest_first() {
    let sandbox = start_unlimited().await;
    let ticket = sandbox.add_text_channel("ticket-alice", None);
    let other = sandbox.add_text_channel("general", None);
    let seeded = sandbox.seed_messages(ticket, MEMBER_A_ID, 250);
    sandbox.seed_messages(other, MEMBER_A_ID, 10);

    let (read, pages) = page_through(&sandbox, ticket).await;

    let newest_first: Vec<u64> = seeded.into_iter().rev().collect();
    assert_eq!(read, newest_first);
    assert_eq!(pages, 3, "100 + 100 + 50");
}

#[tokio::test]
async fn limit_defaults_to_50_after_pages_forward_and_a_bad_limit_is_discords_400() {
    let sandbox = start_unlimited().await;
    let client = Client::new(&sandbox);
    let channel = sandbox.add_text_channel("ticket-alice", None);
    let seeded = sandbox.seed_messages(channel, MEMBER_A_ID, 60);
    let path = format!("/channels/{channel}/messages");
    let ids = |body: &Value| -> Vec<u64> {
        body.as_array()
            .expect("a list")
            .iter()
            .map(|m| m["id"].as_str().unwrap().parse().unwrap())
            .collect()
    };

    let latest = client.api("GET", &path, None).await;
    let after = client
        .api("GET", &format!("{path}?limit=3&after={}", seeded[9]), None)
        .await;
    let too_many = client.api("GET", &format!("{path}?limit=101"), None).await;
    let none = client.api("GET", &format!("{path}?limit=0"), None).await;
    let bad_anchor = client
        .api("GET", &format!("{path}?before=soon"), None)
        .await;

    assert_eq!(latest.status, 200);
    assert_eq!(
        ids(&latest.body),
        seeded[10..].iter().rev().copied().collect::<Vec<_>>(),
        "the newest 50, newest first"
    );
    assert_eq!(
        ids(&after.body),
        [seeded[12], seeded[11], seeded[10]],
        "the 3 just after the anchor, newest first"
    );
    for (answer, field, code) in [
        (&too_many, "limit", "NUMBER_TYPE_MAX"),
        (&none, "limit", "NUMBER_TYPE_MIN"),
        (&bad_anchor, "before", "NUMBER_TYPE_COERCE"),
    ] {
        assert_eq!(answer.status, 400);
        assert_eq!(answer.body["code"], 50_035);
        assert_eq!(answer.body["message"], "Invalid Form Body");
        assert_eq!(answer.body["errors"][field]["_errors"][0]["code"], code);
    }
}

#[tokio::test]
async fn five_thousand_seeded_messages_are_stored_in_order_without_any_gateway_event() {
    let sandbox = start_unlimited().await;
    let channel = sandbox.add_text_channel("ticket-alice", None);
    let mut gateway = Gateway::connect(&sandbox).await;

    let seeded = sandbox.seed_messages(channel, MEMBER_A_ID, 5_000);
    let marker = sandbox.send_message(channel, MEMBER_A_ID, "after the seed");

    assert_eq!(seeded.len(), 5_000);
    assert!(seeded.windows(2).all(|w| w[0] < w[1]), "IDs grow");
    let first = gateway.next("MESSAGE_CREATE").await;
    assert_eq!(
        first["id"],
        marker.to_string(),
        "the seeded messages were never dispatched"
    );
    let stored = sandbox.messages(channel);
    assert_eq!(stored.len(), 5_001);
    assert_eq!(stored[0]["content"], "message 1");
    assert_eq!(stored[4_999]["content"], "message 5000");
    let (read, pages) = page_through(&sandbox, channel).await;
    assert_eq!(read.len(), 5_001);
    assert_eq!(pages, 51);
}

#[tokio::test]
async fn a_human_message_with_attachments_carries_them_in_message_create_and_get_messages() {
    let sandbox = start_unlimited().await;
    let channel = sandbox.add_text_channel("ticket-alice", None);
    let mut gateway = Gateway::connect(&sandbox).await;
    let screenshot = AttachmentSpec::new(
        "error.png",
        "https://cdn.example/error.png",
        2_048,
        "image/png",
    );
    let log = AttachmentSpec::new("log.txt", "https://cdn.example/log.txt", 10, "text/plain");

    let id = sandbox.send(
        MessageSpec::human(channel, MEMBER_A_ID, "it fails like this")
            .with_attachment(screenshot)
            .with_attachment(log),
    );

    let created: Message =
        serde_json::from_value(gateway.next("MESSAGE_CREATE").await).expect("a serenity Message");
    let fetched = ChannelId::new(channel)
        .messages(&serenity_http(&sandbox), GetMessages::new())
        .await
        .expect("the channel's messages");
    assert_eq!(created.id.get(), id);
    assert_eq!(fetched.len(), 1);
    for message in [&created, &fetched[0]] {
        let files: Vec<(&str, &str, u32, Option<&str>)> = message
            .attachments
            .iter()
            .map(|a| {
                (
                    a.filename.as_str(),
                    a.url.as_str(),
                    a.size,
                    a.content_type.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            files,
            [
                (
                    "error.png",
                    "https://cdn.example/error.png",
                    2_048,
                    Some("image/png")
                ),
                (
                    "log.txt",
                    "https://cdn.example/log.txt",
                    10,
                    Some("text/plain")
                ),
            ]
        );
        assert_ne!(message.attachments[0].id, message.attachments[1].id);
    }
}

#[tokio::test]
async fn only_who_can_see_a_channel_writes_in_it_a_stranger_and_a_bot_shut_out_are_refused() {
    let sandbox = start_unlimited().await;
    let http = serenity_http(&sandbox);
    let mut gateway = Gateway::connect(&sandbox).await;
    let ticket = sandbox.add_private_channel("ticket-alice", None, MEMBER_A_ID);

    let stranger = sandbox.try_send(MessageSpec::human(ticket, MEMBER_B_ID, "let me in"));
    sandbox.send_message(ticket, MEMBER_A_ID, "my printer");
    let told = gateway.next("MESSAGE_CREATE").await;
    // The bot takes its own overwrite away: @everyone is denied, so it no longer sees the room.
    ChannelId::new(ticket)
        .delete_permission(&http, PermissionOverwriteType::Member(UserId::new(BOT_ID)))
        .await
        .expect("the bot removes its overwrite");
    let shut_out = ChannelId::new(ticket).say(&http, "still here?").await;

    assert!(
        matches!(stranger, Err(SandboxError::UnknownChannel(id)) if id == ticket),
        "{stranger:?}"
    );
    assert_eq!(
        told["author"]["id"],
        MEMBER_A_ID.to_string(),
        "the stranger's message was never told to the bot"
    );
    match shut_out {
        Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(response))) => {
            assert_eq!(response.status_code.as_u16(), 403);
            assert_eq!(response.error.code, 50001, "Missing Access");
        }
        other => panic!("expected Discord's refusal, got {other:?}"),
    }
    let contents: Vec<Value> = sandbox
        .messages(ticket)
        .iter()
        .map(|m| m["content"].clone())
        .collect();
    assert_eq!(contents, [json!("my printer")]);
}
