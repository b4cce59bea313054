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
//! from each followed namespace's own group, and say whose they are. A socket is in the
//! namespace of its owning process (system-call changes), of the other end of a loopback
//! connection (whatever is known of it: the two ends of a loopback connection are in one
//! namespace), of its listener when only one namespace listens there, or of the table that
//! holds it. What is not proven to be in a followed namespace is not shown: a state change is
//! given only for a socket known to be in one (or found in the table by its ends when it is
//! not known), a life only with a followed namespace's destroy record, or, when that record
//! never came, when the socket's namespace was known or its cookie was in the table. What is
//! left out so is counted (`unproven`).

use crate::procs::Procs;
use crate::records::{IPPROTO_TCP, SocketEvent, StateChange};
use crate::table::Table;
use crate::{Closer, Event, Life, Options, Owner, Transition};
use sockscope_core::freed::Freed;
use sockscope_core::model::Netns;
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
    netns: u64,
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
    fn of(netns: u64, f: &Freed) -> Option<Record> {
        let s = &f.socket;
        let info = s.details.as_ref().and_then(|d| d.tcp_info.as_ref());
        Some(Record {
            netid: f.netid,
            netns,
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
    /// State changes and lives left out because their socket could not be proven to be in
    /// a followed network namespace (an owner that exited before its records were read, on a
    /// host with other namespaces).
    pub unproven: u64,
    /// Destroy tracepoint records whose ends were not those of the socket followed at their
    /// address: records between were lost, and the two were not joined.
    pub unjoined: u64,
    /// State changes and lives made but not given: dropped by the caller's filter, or after
    /// its count (set by `given`).
    pub left_out: u64,
}

impl Totals {
    /// The totals as the caller gave them: `transitions` and `lives` of what it showed, the
    /// rest counted as left out.
    pub fn given(self, transitions: u64, lives: u64) -> Totals {
        let made = self.transitions + self.lives;
        Totals { transitions, lives, left_out: made.saturating_sub(transitions + lives), ..self }
    }
}

/// A listener seen starting (listen() in a process).
#[derive(Clone, Debug)]
struct Listener {
    skaddr: u64,
    place: Where,
    owner: Option<Owner>,
    since_ns: u64,
}

/// State changes of a socket whose namespace is not proven yet, held (at most this many)
/// until it is: given then, or counted as unproven.
const HELD_AT_MOST: usize = 8;

/// Where a socket is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Where {
    /// In the network namespace of this inode (followed or not).
    In(u64),
    /// In none of the namespaces followed (their table does not hold it).
    Elsewhere,
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
    /// `fin_received` is a guess the peer's own counters can settle (a followed peer sent
    /// its FIN about when this socket was freed).
    fin_unproven: bool,
    /// Reset by this side from a system call (close with SO_LINGER 0): the kernel clears the
    /// connection's counters when it does that.
    aborted: bool,
    /// Its namespace came from its listener's address only: looked at again once the other
    /// end of a loopback connection is followed.
    by_listener: bool,
    /// The owners of the listeners at its address, per namespace, for when its own is proven.
    listener_owners: Vec<(u64, Option<Owner>)>,
    /// Its state changes while its namespace is unknown (transitions only).
    held: Vec<Event>,
    /// Records of this socket may have been lost (first seen mid-life, or a state skipped):
    /// whether the peer's FIN reached it is not known.
    gap: bool,
    place: Where,
    closed_ns: Option<u64>,
    /// When its tcp_destroy_sock record came.
    destroyed_ns: Option<u64>,
}

pub struct Tracker {
    opts: Options,
    /// The inodes of the namespaces followed; None: every one.
    follow: Option<Vec<u64>>,
    destroy_only: bool,
    live: HashMap<u64, Conn>,
    /// Insertion order of `live`, for evicting the oldest at the cap.
    order: VecDeque<(u64, u64)>,
    serial: u64,
    /// Complete (local, peer) → the live sockets with those ends, to find the other end of a
    /// loopback connection. Loopback addresses and ports repeat across namespaces, so two
    /// sockets can have the same ends at once: then the ends name neither (`other_end`).
    by_ends: HashMap<(SocketAddr, SocketAddr), Vec<u64>>,
    /// Listeners seen starting (listen() in a process), by address: in several namespaces,
    /// several at one address.
    listeners: HashMap<SocketAddr, Vec<Listener>>,
    /// Destroyed (cookie known), waiting for the destroy record.
    closing: HashMap<u64, Conn>,
    /// Destroy records waiting for their tracepoint record.
    early: HashMap<u64, (u64, Record)>,
    /// Cookies of the lives given, most recent last: each socket's life is given once, even
    /// when one of its two records comes after the other was given up on.
    given: HashSet<u64>,
    given_order: VecDeque<u64>,
    /// Lives whose bytes_received waits for their peer's life (`fin_unproven`), by the
    /// peer's ends (its local, its peer): when it was queued, its kernel count, the life.
    awaiting: HashMap<(SocketAddr, SocketAddr), (u64, u64, Life)>,
    procs: Procs,
    table: Table,
    last_look_ns: u64,
    last_sweep_ns: u64,
    last_expiry_ns: u64,
    pub totals: Totals,
}

impl Tracker {
    /// `follow`: the inodes of the namespaces followed (None: every one); `namespaces`: those
    /// whose tables are read (empty: this process's).
    pub fn new(opts: Options, destroy_only: bool, follow: Option<Vec<u64>>, namespaces: Vec<Netns>) -> Tracker {
        let mut table = Table::new(opts.udp, namespaces);
        // The first look: owners of listeners and connections that were there before.
        table.refresh();
        Tracker {
            opts,
            follow,
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
            awaiting: HashMap::new(),
            procs: Procs::default(),
            table,
            last_look_ns: crate::monotonic_ns(),
            last_sweep_ns: 0,
            last_expiry_ns: 0,
            totals: Totals::default(),
        }
    }

    /// Reads these namespaces' tables from the next look on (namespaces came or went).
    pub fn set_namespaces(&mut self, namespaces: Vec<Netns>) {
        self.table.set_namespaces(namespaces);
    }

    /// The namespace a socket is shown in: where it is, when that is followed.
    fn shown(&self, place: Where) -> Option<u64> {
        shown(self.follow.as_deref(), place)
    }

    /// Where a socket is that no followed namespace's table holds: elsewhere, when some
    /// namespaces are followed; when all are, not known (one that came since the table).
    fn not_found(&self) -> Where {
        if self.follow.is_some() { Where::Elsewhere } else { Where::Unknown }
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
                let Some(mut conn) = self.take(e.skaddr) else { return };
                if e.ends.is_some_and(|ends| !same_socket(ends, (conn.local, conn.peer))) {
                    // Another socket at a reused address: its own records were lost. Its
                    // destroy record, if ours, gives it alone; this one's gives this one.
                    self.totals.unjoined += 1;
                    self.totals.unproven += conn.held.len() as u64;
                    return;
                }
                if !self.opts.life {
                    // State changes held for want of proof: this namespace's destroy record
                    // of the socket proves it ours (then they are given), or never comes.
                    if conn.held.is_empty() {
                        return;
                    }
                    match self.early.remove(&e.cookie) {
                        Some((_, record)) => {
                            settle(&mut conn, record.netns);
                            self.totals.transitions += conn.held.len() as u64;
                            out.append(&mut conn.held);
                        }
                        None => {
                            self.closing.insert(e.cookie, Conn { destroyed_ns: Some(now), ..conn });
                        }
                    }
                    return;
                }
                if conn.active.is_none() && conn.born_ns.is_none() && conn.closed_ns.is_none() {
                    return;
                }
                if self.given.contains(&e.cookie) {
                    return; // given from its destroy record alone, before this came
                }
                match self.early.remove(&e.cookie) {
                    Some((_, record)) => self.give(e.cookie, conn, record.counters, record.netns, now, out),
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
            if let Some(netns) = self.shown(prev.place)
                && self.opts.life
                && prev.closed_ns.is_some()
                && self.totals.lost_records == 0
            {
                self.give(0, prev, None, netns, now, out);
            }
        }
        let mut skipped = false;
        if !born && self.live.get(&c.skaddr).is_some_and(|conn| conn.state != c.old) {
            // Not the state this socket was last seen in: records between were lost (a full
            // ring), and this may be another socket at a reused address. Start again from
            // what this record tells rather than carry on with what may be another's owner.
            self.remove(c.skaddr);
            skipped = true;
        }
        if !self.live.contains_key(&c.skaddr) {
            let mut conn = self.first_sight(now, pid, tid, &c, born);
            conn.gap = skipped || !born && self.totals.lost_records > 0;
            self.insert(c.skaddr, conn);
        }
        // A socket placed by its listener's address: the other end of a loopback connection,
        // once followed (a client's ends are known from its SYN-SENT → ESTABLISHED), says.
        if let Some(other) = self
            .live
            .get(&c.skaddr)
            .filter(|conn| conn.by_listener)
            .and_then(|_| self.other_end(c.peer, c.local).map(|o| o.place))
            && let Some(conn) = self.live.get_mut(&c.skaddr)
        {
            conn.by_listener = false;
            if other != conn.place {
                conn.place = other;
                // Unknown, its changes are held until it is proven somewhere, and then belong
                // to the listener there.
                conn.owner = None;
                match shown(self.follow.as_deref(), other) {
                    Some(netns) => settle(conn, netns),
                    None if other != Where::Unknown => conn.held.clear(),
                    None => {}
                }
            }
        }
        // The other end's FIN, when it is a socket followed here (see FIN-WAIT-2 → CLOSE).
        let peer_fin = self.other_end(c.peer, c.local).map(|p| p.fin_sent_ns);
        let Some(conn) = self.live.get_mut(&c.skaddr) else { return };
        if in_call && c.new != SynSent {
            // close/shutdown: the process that did it holds the socket.
            conn.owner = Some(self.procs.owner(pid, now));
            if conn.place == Where::Unknown {
                conn.place = place_of(self.procs.netns(pid, tid, now));
            }
        }
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
                // peer's FIN in its place. A peer followed here that has not sent its FIN
                // says it did not arrive. One that has sent it does not say whether it
                // arrived first (a FIN is stamped as it is sent, not as it lands): its own
                // destroy record's payload count settles it (`awaiting`). Otherwise the FIN
                // is taken to have come with the last ACK, as servers usually send it.
                conn.fin_received = match peer_fin {
                    Some(None) => false,
                    Some(Some(_)) => {
                        conn.fin_unproven = true;
                        true
                    }
                    None => {
                        // Not known: the guess is flagged in the life.
                        conn.gap = true;
                        true
                    }
                };
                conn.closed_ns = Some(now);
            }
            (old, Close) => {
                // The state it leaves says who closed first, whatever records were lost: a
                // peer's FIN came first in CLOSE-WAIT and LAST-ACK, this side's in FIN-WAIT.
                match old {
                    CloseWait | LastAck => {
                        conn.closer.get_or_insert(Closer::Peer);
                    }
                    FinWait1 | FinWait2 | Closing => {
                        conn.closer.get_or_insert(Closer::Local);
                    }
                    _ => {}
                }
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
        if c.local.port() != 0 && c.peer.port() != 0 {
            let live = &self.live;
            let ends = (c.local, c.peer);
            let holders = self.by_ends.entry(ends).or_default();
            // Sockets gone, or whose ends changed since, no longer have these ends.
            holders.retain(|s| *s == c.skaddr || live.get(s).is_some_and(|o| (o.local, o.peer) == ends));
            if !holders.contains(&c.skaddr) {
                holders.push(c.skaddr);
            }
        }
        // Lives are proven by their destroy records (give, give_if_ours): the table is asked
        // only for state changes to show.
        if self.opts.life {
            return;
        }
        let Some(netns) = self.proven(c.skaddr, place, c.local, c.peer) else {
            if place == Where::Unknown {
                // Labelled with its namespace once that is proven.
                match self.live.get_mut(&c.skaddr).filter(|conn| conn.held.len() < HELD_AT_MOST) {
                    Some(conn) => conn.held.push(transition(now, owner, &c, in_old_ns, 0)),
                    None => self.totals.unproven += 1,
                }
            }
            return;
        };
        self.totals.transitions += 1;
        let mut owner = owner;
        // Held while its namespace was unknown: given now that it is proven.
        if let Some(conn) = self.live.get_mut(&c.skaddr) {
            settle(conn, netns);
            owner.clone_from(&conn.owner);
            self.totals.transitions += conn.held.len() as u64;
            out.append(&mut conn.held);
        }
        out.push(transition(now, owner, &c, in_old_ns, netns));
        if c.new == Close {
            self.remove(c.skaddr);
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
            fin_unproven: false,
            aborted: false,
            by_listener: false,
            listener_owners: Vec::new(),
            held: Vec::new(),
            gap: false,
            place: Where::Unknown,
            closed_ns: None,
            destroyed_ns: None,
        };
        match (c.old, c.new) {
            (SockState::Close, SockState::SynSent) => {
                conn.active = Some(true);
                conn.since_ns = None;
                conn.owner = Some(self.procs.owner(pid, now));
                conn.place = place_of(self.procs.netns(pid, tid, now));
            }
            (SockState::Listen, SockState::SynRecv) => {
                conn.active = Some(false);
                // The other end of a loopback connection, when it is a socket followed here:
                // both ends are in one namespace, so what is known of it holds here, even
                // that it is unknown.
                let other = self.other_end(c.peer, c.local).map(|o| o.place);
                let listener = self.listener_of(c.local);
                conn.place = match (other, &listener) {
                    (Some(p), _) => p,
                    (None, Some(l)) => {
                        conn.by_listener = true;
                        l.place
                    }
                    _ => self.not_found(),
                };
                conn.listener_owners = listener.map(|l| l.owners).unwrap_or_default();
                // The listener in its namespace holds it (where that is not known yet: once
                // it is proven).
                if let Where::In(netns) = conn.place {
                    settle(&mut conn, netns);
                }
            }
            _ => match self.table.connection(c.local, c.peer) {
                Some(seen) => {
                    conn.owner = seen.owner;
                    conn.place = seen.netns.map_or(Where::Unknown, Where::In);
                }
                None => conn.place = self.not_found(),
            },
        }
        conn
    }

    /// Where a connection accepted at `local` is, by its listeners: those seen starting, in
    /// any namespace, and those in the followed namespaces' table. Unknown when a followed
    /// namespace and another (or one not known) both listen there.
    fn listener_of(&mut self, local: SocketAddr) -> Option<ListenerGuess> {
        let mut owners: Vec<(u64, Option<Owner>)> = Vec::new();
        let mut unknown = false;
        // Read in place (a passive open is the hot path): only owners are copied.
        for l in sockscope_core::lookup::listening_at(local).iter().filter_map(|a| self.listeners.get(a)).flatten() {
            match l.place {
                Where::In(ns) if !owners.iter().any(|(n, _)| *n == ns) => owners.push((ns, l.owner.clone())),
                Where::In(_) => {}
                Where::Elsewhere | Where::Unknown => unknown = true,
            }
        }
        // Listeners whose listen() was not seen (there before sockscope started). When some
        // were seen, they explain the connection: a miss does not take the table again.
        let seen_starting = !owners.is_empty() || unknown;
        for (ns, owner) in self.table.listeners(local, !seen_starting) {
            if !owners.iter().any(|(n, _)| *n == ns) {
                owners.push((ns, owner));
            }
        }
        let followed = owners.iter().filter(|(ns, _)| self.shown(Where::In(*ns)).is_some()).count();
        let place = match owners.as_slice() {
            [] if !unknown => return None,
            _ if unknown => Where::Unknown,
            [(ns, _)] => Where::In(*ns),
            _ if followed == 0 => Where::Elsewhere,
            _ => Where::Unknown,
        };
        Some(ListenerGuess { place, owners })
    }

    fn listener(&mut self, now: u64, pid: u32, tid: u32, c: &StateChange, out: &mut Vec<Event>) {
        let (place, owner, in_old_ns) = if c.new == SockState::Listen {
            let place = place_of(self.procs.netns(pid, tid, now));
            let owner = Some(self.procs.owner(pid, now));
            let at = self.listeners.entry(c.local).or_default();
            at.retain(|l| l.skaddr != c.skaddr);
            at.push(Listener { skaddr: c.skaddr, place, owner: owner.clone(), since_ns: now });
            (place, owner, None)
        } else {
            let at = self.listeners.get_mut(&c.local);
            let found = at.and_then(|at| at.iter().position(|l| l.skaddr == c.skaddr).map(|i| at.remove(i)));
            if self.listeners.get(&c.local).is_some_and(Vec::is_empty) {
                self.listeners.remove(&c.local);
            }
            match found {
                Some(l) => (l.place, l.owner, Some(now.saturating_sub(l.since_ns))),
                None => match self.table.listeners(c.local, true).as_slice() {
                    [(ns, owner)] => (Where::In(*ns), owner.clone(), None),
                    [] => (self.not_found(), None, None),
                    _ => (Where::Unknown, None, None),
                },
            }
        };
        if !self.opts.life {
            match self.shown(place) {
                Some(netns) => {
                    self.totals.transitions += 1;
                    out.push(transition(now, owner, c, in_old_ns, netns));
                }
                None if place == Where::Unknown => self.totals.unproven += 1,
                None => {}
            }
        }
    }

    /// The followed namespace a socket is proven to be in: known to be, or, when not known,
    /// found in the table by its ends (then remembered).
    fn proven(&mut self, skaddr: u64, place: Where, local: SocketAddr, peer: SocketAddr) -> Option<u64> {
        if place != Where::Unknown {
            return self.shown(place);
        }
        if local.port() == 0 || peer.port() == 0 {
            return None;
        }
        let netns = self.table.connection(local, peer).and_then(|s| s.netns)?;
        if let Some(conn) = self.live.get_mut(&skaddr) {
            conn.place = Where::In(netns);
        }
        self.shown(Where::In(netns))
    }

    /// A destroy record of the followed namespace `netns`: the life it ends, or a wait for its
    /// tracepoint record.
    pub fn freed(&mut self, now: u64, netns: u64, f: Freed, out: &mut Vec<Event>) {
        let Some(r) = Record::of(netns, &f) else { return };
        if !self.opts.life {
            // Transitions: the record only proves where a socket is, for its held changes.
            match self.closing.remove(&r.cookie) {
                Some(mut conn) => {
                    settle(&mut conn, netns);
                    self.totals.transitions += conn.held.len() as u64;
                    out.append(&mut conn.held);
                }
                None => {
                    self.early.insert(r.cookie, (now, r));
                }
            }
            return;
        }
        if self.given.contains(&r.cookie) {
            // Given without its counters while this record was on its way (a kernel work
            // queue sends it; under load it can be late).
            self.totals.late_destroy_records += 1;
        } else if let Some(conn) = self.closing.remove(&r.cookie) {
            self.give(r.cookie, conn, r.counters, netns, now, out);
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
        self.give_up_waiting(Some(now), out);
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
            if let Some(conn) = self.closing.remove(&cookie) {
                if self.opts.life {
                    self.give_if_ours(cookie, conn, now, out);
                } else {
                    self.totals.unproven += conn.held.len() as u64;
                }
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
            if let Some((_, f)) = self.early.remove(&cookie)
                && self.opts.life
            {
                self.life_from_record_alone(now, f, out);
            }
        }
    }

    pub fn finish(&mut self, out: &mut Vec<Event>) {
        let now = crate::monotonic_ns();
        for (cookie, conn) in std::mem::take(&mut self.closing) {
            if self.opts.life {
                self.give_if_ours(cookie, conn, now, out);
            } else {
                self.totals.unproven += conn.held.len() as u64;
            }
        }
        for (_, (_, f)) in std::mem::take(&mut self.early) {
            if self.opts.life {
                self.life_from_record_alone(now, f, out);
            }
        }
        // Still open, never proven ours.
        let held: u64 = self.live.values().filter(|c| c.place == Where::Unknown).map(|c| c.held.len() as u64).sum();
        self.totals.unproven += held;
        // Last: the lives given above may be the peers some were waiting for.
        self.give_up_waiting(None, out);
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

    /// A life whose destroy record never came: given (without counters) only when the socket
    /// is proven to be in a followed namespace, by what was known of it or by its cookie in
    /// the table.
    fn give_if_ours(&mut self, cookie: u64, conn: Conn, now: u64, out: &mut Vec<Event>) {
        let netns = match conn.place {
            Where::Unknown => {
                self.table.take_cookie(cookie).and_then(|s| s.netns).and_then(|ns| self.shown(Where::In(ns)))
            }
            place => self.shown(place),
        };
        match netns {
            Some(netns) => self.give(cookie, conn, None, netns, now, out),
            None if conn.place == Where::Unknown => self.totals.unproven += 1,
            None => {}
        }
    }

    /// A life from the tracepoints, in `netns`, with the destroy record's counters when it
    /// came (a followed namespace's destroy record: it proves where the socket is).
    fn give(
        &mut self,
        cookie: u64,
        mut conn: Conn,
        counters: Option<Counters>,
        netns: u64,
        now: u64,
        out: &mut Vec<Event>,
    ) {
        settle(&mut conn, netns);
        self.mark_given(cookie);
        // An abort that cleared the counters leaves them all zero: then they are unknown.
        let cleared = conn.aborted && counters.is_some_and(|c| c.sent == Some(0) && c.received == Some(0));
        let info = counters.filter(|_| !cleared);
        let end = conn.closed_ns.unwrap_or(now);
        if counters.is_none() {
            self.totals.lives_without_counters += 1;
        }
        self.totals.lives += 1;
        let bytes_received = info.and_then(|c| c.received).map(|r| r.saturating_sub(u64::from(conn.fin_received)));
        // Whether the peer's FIN reached the socket was guessed (records lost, or a peer not
        // followed here that closed after this side).
        let inferred = if conn.gap && bytes_received.is_some() { vec!["bytes_received"] } else { Vec::new() };
        let raw_received = info.and_then(|c| c.received).filter(|_| conn.fin_unproven);
        let life = Life {
            netid: Netid::Tcp,
            end_ns: end,
            netns,
            owner: conn.owner,
            local: conn.local,
            peer: conn.peer,
            active: conn.active,
            duration_ns: conn.born_ns.map(|b| end.saturating_sub(b)),
            bytes_sent: info.and_then(|c| c.sent),
            bytes_received,
            closer: conn.closer,
            rtt_us: info.and_then(|c| c.rtt_us),
            retransmits: info.and_then(|c| c.retransmits),
            approximate: !inferred.is_empty(),
            inferred,
        };
        self.emit(life, raw_received, now, out);
    }

    /// Gives a life, and the one waiting for it as its peer. `raw_received`: this life's
    /// kernel count of bytes received, when whether it holds the peer's FIN waits for the
    /// peer's life (then this one waits, up to GRACE_NS).
    fn emit(&mut self, life: Life, raw_received: Option<u64>, now: u64, out: &mut Vec<Event>) {
        if let Some((_, raw, mut waiting)) = self.awaiting.remove(&(life.local, life.peer)) {
            // The peer's payload sent, each byte once, is what reached this end: with the
            // FIN or without it, the kernel's count is that or one more. Anything else (data
            // lost to a reset) leaves the guess, flagged.
            match life.bytes_sent {
                Some(sent) if raw == sent || raw == sent + 1 => waiting.bytes_received = Some(sent),
                _ => flag_received(&mut waiting),
            }
            out.push(Event::Life(waiting));
        }
        match raw_received {
            Some(raw) => {
                // Ends reused (a storm's ports) before the earlier one's peer came: that one
                // is given now, with its guess flagged, never dropped.
                if let Some((_, _, mut earlier)) = self.awaiting.insert((life.peer, life.local), (now, raw, life)) {
                    flag_received(&mut earlier);
                    out.push(Event::Life(earlier));
                }
            }
            None => out.push(Event::Life(life)),
        }
    }

    /// Lives that waited GRACE_NS for their peer's (or all, at the end): given with their
    /// guess, flagged.
    fn give_up_waiting(&mut self, now: Option<u64>, out: &mut Vec<Event>) {
        let late: Vec<(SocketAddr, SocketAddr)> = self
            .awaiting
            .iter()
            .filter(|(_, (at, _, _))| now.is_none_or(|n| n.saturating_sub(*at) > GRACE_NS))
            .map(|(k, _)| *k)
            .collect();
        for key in late {
            if let Some((_, _, mut life)) = self.awaiting.remove(&key) {
                flag_received(&mut life);
                out.push(Event::Life(life));
            }
        }
    }

    /// A life from a destroy record and what the socket table knew of the socket.
    fn life_from_record_alone(&mut self, now: u64, r: Record, out: &mut Vec<Event>) {
        let Record { netid, netns, cookie, local, peer, counters: info } = r;
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
        // The peer's FIN is in the kernel's count when the table saw the peer close first;
        // otherwise whether it is, is not known (UDP has none).
        let fin_counted = netid == Netid::Tcp && closer == Some(Closer::Peer);
        let fin_known = netid == Netid::Udp || fin_counted;
        let bytes_received = info.and_then(|c| c.received).map(|r| r.saturating_sub(u64::from(fin_counted)));
        let duration_ns = seen.as_ref().map(|s| now.saturating_sub(s.first_ns));
        let mut inferred = Vec::new();
        if duration_ns.is_some() {
            inferred.push("duration");
        }
        if bytes_received.is_some() && !fin_known {
            inferred.push("bytes_received");
        }
        let life = Life {
            netid,
            end_ns: now,
            netns,
            owner: seen.as_ref().and_then(|s| s.owner.clone()),
            local,
            peer,
            active: None,
            duration_ns,
            bytes_sent: info.and_then(|c| c.sent),
            bytes_received,
            closer,
            rtt_us: info.and_then(|c| c.rtt_us),
            retransmits: info.and_then(|c| c.retransmits),
            approximate: !inferred.is_empty(),
            inferred,
        };
        self.emit(life, None, now, out);
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

    /// Forgets the socket at `skaddr`; state changes it held for want of proof are counted
    /// as unproven.
    fn remove(&mut self, skaddr: u64) -> Option<Conn> {
        let conn = self.take(skaddr)?;
        self.totals.unproven += conn.held.len() as u64;
        Some(conn)
    }

    /// Forgets the socket at `skaddr` and hands it over, with what it held.
    fn take(&mut self, skaddr: u64) -> Option<Conn> {
        let conn = self.live.remove(&skaddr)?;
        let ends = (conn.local, conn.peer);
        if let Some(holders) = self.by_ends.get_mut(&ends) {
            holders.retain(|s| *s != skaddr);
            if holders.is_empty() {
                self.by_ends.remove(&ends);
            }
        }
        Some(conn)
    }

    /// The one live socket whose ends are (`local`, `peer`): the other end of a loopback
    /// connection seen from its peer. None when there is none, or more than one (the same
    /// ends in two namespaces): then neither is the answer, and nothing is inferred.
    fn other_end(&self, local: SocketAddr, peer: SocketAddr) -> Option<&Conn> {
        let mut found = self
            .by_ends
            .get(&(local, peer))?
            .iter()
            .filter_map(|s| self.live.get(s))
            .filter(|o| (o.local, o.peer) == (local, peer));
        let one = found.next()?;
        found.next().is_none().then_some(one)
    }
}

fn transition(time_ns: u64, owner: Option<Owner>, c: &StateChange, in_old_ns: Option<u64>, netns: u64) -> Event {
    let (local, peer, old, new) = (c.local, c.peer, c.old, c.new);
    Event::Transition(Transition { time_ns, owner, local, peer, old, new, in_old_ns, netns })
}

/// `bytes_received` is a guess: say so.
fn flag_received(life: &mut Life) {
    if life.bytes_received.is_some() && !life.inferred.contains(&"bytes_received") {
        life.inferred.push("bytes_received");
        life.approximate = true;
    }
}

/// The namespace a socket at `place` is shown in, when `follow` (None: all) follows it.
fn shown(follow: Option<&[u64]>, place: Where) -> Option<u64> {
    match place {
        Where::In(ns) if follow.is_none_or(|f| f.contains(&ns)) => Some(ns),
        _ => None,
    }
}

/// The socket is proven to be in `netns`: a passive connection whose owner was not known is
/// its listener's there, and the state changes it held are labelled so.
fn settle(conn: &mut Conn, netns: u64) {
    conn.place = Where::In(netns);
    if conn.owner.is_none()
        && let Some((_, owner)) = conn.listener_owners.iter().find(|(ns, _)| *ns == netns)
    {
        conn.owner.clone_from(owner);
    }
    for e in &mut conn.held {
        if let Event::Transition(t) = e {
            t.netns = netns;
            if t.owner.is_none() {
                t.owner.clone_from(&conn.owner);
            }
        }
    }
}

/// Whether two records' ends can be one socket's: where both name a port or an address,
/// they agree (a socket's are cleared as it closes: a zero tells nothing).
fn same_socket(a: (SocketAddr, SocketAddr), b: (SocketAddr, SocketAddr)) -> bool {
    [(a.0, b.0), (a.1, b.1)].iter().all(|(x, y)| {
        (x.port() == 0 || y.port() == 0 || x.port() == y.port())
            && (x.ip().is_unspecified() || y.ip().is_unspecified() || x.ip() == y.ip())
    })
}

/// What the listeners at an address say of a connection accepted there.
struct ListenerGuess {
    place: Where,
    /// The namespaces listening there, with the owner of each listener (None: not known).
    owners: Vec<(u64, Option<Owner>)>,
}

/// Where a socket is, by the namespace of the thread that acted on it (None: not readable).
fn place_of(netns: Option<u64>) -> Where {
    netns.map_or(Where::Unknown, Where::In)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ends_cleared_at_close_still_match_and_other_ends_do_not() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        let followed = (a("127.0.0.1:39484"), a("127.0.0.1:7009"));
        // A refused connect's destroy record: its address and the peer's port cleared.
        assert!(same_socket((a("0.0.0.0:39484"), a("127.0.0.1:0")), followed));
        assert!(same_socket(followed, followed));
        // Another socket at the same kernel address.
        assert!(!same_socket((a("127.0.0.1:7009"), a("127.0.0.1:39484")), followed));
        assert!(!same_socket((a("127.0.0.1:39485"), a("127.0.0.1:7009")), followed));
        assert!(!same_socket((a("10.0.0.1:39484"), a("127.0.0.1:7009")), followed));
    }
}
