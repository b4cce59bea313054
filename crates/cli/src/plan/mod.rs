//! The listing's flags resolved once, as ripgrep turns its low-level args into high-level
//! ones: `ListArgs` (what clap parsed, ~40 fields) becomes a `ListPlan` — what to collect,
//! what to do with it, how to print it — and the commands take the plan, never the flags.
//! `selection` resolves the table and family flags, `filter` the filter and its friendly
//! flags; nothing else reads `ListArgs`.

pub mod filter;
pub mod selection;

use crate::args::{GroupKey, KernelFilterArg, ListArgs, SourceArg};
use crate::render::details::DetailFlags;
use crate::render::{Contexts, Format};
use crate::usage::usage;
use sockscope_core::filter::{Expr, Pred};
use sockscope_core::hosts::Host;
use sockscope_core::model::StateSet;
use sockscope_core::names::Services;
use sockscope_core::summary::GroupBy;
use sockscope_core::{Extensions, KernelFilter, Selection, SnapshotOptions, Source};

/// ss flags sockscope takes but does not do: refused with what and why, never "unexpected
/// argument".
fn refuse_unsupported(args: &ListArgs) -> anyhow::Result<()> {
    let tables = [
        (args.sctp, "-S/--sctp", "sctp"),
        (args.dccp, "-d/--dccp", "dccp"),
        (args.vsock, "--vsock", "vsock"),
        (args.xdp, "--xdp", "xdp"),
        (args.tipc || args.tipcinfo, "--tipc", "tipc"),
    ];
    if let Some((_, flag, name)) = tables.iter().find(|t| t.0) {
        return Err(usage(anyhow::anyhow!("{flag}: {}", selection::unread_table(name))));
    }
    if args.bpf_maps || args.bpf_map_id.is_some() {
        let flag = if args.bpf_maps { "--bpf-maps" } else { "--bpf-map-id" };
        return Err(usage(anyhow::anyhow!(
            "{flag}: the sockets' BPF socket-local storage (INET_DIAG_REQ_SK_BPF_STORAGES) is not read by sockscope yet"
        )));
    }
    Ok(())
}

/// What the listing command does with the sockets it collects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Print them (the table, --json or --jsonl).
    List,
    /// ss -s: totals per protocol and state, over every table whatever the flags select.
    Totals,
    /// --summary-by: counts per group.
    Groups(GroupBy),
    /// -K: destroy them (or, with --dry-run, only list them).
    Kill { dry_run: bool },
    /// -D FILE: write the TCP sockets as a raw sock_diag dump (`ListPlan::dump_to`).
    DumpTcp,
    /// -E: the sockets the filter selects as the kernel destroys them, until Ctrl-C.
    Destroyed,
}

/// How the sockets are printed.
#[derive(Clone, Debug)]
pub struct Output {
    pub format: Format,
    pub numeric: bool,
    pub resolve: bool,
    /// An owners column (-p, -T).
    pub processes: bool,
    /// SELinux contexts in the owners column (-Z, -z).
    pub contexts: Contexts,
    /// Each socket's cgroup path (--cgroup).
    pub cgroups: bool,
    /// The options each socket's process set (--sockopts).
    pub sockopts: bool,
    pub header: bool,
    pub oneline: bool,
    /// What the detail lines show (cgroup paths are filled in when printing).
    pub details: DetailFlags,
    /// Colour the states in the table.
    pub colour: bool,
    /// Say how the sockets were read, even when nothing asked for is missing (--verbose).
    pub verbose: bool,
    /// As ss: a Netid column only when several tables are shown, a State column only when
    /// several states can be.
    pub netid_column: bool,
    pub state_column: bool,
}

