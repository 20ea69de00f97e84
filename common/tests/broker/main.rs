//! Integration tests of the ticket state's broker side: against the repo's least-privilege
//! nats-server config with JetStream, the `bot` user may create and use the key-value buckets
//! `ticket_guilds`, `tickets` and `ticket_feedback`, its claims bucket `relay_claims` and its
//! transcript archive (the object store `ticket_transcripts`) with exactly the calls the bot
//! makes, and nobody else may touch them.

mod helpers;

use std::{collections::BTreeSet, time::Duration};

use async_nats::jetstream::kv::{CreateErrorKind, Operation, UpdateErrorKind};
use bytes::Bytes;
use common::test_util::LeastPrivilegeServer;
use futures::{future::join_all, StreamExt, TryStreamExt};
use helpers::*;

#[tokio::test]
async fn the_bot_user_creates_and_uses_every_bucket_without_a_permissions_violation() {
    let broker = LeastPrivilegeServer::start_jetstream();
    let (jetstream, mut events) = connect_bot(&broker, WITHIN).await;

    for bucket in BUCKETS {
        // Missing: created. Then found: opened.
        open_bucket(&jetstream, bucket).await.expect("created");
        let store = open_bucket(&jetstream, bucket).await.expect("opened");

        let first = store.put("1", Bytes::from_static(b"a")).await.expect("put");
        assert_eq!(
            store.get("1").await.expect("get").as_deref(),
            Some(&b"a"[..])
        );
        assert_eq!(store.get("absent").await.expect("get"), None);

        // Compare-and-set: the current revision wins, a stale one is refused by JetStream
        // (not by permissions).
        let second = store
            .update("1", Bytes::from_static(b"b"), first)
            .await
            .expect("update at the current revision");
        let stale = store
            .update("1", Bytes::from_static(b"c"), first)
            .await
            .expect_err("update at a stale revision");
        assert_eq!(stale.kind(), UpdateErrorKind::WrongLastRevision);
        assert_eq!(
            store.entry("1").await.expect("entry").map(|e| e.revision),
            Some(second)
        );

        store
            .create("2", Bytes::from_static(b"x"))
            .await
            .expect("create");
        let taken = store
            .create("2", Bytes::from_static(b"y"))
            .await
            .expect_err("create of an existing key");
        assert_eq!(taken.kind(), CreateErrorKind::AlreadyExists);
        store.delete("2").await.expect("delete");
        assert_eq!(store.get("2").await.expect("get"), None);
        // `create` over a deleted key reads the delete marker's revision first.
        store
            .create("2", Bytes::from_static(b"z"))
            .await
            .expect("create over a deleted key");

        let keys: BTreeSet<String> = store
            .keys()
            .await
            .expect("keys")
            .try_collect()
            .await
            .expect("every key");
        assert_eq!(keys, BTreeSet::from(["1".to_owned(), "2".to_owned()]));

        let mut watch = store.watch("1").await.expect("watch");
        store.put("1", Bytes::from_static(b"d")).await.expect("put");
        let seen = tokio::time::timeout(WITHIN, watch.next())
            .await
            .expect("the watch sees the put")
            .expect("watch open")
            .expect("an entry");
        assert_eq!((seen.key.as_str(), seen.operation), ("1", Operation::Put));
        assert_eq!(&seen.value[..], b"d");
    }

    assert_eq!(events.reported_violations(), Vec::<String>::new());
    broker.assert_no_violations();
}

#[tokio::test]
async fn the_bot_user_answers_flow_control_when_a_watch_delivers_a_lot() {
    // Push consumers (watch, keys) with flow control stop after a window of a few megabytes
    // until the client answers the server's flow-control request, a publish on `$JS.FC.>`.
    const VALUES: usize = 12;
    const VALUE_SIZE: usize = 600 * 1024;
    let broker = LeastPrivilegeServer::start_jetstream();
    let (jetstream, mut events) = connect_bot(&broker, WITHIN).await;
    let store = open_bucket(&jetstream, "tickets").await.expect("created");
    let value = Bytes::from(vec![b'v'; VALUE_SIZE]);
    for key in 0..VALUES {
        store
            .put(key.to_string(), value.clone())
            .await
            .expect("put");
    }

    let watch = store.watch_with_history(">").await.expect("watch");
    let entries: Vec<_> = tokio::time::timeout(WITHIN, watch.take(VALUES).try_collect())
        .await
        .expect("every value arrives: flow control was answered")
        .expect("entries");
    assert_eq!(entries.len(), VALUES);

    assert_eq!(events.reported_violations(), Vec::<String>::new());
    broker.assert_no_violations();
}

