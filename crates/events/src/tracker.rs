//! The join: tracepoint records per socket (by its kernel address while it lives) and the
//! destroy records (by cookie) → transitions and lives, with the right owner.
//!
//! The owner. Most state changes run in softirq context, where the task the kernel names is
//! whoever was on the CPU (on loopback, usually the other end: bcc's tcpstates/tcplife show
//! that pid). Only changes a process makes in a system call name it: connect (CLOSE →
//! SYN-SENT), listen (CLOSE → LISTEN), close or shutdown (ESTABLISHED → FIN-WAIT-1,
//! CLOSE-WAIT → LAST-ACK). A passive connection (LISTEN → SYN-RECV) belongs to whoever holds
//! its listener, from this namespace's socket table. Otherwise the owner is unknown, never
//! guessed.
//!
//! The namespace. The tracepoints fire for every network namespace; the destroy records come
//! only from this one. A socket is this namespace's when its owning process is (system-call
//! changes), when its listener is in this namespace's table, when the other end of a loopback
//! connection is, or when the table holds it; a life is given only with this namespace's
//! destroy record, or, when that record never came, when the socket was known to be ours.

use crate::procs::Procs;
use crate::records::{IPPROTO_TCP, SocketEvent, StateChange};
use crate::table::Table;
use crate::{Closer, Event, Life, Options, Owner, Transition};
use sockscope_core::freed::Freed;
use sockscope_core::{Netid, SockState};
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;

/// How long a life waits for its destroy record before it is given without its counters
/// (the record may have been lost to a full buffer; if it comes later, it is not given again).
const GRACE_NS: u64 = 5_000_000_000;
/// A destroy record read before its socket's tracepoint record waits at most this long
/// (counted in ring drains after it).
const EARLY_GRACE_NS: u64 = 200_000_000;
/// How often lives waiting for their other record are looked over.
const EXPIRE_EVERY_NS: u64 = 100_000_000;
/// How often closed sockets whose destroy tracepoint was lost are swept away.
const SWEEP_EVERY_NS: u64 = 1_000_000_000;
/// Destroy records only: how often the socket table is looked at (start times, owners).
const LOOK_EVERY_NS: u64 = 250_000_000;

/// What a life needs of a destroy record: about 100 bytes, where the record parsed into a
/// socket holds several hundred (a reader that falls behind holds many at once).
pub struct Record {
    netid: Netid,
    cookie: u64,
    local: SocketAddr,
    peer: SocketAddr,
    counters: Option<Counters>,
}

#[derive(Clone, Copy)]
struct Counters {
    /// Payload bytes sent, each once: tcp_info's bytes_sent counts retransmissions again,
    /// and its bytes_acked counts the SYN and FIN (one each) with the data.
    sent: Option<u64>,
    /// Sequence space received: the payload, and the peer's FIN when it reached the socket.
    received: Option<u64>,
    rtt_us: Option<u32>,
    retransmits: Option<u32>,
}

impl Record {
    fn of(f: &Freed) -> Option<Record> {
        let s = &f.socket;
        let info = s.details.as_ref().and_then(|d| d.tcp_info.as_ref());
        Some(Record {
            netid: f.netid,
            cookie: s.cookie?.get(),
            local: s.local.socket_addr()?,
            peer: s.peer.socket_addr()?,
            counters: info.map(|i| Counters {
                sent: i.bytes_sent().map(|b| b.saturating_sub(i.bytes_retrans().unwrap_or(0))),
                received: i.bytes_received(),
                rtt_us: i.rtt_us(),
                retransmits: i.total_retrans(),
            }),
        })
    }
}

pub enum Input {
    State { pid: u32, tid: u32, change: StateChange },
    Destroyed(SocketEvent),
    Reset(SocketEvent),
}

