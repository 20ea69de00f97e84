//! Who counts as staff: the one rule every check uses (closing someone else's ticket,
//! `/ticket-add`, the relay's handoff, the history's `staff` role). Staff are the holders of the
//! Support role `/setup` recorded (by ID: a role merely named Support is nobody's badge) and
//! administrators (the guild's owner is one). Administrators alone may run `/setup` and
//! `/ticket-panel`.

use serenity::all::{Guild, Member, Permissions, RoleId, UserId};

/// What the rule looks at: a member's roles and their permissions in the guild.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    /// The member's roles.
    pub roles: Vec<RoleId>,
    /// What those roles (or ownership) allow in the guild.
    pub permissions: Permissions,
}

impl Standing {
    /// The member behind an interaction: Discord sends the permissions it computed (owner and
    /// Administrator included), so they are taken as they are; none sent means none.
    pub fn of_member(member: &Member) -> Self {
        Self {
            roles: member.roles.clone(),
            permissions: member.permissions.unwrap_or_default(),
        }
    }

    /// `user` with `roles` in `guild` as the cache holds it: everything for the owner, else what
    /// @everyone and their roles allow (for messages, which carry roles but no permissions).
    pub fn in_guild(guild: &Guild, user: UserId, roles: Vec<RoleId>) -> Self {
        let permissions = if guild.owner_id == user {
            Permissions::all()
        } else {
            let everyone = RoleId::new(guild.id.get());
            roles
                .iter()
                .chain([&everyone])
                .filter_map(|id| guild.roles.get(id))
                .fold(Permissions::empty(), |all, role| all | role.permissions)
        };
        Self { roles, permissions }
    }

    /// Whether this member is staff, given the Support role `/setup` recorded (if it ran).
    pub fn is_staff(&self, support_role: Option<RoleId>) -> bool {
        self.is_admin() || support_role.is_some_and(|role| self.roles.contains(&role))
    }

    /// Whether this member is staff of a ticket whose topic has `topic_role`: staff, or a
    /// holder of that role (a topic's Support role handles its tickets).
    pub fn is_staff_of_topic(
        &self,
        support_role: Option<RoleId>,
        topic_role: Option<RoleId>,
    ) -> bool {
        self.is_staff(support_role) || topic_role.is_some_and(|role| self.roles.contains(&role))
    }

    /// Whether this member is an administrator. Server admins can override a command's
    /// `default_member_permissions`, so admin-only commands check the member too.
    pub fn is_admin(&self) -> bool {
        self.permissions.administrator()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GUILD: u64 = 10;
    const OWNER: u64 = 1;
    const ADMINS: u64 = 20;
    const SUPPORT: u64 = 21;
    const NAMED_SUPPORT: u64 = 22;

    fn role(id: u64, name: &str, permissions: Permissions) -> serde_json::Value {
        json!({"id": id.to_string(), "name": name, "permissions": permissions.bits().to_string(),
               "color": 0, "colors": {"primary_color": 0}, "hoist": false, "managed": false,
               "mentionable": false, "position": 1})
    }

    fn guild(everyone: Permissions) -> Guild {
        serde_json::from_value(json!({
            "id": GUILD.to_string(), "name": "g", "owner_id": OWNER.to_string(),
            "afk_timeout": 300, "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "mfa_level": 0, "system_channel_flags": 0,
            "premium_tier": 0, "preferred_locale": "en-US", "nsfw_level": 0,
            "premium_progress_bar_enabled": false, "joined_at": "2026-01-01T00:00:00Z",
            "large": false, "member_count": 1, "features": [], "emojis": [], "stickers": [],
            "voice_states": [], "members": [], "channels": [], "threads": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [],
            "roles": [
                role(GUILD, "@everyone", everyone),
                role(ADMINS, "Admins", Permissions::ADMINISTRATOR),
                role(SUPPORT, "Support", Permissions::empty()),
                role(NAMED_SUPPORT, "Support", Permissions::empty()),
            ],
        }))
        .expect("a guild")
    }

    fn member(guild: &Guild, user: u64, roles: &[u64]) -> Standing {
        let roles = roles.iter().copied().map(RoleId::new).collect();
        Standing::in_guild(guild, UserId::new(user), roles)
    }

    #[test]
    fn staff_are_the_recorded_support_role_and_administrators() {
        let guild = guild(Permissions::SEND_MESSAGES);
        let support = Some(RoleId::new(SUPPORT));
        assert!(member(&guild, 5, &[SUPPORT]).is_staff(support));
        assert!(member(&guild, 5, &[ADMINS]).is_staff(support));
        assert!(member(&guild, OWNER, &[]).is_staff(support), "the owner");
        assert!(!member(&guild, 5, &[]).is_staff(support));
        assert!(
            !member(&guild, 5, &[NAMED_SUPPORT]).is_staff(support),
            "a role merely named Support"
        );
        assert!(
            !member(&guild, 5, &[SUPPORT]).is_staff(None),
            "no Support role before /setup"
        );
        assert!(member(&guild, 5, &[ADMINS]).is_staff(None));
        let topic_role = Some(RoleId::new(NAMED_SUPPORT));
        assert!(member(&guild, 5, &[NAMED_SUPPORT]).is_staff_of_topic(support, topic_role));
        assert!(member(&guild, 5, &[SUPPORT]).is_staff_of_topic(support, topic_role));
        assert!(!member(&guild, 5, &[]).is_staff_of_topic(support, topic_role));
    }

    #[test]
    fn what_everyone_may_do_counts_for_every_member() {
        let guild = guild(Permissions::ADMINISTRATOR);
        assert!(member(&guild, 5, &[]).is_admin());
    }

    #[test]
    fn an_interaction_member_is_judged_by_the_permissions_discord_sent() {
        let admin: Member = serde_json::from_value(json!({
            "user": {"id": "5", "username": "a", "discriminator": "0"}, "roles": [],
            "deaf": false, "mute": false, "flags": 0, "joined_at": "2026-01-01T00:00:00Z",
            "guild_id": GUILD.to_string(), "permissions": Permissions::ADMINISTRATOR.bits().to_string(),
        }))
        .expect("a member");
        assert!(Standing::of_member(&admin).is_admin());
        let mut member = admin.clone();
        member.permissions = None;
        member.roles = vec![RoleId::new(SUPPORT)];
        let standing = Standing::of_member(&member);
        assert!(!standing.is_admin());
        assert!(standing.is_staff(Some(RoleId::new(SUPPORT))));
    }
}
