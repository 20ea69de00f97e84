//! What closing a ticket needs from the sandbox: several files in one message, stored and
//! served back byte for byte; the owner's DMs, readable by the test and closable as a user
//! closes theirs; and an administrator deleting a channel or role under the bot.

use sandbox::{MEMBER_A_ID, MEMBER_B_ID};
use serde_json::json;
use serenity::{
    all::{ChannelId, CreateAttachment, CreateMessage, UserId},
    http::HttpError,
};

use crate::helpers::{serenity_http, start_unlimited, Client, Gateway};

const TRANSCRIPT_TXT: &[u8] = b"[08:00] alice: hello\n[08:01] TicketBot: hi\n";
const TRANSCRIPT_HTML: &[u8] = b"<!doctype html><p>alice: hello</p>\xe2\x9c\x93";

fn transcript() -> CreateMessage {
    CreateMessage::new()
        .content("Transcript of ticket-alice")
        .add_file(CreateAttachment::bytes(TRANSCRIPT_TXT, "transcript.txt"))
        .add_file(CreateAttachment::bytes(TRANSCRIPT_HTML, "transcript.html"))
}

#[tokio::test]
async fn two_files_in_one_message_are_stored_and_served_back_byte_for_byte() {
    let sandbox = start_unlimited().await;
    let log = sandbox.add_text_channel("ticket-log", None);

    let posted = ChannelId::new(log)
        .send_message(&serenity_http(&sandbox), transcript())
        .await
        .expect("the upload is accepted");

    let names: Vec<&str> = posted
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(
        names,
        ["transcript.txt", "transcript.html"],
        "in files[n] order"
    );
    assert_eq!(posted.content, "Transcript of ticket-alice");
    for (attachment, bytes) in posted
        .attachments
        .iter()
        .zip([TRANSCRIPT_TXT, TRANSCRIPT_HTML])
    {
        assert_eq!(attachment.size as usize, bytes.len());
        assert_eq!(
            sandbox.attachment_bytes(&attachment.url).as_deref(),
            Some(bytes)
        );
        let id = attachment.id.to_string();
        assert_eq!(sandbox.attachment_bytes(&id).as_deref(), Some(bytes));
        let served = reqwest::get(&attachment.url)
            .await
            .expect("the URL answers");
        assert_eq!(served.status(), 200, "{}", attachment.url);
        assert_eq!(served.bytes().await.expect("a body").as_ref(), bytes);
    }
    let stored = &sandbox.messages(log)[0];
    assert_eq!(stored["attachments"].as_array().map(Vec::len), Some(2));
    assert_eq!(sandbox.attachment_bytes("123"), None);
    assert_eq!(sandbox.attachment_bytes("not a url"), None);
}

#[tokio::test]
async fn the_owners_dm_gets_the_transcript_until_they_close_their_dms() {
    let sandbox = start_unlimited().await;
    let http = serenity_http(&sandbox);
    let owner = UserId::new(MEMBER_A_ID);

    let dm = owner.create_dm_channel(&http).await.expect("a DM channel");
    dm.id
        .send_message(&http, transcript())
        .await
        .expect("the DM is delivered");
    sandbox.close_dms(MEMBER_A_ID);
    let again = owner
        .create_dm_channel(&http)
        .await
        .expect("opening the DM channel still works");
    let refused = again.id.send_message(&http, transcript()).await;

    let delivered = sandbox.dm_messages(MEMBER_A_ID);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["content"], "Transcript of ticket-alice");
    let url = delivered[0]["attachments"][1]["url"].as_str().unwrap();
    assert_eq!(
        sandbox.attachment_bytes(url).as_deref(),
        Some(TRANSCRIPT_HTML)
    );
    assert_eq!(again.id, dm.id);
    match refused {
        Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(response))) => {
            assert_eq!(response.status_code.as_u16(), 403);
            assert_eq!(response.error.code, 50_007);
            assert_eq!(response.error.message, "Cannot send messages to this user");
        }
        other => panic!("expected Discord's 403 50007, got {other:?}"),
    }
    assert!(sandbox.dm_messages(MEMBER_B_ID).is_empty(), "no DM with B");
}

#[tokio::test]
async fn an_admin_deleting_a_channel_or_role_tells_the_bot_and_the_channel_is_then_unknown() {
    let sandbox = start_unlimited().await;
    let client = Client::new(&sandbox);
    let ticket = sandbox.add_text_channel("ticket-alice", None);
    let log = sandbox.add_text_channel("ticket-log", None);
    let support = sandbox.add_role("Support");
    let mut gateway = Gateway::connect(&sandbox).await;

    assert!(sandbox.delete_channel(ticket));
    let channel_deleted = gateway.next("CHANNEL_DELETE").await;
    assert!(sandbox.delete_role(support));
    let role_deleted = gateway.next("GUILD_ROLE_DELETE").await;
    let posted = client
        .api(
            "POST",
            &format!("/channels/{ticket}/messages"),
            Some(json!({ "content": "closing" })),
        )
        .await;
    let by_rest = client
        .api("DELETE", &format!("/channels/{log}"), None)
        .await;
    let rest_deleted = gateway.next("CHANNEL_DELETE").await;

    assert_eq!(channel_deleted["id"], ticket.to_string());
    assert_eq!(role_deleted["role_id"], support.to_string());
    assert!(sandbox.channels().is_empty());
    assert!(sandbox.roles().is_empty());
    assert_eq!(posted.status, 404);
    assert_eq!(posted.body["code"], 10_003);
    assert_eq!(posted.body["message"], "Unknown Channel");
    assert_eq!(by_rest.status, 200);
    assert_eq!(rest_deleted["id"], log.to_string());
    assert!(!sandbox.delete_channel(ticket), "already gone");
    assert!(!sandbox.delete_role(support), "already gone");
}
