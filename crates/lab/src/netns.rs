//! Private network namespaces for hermetic tests.

use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error(
        "cannot create a network namespace: {0}. Run as root, or under `unshare -Urn` (a user namespace gives the right to make network namespaces)"
    )]
    Unshare(rustix::io::Errno),
    #[error("cannot bring up lo in the new network namespace: {0}")]
    Loopback(String),
}

/// Moves the calling thread into a new, empty network namespace with `lo` up. Sockets it
/// creates afterwards, and processes it spawns, live there; other threads are unaffected, so
/// each test thread gets its own namespace.
#[allow(unsafe_code)]
pub fn enter_private_netns() -> Result<(), NetnsError> {
    // SAFETY: unshare_unsafe is unsafe only because CLONE_FILES can invalidate fds other
    // threads hold; CLONE_NEWNET touches no fd table.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }.map_err(NetnsError::Unshare)?;
    let out = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .output()
        .map_err(|e| NetnsError::Loopback(format!("cannot run ip: {e}")))?;
    if !out.status.success() {
        return Err(NetnsError::Loopback(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    Ok(())
}

/// The inode of the calling thread's network namespace (to check isolation).
pub fn current_netns_inode() -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata("/proc/thread-self/ns/net")?.ino())
}
