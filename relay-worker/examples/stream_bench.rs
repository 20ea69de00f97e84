//! How soon a member sees words, streamed against not streamed: a fake OpenAI-compatible model
//! that writes its first token after 1 s and then 20 tokens a second, behind a real worker on
//! a private nats-server, asked through `RelayClient` as the bot asks it.
//!
//! ```sh
//! cargo run -p relay-worker --example stream_bench -- --rounds 3 --tokens 60
//! ```
//!
//! It prints, per mode, the time from sending the request to the first piece of text and to
//! the whole answer (medians over the rounds). Not streamed, the first words are the whole
//! answer. The figures are bound by the model's timers, not by CPU, so a debug build measures
//! the same thing as a release build.

#[allow(dead_code)]
#[path = "../tests/answers/fake_model.rs"]
mod fake_model;

use std::time::{Duration, Instant};

use common::{
    payload::{MessageContent, RelayRequest, Snowflake},
    relay_client::RelayClient,
    relay_stream::StreamEvent,
    test_util::NatsServer,
};
use fake_model::{FakeModel, Reply};
use futures::StreamExt;
use relay_worker::{
    answer::{AnswerSettings, AnswerSource, LlmSettings, SourceKind},
    test_util::{spawn_worker, SUBJECT},
};

const FIRST_TOKEN: Duration = Duration::from_secs(1);
const EVERY_TOKEN: Duration = Duration::from_millis(50);

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn request(n: u64) -> RelayRequest {
    RelayRequest {
        guild_id: Snowflake::from(1),
        channel_id: Snowflake::from(2),
        user_id: Snowflake::from(3),
        content: MessageContent::parse("Where is my parcel?".to_owned()).unwrap(),
        message_id: Some(Snowflake::from(n)),
        history: Vec::new(),
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let rounds = arg("--rounds", 3);
    let tokens = arg("--tokens", 60);
    let pieces: &'static [&'static str] = Vec::leak(vec!["word "; tokens]);
    let slow = || Reply::Streamed {
        pieces,
        first: FIRST_TOKEN,
        every: EVERY_TOKEN,
    };
    let fake = FakeModel::start((0..rounds * 2).map(|_| slow())).await;
    let nats = NatsServer::start();
    let settings = AnswerSettings {
        source: SourceKind::Llm,
        llm: Some(LlmSettings {
            base_url: format!("{}/", fake.base_url).parse().unwrap(),
            api_key: None,
            model: "bench-model".to_owned(),
            system_prompt: "You are the bench assistant.".to_owned(),
            max_tokens: 512,
            temperature: 0.2,
            timeout: Duration::from_secs(60),
            stream: true,
        }),
        ..AnswerSettings::placeholder()
    };
    let source = AnswerSource::start(&settings).await.unwrap();
    let _worker = spawn_worker(&nats.settings(), source).await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    let relay = RelayClient::new(client, SUBJECT, Duration::from_secs(60));

    let (mut streamed_first, mut streamed_all, mut plain_all) = (vec![], vec![], vec![]);
    for round in 0..rounds as u64 {
        let start = Instant::now();
        let mut first = None;
        let mut events = Box::pin(relay.send_streaming(&request(2 * round + 1), None));
        while let Some(event) = events.next().await {
            match event {
                StreamEvent::Piece(_) => {
                    first.get_or_insert_with(|| start.elapsed());
                }
                StreamEvent::Restart => panic!("a failover in a bench"),
                StreamEvent::Done(reply) => {
                    reply.expect("an answer");
                    streamed_all.push(start.elapsed());
                }
            }
        }
        streamed_first.push(first.expect("pieces"));

        let start = Instant::now();
        relay
            .send(&request(2 * round + 2), None)
            .await
            .expect("an answer");
        plain_all.push(start.elapsed());
    }

    println!(
        "model: first token after {FIRST_TOKEN:?}, then {} tokens/s; {tokens} tokens; \
         medians of {rounds} rounds",
        Duration::from_secs(1).as_millis() / EVERY_TOKEN.as_millis()
    );
    println!("| mode | first words | whole answer |");
    println!("|---|---|---|");
    let plain = median(plain_all);
    println!(
        "| streamed | {:?} | {:?} |",
        median(streamed_first),
        median(streamed_all)
    );
    println!("| not streamed | {plain:?} | {plain:?} |");
}
