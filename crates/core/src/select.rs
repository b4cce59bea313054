//! Which sockets to collect: tables × families × states, resolved the way ss resolves its
//! `-t -u -w -x -0 -4 -6 -f -A -l -a` flags.

use crate::model::{Family, Netid, SockState, Socket, StateSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selection {
    netids: u16,
    families: u8,
    pub states: StateSet,
}

impl Selection {
    /// Everything: every table, family and state.
    pub fn all() -> Selection {
        Selection::resolve(&[], &[], StateSet::ALL)
    }

    /// ss's rules: no table and no family named means every table; families alone select the
    /// tables that can hold them; tables alone select the families they can hold; both named
    /// keep the tables whose families were named.
    pub fn resolve(tables: &[Netid], families: &[Family], states: StateSet) -> Selection {
        let tables: Vec<Netid> = if tables.is_empty() { Netid::ALL.to_vec() } else { tables.to_vec() };
        let families: Vec<Family> = if families.is_empty() { Family::ALL.to_vec() } else { families.to_vec() };
        let mut netids = 0u16;
        let mut fams = 0u8;
        for t in &tables {
            let wanted: Vec<Family> = t.families().iter().copied().filter(|f| families.contains(f)).collect();
            if !wanted.is_empty() {
                netids |= t.bit();
                for f in wanted {
                    fams |= f.bit();
                }
            }
        }
        Selection { netids, families: fams, states }
    }

    /// Exactly these tables, families and states (what ss's flags resolve to; a socket is
    /// selected when its table, its family and its state are).
    pub fn exact(tables: &[Netid], families: &[Family], states: StateSet) -> Selection {
        Selection {
            netids: tables.iter().fold(0, |m, t| m | t.bit()),
            families: families.iter().fold(0, |m, f| m | f.bit()),
            states,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.netids == 0 || self.states.is_empty()
    }

    pub fn has_netid(&self, netid: Netid) -> bool {
        self.netids & netid.bit() != 0
    }

    /// The same selection without one table.
    pub fn without(&self, netid: Netid) -> Selection {
        Selection { netids: self.netids & !netid.bit(), ..*self }
    }

    pub fn has_family(&self, family: Family) -> bool {
        self.families & family.bit() != 0
    }

    pub fn netids(&self) -> impl Iterator<Item = Netid> + '_ {
        Netid::ALL.into_iter().filter(|n| self.has_netid(*n))
    }

    /// How many tables are selected: ss shows the Netid column only when more than one is.
    pub fn table_count(&self) -> u32 {
        self.netids.count_ones()
    }

    pub fn wants_state(&self, state: SockState) -> bool {
        self.states.contains(state)
    }

    /// The final user-space check every reader's output goes through, so that kernel-side
    /// and /proc-side selection give the same answer.
    pub fn matches(&self, s: &Socket) -> bool {
        self.has_netid(s.netid) && self.has_family(s.family) && self.states.contains(s.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_alone_means_both_ip_families() {
        let s = Selection::resolve(&[Netid::Tcp], &[], StateSet::ALL);
        assert!(s.has_netid(Netid::Tcp) && !s.has_netid(Netid::Udp));
        assert!(s.has_family(Family::Inet) && s.has_family(Family::Inet6));
        assert!(!s.has_family(Family::Unix));
    }

    #[test]
    fn family_alone_selects_its_tables() {
        let s = Selection::resolve(&[], &[Family::Inet6], StateSet::ALL);
        assert!(s.has_netid(Netid::Tcp) && s.has_netid(Netid::Udp) && s.has_netid(Netid::Raw));
        assert!(!s.has_netid(Netid::UnixStream) && !s.has_family(Family::Inet));
    }

    #[test]
    fn tables_and_families_intersect() {
        let s = Selection::resolve(&[Netid::Tcp, Netid::UnixStream], &[Family::Inet], StateSet::ALL);
        assert!(s.has_netid(Netid::Tcp) && !s.has_netid(Netid::UnixStream));
        assert!(!s.has_family(Family::Inet6));
        let none = Selection::resolve(&[Netid::UnixStream], &[Family::Inet], StateSet::ALL);
        assert!(none.is_empty());
    }
}
