//! The bot's gateway sessions as the world sees them: each identifies (with a shard, or as the
//! one shard of an unsharded bot) and gets READY and one GUILD_CREATE per guild of its shard,
//! receives the events of its shard's guilds (a DM's go to shard 0) until it leaves, and each
//! event written to a socket is recorded. Several sessions may hold the same shard at once:
//! two processes of the bot during a rolling deploy each get every event of it, as on Discord.
//!
//! IDENTIFY is limited as on Discord: when the limit is on, one per 5 seconds in each
//! `max_concurrency` bucket (`shard_id % max_concurrency`); another is refused with an
//! INVALID_SESSION, counted, and the session gets nothing. Every IDENTIFY is recorded with its
//! time and shard, for tests checking that the bot stays within the limit.

use std::time::Instant;

use crate::{
    model::{
        event::{Dispatch, Event},
        gateway::{
            recommended_shards, GatewayBot, IdentifyLimit, SessionStartLimit, Shard, DAY_MS,
            GUILDS_PER_SHARD, SESSION_STARTS_PER_DAY,
        },
        guild::Ready,
        limits::MAX_GUILDS_PER_SHARD,
    },
    world::{
        record::{Dispatched, Identified},
        GatewaySender, World,
    },
};

/// The GUILD_MEMBERS intent: events about other members (THREAD_MEMBERS_UPDATE of others).
pub const GUILD_MEMBERS_INTENT: u64 = 1 << 1;

/// How the gateway shards and limits IDENTIFY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Guilds per shard Discord recommends in `GET /gateway/bot` (1000).
    pub guilds_per_shard: usize,
    /// The identify limit, when the sandbox enforces it.
    pub identify_limit: Option<IdentifyLimit>,
    /// The heartbeat interval HELLO asks for, in milliseconds (Discord's 41,250).
    pub heartbeat_interval_ms: u64,
}

impl Default for GatewaySettings {
    /// Discord's 1000 guilds per shard; no identify limit (tests restart bots at once).
    fn default() -> Self {
        Self {
            guilds_per_shard: GUILDS_PER_SHARD,
            identify_limit: None,
            heartbeat_interval_ms: HEARTBEAT_INTERVAL_MS,
        }
    }
}

/// Discord's heartbeat interval, in milliseconds.
pub const HEARTBEAT_INTERVAL_MS: u64 = 41_250;

/// One gateway session of the bot.
#[derive(Debug, Clone)]
pub struct Session {
    /// Where its events go.
    pub sender: GatewaySender,
    /// Its shard.
    pub shard: Shard,
    /// The intents it asked for; `None` when IDENTIFY named none (a test's bare client): all.
    pub intents: Option<u64>,
}

impl Session {
    /// An unsharded session receiving everything.
    pub fn all(sender: GatewaySender) -> Self {
        Self {
            sender,
            shard: Shard::ALL,
            intents: None,
        }
    }

    /// Whether `dispatch` reaches this session: its guild is on this shard, and, for an event
    /// about other members, the session asked for the GUILD_MEMBERS intent.
    pub fn receives(&self, dispatch: &Dispatch) -> bool {
        self.shard.holds(dispatch.guild_id)
            && (!dispatch.needs_members_intent
                || self.intents.is_none_or(|i| i & GUILD_MEMBERS_INTENT != 0))
    }
}

/// What IDENTIFY asked for (its token checked already).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Identify {
    /// `shard: [id, count]`; none for an unsharded bot.
    pub shard: Option<Shard>,
    /// `intents`.
    pub intents: Option<u64>,
}

/// Why an IDENTIFY is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentifyRefusal {
    /// Over the identify limit: Discord answers INVALID_SESSION (`d: false`).
    #[error("over the identify limit: one IDENTIFY per 5 seconds per max_concurrency bucket")]
    InvalidSession,
    /// `shard` with `id >= count`: Discord closes with 4010.
    #[error("Invalid shard.")]
    InvalidShard,
    /// A shard that would hold more than 2500 guilds: Discord closes with 4011.
    #[error("Sharding required.")]
    ShardingRequired,
    /// A privileged intent (GUILD_MEMBERS) the application does not have: Discord closes
    /// with 4014.
    #[error("Disallowed intent(s).")]
    DisallowedIntents,
}

impl World {
    /// Sets how the gateway shards and limits IDENTIFY.
    pub fn set_gateway(&mut self, settings: GatewaySettings) {
        self.gateway = settings;
    }

    /// How the gateway shards and limits IDENTIFY.
    pub fn gateway_settings(&self) -> GatewaySettings {
        self.gateway
    }

