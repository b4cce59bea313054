//! The detail fields of -o, -e, -m, -i, --tos and --cgroup, in ss's notation.

use sockscope_core::model::{SkMemInfo, TcpInfo};
use sockscope_core::{Family, SockState, Socket};
use std::collections::HashMap;
use std::fmt::Write as _;

#[derive(Clone, Debug, Default)]
pub struct DetailFlags {
    pub timers: bool,
    pub extended: bool,
    pub memory: bool,
    pub info: bool,
    pub tos: bool,
    /// Rates as whole numbers of bits per second (-n), not 160G.
    pub numeric: bool,
    /// cgroup id → path, when --cgroup was given.
    pub cgroups: Option<HashMap<u64, String>>,
    /// The options read from the sockets' processes, when --sockopts was given.
    pub sockopts: Option<std::sync::Arc<sockscope_core::sockopts::Report>>,
    /// The kernel's view of the inet options (--inet-sockopt).
    pub inet_sockopt: bool,
    /// -O: what ss puts on lines of their own stays on the socket's.
    pub oneline: bool,
}

/// `inet-sockopt: ( is_icsk mc_loop mc_all)`, as ss --inet-sockopt, for an inet socket the
/// kernel reported them for.
pub fn inet_sockopt(s: &Socket, f: &DetailFlags) -> Option<String> {
    let names = s.inet_sockopts().filter(|_| f.inet_sockopt)?;
    let mut text = String::from("inet-sockopt: (");
    for name in names {
        text.push(' ');
        text.push_str(name);
    }
    text.push(')');
    Some(text)
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
        let groups = s.details.as_ref().and_then(|d| d.extra.as_ref()).and_then(|e| e.netlink_groups).unwrap_or(0);
        let _ = write!(out, " sk=0 cb=0 groups={groups:#010x}");
    } else if f.extended {
        extended(s, f, out);
    } else {
        cgroup(s, f, out);
    }
    if let Some(report) = &f.sockopts {
        match report.get(s.inode) {
            Some(o) => {
                let _ = write!(out, " {}", o.text());
            }
            // Held, but not readable: the note says why.
            None if report.held(s.inode) => out.push_str(" opts:(unknown)"),
            None => {}
        }
    }
    if f.tos
        && let Some(d) = s.details.as_ref().and_then(|d| d.extra.as_deref())
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
    let Some(e) = s.details.as_ref().and_then(|d| d.extra.as_deref()) else { return };
    if let Some(f) = e.bound_file {
        // ss prints the kernel's device number through the C library's major()/minor().
        let (major, minor) = ((f.device >> 8) & 0xfff, (f.device & 0xff) | ((f.device >> 12) & !0xff));
        let _ = write!(out, " ino:{} dev:{major}/{minor}", f.inode);
    }
    if let Some(pending) = &e.pending {
        out.push_str(" peers:");
        for p in pending.iter() {
            let _ = write!(out, " {p}");
        }
    }
}

/// `ver:0 cpy_thresh:0 flags( running )` and, on a line of its own unless -O,
/// `fanout(id:1,type:hash)`, as ss -e.
fn packet_info(p: &sockscope_core::model::PacketInfo, oneline: bool, out: &mut String) {
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
        let _ = write!(out, "{}fanout(id:{},type:", if oneline { " " } else { "\n\t" }, fanout & 0xffff);
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
        && let Some(p) = d.extra.as_ref().and_then(|e| e.packet.as_ref())
    {
        packet_info(p, f.oneline, out);
    }
    if f.memory
        && let Some(m) = &d.memory
    {
        skmem(m, out);
    }
    if f.info {
        match &d.tcp_info {
            Some(t) => tcp_info(s, t, d, f, out),
            None => congestion(d, out),
        }
        let extra = d.extra.as_deref();
        if let Some(m) = extra.and_then(|e| e.mptcp.as_ref()) {
            mptcp(m, out);
        }
        if let Some(u) = extra.and_then(|e| e.ulp.as_ref()) {
            ulp(u, out);
        }
    }
}

/// An MPTCP socket's counters as ss -i prints them (iproute2's mptcp_stats_print): each
/// when not zero, the flags by name, the token in hex. Sequence numbers in decimal, as ss
/// prints them since iproute2 6.5 (6.1 printed them in hex).
fn mptcp(m: &sockscope_core::model::MptcpInfo, out: &mut String) {
    use sockscope_core::model::{MPTCP_FALLBACK, MPTCP_REMOTE_KEY};
    for (name, v) in m.fields().filter(|(_, v)| *v != 0) {
        match name {
            "flags" => {
                for (bit, word) in [(MPTCP_FALLBACK, "fallback"), (MPTCP_REMOTE_KEY, "remote_key")] {
                    if v & bit != 0 {
                        let _ = write!(out, " {word}");
                    }
                }
            }
            "token" => {
                let _ = write!(out, " token:{v:x}");
            }
            // ss does not print it.
            "endp_fullmesh_max" => {}
            _ => {
                let _ = write!(out, " {name}:{v}");
            }
        }
    }
}

