//! Streamed answers (`X-Relay-Stream`) against a fake model that streams: the pieces reach the
//! requester while the model still writes, they join to the reply where no citation is
//! rewritten, a `NOT_COVERED` never shows, and a request without the header is answered as
//! it always was, with the model asked not to stream.

use std::{pin::Pin, time::Duration};

use bytes::Bytes;
use common::{payload::RelayReply, relay_stream::StreamEvent};
use futures::{Stream, StreamExt};
use relay_worker::{answer::AnswerSettings, test_util::SUBJECT};

use crate::{
    fake_model::{FakeModel, Reply},
    helpers::*,
};

const BUDGET: Duration = Duration::from_secs(10);

/// Bounds each wait, so that a broken stream fails instead of hanging.
const WITHIN: Duration = Duration::from_secs(20);

type Events = Pin<Box<dyn Stream<Item = StreamEvent> + Send>>;

/// The pieces until their text is `text`, which must come before anything else.
async fn pieces_until(events: &mut Events, text: &str) -> String {
    let mut joined = String::new();
    while joined != text {
        match tokio::time::timeout(WITHIN, events.next()).await {
            Ok(Some(StreamEvent::Piece(piece))) => joined.push_str(&piece),
            other => panic!("{other:?} where a piece was due, after {joined:?}"),
        }
    }
    joined
}

/// The rest of the pieces, joined, and the reply.
async fn rest(events: &mut Events) -> (String, RelayReply) {
    let mut joined = String::new();
    loop {
        match tokio::time::timeout(WITHIN, events.next()).await {
            Ok(Some(StreamEvent::Piece(piece))) => joined.push_str(&piece),
            Ok(Some(StreamEvent::Done(reply))) => {
                assert!(events.next().await.is_none(), "Done is the last event");
                return (joined, reply.expect("an answer"));
            }
            other => panic!("{other:?} in a stream"),
        }
    }
}

#[tokio::test]
async fn pieces_arrive_while_the_model_writes_and_join_to_the_reply() {
    let fake = FakeModel::start([Reply::StreamedUntilRelease {
        before: &["Your parcel ", "left on "],
        after: &["Monday", "."],
    }])
    .await;
    let worker = spawn(&llm_source(&fake.base_url, BUDGET)).await;
    let mut events: Events = Box::pin(
        worker
            .relay
            .send_streaming(&request("Any news?", 10), Some("req-1")),
    );

    // The model cannot finish before the release: these pieces came while it was writing.
    let mut joined = pieces_until(&mut events, "Your parcel left on").await;
    fake.release();
    let (tail, reply) = rest(&mut events).await;
    joined.push_str(&tail);

    assert_eq!(reply.reply, "Your parcel left on Monday.");
    assert_eq!(joined, reply.reply);
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body["stream"], true);
}

#[tokio::test]
async fn a_request_without_the_header_gets_one_whole_reply_and_the_model_does_not_stream() {
    let fake = FakeModel::start([Reply::Streamed {
        pieces: &["One ", "whole ", "answer."],
        first: Duration::ZERO,
        every: Duration::ZERO,
    }])
    .await;
    let worker = spawn(&llm_source(&fake.base_url, BUDGET)).await;

    // As `nats req` sends it: no header at all.
    let payload = Bytes::from(request("Any news?", 11).to_json());
    let message = worker
        .relay
        .nats()
        .request(SUBJECT, payload)
        .await
        .expect("a reply");

    let reply: RelayReply = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(reply.reply, "One whole answer.");
    assert!(
        message.headers.is_none(),
        "a plain reply: {:?}",
        message.headers
    );
    assert_eq!(fake.requests()[0].body["stream"], false);
}

#[tokio::test]
async fn with_documents_the_pieces_cite_as_the_model_writes_and_the_reply_names_the_sources() {
    let fake = FakeModel::start([Reply::StreamedUntilRelease {
        before: &["Refunds take ", "14 days [1]."],
        after: &[],
    }])
    .await;
    let settings = AnswerSettings {
        knowledge: Some(knowledge(&fixtures())),
        ..llm_source(&fake.base_url, BUDGET)
    };
    let worker = spawn(&settings).await;
    let mut events: Events = Box::pin(
        worker
            .relay
            .send_streaming(&request("How long does a refund take?", 12), None),
    );

    let joined = pieces_until(&mut events, "Refunds take 14 days [1].").await;
    fake.release();
    let (tail, reply) = rest(&mut events).await;

    assert_eq!(tail, "");
    assert_eq!(reply.grounded, Some(true));
    assert!(
        reply.reply.starts_with(&joined) && reply.reply.contains("Sources: "),
        "{}",
        reply.reply
    );
}

#[tokio::test]
async fn a_not_covered_being_written_never_shows_and_the_reply_is_the_staff_follow_up() {
    let fake = FakeModel::start([Reply::StreamedUntilRelease {
        before: &["NOT_", "COVER"],
        after: &["ED"],
    }])
    .await;
    let settings = AnswerSettings {
        knowledge: Some(knowledge(&fixtures())),
        ..llm_source(&fake.base_url, BUDGET)
    };
    let worker = spawn(&settings).await;
    let events: Events = Box::pin(
        worker
            .relay
            .send_streaming(&request("How long does a refund take?", 13), None),
    );
    // Driven by its own task, so that the request goes out while the model is held.
    let collected = tokio::spawn(async move {
        let mut events = events;
        rest(&mut events).await
    });

    fake.wait_for_requests(1).await;
    fake.release();
    let (pieces, reply) = collected.await.expect("the stream ends");

    assert_eq!(pieces, "", "no piece of NOT_COVERED");
    assert_staff_follows_up(&reply);
}

#[tokio::test]
async fn a_source_that_cannot_stream_gives_the_reply_alone() {
    let worker = spawn(&knowledge_source(&fixtures())).await;
    let mut events: Events = Box::pin(
        worker
            .relay
            .send_streaming(&request("How long does a refund take?", 14), None),
    );

    let (pieces, reply) = rest(&mut events).await;

    assert_eq!(pieces, "");
    assert_eq!(reply.grounded, Some(true));
}
