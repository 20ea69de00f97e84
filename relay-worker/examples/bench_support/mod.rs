//! What the worker's bench binaries share: the `relay-worker` binary beside them, child
//! processes killed on drop, and their memory read from `/proc`.

use std::{path::PathBuf, process::Child};

/// The `relay-worker` binary of the same build as this bench (`target/<profile>/`), checked to
/// exist.
pub fn worker_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/examples/<bench> -> target/<profile>/relay-worker
    let worker = exe.parent().unwrap().parent().unwrap().join("relay-worker");
    assert!(
        worker.is_file(),
        "build it first: cargo build --release -p relay-worker --bins --examples"
    );
    worker
}

/// Kills and reaps its processes when dropped, so that a failed bench leaves none behind.
pub struct Kill(pub Vec<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS`, `VmHWM`...).
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