#[tokio::test]
async fn a_bot_watch_outlives_a_server_restart_without_a_permissions_violation() {
    let mut broker = LeastPrivilegeServer::start_jetstream();
    let (jetstream, mut events) = connect_bot(&broker, WITHIN).await;
    let store = open_bucket(&jetstream, "ticket_guilds")
        .await
        .expect("created");
    let mut watch = store.watch("1").await.expect("watch");
    store
        .put("1", Bytes::from_static(b"before"))
        .await
        .expect("put");
    let seen = next_value(&mut watch)
        .await
        .expect("the watch sees the put");
    assert_eq!(&seen[..], b"before");

    broker.server_mut().restart();
    // The client reconnects at once; the watch's ordered consumer notices later (at the
    // latest when the server's idle heartbeats stop), then deletes the old consumer and
    // creates a named one (each a permission of its own), and goes on from the last revision
    // it saw.
    let deadline = tokio::time::Instant::now() + RECREATE_WITHIN;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let value = Bytes::from(format!("after {attempt}"));
        // A put sent while the client was still reconnecting gets no ack: try another.
        if tokio::time::timeout(PUT_AFTER_RESTART_WAIT, store.put("1", value.clone()))
            .await
            .is_ok()
        {
            if let Some(seen) = next_value(&mut watch).await {
                if seen == value {
                    break;
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the watch saw no put within {RECREATE_WITHIN:?} of the restart"
        );
    }

    assert_eq!(events.reported_violations(), Vec::<String>::new());
    broker.assert_no_violations();
}

#[tokio::test]
async fn once_the_buckets_exist_the_bot_cannot_point_them_at_other_subjects() {
    // NATS does not check a stream's subjects against its creator's permissions: the bot's
    // STREAM.CREATE could capture other users' traffic into a bucket it reads. Only before the
    // bucket exists, though, as this shows.
    let broker = LeastPrivilegeServer::start_jetstream();
    let (jetstream, mut events) = connect_bot(&broker, REFUSED_WAIT).await;
    for bucket in BUCKETS {
        open_bucket(&jetstream, bucket).await.expect("created");
        let other_subjects = async_nats::jetstream::stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec!["tickets.relay".to_owned(), "_INBOX.http.>".to_owned()],
            ..Default::default()
        };
        jetstream
            .create_stream(other_subjects.clone())
            .await
            .expect_err("JetStream refuses to create an existing stream with another config");
        let refused = format!("Publish to \"$JS.API.STREAM.UPDATE.KV_{bucket}\"");
        let (updated, _) = tokio::join!(
            jetstream.update_stream(other_subjects),
            events.permissions_violation(&refused),
        );
        updated.expect_err("the bot may not update the stream");
    }
}

/// How long one put after the restart waits for its ack before the next is tried.
const PUT_AFTER_RESTART_WAIT: Duration = Duration::from_secs(2);