/// What `events` saw, for the summary at exit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub transitions: u64,
    pub lives: u64,
    /// Tracepoint records the kernel dropped (a ring was full).
    pub lost_records: u64,
    /// Times the destroy records' receive buffer overflowed (the kernel does not say how
    /// many were dropped).
    pub destroy_overflows: u64,
    /// Lives given without their destroy record (so without bytes, rtt and retransmits).
    pub lives_without_counters: u64,
    /// Lives given from a destroy record alone (their tracepoint records were lost, or the
    /// tracepoints are not in use).
    pub lives_from_destroy_record_only: u64,
    /// Connections forgotten because more than the cap were open at once.
    pub evicted: u64,
    /// Destroy records that came after their life was given without them.
    pub late_destroy_records: u64,
    pub undecodable: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Where {
    Ours,
    Theirs,
    Unknown,
}

#[derive(Clone, Debug)]
struct Conn {
    serial: u64,
    local: SocketAddr,
    peer: SocketAddr,
    state: SockState,
    /// When it entered `state`; None when first seen in it.
    since_ns: Option<u64>,
    born_ns: Option<u64>,
    active: Option<bool>,
    owner: Option<Owner>,
    closer: Option<Closer>,
    reset_received: bool,
    /// When this side sent its FIN (close or shutdown).
    fin_sent_ns: Option<u64>,
    /// Whether the peer's FIN reached this socket (tcp_info's bytes_received counts it).
    fin_received: bool,
    /// Reset by this side from a system call (close with SO_LINGER 0): the kernel clears the
    /// connection's counters when it does that.
    aborted: bool,
    place: Where,
    closed_ns: Option<u64>,
    /// When its tcp_destroy_sock record came.
    destroyed_ns: Option<u64>,
}

pub struct Tracker {
    opts: Options,
    destroy_only: bool,
    live: HashMap<u64, Conn>,
    /// Insertion order of `live`, for evicting the oldest at the cap.
    order: VecDeque<(u64, u64)>,
    serial: u64,
    /// Complete (local, peer) → socket, to find the other end of a loopback connection.
    by_ends: HashMap<(SocketAddr, SocketAddr), u64>,
    /// Listeners seen starting (listen() in a process): where and whose.
    listeners: HashMap<SocketAddr, (Where, Option<Owner>)>,
    /// Destroyed (cookie known), waiting for the destroy record.
    closing: HashMap<u64, Conn>,
    /// Destroy records waiting for their tracepoint record.
    early: HashMap<u64, (u64, Record)>,
    /// Cookies of the lives given, most recent last: each socket's life is given once, even
    /// when one of its two records comes after the other was given up on.
    given: HashSet<u64>,
    given_order: VecDeque<u64>,
    procs: Procs,
    table: Table,
    last_look_ns: u64,
    last_sweep_ns: u64,
    last_expiry_ns: u64,
    pub totals: Totals,
}

impl Tracker {
    pub fn new(opts: Options, destroy_only: bool) -> Tracker {
        let mut table = Table::new(opts.udp);
        // The first look: owners of listeners and connections that were there before.
        table.refresh();
        Tracker {
            opts,
            destroy_only,
            live: HashMap::new(),
            order: VecDeque::new(),
            serial: 0,
            by_ends: HashMap::new(),
            listeners: HashMap::new(),
            closing: HashMap::new(),
            early: HashMap::new(),
            given: HashSet::new(),
            given_order: VecDeque::new(),
            procs: Procs::new(),
            table,
            last_look_ns: crate::monotonic_ns(),
            last_sweep_ns: 0,
            last_expiry_ns: 0,
            totals: Totals::default(),
        }
    }

    /// A process took a new command name (exec).
    pub fn exec(&mut self, pid: u32, comm: &[u8]) {
        self.procs.exec(pid, comm);
    }

    pub fn input(&mut self, now: u64, input: Input, out: &mut Vec<Event>) {
        match input {
            Input::State { pid, tid, change } if change.protocol == IPPROTO_TCP => {
                self.state(now, pid, tid, change, out)
            }
            Input::State { .. } => {}
            Input::Reset(e) => {
                if let Some(c) = self.live.get_mut(&e.skaddr) {
                    c.reset_received = true;
                    c.closer.get_or_insert(Closer::Peer);
                }
            }
            Input::Destroyed(e) => {
                let Some(conn) = self.remove(e.skaddr) else { return };
                if !self.opts.life || conn.active.is_none() && conn.born_ns.is_none() && conn.closed_ns.is_none() {
                    return;
                }
                if self.given.contains(&e.cookie) {
                    return; // given from its destroy record alone, before this came
                }
                match self.early.remove(&e.cookie) {
                    Some((_, record)) => self.give(e.cookie, conn, record.counters, now, out),
                    None => {
                        self.closing.insert(
                            e.cookie,
                            Conn { closed_ns: conn.closed_ns.or(Some(now)), destroyed_ns: Some(now), ..conn },
                        );
                    }
                }
            }
        }
    }

