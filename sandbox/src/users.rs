//! The people you can act as in the sandbox: the guild's owner (an administrator), a Support
//! member (given the Support role as soon as `/setup` creates it), and two ordinary members.

use serde::Serialize;

/// The guild's owner, an administrator.
pub const ADMIN_ID: u64 = 300_000_000_000_000_003;
/// A member of staff: gets the "Support" role once it exists.
pub const SUPPORT_ID: u64 = 300_000_000_000_000_006;
/// An ordinary member.
pub const MEMBER_A_ID: u64 = 400_000_000_000_000_004;
/// Another ordinary member.
pub const MEMBER_B_ID: u64 = 400_000_000_000_000_005;

/// Someone the page can act as.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Persona {
    /// The key the page uses (`admin`, `support`, `member-a`, `member-b`).
    pub key: &'static str,
    /// The user ID.
    #[serde(serialize_with = "as_string")]
    pub id: u64,
    /// The username.
    pub name: &'static str,
    /// What they are, for the switch.
    pub role: &'static str,
    /// Has the Administrator permission.
    pub administrator: bool,
}

fn as_string<S: serde::Serializer>(id: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&id.to_string())
}

/// Everyone the page can act as, administrator first.
pub const PERSONAS: [Persona; 4] = [
    Persona {
        key: "admin",
        id: ADMIN_ID,
        name: "ada",
        role: "administrator",
        administrator: true,
    },
    Persona {
        key: "support",
        id: SUPPORT_ID,
        name: "sam",
        role: "Support member",
        administrator: false,
    },
    Persona {
        key: "member-a",
        id: MEMBER_A_ID,
        name: "alice",
        role: "member A",
        administrator: false,
    },
    Persona {
        key: "member-b",
        id: MEMBER_B_ID,
        name: "bob",
        role: "member B",
        administrator: false,
    },
];

/// The persona with this key.
pub fn persona(key: &str) -> Option<&'static Persona> {
    PERSONAS.iter().find(|p| p.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_persona_is_found_by_its_key_and_only_the_admin_administers() {
        for p in &PERSONAS {
            assert_eq!(persona(p.key).map(|f| f.id), Some(p.id));
        }
        assert!(persona("nobody").is_none());
        let admins: Vec<_> = PERSONAS.iter().filter(|p| p.administrator).collect();
        assert_eq!(admins.len(), 1);
        assert_eq!(admins[0].id, ADMIN_ID);
    }
}
