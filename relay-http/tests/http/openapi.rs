//! Keeps `openapi.json` true: every documented path, method and status is produced by the real
//! app for a matching request, every body validates against its documented schema, and every
//! method a path does not document is refused with 405.
//!
//! Bodies are validated with the `jsonschema` crate (OpenAPI 3.1's schemas are JSON Schema
//! 2020-12). The request schema is checked against the parser too: what the parser accepts
//! validates, and the schema's bounds are the contract's constants.

use std::collections::BTreeSet;

use axum::http::Method;
use relay_http::{HttpSettings, OPENAPI_DOCUMENT as DOCUMENT};
use serde_json::Value;

use crate::helpers::{
    spawn_app_with, valid_request, Options, TestApp, FAIL, READY_WITHIN, REFUSE, STALL,
};

type Operation = (String, String, u16);

struct Case {
    method: Method,
    path: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: String,
    status: u16,
}

fn case(method: Method, path: &'static str, status: u16) -> Case {
    Case {
        method,
        path,
        headers: Vec::new(),
        body: String::new(),
        status,
    }
}

fn relay_case(status: u16, body: String) -> Case {
    Case {
        headers: vec![
            ("content-type", "application/json"),
            ("authorization", "Bearer t0ken"),
        ],
        body,
        ..case(Method::POST, "/relay", status)
    }
}

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
}

fn documented_operations(doc: &Value) -> BTreeSet<Operation> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for status in operation["responses"].as_object().unwrap().keys() {
                operations.insert((path.clone(), method.clone(), status.parse().unwrap()));
            }
        }
    }
    operations
}

/// Runs `cases` and checks each response against the document; returns what was covered.
async fn check(app: &TestApp, doc: &Value, cases: Vec<Case>) -> BTreeSet<Operation> {
    let mut covered = BTreeSet::new();
    for case in cases {
        let response = app
            .send(case.method.clone(), case.path, &case.headers, case.body)
            .await;
        let path = case.path.split('?').next().unwrap();
        let method = case.method.as_str().to_ascii_lowercase();
        let what = format!("{method} {} -> {}", case.path, response.status);
        assert_eq!(
            response.status.as_u16(),
            case.status,
            "{what}: {:?}",
            response.body
        );
        let documented = &doc["paths"][path][&method]["responses"][case.status.to_string()];
        assert!(documented.is_object(), "{what} is not documented");
        let content = documented["content"].as_object().expect("content");
        match content.get("application/json") {
            Some(json) => {
                if let Err(err) = validate(doc, &json["schema"], &response.json()) {
                    panic!("{what}: body does not match the documented schema: {err}");
                }
            }
            // The one body that is not JSON: /metrics' page, in a media type documented.
            None => {
                let media = response.headers["content-type"].to_str().unwrap();
                assert!(
                    content.contains_key(media),
                    "{what}: {media} is not documented"
                );
                assert!(response.body.starts_with(b"# HELP "), "{what}");
            }
        }
        if documented["headers"].get("x-request-id").is_some() {
            assert!(response.headers.contains_key("x-request-id"), "{what}");
        }
        covered.insert((path.to_owned(), method, case.status));
    }
    covered
}