    /// The bot identified on a session that sends through `gateway` (reached at `host`): it
    /// now receives events too. Returns READY and the guilds' GUILD_CREATE, to send first.
    /// (An unsharded IDENTIFY, subject to the identify limit like any: when refused, no
    /// events.)
    pub fn identify(&mut self, gateway: GatewaySender, host: &str) -> Vec<Event> {
        self.identify_as(gateway, host, Identify::default(), Instant::now())
            .unwrap_or_default()
    }

    /// The bot identified at `now` with `request` on a session that sends through `gateway`:
    /// within the identify limit, the session receives its shard's events from now on, and
    /// READY (its shard's guilds) and their GUILD_CREATE are returned, to send first.
    pub fn identify_as(
        &mut self,
        gateway: GatewaySender,
        host: &str,
        request: Identify,
        now: Instant,
    ) -> Result<Vec<Event>, IdentifyRefusal> {
        let shard = request.shard.unwrap_or(Shard::ALL);
        let refusal = self.identify_refusal(shard, request.intents, now);
        self.record.identify_log.push(Identified {
            at: now,
            shard: request.shard,
            accepted: refusal.is_none(),
        });
        if let Some(refusal) = refusal {
            if refusal == IdentifyRefusal::InvalidSession {
                self.record.invalid_sessions += 1;
            }
            return Err(refusal);
        }
        if let Some(limit) = self.gateway.identify_limit {
            self.last_identify.insert(limit.bucket(shard), now);
        }
        self.record.identifies += 1;
        // A session that identifies again (after an invalid session) is not counted twice.
        self.gateways.retain(|g| !g.sender.same_channel(&gateway));
        self.gateways.push(Session {
            sender: gateway,
            shard,
            intents: request.intents,
        });
        let guilds: Vec<u64> = self
            .guilds
            .keys()
            .copied()
            .filter(|id| shard.holds(Some(*id)))
            .collect();
        let mut ready = Ready::new(host, guilds.iter().copied());
        ready.shard = request.shard.map(<[u32; 2]>::from);
        let mut events = vec![Event::Ready(Box::new(ready))];
        events.extend(
            guilds
                .iter()
                .filter_map(|id| self.guilds.get(id))
                .map(|g| Event::GuildCreate(Box::new(g.guild_create()))),
        );
        self.page_changed(None);
        Ok(events)
    }

    /// Why an IDENTIFY on `shard` at `now` is refused, if it is.
    fn identify_refusal(
        &self,
        shard: Shard,
        intents: Option<u64>,
        now: Instant,
    ) -> Option<IdentifyRefusal> {
        if !shard.is_valid() {
            return Some(IdentifyRefusal::InvalidShard);
        }
        let asks_members = intents.is_some_and(|i| i & GUILD_MEMBERS_INTENT != 0);
        if asks_members && !self.members_intent() {
            return Some(IdentifyRefusal::DisallowedIntents);
        }
        let held = self
            .guilds
            .keys()
            .filter(|id| shard.holds(Some(**id)))
            .count();
        if held > MAX_GUILDS_PER_SHARD {
            return Some(IdentifyRefusal::ShardingRequired);
        }
        let limit = self.gateway.identify_limit?;
        let last = self.last_identify.get(&limit.bucket(shard)).copied();
        (!limit.allows(last, now)).then_some(IdentifyRefusal::InvalidSession)
    }

    /// The answer of `GET /gateway/bot` for a bot that reached the sandbox at `host`.
    pub fn gateway_bot(&self, host: &str) -> GatewayBot {
        let started = u64::try_from(self.record.identifies).unwrap_or(u64::MAX);
        GatewayBot {
            url: format!("ws://{host}/gateway"),
            shards: recommended_shards(self.guilds.len(), self.gateway.guilds_per_shard),
            session_start_limit: SessionStartLimit {
                total: SESSION_STARTS_PER_DAY,
                remaining: SESSION_STARTS_PER_DAY.saturating_sub(started),
                reset_after: DAY_MS,
                max_concurrency: self
                    .gateway
                    .identify_limit
                    .map_or(1, |l| u64::from(l.max_concurrency)),
            },
        }
    }

    /// The session that sends through `gateway` ended; `true` when it had identified (it no
    /// longer receives events).
    pub fn disconnect(&mut self, gateway: &GatewaySender) -> bool {
        let before = self.gateways.len();
        self.gateways.retain(|g| !g.sender.same_channel(gateway));
        let known = self.gateways.len() < before;
        if known {
            self.page_changed(None);
        }
        known
    }

