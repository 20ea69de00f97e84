//! The sharded bot under load, the figure in the README's sharding section: a sandbox with
//! `GUILDS` guilds on `SHARDS` shards, Discord's rate limits and identify limit; `PROCESSES`
//! real `bot` processes on disjoint shard ranges, sending every REST call through one real
//! `discord-proxy` process (one token, one global budget of 50 calls a second); `TICKETS`
//! tickets opened across the guilds, each by a member of its own, and `MESSAGES` messages
//! written in each, which a relay worker answers at once. Prints the time against the floor
//! that the global limit sets, the 429s caused, whether each message was answered exactly
//! once, and each process's peak resident memory (`VmHWM` in `/proc`).
//!
//! ```sh
//! # The binaries it starts come from the same profile: build them first.
//! cargo build --release -p bot --bins
//! NATS_SERVER_BIN=... cargo run --release --example shard_load -p bot     # 20 guilds, 2 processes
//! PROCESSES=1 NATS_SERVER_BIN=... cargo run --release --example shard_load -p bot
//! GUILDS=100 TICKETS=5000 MESSAGES=2 ...                                  # the issue's size
//! ```
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `GUILDS` | 20 | guilds in the sandbox |
//! | `SHARDS` | 4 | shards, split evenly among the processes |
//! | `PROCESSES` | 2 | bot processes (1 to `SHARDS`) |
//! | `TICKETS` | 2 per guild | tickets in all, spread over the guilds |
//! | `MESSAGES` | 2 | messages written in each ticket |
//! | `IN_FLIGHT` | 100 | commands or messages left unanswered at once (0: all at once) |
//!
//! Why a window: at 50 calls a second, everything asked at once (`IN_FLIGHT=0`) queues
//! minutes of calls behind the global limit, far longer than a bot waits for one call
//! (`DISCORD_HTTP_TIMEOUT_SECS`, 15 s): the calls that wait longer fail, and their tickets are
//! refused or their messages left unanswered (the run counts both). A window of a few seconds'
//! worth of calls keeps the global limit busy with a short queue.
//!
//! The sandbox and the relay worker run in this program; the bots' logs (warnings and errors)
//! go to files in a temporary folder, named at the start.

use std::{
    cell::RefCell,
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use axum::http::Method;
use bot::test_util::{nats, PROBE, TOKEN};
use common::payload::{RelayReply, RelayRequest};
use relay_worker::{test_util::spawn_worker, Responder, ResponderError};
use sandbox::{
    guild_id, world::record::RECORD_LIMIT, Recorded, Sandbox, SandboxOptions, ADMIN_ID,
    MEMBER_A_ID, MEMBER_B_ID,
};
use tokio::process::{Child, Command};

/// Answers every message at once.
struct Echo;

impl Responder for Echo {
    async fn respond(&self, request: RelayRequest) -> Result<RelayReply, ResponderError> {
        let content = request.content.as_str();
        if content == PROBE {
            return Ok(RelayReply::new("ready"));
        }
        Ok(RelayReply::new(format!("answer to {content}")))
    }
}

/// The members beyond the sandbox's two who open tickets get IDs from here (a member may have
/// one open ticket, and a guild of the issue's size has 50).
const FIRST_EXTRA_MEMBER: u64 = 900_000_000_000_000_000;

/// How big the run is.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    guilds: usize,
    shards: usize,
    processes: usize,
    tickets: usize,
    messages: usize,
    in_flight: usize,
}

impl Sizes {
    fn from_env() -> Self {
        let guilds = env("GUILDS", 20).max(1);
        let shards = env("SHARDS", 4).max(1);
        Self {
            guilds,
            shards,
            processes: env("PROCESSES", 2).clamp(1, shards),
            tickets: env("TICKETS", 2 * guilds).max(1),
            messages: env("MESSAGES", 2),
            in_flight: match env("IN_FLIGHT", 100) {
                0 => usize::MAX,
                n => n,
            },
        }
    }

    /// The owners of the tickets opened in guild `k`: its share of `tickets`.
    fn owners(&self, k: usize) -> Vec<u64> {
        let share = self.tickets / self.guilds + usize::from(k < self.tickets % self.guilds);
        (0..share)
            .map(|n| match n {
                0 => MEMBER_A_ID,
                1 => MEMBER_B_ID,
                n => FIRST_EXTRA_MEMBER + (k * 10_000 + n) as u64,
            })
            .collect()
    }