    fn state(&mut self, now: u64, pid: u32, tid: u32, c: StateChange, out: &mut Vec<Event>) {
        use SockState::*;
        let in_call = matches!(
            (c.old, c.new),
            (Close, SynSent) | (Close, Listen) | (Established, FinWait1) | (CloseWait, LastAck)
        );
        if c.new == Listen || c.old == Listen && c.new == Close {
            self.listener(now, pid, tid, &c, out);
            return;
        }
        let born = matches!((c.old, c.new), (Close, SynSent) | (Listen, SynRecv));
        if born && let Some(prev) = self.remove(c.skaddr) {
            // A socket at this address was not destroyed: either the same socket connects
            // again (its earlier try ends without a destroy record: given now), or its
            // tcp_destroy_sock record was lost from a full ring (its destroy record will
            // give it, alone: not given here, or it would be given twice).
            if self.opts.life && prev.closed_ns.is_some() && self.totals.lost_records == 0 {
                self.give(0, prev, None, now, out);
            }
        }
        if !born && self.live.get(&c.skaddr).is_some_and(|conn| conn.state != c.old) {
            // Not the state this socket was last seen in: records between were lost (a full
            // ring), and this may be another socket at a reused address. Start again from
            // what this record tells rather than carry on with what may be another's owner.
            self.remove(c.skaddr);
        }
        if !self.live.contains_key(&c.skaddr) {
            let conn = self.first_sight(now, pid, tid, &c, born);
            self.insert(c.skaddr, conn);
        }
        // The other end's FIN, when it is a socket followed here (see FIN-WAIT-2 → CLOSE).
        let peer_fin = self.by_ends.get(&(c.peer, c.local)).and_then(|s| self.live.get(s)).map(|p| p.fin_sent_ns);
        let Some(conn) = self.live.get_mut(&c.skaddr) else { return };
        if in_call && c.new != SynSent {
            // close/shutdown: the process that did it holds the socket.
            conn.owner = Some(self.procs.owner(pid, now));
            if conn.place == Where::Unknown {
                conn.place = place_of(self.procs.ours(pid, tid, now));
            }
        }
        let old_ends = (conn.local, conn.peer);
        conn.local = c.local;
        conn.peer = c.peer;
        let in_old_ns = conn.since_ns.map(|s| now.saturating_sub(s));
        conn.since_ns = Some(now);
        conn.state = c.new;
        match (c.old, c.new) {
            (Established | SynRecv, FinWait1) => {
                conn.closer.get_or_insert(Closer::Local);
                conn.fin_sent_ns = Some(now);
            }
            (CloseWait, LastAck) => conn.fin_sent_ns = Some(now),
            (Established | SynRecv, CloseWait) => {
                conn.closer.get_or_insert(Closer::Peer);
                conn.fin_received = true;
            }
            (FinWait1, Closing) => conn.fin_received = true,
            (FinWait2, Close) => {
                // Either the peer's FIN arrived (TIME-WAIT follows), or this socket was
                // closed and its FIN acknowledged, and a TIME-WAIT socket waits for the
                // peer's FIN in its place. When the peer is followed here too, its FIN
                // tells; otherwise the FIN is taken to have come with the last ACK, as
                // servers usually send it.
                conn.fin_received = match peer_fin {
                    Some(sent) => sent.is_some_and(|t| t <= now),
                    None => true,
                };
                conn.closed_ns = Some(now);
            }
            (old, Close) => {
                // Aborted without a reset from the peer: this side reset or gave up.
                if !conn.reset_received {
                    conn.closer.get_or_insert(Closer::Local);
                    conn.aborted = matches!(old, Established | CloseWait | FinWait1 | SynRecv);
                }
                conn.closed_ns = Some(now);
            }
            _ => {}
        }
        let (owner, place) = (conn.owner.clone(), conn.place);
        if old_ends != (c.local, c.peer) && c.local.port() != 0 && c.peer.port() != 0 {
            self.by_ends.insert((c.local, c.peer), c.skaddr);
        }
        if place == Where::Theirs {
            return;
        }
        self.totals.transitions += 1;
        if !self.opts.life {
            out.push(transition(now, owner, &c, in_old_ns));
            if c.new == Close {
                self.remove(c.skaddr);
            }
        }
    }