    /// Records that event `name` (with data `id`) is written to the bot's socket now.
    pub fn record_dispatch(&mut self, name: &str, id: &str, at: Instant) {
        self.record.dispatched.push(Dispatched {
            name: name.to_owned(),
            id: id.to_owned(),
            at,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;
    use crate::model::{
        event::RoleCreate,
        ids::{guild_id, shard_of, GUILD_ID},
        role::Role,
    };

    fn role_in(guild: u64) -> Event {
        Event::GuildRoleCreate(Box::new(RoleCreate {
            guild_id: guild,
            role: Role::new(6, "x"),
        }))
    }

    #[test]
    fn two_sessions_each_get_every_event_until_each_ends() {
        let mut world = World::new();
        let (old, mut old_rx) = mpsc::unbounded_channel();
        let (new, mut new_rx) = mpsc::unbounded_channel();
        let names: Vec<&str> = world
            .identify(old.clone(), "127.0.0.1:1")
            .iter()
            .map(Event::name)
            .collect();
        assert_eq!(names, ["READY", "GUILD_CREATE"]);
        world.identify(new.clone(), "127.0.0.1:1");
        world.identify(new.clone(), "127.0.0.1:1");
        assert_eq!(world.record.identifies, 3);
        assert_eq!(
            world.sessions(),
            2,
            "identifying again is still one session"
        );
        assert!(world.send_event(role_in(GUILD_ID)));
        assert_eq!(old_rx.try_recv().unwrap().name, "GUILD_ROLE_CREATE");
        assert_eq!(new_rx.try_recv().unwrap().name, "GUILD_ROLE_CREATE");
        assert!(world.disconnect(&old));
        assert!(!world.disconnect(&old), "once");
        assert!(world.bot_connected());
        assert!(world.disconnect(&new));
        assert!(!world.bot_connected());
    }

    /// Identifies shard `id` of `count` at `at`, returning the guilds of its READY.
    fn identify_shard(
        world: &mut World,
        id: u32,
        count: u32,
        at: Instant,
    ) -> (
        Result<Vec<u64>, IdentifyRefusal>,
        mpsc::UnboundedReceiver<Dispatch>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let request = Identify {
            shard: Some(Shard { id, count }),
            intents: Some(0),
        };
        let guilds = world
            .identify_as(tx, "h", request, at)
            .map(|events| match &events[0] {
                Event::Ready(ready) => ready.guilds.iter().map(|g| g.id).collect(),
                other => panic!("READY first, not {other:?}"),
            });
        (guilds, rx)
    }

    #[test]
    fn each_shard_gets_its_guilds_their_events_and_dms_go_to_shard_zero() {
        let mut world = World::with_guilds(4);
        let now = Instant::now();
        let (zero, mut zero_rx) = identify_shard(&mut world, 0, 2, now);
        let (one, mut one_rx) = identify_shard(&mut world, 1, 2, now);
        let (zero, one) = (zero.unwrap(), one.unwrap());
        assert_eq!(zero.len() + one.len(), 4);
        assert!(zero.iter().all(|g| shard_of(*g, 2) == 0));
        assert!(one.iter().all(|g| shard_of(*g, 2) == 1));
        assert!(world.send_event(role_in(one[0])));
        assert!(zero_rx.try_recv().is_err());
        assert_eq!(one_rx.try_recv().unwrap().guild_id, Some(one[0]));
        let dm = Event::MessageDelete(crate::model::event::MessageDelete {
            id: 1,
            channel_id: 2,
            guild_id: None,
        });
        assert!(world.send_event(dm));
        assert_eq!(zero_rx.try_recv().unwrap().name, "MESSAGE_DELETE");
        assert!(one_rx.try_recv().is_err());
        assert!(world.guild_connected(guild_id(3)));
        assert_eq!(world.session_shards().len(), 2);
    }

    #[test]
    fn the_identify_limit_refuses_a_second_identify_of_a_bucket_within_five_seconds() {
        let mut world = World::with_guilds(4);
        world.set_gateway(GatewaySettings {
            guilds_per_shard: 2,
            identify_limit: Some(IdentifyLimit::discord(2)),
            ..GatewaySettings::default()
        });
        let start = Instant::now();
        assert!(identify_shard(&mut world, 0, 4, start).0.is_ok());
        assert!(
            identify_shard(&mut world, 1, 4, start).0.is_ok(),
            "another bucket"
        );
        assert_eq!(
            identify_shard(&mut world, 2, 4, start + Duration::from_secs(4)).0,
            Err(IdentifyRefusal::InvalidSession),
            "bucket 0 again"
        );
        assert!(
            identify_shard(&mut world, 2, 4, start + Duration::from_secs(5))
                .0
                .is_ok()
        );
        assert_eq!(
            identify_shard(&mut world, 4, 4, start + Duration::from_secs(60)).0,
            Err(IdentifyRefusal::InvalidShard)
        );
        assert_eq!(world.record.invalid_sessions, 1);
        assert_eq!(world.record.identifies, 3);
        let accepted: Vec<bool> = world
            .record
            .identify_log
            .iter()
            .map(|i| i.accepted)
            .collect();
        assert_eq!(accepted, [true, true, false, true, false]);
        let bot = world.gateway_bot("h");
        assert_eq!(
            (bot.shards, bot.session_start_limit.max_concurrency),
            (2, 2)
        );
        assert_eq!(
            bot.session_start_limit.remaining,
            SESSION_STARTS_PER_DAY - 3
        );
    }

    #[test]
    fn a_shard_of_more_than_2500_guilds_must_shard() {
        let mut world = World::with_guilds(MAX_GUILDS_PER_SHARD + 1);
        let (tx, _rx) = mpsc::unbounded_channel();
        assert_eq!(
            world.identify_as(tx, "h", Identify::default(), Instant::now()),
            Err(IdentifyRefusal::ShardingRequired)
        );
        assert!(identify_shard(&mut world, 0, 2, Instant::now()).0.is_ok());
    }

    #[test]
    fn other_members_joining_a_thread_reach_only_a_session_with_the_members_intent() {
        use crate::model::{channel::ThreadMember, event::ThreadMembersUpdate};
        let (tx, mut plain_rx) = mpsc::unbounded_channel();
        let (members_tx, mut members_rx) = mpsc::unbounded_channel();
        let plain = Session {
            intents: Some(1),
            ..Session::all(tx)
        };
        let members = Session {
            intents: Some(GUILD_MEMBERS_INTENT),
            ..Session::all(members_tx)
        };
        let mut world = World::new();
        world.gateways.extend([plain, members]);
        let joined = Event::ThreadMembersUpdate(Box::new(ThreadMembersUpdate {
            id: 9,
            guild_id: GUILD_ID,
            member_count: 1,
            added_members: vec![ThreadMember::new(9, 7, "2026-11-27T08:00:00Z")],
            removed_member_ids: vec![],
        }));
        assert!(world.send_event(joined));
        assert!(plain_rx.try_recv().is_err());
        assert!(members_rx.try_recv().is_ok());
    }

    #[test]
    fn asking_for_guild_members_without_the_intent_is_refused_and_role_changes_need_it() {
        let mut world = World::new();
        let (tx, _rx) = mpsc::unbounded_channel();
        let asks = |intents| Identify {
            shard: None,
            intents: Some(intents),
        };
        let (members_tx, mut members_rx) = mpsc::unbounded_channel();
        assert!(world
            .identify_as(
                members_tx,
                "h",
                asks(GUILD_MEMBERS_INTENT | 1),
                Instant::now()
            )
            .is_ok());
        let (plain_tx, mut plain_rx) = mpsc::unbounded_channel();
        assert!(world
            .identify_as(plain_tx, "h", asks(1), Instant::now())
            .is_ok());
        let role = world.add_role(GUILD_ID, "Billing").unwrap();
        while members_rx.try_recv().is_ok() || plain_rx.try_recv().is_ok() {}

        world.set_member_role(GUILD_ID, 7, role, true).unwrap_err();
        let member = crate::model::ids::MEMBER_A_ID;
        world.set_member_role(GUILD_ID, member, role, true).unwrap();
        world.set_member_role(GUILD_ID, member, role, true).unwrap();

        let update = members_rx.try_recv().expect("told to the members session");
        assert_eq!(update.name, "GUILD_MEMBER_UPDATE");
        assert_eq!(update.data["user"]["id"], member.to_string());
        assert_eq!(update.data["roles"], serde_json::json!([role.to_string()]));
        assert!(members_rx.try_recv().is_err(), "no change, no event");
        assert!(plain_rx.try_recv().is_err());

        world.revoke_members_intent();
        assert_eq!(
            world.identify_as(tx.clone(), "h", asks(GUILD_MEMBERS_INTENT), Instant::now()),
            Err(IdentifyRefusal::DisallowedIntents)
        );
        assert!(world.identify_as(tx, "h", asks(1), Instant::now()).is_ok());
    }
}
