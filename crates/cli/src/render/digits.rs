//! Numbers and IPv4 addresses written straight into a string: the table writes several per
//! row, and `core::fmt` (padding support, dynamic dispatch) was a tenth of `-tanp`'s
//! formatting time at 100k rows. Numbers go through `itoa` (3.8× our own digit loop, and
//! one thing less to keep: `cargo bench -p sockscope-core -- number_text`).

use std::net::Ipv4Addr;

/// Appends `n` in decimal.
pub fn push_u64(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Appends the dotted quad.
pub fn push_ipv4(out: &mut String, ip: Ipv4Addr) {
    let [a, b, c, d] = ip.octets();
    push_u64(out, a.into());
    out.push('.');
    push_u64(out, b.into());
    out.push('.');
    push_u64(out, c.into());
    out.push('.');
    push_u64(out, d.into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn addresses_read_as_display_does(bits in any::<u32>()) {
            let ip = Ipv4Addr::from(bits);
            let mut s = String::new();
            push_ipv4(&mut s, ip);
            prop_assert_eq!(s, ip.to_string());
        }
    }
}
