//! Helper processes for scenarios that need sockets held by other processes (a farm spread
//! over P processes, a process that exhausts its own fd limit).
//!
//! A worker is the `sockscope` binary run as `sockscope lab-worker SPEC`: it does what SPEC
//! says, prints one JSON line with what it made, and then holds everything until its stdin
//! closes — so it also goes away when its parent dies, however that happens.

use crate::LabError;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Spec {
    /// Lower the own soft RLIMIT_NOFILE to `soft_limit`, then open sockets until EMFILE.
    FdExhaustion { soft_limit: u64 },
    /// Hold a share of a socket farm, on listeners bound to `address`.
    Farm { address: Ipv4Addr, established_pairs: u32, unix_pairs: u32, time_wait: u32, listeners: u32 },
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ready {
    pub pid: u32,
    /// Sockets (fds) this worker holds.
    pub sockets: u64,
    /// The soft limit it set (fd exhaustion).
    #[serde(default)]
    pub soft_limit: Option<u64>,
    /// How the last open failed (fd exhaustion: EMFILE).
    #[serde(default)]
    pub error: Option<String>,
    /// Listening ports (farm).
    #[serde(default)]
    pub ports: Vec<u16>,
    /// TIME-WAIT sockets left behind (farm).
    #[serde(default)]
    pub time_wait: u32,
    /// Every TCP connection made (farm): (client, server) addresses, so the parent's cleanup
    /// destroys exactly these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<(SocketAddr, SocketAddr)>,
}

/// A running worker; stopped and reaped on drop.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    pub ready: Ready,
}

