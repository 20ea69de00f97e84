//! The Discord bot of the ticket assistant: `/setup` and `/create-ticket` slash commands, the
//! relay of ticket-channel messages to the relay workers over NATS, the buttons under each
//! answer (Talk to a human, 👍/👎), `/ticket-stats`, closes that archive each transcript
//! before anything else (`/ticket-transcript` reads it back), reopening a closed ticket
//! (`/ticket-reopen` and the Reopen button), overflow categories past Discord's 50
//! channels per category, thread mode (`/setup mode:threads`: each ticket a private thread,
//! locked and archived at its close, unarchived by a reopening), and the staff's side: claims
//! (`/ticket-claim`, `/ticket-unclaim`, `/ticket-transfer`, the welcome's Claim button),
//! priorities, `/ticket-list`, the blocklist, the owner's rating after a close, support hours,
//! and the staff's figures in `/ticket-stats`.
//!
//! Run it with `DISCORD_TOKEN=... cargo run --release -p bot` (settings in [`BotSettings`]).
//! [`run`] is the whole bot; `main.rs` only loads the settings and calls it, so the tests (which
//! point it at a fake Discord through `DISCORD_PROXY_URL`) drive exactly what production runs.
//!
//! The public API is deliberately small: [`run`], [`BotSettings`], [`BotError`], [`intents`],
//! [`SHUTDOWN_GRACE`], and the user-facing surface (the command names and what the bot tells
//! people, in [`setup`], [`create_ticket`], [`answer_buttons`], [`ticket_stats`],
//! [`ticket_transcript`], [`ticket_reopen`], [`SERVER_FULL_NOTICE`], [`UNAVAILABLE_MESSAGE`]
//! and [`BUSY_MESSAGE`], and the relay's limits in [`RelaySettings`]) so that tests can assert
//! on it; the JetStream stores ([`registry`], [`archive`], [`claims`]), which the broker tests
//! run as the `bot` NATS user, and [`metrics`] (the process's counters and its `ticket-bot`
//! service, which relay-http's `/metrics` gathers); with the feature `test-util`, the harness other crates' tests
//! start the bot with (`test_util`).
//!
//! Inside, in floors; each module uses only those below it:
//!
//! - top: [`run`] builds the relay and the tickets before connecting, hands them to
//!   `handler` (the gateway events) and runs this process's shards (`gateway`, with the bot's
//!   own cache, each shard started in its turn at the identify limit that `identify` shares
//!   across processes through NATS);
//!   `commands/` has each slash command and button (parse, check who asked, call the
//!   tickets, answer; `answer.rs` replies to interactions; `answer_buttons.rs` the buttons
//!   under answers; `stats.rs` `/ticket-stats`; `transcript.rs` `/ticket-transcript`;
//!   `reopen.rs` `/ticket-reopen` and the Reopen button; `claim.rs`, `priority.rs`,
//!   `list.rs`, `blocks.rs`, `hours.rs` and `rating.rs` the staff's side; `options.rs` reads a
//!   command's options).
//! - middle: `tickets/` (setting a guild up and repairing it, opening in a category with room
//!   and the overflow categories, closing as a stored state machine that archives the
//!   transcript before anything else, reopening, adopting, auto-closing, reading an archived
//!   transcript back, what the answer buttons do, claims, priorities, blocks, the rating) and
//!   `relay/`
//!   (per-channel ordered queues, the one `decision` about each message, the `pipeline` acting
//!   on it and posting answers with their buttons, `history` with the conversation a
//!   reopened ticket `carried` over, `catch_up`, and the memories of `handoff` and
//!   `user_limit`).
//! - bottom: `guild/` (the names of what `/setup` makes, permission overwrites, the one
//!   staff rule, Discord's refusals), `registry` (the JetStream record of guilds, tickets and
//!   votes on answers, watched so that several bot processes see one world), `archive` (the
//!   JetStream object store of transcripts and attachments), `claims` (which process answers a
//!   message), `buckets` (opening those JetStream stores), `members` (members' roles by REST,
//!   cached), `answers` (the buttons an answer gets, the memory of recent answers), `stats`
//!   (`/ticket-stats`' figures from ticket entries), `reopen` (whether a closed ticket may be
//!   reopened, and its next channel's first message),
//!   `hours` (support hours in a time zone: open now? back when? open time between two
//!   moments), `clock` (the injectable "now" of the hours), `response` (the staff's first
//!   response to a ticket, or the owner's wait so far, one definition for both commands),
//!   `listing` (`/ticket-list`'s pages),
//!   `rating` (the rating prompt's buttons and form),
//!   `settings/` (the typed settings, the relay's and the lifecycle's), `transcript` (a
//!   closed ticket's text and HTML), `split` (long answers), `locks` (per-key async locks),
//!   `metrics` (this process's counters, and its `ticket-bot` service in the NATS services
//!   API that relay-http's `/metrics` gathers), `rate_limit` (the REST rate limiter used behind `DISCORD_PROXY_URL`, where serenity's own
//!   must be off, and run on its own by the `discord-proxy` binary through [`proxy`]), `shards`
//!   (`DISCORD_SHARD_COUNT`, `DISCORD_SHARDS`, and which guilds are this process's).

