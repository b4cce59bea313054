//! Files sockscope writes for the user (captures, `trace -o`, `-D` dumps, charts): created
//! private (0600 unless the user asks for another mode), never through a symlink another
//! user planted, and an existing file is replaced by renaming a new one over it, so its
//! old contents and any other name it has (a hard link) are never written through.
//!
//! sockscope runs as root in directories like /tmp where anyone may create names: opening
//! `/tmp/x` with O_TRUNC would follow `nobody`'s symlink to /etc/shadow wherever
//! `fs.protected_symlinks` is 0.

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
use std::path::{Path, PathBuf};

/// The mode of a file sockscope creates unless told otherwise: it may hold every process's
/// command line and fds.
pub const PRIVATE: u32 = 0o600;

/// What to do when the path exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse (`record` without `--force`).
    Refuse,
    /// Replace it with a new file (`--force`; `-D` and `trace -o`, as ss and strace do).
    Replace,
}

#[derive(Debug, thiserror::Error)]
pub enum OutFileError {
    #[error("{path}: it exists")]
    Exists { path: PathBuf },
    #[error(
        "{path}: it is a symlink owned by uid {owner} in the shared directory {dir} (sticky and world-writable); sockscope does not write through another user's link there (remove it, or name the file it points to)"
    )]
    ForeignSymlink { path: PathBuf, dir: PathBuf, owner: u32 },
    #[error(
        "{path}: it is not a regular file and is owned by uid {owner} in the shared directory {dir} (sticky and world-writable); sockscope does not write into another user's FIFO or device there"
    )]
    Foreign { path: PathBuf, dir: PathBuf, owner: u32 },
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
}

/// Creates `path` for writing with `mode` (`PRIVATE` unless the user chose one).
pub fn create(path: &Path, existing: Existing, mode: u32) -> Result<std::fs::File, OutFileError> {
    let io = |path: &Path, cause: rustix::io::Errno| OutFileError::Io { path: path.to_path_buf(), cause: cause.into() };
    let fresh = |p: &Path| {
        rustix::fs::open(
            p,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode & 0o7777),
        )
    };
    match fresh(path) {
        Ok(fd) => return Ok(std::fs::File::from(fd)),
        Err(rustix::io::Errno::EXIST) if existing == Existing::Replace => {}
        Err(rustix::io::Errno::EXIST) => return Err(OutFileError::Exists { path: path.to_path_buf() }),
        Err(e) => return Err(io(path, e)),
    }
    let link = refuse_foreign_symlink(path)?;
    if let Some(file) = open_special(path, link)? {
        return Ok(file);
    }
    let target = if link {
        std::fs::canonicalize(path).map_err(|cause| OutFileError::Io { path: path.to_path_buf(), cause })?
    } else {
        path.to_path_buf()
    };
    let dir = parent_dir(&target);
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // A new private file beside it, renamed over it: the old file's other names and
    // contents are left alone, and no symlink is followed on the way.
    for attempt in 0..100u32 {
        let temp = dir.join(format!(".{name}.sockscope-{}-{attempt}", std::process::id()));
        match fresh(&temp) {
            Ok(fd) => {
                return match rustix::fs::rename(&temp, &target) {
                    Ok(()) => Ok(std::fs::File::from(fd)),
                    Err(e) => {
                        let _ = rustix::fs::unlink(&temp);
                        Err(io(&target, e))
                    }
                };
            }
            Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(io(&temp, e)),
        }
    }
    Err(io(&dir, rustix::io::Errno::EXIST))
}

/// A device, FIFO or socket that exists (`-D /dev/null`, `trace -o /dev/stderr`, a named
/// pipe) is written as it is, never replaced: renaming over /dev/null would put a regular
/// file in its place. `None` for a regular file. `link`: `path` is the caller's own
/// symlink, followed. In a sticky, world-writable directory, a FIFO or device owned by
/// neither the caller nor the directory's owner is refused, as the kernel's
/// `fs.protected_fifos` refuses it.
fn open_special(path: &Path, link: bool) -> Result<Option<std::fs::File>, OutFileError> {
    let io = |cause: rustix::io::Errno| OutFileError::Io { path: path.to_path_buf(), cause: cause.into() };
    let st = rustix::fs::stat(path).map_err(io)?;
    if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile {
        return Ok(None);
    }
    if !link && let Some((dir, owner)) = foreign_in_shared_dir(path, st.st_uid)? {
        return Err(OutFileError::Foreign { path: path.to_path_buf(), dir, owner });
    }
    let follow = if link { OFlags::empty() } else { OFlags::NOFOLLOW };
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC | follow, Mode::empty()).map_err(io)?;
    Ok(Some(std::fs::File::from(fd)))
}

