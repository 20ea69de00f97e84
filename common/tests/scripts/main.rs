//! `scripts/lib/nats.sh`, which `scripts/run` asks before it uses the NATS server at
//! `NATS_URL`: a server that answers but cannot hold the bot's ticket state (older than 2.10,
//! as Debian's package is, or without JetStream) is told apart from one that can, from the INFO
//! line it greets every client with, and a free port is found for a server of our own beside
//! it. Run through `bash`, as `scripts/run` runs it.

use std::{
    io::Write,
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::Command,
    thread,
};

use common::test_util::NatsServer;

/// Calls `function` of `scripts/lib/nats.sh` with `args`; whether it succeeded, and what it
/// printed, trimmed.
fn call(function: &str, args: &[&str]) -> (bool, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib/nats.sh");
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!(r#"source "$0" && {function} "$@""#))
        .arg(&script)
        .args(args)
        .output()
        .expect("bash runs");
    let printed = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    (output.status.success(), printed)
}

fn unfit(port: u16) -> String {
    call("nats_unfit", &["127.0.0.1", &port.to_string()]).1
}

fn answers(port: u16) -> bool {
    call("nats_answers", &["127.0.0.1", &port.to_string()]).0
}

/// A stand-in that greets every client with `INFO <info>` as a NATS server does; its port.
fn greeter(info: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = write!(stream, "INFO {info}\r\n");
        }
    });
    port
}

#[test]
fn a_server_older_than_2_10_or_without_jetstream_is_unfit_and_says_why() {
    let debian = greeter(r#"{"server_id":"N1","version":"2.9.10","proto":1,"jetstream":true}"#);
    assert_eq!(unfit(debian), "is nats-server 2.9.10");
    let plain =
        greeter(r#"{"server_id":"N2","version":"2.10.26","proto":1,"max_payload":1048576}"#);
    assert_eq!(unfit(plain), "has no JetStream");
    let newer = greeter(r#"{"server_id":"N3","version":"3.0.0","jetstream":true}"#);
    assert_eq!(unfit(newer), "", "a later major release");
    let odd = greeter(r#"{"server_id":"N4","jetstream":true}"#);
    assert_eq!(unfit(odd), "gives no version");
}

#[test]
fn a_recent_server_with_jetstream_is_fit_and_one_without_it_is_not() {
    let server = NatsServer::start_jetstream();
    assert!(answers(server.port()));
    assert_eq!(unfit(server.port()), "");
    let plain = NatsServer::start();
    assert_eq!(unfit(plain.port()), "has no JetStream");
}

#[test]
fn no_answer_is_said_and_a_taken_port_is_skipped() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    // Something listens there, but says nothing a NATS server says (three calls connect).
    let quiet = thread::spawn(move || {
        let _held: Vec<TcpStream> = taken.incoming().take(3).filter_map(Result::ok).collect();
    });
    assert!(!answers(port));
    assert_eq!(unfit(port), "does not answer");
    let (found, free) = call("free_port", &[&port.to_string()]);
    assert!(found);
    let free: u16 = free.parse().unwrap();
    assert!(free > port, "{free} after the taken {port}");
    quiet.join().unwrap();
}