/// A TCP socket's upper layer, last on its -i line as ss prints it: `tcp-ulp-mptcp` and an
/// MPTCP subflow's state (iproute2's mptcp_subflow_info).
fn ulp(u: &sockscope_core::model::Ulp, out: &mut String) {
    let _ = write!(out, " tcp-ulp-{}", crate::escape::escape(&u.name));
    let Some(sf) = &u.mptcp else { return };
    if let Some(flags) = sf.flags.filter(|f| *f != 0) {
        out.push_str(" flags:");
        for (bit, c) in "MmJjBbecv".chars().enumerate() {
            if flags & (1 << bit) != 0 {
                out.push(c);
            }
        }
    }
    if let (Some(tr), Some(ir), Some(tl), Some(il)) = (sf.token_remote, sf.id_remote, sf.token_local, sf.id_local) {
        let _ = write!(out, " token:{tr:04x}(id:{ir})/{tl:04x}(id:{il})");
    }
    if let Some(v) = sf.map_seq {
        let _ = write!(out, " seq:{v}");
    }
    for (name, v) in [("sfseq", sf.map_sfseq), ("ssnoff", sf.ssn_offset), ("maplen", sf.map_datalen)] {
        if let Some(v) = v {
            let _ = write!(out, " {name}:{v}");
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
/// A rate in bits per second as ss writes it: three significant digits with k/M/G/T, or the
/// whole number with -n.
fn rate(bps: f64, numeric: bool) -> String {
    if numeric {
        return format!("{bps:.0}");
    }
    for (scale, unit) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] {
        if bps >= scale {
            return format!("{}{unit}", c_g(bps / scale, 3));
        }
    }
    c_g(bps, 6)
}

/// C's `%.Ng`: `precision` significant digits, trailing zeros dropped, exponent form when the
/// exponent is below -4 or at least `precision` (ss prints its numbers so).
fn c_g(v: f64, precision: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".to_string() } else { v.to_string() };
    }
    let p = precision.max(1);
    let sci = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s.to_string() }
    };
    if exp < -4 || exp >= p as i32 {
        format!("{}e{}{:02}", trim(mantissa), if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        let decimals = usize::try_from(p as i32 - 1 - exp).unwrap_or(0);
        trim(&format!("{v:.decimals$}"))
    }
}

/// The congestion control's name.
fn congestion(d: &sockscope_core::model::Details, out: &mut String) {
    if let Some(c) = d.extra.as_ref().and_then(|e| e.congestion.as_ref()) {
        let _ = write!(out, " {}", crate::escape::escape(c));
    }
}

/// Microseconds as ss's milliseconds (`%g` of µs / 1000).
fn ms(us: u32) -> String {
    c_g(f64::from(us) / 1000.0, 6)
}