mod answers;
pub mod archive;
mod buckets;
pub mod claims;
mod clock;
mod commands;
mod gateway;
mod guild;
mod handler;
mod hours;
pub mod identify;
mod listing;
mod locks;
mod members;
pub mod metrics;
pub mod proxy;
mod rate_limit;
mod rating;
pub mod registry;
mod relay;
mod reopen;
mod response;
mod settings;
mod shards;
mod split;
mod stats;
#[cfg(feature = "test-util")]
pub mod test_util;
mod tickets;
mod transcript;

/// `/setup`: the name it is registered under and what it tells a member who may not run it.
pub mod setup {
    pub use crate::commands::setup::{
        ASSISTANT_WHILE_CLAIMED_OPTION, MODE_OPTION, NAME, NOT_ADMIN,
    };
}

/// `/create-ticket`: the name it is registered under, what it says before `/setup` has run,
/// and the custom IDs of the panel's topic buttons, topic menu and intake forms.
pub mod create_ticket {
    pub use crate::commands::create_ticket::{
        BLOCKED, FORM_PREFIX, NAME, NOT_SET_UP, TOPIC_BUTTON_PREFIX, TOPIC_GONE, TOPIC_MENU,
    };
}

/// `/ticket-topic`: its name, what it tells a member who may not run it, its questions form.
pub mod ticket_topic {
    pub use crate::commands::topics::{NAME, NOT_ADMIN, QUESTIONS_FORM_PREFIX};
}

/// `/close-ticket` and the Close button: names, custom IDs and what the bot says.
pub mod close_ticket {
    pub use crate::commands::close_ticket::{
        CANCEL_BUTTON, CONFIRM_QUESTION, NAME, NOT_ALLOWED, NOT_A_TICKET,
    };
    pub use crate::tickets::{CLOSE_BUTTON, CLOSE_CONFIRM_BUTTON};
}

/// `/ticket-panel` and its "Open a ticket" button.
pub mod ticket_panel {
    pub use crate::commands::panel::{MAX_TOPIC_BUTTONS, NAME, NOT_ADMIN, PANEL_TEXT};
    pub use crate::tickets::OPEN_BUTTON;
}

/// `/ticket-add` and `/ticket-remove`.
pub mod ticket_members {
    pub use crate::commands::members::{ADD_NAME, NOT_STAFF, REMOVE_NAME};
}

/// The buttons under every answer: custom IDs and what the bot tells whoever presses them.
pub mod answer_buttons {
    pub use crate::answers::{DOWN_BUTTON, HUMAN_BUTTON, QUESTION_CHARS, UP_BUTTON};
    pub use crate::commands::answer_buttons::{
        ALREADY_ASKED, HUMAN_ON_THE_WAY, NOT_YOURS_TO_ASK, ONLY_THE_OWNER_RATES, THANKS,
        THANKS_CHANGED, TICKET_CLOSED,
    };
}

