//! The socket options of a view's rows (`fds -o`, `fds --json`), read from the host in
//! bounded batches and each distinct set held once. A process's sockets nearly all carry
//! the same options, and a set is ~200 bytes: with a boxed set per row, and every answer
//! held at once, `fds -o` on 200k sockets held twice (400k socket fds) peaked at 226 MiB;
//! with a `u32` per row (1.6 MB there) and the few distinct sets, at 48 MiB.

use super::FdView;
use crate::hosts::{FdSocket, Host};
use crate::model::{FdKind, FdName};
use crate::sockopts::{Kind, Report, SockOpts};
use std::collections::HashMap;
use std::sync::Arc;

/// Sockets asked of the host at a time: the answers wait in memory until they are interned.
const BATCH: usize = 4096;

impl FdView {
    /// Reads the options of every socket fd in the view from `host`; returns the notes on
    /// those it could not read (their rows show every option unknown).
    pub fn read_sockopts(&mut self, host: &dyn Host) -> Vec<String> {
        let mut asking =
            Asking { host, sets: HashMap::new(), unread: Report::default(), asked: Vec::new(), rows: Vec::new() };
        let mut ids_of = Vec::with_capacity(self.processes.len());
        for p in &self.processes {
            // Each row's set, once asked (socket fds only).
            let mut ids: Vec<Option<u32>> = Vec::new();
            for (i, row) in p.fds.iter().enumerate() {
                let (FdKind::Socket, FdName::Number(fd)) = (&row.entry.kind, row.entry.fd) else { continue };
                let kind = match &row.socket {
                    Some(s) => Kind::of(s),
                    None => Kind::from_protocol(row.protocol().unwrap_or("")),
                };
                if ids.is_empty() {
                    ids = vec![None; p.fds.len()];
                }
                asking.asked.push(FdSocket { pid: p.pid, fd, inode: row.entry.inode.unwrap_or(0), kind });
                asking.rows.push(i as u32);
                if asking.asked.len() == BATCH {
                    asking.ask(p.pid, &p.command, &mut ids);
                }
            }
            asking.ask(p.pid, &p.command, &mut ids);
            ids_of.push(ids);
        }
        let notes = asking.unread.notes();
        let mut sets: Vec<(u32, SockOpts)> = asking.sets.into_iter().map(|(o, id)| (id, o)).collect();
        sets.sort_unstable_by_key(|(id, _)| *id);
        let sets: Arc<Vec<SockOpts>> = Arc::new(sets.into_iter().map(|(_, o)| o).collect());
        for (p, ids) in self.processes.iter_mut().zip(ids_of) {
            p.fds.set_options(ids, &sets);
        }
        notes
    }
}

/// One process's socket fds waiting to be asked, and the distinct option sets so far.
struct Asking<'h> {
    host: &'h dyn Host,
    /// Each distinct set → its number.
    sets: HashMap<SockOpts, u32>,
    unread: Report,
    asked: Vec<FdSocket>,
    /// The row of each asked socket.
    rows: Vec<u32>,
}

impl Asking<'_> {
    /// Asks the host for the waiting sockets' options and sets each row's number in `ids`.
    fn ask(&mut self, pid: u32, command: &str, ids: &mut [Option<u32>]) {
        if self.asked.is_empty() {
            return;
        }
        let mut answers = self.host.fd_socket_options(&self.asked).into_iter();
        for row in self.rows.drain(..) {
            let opts = match answers.next() {
                Some(Ok(o)) => o,
                Some(Err(why)) => {
                    self.unread.tally(why, pid, command.to_string());
                    SockOpts::default()
                }
                None => SockOpts::default(),
            };
            let next = self.sets.len() as u32;
            let id = *self.sets.entry(opts).or_insert(next);
            if let Some(slot) = ids.get_mut(row as usize) {
                *slot = Some(id);
            }
        }
        self.asked.clear();
    }
}
