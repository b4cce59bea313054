//! sockscope-lab: real sockets, real processes, real namespaces — the ground truth tests and
//! benchmarks check sockscope against. Nothing here is a mock of the kernel.

pub mod holder;
pub mod netns;
pub mod sockets;

pub use holder::Holder;
pub use netns::enter_private_netns;
