//! Finding tracefs (where tracepoint ids and formats are published), wherever it is mounted;
//! where it is not, a private instance that no path reaches and that dies with us.
//!
//! The private instance is a detached mount (`fsopen("tracefs")`, `fsmount`): it is never
//! attached to a directory, so no other user can choose where it lands (a planted symlink
//! in /tmp once steered a root mount), and no `kill -9` can leave it behind: the kernel
//! drops it when the last fd to it closes. Its files are read through that fd.

use crate::format::Format;
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where tracefs usually is; /proc/mounts is read for any other place.
const USUAL: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

#[derive(Debug, thiserror::Error)]
pub enum TracefsError {
    #[error(
        "tracefs is not mounted and a private instance could not be made ({0}): the kernel's tracepoints need root (or CAP_PERFMON with tracefs mounted: mount -t tracefs nodev /sys/kernel/tracing)"
    )]
    CannotMount(rustix::io::Errno),
    #[error(
        "tracefs at {0} is not readable: permission denied (the kernel's tracepoints need root, or CAP_PERFMON and read access to tracefs)"
    )]
    Denied(String),
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}: {error}")]
    Format { path: String, error: crate::format::FormatError },
    #[error("this kernel has no tracepoint {0} (it needs Linux 4.16 or later)")]
    NoEvent(String),
}

/// Where tracefs's files are read from.
enum Root {
    /// A mount that was there.
    Mounted(PathBuf),
    /// Our detached instance: the fd of its root.
    Private(OwnedFd),
}

/// A tracefs: one that was mounted, or a private detached instance of ours.
pub struct Tracefs {
    root: Root,
}

impl Tracefs {
    /// The tracefs already mounted, or a private detached instance.
    pub fn open() -> Result<Tracefs, TracefsError> {
        match find() {
            Found::At(root) => return Ok(Tracefs { root: Root::Mounted(root) }),
            Found::Denied(root) => return Err(TracefsError::Denied(root.display().to_string())),
            Found::Nowhere => {}
        }
        let fs = rustix::mount::fsopen("tracefs", FsOpenFlags::FSOPEN_CLOEXEC).map_err(TracefsError::CannotMount)?;
        rustix::mount::fsconfig_create(&fs).map_err(TracefsError::CannotMount)?;
        let mount = rustix::mount::fsmount(
            &fs,
            FsMountFlags::FSMOUNT_CLOEXEC,
            MountAttrFlags::MOUNT_ATTR_RDONLY
                | MountAttrFlags::MOUNT_ATTR_NOSUID
                | MountAttrFlags::MOUNT_ATTR_NODEV
                | MountAttrFlags::MOUNT_ATTR_NOEXEC,
        )
        .map_err(TracefsError::CannotMount)?;
        Ok(Tracefs { root: Root::Private(mount) })
    }

    /// The text of a file under tracefs's root, and how to name it in errors.
    fn read(&self, relative: &Path) -> (String, std::io::Result<String>) {
        match &self.root {
            Root::Mounted(root) => {
                let path = root.join(relative);
                let text = std::fs::read_to_string(&path);
                (path.display().to_string(), text)
            }
            Root::Private(fd) => {
                let name = format!("tracefs (private instance)/{}", relative.display());
                let opened = rustix::fs::openat(fd, relative, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty());
                let text = opened.map_err(std::io::Error::from).and_then(|fd| {
                    let mut text = String::new();
                    // A format file is a few KiB.
                    std::fs::File::from(fd).take(1 << 20).read_to_string(&mut text).map(|_| text)
                });
                (name, text)
            }
        }
    }

    /// The format (with the id) of `system/event`, e.g. `sock/inet_sock_set_state`.
    pub fn event(&self, system: &str, event: &str) -> Result<Format, TracefsError> {
        let relative = Path::new("events").join(system).join(event).join("format");
        let (path, text) = self.read(&relative);
        let text = text.map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                TracefsError::NoEvent(format!("{system}:{event}"))
            } else if error.kind() == std::io::ErrorKind::PermissionDenied {
                TracefsError::Read {
                    path: path.clone(),
                    error: std::io::Error::other(
                        "permission denied: the kernel's tracepoints need root or CAP_PERFMON",
                    ),
                }
            } else {
                TracefsError::Read { path: path.clone(), error }
            }
        })?;
        Format::parse(&text).map_err(|error| TracefsError::Format { path, error })
    }
}

enum Found {
    At(PathBuf),
    /// Mounted, but its events cannot be read by us.
    Denied(PathBuf),
    Nowhere,
}

/// A mounted tracefs with events in it: the usual places first, then /proc/mounts.
fn find() -> Found {
    let mut denied = None;
    let mut check = |p: &Path| match std::fs::metadata(p.join("events")) {
        Ok(m) if m.is_dir() => true,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            denied.get_or_insert_with(|| p.to_path_buf());
            false
        }
        _ => false,
    };
    if let Some(p) = USUAL.iter().map(Path::new).find(|p| check(p)) {
        return Found::At(p.to_path_buf());
    }
    let mounts = sockscope_core::process::Processes::default().own_mounts();
    let mounts = String::from_utf8_lossy(&mounts);
    if let Some(p) = mounts_of_type(&mounts, "tracefs").into_iter().find(|p| check(p)) {
        return Found::At(p);
    }
    denied.map_or(Found::Nowhere, Found::Denied)
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