    /// A socket not followed yet: a new one (born) or one that was open before sockscope
    /// started or whose earlier records were lost.
    fn first_sight(&mut self, now: u64, pid: u32, tid: u32, c: &StateChange, born: bool) -> Conn {
        let mut conn = Conn {
            serial: 0,
            local: c.local,
            peer: c.peer,
            state: c.old,
            since_ns: None,
            born_ns: born.then_some(now),
            active: None,
            owner: None,
            closer: None,
            reset_received: false,
            fin_sent_ns: None,
            fin_received: false,
            aborted: false,
            place: Where::Unknown,
            closed_ns: None,
            destroyed_ns: None,
        };
        match (c.old, c.new) {
            (SockState::Close, SockState::SynSent) => {
                conn.active = Some(true);
                conn.since_ns = None;
                conn.owner = Some(self.procs.owner(pid, now));
                conn.place = place_of(self.procs.ours(pid, tid, now));
            }
            (SockState::Listen, SockState::SynRecv) => {
                conn.active = Some(false);
                // The other end of a loopback connection, when it is a socket followed here.
                let other = self.by_ends.get(&(c.peer, c.local)).and_then(|s| self.live.get(s)).map(|o| o.place);
                let listener = self.listener_of(c.local);
                conn.place = match (other, &listener) {
                    (Some(p), _) if p != Where::Unknown => p,
                    (_, Some((p, _))) => *p,
                    _ => Where::Theirs,
                };
                conn.owner = listener.and_then(|(_, o)| o);
            }
            _ => match self.table.connection(c.local, c.peer) {
                Some(seen) => {
                    conn.owner = seen.owner;
                    conn.place = Where::Ours;
                }
                None => conn.place = Where::Theirs,
            },
        }
        conn
    }

    fn listener_of(&mut self, local: SocketAddr) -> Option<(Where, Option<Owner>)> {
        let started = sockscope_core::lookup::listening_at(local).iter().find_map(|a| self.listeners.get(a).cloned());
        if let Some(found) = started.as_ref().filter(|(p, _)| *p == Where::Ours) {
            return Some(found.clone());
        }
        match self.table.listener(local) {
            Some(owner) => Some((Where::Ours, owner)),
            None => started,
        }
    }

    fn listener(&mut self, now: u64, pid: u32, tid: u32, c: &StateChange, out: &mut Vec<Event>) {
        let (place, owner) = if c.new == SockState::Listen {
            let entry = (place_of(self.procs.ours(pid, tid, now)), Some(self.procs.owner(pid, now)));
            self.listeners.insert(c.local, entry.clone());
            entry
        } else {
            self.listeners.remove(&c.local).unwrap_or_else(|| match self.table.listener(c.local) {
                Some(owner) => (Where::Ours, owner),
                None => (Where::Theirs, None),
            })
        };
        if place != Where::Theirs && !self.opts.life {
            self.totals.transitions += 1;
            out.push(transition(now, owner, c, None));
        }
    }

    /// A destroy record: the life it ends, or a wait for its tracepoint record.
    pub fn freed(&mut self, now: u64, f: Freed, out: &mut Vec<Event>) {
        let Some(r) = Record::of(&f) else { return };
        if self.given.contains(&r.cookie) {
            // Given without its counters while this record was on its way (a kernel work
            // queue sends it; under load it can be late).
            self.totals.late_destroy_records += 1;
        } else if let Some(conn) = self.closing.remove(&r.cookie) {
            self.give(r.cookie, conn, r.counters, now, out);
        } else if self.destroy_only || r.netid == Netid::Udp {
            self.life_from_record_alone(now, r, out);
        } else {
            self.early.insert(r.cookie, (now, r));
        }
    }

