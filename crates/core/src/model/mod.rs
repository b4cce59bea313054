//! Plain data shared by every reader, renderer, rule and exporter.

mod endpoint;
mod owner;
mod socket;
mod state;

pub use endpoint::{Endpoint, UnixName, lossless_text};
pub use owner::{Owner, OwnerIndex, OwnerScanReport, Process};
pub use socket::{Family, Netid, Socket};
pub use state::{SockState, StateSet};
