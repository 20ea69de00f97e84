//! Who sees a channel, computed the way Discord does: the @everyone role's permissions and the
//! member's roles, then the channel's overwrites in order (@everyone, the member's roles
//! together, the member); administrators and the guild owner see everything. A thread follows
//! its parent: a public one is seen by whoever sees the parent, a private one by its members
//! and by those who may manage threads in the parent.

use crate::model::{
    channel::{Channel, Overwrite, OverwriteKind},
    permissions::{ADMINISTRATOR, ALL, MANAGE_THREADS, VIEW_CHANNEL},
    role::Role,
};

/// Whether member `user` (with `member_roles`, in a guild whose roles are `roles`, the
/// @everyone role among them with the guild's ID) may view `channel`; `owner` for the guild's
/// owner.
pub fn can_view(
    channel: &Channel,
    roles: &[Role],
    member_roles: &[u64],
    user: u64,
    owner: bool,
) -> bool {
    permissions(channel, roles, member_roles, user, owner) & VIEW_CHANNEL != 0
}

/// Whether someone with `parent_permissions` in a thread's parent channel (from
/// [`permissions`]) sees the thread: a private thread only as one of its members
/// (`thread_member`) or with Manage Threads.
pub fn can_view_thread(private: bool, parent_permissions: u64, thread_member: bool) -> bool {
    parent_permissions & VIEW_CHANNEL != 0
        && (!private || thread_member || parent_permissions & MANAGE_THREADS != 0)
}

/// The permission bits of member `user` in `channel` (see [`can_view`]); every bit for the
/// guild's owner and administrators.
pub fn permissions(
    channel: &Channel,
    roles: &[Role],
    member_roles: &[u64],
    user: u64,
    owner: bool,
) -> u64 {
    let guild_id = channel.guild_id;
    let mut base = roles
        .iter()
        .filter(|role| role.id == guild_id || member_roles.contains(&role.id))
        .fold(0, |bits, role| bits | role.permissions);
    if owner || base & ADMINISTRATOR != 0 {
        return ALL;
    }
    let overwrites = &channel.permission_overwrites;
    let apply = |permissions: u64, o: &Overwrite| (permissions & !o.deny) | o.allow;
    if let Some(everyone) = overwrites
        .iter()
        .find(|o| o.kind == OverwriteKind::Role && o.id == guild_id)
    {
        base = apply(base, everyone);
    }
    let (allow, deny) = overwrites
        .iter()
        .filter(|o| o.kind == OverwriteKind::Role && member_roles.contains(&o.id))
        .fold((0, 0), |(allow, deny), o| (allow | o.allow, deny | o.deny));
    base = (base & !deny) | allow;
    if let Some(member) = overwrites
        .iter()
        .find(|o| o.kind == OverwriteKind::Member && o.id == user)
    {
        base = apply(base, member);
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        channel::ChannelKind,
        permissions::{ADMINISTRATOR, VIEW_CHANNEL},
    };

    const GUILD: u64 = 1;
    const SUPPORT: u64 = 2;
    const ALICE: u64 = 3;
    const BOB: u64 = 4;

    fn roles() -> Vec<Role> {
        let mut everyone = Role::everyone(GUILD);
        everyone.permissions = VIEW_CHANNEL;
        vec![everyone, Role::new(SUPPORT, "Support")]
    }

    fn overwrite(id: u64, kind: OverwriteKind, allow: u64, deny: u64) -> Overwrite {
        Overwrite {
            id,
            kind,
            allow,
            deny,
        }
    }

    fn channel(overwrites: Vec<Overwrite>) -> Channel {
        Channel::new(9, GUILD, ChannelKind::Text, "c", None, overwrites)
    }

    fn ticket_of(user: u64) -> Channel {
        channel(vec![
            overwrite(GUILD, OverwriteKind::Role, 0, VIEW_CHANNEL),
            overwrite(user, OverwriteKind::Member, VIEW_CHANNEL, 0),
            overwrite(SUPPORT, OverwriteKind::Role, VIEW_CHANNEL, 0),
        ])
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
        assert!(can_view(&channel(vec![]), &roles(), &[], BOB, false));
        let denied = channel(vec![
            overwrite(SUPPORT, OverwriteKind::Role, VIEW_CHANNEL, 0),
            overwrite(BOB, OverwriteKind::Member, 0, VIEW_CHANNEL),
        ]);
        assert!(!can_view(&denied, &roles(), &[SUPPORT], BOB, false));
    }

    #[test]
    fn an_administrator_role_sees_everything() {
        let mut all = roles();
        let mut admins = Role::new(9, "Admins");
        admins.permissions = ADMINISTRATOR;
        all.push(admins);
        assert!(can_view(&ticket_of(ALICE), &all, &[9], BOB, false));
    }

    #[test]
    fn a_private_thread_is_seen_by_its_members_and_thread_managers_who_see_the_parent() {
        let mut parent = channel(vec![overwrite(
            SUPPORT,
            OverwriteKind::Role,
            MANAGE_THREADS,
            0,
        )]);
        let of = |user, roles: &[u64], parent: &Channel| {
            permissions(parent, &super::tests::roles(), roles, user, false)
        };
        assert!(can_view_thread(true, of(ALICE, &[], &parent), true));
        assert!(!can_view_thread(true, of(BOB, &[], &parent), false));
        assert!(can_view_thread(true, of(BOB, &[SUPPORT], &parent), false));
        assert!(can_view_thread(false, of(BOB, &[], &parent), false));
        parent.permission_overwrites = vec![overwrite(GUILD, OverwriteKind::Role, 0, VIEW_CHANNEL)];
        assert!(
            !can_view_thread(true, of(ALICE, &[], &parent), true),
            "a member who lost the parent loses the thread"
        );
        assert_eq!(permissions(&parent, &roles(), &[], BOB, true), ALL);
    }
}
