//! The `relay-http` binary itself: it reads its settings, logs as `[API]`, serves, and on a
//! real SIGTERM stops cleanly; a bad setting stops it at start with the variable's name.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use common::test_util::{eventually, NatsServer};

use crate::helpers::READY_WITHIN;

fn relay_http(vars: &[(&str, &str)]) -> Command {
    isolated(Command::new(env!("CARGO_BIN_EXE_relay-http")), vars)
}

/// `command` with only the variables the test sets: no .env, config file or stray variable of
/// the machine.
fn isolated(mut command: Command, vars: &[(&str, &str)]) -> Command {
    command
        .env_clear()
        .current_dir(std::env::temp_dir())
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn get(address: &str, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(address).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "relay-http did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn the_binary_serves_and_stops_cleanly_on_sigterm() {
    let nats = NatsServer::start();
    let url = nats.url();
    let mut child = relay_http(&[
        ("NATS_URL", url.as_str()),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("LOG_LEVEL", "info"),
    ])
    .spawn()
    .expect("relay-http starts");

    // Every stdout line goes to the channel, so the pipe never fills.
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut log = Vec::new();
    let address = loop {
        let line = lines
            .recv_timeout(READY_WITHIN)
            .unwrap_or_else(|_| panic!("no listening line; log so far: {log:#?}"));
        let address = line
            .split("HTTP sidecar listening address=")
            .nth(1)
            .map(|rest| rest.split_whitespace().next().unwrap().to_owned());
        log.push(line);
        if let Some(address) = address {
            break address;
        }
    };
    assert!(
        log.iter().all(|line| line.starts_with("[API] ")),
        "{log:#?}"
    );

    let health = eventually("/health 200", READY_WITHIN, || async {
        get(&address, "/health").filter(|response| response.starts_with("HTTP/1.1 200"))
    })
    .await;
    assert!(health.contains(r#""nats":"connected""#), "{health}");

    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let status = wait_exit(&mut child, READY_WITHIN);
    assert!(status.success(), "exit status {status}");
    // The reader thread hands over the last lines until it reads the pipe's end: wait for
    // that (the channel closes), not only for what it has handed over so far.
    while let Ok(line) = lines.recv_timeout(READY_WITHIN) {
        log.push(line);
    }
    assert!(
        log.iter()
            .any(|line| line == "[API] INFO - HTTP sidecar stopped"),
        "{log:#?}"
    );
}

/// Runs the binary with `key=value`, expects it to refuse to start, and returns its stderr.
fn refused(key: &str, value: &str) -> String {
    let mut child = relay_http(&[(key, value)]).spawn().unwrap();
    let status = wait_exit(&mut child, READY_WITHIN);
    assert!(!status.success(), "{key}={value} accepted");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    stderr
}

#[test]
fn a_bad_setting_stops_the_binary_naming_the_variable() {
    let stderr = refused("PORT", "eighty");
    assert!(stderr.contains("PORT"), "{stderr}");
}

#[test]
fn huge_numeric_settings_are_refused_by_name_without_a_panic() {
    for (key, value) in [
        ("RELAY_TIMEOUT_SECS", "18446744073709551615"),
        ("HTTP_BODY_LIMIT", "18446744073709551615"),
        ("HTTP_MAX_CONCURRENT_REQUESTS", "0"),
        ("HTTP_HEADER_TIMEOUT_SECS", "99999999999"),
    ] {
        let stderr = refused(key, value);
        assert!(stderr.contains(key), "{key}={value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{key}={value}: {stderr}");
    }
}

/// The soft and hard limits on open files of process `pid`, from `/proc/<pid>/limits`.
fn open_files_limits(pid: &str) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap_or_else(|| panic!("{limits}"));
    let mut numbers = line
        .split_whitespace()
        .filter_map(|word| word.parse::<u64>().ok());
    (numbers.next().unwrap(), numbers.next().unwrap())
}

#[test]
fn the_binary_raises_its_open_files_limit_to_the_hard_limit() {
    let nats = NatsServer::start();
    let url = nats.url();
    let (_, hard) = open_files_limits("self");
    let low = hard.min(256);
    // prlimit (util-linux) starts the binary with only its soft limit lowered, as systemd's
    // 1,024 would: the binary itself must raise it.
    let mut prlimit = Command::new("prlimit");
    prlimit
        .arg(format!("--nofile={low}:"))
        .arg(env!("CARGO_BIN_EXE_relay-http"));
    let mut child = isolated(
        prlimit,
        &[
            ("NATS_URL", url.as_str()),
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("LOG_LEVEL", "info"),
        ],
    )
    .spawn()
    .expect("prlimit starts relay-http");
    let mut log = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let listening = line.contains("HTTP sidecar listening");
        log.push(line);
        if listening {
            break;
        }
    }
    // prlimit execs the binary: the same process.
    let limits = open_files_limits(&child.id().to_string());
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(limits, (hard, hard), "{log:#?}");
    if low < hard {
        let raised = format!(
            "[API] INFO - open files: soft limit raised to the hard limit from={low} to={hard}"
        );
        assert!(log.contains(&raised), "{log:#?}");
    }
}