/// `/ticket-stats`: its name, its window and what it tells a member who may not run it.
pub mod ticket_stats {
    pub use crate::commands::stats::{DEFAULT_DAYS, MAX_DAYS, NAME, NOT_STAFF};
}

/// `/ticket-reopen` and the Reopen button under a closed ticket's summary.
pub mod ticket_reopen {
    pub use crate::commands::reopen::{NAME, NOT_STAFF, NO_TICKET, OPTION, REOPENED};
    pub use crate::reopen::{button_id, BUTTON_PREFIX, HEADER, QUOTED_MESSAGES};
    pub use crate::tickets::THREAD_REOPENED;
}

/// `/ticket-claim`, `/ticket-unclaim`, `/ticket-transfer` and the welcome's Claim button.
pub mod ticket_claim {
    pub use crate::commands::claim::{
        CLAIM_NAME, NOT_STAFF, TARGET_NOT_STAFF, TRANSFER_NAME, UNCLAIM_NAME,
    };
    pub use crate::tickets::CLAIM_BUTTON;
}

/// `/ticket-priority`.
pub mod ticket_priority {
    pub use crate::commands::priority::{NAME, NOT_STAFF};
}

/// `/ticket-block` and `/ticket-unblock`.
pub mod ticket_block {
    pub use crate::commands::blocks::{BLOCK_NAME, NOT_STAFF, STAFF_NOT_BLOCKED, UNBLOCK_NAME};
}

/// `/ticket-list` and its Previous/Next buttons.
pub mod ticket_list {
    pub use crate::commands::list::{NAME, NOT_STAFF};
    pub use crate::listing::{BUTTON_PREFIX, PAGE_SIZE};
}

/// `/ticket-hours` and what the welcome says outside them.
pub mod ticket_hours {
    pub use crate::commands::hours::{NAME, NOT_ADMIN, OFF};
    pub use crate::tickets::staff_away_notice;
}

/// The owner's rating after a close: the prompt, its buttons and form, what the bot says.
pub mod ticket_rating {
    pub use crate::commands::rating::{ALREADY_RATED, NOT_OWNER, THANKS, THANKS_COMMENT};
    pub use crate::rating::{COMMENT_FIELD, COMMENT_PREFIX, FORM_PREFIX, PROMPT, STAR_PREFIX};
}

/// What staff are told, once, when the server is at Discord's 500-channel limit.
pub use tickets::SERVER_FULL_NOTICE;

/// `/ticket-transcript`: an archived transcript fetched again.
pub mod ticket_transcript {
    pub use crate::commands::transcript::{NAME, NOT_STAFF, NO_TICKET, OPTION};
}

pub use clock::Clock;
pub use guild::LOG_CHANNEL;
/// Discord's global REST limit, which the bot's limiter keeps behind `DISCORD_PROXY_URL`.
pub use rate_limit::GLOBAL_PER_SECOND as GLOBAL_REST_PER_SECOND;
/// The bot's REST rate limiter in front of `DISCORD_PROXY_URL`, and what it says is left.
pub use rate_limit::{RateLimitedProxy, RestBudget};
pub use relay::{BUSY_MESSAGE, HANDOFF_MESSAGE, SLOW_DOWN_MESSAGE, UNAVAILABLE_MESSAGE};
pub use settings::{AutoClose, BotSettings, LifecycleSettings, RelaySettings};

use std::{future::Future, sync::Arc, time::Duration};

use common::{config::redact_url, relay_client::RelayClient};
use secrecy::ExposeSecret;
use serenity::{
    all::{ApplicationFlags, Cache, CreateAllowedMentions, GatewayIntents, HttpBuilder},
    http::Http,
};

use answers::RecentAnswers;
use archive::Archive;
use claims::Claims;
use gateway::Gateway;
use handler::Handler;
use identify::IdentifyGate;
use members::Members;
use metrics::BotMetrics;
use relay::Relay;
use shards::ShardPlan;
use tickets::Tickets;

/// How long each shutdown step (shards, relay tasks, NATS drain) may take.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long the start waits for the NATS connection before it connects to Discord anyway:
/// the catch-up that follows the connection relays at once, and would find NATS still down.
const NATS_START_WAIT: Duration = Duration::from_secs(10);

