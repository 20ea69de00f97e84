//! `GET /metrics`: the sidecar's page follows `/relay`'s token and concurrency rules, counts its
//! own requests by route and status, and carries each worker's page with `ticket_up`.

use axum::http::Method;

use crate::helpers::{
    app_with_a_token, app_with_its_one_slot_taken, post_json, spawn_app, valid_request,
};

/// The value of the sample of `page` whose line contains `labels` (0 without one).
fn sample(page: &str, labels: &str) -> f64 {
    page.lines()
        .find(|line| !line.starts_with('#') && line.contains(labels))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn the_page_has_the_sidecars_requests_and_each_workers_series() {
    let app = spawn_app().await;
    let ok_relays = r#"route="/relay",status="200"}"#;
    let before = String::from_utf8(app.get("/metrics").await.body.to_vec()).unwrap();
    assert_eq!(post_json(app.address, &valid_request("hi")).await.0, 200);
    let response = app.get("/metrics").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8",
        "the classic format unless OpenMetrics is asked for"
    );
    let page = String::from_utf8(response.body.to_vec()).unwrap();
    assert!(!page.contains("# EOF"), "{page}");
    assert!(
        page.contains("# TYPE relay_http_requests_total counter\n"),
        "{page}"
    );
    assert_eq!(
        sample(&page, ok_relays) - sample(&before, ok_relays),
        1.0,
        "the relay between the scrapes is counted: {page}"
    );
    assert_eq!(
        sample(&page, r#"route="/metrics",status="200"}"#)
            - sample(&before, r#"route="/metrics",status="200"}"#),
        1.0,
        "and so is the first scrape: {page}"
    );
    assert!(
        page.lines().any(
            |line| line.starts_with(r#"ticket_up{service="ticket-relay",instance=""#)
                && line.ends_with("} 1")
        ),
        "{page}"
    );
    assert!(
        page.contains(r#"relay_worker_requests_total{service="ticket-relay""#),
        "{page}"
    );
}

#[tokio::test]
async fn the_page_needs_the_token_and_a_concurrency_slot() {
    let app = app_with_a_token().await;
    app.get("/metrics").await.assert_error(401, "unauthorized");

    let (app, first) = app_with_its_one_slot_taken().await;
    app.get("/metrics").await.assert_error(503, "busy");
    app.gate.add_permits(1);
    first.await.unwrap();
    assert_eq!(app.get("/metrics").await.status, 200);
}

#[tokio::test]
async fn prometheus_gets_openmetrics_when_it_asks() {
    let app = spawn_app().await;
    let accept = [(
        "accept",
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    )];
    let response = app
        .send(Method::GET, "/metrics", &accept, bytes::Bytes::new())
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.headers["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let page = String::from_utf8(response.body.to_vec()).unwrap();
    assert!(page.ends_with("# EOF\n"), "{page}");
    assert_eq!(page.matches("# EOF").count(), 1, "{page}");
    assert!(
        page.contains("# TYPE relay_http_requests counter\n"),
        "{page}"
    );
}
