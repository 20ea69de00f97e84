//! `POST /relay?stream=true`: the answer as server-sent events (`text/event-stream`), piece by
//! piece while the worker writes it. The request is checked exactly as by `POST /relay` (so a
//! refusal is the same JSON error with its status), then the events are:
//!
//! - `event: chunk`, `data: {"text": "..."}`: the next piece of the answer text, for a source
//!   that streams (the model); the pieces joined are the answer as written so far;
//! - then exactly one `event: reply` (`data:` the RelayReply JSON, as `/relay` returns it) or
//!   `event: error` (`data:` the error body `/relay` would return).
//!
//! The reply is the whole answer, to show in place of the pieces: only it carries the sources
//! line and the final wording. When the worker writing the pieces goes silent and another one
//! starts over (`common::relay_stream`), no further chunk is sent: the client's pieces stay a
//! prefix of what it was shown, and the reply follows.

use axum::response::{
    sse::{Event, KeepAlive, Sse},
    IntoResponse, Response,
};
use common::relay_stream::StreamEvent;
use futures::{future, Stream, StreamExt};

use crate::error::ApiError;

/// Whether the query asks for the answer as events (`stream=true`).
pub fn requested(query: Option<&str>) -> bool {
    query.is_some_and(|query| query.split('&').any(|pair| pair == "stream=true"))
}

/// The relay's `events` as server-sent events (see the module documentation).
pub fn respond(
    events: impl Stream<Item = StreamEvent> + Send + 'static,
    request_id: String,
) -> Response {
    let events = events
        .scan(false, move |restarted, event| {
            let sent = match event {
                StreamEvent::Piece(text) if !*restarted => Some(chunk(&text)),
                StreamEvent::Piece(_) => None,
                StreamEvent::Restart => {
                    *restarted = true;
                    None
                }
                StreamEvent::Done(Ok(reply)) => Some(
                    Event::default()
                        .event("reply")
                        .data(serde_json::to_string(&reply).expect("a reply serializes")),
                ),
                StreamEvent::Done(Err(err)) => {
                    let err = ApiError::from(err);
                    err.log(&request_id);
                    let (_, body) = err.to_body();
                    let data = serde_json::to_string(&body).expect("an error body serializes");
                    Some(Event::default().event("error").data(data))
                }
            };
            future::ready(Some(sent))
        })
        .filter_map(|sent| future::ready(sent.map(Ok::<_, std::convert::Infallible>)));
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn chunk(text: &str) -> Event {
    let data = serde_json::json!({ "text": text });
    Event::default().event("chunk").data(data.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stream_true_asks_for_events() {
        assert!(requested(Some("stream=true")));
        assert!(requested(Some("a=1&stream=true")));
        for plain in [
            None,
            Some(""),
            Some("stream=false"),
            Some("stream"),
            Some("xstream=true"),
        ] {
            assert!(!requested(plain), "{plain:?}");
        }
    }
}