/// Why the bot stopped.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The REST API (or the proxy) refused or could not be reached when asked for the gateway.
    #[error("cannot get the gateway URL from the Discord API (check DISCORD_TOKEN and DISCORD_PROXY_URL): {0}")]
    GatewayDiscovery(serenity::Error),
    /// Discord refused the connection (bad token, missing intents...) or the gateway failed.
    #[error("Discord: {0}")]
    Discord(#[from] serenity::Error),
    /// The REST rate limiter (used with `DISCORD_PROXY_URL`) could not listen on 127.0.0.1.
    #[error("cannot start the REST rate limiter: {0}")]
    RateLimiter(std::io::Error),
    /// `DISCORD_SHARDS` names a shard past `DISCORD_SHARD_COUNT`'s (or Discord's) count.
    #[error("DISCORD_SHARDS: {0}")]
    Shards(#[from] shards::ShardError),
    /// The ticket registry (NATS JetStream key-value buckets) could not be opened.
    #[error("cannot open the ticket registry (is JetStream enabled on the NATS server?): {0}")]
    Registry(#[from] registry::RegistryError),
    /// The registry could not be opened on a server older than JetStream's stores need.
    #[error(
        "cannot open the ticket registry: the NATS server is nats-server {version}, and the \
         bot's JetStream key-value buckets need 2.10 or newer: {source}"
    )]
    NatsTooOld {
        /// The version the server announced.
        version: String,
        /// What the registry's opening said.
        source: registry::RegistryError,
    },
}

/// Whether a nats-server `version` ("2.9.10") is older than 2.10, the oldest whose JetStream
/// key-value buckets and object store this bot's client works with. An unreadable version is
/// not called old: the error then stays the registry's own.
fn older_than_2_10(version: &str) -> bool {
    let mut parts = version.split('.').map(str::parse::<u32>);
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) < (2, 10),
        _ => false,
    }
}

/// The gateway intents the bot needs: guilds (channels for the cache), guild messages, and
/// their content (a privileged intent to enable in the developer portal).
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT
}

/// [`intents`], and GUILD_MEMBERS when the application's `flags` say the Server Members intent
/// is on (thread mode then follows topic roles as they change). Asking for it without would
/// have Discord close the session (4014), so it is asked for only then.
fn intents_for(flags: Option<ApplicationFlags>) -> GatewayIntents {
    let members =
        ApplicationFlags::GATEWAY_GUILD_MEMBERS | ApplicationFlags::GATEWAY_GUILD_MEMBERS_LIMITED;
    if flags.is_some_and(|flags| flags.intersects(members)) {
        intents() | GatewayIntents::GUILD_MEMBERS
    } else {
        intents()
    }
}

/// The intents to connect with, from the bot's application ([`intents_for`]); without the
/// Server Members intent when the application cannot be read.
async fn application_intents(http: &Http) -> GatewayIntents {
    match http.get_current_application_info().await {
        Ok(application) => {
            let intents = intents_for(application.flags);
            let members = intents.contains(GatewayIntents::GUILD_MEMBERS);
            tracing::info!(server_members_intent = members, "application read");
            intents
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the bot's application: connecting without the Server Members intent (thread mode will not follow topic roles as they change)");
            intents()
        }
    }
}

