//! Streamed answers: a worker that sends its answer in pieces while it writes it (the relay's
//! stream protocol) gets its first words posted before it has finished, the message edited
//! within Discord's per-channel limits (the sandbox enforces Discord's, and records any 429),
//! and the whole answer, with its buttons, as the final message.

use std::time::Duration;

use async_nats::HeaderMap;
use axum::http::Method;
use common::{
    payload::{RelayReply, RelayRequest},
    subjects::{headers, QUEUE_GROUP},
};
use futures::StreamExt as _;
use serde_json::Value;

use crate::{
    content,
    fake_discord::{FakeDiscord, Recorded, BOT_ID},
    helpers::{spawn_bot_with_nats, Replying, PROBE, SUBJECT, TOKEN, USER_ID},
    set_up, SetUp,
};

/// Discord's per-channel limit on edits, which the sandbox enforces.
const EDITS_PER_WINDOW: usize = 5;
const EDIT_WINDOW: Duration = Duration::from_secs(5);

/// A worker that speaks the stream protocol by hand: for each request it acks, then publishes
/// `pieces` as chunks, `every` apart, and replies with `whole`. After the first `before_posted`
/// pieces it waits until the bot has posted in the ticket `ticket`: the rest of the answer is
/// not written until the first words are visible, so the answer is still being written when
/// they appear.
struct StreamingWorker {
    pieces: Vec<String>,
    every: Duration,
    whole: RelayReply,
    before_posted: usize,
    ticket: u64,
}

impl StreamingWorker {
    /// Subscribes (so that the bot's first request finds it), then answers in a task.
    async fn serve(self, nats_url: String, fake: FakeDiscord) -> tokio::task::JoinHandle<()> {
        let client = async_nats::connect(nats_url)
            .await
            .expect("worker connects");
        let requests = client
            .queue_subscribe(SUBJECT, QUEUE_GROUP.to_owned())
            .await
            .expect("worker subscribes");
        client.flush().await.expect("subscribed");
        tokio::spawn(self.answer(client, requests, fake))
    }

    async fn answer(
        self,
        client: async_nats::Client,
        mut requests: async_nats::Subscriber,
        fake: FakeDiscord,
    ) {
        while let Some(request) = requests.next().await {
            let Some(reply_to) = request.reply.clone() else {
                continue;
            };
            let asked = RelayRequest::parse(&request.payload).expect("request");
            if asked.content.as_str() == PROBE {
                let ready = serde_json::to_vec(&RelayReply::new("ready")).expect("json");
                client.publish(reply_to, ready.into()).await.expect("reply");
                continue;
            }
            let stream = request
                .headers
                .as_ref()
                .and_then(|h| h.get(headers::STREAM))
                .map(|s| s.as_str().to_owned())
                .expect("the bot asks for the stream");
            let event = |kind: &str, seq: u64| {
                let mut map = HeaderMap::new();
                map.insert(headers::EVENT, kind);
                map.insert(headers::SEQ, seq.to_string().as_str());
                map
            };
            client
                .publish_with_headers(stream.clone(), event("ack", 0), "".into())
                .await
                .expect("ack");
            for (n, piece) in self.pieces.iter().enumerate() {
                if n == self.before_posted {
                    wait_for_first_words(&fake, self.ticket).await;
                }
                tokio::time::sleep(self.every).await;
                client
                    .publish_with_headers(
                        stream.clone(),
                        event("chunk", n as u64 + 1),
                        piece.clone().into(),
                    )
                    .await
                    .expect("chunk");
            }
            client
                .publish(
                    reply_to,
                    serde_json::to_vec(&self.whole).expect("json").into(),
                )
                .await
                .expect("reply");
        }
    }
}

async fn wait_for_first_words(fake: &FakeDiscord, ticket: u64) {
    let suffix = format!("/channels/{ticket}/messages");
    fake.wait_for(
        "the first words posted while the answer is written",
        |calls| {
            calls
                .iter()
                .any(|c| c.method == Method::POST && c.path.ends_with(&suffix))
                .then_some(())
        },
    )
    .await;
}

