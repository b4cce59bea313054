//! The detail fields of -o, -e, -m, -i, --tos and --cgroup, in ss's notation.

use sockscope_core::model::{SkMemInfo, TcpInfo};
use sockscope_core::{Family, Socket};
use std::collections::HashMap;
use std::fmt::Write as _;

#[derive(Clone, Debug, Default)]
pub struct DetailFlags {
    pub timers: bool,
    pub extended: bool,
    pub memory: bool,
    pub info: bool,
    pub tos: bool,
    /// cgroup id → path, when --cgroup was given.
    pub cgroups: Option<HashMap<u64, String>>,
}

/// Details printed on the socket's own line: timer, -e fields, cgroup, tos.
pub fn same_line(s: &Socket, f: &DetailFlags, out: &mut String) {
    if f.timers
        && let Some(t) = &s.timer
    {
        let _ = write!(out, " timer:({},{},{})", t.kind.name(), ms_timer(t.expires_ms), t.retransmits);
    }
    if f.extended && s.family == Family::Unix {
        unix_extended(s, out);
    } else if f.extended && s.family == Family::Netlink {
        // ss's netlink -e: its sk and cb are kernel addresses it no longer gets (always 0).
        let groups = s.details.as_ref().and_then(|d| d.netlink_groups).unwrap_or(0);
        let _ = write!(out, " sk=0 cb=0 groups={groups:#010x}");
    } else if f.extended {
        extended(s, f, out);
    } else {
        cgroup(s, f, out);
    }
    if f.tos
        && let Some(d) = &s.details
    {
        if let Some(tos) = d.tos {
            let _ = write!(out, " tos:{}", c_hex(tos.into()));
        }
        if let Some(tc) = d.tclass {
            let _ = write!(out, " tclass:{}", c_hex(tc.into()));
        }
        if let Some(c) = d.class_id {
            let _ = write!(out, " class_id:{}", c_hex(c));
        }
    }
}

/// C's `%#x`, as ss prints: `0x10`, but `0` for zero.
fn c_hex(n: u32) -> String {
    if n == 0 { "0".to_string() } else { format!("{n:#x}") }
}

/// `-e` for inet, packet and netlink sockets, in ss's order: `uid:` (when not root), `ino:`,
/// `sk:` (the cookie), `fwmark:`, `cgroup:`, `v6only:`, and the shutdown arrows.
fn extended(s: &Socket, f: &DetailFlags, out: &mut String) {
    if let Some(uid) = s.uid.filter(|u| *u != 0) {
        let _ = write!(out, " uid:{uid}");
    }
    let _ = write!(out, " ino:{}", s.inode);
    if let Some(cookie) = s.cookie {
        let _ = write!(out, " sk:{cookie:x}");
    }
    if let Some(mark) = s.mark.filter(|m| *m != 0) {
        let _ = write!(out, " fwmark:{mark:#x}");
    }
    cgroup(s, f, out);
    if let Some(v6only) = s.v6only {
        let _ = write!(out, " v6only:{}", u8::from(v6only));
    }
    shutdown(s, out);
}

/// `-e` for Unix sockets, as ss: the shutdown arrows, the bound file's `ino:` and `dev:`, and
/// a listener's pending connections (`peers:`).
fn unix_extended(s: &Socket, out: &mut String) {
    shutdown(s, out);
    let Some(d) = &s.details else { return };
    if let Some(f) = d.bound_file {
        // ss prints the kernel's device number through the C library's major()/minor().
        let (major, minor) = ((f.device >> 8) & 0xfff, (f.device & 0xff) | ((f.device >> 12) & !0xff));
        let _ = write!(out, " ino:{} dev:{major}/{minor}", f.inode);
    }
    if let Some(pending) = &d.pending {
        out.push_str(" peers:");
        for p in pending.iter() {
            let _ = write!(out, " {p}");
        }
    }
}

/// `ver:0 cpy_thresh:0 flags( running )` and `fanout(id:1,type:hash)`, as ss -e.
fn packet_info(p: &sockscope_core::model::PacketInfo, out: &mut String) {
    let _ = write!(out, " ver:{} cpy_thresh:{} flags(", p.version, p.copy_thresh);
    for (bit, name) in [(1, "running"), (2, "auxdata"), (4, "origdev"), (8, "vnethdr"), (16, "loss")] {
        if p.flags & bit != 0 {
            let _ = write!(out, " {name}");
        }
    }
    out.push_str(" )");
    if let Some(fanout) = p.fanout {
        const TYPES: [&str; 8] = ["hash", "lb", "cpu", "roll", "random", "qm", "cbpf", "ebpf"];
        let kind = (fanout >> 16) & 0xff;
        let _ = write!(out, " fanout(id:{},type:", fanout & 0xffff);
        match TYPES.get(kind as usize) {
            Some(name) => out.push_str(name),
            None => {
                let _ = write!(out, "{kind}");
            }
        }
        out.push(')');
    }
}

