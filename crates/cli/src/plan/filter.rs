//! The filter a command line asks for: the expression (arguments or -F FILE), plus the
//! friendly flags --port, --pid, --comm and --state, which compile into the same filter.

use crate::args::ListArgs;
use anyhow::{Context, bail};
use sockscope_core::filter::{self, Expr, Filter, HostMatch, Pred, Side};
use sockscope_core::model::StateSet;
use sockscope_core::names::{Proto, Services};
use std::io::Read;
use std::path::Path;

pub fn build(args: &ListArgs, services: &Services) -> anyhow::Result<Filter> {
    let text = match &args.filter_file {
        Some(path) => {
            if !args.filter.is_empty() {
                bail!("give the filter either as arguments or with -F, not both");
            }
            let text = read_filter_file(path)?;
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

/// A filter file is read whole but never past this size: `-F /dev/urandom` must end with
/// an error, not with the machine's memory. Real filters are a few KiB; a generated list of
/// 100,000 ports is about 1.5 MiB.
const MAX_FILTER_FILE: u64 = 8 << 20;

/// `-F FILE`, or `-F -` for standard input (as ss reads it).
fn read_filter_file(path: &Path) -> anyhow::Result<String> {
    let shown = crate::escape::escape_path(path);
    let mut bytes = Vec::new();
    let limited = |r: &mut dyn Read, bytes: &mut Vec<u8>| r.take(MAX_FILTER_FILE + 1).read_to_end(bytes);
    let read = if path.as_os_str() == "-" {
        limited(&mut std::io::stdin().lock(), &mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| limited(&mut f, &mut bytes))
    };
    read.with_context(|| format!("cannot read filter file {shown}"))?;
    if bytes.len() as u64 > MAX_FILTER_FILE {
        bail!("filter file {shown} is larger than {} MiB; a filter that long is not a filter", MAX_FILTER_FILE >> 20);
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!("filter file {shown} is not UTF-8 text (bad byte at offset {})", e.utf8_error().valid_up_to())
    })
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