    /// Called after every batch, with when the rings and the destroy records were last
    /// drained from: gives the lives whose other record should have been read by then but
    /// was not (times are compared with what has been read, not with the clock, so a reader
    /// that falls behind under load does not give lives early); in destroy-records-only
    /// mode, looks at the socket table.
    pub fn tick(&mut self, rings_from: u64, freed_from: u64, out: &mut Vec<Event>) {
        let now = freed_from;
        // The waiting lives are looked over ten times a second, not at every drain.
        if now.saturating_sub(self.last_expiry_ns) < EXPIRE_EVERY_NS {
            return;
        }
        self.last_expiry_ns = now;
        if (self.destroy_only || self.opts.udp) && now.saturating_sub(self.last_look_ns) >= LOOK_EVERY_NS {
            self.table.refresh();
            self.table.prune();
            self.last_look_ns = now;
        }
        // With records lost, a closed socket's tcp_destroy_sock record may be among them: it
        // would stay followed until its address is reused. Its destroy record gives it.
        if self.totals.lost_records > 0 && now.saturating_sub(self.last_sweep_ns) > SWEEP_EVERY_NS {
            self.last_sweep_ns = now;
            let stale: Vec<u64> = self
                .live
                .iter()
                .filter(|(_, c)| c.closed_ns.is_some_and(|t| now.saturating_sub(t) > GRACE_NS))
                .map(|(k, _)| *k)
                .collect();
            for skaddr in stale {
                self.remove(skaddr);
            }
        }
        // A destroy record is sent (from a kernel work queue) soon after the socket's
        // tcp_destroy_sock record, which put the life in `closing`.
        let late: Vec<u64> = self
            .closing
            .iter()
            .filter(|(_, c)| c.destroyed_ns.is_some_and(|t| freed_from.saturating_sub(t) > GRACE_NS))
            .map(|(k, _)| *k)
            .collect();
        for cookie in late {
            if let Some(conn) = self.closing.remove(&cookie)
                && conn.place == Where::Ours
            {
                self.give(cookie, conn, None, now, out);
            }
        }
        // A socket's tcp_destroy_sock record is written before its destroy record is sent:
        // once the rings were drained from after that (with a margin for the CPUs' clocks),
        // it should have been read.
        let late: Vec<u64> = self
            .early
            .iter()
            .filter(|(_, (t, _))| rings_from.saturating_sub(*t) > EARLY_GRACE_NS)
            .map(|(k, _)| *k)
            .collect();
        for cookie in late {
            if let Some((_, f)) = self.early.remove(&cookie) {
                self.life_from_record_alone(now, f, out);
            }
        }
    }

    pub fn finish(&mut self, out: &mut Vec<Event>) {
        let now = crate::monotonic_ns();
        for (cookie, conn) in std::mem::take(&mut self.closing) {
            if conn.place == Where::Ours {
                self.give(cookie, conn, None, now, out);
            }
        }
        for (_, (_, f)) in std::mem::take(&mut self.early) {
            self.life_from_record_alone(now, f, out);
        }
    }

    /// Remembers that the life of `cookie` was given (the last 2 × max_connections; 0, no
    /// cookie, is not remembered).
    fn mark_given(&mut self, cookie: u64) {
        if cookie != 0 && self.given.insert(cookie) {
            self.given_order.push_back(cookie);
            if self.given_order.len() > 2 * self.opts.max_connections
                && let Some(old) = self.given_order.pop_front()
            {
                self.given.remove(&old);
            }
        }
    }