/// Everything the listing command needs, decided from the flags before anything is read.
pub struct ListPlan {
    /// The network namespace to read (-N NAME), entered before collecting.
    pub netns: Option<String>,
    /// Print the filter's kernel bytecode first (-b).
    pub show_bytecode: bool,
    pub collect: SnapshotOptions,
    /// Where the sockets are read: the running host, or a capture's look (`--from`).
    pub host: std::sync::Arc<dyn Host>,
    /// What JSON documents say of that capture.
    pub capture: Option<crate::render::envelope::CaptureInfo>,
    pub action: Action,
    pub output: Output,
    /// /etc/services, for the filter's port names and the table's service names.
    pub services: Services,
    /// -D: where the raw TCP dump goes (`-` for stdout).
    pub dump_to: Option<String>,
}

impl ListPlan {
    /// `colour`: whether the table may be coloured (`term::colour`); `origin`: where the
    /// answer comes from.
    pub fn from_args(args: &ListArgs, colour: bool, origin: crate::from::Origin) -> anyhow::Result<ListPlan> {
        refuse_unsupported(args)?;
        // -s names no port: its time is the counters', not /etc/services' parse.
        let services = if args.summary { Services::default() } else { Services::load() };
        let action = if args.summary {
            Action::Totals
        } else if let Some(key) = args.summary_by {
            Action::Groups(group_by(key))
        } else if args.kill {
            Action::Kill { dry_run: args.dry_run }
        } else if args.diag.is_some() {
            Action::DumpTcp
        } else if args.events {
            Action::Destroyed
        } else {
            Action::List
        };
        if origin.capture.is_some() {
            refuse_with_capture(args)?;
        }
        let collect = match action {
            Action::Totals => totals_options(args.source),
            _ => listing_options(args, &services, action, &*origin.host)?,
        };
        let format = if args.json {
            Format::Json
        } else if args.jsonl {
            Format::JsonLines
        } else {
            Format::Table
        };
        let output = Output {
            format,
            numeric: args.numeric,
            resolve: args.resolve,
            processes: args.processes || args.threads || args.context || args.contexts,
            contexts: match (args.context, args.contexts) {
                (_, true) => Contexts::ProcessAndSocket,
                (true, false) => Contexts::Process,
                _ => Contexts::None,
            },
            // -e shows each socket's cgroup, as ss does.
            cgroups: args.cgroup || args.extended,
            sockopts: args.sockopts,
            header: !args.no_header,
            oneline: args.oneline,
            details: DetailFlags {
                // As ss: -e shows the timers too.
                timers: args.options || args.extended,
                extended: args.extended,
                memory: args.memory,
                info: args.info,
                tos: args.tos,
                numeric: args.numeric,
                cgroups: None,
                sockopts: None,
                inet_sockopt: args.inet_sockopt,
                oneline: args.oneline,
            },
            verbose: args.verbose,
            colour,
            netid_column: collect.selection.table_count() > 1,
            // As ss: a State column when more than one state can be shown (-u alone shows
            // only connected UDP sockets: no column).
            state_column: collect.selection.states.0.count_ones() > 1,
        };
        if action == Action::DumpTcp && !collect.selection.has_netid(sockscope_core::Netid::Tcp) {
            return Err(usage(anyhow::anyhow!("-D dumps TCP sockets, and the tables selected have none (add -t)")));
        }
        Ok(ListPlan {
            netns: args.net.clone(),
            show_bytecode: args.bpf,
            collect,
            host: origin.host,
            capture: origin.capture,
            action,
            output,
            services,
            dump_to: args.diag.clone(),
        })
    }

    /// The resolved filter expression, if any.
    pub fn filter(&self) -> Option<&Expr> {
        self.collect.filter.as_ref()
    }
}