/// `<->`, `-->`, `<--`, `---`: which directions are still open.
fn shutdown(s: &Socket, out: &mut String) {
    if let Some(sd) = s.shutdown {
        out.push_str(match sd & 3 {
            0 => " <->",
            1 => " -->",
            2 => " <--",
            _ => " ---",
        });
    }
}

/// `cgroup:PATH`, with --cgroup or -e.
fn cgroup(s: &Socket, f: &DetailFlags, out: &mut String) {
    if let (Some(map), Some(id)) = (&f.cgroups, s.cgroup_id) {
        match map.get(&id.get()) {
            Some(path) => {
                let _ = write!(out, " cgroup:{}", crate::escape::escape(path));
            }
            None => {
                let _ = write!(out, " cgroup:#{id}");
            }
        }
    }
}

/// Details ss prints on a second line: a packet socket's ring (-e), skmem (-m) and tcp_info
/// (-i).
pub fn second_line(s: &Socket, f: &DetailFlags, out: &mut String) {
    let Some(d) = &s.details else { return };
    if f.extended
        && let Some(p) = &d.packet
    {
        packet_info(p, out);
    }
    if f.memory
        && let Some(m) = &d.memory
    {
        skmem(m, out);
    }
    if f.info {
        if let Some(c) = &d.congestion {
            let _ = write!(out, " {}", crate::escape::escape(c));
        }
        if let Some(t) = &d.tcp_info {
            tcp_info(t, out);
        }
    }
}

fn skmem(m: &SkMemInfo, out: &mut String) {
    let _ = write!(
        out,
        " skmem:(r{},rb{},t{},tb{},f{},w{},o{},bl{}",
        m.rmem_alloc, m.rcvbuf, m.wmem_alloc, m.sndbuf, m.fwd_alloc, m.wmem_queued, m.optmem, m.backlog
    );
    if let Some(d) = m.drops {
        let _ = write!(out, ",d{d}");
    }
    out.push(')');
}

/// ss's print_ms_timer: `119min`, `59sec`, `1.250ms`-style compact durations.
pub fn ms_timer(ms: u32) -> String {
    let mut secs = ms / 1000;
    let minutes = secs / 60;
    secs %= 60;
    let mut msecs = ms % 1000;
    let mut out = String::new();
    if minutes > 0 {
        msecs = 0;
        let _ = write!(out, "{minutes}min");
        if minutes > 9 {
            secs = 0;
        }
    }
    if secs > 0 {
        if secs > 9 {
            msecs = 0;
        }
        let _ = write!(out, "{secs}{}", if msecs > 0 { "." } else { "sec" });
    }
    if msecs > 0 {
        let _ = write!(out, "{msecs:03}ms");
    }
    if out.is_empty() {
        out.push_str("0ms");
    }
    out
}

/// Bits per second in ss's units: `52.4Gbps`, `800kbps`.
fn rate(bps: u64) -> String {
    let b = bps as f64;
    if b >= 1e9 {
        format!("{:.1}Gbps", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1}Mbps", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.0}kbps", b / 1e3)
    } else {
        format!("{bps}bps")
    }
}

