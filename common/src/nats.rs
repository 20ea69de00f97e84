//! The one way every binary connects to NATS: a named connection that keeps retrying the first
//! connect, reconnects forever with capped exponential backoff, and logs every change of state.

use std::time::Duration;

use async_nats::{Client, ConnectOptions, Event};
use secrecy::ExposeSecret;

use crate::config::{ConfigError, NatsSettings};

/// The connection could not even be set up (bad address or unreadable credentials file).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A setting is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The credentials file cannot be read.
    #[error("cannot read NATS_CREDS file {path}: {source}")]
    Credentials {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The client refused the options.
    #[error("cannot connect to NATS: {0}")]
    Connect(#[from] async_nats::ConnectError),
}

/// Delay before reconnect attempt `attempt` (0-based): 0, 100 ms, 200 ms, ... capped at 5 s.
pub fn reconnect_delay(attempt: usize) -> Duration {
    if attempt == 0 {
        return Duration::ZERO;
    }
    let exponent = u32::try_from(attempt - 1).unwrap_or(u32::MAX).min(6);
    Duration::from_millis(100 * 2u64.pow(exponent)).min(Duration::from_secs(5))
}

/// Connects as `name` (shown by `nats server report connections`).
///
/// Returns as soon as the client exists: if no server is up yet the client keeps trying in the
/// background, and requests fail fast (`connection_state()` is not `Connected`) until it is.
pub async fn connect(settings: &NatsSettings, name: &str) -> Result<Client, ConnectError> {
    let servers = settings.server_addrs()?;
    let mut options = ConnectOptions::new()
        .name(name)
        .custom_inbox_prefix(settings.inbox_prefix())
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(reconnect_delay)
        .event_callback(|event| async move { log_event(&event) });

    if let Some(path) = &settings.nats_creds {
        options =
            options
                .credentials_file(path)
                .await
                .map_err(|source| ConnectError::Credentials {
                    path: path.display().to_string(),
                    source,
                })?;
    } else if let Some(token) = &settings.nats_token {
        options = options.token(token.expose_secret().to_owned());
    } else if let (Some(user), Some(password)) = (&settings.nats_user, &settings.nats_password) {
        options = options.user_and_password(user.clone(), password.expose_secret().to_owned());
    } else if let Some((user, password)) = settings.url_credentials()? {
        // Taken out of the addresses, which the client library logs.
        options = match password {
            Some(password) => options.user_and_password(user, password),
            None => options.token(user),
        };
    }

    tracing::info!(servers = %settings.redacted_url(), connection = name, "connecting to NATS");
    Ok(options.connect(servers).await?)
}

/// Drains `client` (its subscriptions' messages handled, what it wrote sent), giving up after
/// `grace` so that a server that is down does not hold a process's stop. A failure is logged
/// as a warning: at the stop there is nothing else to do about it.
///
/// What the server had sent but the client not yet read may still be lost: async-nats closes
/// the subscriptions on its next turn without waiting for the server's answer to its
/// unsubscribe (other NATS clients wait for it). The bot catches up on what it missed at its
/// next start.
pub async fn drain_within(client: &Client, grace: Duration) {
    match tokio::time::timeout(grace, client.drain()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(error = %err, "cannot drain the NATS connection"),
        Err(_) => tracing::warn!("NATS drain did not finish in time"),
    }
}

fn log_event(event: &Event) {
    match event {
        Event::Connected => tracing::info!("NATS connected"),
        Event::Disconnected => tracing::warn!("NATS disconnected, reconnecting"),
        Event::LameDuckMode => tracing::warn!("NATS server entering lame duck mode"),
        Event::Draining => tracing::info!("NATS connection draining"),
        Event::Closed => tracing::info!("NATS connection closed"),
        Event::SlowConsumer(sid) => {
            tracing::warn!(subscription = sid, "NATS slow consumer, messages dropped");
        }
        Event::ServerError(err) => tracing::error!(error = %err, "NATS server error"),
        Event::ClientError(err) => tracing::error!(error = %err, "NATS client error"),
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[test]
    fn reconnect_delay_grows_and_is_capped() {
        assert_eq!(reconnect_delay(0), Duration::ZERO);
        assert_eq!(reconnect_delay(1), Duration::from_millis(100));
        assert_eq!(reconnect_delay(2), Duration::from_millis(200));
        assert_eq!(reconnect_delay(100), Duration::from_secs(5));
        assert_eq!(reconnect_delay(usize::MAX), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_drain_delivers_what_was_sent_and_ends_the_subscriptions() {
        let server = crate::test_util::NatsServer::start();
        let client = async_nats::connect(server.url()).await.expect("connect");
        let mut subscriber = client.subscribe("drain.test").await.expect("subscribe");
        client.flush().await.expect("flush");
        client
            .publish("drain.test", "last words".into())
            .await
            .expect("publish");
        // A round trip through the server (no one answers this request) brings in everything
        // it sent before: async-nats's drain may lose what is still on the wire (see above),
        // and `flush` only writes to the socket.
        let nobody = client.request("drain.nobody", "".into()).await;
        assert!(nobody.is_err(), "no responders");
        let (logs, _guard) = crate::test_util::capture_logs(crate::telemetry::Service::Bot, "warn");

        drain_within(&client, Duration::from_secs(5)).await;

        let message = subscriber
            .next()
            .await
            .expect("the message sent before the drain");
        assert_eq!(message.payload, "last words");
        assert!(
            subscriber.next().await.is_none(),
            "the drain ends the subscription"
        );
        assert_eq!(logs.contents(), "");
    }
}
