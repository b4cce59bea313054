//! Hash maps keyed by inode or cookie numbers.
//!
//! The standard SipHash guards against keys chosen by an attacker; inode numbers are chosen by
//! the kernel, and hashing 100k of them with SipHash is a measurable part of `-tanp`. One
//! multiplication by an odd constant spreads them into the high bits the table probes with.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map from inode (or cookie) numbers.
pub type InodeMap<V> = HashMap<u64, V, BuildHasherDefault<InodeHasher>>;

#[derive(Default, Clone, Copy)]
pub struct InodeHasher(u64);

impl Hasher for InodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached for keys that are not a single u64; fold them in bytewise.
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_inodes_spread_over_the_high_bits() {
        use std::hash::BuildHasher;
        let b = BuildHasherDefault::<InodeHasher>::default();
        let tops: std::collections::HashSet<u64> = (1000u64..1128).map(|i| b.hash_one(i) >> 57).collect();
        assert!(tops.len() > 64, "{} distinct top-7-bit values", tops.len());
    }

    #[test]
    fn works_as_a_map() {
        let mut m: InodeMap<u32> = InodeMap::default();
        for i in 0..10_000u64 {
            m.insert(i * 3, i as u32);
        }
        assert!((0..10_000u64).all(|i| m[&(i * 3)] == i as u32));
        assert!(!m.contains_key(&1));
    }
}