fn ms(us: u32) -> String {
    let v = f64::from(us) / 1000.0;
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn tcp_info(t: &TcpInfo, out: &mut String) {
    let mut kv = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            let _ = write!(out, " {k}{v}");
        }
    };
    kv("wscale:", t.snd_wscale().zip(t.rcv_wscale()).map(|(s, r)| format!("{s},{r}")));
    kv("rto:", t.rto_us().map(ms));
    kv("rtt:", t.rtt_us().zip(t.rttvar_us()).map(|(r, v)| format!("{}/{}", ms(r), ms(v))));
    kv("ato:", t.ato_us().filter(|a| *a > 0).map(ms));
    kv("mss:", t.snd_mss_bytes().map(|v| v.to_string()));
    kv("pmtu:", t.pmtu_bytes().map(|v| v.to_string()));
    kv("rcvmss:", t.rcv_mss_bytes().map(|v| v.to_string()));
    kv("advmss:", t.advmss_bytes().map(|v| v.to_string()));
    kv("cwnd:", t.snd_cwnd().map(|v| v.to_string()));
    kv("ssthresh:", t.snd_ssthresh().filter(|v| *v < 0xffff).map(|v| v.to_string()));
    kv("bytes_sent:", t.bytes_sent().filter(|v| *v > 0).map(|v| v.to_string()));
    kv("bytes_retrans:", t.bytes_retrans().filter(|v| *v > 0).map(|v| v.to_string()));
    kv("bytes_acked:", t.bytes_acked().filter(|v| *v > 0).map(|v| v.to_string()));
    kv("bytes_received:", t.bytes_received().filter(|v| *v > 0).map(|v| v.to_string()));
    kv("segs_out:", t.segs_out().map(|v| v.to_string()));
    kv("segs_in:", t.segs_in().map(|v| v.to_string()));
    kv("data_segs_out:", t.data_segs_out().filter(|v| *v > 0).map(|v| v.to_string()));
    kv("data_segs_in:", t.data_segs_in().filter(|v| *v > 0).map(|v| v.to_string()));
    kv("send ", t.send_rate_bits_per_s().map(rate));
    kv("lastsnd:", t.last_data_sent_ms().map(|v| v.to_string()));
    kv("lastrcv:", t.last_data_recv_ms().map(|v| v.to_string()));
    kv("lastack:", t.last_ack_recv_ms().map(|v| v.to_string()));
    kv(
        "pacing_rate ",
        t.pacing_rate_bytes_per_s().filter(|v| *v > 0 && *v != u64::MAX).map(|v| rate(v.saturating_mul(8))),
    );
    kv("delivery_rate ", t.delivery_rate_bytes_per_s().filter(|v| *v > 0).map(|v| rate(v.saturating_mul(8))));
    kv("delivered:", t.delivered().filter(|v| *v > 0).map(|v| v.to_string()));
    kv("", (t.delivery_rate_app_limited() == Some(true)).then(|| "app_limited".to_string()));
    kv("busy:", t.busy_time_us().filter(|v| *v > 0).map(|v| format!("{}ms", v / 1000)));
    kv("rwnd_limited:", t.rwnd_limited_us().filter(|v| *v > 0).map(|v| format!("{}ms", v / 1000)));
    kv("sndbuf_limited:", t.sndbuf_limited_us().filter(|v| *v > 0).map(|v| format!("{}ms", v / 1000)));
    kv("unacked:", t.unacked().filter(|v| *v > 0).map(|v| v.to_string()));
    kv(
        "retrans:",
        t.retrans().zip(t.total_retrans()).filter(|(r, tot)| *r > 0 || *tot > 0).map(|(r, tot)| format!("{r}/{tot}")),
    );
    kv("lost:", t.lost().filter(|v| *v > 0).map(|v| v.to_string()));
    kv("reordering:", t.reordering().filter(|v| *v != 3).map(|v| v.to_string()));
    kv("rcv_rtt:", t.rcv_rtt_us().filter(|v| *v > 0).map(ms));
    kv("rcv_space:", t.rcv_space_bytes().filter(|v| *v > 0).map(|v| v.to_string()));
    kv("rcv_ssthresh:", t.rcv_ssthresh().map(|v| v.to_string()));
    kv("notsent:", t.notsent_bytes().filter(|v| *v > 0).map(|v| v.to_string()));
    kv("minrtt:", t.min_rtt_us().filter(|v| *v != u32::MAX).map(ms));
    kv("snd_wnd:", t.snd_wnd_bytes().map(|v| v.to_string()));
    kv("rcv_wnd:", t.rcv_wnd_bytes().map(|v| v.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_print_like_ss() {
        assert_eq!(ms_timer(59_000), "59sec");
        assert_eq!(ms_timer(7_140_000), "119min");
        assert_eq!(ms_timer(61_500), "1min1sec");
        assert_eq!(ms_timer(1_250), "1.250ms");
        assert_eq!(ms_timer(200), "200ms");
        assert_eq!(ms_timer(0), "0ms");
    }

    #[test]
    fn rates_and_milliseconds() {
        assert_eq!(rate(52_428_800_000), "52.4Gbps");
        assert_eq!(rate(800_000), "800kbps");
        assert_eq!(ms(204_000), "204");
        assert_eq!(ms(33), "0.033");
    }
}
