//! Numbers and IPv4 addresses written straight into a string: the table writes several per
//! row, and `core::fmt` (padding support, dynamic dispatch) was a tenth of `-tanp`'s
//! formatting time at 100k rows.

use std::net::Ipv4Addr;

/// Appends `n` in decimal.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
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
        fn numbers_read_as_display_does(n in any::<u64>()) {
            let mut s = String::from("x");
            push_u64(&mut s, n);
            prop_assert_eq!(s, format!("x{n}"));
        }

        #[test]
        fn addresses_read_as_display_does(bits in any::<u32>()) {
            let ip = Ipv4Addr::from(bits);
            let mut s = String::new();
            push_ipv4(&mut s, ip);
            prop_assert_eq!(s, ip.to_string());
        }
    }

    #[test]
    fn edges() {
        for n in [0, 9, 10, 99, 100, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