impl Worker {
    /// Starts `exe lab-worker SPEC` and waits (at most `timeout`) for its ready line.
    pub fn spawn(exe: &Path, spec: &Spec, timeout: Duration) -> Result<Worker, LabError> {
        let mut child = Command::new(exe)
            .arg("lab-worker")
            .arg(serde_json::to_string(spec).map_err(|e| LabError::Worker(e.to_string()))?)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(crate::io(format!("cannot start the lab worker {}", exe.display())))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(out) = stdout {
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = BufReader::new(out).read_line(&mut line);
                let _ = tx.send(line);
            });
        }
        let mut w = Worker {
            child,
            stdin,
            ready: Ready {
                pid: 0,
                sockets: 0,
                soft_limit: None,
                error: None,
                ports: vec![],
                time_wait: 0,
                connections: vec![],
            },
        };
        match rx.recv_timeout(timeout) {
            Ok(line) if !line.trim().is_empty() => {
                w.ready = serde_json::from_str(line.trim())
                    .map_err(|e| LabError::Worker(format!("bad ready line {line:?}: {e}")))?;
                Ok(w)
            }
            _ => {
                let mut err = String::new();
                let _ = w.child.kill();
                if let Some(mut e) = w.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                Err(LabError::Worker(format!("did not become ready within {timeout:?}: {}", err.trim())))
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing stdin tells the worker to exit; kill it if it does not within a second.
        self.stdin.take();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A line for the parent on the worker's stderr (a pipe the parent reads); a failed write
/// has nowhere to go.
fn tell_parent(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "lab-worker: {line}");
}

/// The worker side: `sockscope lab-worker SPEC`. Returns the process exit code.
pub fn main(spec: &str) -> i32 {
    let spec: Spec = match serde_json::from_str(spec) {
        Ok(s) => s,
        Err(e) => {
            tell_parent(format_args!("bad spec: {e}"));
            return 2;
        }
    };
    let (ready, keep) = match run(&spec) {
        Ok(r) => r,
        Err(e) => {
            tell_parent(format_args!("{e}"));
            return 1;
        }
    };
    let ready = match serde_json::to_string(&ready) {
        Ok(line) => writeln!(std::io::stdout(), "{line}").and_then(|()| std::io::stdout().flush()),
        Err(e) => Err(std::io::Error::other(e)),
    };
    if let Err(e) = ready {
        tell_parent(format_args!("{e}"));
        return 1;
    }
    // Hold everything until the parent closes our stdin (or dies).
    let mut sink = [0u8; 64];
    while std::io::stdin().read(&mut sink).is_ok_and(|n| n > 0) {}
    drop(keep);
    0
}

fn run(spec: &Spec) -> Result<(Ready, Vec<OwnedFd>), LabError> {
    let pid = std::process::id();
    match spec {
        Spec::FdExhaustion { soft_limit } => {
            let hard = crate::limits::nofile_hard();
            let soft = (*soft_limit).min(hard);
            rustix::process::setrlimit(
                rustix::process::Resource::Nofile,
                rustix::process::Rlimit { current: Some(soft), maximum: Some(hard) },
            )
            .map_err(|e| crate::io("setrlimit(RLIMIT_NOFILE)")(e.into()))?;
            let mut keep = Vec::new();
            // Bounded by the limit itself: at most `soft` fds can ever be open.
            let error = loop {
                match std::net::UdpSocket::bind("127.0.0.1:0") {
                    Ok(s) => keep.push(OwnedFd::from(s)),
                    Err(e) => break crate::errno_text(&e),
                }
                if keep.len() as u64 > soft {
                    break "limit not reached".into();
                }
            };
            let sockets = keep.len() as u64;
            let ready = Ready {
                pid,
                sockets,
                soft_limit: Some(soft),
                error: Some(error),
                ports: vec![],
                time_wait: 0,
                connections: vec![],
            };
            Ok((ready, keep))
        }
        Spec::Farm { address, established_pairs, unix_pairs, time_wait, listeners } => {
            let need = u64::from(*established_pairs) * 2 + u64::from(*unix_pairs) * 2 + u64::from(*listeners) + 1;
            crate::limits::ensure_fds(need, "this farm worker")?;
            let mut keep: Vec<OwnedFd> = Vec::with_capacity(need as usize);
            let mut ports = Vec::new();
            let mut connections = Vec::new();
            let mut ls = Vec::new();
            for _ in 0..(*listeners).max(1) {
                let l =
                    TcpListener::bind(SocketAddr::from((*address, 0))).map_err(crate::io("bind a farm listener"))?;
                ports.push(l.local_addr().map_err(crate::io("listener address"))?.port());
                ls.push(l);
            }
            // Connections spread over the listeners; each accepted at once.
            for i in 0..*established_pairs {
                let l = &ls[i as usize % ls.len()];
                let c = TcpStream::connect(l.local_addr().map_err(crate::io("listener address"))?)
                    .map_err(crate::io(format!("farm connection {i}")))?;
                let (s, _) = l.accept().map_err(crate::io("accept"))?;
                connections.push((
                    c.local_addr().map_err(crate::io("address"))?,
                    s.local_addr().map_err(crate::io("address"))?,
                ));
                keep.push(OwnedFd::from(c));
                keep.push(OwnedFd::from(s));
            }
            for _ in 0..*unix_pairs {
                let (a, b) = std::os::unix::net::UnixStream::pair().map_err(crate::io("socketpair"))?;
                keep.push(OwnedFd::from(a));
                keep.push(OwnedFd::from(b));
            }
            let mut tw = 0;
            for _ in 0..*time_wait {
                // The client closes first and stays in TIME-WAIT for 60 s.
                let l = &ls[0];
                let c = TcpStream::connect(l.local_addr().map_err(crate::io("listener address"))?)
                    .map_err(crate::io("time-wait connection"))?;
                let (s, _) = l.accept().map_err(crate::io("accept"))?;
                connections.push((
                    c.local_addr().map_err(crate::io("address"))?,
                    s.local_addr().map_err(crate::io("address"))?,
                ));
                drop(c);
                drop(s);
                tw += 1;
            }
            let sockets = keep.len() as u64 + ls.len() as u64;
            keep.extend(ls.into_iter().map(OwnedFd::from));
            Ok((Ready { pid, sockets, soft_limit: None, error: None, ports, time_wait: tw, connections }, keep))
        }
    }
}