    /// A life from the tracepoints, with the destroy record's counters when it came.
    fn give(&mut self, cookie: u64, conn: Conn, counters: Option<Counters>, now: u64, out: &mut Vec<Event>) {
        self.mark_given(cookie);
        // An abort that cleared the counters leaves them all zero: then they are unknown.
        let cleared = conn.aborted && counters.is_some_and(|c| c.sent == Some(0) && c.received == Some(0));
        let info = counters.filter(|_| !cleared);
        let end = conn.closed_ns.unwrap_or(now);
        if counters.is_none() {
            self.totals.lives_without_counters += 1;
        }
        self.totals.lives += 1;
        out.push(Event::Life(Life {
            netid: Netid::Tcp,
            end_ns: end,
            owner: conn.owner,
            local: conn.local,
            peer: conn.peer,
            active: conn.active,
            duration_ns: conn.born_ns.map(|b| end.saturating_sub(b)),
            bytes_sent: info.and_then(|c| c.sent),
            bytes_received: info.and_then(|c| c.received).map(|r| r.saturating_sub(u64::from(conn.fin_received))),
            closer: conn.closer,
            rtt_us: info.and_then(|c| c.rtt_us),
            retransmits: info.and_then(|c| c.retransmits),
            approximate: false,
        }));
    }

    /// A life from a destroy record and what the socket table knew of the socket.
    fn life_from_record_alone(&mut self, now: u64, r: Record, out: &mut Vec<Event>) {
        let Record { netid, cookie, local, peer, counters: info } = r;
        // A TCP socket that never had a peer (a listener, a socket never connected) is no
        // connection; a UDP socket is given either way.
        if netid == Netid::Tcp && peer.port() == 0 {
            return;
        }
        self.mark_given(cookie);
        let seen = self.table.take_cookie(cookie);
        let closer = seen.as_ref().and_then(|s| match s.state {
            SockState::FinWait1 | SockState::FinWait2 | SockState::TimeWait | SockState::Closing => Some(Closer::Local),
            SockState::CloseWait | SockState::LastAck => Some(Closer::Peer),
            _ => None,
        });
        self.totals.lives += 1;
        self.totals.lives_from_destroy_record_only += 1;
        out.push(Event::Life(Life {
            netid,
            end_ns: now,
            owner: seen.as_ref().and_then(|s| s.owner.clone()),
            local,
            peer,
            active: None,
            duration_ns: seen.as_ref().map(|s| now.saturating_sub(s.first_ns)),
            bytes_sent: info.and_then(|c| c.sent),
            // Whether the peer's FIN is among them is not known here.
            bytes_received: info.and_then(|c| c.received),
            closer,
            rtt_us: info.and_then(|c| c.rtt_us),
            retransmits: info.and_then(|c| c.retransmits),
            approximate: true,
        }));
    }

    fn insert(&mut self, skaddr: u64, mut conn: Conn) {
        while self.live.len() >= self.opts.max_connections {
            let Some((old, serial)) = self.order.pop_front() else { break };
            if self.live.get(&old).is_some_and(|c| c.serial == serial) {
                self.remove(old);
                self.totals.evicted += 1;
            }
        }
        self.serial += 1;
        conn.serial = self.serial;
        self.order.push_back((skaddr, self.serial));
        // Entries of sockets already gone are dropped as they reach the front.
        if self.order.len() > 2 * self.opts.max_connections {
            let live = &self.live;
            self.order.retain(|(s, n)| live.get(s).is_some_and(|c| c.serial == *n));
        }
        self.live.insert(skaddr, conn);
    }

    fn remove(&mut self, skaddr: u64) -> Option<Conn> {
        let conn = self.live.remove(&skaddr)?;
        if self.by_ends.get(&(conn.local, conn.peer)) == Some(&skaddr) {
            self.by_ends.remove(&(conn.local, conn.peer));
        }
        Some(conn)
    }
}

fn transition(time_ns: u64, owner: Option<Owner>, c: &StateChange, in_old_ns: Option<u64>) -> Event {
    Event::Transition(Transition { time_ns, owner, local: c.local, peer: c.peer, old: c.old, new: c.new, in_old_ns })
}

fn place_of(ours: Option<bool>) -> Where {
    match ours {
        Some(true) => Where::Ours,
        Some(false) => Where::Theirs,
        None => Where::Unknown,
    }
}
