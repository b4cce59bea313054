//! Socket states as the kernel numbers them (include/net/tcp_states.h), shared by every family.

use serde::{Serialize, Serializer};

/// The state of a socket. TCP uses all of them; UDP, raw, Unix, packet and netlink sockets
/// use `Established` (connected), `Close` (unconnected) and, for Unix, `Listen`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SockState {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    NewSynRecv,
    BoundInactive,
    /// A state number this build does not know (a newer kernel).
    Unknown(u8),
}

impl SockState {
    /// Every known state, in kernel order.
    pub const KNOWN: [SockState; 13] = [
        SockState::Established,
        SockState::SynSent,
        SockState::SynRecv,
        SockState::FinWait1,
        SockState::FinWait2,
        SockState::TimeWait,
        SockState::Close,
        SockState::CloseWait,
        SockState::LastAck,
        SockState::Listen,
        SockState::Closing,
        SockState::NewSynRecv,
        SockState::BoundInactive,
    ];

    pub fn from_kernel(value: u8) -> SockState {
        match value {
            1..=13 => Self::KNOWN[usize::from(value - 1)],
            other => SockState::Unknown(other),
        }
    }

    pub fn to_kernel(self) -> u8 {
        match self {
            SockState::Unknown(v) => v,
            known => {
                let pos = Self::KNOWN.iter().position(|s| *s == known).unwrap_or(0);
                // KNOWN has 13 entries, so the position always fits.
                pos as u8 + 1
            }
        }
    }

    /// The short name `ss` prints in its State column.
    pub fn ss_name(self) -> &'static str {
        match self {
            SockState::Established => "ESTAB",
            SockState::SynSent => "SYN-SENT",
            SockState::SynRecv | SockState::NewSynRecv => "SYN-RECV",
            SockState::FinWait1 => "FIN-WAIT-1",
            SockState::FinWait2 => "FIN-WAIT-2",
            SockState::TimeWait => "TIME-WAIT",
            SockState::Close => "UNCONN",
            SockState::CloseWait => "CLOSE-WAIT",
            SockState::LastAck => "LAST-ACK",
            SockState::Listen => "LISTEN",
            SockState::Closing => "CLOSING",
            SockState::BoundInactive => "BOUND-INACTIVE",
            SockState::Unknown(_) => "UNKNOWN",
        }
    }

    /// The name used in ss's filter language and in our JSON (`established`, `time-wait`, …).
    pub fn filter_name(self) -> &'static str {
        match self {
            SockState::Established => "established",
            SockState::SynSent => "syn-sent",
            SockState::SynRecv | SockState::NewSynRecv => "syn-recv",
            SockState::FinWait1 => "fin-wait-1",
            SockState::FinWait2 => "fin-wait-2",
            SockState::TimeWait => "time-wait",
            SockState::Close => "closed",
            SockState::CloseWait => "close-wait",
            SockState::LastAck => "last-ack",
            SockState::Listen => "listening",
            SockState::Closing => "closing",
            SockState::BoundInactive => "bound-inactive",
            SockState::Unknown(_) => "unknown",
        }
    }

    pub fn bit(self) -> u32 {
        1u32.checked_shl(u32::from(self.to_kernel())).unwrap_or(0)
    }
}

impl Serialize for SockState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.filter_name())
    }
}

/// A set of states as a bit mask indexed by kernel state number: the same layout
/// `inet_diag_req_v2.idiag_states` uses, so it goes to the kernel unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct StateSet(pub u32);

impl StateSet {
    /// Every state ss calls "all": kernel states 0..=12 (BOUND-INACTIVE, 13, is asked for by name).
    pub const ALL: StateSet = StateSet((1 << 13) - 1);
    pub const NONE: StateSet = StateSet(0);
    /// Every state and bound-but-inactive sockets too (kernel state 13): what a recording
    /// and the doctor read.
    pub const EVERY: StateSet = StateSet((1 << 14) - 1);

    pub fn of(states: &[SockState]) -> StateSet {
        StateSet(states.iter().fold(0, |m, s| m | s.bit()))
    }

    pub fn contains(self, state: SockState) -> bool {
        self.0 & state.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// ss's default: every state of a live connection, i.e. all but listening, unconnected,
    /// TIME-WAIT and SYN-RECV.
    pub fn connected() -> StateSet {
        let excluded = StateSet::of(&[
            SockState::Listen,
            SockState::Close,
            SockState::TimeWait,
            SockState::SynRecv,
            SockState::NewSynRecv,
        ]);
        StateSet(Self::ALL.0 & !excluded.0)
    }

    /// What `-l` selects: listeners, and unconnected datagram sockets (as ss does).
    pub fn listening() -> StateSet {
        StateSet::of(&[SockState::Listen, SockState::Close])
    }
}

impl std::ops::BitOr for StateSet {
    type Output = StateSet;
    fn bitor(self, rhs: StateSet) -> StateSet {
        StateSet(self.0 | rhs.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_is_all_and_bound_inactive() {
        assert_eq!(StateSet::EVERY, StateSet(StateSet::ALL.0 | SockState::BoundInactive.bit()));
    }

    #[test]
    fn kernel_numbers_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(SockState::from_kernel(n).to_kernel(), n);
        }
        assert_eq!(SockState::from_kernel(1), SockState::Established);
        assert_eq!(SockState::from_kernel(10), SockState::Listen);
        assert_eq!(SockState::from_kernel(6), SockState::TimeWait);
    }

    #[test]
    fn connected_excludes_listen_close_timewait_synrecv() {
        let c = StateSet::connected();
        assert!(c.contains(SockState::Established));
        assert!(c.contains(SockState::CloseWait));
        assert!(c.contains(SockState::FinWait2));
        assert!(!c.contains(SockState::Listen));
        assert!(!c.contains(SockState::Close));
        assert!(!c.contains(SockState::TimeWait));
        assert!(!c.contains(SockState::SynRecv));
    }
}