/// What `--from` cannot be combined with: acting on sockets, dumping them raw, or reading
/// them another way.
fn refuse_with_capture(args: &ListArgs) -> anyhow::Result<()> {
    let refused = if args.kill {
        Some("-K destroys sockets of the running host")
    } else if args.diag.is_some() {
        Some("-D dumps the running host's sockets")
    } else if args.events {
        Some("-E follows the running host's sockets as they are destroyed")
    } else if args.inet_sockopt {
        Some("--inet-sockopt is read from the running host only (not from captures yet)")
    } else if args.source != crate::args::SourceArg::Auto {
        Some("--source chooses how the running host is read")
    } else if args.net.is_some() {
        Some("-N enters a namespace of the running host (--netns NAME selects a recorded one)")
    } else if args.threads {
        Some("-T: a capture lists processes, not threads")
    } else if std::env::var_os("TCPDIAG_FILE").is_some() {
        Some("TCPDIAG_FILE reads TCP sockets from a dump instead")
    } else {
        None
    };
    match refused {
        Some(why) => Err(usage(anyhow::anyhow!("--from cannot be combined with this: {why}"))),
        None => Ok(()),
    }
}

/// The listing's selection, filter and collection options.
fn listing_options(
    args: &ListArgs,
    services: &Services,
    action: Action,
    host: &dyn Host,
) -> anyhow::Result<SnapshotOptions> {
    crate::usage::check_pids("--pid", &args.pid, host)?;
    let f = filter::build(args, services)?;
    if matches!(action, Action::Kill { .. }) && f.is_empty() {
        return Err(usage(anyhow::anyhow!(
            "-K destroys every socket the filter selects, so it needs a filter (for example: sockscope -K dport = :8080); try --dry-run first"
        )));
    }
    let mut selection = selection::from_args(args).map_err(|e| usage(anyhow::Error::msg(e)))?;
    selection.states = filter::states(&f, selection.states);
    let mut opts = SnapshotOptions::new(selection);
    opts.source = source(args.source);
    opts.kernel_filter = match args.kernel_filter {
        KernelFilterArg::Auto => KernelFilter::Auto,
        KernelFilterArg::Off => KernelFilter::Off,
        KernelFilterArg::Only => KernelFilter::Only,
    };
    let structured = args.json || args.jsonl;
    opts.owners = args.processes
        || args.threads
        || args.context
        || args.contexts
        || structured
        // Options are read through a holder's fd.
        || args.sockopts
        || action == Action::Groups(GroupBy::Process)
        // An owner's cgroup is where it is now, the surest sign of its container.
        || action == Action::Groups(GroupBy::Container);
    opts.threads = args.threads;
    // As ss: TCP sockets from a raw dump (ss -D, sockscope -D) instead of the kernel.
    opts.tcp_diag_file = std::env::var_os("TCPDIAG_FILE").filter(|f| !f.is_empty()).map(std::path::PathBuf::from);
    opts.extensions = Extensions {
        memory: args.memory,
        tcp_info: args.info,
        tos: args.tos,
        vitals: false,
        extended: args.extended,
        inet_sockopt: args.inet_sockopt,
    };
    // Asking by namespace or container (a filter word, a grouping) means every namespace,
    // unless --netns names some.
    let by_namespace = matches!(action, Action::Groups(GroupBy::Netns | GroupBy::Container))
        || f.expr.as_ref().is_some_and(|e| e.preds().iter().any(|p| matches!(p, Pred::Netns(_) | Pred::Container(_))));
    if by_namespace && args.net.is_some() {
        return Err(usage(anyhow::anyhow!(
            "-N reads one namespace as if it were this one, with no namespace or container to tell apart; use --netns NAME with --summary-by netns|container or the netns and container conditions"
        )));
    }
    opts.filter = f.expr;
    opts.namespaces = namespaces(&args.namespaces, by_namespace, host)?;
    if let Some(e) = opts.filter.as_mut() {
        use sockscope_core::host::FilterScope;
        let scope = match &args.net {
            Some(name) => FilterScope::Named(name),
            None => FilterScope::reading(&opts.namespaces),
        };
        sockscope_core::host::resolve_filter(e, host, scope).map_err(usage)?;
    }
    Ok(opts)
}

