//! What wraps every route: CORS, bearer authentication on `/relay`, and panics caught as a
//! JSON 500.

use axum::{
    body::Body,
    http::{Method, Request},
    routing::get,
    Router,
};
use relay_http::{AllowedOrigins, HttpSettings};
use serde_json::Value;
use tower::ServiceExt;

use crate::helpers::{spawn_app, spawn_app_with, valid_request, Options};

fn header<'a>(response: &'a crate::helpers::TestResponse, name: &str) -> Option<&'a str> {
    response.headers.get(name).map(|v| v.to_str().unwrap())
}

async fn preflight(app: &crate::helpers::TestApp, origin: &str) -> crate::helpers::TestResponse {
    app.send(
        Method::OPTIONS,
        "/relay",
        &[
            ("origin", origin),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "content-type,authorization,x-request-id",
            ),
        ],
        "",
    )
    .await
}

#[tokio::test]
async fn cors_preflight_allows_every_origin_by_default() {
    let app = spawn_app().await;
    let response = preflight(&app, "https://anywhere.example").await;
    assert_eq!(response.status, 200);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    let methods = header(&response, "access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let headers = header(&response, "access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "content-type",
        "authorization",
        "x-request-id",
        "traceparent",
        "tracestate",
    ] {
        assert!(headers.contains(name), "{headers}");
    }

    // The actual request gets the header too, and may read x-request-id.
    let response = app
        .relay_with(
            &[("origin", "https://anywhere.example")],
            valid_request("hi").to_string(),
        )
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(&response, "access-control-expose-headers"),
        Some("x-request-id")
    );
}

#[tokio::test]
async fn cors_allowed_origins_restricts_the_origins() {
    let app = spawn_app_with(Options {
        settings: HttpSettings {
            allowed_origins: AllowedOrigins::parse(Some(
                "https://ok.example, http://localhost:3000",
            ))
            .unwrap(),
            ..crate::helpers::test_settings()
        },
        ..Options::default()
    })
    .await;
    let allowed = preflight(&app, "https://ok.example").await;
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some("https://ok.example")
    );
    let refused = preflight(&app, "https://evil.example").await;
    assert_eq!(header(&refused, "access-control-allow-origin"), None);
    let response = app
        .relay_with(
            &[("origin", "https://evil.example")],
            valid_request("hi").to_string(),
        )
        .await;
    // CORS is enforced by the browser: the server answers, without allowing the origin.
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn bearer_auth_guards_relay_when_a_token_is_set() {
    let app = spawn_app_with(Options {
        settings: HttpSettings {
            api_token: Some("t0ken".to_owned().into()),
            ..crate::helpers::test_settings()
        },
        ..Options::default()
    })
    .await;
    let body = valid_request("hi").to_string();
    let json = [("content-type", "application/json")];
    let response = app.send(Method::POST, "/relay", &json, body.clone()).await;
    let message = response.assert_error(401, "unauthorized");
    assert!(message.contains("Bearer"), "{message}");
    assert_eq!(header(&response, "www-authenticate"), Some("Bearer"));
    for wrong in ["Bearer t0ke", "Bearer t0ken2", "Basic t0ken", "t0ken"] {
        app.relay_with(&[("authorization", wrong)], body.clone())
            .await
            .assert_error(401, "unauthorized");
    }
    // Authentication comes before any look at the body.
    app.relay_with(&[("authorization", "Bearer nope")], "not json")
        .await
        .assert_error(401, "unauthorized");
    let response = app
        .relay_with(&[("authorization", "Bearer t0ken")], body.clone())
        .await;
    assert_eq!(response.status, 200);
    let response = app
        .relay_with(&[("authorization", "bearer t0ken")], body)
        .await;
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn without_a_token_relay_is_open() {
    let app = spawn_app().await;
    let response = app
        .send(
            Method::POST,
            "/relay",
            &[("content-type", "application/json")],
            valid_request("hi").to_string(),
        )
        .await;
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn a_panicking_handler_becomes_an_opaque_json_500() {
    let router = Router::new().route(
        "/boom",
        get(|| async {
            if true {
                panic!("secret detail");
            }
        }),
    );
    let app = relay_http::with_middleware(router, &AllowedOrigins::Any);
    let request = Request::get("/boom")
        .header("x-request-id", "panic-1")
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()["x-request-id"], "panic-1");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"]["code"], "internal");
    assert!(!json.to_string().contains("secret"), "{json}");
}
