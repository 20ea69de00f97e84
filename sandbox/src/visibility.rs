//! Who sees a channel, computed the way Discord does: the @everyone role's permissions and the
//! member's roles, then the channel's overwrites in order (@everyone, the member's roles
//! together, the member); administrators and the guild owner see everything.

use serde_json::Value;

/// `VIEW_CHANNEL`.
pub const VIEW_CHANNEL: u64 = 1 << 10;
/// `ADMINISTRATOR`.
pub const ADMINISTRATOR: u64 = 1 << 3;
/// Overwrite type of a role (a member's is 1).
const ROLE_OVERWRITE: u64 = 0;

/// A permission field: Discord sends strings, accept numbers too.
pub fn bits(value: &Value) -> u64 {
    match value {
        Value::String(text) => text.parse().unwrap_or(0),
        Value::Number(number) => number.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn id(value: &Value) -> u64 {
    bits(value)
}

/// Whether the member `user` (with `member_roles`, in a guild whose roles are `roles`, the
/// @everyone role among them with the guild's ID) may view `channel`.
pub fn can_view(
    channel: &Value,
    roles: &[Value],
    member_roles: &[u64],
    user: u64,
    owner: bool,
) -> bool {
    let guild_id = id(&channel["guild_id"]);
    let mut base = 0;
    for role in roles {
        let role_id = id(&role["id"]);
        if role_id == guild_id || member_roles.contains(&role_id) {
            base |= bits(&role["permissions"]);
        }
    }
    if owner || base & ADMINISTRATOR != 0 {
        return true;
    }
    let overwrites = channel["permission_overwrites"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let apply = |permissions: u64, allow: u64, deny: u64| (permissions & !deny) | allow;
    let kind = |o: &Value| o["type"].as_u64().unwrap_or(bits(&o["type"]));
    if let Some(everyone) = overwrites
        .iter()
        .find(|o| kind(o) == ROLE_OVERWRITE && id(&o["id"]) == guild_id)
    {
        base = apply(base, bits(&everyone["allow"]), bits(&everyone["deny"]));
    }
    let (mut allow, mut deny) = (0, 0);
    for o in overwrites
        .iter()
        .filter(|o| kind(o) == ROLE_OVERWRITE && member_roles.contains(&id(&o["id"])))
    {
        allow |= bits(&o["allow"]);
        deny |= bits(&o["deny"]);
    }
    base = apply(base, allow, deny);
    if let Some(member) = overwrites
        .iter()
        .find(|o| kind(o) != ROLE_OVERWRITE && id(&o["id"]) == user)
    {
        base = apply(base, bits(&member["allow"]), bits(&member["deny"]));
    }
    base & VIEW_CHANNEL != 0
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const GUILD: u64 = 1;
    const SUPPORT: u64 = 2;
    const ALICE: u64 = 3;
    const BOB: u64 = 4;

    fn roles() -> Vec<Value> {
        vec![
            json!({ "id": GUILD.to_string(), "permissions": VIEW_CHANNEL.to_string() }),
            json!({ "id": SUPPORT.to_string(), "permissions": "0" }),
        ]
    }

    fn ticket_of(user: u64) -> Value {
        json!({
            "guild_id": GUILD.to_string(),
            "permission_overwrites": [
                { "id": GUILD.to_string(), "type": 0, "allow": "0", "deny": VIEW_CHANNEL.to_string() },
                { "id": user.to_string(), "type": 1, "allow": VIEW_CHANNEL.to_string(), "deny": "0" },
                { "id": SUPPORT.to_string(), "type": 0, "allow": VIEW_CHANNEL.to_string(), "deny": "0" },
            ],
        })
    }

    #[test]
    fn a_ticket_is_seen_by_its_member_support_and_the_owner_only() {
        let ticket = ticket_of(ALICE);
        assert!(can_view(&ticket, &roles(), &[], ALICE, false));
        assert!(!can_view(&ticket, &roles(), &[], BOB, false));
        assert!(can_view(&ticket, &roles(), &[SUPPORT], BOB, false));
        assert!(can_view(&ticket, &roles(), &[], BOB, true));
    }

    #[test]
    fn a_channel_without_overwrites_is_seen_by_everyone_and_a_member_deny_wins() {
        let open = json!({ "guild_id": GUILD.to_string(), "permission_overwrites": [] });
        assert!(can_view(&open, &roles(), &[], BOB, false));
        let denied = json!({
            "guild_id": GUILD.to_string(),
            "permission_overwrites": [
                { "id": SUPPORT.to_string(), "type": 0, "allow": VIEW_CHANNEL.to_string(), "deny": "0" },
                { "id": BOB.to_string(), "type": 1, "allow": "0", "deny": VIEW_CHANNEL.to_string() },
            ],
        });
        assert!(!can_view(&denied, &roles(), &[SUPPORT], BOB, false));
    }

    #[test]
    fn an_administrator_role_sees_everything() {
        let mut all = roles();
        all.push(json!({ "id": "9", "permissions": ADMINISTRATOR.to_string() }));
        assert!(can_view(&ticket_of(ALICE), &all, &[9], BOB, false));
    }
}