/// `--netns` and `--all-netns` (or `all_by_default`, unless --netns names some): the
/// namespaces of `host` to read, the tables' own first; none for the tables' own alone.
/// A capture's are those it recorded (`record --all-netns`).
pub fn namespaces(
    args: &crate::args::NetnsArgs,
    all_by_default: bool,
    host: &dyn Host,
) -> anyhow::Result<Vec<sockscope_core::netns::Netns>> {
    if args.all_netns || (all_by_default && args.netns.is_empty()) {
        let (found, unread) = host.namespaces_noting_unread().map_err(usage)?;
        if let Some((n, why)) = unread {
            crate::stderr_line!(
                "sockscope: note: the network namespace of {n} process{} could not be read ({why}); a namespace only {} in is not listed",
                if n == 1 { "" } else { "es" },
                if n == 1 { "it is" } else { "they are" },
            );
        }
        return Ok(found);
    }
    if args.netns.is_empty() {
        return Ok(Vec::new());
    }
    host.selected_namespaces(&args.netns).map_err(|e| if e.is_usage() { usage(e) } else { anyhow::Error::new(e) })
}

/// ss -s counts from the kernel's counters, whatever else the flags say; what it dumps
/// (listeners, Unix, packet and netlink sockets) is read from where `--source` says.
fn totals_options(from: SourceArg) -> SnapshotOptions {
    let mut opts = SnapshotOptions::new(Selection::exact(&[], &[], StateSet(0)));
    opts.source = source(from);
    opts
}

fn source(arg: SourceArg) -> Source {
    match arg {
        SourceArg::Auto => Source::Auto,
        SourceArg::Netlink => Source::Netlink,
        SourceArg::Proc => Source::Proc,
    }
}

fn group_by(key: GroupKey) -> GroupBy {
    match key {
        GroupKey::Process => GroupBy::Process,
        GroupKey::Port => GroupBy::Port,
        GroupKey::State => GroupBy::State,
        GroupKey::Remote => GroupBy::Remote,
        GroupKey::Netns => GroupBy::Netns,
        GroupKey::Container => GroupBy::Container,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn plan(argv: &[&str]) -> ListPlan {
        let cli = crate::args::Cli::try_parse_from(std::iter::once("sockscope").chain(argv.iter().copied()))
            .expect("valid command line");
        ListPlan::from_args(&cli.list, false, crate::from::Origin::live()).expect("plan")
    }

    #[test]
    fn summary_honours_source_as_the_listing_does() {
        for (flag, want) in [("auto", Source::Auto), ("netlink", Source::Netlink), ("proc", Source::Proc)] {
            assert_eq!(plan(&["-s", "--source", flag]).collect.source, want, "-s --source {flag}");
            assert_eq!(plan(&["-t", "--source", flag]).collect.source, want, "-t --source {flag}");
        }
        let totals = plan(&["-s", "-t"]);
        assert_eq!(totals.action, Action::Totals);
        assert!(!totals.collect.owners);
    }

    #[test]
    fn owners_are_collected_when_some_output_needs_them() {
        assert!(!plan(&["-tan"]).collect.owners);
        assert!(plan(&["-tanp"]).collect.owners);
        assert!(plan(&["-tan", "--json"]).collect.owners);
        assert!(plan(&["-tan", "--summary-by", "process"]).collect.owners);
        assert!(!plan(&["-tan", "--summary-by", "port"]).collect.owners);
        let threads = plan(&["-taT"]);
        assert!(threads.collect.owners && threads.collect.threads && threads.output.processes);
    }

    #[test]
    fn actions_and_formats() {
        assert_eq!(plan(&["-K", "--dry-run", "dport", "=", ":1"]).action, Action::Kill { dry_run: true });
        assert_eq!(plan(&["--summary-by", "state"]).action, Action::Groups(GroupBy::State));
        assert_eq!(plan(&["-t", "--jsonl"]).output.format, Format::JsonLines);
        assert!(!plan(&["-t", "-l"]).output.netid_column);
        assert!(plan(&["-tu"]).output.netid_column);
        assert!(plan(&["-ta"]).output.state_column);
    }
}