/// The REST client: no message it sends can ping anyone, and with `DISCORD_PROXY_URL` every
/// call (gateway discovery included) goes to the proxy through the bot's rate limiter.
///
/// Without it serenity's own rate limiter is in charge: its waits (a bucket empty, a 429) are
/// counted in `metrics`; the calls themselves are counted only by the bot's limiter.
fn http(settings: &BotSettings, limiter: Option<&RateLimitedProxy>, metrics: &BotMetrics) -> Http {
    let mut builder = HttpBuilder::new(settings.discord_token.expose_secret())
        .default_allowed_mentions(CreateAllowedMentions::new());
    if let Some(limiter) = limiter {
        // serenity's own rate limiter would bypass the proxy; ours sits in front of it, and
        // bounds each call to Discord itself (a wait for the rate limit is not a stall).
        builder = builder
            .proxy(limiter.url().to_owned())
            .ratelimiter_disabled(true);
    } else {
        // serenity's client has no timeout: one stalled call would hold its channel forever.
        // Its rate limiter waits before sending, so the timeout bounds the call alone.
        match reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(settings.discord_http_timeout)
            .build()
        {
            Ok(client) => builder = builder.client(client),
            Err(err) => {
                tracing::error!(error = %err, "cannot build the Discord HTTP client with a timeout")
            }
        }
    }
    let mut http = builder.build();
    if let Some(ratelimiter) = http.ratelimiter.as_mut() {
        let metrics = metrics.clone();
        ratelimiter.set_ratelimit_callback(Box::new(move |info| {
            metrics.rate_limit_wait(info.timeout);
        }));
    }
    http
}

