//! The filter a command line asks for: the expression (arguments or -F FILE), plus the
//! friendly flags --port, --pid, --comm and --state, which compile into the same filter.

use crate::args::ListArgs;
use anyhow::{Context, bail};
use sockscope_core::filter::{self, Expr, Filter, HostMatch, Pred, Side};
use sockscope_core::model::StateSet;
use sockscope_core::names::{Proto, Services};

pub fn build(args: &ListArgs, services: &Services) -> anyhow::Result<Filter> {
    let text = match &args.filter_file {
        Some(path) => {
            if !args.filter.is_empty() {
                bail!("give the filter either as arguments or with -F, not both");
            }
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read filter file {}", path.display()))?;
            // Comments and line breaks are allowed in a filter file.
            text.lines().map(|l| l.split('#').next().unwrap_or("")).collect::<Vec<_>>().join(" ")
        }
        None => args.filter.join(" "),
    };
    let mut f = filter::parse(&text, services)?;

    for s in &args.state {
        let set = filter::parser::parse_state(s).with_context(|| {
            format!("--state: unknown state '{s}' (established, listening, time-wait, close-wait, … or all, connected, bucket, big)")
        })?;
        f.states = Some(f.states.map_or(set, |old| old | set));
    }
    if let Some(e) = any_of(args.port.iter().map(|p| port_expr(p, services)).collect::<anyhow::Result<Vec<_>>>()?) {
        f.and(e);
    }
    if let Some(e) = any_of(args.pid.iter().map(|p| Expr::Pred(Pred::Pid(*p))).collect()) {
        f.and(e);
    }
    if let Some(e) = any_of(args.comm.iter().map(|c| Expr::Pred(Pred::Comm(c.clone()))).collect()) {
        f.and(e);
    }
    Ok(f)
}

/// `( sport = :N or dport = :N )`
fn port_expr(p: &str, services: &Services) -> anyhow::Result<Expr> {
    let port = p
        .trim_start_matches(':')
        .parse::<u16>()
        .ok()
        .or_else(|| services.name_to_port(p, Proto::Tcp))
        .or_else(|| services.name_to_port(p, Proto::Udp))
        .with_context(|| format!("--port: '{p}' is not a port number (0-65535) or a service name"))?;
    let side = |side| Expr::Pred(Pred::Host { side, host: HostMatch::Inet { net: None, port: Some(port) } });
    Ok(Expr::or(side(Side::Src), side(Side::Dst)))
}

fn any_of(exprs: Vec<Expr>) -> Option<Expr> {
    exprs.into_iter().reduce(Expr::or)
}

/// The states to collect: the filter's state clauses when given, else the flags'.
pub fn states(f: &Filter, flags: StateSet) -> StateSet {
    f.states.unwrap_or(flags)
}
