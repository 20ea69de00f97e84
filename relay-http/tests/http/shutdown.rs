//! Graceful shutdown: stop accepting, finish the requests in flight, then drain NATS and return.

use common::test_util::eventually;

use crate::helpers::{spawn_app, valid_request, READY_WITHIN, WAIT};

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_then_stops_accepting() {
    let mut app = spawn_app().await;
    let address = app.address;

    // A request the worker holds until we open the gate.
    let body = valid_request(WAIT).to_string();
    let in_flight = {
        let request = hyper_request(address, body);
        tokio::spawn(request)
    };
    app.started
        .recv()
        .await
        .expect("the worker got the request");

    // Shutdown starts while the request is in flight: the listener closes...
    app.begin_shutdown();
    eventually("the listener to close", READY_WITHIN, || async {
        tokio::net::TcpStream::connect(address)
            .await
            .is_err()
            .then_some(())
    })
    .await;
    // ...and the request in flight still gets its answer.
    app.gate.add_permits(1);
    app.stop()
        .await
        .expect("run returns Ok after a clean shutdown");
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"reply":"waited"}"#);
}

/// One request on a connection of its own, so the test's pooled client is not involved.
async fn hyper_request(address: std::net::SocketAddr, body: String) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = axum::http::Request::post("/relay")
        .header("host", address.to_string())
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn shutdown_gives_up_on_a_stalled_client_after_the_grace_period() {
    use relay_http::{HttpError, HttpSettings};
    use tokio::io::AsyncWriteExt;

    let mut app = crate::helpers::spawn_app_with(crate::helpers::Options {
        settings: HttpSettings {
            relay_timeout: std::time::Duration::from_secs(1),
            ..crate::helpers::test_settings()
        },
        ..Default::default()
    })
    .await;
    // A client that announces a body and never sends it keeps its request in flight.
    let mut stalled = tokio::net::TcpStream::connect(app.address).await.unwrap();
    stalled
        .write_all(
            b"POST /relay HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"guild_id\":",
        )
        .await
        .unwrap();
    stalled.flush().await.unwrap();
    // That connection was accepted before this round trip's, and its head was already sent:
    // once a later request is answered, the sidecar is waiting for that body.
    app.wait_until_relaying().await;

    let outcome = app.stop().await;
    assert!(
        matches!(outcome, Err(HttpError::ShutdownTimeout(_))),
        "{outcome:?}"
    );
    drop(stalled);
}
