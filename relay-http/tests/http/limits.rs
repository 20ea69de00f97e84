//! The sidecar sheds load instead of hanging: slow headers are cut off, slow bodies get 408,
//! requests beyond the concurrency limit get 503 `busy` at once, and no request outlives the
//! overall request timeout.

use std::{net::SocketAddr, time::Duration};

use relay_http::HttpSettings;
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{
    app_with_its_one_slot_taken, silent_worker, spawn_app_with, test_settings, valid_request,
    Options,
};

/// The status and JSON body of a raw HTTP/1.1 response read to the end of the connection.
pub struct RawResponse {
    pub status: u16,
    pub body: Value,
}

/// Sends the headers of a `/relay` POST (with `authorization` when given) announcing a
/// 200-byte body, then 10 bytes of it, and never the rest; returns what the sidecar answers.
pub async fn post_with_a_stalled_body(
    address: SocketAddr,
    authorization: Option<&str>,
) -> RawResponse {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let authorization = authorization
        .map(|value| format!("authorization: {value}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST /relay HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
         {authorization}connection: close\r\ncontent-length: 200\r\n\r\n{{\"guild_id"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    RawResponse {
        status,
        body: serde_json::from_str(body).unwrap_or_else(|err| panic!("{err}: {text:?}")),
    }
}

#[tokio::test]
async fn a_client_sending_its_headers_a_byte_a_second_is_cut_off() {
    let app = spawn_app_with(Options {
        worker: false,
        settings: HttpSettings {
            header_timeout: Duration::from_secs(1),
            ..test_settings()
        },
    })
    .await;
    let stream = TcpStream::connect(app.address).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let closed = tokio::spawn(async move {
        let mut sink = Vec::new();
        reader.read_to_end(&mut sink).await.ok();
    });
    let headers = b"POST /relay HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\r\n";
    let mut sent = 0;
    for byte in headers {
        if closed.is_finished() {
            break;
        }
        if writer.write_all(&[*byte]).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        sent < headers.len(),
        "the sidecar read all {} header bytes at 4 bytes/s without closing",
        headers.len()
    );
    tokio::time::timeout(Duration::from_secs(10), closed)
        .await
        .expect("the connection is closed")
        .unwrap();
    // Well-behaved clients are unaffected.
    assert_eq!(app.get("/health").await.status, 200);
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_408_request_timeout() {
    let app = spawn_app_with(Options {
        settings: HttpSettings {
            body_timeout: Duration::from_secs(1),
            ..test_settings()
        },
        ..Options::default()
    })
    .await;
    let response = post_with_a_stalled_body(app.address, None).await;
    assert_eq!(response.status, 408, "{}", response.body);
    assert_eq!(response.body["error"]["code"], "request_timeout");
    assert!(
        response.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("body: did not arrive within 1s"),
        "{}",
        response.body
    );
}

#[tokio::test]
async fn beyond_the_concurrency_limit_relay_answers_503_busy_at_once() {
    let (app, first) = app_with_its_one_slot_taken().await;

    let refused = app.relay(&valid_request("me too")).await;
    let message = refused.assert_error(503, "busy");
    assert!(message.contains("concurrent requests"), "{message}");
    assert_eq!(
        app.get("/health").await.status,
        200,
        "health is not limited"
    );

    app.gate.add_permits(1);
    let (status, body) = first.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.relay(&valid_request("now")).await.status, 200);
}

#[tokio::test]
async fn no_request_outlives_the_request_timeout() {
    let app = spawn_app_with(Options {
        worker: false,
        settings: HttpSettings {
            relay_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(1),
            ..test_settings()
        },
    })
    .await;
    let _silent = silent_worker(&app).await;
    let message = app
        .relay(&valid_request("hi"))
        .await
        .assert_error(504, "timeout");
    assert!(message.contains("took longer than 1s"), "{message}");
}
