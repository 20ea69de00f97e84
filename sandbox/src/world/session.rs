//! The bot's gateway sessions as the world sees them: each identifies (and gets READY and one
//! GUILD_CREATE per guild), receives events until it leaves, and each event written to a
//! socket is recorded. Several sessions may be open at once: two processes of the bot on the
//! same shard during a rolling deploy each get every event, as on Discord.

use std::time::Instant;

use crate::{
    model::{event::Event, guild::Ready},
    world::{record::Dispatched, GatewaySender, World},
};

impl World {
    /// The bot identified on a session that sends through `gateway` (reached at `host`): it
    /// now receives events too. Returns READY and the guilds' GUILD_CREATE, to send first.
    pub fn identify(&mut self, gateway: GatewaySender, host: &str) -> Vec<Event> {
        self.record.identifies += 1;
        // A session that identifies again (after an invalid session) is not counted twice.
        self.gateways.retain(|g| !g.same_channel(&gateway));
        self.gateways.push(gateway);
        let ready = Ready::new(host, self.guilds.keys().copied());
        let mut events = vec![Event::Ready(Box::new(ready))];
        events.extend(
            self.guilds
                .values()
                .map(|g| Event::GuildCreate(Box::new(g.guild_create()))),
        );
        self.page_changed(None);
        events
    }

    /// The session that sends through `gateway` ended; `true` when it had identified (it no
    /// longer receives events).
    pub fn disconnect(&mut self, gateway: &GatewaySender) -> bool {
        let before = self.gateways.len();
        self.gateways.retain(|g| !g.same_channel(gateway));
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
    use tokio::sync::mpsc;

    use super::*;

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
        let role = Event::GuildRoleCreate(Box::new(crate::model::event::RoleCreate {
            guild_id: crate::model::ids::GUILD_ID,
            role: crate::model::role::Role::new(6, "x"),
        }));
        assert!(world.send_event(role));
        assert_eq!(old_rx.try_recv().unwrap().name, "GUILD_ROLE_CREATE");
        assert_eq!(new_rx.try_recv().unwrap().name, "GUILD_ROLE_CREATE");
        assert!(world.disconnect(&old));
        assert!(!world.disconnect(&old), "once");
        assert!(world.bot_connected());
        assert!(world.disconnect(&new));
        assert!(!world.bot_connected());
    }
}