#[tokio::test]
async fn every_documented_response_is_produced_and_matches_its_schema() {
    let doc = document();
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let mut covered = BTreeSet::new();

    let app = spawn_app_with(Options {
        settings: HttpSettings {
            api_token: Some("t0ken".to_owned().into()),
            body_limit: 1024,
            relay_timeout: std::time::Duration::from_millis(300),
            body_timeout: std::time::Duration::from_secs(1),
            ..crate::helpers::test_settings()
        },
        ..Options::default()
    })
    .await;
    // A body that stops arriving (no ordinary client sends one): 408, checked like the rest.
    let stalled = crate::limits::post_with_a_stalled_body(app.address, Some("Bearer t0ken")).await;
    assert_eq!(stalled.status, 408);
    let documented = &doc["paths"]["/relay"]["post"]["responses"]["408"]["content"]
        ["application/json"]["schema"];
    validate(&doc, documented, &stalled.body).expect("408 matches its schema");
    covered.insert(("/relay".to_owned(), "post".to_owned(), 408));
    let served = app.get("/openapi.json").await;
    assert_eq!(served.json(), doc, "the served document is the file");
    let cases = vec![
        relay_case(200, valid_request("hi").to_string()),
        relay_case(400, "{".to_owned()),
        relay_case(400, valid_request(" ").to_string()),
        Case {
            headers: vec![("content-type", "application/json")],
            ..relay_case(401, valid_request("hi").to_string())
        },
        relay_case(413, " ".repeat(1025)),
        Case {
            headers: vec![("authorization", "Bearer t0ken")],
            ..relay_case(415, valid_request("hi").to_string())
        },
        relay_case(500, valid_request(FAIL).to_string()),
        relay_case(502, valid_request(REFUSE).to_string()),
        case(Method::GET, "/health", 200),
        Case {
            headers: vec![("authorization", "Bearer t0ken")],
            ..case(Method::GET, "/health?deep=true", 200)
        },
        case(Method::GET, "/health?deep=true", 401),
        case(Method::GET, "/health?deep=maybe", 400),
        case(Method::GET, "/openapi.json", 200),
        Case {
            headers: vec![("authorization", "Bearer t0ken")],
            ..case(Method::GET, "/metrics", 200)
        },
        case(Method::GET, "/metrics", 401),
    ];
    covered.extend(check(&app, &doc, cases).await);
    let (busy, first) = crate::helpers::app_with_its_one_slot_taken().await;
    covered.extend(check(&busy, &doc, vec![case(Method::GET, "/metrics", 503)]).await);
    busy.gate.add_permits(1);
    first.await.unwrap();

    let mut app = spawn_app_with(Options {
        worker: false,
        settings: HttpSettings {
            relay_timeout: std::time::Duration::from_millis(300),
            ..crate::helpers::test_settings()
        },
    })
    .await;
    let cases = vec![
        relay_case(503, valid_request("hi").to_string()),
        case(Method::GET, "/health?deep=true", 503),
    ];
    covered.extend(check(&app, &doc, cases).await);
    // A worker that takes requests and never answers (died mid-request).
    let silent = crate::helpers::silent_worker(&app).await;
    let cases = vec![relay_case(504, valid_request(STALL).to_string())];
    covered.extend(check(&app, &doc, cases).await);
    drop(silent);
    app.nats.stop();
    common::test_util::eventually("the sidecar to see NATS down", READY_WITHIN, || async {
        (app.get("/health").await.status == 503).then_some(())
    })
    .await;
    let cases = vec![
        relay_case(503, valid_request("hi").to_string()),
        case(Method::GET, "/health", 503),
    ];
    covered.extend(check(&app, &doc, cases).await);

    let documented = documented_operations(&doc);
    let undocumented: Vec<_> = covered.difference(&documented).collect();
    let untested: Vec<_> = documented.difference(&covered).collect();
    assert!(
        undocumented.is_empty(),
        "produced but not documented: {undocumented:?}"
    );
    assert!(
        untested.is_empty(),
        "documented but never produced: {untested:?}"
    );
}

#[tokio::test]
async fn methods_a_path_does_not_document_are_refused() {
    let doc = document();
    let app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
        ] {
            let name = method.as_str().to_ascii_lowercase();
            if item.get(&name).is_none() {
                let response = app.send(method, path, &[], "").await;
                response.assert_error(405, "method_not_allowed");
            }
        }
    }
}

#[test]
fn error_responses_use_the_error_schema_and_the_codes_match_common() {
    let doc = document();
    for (path, status) in documented_operations(&doc)
        .into_iter()
        .filter(|(_, _, status)| *status >= 400)
        .map(|(path, method, status)| ((path, method), status))
    {
        let (path, method) = path;
        let schema = &doc["paths"][&path][&method]["responses"][status.to_string()]["content"]
            ["application/json"]["schema"];
        if path == "/health" && status == 503 {
            // Unhealthy (a Health body), or a deep check refused as busy (an Error body).
            assert_eq!(
                schema["oneOf"],
                serde_json::json!([
                    {"$ref": "#/components/schemas/Health"},
                    {"$ref": "#/components/schemas/Error"}
                ])
            );
        } else {
            let schema = &schema["$ref"];
            assert_eq!(
                schema, "#/components/schemas/Error",
                "{method} {path} {status}"
            );
        }
    }
    let codes =
        &doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"];
    for code in codes.as_array().unwrap() {
        let parsed: common::payload::ErrorCode = serde_json::from_value(code.clone()).unwrap();
        assert_ne!(parsed, common::payload::ErrorCode::Unknown, "{code}");
    }
}

