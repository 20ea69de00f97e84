//! The bot's idea of "now" where it matters to people (whether staff are there, when they are
//! back): the system clock, shifted by a fixed offset a test can set ([`Clock::starting_at`])
//! to stand on a Saturday night or just before opening time without waiting for one.

use serenity::all::Timestamp;

/// The system clock, optionally shifted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// Seconds added to the system clock.
    offset_secs: i64,
}

impl Clock {
    /// A clock that reads `unix_secs` now and goes on from there at the system clock's pace.
    pub fn starting_at(unix_secs: i64) -> Self {
        Self {
            offset_secs: unix_secs - Timestamp::now().unix_timestamp(),
        }
    }

    /// Now, in seconds since the Unix epoch.
    pub fn now(self) -> i64 {
        Timestamp::now().unix_timestamp() + self.offset_secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_reads_the_time_it_was_set_to() {
        let clock = Clock::starting_at(1_000_000);
        assert!((clock.now() - 1_000_000).abs() <= 2);
        assert!((Clock::default().now() - Timestamp::now().unix_timestamp()).abs() <= 2);
    }
}