/// tcp_info in ss's words and order (iproute2's tcp_stats_print): a field only when it is
/// set, so a listener shows little more than its congestion control and cwnd. The TCP
/// options (ts, sack, ecn) only with -o or -e, as ss.
fn tcp_info(s: &Socket, t: &TcpInfo, d: &sockscope_core::model::Details, f: &DetailFlags, out: &mut String) {
    let bbr = d.extra.as_ref().and_then(|e| e.bbr.as_ref());
    let nz32 = |v: Option<u32>| v.filter(|v| *v != 0);
    let nz64 = |v: Option<u64>| v.filter(|v| *v != 0);
    let options = t.options().unwrap_or(0);
    if f.timers {
        for (bit, name) in [(1, "ts"), (2, "sack"), (8, "ecn"), (16, "ecnseen"), (32, "fastopen")] {
            if options & bit != 0 {
                let _ = write!(out, " {name}");
            }
        }
    }
    congestion(d, out);
    if options & 4 != 0
        && let (Some(snd), Some(rcv)) = (t.snd_wscale(), t.rcv_wscale())
    {
        let _ = write!(out, " wscale:{snd},{rcv}");
    }
    if let Some(rto) = nz32(t.rto_us()).filter(|r| *r != 3_000_000) {
        let _ = write!(out, " rto:{}", ms(rto));
    }
    if let Some(b) = t.backoff().filter(|b| *b != 0) {
        let _ = write!(out, " backoff:{b}");
    }
    if let Some(rtt) = nz32(t.rtt_us()) {
        let _ = write!(out, " rtt:{}/{}", ms(rtt), ms(t.rttvar_us().unwrap_or(0)));
    }
    if let Some(ato) = nz32(t.ato_us()) {
        let _ = write!(out, " ato:{}", ms(ato));
    }
    for (name, v) in [
        ("mss", t.snd_mss_bytes()),
        ("pmtu", t.pmtu_bytes()),
        ("rcvmss", t.rcv_mss_bytes()),
        ("advmss", t.advmss_bytes()),
        ("cwnd", t.snd_cwnd()),
        ("ssthresh", t.snd_ssthresh().filter(|v| *v < 0xffff)),
    ] {
        if let Some(v) = nz32(v) {
            let _ = write!(out, " {name}:{v}");
        }
    }
    for (name, v) in [
        ("bytes_sent", t.bytes_sent()),
        ("bytes_retrans", t.bytes_retrans()),
        ("bytes_acked", t.bytes_acked()),
        ("bytes_received", t.bytes_received()),
        ("segs_out", t.segs_out().map(u64::from)),
        ("segs_in", t.segs_in().map(u64::from)),
        ("data_segs_out", t.data_segs_out().map(u64::from)),
        ("data_segs_in", t.data_segs_in().map(u64::from)),
    ] {
        if let Some(v) = nz64(v) {
            let _ = write!(out, " {name}:{v}");
        }
    }
    let extra = d.extra.as_deref();
    match extra.and_then(|e| e.dctcp) {
        Some(dc) if dc.enabled => {
            let _ = write!(
                out,
                " dctcp:(ce_state:{},alpha:{},ab_ecn:{},ab_tot:{})",
                dc.ce_state, dc.alpha, dc.ab_ecn, dc.ab_tot
            );
        }
        Some(_) => out.push_str(" dctcp:fallback_mode"),
        None => {}
    }
    if let Some(b) = bbr {
        let _ = write!(
            out,
            " bbr:(bw:{}bps,mrtt:{}",
            rate(b.bw_bytes_per_s as f64 * 8.0, f.numeric),
            c_g(f64::from(b.min_rtt_us) / 1000.0, 6)
        );
        if b.pacing_gain != 0 {
            let _ = write!(out, ",pacing_gain:{}", c_g(f64::from(b.pacing_gain) / 256.0, 6));
        }
        if b.cwnd_gain != 0 {
            let _ = write!(out, ",cwnd_gain:{}", c_g(f64::from(b.cwnd_gain) / 256.0, 6));
        }
        out.push(')');
    }
    // ss takes Vegas's RTT, when Vegas runs and has one, for the send rate.
    let vegas_rtt = extra.and_then(|e| e.vegas_rtt_us).filter(|r| *r != 0 && *r != 0x7fff_ffff);
    if let (Some(cwnd), Some(mss), Some(rtt)) =
        (nz32(t.snd_cwnd()), nz32(t.snd_mss_bytes()), vegas_rtt.or(nz32(t.rtt_us())))
    {
        let send = f64::from(cwnd) * f64::from(mss) * 8_000_000.0 / f64::from(rtt);
        let _ = write!(out, " send {}bps", rate(send, f.numeric));
    }
    for (name, v) in
        [("lastsnd", t.last_data_sent_ms()), ("lastrcv", t.last_data_recv_ms()), ("lastack", t.last_ack_recv_ms())]
    {
        if let Some(v) = nz32(v) {
            let _ = write!(out, " {name}:{v}");
        }
    }
    let set = |v: Option<u64>| v.filter(|v| *v != 0 && *v != u64::MAX);
    if let Some(p) = set(t.pacing_rate_bytes_per_s()) {
        let _ = write!(out, " pacing_rate {}bps", rate(p as f64 * 8.0, f.numeric));
        if let Some(m) = set(t.max_pacing_rate_bytes_per_s()) {
            let _ = write!(out, "/{}bps", rate(m as f64 * 8.0, f.numeric));
        }
    }
    if let Some(d) = nz64(t.delivery_rate_bytes_per_s()) {
        let _ = write!(out, " delivery_rate {}bps", rate(d as f64 * 8.0, f.numeric));
    }
    for (name, v) in [("delivered", t.delivered()), ("delivered_ce", t.delivered_ce())] {
        if let Some(v) = nz32(v) {
            let _ = write!(out, " {name}:{v}");
        }
    }
    if t.delivery_rate_app_limited() == Some(true) {
        out.push_str(" app_limited");
    }
    if let Some(busy) = nz64(t.busy_time_us()) {
        let _ = write!(out, " busy:{}ms", busy / 1000);
        for (name, v) in [("rwnd_limited", t.rwnd_limited_us()), ("sndbuf_limited", t.sndbuf_limited_us())] {
            if let Some(v) = nz64(v) {
                let _ = write!(out, " {name}:{}ms({:.1}%)", v / 1000, 100.0 * v as f64 / busy as f64);
            }
        }
    }
    if let Some(v) = nz32(t.unacked()) {
        let _ = write!(out, " unacked:{v}");
    }
    let (retrans, total) = (t.retrans().unwrap_or(0), t.total_retrans().unwrap_or(0));
    if retrans != 0 || total != 0 {
        let _ = write!(out, " retrans:{retrans}/{total}");
    }
    if let Some(v) = nz32(t.lost()) {
        let _ = write!(out, " lost:{v}");
    }
    if let Some(v) = nz32(t.sacked()).filter(|_| s.state != SockState::Listen) {
        let _ = write!(out, " sacked:{v}");
    }
    for (name, v) in [("dsack_dups", t.dsack_dups()), ("fackets", t.fackets())] {
        if let Some(v) = nz32(v) {
            let _ = write!(out, " {name}:{v}");
        }
    }
    if let Some(r) = t.reordering().filter(|r| *r != 3) {
        let _ = write!(out, " reordering:{r}");
    }
    if let Some(v) = nz32(t.reord_seen()) {
        let _ = write!(out, " reord_seen:{v}");
    }
    if let Some(v) = nz32(t.rcv_rtt_us()) {
        let _ = write!(out, " rcv_rtt:{}", ms(v));
    }
    for (name, v) in
        [("rcv_space", t.rcv_space_bytes()), ("rcv_ssthresh", t.rcv_ssthresh()), ("notsent", t.notsent_bytes())]
    {
        if let Some(v) = nz32(v) {
            let _ = write!(out, " {name}:{v}");
        }
    }
    if let Some(v) = nz32(t.min_rtt_us()).filter(|v| *v != u32::MAX) {
        let _ = write!(out, " minrtt:{}", ms(v));
    }
    for (name, v) in [("rcv_ooopack", t.rcv_ooopack()), ("snd_wnd", t.snd_wnd_bytes())] {
        if let Some(v) = nz32(v) {
            let _ = write!(out, " {name}:{v}");
        }
    }
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

    /// ss's words for DCTCP (this kernel has none to compare with): its state when it runs,
    /// `fallback_mode` when the connection fell back to Reno; and Vegas's RTT for the rate.
    #[test]
    fn dctcp_and_vegas_as_ss() {
        use sockscope_core::model::{DctcpInfo, Details, Extra, TcpInfo};
        use sockscope_core::{Endpoint, Family, Netid};
        let info = TcpInfo::parse(&[0u8; 232]).with("snd_cwnd", 10).with("snd_mss_bytes", 1000).with("rtt_us", 1000);
        let mut s = Socket::new(Netid::Tcp, Family::Inet, SockState::Established, Endpoint::None, Endpoint::None);
        let dctcp = DctcpInfo { enabled: true, ce_state: 0, alpha: 1024, ab_ecn: 5, ab_tot: 100 };
        let mut details = Details { tcp_info: Some(info), ..Details::default() };
        details.extra = Some(Box::new(Extra { dctcp: Some(dctcp), vegas_rtt_us: Some(2000), ..Extra::default() }));
        s.details = Some(Box::new(details));
        let flags = DetailFlags { info: true, ..DetailFlags::default() };
        let mut out = String::new();
        second_line(&s, &flags, &mut out);
        assert!(out.contains(" dctcp:(ce_state:0,alpha:1024,ab_ecn:5,ab_tot:100)"), "{out}");
        // 10 × 1000 × 8 bits per 2 ms (Vegas's RTT, not tcp_info's 1 ms).
        assert!(out.contains(" send 40M"), "{out}");
        if let Some(e) = s.details.as_mut().and_then(|d| d.extra.as_mut()) {
            e.dctcp = Some(DctcpInfo { enabled: false, ..dctcp });
        }
        let mut out = String::new();
        second_line(&s, &flags, &mut out);
        assert!(out.contains(" dctcp:fallback_mode"), "{out}");
    }

    #[test]
    fn rates_and_milliseconds_as_ss() {
        assert_eq!(rate(52_428_800_000.0, false), "52.4G");
        assert_eq!(rate(159_744_000_000.0, false), "160G");
        assert_eq!(rate(213_871_799_840.0, false), "214G");
        assert_eq!(rate(40_097_667_480.0, false), "40.1G");
        assert_eq!(rate(800_000.0, false), "800k");
        assert_eq!(rate(9_920_000.0, false), "9.92M");
        assert_eq!(rate(999.0, false), "999");
        assert_eq!(rate(0.0, false), "0");
        assert_eq!(rate(159_744_000_000.0, true), "159744000000");
        assert_eq!(ms(204_000), "204");
        assert_eq!(ms(33), "0.033");
        assert_eq!(ms(1_234_567), "1234.57");
        assert_eq!(c_g(2.88672, 6), "2.88672");
        assert_eq!(c_g(999.6, 3), "1e+03");
        assert_eq!(c_g(0.00001234, 6), "1.234e-05");
    }
}
