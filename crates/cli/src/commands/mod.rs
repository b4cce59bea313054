//! One module per command.

pub mod destroyed;
pub mod diff;
pub mod docs;
pub mod doctor;
pub mod events;
pub mod fds;
pub mod kill;
pub mod lab;
pub mod list;
pub mod record;
pub mod serve;
pub mod trace;
pub mod watch;
pub mod who;

/// A filter (sockscope's filter language) on connections seen as they happen (`trace
/// --filter`, `events`): only what such a connection tells (addresses, ports, states); a
/// condition `who` cannot decide is refused rather than never matching.
pub fn connection_filter(flag: &str, text: &str, who: &str) -> anyhow::Result<sockscope_core::filter::Filter> {
    connection_filter_with(flag, text, who, false)
}

/// The same, where `namespaces` says whether the command knows each connection's namespace
/// and container (`netns =`, `container =`).
pub fn connection_filter_with(
    flag: &str,
    text: &str,
    who: &str,
    namespaces: bool,
) -> anyhow::Result<sockscope_core::filter::Filter> {
    use crate::usage::usage;
    use sockscope_core::filter::{self, Pred};
    let f = filter::parse(text, &sockscope_core::names::Services::load())
        .map_err(|e| usage(anyhow::anyhow!("{flag}{}", e.to_string().trim_start_matches("filter"))))?;
    for pred in f.expr.iter().flat_map(|e| e.preds()) {
        let unknown = match pred {
            Pred::Host { .. } | Pred::Port { .. } | Pred::State(_) => continue,
            Pred::Netns(_) | Pred::Container(_) if namespaces => continue,
            Pred::Dev(_) => "dev",
            Pred::Fwmark { .. } => "fwmark",
            Pred::Cgroup { .. } => "cgroup",
            Pred::Autobound => "autobound",
            Pred::Pid(_) | Pred::Comm(_) => "pid/comm",
            Pred::Netns(_) => "netns",
            Pred::Container(_) => "container",
        };
        return Err(usage(anyhow::anyhow!(
            "{flag}: {who} cannot tell '{unknown}' of a connection; it knows addresses, ports and states (src, dst, sport, dport, state)"
        )));
    }
    Ok(f)
}