/// The next value the watch delivers within a second, skipping the errors it reports while
/// its consumer is recreated; `None` if it delivers none.
async fn next_value(watch: &mut async_nats::jetstream::kv::Watch) -> Option<Bytes> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        match tokio::time::timeout_at(deadline, watch.next()).await {
            Ok(Some(Ok(entry))) => return Some(entry.value),
            Ok(Some(Err(_))) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

/// One thing a user other than the bot may try on a bucket, and the subject the server refuses.
#[derive(Debug, Clone, Copy)]
enum Attempt {
    /// `get_key_value`: stream info.
    OpenBucket,
    /// `create_key_value`: account info first, then the stream.
    CreateBucket,
    /// The stream creation itself, without the account info before it.
    CreateStream,
    /// `Store::get`: a direct get of the key's last message.
    Get,
    /// `Store::put`: a JetStream publish on the key's subject.
    Put,
    /// Reading every put as it is published, with a plain subscription.
    Listen,
}

impl Attempt {
    const ALL: [Attempt; 6] = [
        Attempt::OpenBucket,
        Attempt::CreateBucket,
        Attempt::CreateStream,
        Attempt::Get,
        Attempt::Put,
        Attempt::Listen,
    ];

    /// What the permissions violation names.
    fn refused(self, bucket: &str) -> String {
        match self {
            Attempt::OpenBucket => format!("Publish to \"$JS.API.STREAM.INFO.KV_{bucket}\""),
            Attempt::CreateBucket => "Publish to \"$JS.API.INFO\"".to_owned(),
            Attempt::CreateStream => format!("Publish to \"$JS.API.STREAM.CREATE.KV_{bucket}\""),
            Attempt::Get => format!("Publish to \"$JS.API.DIRECT.GET.KV_{bucket}.$KV.{bucket}.1\""),
            Attempt::Put => format!("Publish to \"$KV.{bucket}.1\""),
            Attempt::Listen => format!("Subscription to \"$KV.{bucket}.>\""),
        }
    }
}

/// As `user`, tries `attempt` on `bucket`; returns once the server reported the violation and
/// the attempt failed.
async fn assert_refused(broker: &LeastPrivilegeServer, user: &str, bucket: &str, attempt: Attempt) {
    let (client, mut events) = broker.connect_as(user).await;
    let jetstream = jetstream(client.clone(), REFUSED_WAIT);
    let try_it = async {
        match attempt {
            Attempt::OpenBucket => jetstream
                .get_key_value(bucket)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Attempt::CreateBucket => open_bucket(&jetstream, bucket)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Attempt::CreateStream => jetstream
                .create_stream(async_nats::jetstream::stream::Config {
                    name: format!("KV_{bucket}"),
                    subjects: vec![format!("$KV.{bucket}.>")],
                    ..Default::default()
                })
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Attempt::Get => {
                let subject = format!("$JS.API.DIRECT.GET.KV_{bucket}.$KV.{bucket}.1");
                match tokio::time::timeout(REFUSED_WAIT, client.request(subject, Bytes::new()))
                    .await
                {
                    Ok(Ok(_answer)) => Ok(()),
                    Ok(Err(err)) => Err(err.to_string()),
                    Err(_) => Err("no answer".to_owned()),
                }
            }
            Attempt::Put => match jetstream
                .publish(format!("$KV.{bucket}.1"), Bytes::from_static(b"forged"))
                .await
            {
                Ok(ack) => ack.await.map(drop).map_err(|e| e.to_string()),
                Err(err) => Err(err.to_string()),
            },
            Attempt::Listen => {
                let _subscription = client.subscribe(format!("$KV.{bucket}.>")).await;
                // The refusal comes as an error event only; the subscription just stays empty.
                Err("subscription refused".to_owned())
            }
        }
    };
    let expected = attempt.refused(bucket);
    let (outcome, _) = tokio::join!(try_it, events.permissions_violation(&expected));
    assert!(
        outcome.is_err(),
        "{user} could {attempt:?} on {bucket}, the server only reported the violation"
    );
}

#[tokio::test]
async fn the_worker_and_http_users_can_neither_create_nor_read_nor_write_the_buckets() {
    let broker = LeastPrivilegeServer::start_jetstream();
    let (bot, mut bot_events) = connect_bot(&broker, WITHIN).await;
    for bucket in BUCKETS {
        let store = open_bucket(&bot, bucket).await.expect("the bot creates it");
        store
            .put("1", Bytes::from_static(b"secret"))
            .await
            .expect("put");
    }

    let attempts = ["worker", "http"].into_iter().flat_map(|user| {
        BUCKETS.into_iter().flat_map(move |bucket| {
            Attempt::ALL
                .into_iter()
                .map(move |attempt| (user, bucket, attempt))
        })
    });
    join_all(
        attempts.map(|(user, bucket, attempt)| assert_refused(&broker, user, bucket, attempt)),
    )
    .await;

    // Nothing they tried landed.
    for bucket in BUCKETS {
        let store = open_bucket(&bot, bucket).await.expect("opened");
        assert_eq!(
            store.get("1").await.expect("get").as_deref(),
            Some(&b"secret"[..])
        );
    }
    // Nothing was refused to the bot itself.
    assert_eq!(bot_events.reported_violations(), Vec::<String>::new());
}

#[tokio::test]
async fn the_bot_user_archives_and_reads_transcripts_without_a_permissions_violation() {
    let broker = LeastPrivilegeServer::start_jetstream();
    let (jetstream, mut events) = connect_bot(&broker, WITHIN).await;
    // Missing: created. Then found: opened.
    open_archive(&jetstream).await.expect("created");
    let store = open_archive(&jetstream).await.expect("opened");

    // A file of many chunks (128 KiB each; enough for the read's flow control to ask), put
    // twice (the second replaces the first and purges its chunks), then read back.
    let big: Vec<u8> = (0..8_000_000_u32).map(|n| n as u8).collect();
    for _ in 0..2 {
        store
            .put("42/transcript.html", &mut big.as_slice())
            .await
            .expect("put");
    }
    store
        .put("42/attachments/7-a b.png", &mut &b"png"[..])
        .await
        .expect("put a name with a space");
    let mut read = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(
        &mut store.get("42/transcript.html").await.expect("get"),
        &mut read,
    )
    .await
    .expect("read");
    assert_eq!(read, big);
    assert!(store.get("42/absent").await.is_err(), "no such object");

    assert_eq!(events.reported_violations(), Vec::<String>::new());
    broker.assert_no_violations();
}

#[tokio::test]
async fn the_bot_user_claims_messages_without_a_permissions_violation() {
    let broker = LeastPrivilegeServer::start_jetstream();
    let (jetstream, mut events) = connect_bot(&broker, WITHIN).await;
    if let Err(err) = open_bucket(&jetstream, CLAIMS).await {
        panic!(
            "{err}: {:?}\n{}",
            broker.violations(),
            broker
                .logs()
                .lines()
                .filter(|l| l.contains("Violation") || l.contains("rror"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let claims = open_bucket(&jetstream, CLAIMS).await.expect("opened");
    claims
        .create("40", Bytes::from_static(b"pid 1"))
        .await
        .expect("the first claim");
    let taken = claims
        .create("40", Bytes::from_static(b"pid 2"))
        .await
        .expect_err("a second claim");
    assert_eq!(taken.kind(), CreateErrorKind::AlreadyExists);
    // Released by a shutdown, claimed again by the next start.
    claims.delete("40").await.expect("release");
    claims
        .create("40", Bytes::from_static(b"pid 3"))
        .await
        .expect("claimed again");

    assert_eq!(events.reported_violations(), Vec::<String>::new());
    broker.assert_no_violations();
}

#[tokio::test]
async fn the_worker_and_http_users_can_neither_read_nor_write_the_archive_nor_the_claims() {
    let broker = LeastPrivilegeServer::start_jetstream();
    let (bot, mut bot_events) = connect_bot(&broker, WITHIN).await;
    let archive = open_archive(&bot).await.expect("the bot creates it");
    archive
        .put("42/transcript.txt", &mut &b"secret"[..])
        .await
        .expect("put");
    open_bucket(&bot, CLAIMS).await.expect("the bot creates it");

    let archive_attempts = ["worker", "http"].into_iter().flat_map(|user| {
        ["open", "create", "read", "write", "listen"]
            .into_iter()
            .map(move |attempt| (user, attempt))
    });
    join_all(archive_attempts.map(|(user, attempt)| archive_refused(&broker, user, attempt))).await;
    // The claims, as any other bucket.
    let claim_attempts = ["worker", "http"].into_iter().flat_map(|user| {
        [
            Attempt::OpenBucket,
            Attempt::Get,
            Attempt::Put,
            Attempt::Listen,
        ]
        .into_iter()
        .map(move |attempt| (user, attempt))
    });
    join_all(claim_attempts.map(|(user, attempt)| assert_refused(&broker, user, CLAIMS, attempt)))
        .await;
    // Nothing was refused to the bot itself.
    assert_eq!(bot_events.reported_violations(), Vec::<String>::new());
}

/// As `user`, tries to `attempt` the archive (open, create, read a meta, write a chunk,
/// listen to everything); returns once the server reported the violation and it failed.
async fn archive_refused(broker: &LeastPrivilegeServer, user: &str, attempt: &str) {
    let refused = match attempt {
        "open" => format!("Publish to \"$JS.API.STREAM.INFO.OBJ_{ARCHIVE}\""),
        "create" => format!("Publish to \"$JS.API.STREAM.CREATE.OBJ_{ARCHIVE}\""),
        "read" => format!("Publish to \"$JS.API.DIRECT.GET.OBJ_{ARCHIVE}."),
        "write" => format!("Publish to \"$O.{ARCHIVE}.C.forged\""),
        _ => format!("Subscription to \"$O.{ARCHIVE}.>\""),
    };
    let (client, mut events) = broker.connect_as(user).await;
    let jetstream = jetstream(client.clone(), REFUSED_WAIT);
    let try_it = async {
        match attempt {
            "open" => jetstream.get_object_store(ARCHIVE).await.is_ok(),
            "create" => jetstream
                .create_stream(async_nats::jetstream::stream::Config {
                    name: format!("OBJ_{ARCHIVE}"),
                    subjects: vec![format!("$O.{ARCHIVE}.>")],
                    ..Default::default()
                })
                .await
                .is_ok(),
            "read" => {
                let subject = format!("$JS.API.DIRECT.GET.OBJ_{ARCHIVE}.$O.{ARCHIVE}.M.x");
                let asked = client.request(subject, Bytes::new());
                matches!(tokio::time::timeout(REFUSED_WAIT, asked).await, Ok(Ok(_)))
            }
            "write" => match jetstream
                .publish(format!("$O.{ARCHIVE}.C.forged"), Bytes::from_static(b"x"))
                .await
            {
                Ok(ack) => ack.await.is_ok(),
                Err(_) => false,
            },
            _ => {
                let _subscription = client.subscribe(format!("$O.{ARCHIVE}.>")).await;
                // The refusal comes as an error event only; the subscription stays empty.
                false
            }
        }
    };
    let (done, _) = tokio::join!(try_it, events.permissions_violation(&refused));
    assert!(!done, "{user} could {attempt} the archive");
}
