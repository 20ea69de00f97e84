//! The bot's gateway session as the world sees it: it identifies (and gets READY and one
//! GUILD_CREATE per guild), receives events until it leaves, and each event written to its
//! socket is recorded.

use std::time::Instant;

use crate::{
    model::{event::Event, guild::Ready},
    world::{record::Dispatched, GatewaySender, World},
};

impl World {
    /// The bot identified on a session that sends through `gateway` (reached at `host`): it
    /// is now the connected one. Returns READY and the guilds' GUILD_CREATE, to send first.
    pub fn identify(&mut self, gateway: GatewaySender, host: &str) -> Vec<Event> {
        self.record.identifies += 1;
        self.gateway = Some(gateway);
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

    /// The session that sends through `gateway` ended; `true` when it was the connected one
    /// (the bot is now offline).
    pub fn disconnect(&mut self, gateway: &GatewaySender) -> bool {
        let current = self
            .gateway
            .as_ref()
            .is_some_and(|g| g.same_channel(gateway));
        if current {
            self.gateway = None;
            self.page_changed(None);
        }
        current
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
    fn identifying_connects_the_bot_until_its_session_ends() {
        let mut world = World::new();
        let (old, _old_rx) = mpsc::unbounded_channel();
        let (new, _new_rx) = mpsc::unbounded_channel();
        let names: Vec<&str> = world
            .identify(old.clone(), "127.0.0.1:1")
            .iter()
            .map(Event::name)
            .collect();
        assert_eq!(names, ["READY", "GUILD_CREATE"]);
        world.identify(new.clone(), "127.0.0.1:1");
        assert_eq!(world.record.identifies, 2);
        assert!(
            !world.disconnect(&old),
            "an older session ending changes nothing"
        );
        assert!(world.bot_connected());
        assert!(world.disconnect(&new));
        assert!(!world.bot_connected());
    }
}
