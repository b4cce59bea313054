//! Plain data shared by every reader, renderer, rule and exporter.

mod container;
mod details;
mod endpoint;
mod fd;
mod inode_map;
mod later;
mod mptcp;
mod netns;
mod owner;
mod socket;
mod state;
mod tcp_info;
mod vitals;

pub use container::{Container, Runtime};
pub use details::{BbrInfo, BoundFile, DctcpInfo, Details, Extra, PacketInfo, SkMemInfo, Timer, TimerKind};
pub use endpoint::{Endpoint, UnixName, lossless_text};
pub use fd::{EpollWatch, FdDetails, FdEntry, FdKind, FdLimit, FdName, InotifyWatch, OpenFlags, Special, SystemFiles};
pub use inode_map::{InodeHasher, InodeMap};
pub use later::{Later, SecondLook};
pub use mptcp::{MPTCP_FALLBACK, MPTCP_REMOTE_KEY, MptcpInfo, Subflow, Ulp};
pub use netns::Netns;
pub use owner::{Owner, OwnerIndex, OwnerScanReport, Process};
pub use socket::{Family, INET_SOCKOPTS, Netid, Socket};
pub use state::{SockState, StateSet};
pub use tcp_info::TcpInfo;
pub use vitals::TcpVitals;
