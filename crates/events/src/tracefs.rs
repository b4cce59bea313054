//! Finding tracefs (where tracepoint ids and formats are published), wherever it is mounted;
//! mounting a private instance when it is not mounted at all.

use crate::format::Format;
use std::path::{Path, PathBuf};

/// Where tracefs usually is; /proc/mounts is read for any other place.
const USUAL: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

#[derive(Debug, thiserror::Error)]
pub enum TracefsError {
    #[error(
        "tracefs is not mounted and mounting it failed ({0}): the kernel's tracepoints need root (or CAP_PERFMON with tracefs mounted: mount -t tracefs nodev /sys/kernel/tracing)"
    )]
    CannotMount(rustix::io::Errno),
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}: {error}")]
    Format { path: String, error: crate::format::FormatError },
    #[error("this kernel has no tracepoint {0} (it needs Linux 4.16 or later)")]
    NoEvent(String),
}

/// A tracefs mount: one that was there, or a private one of ours, unmounted when dropped.
pub struct Tracefs {
    root: PathBuf,
    ours: bool,
}

impl Tracefs {
    /// The tracefs already mounted, or a private mount in a new directory under /tmp.
    pub fn open() -> Result<Tracefs, TracefsError> {
        if let Some(root) = find() {
            return Ok(Tracefs { root, ours: false });
        }
        let dir = std::env::temp_dir().join(format!("sockscope-tracefs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| {
            TracefsError::CannotMount(rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO))
        })?;
        match rustix::mount::mount("nodev", &dir, "tracefs", rustix::mount::MountFlags::empty(), None) {
            Ok(()) => Ok(Tracefs { root: dir, ours: true }),
            Err(errno) => {
                let _ = std::fs::remove_dir(&dir);
                Err(TracefsError::CannotMount(errno))
            }
        }
    }

    /// The format (with the id) of `system/event`, e.g. `sock/inet_sock_set_state`.
    pub fn event(&self, system: &str, event: &str) -> Result<Format, TracefsError> {
        let dir = self.root.join("events").join(system).join(event);
        let path = dir.join("format");
        let text = std::fs::read_to_string(&path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                TracefsError::NoEvent(format!("{system}:{event}"))
            } else if error.kind() == std::io::ErrorKind::PermissionDenied {
                TracefsError::Read {
                    path: path.display().to_string(),
                    error: std::io::Error::other(
                        "permission denied: the kernel's tracepoints need root or CAP_PERFMON",
                    ),
                }
            } else {
                TracefsError::Read { path: path.display().to_string(), error }
            }
        })?;
        Format::parse(&text).map_err(|error| TracefsError::Format { path: path.display().to_string(), error })
    }
}

impl Drop for Tracefs {
    fn drop(&mut self) {
        if self.ours {
            let _ = rustix::mount::unmount(&self.root, rustix::mount::UnmountFlags::DETACH);
            let _ = std::fs::remove_dir(&self.root);
        }
    }
}

/// A mounted tracefs with events in it: the usual places first, then /proc/mounts.
fn find() -> Option<PathBuf> {
    let has_events = |p: &Path| p.join("events").is_dir();
    if let Some(p) = USUAL.iter().map(Path::new).find(|p| has_events(p)) {
        return Some(p.to_path_buf());
    }
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts_of_type(&mounts, "tracefs").into_iter().find(|p| has_events(p))
}

/// The mount points of every `fstype` mount in a /proc/mounts text (octal escapes undone).
pub fn mounts_of_type(mounts: &str, fstype: &str) -> Vec<PathBuf> {
    mounts
        .lines()
        .filter_map(|l| {
            let mut w = l.split(' ');
            let (_, dir, ty) = (w.next()?, w.next()?, w.next()?);
            (ty == fstype).then(|| PathBuf::from(sockscope_core::text::unescape_octal(dir)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tracefs_mounts_in_proc_mounts() {
        let mounts = "sysfs /sys sysfs rw 0 0\n\
                      tracefs /sys/kernel/tracing tracefs rw,nosuid 0 0\n\
                      nodev /tmp/my\\040trace tracefs rw 0 0\n\
                      debugfs /sys/kernel/debug debugfs rw 0 0\n";
        assert_eq!(
            mounts_of_type(mounts, "tracefs"),
            vec![PathBuf::from("/sys/kernel/tracing"), PathBuf::from("/tmp/my trace")]
        );
        assert!(mounts_of_type("garbage\n\n", "tracefs").is_empty());
    }
}
