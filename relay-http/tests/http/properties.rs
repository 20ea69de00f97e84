//! Property test: whatever bytes or JSON reach `/relay`, the answer is JSON and never a 5xx.
//! The router runs through `oneshot` against a real nats-server and worker, so valid inputs
//! get a real 200 and everything else a 400.

use axum::{body::Body, http::Request, Router};
use common::test_util::{eventually, NatsServer};
use proptest::prelude::*;
use relay_http::{AppState, HttpSettings};
use relay_worker::{test_util::spawn_worker, Placeholder, RunningWorker};
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use crate::helpers::{valid_request, READY_WITHIN, SUBJECT};

struct Fixture {
    runtime: tokio::runtime::Runtime,
    app: Router,
    _worker: RunningWorker,
    _nats: NatsServer,
}

impl Fixture {
    fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let nats = NatsServer::start();
        let (app, worker) = runtime.block_on(async {
            let worker = spawn_worker(&nats.settings(), Placeholder).await;
            let client = common::nats::connect(&nats.settings(), "s").await.unwrap();
            let app = relay_http::app(AppState::new(client, SUBJECT, &HttpSettings::default()));
            let ready = valid_request("ready?").to_string().into_bytes();
            eventually("the relay to answer", READY_WITHIN, || async {
                (relay(&app, ready.clone()).await.0 == 200).then_some(())
            })
            .await;
            (app, worker)
        });
        Self {
            runtime,
            app,
            _worker: worker,
            _nats: nats,
        }
    }

    fn check(&self, body: Vec<u8>) -> Result<(), TestCaseError> {
        let (status, json) = self.runtime.block_on(relay(&self.app, body));
        let json = json.map_err(TestCaseError::fail)?;
        prop_assert!(status < 500, "status {status}: {json}");
        if status == 200 {
            prop_assert_eq!(json, json!({"reply": Placeholder::REPLY}));
        } else {
            prop_assert_eq!(status, 400);
            prop_assert_eq!(&json["error"]["code"], "invalid_payload");
        }
        Ok(())
    }
}

async fn relay(app: &Router, body: Vec<u8>) -> (u16, Result<Value, String>) {
    let request = Request::post("/relay")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes)
        .map_err(|err| format!("status {status}: not JSON ({err}): {bytes:?}"));
    (status, json)
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
        "[0-9]{1,22}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(".{0,10}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Objects with the contract's fields, each present or not, well-formed or not: the inputs
/// most likely to find a gap between the sidecar's validation and the worker's.
fn near_valid() -> impl Strategy<Value = Value> {
    let field = prop_oneof![
        3 => "[0-9]{1,20}".prop_map(Value::from),
        1 => any_json(),
    ];
    let content = prop_oneof![
        3 => ".{0,50}".prop_map(Value::from),
        1 => any_json(),
    ];
    (
        proptest::option::of(field.clone()),
        proptest::option::of(field.clone()),
        proptest::option::of(field.clone()),
        proptest::option::of(content),
        proptest::option::of(field),
    )
        .prop_map(|(guild, channel, user, content, message)| {
            let mut object = Map::new();
            for (name, value) in [
                ("guild_id", guild),
                ("channel_id", channel),
                ("user_id", user),
                ("content", content),
                ("message_id", message),
            ] {
                if let Some(value) = value {
                    object.insert(name.to_owned(), value);
                }
            }
            Value::Object(object)
        })
}

#[test]
fn relay_answers_arbitrary_input_with_json_and_never_a_5xx() {
    let fixture = Fixture::start();
    let config = ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config.clone());
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..256), |bytes| {
            fixture.check(bytes)
        })
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(config.clone());
    runner
        .run(&any_json(), |value| {
            fixture.check(value.to_string().into_bytes())
        })
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(config);
    runner
        .run(&near_valid(), |value| {
            fixture.check(value.to_string().into_bytes())
        })
        .unwrap();
}
