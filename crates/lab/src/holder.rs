//! A child process that holds fds it was handed: "the socket is owned by another process".

use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};

/// A `sleep` child holding up to three fds as its stdin, stdout and stderr (fds 0, 1, 2), so
/// fds pass to it without any unsafe pre-exec code. Killed and reaped on drop.
pub struct Holder {
    child: Child,
}

impl Holder {
    /// Spawns the holder. Each given fd becomes the child's fd 0, 1, 2 in order; the parent's
    /// copies are closed here (pass a `try_clone()` to keep one and share the socket).
    pub fn spawn(fds: Vec<OwnedFd>) -> std::io::Result<Holder> {
        if fds.len() > 3 {
            return Err(std::io::Error::other("a Holder passes at most three fds"));
        }
        let mut fds = fds.into_iter();
        let mut stdio = || fds.next().map(Stdio::from).unwrap_or_else(Stdio::null);
        let (stdin, stdout, stderr) = (stdio(), stdio(), stdio());
        let child = Command::new("sleep").arg("3600").stdin(stdin).stdout(stdout).stderr(stderr).spawn()?;
        Ok(Holder { child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