/// Opens the registry, retrying while NATS is still connecting (up to [`NATS_START_WAIT`]).
async fn open_registry(nats: &async_nats::Client) -> Result<registry::Registry, BotError> {
    let started = std::time::Instant::now();
    loop {
        let err = match registry::Registry::open(nats.clone()).await {
            Ok(registry) => return Ok(registry),
            Err(err) => err,
        };
        // A server that is too old will not get younger: say so at once.
        let version = nats.server_info().version;
        if older_than_2_10(&version) {
            return Err(BotError::NatsTooOld {
                version,
                source: err,
            });
        }
        if started.elapsed() >= NATS_START_WAIT {
            return Err(err.into());
        }
        tracing::debug!(error = %err, "ticket registry not reachable yet, retrying");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs the bot until `shutdown` completes or the gateway connection fails for good.
pub async fn run(
    settings: BotSettings,
    nats: async_nats::Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), BotError> {
    let metrics = BotMetrics::new(&metrics::instance_id());
    let limiter = match &settings.proxy_url {
        Some(proxy) => Some(
            RateLimitedProxy::start(proxy, settings.discord_http_timeout, metrics.rest())
                .await
                .map_err(BotError::RateLimiter)?,
        ),
        None => None,
    };
    let http = http(&settings, limiter.as_ref(), &metrics);
    // serenity falls back to Discord's public gateway when this fails, bypassing the proxy and
    // hiding a bad token behind reconnect loops: fail at start instead, saying what to check.
    let discovered = http
        .get_bot_gateway()
        .await
        .map_err(BotError::GatewayDiscovery)?;
    let plan = ShardPlan::new(
        settings.shards,
        settings.shard_count.resolve(discovered.shards),
    )?;
    tracing::info!(
        url = %redact_url(&discovered.url),
        recommended_shards = discovered.shards,
        max_concurrency = discovered.session_start_limit.max_concurrency,
        shards = %plan,
        "gateway found"
    );
    // The client connects in the background; a flush completes once it is connected.
    if tokio::time::timeout(NATS_START_WAIT, nats.flush())
        .await
        .is_err()
    {
        tracing::warn!(
            waited = ?NATS_START_WAIT,
            "NATS is not connected yet; starting anyway (messages get the unavailable notice until it is)"
        );
    }
    let registry = Arc::new(open_registry(&nats).await?);
    let bot_id = http.get_current_user().await?.id;
    let intents = application_intents(&http).await;
    let http = Arc::new(http);
    let cache = Arc::new(Cache::new_with_settings(relay::cache_settings()));
    let answers = Arc::new(RecentAnswers::default());
    let members = Arc::new(Members::new(Arc::clone(&http)));
    let archive = Arc::new(Archive::new(nats.clone()));
    let relay = Relay::new(
        RelayClient::new(
            nats.clone(),
            settings.relay_subject.clone(),
            settings.relay_timeout,
        ),
        relay::Parts {
            http: Arc::clone(&http),
            cache: Arc::clone(&cache),
            registry: Arc::clone(&registry),
            members: Arc::clone(&members),
            claims: Arc::new(Claims::new(nats.clone(), settings.claim_stale_after())),
            answers: Arc::clone(&answers),
            archive: Arc::clone(&archive),
            bot_id,
            budget: limiter
                .as_ref()
                .map(RateLimitedProxy::budget)
                .unwrap_or_default(),
            metrics: metrics.clone(),
        },
        settings.relay_settings(),
    );
    let tickets = Tickets::new(
        tickets::Parts {
            http: Arc::clone(&http),
            cache: Arc::clone(&cache),
            registry: Arc::clone(&registry),
            archive,
            members,
            answers,
            bot_id,
            http_timeout: settings.discord_http_timeout,
            metrics: metrics.clone(),
        },
        settings.lifecycle.clone(),
    );
    let handler = Handler::new(
        relay.clone(),
        tickets.clone(),
        settings.guild_id,
        plan.clone(),
    );
    let identify = IdentifyGate::new(nats.clone(), discovered.session_start_limit.max_concurrency);
    let mut gateway = Gateway::new(http, cache, handler, discovered.url, intents, plan.clone());
    let shards = gateway.stopper();
    // Weak: the services API keeps its stats handler as long as the NATS connection lives,
    // and a registry kept alive with it would keep watching after the bot stopped.
    let registry = Arc::downgrade(&registry);
    let live = metrics::Live {
        open_tickets: Box::new(move || {
            let Some(registry) = registry.upgrade() else {
                return 0;
            };
            let open = registry.open_tickets(None);
            let ours = open.iter().filter(|(_, t)| plan.holds(t.guild_id)).count();
            i64::try_from(ours).unwrap_or(i64::MAX)
        }),
        shards: Some(gateway.managers()),
    };
    // Metrics are for operators: a bot that cannot serve them still serves its guilds.
    let service = match metrics::serve(&nats, metrics, live).await {
        Ok(task) => Some(task),
        Err(err) => {
            tracing::warn!(error = %err, "cannot answer as ticket-bot in the NATS services API (no metrics from this process)");
            None
        }
    };

    let outcome = tokio::select! {
        result = gateway.run(&identify) => result.map_err(BotError::from),
        () = shutdown => {
            tracing::info!("shutting down");
            if tokio::time::timeout(SHUTDOWN_GRACE, shards.shutdown_all()).await.is_err() {
                tracing::warn!("shards did not stop in time");
            }
            Ok(())
        }
    };
    relay.shutdown(SHUTDOWN_GRACE).await;
    tickets.shutdown(SHUTDOWN_GRACE).await;
    if let Some(service) = service {
        service.abort();
    }
    common::nats::drain_within(&nats, SHUTDOWN_GRACE).await;
    if let Some(limiter) = limiter {
        limiter.stop(SHUTDOWN_GRACE).await;
    }
    tracing::info!("bot stopped");
    outcome
}

#[cfg(test)]
mod tests {
    use super::{intents, intents_for, older_than_2_10, ApplicationFlags, GatewayIntents};

    #[test]
    fn guild_members_is_asked_for_only_when_the_application_has_the_intent() {
        let members = GatewayIntents::GUILD_MEMBERS;
        for has in [
            ApplicationFlags::GATEWAY_GUILD_MEMBERS,
            ApplicationFlags::GATEWAY_GUILD_MEMBERS_LIMITED
                | ApplicationFlags::GATEWAY_MESSAGE_CONTENT_LIMITED,
        ] {
            assert_eq!(intents_for(Some(has)), intents() | members, "{has:?}");
        }
        assert_eq!(
            intents_for(Some(ApplicationFlags::GATEWAY_MESSAGE_CONTENT_LIMITED)),
            intents()
        );
        assert_eq!(intents_for(None), intents());
    }

    #[test]
    fn servers_before_2_10_are_old_and_an_unreadable_version_is_not() {
        for old in ["2.9.10", "2.2.0", "1.4.1"] {
            assert!(older_than_2_10(old), "{old}");
        }
        for recent in ["2.10.0", "2.10.26", "2.15.1", "3.0.0", "2.11.0-beta.1"] {
            assert!(!older_than_2_10(recent), "{recent}");
        }
        for unreadable in ["", "dev", "2"] {
            assert!(!older_than_2_10(unreadable), "{unreadable:?}");
        }
    }
}
