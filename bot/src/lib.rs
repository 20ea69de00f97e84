//! The Discord bot (work in progress: see issue 4).