fn edits_in(fake: &FakeDiscord, ticket: u64) -> Vec<Recorded> {
    let prefix = format!("/channels/{ticket}/messages/");
    fake.calls(Method::PATCH, "")
        .into_iter()
        .filter(|c| c.path.contains(&prefix))
        .collect()
}

/// The bot's messages in `ticket` as stored, oldest first.
fn bot_messages(fake: &FakeDiscord, ticket: u64) -> Vec<Value> {
    fake.messages(ticket)
        .into_iter()
        .filter(|m| m["author"]["id"].as_str() == Some(BOT_ID.to_string().as_str()))
        .collect()
}

fn button_ids(message: &Value) -> Vec<String> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["custom_id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_streamed_answer_shows_its_first_words_early_edits_within_limits_and_ends_whole() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let pieces: Vec<String> = (0..40).map(|n| format!("word{n} ")).collect();
    let written: String = pieces.concat();
    // The whole answer carries what the pieces did not: the sources line.
    let whole = format!("{}\n\nSources: billing.md › Refunds", written.trim_end());
    let worker = StreamingWorker {
        pieces,
        every: Duration::from_millis(150),
        whole: RelayReply::new(whole.clone()),
        before_posted: 3,
        ticket,
    };
    let nats_url = nats.url();
    let bot = spawn_bot_with_nats(fake.clone(), nats).await;
    let serving = worker.serve(nats_url, fake.clone()).await;

    let question = fake.send_message(ticket, USER_ID, "how do refunds work?");
    // The check runs under the sandbox's lock: it reads the record, not the messages.
    fake.wait_for("the whole answer", |calls| {
        calls
            .iter()
            .any(|c| content(c) == whole && c.status == 200)
            .then_some(())
    })
    .await;
    let messages = bot_messages(&fake, ticket);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let final_message = &messages[0];
    assert_eq!(final_message["content"].as_str(), Some(whole.as_str()));

    // One message, a reply to the question: created once, then edited.
    let posts = fake.calls(Method::POST, &format!("/channels/{ticket}/messages"));
    assert_eq!(posts.len(), 1, "{posts:?}");
    let first_words = content(&posts[0]);
    assert!(
        first_words.starts_with("word0") && first_words.len() < whole.len(),
        "{first_words}"
    );
    assert_eq!(
        crate::reference_id(&posts[0]),
        Some(question),
        "the first words reply to the question"
    );
    assert_eq!(
        button_ids(final_message),
        ["answer:human", "answer:up", "answer:down"],
        "the final message carries the answer's buttons"
    );
    let edits = edits_in(&fake, ticket);
    assert!(edits.len() >= 2, "the message grew as it was written");
    for (index, first) in edits.iter().enumerate() {
        let within = edits[index..]
            .iter()
            .take_while(|e| e.at.duration_since(first.at) < EDIT_WINDOW)
            .count();
        assert!(within <= EDITS_PER_WINDOW, "{within} edits in one window");
    }
    assert!(fake.rate_limited().is_empty(), "{:?}", fake.rate_limited());
    bot.assert_no_errors_or_warnings();
    serving.abort();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn an_answer_that_does_not_stream_is_posted_whole_with_no_edit() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot_with_nats(fake.clone(), nats).await;
    bot.start_worker(Replying(|_: &str| {
        let mut reply = RelayReply::new("The documents do not cover this.");
        reply.grounded = Some(false);
        reply
    }))
    .await;

    fake.send_message(ticket, USER_ID, "what is the meaning of life?");
    let posts = crate::wait_for_posts(&fake, ticket, 1).await;

    assert_eq!(content(&posts[0]), "The documents do not cover this.");
    let messages = bot_messages(&fake, ticket);
    assert_eq!(button_ids(&messages[0]), ["answer:human"]);
    assert!(edits_in(&fake, ticket).is_empty(), "nothing to edit");
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}