/// The directory `path` is in (`.` for a bare name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// When `path`, owned by `uid`, is in a sticky, world-writable directory and belongs to
/// neither the caller nor that directory's owner: the directory and the owner.
fn foreign_in_shared_dir(path: &Path, uid: u32) -> Result<Option<(PathBuf, u32)>, OutFileError> {
    let dir = parent_dir(path);
    let d = rustix::fs::stat(&dir).map_err(|cause| OutFileError::Io { path: dir.clone(), cause: cause.into() })?;
    let shared = d.st_mode & 0o1000 != 0 && d.st_mode & 0o002 != 0;
    let me = rustix::process::geteuid().as_raw();
    Ok((shared && uid != me && uid != d.st_uid).then_some((dir, uid)))
}

/// Whether `path` is a symlink (to be followed), refusing one that another user planted in a
/// sticky, world-writable directory (the kernel's own rule for `fs.protected_symlinks`: a
/// link there is followed only for its owner or the directory's).
fn refuse_foreign_symlink(path: &Path) -> Result<bool, OutFileError> {
    let io = |cause: rustix::io::Errno| OutFileError::Io { path: path.to_path_buf(), cause: cause.into() };
    let st = rustix::fs::statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW).map_err(io)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
        return Ok(false);
    }
    if let Some((dir, owner)) = foreign_in_shared_dir(path, st.st_uid)? {
        return Err(OutFileError::ForeignSymlink { path: path.to_path_buf(), dir, owner });
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sockscope-outfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn new_files_are_private_and_existing_ones_replaced_not_written_through() {
        let d = dir("replace");
        let p = d.join("out");
        create(&p, Existing::Refuse, PRIVATE).unwrap().write_all(b"one").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(matches!(create(&p, Existing::Refuse, PRIVATE), Err(OutFileError::Exists { .. })));
        // A second name for the old file keeps its contents: the new one is renamed over.
        std::fs::hard_link(&p, d.join("other")).unwrap();
        create(&p, Existing::Replace, PRIVATE).unwrap().write_all(b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read(d.join("other")).unwrap(), b"one");
        // The user's own symlink is followed, and its target replaced.
        std::os::unix::fs::symlink(&p, d.join("link")).unwrap();
        create(&d.join("link"), Existing::Replace, 0o640).unwrap().write_all(b"three").unwrap();
        assert!(std::fs::symlink_metadata(d.join("link")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&p).unwrap(), b"three");
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o640 & !umask());
        // A new file is never created through a symlink, even a dangling one.
        std::os::unix::fs::symlink(d.join("nowhere"), d.join("dangling")).unwrap();
        assert!(matches!(create(&d.join("dangling"), Existing::Refuse, PRIVATE), Err(OutFileError::Exists { .. })));
        assert!(!d.join("nowhere").exists());
        // A device is written as it is, never replaced by a regular file.
        create(Path::new("/dev/null"), Existing::Replace, PRIVATE).unwrap().write_all(b"gone").unwrap();
        let null = std::fs::symlink_metadata("/dev/null").unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(&null.file_type()), "/dev/null is still a device");
        // Through a link of the caller's own, too (/dev/stderr is one, to a pipe or a tty).
        std::os::unix::fs::symlink("/dev/null", d.join("to-null")).unwrap();
        create(&d.join("to-null"), Existing::Replace, PRIVATE).unwrap().write_all(b"gone").unwrap();
        assert!(std::fs::symlink_metadata(d.join("to-null")).unwrap().file_type().is_symlink());
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 5, "no temporary file left: {left:?}");
        std::fs::remove_dir_all(d).unwrap();
    }

    /// Read, not set: setting it would race the other tests' files.
    fn umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find_map(|l| l.strip_prefix("Umask:")).unwrap();
        u32::from_str_radix(line.trim(), 8).unwrap()
    }
}
