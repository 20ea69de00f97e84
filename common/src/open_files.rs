//! The open-files limit of a service: every connection, accepted or made, is a file descriptor,
//! and the soft limit most processes start with (1,024 under systemd and in most shells) is
//! reached long before the hard one (524,288 on Debian), by a sidecar with a thousand clients or
//! a bot with a thousand Discord calls open. Raising the soft limit up to the hard one needs no
//! privilege; Go's runtime (nats-server's) does it at start as well.

/// What [`raise`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit the process started with.
    pub before: u64,
    /// The soft limit now.
    pub now: u64,
    /// The hard limit, which only a privileged process can raise.
    pub hard: u64,
}

/// Raises this process's soft limit on open files to its hard limit.
pub fn raise() -> std::io::Result<OpenFiles> {
    let (before, hard) = rlimit::Resource::NOFILE.get()?;
    let now = rlimit::increase_nofile_limit(u64::MAX)?;
    Ok(OpenFiles { before, now, hard })
}

/// [`raise`], logged: INFO when the limit went up, WARN when it could not be read or changed
/// (the service runs on with the limit it has).
pub fn raise_and_log() {
    match raise() {
        Ok(files) if files.now > files.before => tracing::info!(
            from = files.before,
            to = files.now,
            "open files: soft limit raised to the hard limit"
        ),
        Ok(files) => tracing::debug!(
            limit = files.now,
            "open files: soft limit already at the hard limit"
        ),
        Err(err) => tracing::warn!(error = %err, "open files: cannot raise the soft limit"),
    }
}

#[cfg(test)]
mod tests {
    use rlimit::Resource;

    use super::*;

    // Each test runs in a process of its own under nextest; under `cargo test` the lowered limit
    // (still far above what this test binary opens) is raised again at once.
    #[test]
    fn the_soft_limit_is_raised_to_the_hard_limit() {
        let (_, hard) = Resource::NOFILE.get().unwrap();
        let low = hard.min(256);
        Resource::NOFILE.set(low, hard).unwrap();

        let files = raise().unwrap();

        assert_eq!(
            files,
            OpenFiles {
                before: low,
                now: hard,
                hard
            }
        );
        assert_eq!(Resource::NOFILE.get().unwrap(), (hard, hard));
        // Raising again changes nothing.
        assert_eq!(
            raise().unwrap(),
            OpenFiles {
                before: hard,
                now: hard,
                hard
            }
        );
    }
}
