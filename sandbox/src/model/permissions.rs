//! Discord's permission bits the sandbox reads, and which commands a member may use.

/// `VIEW_CHANNEL`.
pub const VIEW_CHANNEL: u64 = 1 << 10;
/// `ADMINISTRATOR`.
pub const ADMINISTRATOR: u64 = 1 << 3;
/// `MANAGE_THREADS`: see every private thread of a channel one sees, send in locked threads,
/// unarchive them.
pub const MANAGE_THREADS: u64 = 1 << 34;
/// Every permission (what an administrator or the guild's owner has in every channel).
pub const ALL: u64 = u64::MAX;
/// What @everyone may do (view channels, send messages, read history...), as a new guild has it.
pub const EVERYONE_PERMISSIONS: u64 = 1_071_698_660_929;
/// What an administrator has: everyone's permissions and Administrator.
pub const ADMINISTRATOR_PERMISSIONS: u64 = EVERYONE_PERMISSIONS | ADMINISTRATOR;

/// Whether someone may use a command needing `required` (its `default_member_permissions`), as
/// the Discord client decides which commands to show: no requirement, or one that does not
/// need Administrator, or an administrator.
pub fn may_use(required: Option<u64>, administrator: bool) -> bool {
    let required = required.unwrap_or(0);
    required == 0 || administrator || required & ADMINISTRATOR == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_only_commands_are_for_administrators() {
        assert!(may_use(None, false));
        assert!(may_use(Some(VIEW_CHANNEL), false));
        assert!(!may_use(Some(ADMINISTRATOR), false));
        assert!(may_use(Some(ADMINISTRATOR), true));
        assert_eq!(ADMINISTRATOR_PERMISSIONS, 1_071_698_660_937);
        assert_eq!(EVERYONE_PERMISSIONS & MANAGE_THREADS, 0, "not for everyone");
    }
}