    /// The shard range of each process, `0-1`, `2-3`...
    fn ranges(&self) -> Vec<String> {
        (0..self.processes)
            .map(|p| {
                let first = p * self.shards / self.processes;
                let last = (p + 1) * self.shards / self.processes - 1;
                format!("{first}-{last}")
            })
            .collect()
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A binary of this package built with the same profile as this example (which lives in
/// `<target>/<profile>/examples/`).
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("this example's path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("the profile folder")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build [--release] -p bot --bins`)",
        path.display()
    );
    path
}

/// A process this run started, with its log file.
struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `binary` with only `vars` (run from `dir`, so that no `.env` applies), its
    /// output to `<dir>/<name>.log`.
    fn start(name: &str, binary: &Path, dir: &Path, vars: &[(&str, String)]) -> Self {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("the log file");
        let child = Command::new(binary)
            .current_dir(dir)
            .env_clear()
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(file.try_clone().expect("the log file"))
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("starting {}: {err}", binary.display()));
        Self {
            name: name.to_owned(),
            child,
            log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("still running")
    }

    /// Its peak resident memory so far, in MiB.
    fn peak_mib(&self) -> u64 {
        peak_kib(&format!("/proc/{}/status", self.pid())) / 1024
    }

    /// Its log's WARN and ERROR lines.
    fn complaints(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .map(str::to_owned)
            .collect()
    }

    /// SIGTERM, then waits for it to end (killed after 30 s).
    async fn stop(mut self) {
        let pid = self.pid().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .is_err()
        {
            eprintln!("{} did not stop within 30 s of SIGTERM: killed", self.name);
            let _ = self.child.kill().await;
        }
    }
}

/// `VmHWM` (peak resident set) of the `/proc/<pid>/status` at `path`, in KiB.
fn peak_kib(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Waits until something listens on `addr` (the proxy has bound its port).
async fn wait_listening(addr: std::net::SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads the sandbox's record of REST calls as it grows, from where it stood when made, each
/// call once, into a state (the answers found so far).
struct Follower<S> {
    what: String,
    state: S,
    scanned: usize,
    started: Instant,
    reported: Instant,
    /// How many answers, and when the last came.
    have: usize,
    last: Instant,
}

impl<S> Follower<S> {
    fn new(fake: &Sandbox, what: &str, state: S) -> Self {
        Self {
            what: what.to_owned(),
            state,
            scanned: fake.requests().len(),
            started: Instant::now(),
            reported: Instant::now(),
            have: 0,
            last: Instant::now(),
        }
    }

    /// Reads on with `step` until `count` of the state reaches `wanted`, for `within` at most;
    /// prints the progress every 30 s (`total` being what the run wants in the end).
    async fn until(
        &mut self,
        fake: &Sandbox,
        (step, count): (&impl Fn(&mut S, &Recorded), &impl Fn(&S) -> usize),
        (wanted, total): (usize, usize),
        within: Duration,
    ) {
        let what = self.what.clone();
        let cell = RefCell::new(&mut *self);
        let reached = fake.wait_for_within(LOST_AFTER, &what, |calls| {
            assert!(
                calls.len() < RECORD_LIMIT,
                "the sandbox's record is full ({RECORD_LIMIT} calls): counts would be wrong; run smaller"
            );
            let mut guard = cell.borrow_mut();
            let me = &mut **guard;
            for call in &calls[me.scanned.min(calls.len())..] {
                step(&mut me.state, call);
            }
            me.scanned = calls.len();
            let have = count(&me.state);
            if have > me.have {
                (me.have, me.last) = (have, Instant::now());
            }
            if me.reported.elapsed() >= Duration::from_secs(30) {
                me.reported = Instant::now();
                eprintln!(
                    "  {what}: {have} of {total} after {:.0} s ({} calls)",
                    me.started.elapsed().as_secs_f64(),
                    calls.len()
                );
            }
            (have >= wanted).then_some(())
        });
        let _ = tokio::time::timeout(within, reached).await;
    }
}

/// How long an action may go unanswered before it no longer holds a place in the window (a
/// bot gives a call up after `DISCORD_HTTP_TIMEOUT_SECS`, 15 s, and does not try it again),
/// and how long the run waits without any new answer before it stops waiting for the rest.
const LOST_AFTER: Duration = Duration::from_secs(60);

/// Starts `total` actions with `act(n)` (which returns the ID an answer will name), never
/// more than `IN_FLIGHT` of them unanswered (each freed place filled at once; one unanswered
/// for [`LOST_AFTER`] frees its place), and follows the record until each is answered, or
/// none has been for [`LOST_AFTER`]: the report counts what never was.
async fn windowed<S>(
    fake: &Sandbox,
    sizes: &Sizes,
    follower: &mut Follower<S>,
    total: usize,
    mut act: impl FnMut(usize) -> u64,
    step: impl Fn(&mut S, &Recorded),
    (count, answered): (impl Fn(&S) -> usize, impl Fn(&S, u64) -> bool),
) {
    let mut next = 0;
    let mut waiting: Vec<(u64, Instant)> = Vec::new();
    loop {
        waiting.retain(|(id, _)| !answered(&follower.state, *id));
        let mut held = waiting
            .iter()
            .filter(|(_, since)| since.elapsed() < LOST_AFTER)
            .count();
        while next < total && held < sizes.in_flight {
            waiting.push((act(next), Instant::now()));
            next += 1;
            held += 1;
        }
        if next == total && (waiting.is_empty() || follower.last.elapsed() >= LOST_AFTER) {
            return;
        }
        // Woken by each answer, and each second to look at the ages.
        let wanted = count(&follower.state) + 1;
        follower
            .until(
                fake,
                (&step, &count),
                (wanted, total),
                Duration::from_secs(1),
            )
            .await;
    }
}

/// The answer to an interaction: the edit of its deferred response, or an immediate message.
fn interaction_answer(call: &Recorded) -> Option<(u64, String)> {
    let token_of = |path: &str| -> Option<u64> {
        let start = path.find("token-")? + "token-".len();
        let end = start + path[start..].find('/').unwrap_or(path.len() - start);
        path[start..end].parse().ok()
    };
    if call.method == Method::PATCH && call.path.starts_with("/api/v10/webhooks/") {
        let content = call.body["content"].as_str()?;
        return Some((token_of(&call.path)?, content.to_owned()));
    }
    if call.path.starts_with("/api/v10/interactions/") && call.body["type"] == 4 {
        let content = call.body["data"]["content"].as_str()?;
        return Some((token_of(&call.path)?, content.to_owned()));
    }
    None
}

/// The ticket channel mentioned in `/create-ticket`'s answer (none when it could not open).
fn mentioned_channel(answer: &str) -> Option<u64> {
    let start = answer.find("<#")? + 2;
    let end = start + answer[start..].find('>')?;
    answer[start..end].parse().ok()
}

/// Runs `name` in each `(guild, user)` of `asked` (at most `IN_FLIGHT` unanswered) and
/// returns each one's answer, in order, and when the last came.
async fn run_commands(
    fake: &Sandbox,
    sizes: &Sizes,
    name: &str,
    asked: &[(usize, u64)],
    administrator: bool,
) -> (Vec<Option<String>>, Instant) {
    let mut ids = Vec::with_capacity(asked.len());
    let mut answers = Follower::new(fake, &format!("the answers to /{name}"), HashMap::new());
    windowed(
        fake,
        sizes,
        &mut answers,
        asked.len(),
        |n| {
            let (k, user) = asked[n];
            let id = fake.run_command_in(guild_id(k), name, user, administrator);
            ids.push(id);
            id
        },
        |answers: &mut HashMap<u64, String>, call| {
            if let Some((id, text)) = interaction_answer(call) {
                answers.entry(id).or_insert(text);
            }
        },
        (HashMap::len, |answers: &HashMap<u64, String>, id| {
            answers.contains_key(&id)
        }),
    )
    .await;
    // None for an interaction never answered (a bot gave up on it).
    let texts = ids
        .iter()
        .map(|id| answers.state.get(id).cloned())
        .collect();
    (texts, answers.last)
}

/// Calls that count against the global limit: not interaction callbacks or webhooks.
fn counted(call: &Recorded) -> bool {
    !call.path.starts_with("/api/v10/interactions/") && !call.path.starts_with("/api/v10/webhooks/")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sizes = Sizes::from_env();
    let (bot_bin, proxy_bin) = (binary("bot"), binary("discord-proxy"));
    let dir = std::env::temp_dir().join(format!("shard_load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("the log folder");
    eprintln!("{sizes:?}; logs in {}", dir.display());

    let fake = Sandbox::start(
        SandboxOptions::new(TOKEN)
            .guilds(sizes.guilds)
            .identify_limit(1),
    )
    .await;
    let nats = nats();
    let _worker = spawn_worker(&nats.settings(), Echo).await;
    let proxy_addr = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        free.local_addr().expect("its address")
    };
    let proxy = Process::start(
        "discord-proxy",
        &proxy_bin,
        &dir,
        &[
            ("DISCORD_PROXY_ADDR", proxy_addr.to_string()),
            ("DISCORD_API_URL", fake.url()),
            ("NATS_URL", nats.url()),
            ("LOG_LEVEL", "warn".to_owned()),
        ],
    );
    wait_listening(proxy_addr).await;
    let bots: Vec<Process> = sizes
        .ranges()
        .iter()
        .enumerate()
        .map(|(n, range)| {
            Process::start(
                &format!("bot-{n}"),
                &bot_bin,
                &dir,
                &[
                    ("DISCORD_TOKEN", TOKEN.to_owned()),
                    ("DISCORD_PROXY_URL", format!("http://{proxy_addr}")),
                    ("NATS_URL", nats.url()),
                    ("DISCORD_SHARD_COUNT", sizes.shards.to_string()),
                    ("DISCORD_SHARDS", range.clone()),
                    // The members here write as fast as the run can; the per-user limit has
                    // its own tests.
                    ("USER_RATE_LIMIT_PER_MINUTE", "0".to_owned()),
                    ("LOG_LEVEL", "warn".to_owned()),
                ],
            )
        })
        .collect();
    let connecting = Instant::now();
    let registered = |calls: &[Recorded]| {
        calls
            .iter()
            .filter(|c| c.method == Method::PUT && c.path.ends_with("/commands"))
            .count()
    };
    while !((0..sizes.guilds).all(|k| fake.guild_connected(guild_id(k)))
        && registered(&fake.requests()) >= bots.len())
    {
        assert!(
            connecting.elapsed() < Duration::from_secs(300),
            "the bots did not connect every guild within 5 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "{} process(es) connected in {:.1} s",
        bots.len(),
        connecting.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let before = fake.requests().len();
    let admins: Vec<(usize, u64)> = (0..sizes.guilds).map(|k| (k, ADMIN_ID)).collect();
    let (_, set_up) = run_commands(&fake, &sizes, bot::setup::NAME, &admins, true).await;
    let set_up = set_up - started;
    eprintln!("set up in {:.1} s", set_up.as_secs_f64());
    // Guild by guild in turn, as members of many servers would: each guild's channel
    // creations have a route bucket of their own (5 in 5 s), and one guild's 50 in a row would
    // wait on it rather than on the global limit.
    let shares: Vec<Vec<u64>> = (0..sizes.guilds).map(|k| sizes.owners(k)).collect();
    let rounds = shares.iter().map(Vec::len).max().unwrap_or(0);
    let owners: Vec<(usize, u64)> = (0..rounds)
        .flat_map(|n| {
            shares
                .iter()
                .enumerate()
                .filter_map(move |(k, share)| Some((k, *share.get(n)?)))
        })
        .collect();
    let (answers, opened) =
        run_commands(&fake, &sizes, bot::create_ticket::NAME, &owners, false).await;
    let opened = opened - started;
    let tickets: Vec<(u64, u64)> = answers
        .iter()
        .zip(&owners)
        .filter_map(|(answer, (_, owner))| Some((mentioned_channel(answer.as_deref()?)?, *owner)))
        .collect();
    let refused: Vec<&str> = answers
        .iter()
        .map(|a| a.as_deref().unwrap_or("(no answer)"))
        .filter(|a| mentioned_channel(a).is_none())
        .collect();
    eprintln!(
        "{} tickets opened at {:.1} s",
        tickets.len(),
        opened.as_secs_f64()
    );

    let writes: Vec<(u64, u64, usize)> = (0..sizes.messages)
        .flat_map(|n| {
            tickets
                .iter()
                .map(move |(channel, owner)| (*channel, *owner, n))
        })
        .collect();
    let mut sent: HashSet<u64> = HashSet::new();
    let mut answered = Follower::new(&fake, "every answer", HashSet::new());
    windowed(
        &fake,
        &sizes,
        &mut answered,
        writes.len(),
        |i| {
            let (channel, owner, n) = writes[i];
            let id = fake.send_message(channel, owner, &format!("question {n}"));
            sent.insert(id);
            id
        },
        // Only the relay's answers refer to a message.
        |answered: &mut HashSet<u64>, call| {
            if let Some(id) = reply_to(call) {
                answered.insert(id);
            }
        },
        (HashSet::len, |answered: &HashSet<u64>, id| {
            answered.contains(&id)
        }),
    )
    .await;
    // Until the last answer: a run that counted some lost waited on for them.
    let elapsed = answered.last - started;
    // Settle, then count: a late duplicate would show.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let calls = fake.requests();
    let calls = &calls[before..];
    let mut replies: HashMap<u64, usize> = HashMap::new();
    for id in calls.iter().filter_map(reply_to) {
        *replies.entry(id).or_default() += 1;
    }
    let once = sent.iter().filter(|id| replies.get(id) == Some(&1)).count();
    let unanswered = sent.iter().filter(|id| !replies.contains_key(id)).count();
    let limited = calls.iter().filter(|c| counted(c)).count();
    let floor = limited as f64 / f64::from(bot::GLOBAL_REST_PER_SECOND);

    println!(
        "{} guilds, {} shards, {} bot process(es) ({}) through one discord-proxy: {} tickets, {} messages",
        sizes.guilds,
        sizes.shards,
        bots.len(),
        sizes.ranges().join(", "),
        tickets.len(),
        sent.len()
    );
    if !refused.is_empty() {
        println!(
            "{} of {} tickets did not open; the first answer: {:?}",
            refused.len(),
            owners.len(),
            refused[0]
        );
    }
    println!(
        "{} of {} answered exactly once ({} never, {} more than once); set up {:.1} s, tickets open at {:.1} s, the last answer at {:.1} s",
        once,
        sent.len(),
        unanswered,
        sent.len() - once - unanswered,
        set_up.as_secs_f64(),
        opened.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "{} REST calls, {limited} under the global limit: floor at {}/s {:.1} s ({:.0}% of the time)",
        calls.len(),
        bot::GLOBAL_REST_PER_SECOND,
        floor,
        100.0 * floor / elapsed.as_secs_f64()
    );
    println!(
        "429s: {} global, {} in all; identifies {} ({} refused)",
        fake.global_rate_limited(),
        fake.rate_limited().len(),
        fake.identifies(),
        fake.invalid_sessions()
    );
    let mut memory: Vec<String> = bots
        .iter()
        .map(|bot| format!("{} {} MiB", bot.name, bot.peak_mib()))
        .collect();
    memory.push(format!("discord-proxy {} MiB", proxy.peak_mib()));
    memory.push(format!(
        "this program (sandbox, worker) {} MiB",
        peak_kib("/proc/self/status") / 1024
    ));
    println!("peak resident memory: {}", memory.join(", "));
    for process in bots.iter().chain([&proxy]) {
        let complaints = process.complaints();
        if !complaints.is_empty() {
            println!(
                "{}: {} WARN/ERROR lines, the first: {}",
                process.name,
                complaints.len(),
                complaints[0]
            );
        }
    }
    for bot in bots {
        bot.stop().await;
    }
    proxy.stop().await;
}

/// The message a posted message answers (its reference).
fn reply_to(call: &Recorded) -> Option<u64> {
    if call.method != Method::POST || !call.path.ends_with("/messages") {
        return None;
    }
    call.body["message_reference"]["message_id"]
        .as_str()?
        .parse()
        .ok()
}