/// Checks `value` against `schema`, a schema of the document whose `$ref`s point into it.
fn validate(doc: &Value, schema: &Value, value: &Value) -> Result<(), String> {
    // The document is the root resource, so that `#/components/...` references resolve; the
    // schema's keywords join it at the root, where OpenAPI's own keys (`openapi`, `info`,
    // `paths`, `components`) are no JSON Schema keywords and change nothing.
    let mut root = doc.as_object().expect("the document is an object").clone();
    root.extend(
        schema
            .as_object()
            .expect("a schema is an object")
            .iter()
            .map(|(keyword, rule)| (keyword.clone(), rule.clone())),
    );
    let validator = jsonschema::draft202012::new(&Value::Object(root))
        .unwrap_or_else(|err| panic!("the schema {schema} does not compile: {err}"));
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|err| format!("{err} (at {})", err.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

#[test]
fn the_schemas_reject_what_they_should() {
    let doc = document();
    let error = serde_json::json!({"$ref": "#/components/schemas/Error"});
    let ok = serde_json::json!({"error":{"code":"timeout","message":"m"}});
    assert!(validate(&doc, &error, &ok).is_ok());
    for bad in [
        serde_json::json!({"error":{"code":"nope","message":"m"}}),
        serde_json::json!({"error":{"code":"timeout"}}),
        serde_json::json!({"error":{"code":"timeout","message":""}}),
        serde_json::json!({"error":{"code":"timeout","message":"m"},"extra":1}),
        serde_json::json!({"reply":"x"}),
    ] {
        assert!(validate(&doc, &error, &bad).is_err(), "{bad}");
    }
    let health = serde_json::json!({"$ref": "#/components/schemas/Health"});
    let bad = serde_json::json!({"status":"ok","nats":"connected","version":"1","workers":-1});
    assert!(validate(&doc, &health, &bad).is_err());
}

#[test]
fn the_request_schema_matches_the_parser_and_the_contract_constants() {
    use common::payload::{History, MessageContent, RelayRequest};
    use serde_json::json;

    let doc = document();
    let schema = json!({"$ref": "#/components/schemas/RelayRequest"});
    let entry = |role: &str| json!({"role": role, "author_id": "9", "content": "earlier"});
    let mut full = crate::helpers::valid_request("hi");
    full["message_id"] = json!("4");
    full["history"] = json!([entry("user"), entry("assistant"), entry("staff")]);
    let mut null_history = crate::helpers::valid_request("hi");
    null_history["history"] = Value::Null;
    for request in [crate::helpers::valid_request("hi"), full, null_history] {
        RelayRequest::parse(request.to_string().as_bytes()).expect("the parser accepts it");
        validate(&doc, &schema, &request).expect("the schema accepts it");
    }
    let mut bad_role = crate::helpers::valid_request("hi");
    bad_role["history"] = json!([entry("moderator")]);
    assert!(RelayRequest::parse(bad_role.to_string().as_bytes()).is_err());
    assert!(validate(&doc, &schema, &bad_role).is_err());

    let history = &doc["components"]["schemas"]["RelayRequest"]["properties"]["history"];
    assert_eq!(history["maxItems"], History::MAX_MESSAGES);
    assert!(history["description"]
        .as_str()
        .unwrap()
        .contains(&History::MAX_TOTAL_CHARS.to_string()));
    let entry = &doc["components"]["schemas"]["HistoryEntry"]["properties"];
    assert_eq!(entry["role"]["enum"], json!(["user", "assistant", "staff"]));
    assert_eq!(entry["content"]["maxLength"], MessageContent::MAX_CHARS);
}

#[test]
fn the_ticket_schema_matches_the_parser_and_the_contract_constants() {
    use common::payload::{Form, FormAnswerText, FormQuestion, RelayRequest, TopicName};
    use serde_json::json;

    let doc = document();
    let schema = json!({"$ref": "#/components/schemas/RelayRequest"});
    let answer = |a: &str| json!({"question": "Order number", "answer": a});
    let with = |ticket: Value| {
        let mut request = crate::helpers::valid_request("hi");
        request["ticket"] = ticket;
        request
    };
    for good in [
        Value::Null,
        json!({"topic": "Billing"}),
        json!({"topic": "Billing", "form": null}),
        json!({"topic": "Billing", "form": [answer("A-1042"), answer("x")]}),
    ] {
        let request = with(good);
        RelayRequest::parse(request.to_string().as_bytes()).expect("the parser accepts it");
        validate(&doc, &schema, &request).expect("the schema accepts it");
    }
    let six: Vec<Value> = (0..6).map(|_| answer("x")).collect();
    for bad in [
        json!("Billing"),
        json!({}),
        json!({"topic": ""}),
        json!({"topic": "Billing", "form": [answer("")]}),
        json!({"topic": "Billing", "form": six}),
    ] {
        let request = with(bad);
        assert!(
            RelayRequest::parse(request.to_string().as_bytes()).is_err(),
            "{request}"
        );
        assert!(validate(&doc, &schema, &request).is_err(), "{request}");
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["TicketContext"]["properties"]["topic"]["maxLength"],
        TopicName::MAX_CHARS
    );
    assert_eq!(
        schemas["TicketContext"]["properties"]["form"]["maxItems"],
        Form::MAX_QUESTIONS
    );
    let form = &schemas["FormAnswer"]["properties"];
    assert_eq!(form["question"]["maxLength"], FormQuestion::MAX_CHARS);
    assert_eq!(form["answer"]["maxLength"], FormAnswerText::MAX_CHARS);
}
