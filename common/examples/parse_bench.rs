//! Why `RelayRequest::parse` keeps its hand-written visitor: this times it against the derived
//! alternative (a `#[derive(Deserialize)]` struct borrowing
//! its strings, then the same newtype checks), on the same payloads, in one run.
//!
//! `cargo run --release -p common --example parse_bench`

use std::{borrow::Cow, hint::black_box, time::Instant};

use common::payload::{MessageContent, RelayRequest, Snowflake};
use serde::Deserialize;

/// The derived alternative: what serde generates for the same fields.
#[derive(Deserialize)]
struct Derived<'a> {
    #[serde(borrow)]
    guild_id: Cow<'a, str>,
    #[serde(borrow)]
    channel_id: Cow<'a, str>,
    #[serde(borrow)]
    user_id: Cow<'a, str>,
    #[serde(borrow)]
    content: Cow<'a, str>,
    #[serde(borrow, default)]
    message_id: Option<Cow<'a, str>>,
}

fn derived(bytes: &[u8]) -> Option<RelayRequest> {
    let raw: Derived<'_> = serde_json::from_slice(bytes).ok()?;
    Some(RelayRequest {
        guild_id: Snowflake::parse(&raw.guild_id).ok()?,
        channel_id: Snowflake::parse(&raw.channel_id).ok()?,
        user_id: Snowflake::parse(&raw.user_id).ok()?,
        content: MessageContent::parse(raw.content.into_owned()).ok()?,
        message_id: raw
            .message_id
            .map(|id| Snowflake::parse(&id))
            .transpose()
            .ok()?,
        history: Vec::new(),
        ticket: None,
    })
}

fn time(label: &str, payload: &[u8], rounds: u32, parse: impl Fn(&[u8]) -> bool) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..rounds {
            assert!(parse(black_box(payload)));
        }
        best = best.min(start.elapsed().as_nanos() as f64 / f64::from(rounds));
    }
    println!("{label:>22}: {best:7.1} ns per parse (best of 5 x {rounds})");
    best
}

fn main() {
    let rounds = 500_000;
    let payloads: [(&str, String); 2] = [
        (
            "typical",
            r#"{"guild_id":"100000000000000001","channel_id":"900000000000000002","user_id":"400000000000000004","content":"My printer is on fire, what should I do?","message_id":"900000000000000003"}"#.to_owned(),
        ),
        (
            "4,000 chars + extras",
            format!(
                r#"{{"guild_id":"1","channel_id":"2","user_id":"3","attachments":[1,2,3],"content":"{}","message_id":"4","nonce":"x"}}"#,
                "é".repeat(3_999)
            ),
        ),
    ];
    for (name, payload) in &payloads {
        println!("{name}:");
        let visitor = time("visitor (RelayRequest)", payload.as_bytes(), rounds, |b| {
            RelayRequest::parse(b).is_ok()
        });
        let derive = time("derived struct", payload.as_bytes(), rounds, |b| {
            derived(b).is_some()
        });
        println!("{:>22}: {:.2}x", "derived / visitor", derive / visitor);
    }
}
