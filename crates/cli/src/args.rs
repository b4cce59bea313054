//! The command line: ss's flags with ss's meanings, defined once (help and completions are
//! generated from here).

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "sockscope",
    version,
    about = "Every socket on the host, with its owners — ss, netstat and lsof in one tool",
    long_about = "Lists sockets the way ss does, with the same flags: with no flags, the established \
connections of every family. Owners (-p) are every process and fd holding each socket, found in \
one pass over /proc/*/fd. --json and --jsonl give every field as numbers in base units.",
    after_help = "Examples:\n  sockscope -tanp          every TCP socket with its owning processes\n  sockscope -lx            listening Unix sockets\n  sockscope -ua --json     all UDP sockets as one JSON document\n  sockscope -A unix_stream,tcp -a\n\nMore: man sockscope, and man sockscope-COMMAND for each command (without the package installed: sockscope man [COMMAND] | man -l -).",
    disable_version_flag = true,
    args_conflicts_with_subcommands = true,
    // ss takes `-tnn` and `-a -t -a`: a repeated flag is the same flag.
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub list: ListArgs,

    #[command(flatten)]
    pub capture: CaptureArgs,
    #[command(flatten)]
    pub file_mode: FileModeArg,
    #[command(flatten)]
    pub color: ColorArg,

    /// Print the version, the commit and date it was built, and the kernel features it
    /// needs with whether this kernel has each (with --json: one document, for bug reports)
    #[arg(short = 'V', short_alias = 'v', long = "version")]
    pub version: bool,
}

impl Cli {
    /// The capture flags of the command that was given, if it takes them.
    pub fn capture(&self) -> Option<&CaptureArgs> {
        match &self.command {
            None => Some(&self.capture),
            Some(Command::Fds(a)) => Some(&a.capture),
            Some(Command::Who(a)) => Some(&a.capture),
            Some(Command::Doctor(a)) => Some(&a.capture),
            Some(Command::Watch(a)) => Some(&a.capture),
            Some(_) => None,
        }
    }

    /// How far a capture may decompress: the table's, fds', who's, doctor's, watch's, diff's.
    pub fn max_decompressed(&self) -> Option<u64> {
        match &self.command {
            Some(Command::Diff(a)) => a.decompress.max_decompressed,
            _ => self.capture().and_then(|c| c.decompress.max_decompressed),
        }
    }

    /// --file-mode of the command that writes files.
    pub fn file_mode(&self) -> Option<u32> {
        match &self.command {
            None => self.file_mode.file_mode,
            Some(Command::Record(a)) => a.file_mode.file_mode,
            Some(Command::Trace(a)) => a.file_mode.file_mode,
            Some(_) => None,
        }
    }

    /// --color of the command that colours.
    pub fn color(&self) -> ColorChoice {
        match &self.command {
            None => self.color.color,
            Some(Command::Doctor(a)) => a.color.color,
            Some(Command::Watch(a)) => a.color.color,
            Some(_) => ColorChoice::Never,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// Reading a capture instead of the host: the table, fds, who, doctor and watch take it.
#[derive(Debug, Args, Clone, Default)]
pub struct CaptureArgs {
    /// Answer from a capture (`sockscope record`) instead of the running host, as from the
    /// host (watch replays its looks)
    #[arg(long = "from", value_name = "CAPTURE", help_heading = "Capture")]
    pub from: Option<std::path::PathBuf>,
    /// With --from: which look of a capture of several (1 is the first; default the last)
    #[arg(long = "frame", value_name = "N", requires = "from", help_heading = "Capture")]
    pub frame: Option<usize>,
    #[command(flatten)]
    pub decompress: DecompressArg,
}

/// How far a capture may decompress (--from, diff).
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct DecompressArg {
    /// Read a capture that decompresses to more than 256 times its size (or past 16 GiB), up
    /// to SIZE bytes in all (e.g. 20g); such a file is usually a decompression bomb
    #[arg(long = "max-decompressed", value_name = "SIZE", value_parser = decompressed_size, help_heading = "Capture")]
    pub max_decompressed: Option<u64>,
}

/// The mode of the files a command writes (the table's -D, record, trace, a benchmark's chart).
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct FileModeArg {
    /// The mode of files this creates, in octal: 0600 unless given, as they show the host's
    /// processes and connections (umask applies)
    #[arg(long = "file-mode", value_name = "MODE", value_parser = file_mode)]
    pub file_mode: Option<u32>,
}

/// Colour, for the commands that colour (the table, doctor, watch).
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct ColorArg {
    /// Colour: on a terminal unless NO_COLOR is set (auto), always, or never
    #[arg(long = "color", alias = "colour", value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// Which network namespaces to read besides the caller's (the socket table, who, doctor).
#[derive(Debug, Args, Clone, Default)]
pub struct NetnsArgs {
    /// Also read this network namespace: a name in /run/netns, a path to a namespace file, or
    /// pid:PID (the namespace of a process); repeat for more. Adds a Netns column
    #[arg(id = "list_netns", long = "netns", value_name = "NAME|PATH|pid:PID", help_heading = "Collection", value_parser = clap::builder::OsStringValueParser::new().map(sockscope_core::text::lossless_arg))]
    pub netns: Vec<String>,
    /// Read every network namespace on the host (those of processes, and bind-mounted ones
    /// such as /run/netns/NAME), each socket labelled with its namespace and container
    #[arg(long = "all-netns", help_heading = "Collection", conflicts_with = "list_netns")]
    pub all_netns: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ListArgs {
    /// TCP sockets
    #[arg(short = 't', long = "tcp", help_heading = "Socket tables")]
    pub tcp: bool,
    /// UDP sockets
    #[arg(short = 'u', long = "udp", help_heading = "Socket tables")]
    pub udp: bool,
    /// Raw IP sockets
    #[arg(short = 'w', long = "raw", help_heading = "Socket tables")]
    pub raw: bool,
    /// Multipath TCP sockets (the connections programs hold; their subflows are in -t)
    #[arg(short = 'M', long = "mptcp", help_heading = "Socket tables")]
    pub mptcp: bool,
    /// Unix domain sockets (stream, datagram, seqpacket)
    #[arg(short = 'x', long = "unix", help_heading = "Socket tables")]
    pub unix: bool,
    /// Packet sockets (AF_PACKET: raw Ethernet frames, as tcpdump uses)
    #[arg(short = '0', long = "packet", help_heading = "Socket tables")]
    pub packet: bool,
    /// IPv4 sockets only (with -t/-u/-w), or every IPv4 table
    #[arg(short = '4', long = "ipv4", help_heading = "Socket tables")]
    pub ipv4: bool,
    /// IPv6 sockets only (with -t/-u/-w), or every IPv6 table
    #[arg(short = '6', long = "ipv6", help_heading = "Socket tables")]
    pub ipv6: bool,
    /// Families to show: unix, inet, inet6, link, netlink (repeatable, or comma-separated)
    #[arg(short = 'f', long = "family", value_name = "FAMILY", value_delimiter = ',', help_heading = "Socket tables")]
    pub family: Vec<String>,
    /// Tables to show, as in ss: all, inet, tcp, udp, raw, unix, unix_stream, unix_dgram,
    /// unix_seqpacket, packet, packet_raw, packet_dgram, netlink; prefix with ! to remove one
    #[arg(
        short = 'A',
        long = "query",
        alias = "socket",
        value_name = "QUERY",
        value_delimiter = ',',
        help_heading = "Socket tables"
    )]
    pub query: Vec<String>,

    /// Listening sockets only (and unconnected datagram sockets, as ss)
    #[arg(short = 'l', long = "listening", help_heading = "States")]
    pub listening: bool,
    /// Sockets in every state (default: established connections only)
    #[arg(short = 'a', long = "all", help_heading = "States")]
    pub all: bool,

    /// Numeric ports: do not turn port numbers into service names
    #[arg(short = 'n', long = "numeric", help_heading = "Output")]
    pub numeric: bool,
    /// Resolve addresses to host names (off by default; can be slow)
    #[arg(short = 'r', long = "resolve", help_heading = "Output")]
    pub resolve: bool,
    /// Show every process and fd holding each socket
    #[arg(short = 'p', long = "processes", help_heading = "Output")]
    pub processes: bool,
    /// Extended details: uid, inode, cookie, v6only, shutdown state
    #[arg(short = 'e', long = "extended", help_heading = "Details")]
    pub extended: bool,
    /// Timers: on (retransmit), keepalive, timewait, persist — time left and retransmits
    #[arg(short = 'o', long = "options", help_heading = "Details")]
    pub options: bool,
    /// Socket memory (skmem: rmem_alloc, rcvbuf, wmem_alloc, sndbuf, fwd_alloc, wmem_queued,
    /// optmem, backlog, drops)
    #[arg(short = 'm', long = "memory", help_heading = "Details")]
    pub memory: bool,
    /// TCP internals (tcp_info): congestion control, rtt, rto, cwnd, mss, bytes, rates, …
    #[arg(short = 'i', long = "info", help_heading = "Details")]
    pub info: bool,
    /// IPv4 TOS, IPv6 traffic class and the socket's net_cls class id
    #[arg(long = "tos", help_heading = "Details")]
    pub tos: bool,
    /// The cgroup (v2) each socket was created in
    #[arg(long = "cgroup", help_heading = "Details")]
    pub cgroup: bool,
    /// The options its process set: SO_REUSEADDR, keepalive, NODELAY, linger, buffers…, read
    /// from the process (pidfd_getfd; docs/sockopts.md)
    #[arg(long = "sockopts", help_heading = "Details")]
    pub sockopts: bool,
    /// Owners per thread (implies -p)
    #[arg(short = 'T', long = "threads", help_heading = "Details")]
    pub threads: bool,
    /// Owners with their process's SELinux context (proc_ctx=-, where SELinux is off; implies -p)
    #[arg(short = 'Z', long = "context", help_heading = "Details")]
    pub context: bool,
    /// Owners with their process's and socket's SELinux contexts (implies -Z)
    #[arg(short = 'z', long = "contexts", help_heading = "Details")]
    pub contexts: bool,
    /// Print the inet_diag bytecode the filter compiles to (what the kernel runs), before the table
    #[arg(short = 'b', long = "bpf", help_heading = "Details")]
    pub bpf: bool,
    /// No header line
    #[arg(short = 'H', long = "no-header", help_heading = "Output")]
    pub no_header: bool,
    /// Each socket on one line (details never wrap onto a second line)
    #[arg(short = 'O', long = "oneline", help_heading = "Output")]
    pub oneline: bool,
    /// One JSON document with every field collected (schema: docs/json.md)
    #[arg(long = "json", conflicts_with = "jsonl", help_heading = "Output")]
    pub json: bool,
    /// One JSON object per socket per line, for streaming
    #[arg(long = "jsonl", help_heading = "Output")]
    pub jsonl: bool,

    /// Read the filter expression from FILE (ss -F)
    #[arg(short = 'F', long = "filter", value_name = "FILE", help_heading = "Filter")]
    pub filter_file: Option<std::path::PathBuf>,
    /// Sockets with this port at either end (same as: '( sport = :N or dport = :N )')
    #[arg(long = "port", value_name = "PORT", help_heading = "Filter")]
    pub port: Vec<String>,
    /// Sockets held by this process
    #[arg(long = "pid", value_name = "PID", help_heading = "Filter")]
    pub pid: Vec<u32>,
    /// Sockets held by a process with this command name (exact, as in /proc/PID/comm)
    #[arg(long = "comm", value_name = "NAME", help_heading = "Filter")]
    pub comm: Vec<String>,
    /// Sockets in this state or state group (same as the filter 'state S'); repeatable
    #[arg(long = "state", value_name = "STATE", help_heading = "Filter")]
    pub state: Vec<String>,
    /// Where the filter runs: in the kernel and again in user space (auto), in user space
    /// only (off), or in the kernel only (only: for checking the kernel path)
    #[arg(long = "kernel-filter", value_enum, default_value_t = KernelFilterArg::Auto, help_heading = "Filter")]
    pub kernel_filter: KernelFilterArg,

    /// Destroy the matching TCP/UDP/raw sockets (SOCK_DESTROY, as ss -K); needs a filter
    #[arg(short = 'K', long = "kill", conflicts_with_all = ["summary", "summary_by"], help_heading = "Actions")]
    pub kill: bool,
    /// With -K: list what would be destroyed, destroy nothing
    #[arg(long = "dry-run", requires = "kill", help_heading = "Actions")]
    pub dry_run: bool,
    /// Write the TCP sockets the filter selects to FILE (- for stdout) as a raw sock_diag
    /// dump, as ss -D does; TCPDIAG_FILE=FILE reads one back (ss's or ours)
    #[arg(short = 'D', long = "diag", value_name = "FILE", conflicts_with_all = ["summary", "summary_by", "kill"], help_heading = "Actions")]
    pub diag: Option<String>,
    /// Totals per protocol and state, as ss -s (from the kernel's counters)
    #[arg(short = 's', long = "summary", help_heading = "Actions")]
    pub summary: bool,
    /// Counts per process, port, state or remote address, with a per-state breakdown
    #[arg(long = "summary-by", value_enum, value_name = "KEY", help_heading = "Actions")]
    pub summary_by: Option<GroupKey>,

    /// Where to read sockets from: sock_diag netlink (auto falls back to /proc/net per table,
    /// with a warning) or /proc/net
    #[arg(long = "source", value_enum, default_value_t = SourceArg::Auto, help_heading = "Collection")]
    pub source: SourceArg,
    /// Read the sockets of the network namespace NAME (/run/netns/NAME, as ip netns names them)
    #[arg(short = 'N', long = "net", value_name = "NAME", help_heading = "Collection", conflicts_with_all = ["list_netns", "all_netns"], value_parser = clap::builder::OsStringValueParser::new().map(sockscope_core::text::lossless_arg))]
    pub net: Option<String>,
    #[command(flatten)]
    pub namespaces: NetnsArgs,
    /// Follow TCP and UDP sockets as the kernel destroys them, as ss -E, until Ctrl-C (with
    /// bytes, duration and owner: `sockscope events --life`)
    #[arg(short = 'E', long = "events", help_heading = "Output")]
    pub events: bool,
    /// Not supported: SCTP sockets
    #[arg(short = 'S', long = "sctp", help_heading = "Not supported (ss flags)")]
    pub sctp: bool,
    /// Not supported: DCCP sockets
    #[arg(short = 'd', long = "dccp", help_heading = "Not supported (ss flags)")]
    pub dccp: bool,
    /// Not supported: vsock sockets
    #[arg(long = "vsock", help_heading = "Not supported (ss flags)")]
    pub vsock: bool,
    /// Not supported: XDP sockets
    #[arg(long = "xdp", help_heading = "Not supported (ss flags)")]
    pub xdp: bool,
    /// Not supported: TIPC sockets
    #[arg(long = "tipc", help_heading = "Not supported (ss flags)")]
    pub tipc: bool,
    /// Not supported: TIPC socket details
    #[arg(long = "tipcinfo", help_heading = "Not supported (ss flags)")]
    pub tipcinfo: bool,
    /// Not supported: the BPF socket-local storage of each socket
    #[arg(long = "bpf-maps", help_heading = "Not supported (ss flags)")]
    pub bpf_maps: bool,
    /// Not supported: one BPF socket-local storage map's values
    #[arg(long = "bpf-map-id", value_name = "ID", help_heading = "Not supported (ss flags)")]
    pub bpf_map_id: Option<String>,
    /// The kernel's view of the inet options on each socket, as ss --inet-sockopt (recverr,
    /// freebind, transparent, bind_addr_no_port, …); --sockopts reads what the process set
    #[arg(long = "inet-sockopt", help_heading = "Details")]
    pub inet_sockopt: bool,
    /// Also say how the sockets were read (tables read from /proc/net where sock_diag could
    /// not dump them)
    #[arg(long = "verbose", help_heading = "Collection")]
    pub verbose: bool,

    /// Filter expression, ss syntax (docs/filter.md): state S, exclude S, src/dst HOST,
    /// sport/dport OP PORT, dev, fwmark, cgroup, autobound, not, and, or, ( )
    #[arg(value_name = "FILTER")]
    pub filter: Vec<String>,
}

/// What `--summary-by` groups on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupKey {
    /// each process holding sockets
    Process,
    /// the service port (local if listened on here, else the peer's)
    Port,
    /// the socket state
    State,
    /// the peer's address
    Remote,
    /// the network namespace (reads every one unless --netns names some)
    Netns,
    /// the container holding the socket (reads every namespace unless --netns names some)
    Container,
}

#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum SourceArg {
    #[default]
    Auto,
    Netlink,
    Proc,
}

#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum KernelFilterArg {
    #[default]
    Auto,
    Off,
    Only,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Each process's fd table: every kind of fd, its flags and details, peers and limits (lsof -p)
    #[command(
        after_help = "Selection works as in lsof: -i, -U, -p and -c select fds, and several selections are ORed unless -a ANDs them.\nExamples:\n  sockscope fds 1234            everything pid 1234 has open\n  sockscope fds nginx --peers   nginx's fds and who is at the other end\n  sockscope fds -i :80          every fd on port 80\n  sockscope fds -a -c py -i     Python processes' inet sockets\n  sockscope fds --top           processes closest to their fd limit"
    )]
    Fds(FdsArgs),
    /// Who holds a port, address, Unix socket path or file (ss -ltnp | grep, lsof -i :PORT, fuser)
    #[command(
        after_help = "TARGET: :8080, 8080/udp, 127.0.0.1:8080, [::1]:8080, /run/app.sock, @abstract, or any file.\nExit status: 0 when something holds the target, 1 when nothing does, 2 on bad input."
    )]
    Who(WhoArgs),
    /// Find the classic socket and fd problems, with evidence, cause and fix (exit 0 ok, 1 warn, 2 crit)
    Doctor(DoctorArgs),
    /// Reproduce a classic socket problem for real, or measure a common claim about sockets
    Lab(LabArgs),
    /// Trace what programs do with their sockets: network system calls, each fd shown as its connection (strace -yy -e trace=%net)
    #[command(
        after_help = "The trace goes to stderr (or -o FILE); a started command's exit status is sockscope's.\nExamples:\n  sockscope trace -- curl -s http://127.0.0.1:8080/\n  sockscope trace -f -e trace=connect,accept4 -- ./server\n  sockscope trace -p 4242 --filter 'dport = :5432'\n  sockscope trace -c -f -- make test\nMore: man sockscope-trace (without the package installed: sockscope man trace | man -l -)."
    )]
    Trace(TraceArgs),
    /// Every TCP connection's life as it happens: state changes with owner and time in state (tcpstates), or one line per finished connection with bytes, duration and closer (--life, tcplife)
    #[command(
        after_help = "FILTER is sockscope's filter language on addresses, ports and states (e.g. 'dport = :443').\nStops at Ctrl-C, or by itself with --duration or --count; the totals (and any records the kernel lost) go to stderr.\nExamples:\n  sockscope events                      every state change, live\n  sockscope events --life               one line per finished connection\n  sockscope events --life dport = :5432 connections to PostgreSQL\n  sockscope events --life --jsonl --duration 60 > conns.jsonl\nNeeds root, or CAP_PERFMON, CAP_DAC_READ_SEARCH and CAP_IPC_LOCK (and CAP_SYS_ADMIN where tracefs is not mounted), for the kernel's tracepoints; without them --life works from the sockets' destroy records alone (approximate durations).\nMore: man sockscope-events (without the package installed: sockscope man events | man -l -)."
    )]
    Events(EventsArgs),
    /// Top for sockets: a live view of processes, listeners, connections and findings, with rates, queues and fds
    #[command(
        after_help = "Keys: Tab view, ↑↓ PgUp PgDn move, s/S sort, / filter, Enter open (a process's fds, a listener's connections), Esc back, p pause, +/- interval, k kill a connection, t sparkline series, ? help, q quit.\nNot a terminal, or --once / --count N: prints the view as text (or --json) and exits.\nExamples:\n  sockscope watch                          every process holding sockets, live\n  sockscope watch --view listeners         accept queues against their backlogs\n  sockscope watch state close-wait         who is leaking CLOSE-WAIT, as it grows\n  sockscope watch --all-netns              every container too\n  sockscope watch --once --json            one refresh as JSON, for scripts\nMore: man sockscope-watch (without the package installed: sockscope man watch | man -l -)."
    )]
    Watch(WatchArgs),
    /// Export socket health to Prometheus: sockets by state, listeners' queues, fds, ephemeral ports and the doctor's findings at /metrics
    #[command(
        after_help = "Scrape it: in prometheus.yml, a job with `static_configs: [{targets: ['HOST:9899']}]`.\nScrapes are answered from a collection reused for --min-interval, so many scrapers never multiply the cost.\nStops on SIGTERM or Ctrl-C after the scrapes in flight. More: man sockscope-serve (without the package installed: sockscope man serve | man -l -)."
    )]
    Serve(ServeArgs),
    /// Capture the host's sockets, owners, fd tables, limits, counters and sysctls in one file, to read later with --from
    #[command(
        after_help = "Examples:\n  sockscope record -o host.cap                  one look, with the doctor's second look 1 s later\n  ssh web1 sockscope record -o - > web1.cap     from another host, over ssh\n  sockscope record -o leak.cap --interval 60 --count 10\n  sockscope --from host.cap -tanp state close-wait\n  sockscope diff before.cap after.cap\nNo payloads are recorded; --redact leaves command lines out. More: man sockscope-record (without the package installed: sockscope man record | man -l -)."
    )]
    Record(RecordArgs),
    /// What changed between two captures: sockets by state per process and port, fds, listeners, limits, counters
    #[command(
        after_help = "A is read at its first look, B at its last, so `diff X.cap X.cap` compares the first and last looks of one recording.\nExit status: 0 when nothing grew that the doctor's growth rules flag, 1 when they flag something, 2 on bad input.\nExamples:\n  sockscope diff before.cap after.cap\n  sockscope diff --json a.cap b.cap"
    )]
    Diff(DiffArgs),
    /// Print shell completions for bash, zsh or fish (or write them all with --dir)
    #[command(
        after_help = "Install:\n  sockscope completions bash > /etc/bash_completion.d/sockscope\n  sockscope completions zsh > \"${fpath[1]}/_sockscope\"\n  sockscope completions fish > ~/.config/fish/completions/sockscope.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the manual page of sockscope or one of its commands (or write them all with --dir)
    #[command(
        after_help = "Install:\n  sockscope man --dir /usr/local/share/man/man1 && mandb\nRead one without installing:\n  sockscope man fds          (on a terminal: opens in man's pager)"
    )]
    Man(ManArgs),
    /// Internal: a helper process of `sockscope lab`
    #[command(name = "lab-worker", hide = true)]
    LabWorker { spec: String },
}

#[derive(Debug, Args, Clone)]
pub struct EventsArgs {
    /// One line per finished connection: bytes each way, duration, who closed first (tcplife)
    #[arg(long)]
    pub life: bool,
    /// Only connections of this process (repeat or separate with commas)
    #[arg(long, value_name = "PID[,PID…]", value_delimiter = ',')]
    pub pid: Vec<u32>,
    /// Only connections of processes with this command name (as in /proc/PID/comm)
    #[arg(long, value_name = "NAME")]
    pub comm: Option<String>,
    /// Only connections with this port at either end
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Follow this network namespace instead of sockscope's own (as ss -N): a name in
    /// /run/netns, a path to a namespace file, or pid:PID (a process's)
    #[arg(short = 'N', long = "netns", value_name = "NAME|PATH|pid:PID", value_parser = clap::builder::OsStringValueParser::new().map(sockscope_core::text::lossless_arg))]
    pub netns: Option<String>,
    /// Every network namespace at once, those that come while it runs too: each line names its
    /// namespace (a NETNS column; netns, netns_name and container in JSON)
    #[arg(long = "all-netns", conflicts_with = "netns")]
    pub all_netns: bool,
    /// IPv4 only
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// IPv6 only
    #[arg(short = '6')]
    pub ipv6: bool,
    /// UDP sockets too, as they are destroyed (with --life)
    #[arg(short = 'u', long = "udp", requires = "life")]
    pub udp: bool,
    /// Port numbers, not service names
    #[arg(short = 'n', long)]
    pub numeric: bool,
    /// One JSON object per line, as they happen
    #[arg(long, conflicts_with = "json")]
    pub jsonl: bool,
    /// One JSON document at the end (use with --duration or --count)
    #[arg(long)]
    pub json: bool,
    /// Stop after this many seconds
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub duration: Option<f64>,
    /// Stop after this many lines
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Filter on addresses, ports and states, e.g. 'dport = :443'
    // Options may come after it, as in the socket table: no trailing_var_arg.
    #[arg(value_name = "FILTER")]
    pub filter: Vec<String>,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address and port to listen on (a wildcard address exposes it to the network)
    #[arg(long, default_value = "127.0.0.1:9899", value_name = "ADDRESS:PORT")]
    pub listen: std::net::SocketAddr,
    /// Reuse a collection for this long: 1, 0.5, 500ms, 2s [default: 1]
    #[arg(long, value_name = "TIME", value_parser = interval)]
    pub min_interval: Option<std::time::Duration>,
    /// Listeners with their own series; the rest are summed as port="other" [default: 200]
    #[arg(long, value_name = "N")]
    pub max_listeners: Option<usize>,
    /// Processes with their own fd series (those with the most open fds) [default: 20]
    #[arg(long, value_name = "N")]
    pub top_processes: Option<usize>,
    /// Destinations with their own ephemeral-port series (those using the most) [default: 20]
    #[arg(long, value_name = "N")]
    pub top_destinations: Option<usize>,
    /// Also count accepted and closed connections per listened port and how long they lived,
    /// from the kernel's TCP state changes as they happen (needs root, or the capabilities
    /// `sockscope events --help` lists)
    #[arg(long)]
    pub events: bool,
    /// A TOML file: sizes, ports of interest, the doctor's thresholds, which families to
    /// export (man sockscope-serve); flags given win over it
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Scrapes answered at once; others wait in a queue (64 per worker), and past it get 503
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub max_connections: u16,
    #[command(flatten)]
    pub namespaces: NetnsArgs,
}

#[derive(Debug, Args, Clone)]
pub struct RecordArgs {
    #[command(flatten)]
    pub file_mode: FileModeArg,
    /// Where to write the capture (- for standard output)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: std::path::PathBuf,
    /// Time between the starts of looks, with --count (`30`, `500ms`, `2s`; at most 3600 s)
    #[arg(long, value_name = "TIME", requires = "count", value_parser = interval)]
    pub interval: Option<std::time::Duration>,
    /// How many looks to take (default 1)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Leave every process's command line out of the capture
    #[arg(long)]
    pub redact: bool,
    /// Seconds after each look to take the doctor's second look (what persisted, which
    /// counters grew); 0 for none
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, value_parser = seconds_up_to::<3600>)]
    pub window: f64,
    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
    /// Every network namespace on the host (containers too), not only this one; read them
    /// back with --from FILE --all-netns (or --netns NAME)
    #[arg(long = "all-netns")]
    pub all_netns: bool,
    /// Also every socket fd's fdinfo and every socket's options (what `fds` and --sockopts
    /// show of each socket): slower on hosts with many sockets
    #[arg(long)]
    pub full: bool,
    /// Directories searched for stale Unix socket files, as doctor --stale-dir (default:
    /// /run /var/run /tmp)
    #[arg(long = "stale-dir", value_name = "DIR")]
    pub stale_dirs: Vec<std::path::PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct DiffArgs {
    #[command(flatten)]
    pub decompress: DecompressArg,
    /// The earlier capture (read at its first look)
    pub before: std::path::PathBuf,
    /// The later capture (read at its last look)
    pub after: std::path::PathBuf,
    /// One JSON document
    #[arg(long)]
    pub json: bool,
    /// How many processes and ports to list (the largest changes first)
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub top: usize,
}

#[derive(Debug, Args, Clone)]
pub struct WatchArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    #[command(flatten)]
    pub color: ColorArg,
    /// Time between refreshes: seconds (1, 0.5) or with a unit (500ms, 2s) [default: 1]
    #[arg(short = 'i', long, value_name = "TIME", value_parser = interval)]
    pub interval: Option<std::time::Duration>,
    /// The view to start in (and the one --once and --count print)
    #[arg(long, value_enum, default_value_t = WatchView::Processes)]
    pub view: WatchView,
    /// Print the view once and exit (text, or --json). Rates and findings need two looks:
    /// with --interval T, it takes two, T apart, and prints the second
    #[arg(long, conflicts_with = "count")]
    pub once: bool,
    /// Print the view N times, --interval apart, and exit
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// One JSON document per refresh, a line each, instead of text
    #[arg(long)]
    pub json: bool,
    /// The doctor's thresholds for the findings, from a TOML file as `doctor --config` reads
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub namespaces: NetnsArgs,
    /// Filter in the filter language, e.g. 'dport = :5432' or 'state close-wait'
    // Options may come after it, as in the socket table: no trailing_var_arg.
    #[arg(value_name = "FILTER")]
    pub filter: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum WatchView {
    /// one row per process holding sockets
    Processes,
    /// one row per TCP listener, with its accept queue
    Listeners,
    /// every socket, live
    Connections,
    /// the doctor's findings, newest first
    Findings,
}

/// `1`, `0.5`, `500ms`, `2s`: from 100 ms to an hour.
fn interval(text: &str) -> Result<std::time::Duration, String> {
    sockscope_core::text::interval(text)
}

#[derive(Debug, Args, Clone)]
pub struct TraceArgs {
    #[command(flatten)]
    pub file_mode: FileModeArg,
    /// Follow forks, vforks and threads
    #[arg(short = 'f')]
    pub follow: bool,
    /// Attach to running processes (all their threads); repeat or separate with commas
    #[arg(short = 'p', value_name = "PID[,PID…]", value_delimiter = ',', conflicts_with = "command")]
    pub pid: Vec<i32>,
    /// Which calls: trace=SET with syscall names and %net, %desc, %file, %process; !SET for all others
    #[arg(short = 'e', value_name = "trace=SET")]
    pub expr: Option<String>,
    /// Show %desc calls (read, write, close, …) only on sockets (the default with %desc)
    #[arg(long)]
    pub sockets_only: bool,
    /// Show the calls on every fd, not only sockets, when tracing %desc
    #[arg(long, conflicts_with = "sockets_only")]
    pub all_fds: bool,
    /// Only calls on connections the filter keeps (sockscope's filter language, e.g. 'dport = :5432')
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Bytes of each buffer to show
    #[arg(short = 's', value_name = "N", default_value_t = 32)]
    pub string_limit: usize,
    /// Show fds as numbers only, not as their connections
    #[arg(long)]
    pub raw_fds: bool,
    /// Time of day before each line; -tt with microseconds, -ttt as seconds since the epoch
    #[arg(short = 't', action = clap::ArgAction::Count)]
    pub timestamps: u8,
    /// Time since the previous line before each line
    #[arg(short = 'r')]
    pub relative: bool,
    /// Time spent in each call, after it: <0.000123>
    #[arg(short = 'T')]
    pub durations: bool,
    /// A table of calls, errors and time per syscall at the end, instead of the trace
    #[arg(short = 'c', conflicts_with = "summary_and_trace")]
    pub summary: bool,
    /// The table at the end, and the trace
    #[arg(short = 'C')]
    pub summary_and_trace: bool,
    /// Hide attach and detach notes; -qq also the +++ exited +++ lines
    #[arg(short = 'q', action = clap::ArgAction::Count)]
    pub quiet: u8,
    /// Write the trace to FILE instead of stderr
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// One JSON object per call, signal or process end, per line, as they happen
    #[arg(long, conflicts_with = "json")]
    pub jsonl: bool,
    /// One JSON document at the end: every event (and the -c table)
    #[arg(long)]
    pub json: bool,
    /// Stop the started command at every call, not only at the traced ones (no seccomp filter)
    #[arg(long)]
    pub no_seccomp: bool,
    /// Show each fd as its connection, as strace -y/-yy: accepted for strace's command lines;
    /// sockscope always shows them (--raw-fds turns it off)
    #[arg(short = 'y', action = clap::ArgAction::Count)]
    pub show_fds: u8,
    /// The command to start and trace, with its arguments (after `--` if it begins with `-`);
    /// a flag before it that sockscope does not know is an error, not a command
    #[arg(trailing_var_arg = true, value_name = "CMD", required_unless_present = "pid")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum, required_unless_present = "dir")]
    pub shell: Option<Shell>,
    /// Write the completions of every shell into DIR (sockscope.bash, _sockscope, sockscope.fish)
    #[arg(long, value_name = "DIR", conflicts_with = "shell")]
    pub dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args, Clone)]
pub struct ManArgs {
    /// The command whose page to print (fds, who, doctor, lab, …); none for sockscope(1)
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
    /// Write every page into DIR (sockscope.1, sockscope-fds.1, …)
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub dir: Option<std::path::PathBuf>,
    /// Print the page's roff source even on a terminal (on one, the page opens in man's
    /// pager; into a pipe or file, the roff is printed)
    #[arg(long)]
    pub roff: bool,
}

#[derive(Debug, Args, Clone)]
#[command(
    after_help = "Scenarios create real sockets on loopback (or, with --netns, in a network namespace made for them), print what they made, hold it, and remove everything on exit, Ctrl-C or SIGTERM.\nBenchmarks repeat their runs (--runs, under a minute with the defaults), print median, min and max beside the claim they test with a verdict on it, and draw a chart with --plot."
)]
pub struct LabArgs {
    #[command(subcommand)]
    pub scenario: Scenario,
    /// Hold the condition this many seconds, then clean up (default: until Ctrl-C)
    #[arg(long, global = true, value_name = "SECONDS", allow_negative_numbers = true, value_parser = seconds_up_to::<31_536_000>)]
    pub hold: Option<f64>,
    /// Run inside a new, private network namespace (needs root or a user namespace)
    #[arg(long, global = true)]
    pub netns: bool,
    /// Print what was made, or the measurements, as JSON
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand, Clone)]
pub enum Scenario {
    /// A listener that never accepts and a burst of clients: a full accept queue, ListenOverflows rising
    Backlog {
        /// The listen() backlog of the listener
        #[arg(long, default_value_t = 4)]
        backlog: u32,
        /// Clients that connect at once
        #[arg(long, default_value_t = 32)]
        clients: u32,
    },
    /// A server that never closes connections its clients closed: sockets stuck in CLOSE-WAIT
    CloseWait {
        /// Connections left in CLOSE-WAIT
        #[arg(long, default_value_t = 10)]
        count: u32,
    },
    /// A client that closes short connections first: sockets in TIME-WAIT for 60 s
    TimeWait {
        /// Connections closed into TIME-WAIT
        #[arg(long, default_value_t = 100)]
        count: u32,
    },
    /// A process that lowers its own fd limit and opens sockets until EMFILE ("Too many open files")
    FdExhaustion {
        /// The soft RLIMIT_NOFILE the process sets for itself
        #[arg(long, default_value_t = 256)]
        limit: u64,
    },
    /// Re-binding a port held by TIME-WAIT: EADDRINUSE without SO_REUSEADDR, success with it
    AddrInUse {
        /// Connections closed on the port before it is bound again
        #[arg(long, default_value_t = 3)]
        connections: u32,
        /// Instead, keep the first server listening without SO_REUSEADDR: the state in which
        /// its own restart would fail
        #[arg(long)]
        no_reuseaddr: bool,
    },
    /// Connections from a narrow, explicitly bound port range until EADDRNOTAVAIL ("Cannot assign requested address")
    Ephemeral {
        /// Local ports to bind, LOW-HIGH
        #[arg(long, default_value = "40000-40063")]
        range: String,
    },
    /// N listeners with SO_REUSEPORT on one port, M clients: how the kernel spreads them
    Reuseport {
        /// Listeners sharing the port
        #[arg(long, default_value_t = 4)]
        listeners: u32,
        /// Clients that connect to it
        #[arg(long, default_value_t = 400)]
        clients: u32,
    },
    /// A socket population for benchmarks, spread over worker processes
    Farm {
        /// Sockets to make (established connections, TIME-WAIT, Unix pairs, listeners)
        #[arg(long, default_value_t = 10_000)]
        sockets: u64,
        /// Worker processes to spread them over (each holds at most its fd limit)
        #[arg(long, default_value_t = 4)]
        processes: u32,
    },
    /// Benchmark: Unix sockets against TCP loopback, throughput and latency across message sizes
    UnixVsTcp {
        /// Message sizes, comma-separated; k and m suffixes are KiB and MiB
        #[arg(long, value_delimiter = ',', default_value = "64,1k,16k,64k,1m", value_parser = byte_size)]
        sizes: Vec<usize>,
        /// Seconds each measurement runs
        #[arg(long, default_value_t = 0.2, allow_negative_numbers = true, value_parser = seconds_up_to::<3600>)]
        seconds: f64,
        #[command(flatten)]
        bench: BenchArgs,
    },
    /// Benchmark: cost per wait of select/poll/epoll as idle fds grow
    PollVsEpoll {
        /// Numbers of idle fds to watch, comma-separated
        #[arg(long, value_delimiter = ',', default_value = "10,100,1000,10000")]
        fds: Vec<usize>,
        /// Seconds spent measuring each mechanism at each number of fds, per run
        #[arg(long, default_value_t = 0.1, allow_negative_numbers = true, value_parser = seconds_up_to::<10>)]
        seconds_per_size: f64,
        #[command(flatten)]
        bench: BenchArgs,
    },
    /// Benchmark: request/response latency with Nagle, TCP_NODELAY and TCP_QUICKACK
    Nagle {
        /// Request/response round trips per setting and run
        #[arg(long, default_value_t = 20)]
        requests: u32,
        #[command(flatten)]
        bench: BenchArgs,
    },
    /// Benchmark: thread per connection against one epoll loop, across connection counts
    BlockingVsEpoll {
        /// Concurrent connections, comma-separated
        #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
        connections: Vec<u32>,
        /// Seconds each server is measured, per run
        #[arg(long, default_value_t = 0.5, allow_negative_numbers = true, value_parser = seconds_up_to::<3600>)]
        seconds: f64,
        #[command(flatten)]
        bench: BenchArgs,
    },
}

/// What every benchmark takes: repeats, pinning and a chart.
#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// Measured runs per point, after one warm-up run; figures are median, min and max
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub runs: u16,
    /// Pin the client side to the first CPU and the server side to the second (one CPU: both)
    #[arg(long, value_delimiter = ',', value_name = "CLIENT,SERVER", num_args = 1)]
    pub cpus: Vec<usize>,
    /// Write an SVG chart: medians with min–max bars, and the claim as a reference line
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub file_mode: FileModeArg,
}

#[derive(Debug, Args, Clone, Default)]
pub struct FdsArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Processes to show, by pid or exact command name (default: every process)
    #[arg(value_name = "PID|NAME")]
    pub targets: Vec<String>,
    /// Inet sockets: [46][tcp|udp][@address][:port[-port][,port]] (repeatable; lsof -i)
    #[arg(short = 'i', value_name = "SPEC", num_args = 0..=1, default_missing_value = "", action = clap::ArgAction::Append)]
    pub inet: Vec<String>,
    /// Unix sockets (lsof -U)
    #[arg(short = 'U')]
    pub unix: bool,
    /// Processes by pid, comma-separated; ^PID excludes (lsof -p)
    #[arg(short = 'p', value_name = "PIDS")]
    pub pids: Vec<String>,
    /// Processes whose command starts with NAME; ^NAME excludes (lsof -c)
    #[arg(short = 'c', value_name = "NAME")]
    pub commands: Vec<String>,
    /// AND the selections instead of ORing them (lsof -a)
    #[arg(short = 'a')]
    pub and: bool,
    /// Show the process and fd at the other end of pipes, Unix sockets, loopback
    /// connections and shared eventfds (lsof +E)
    #[arg(long = "peers")]
    pub peers: bool,
    /// Numbered fds only: leave out cwd, rtd (root), txt (executable) and mem (mapped files)
    #[arg(long = "no-specials")]
    pub no_specials: bool,
    /// List processes by fd usage (open fds / soft RLIMIT_NOFILE), highest first
    #[arg(long = "top", value_name = "N", num_args = 0..=1, default_missing_value = "20")]
    pub top: Option<usize>,
    /// The options each socket's process set (SO_REUSEADDR, keepalive, NODELAY, linger,
    /// buffers…; docs/sockopts.md)
    #[arg(short = 'o', long = "sockopts")]
    pub sockopts: bool,
    /// One JSON document (schema: docs/fds.md); always includes peers, limits and socket options
    #[arg(long = "json")]
    pub json: bool,
    /// No header line
    #[arg(short = 'H', long = "no-header")]
    pub no_header: bool,
    /// Only the pids of the processes selected, one per line (lsof -t: `kill $(sockscope fds -t -i :8080)`)
    #[arg(short = 't', conflicts_with_all = ["json", "top"])]
    pub terse: bool,
}

#[derive(Debug, Args, Clone)]
pub struct WhoArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// :PORT, PORT/udp, ADDRESS:PORT, a Unix socket path, @abstract, or a file
    pub target: String,
    #[command(flatten)]
    pub namespaces: NetnsArgs,
    /// One JSON document (schema: docs/fds.md)
    #[arg(long = "json")]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
#[command(
    after_help = doctor_after_help()
)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    #[command(flatten)]
    pub color: ColorArg,
    /// Seconds between the two looks (counters and persistence are judged over it)
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS", allow_negative_numbers = true, value_parser = seconds_up_to::<600>)]
    pub interval: f64,
    /// Only this process (repeatable)
    #[arg(long, value_name = "PID")]
    pub pid: Vec<u32>,
    /// Only processes with this command name (repeatable)
    #[arg(long, value_name = "NAME")]
    pub comm: Vec<String>,
    /// Only sockets with this port at either end (repeatable)
    #[arg(long, value_name = "PORT")]
    pub port: Vec<u16>,
    /// Change a threshold: KEY=VALUE (repeatable; see --list-thresholds)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Read thresholds from a TOML file: KEY = NUMBER lines (# comments), at the top or under
    /// [thresholds] (serve's --config file works too)
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Print every threshold with its value and exit
    #[arg(long)]
    pub list_thresholds: bool,
    #[command(flatten)]
    pub namespaces: NetnsArgs,
    /// Directories searched for stale Unix socket files (default: /run /var/run /tmp)
    #[arg(long = "stale-dir", value_name = "DIR")]
    pub stale_dirs: Vec<std::path::PathBuf>,
    /// One JSON document (schema: docs/doctor.md)
    #[arg(long)]
    pub json: bool,
}

/// A number of seconds from 0 to MAX: finite, so `inf`, `NaN` and `1e19` are a clear
/// command-line error rather than a panic when they become a `Duration` or a deadline.
/// A size in bytes: `64`, `16k` (KiB), `1m` (MiB).
fn byte_size(text: &str) -> Result<usize, String> {
    size(text, "64, 16k, 1m")?
        .and_then(|b| usize::try_from(b).ok())
        .filter(|b| (1..=16 << 20).contains(b))
        .ok_or_else(|| format!("{text} is out of range (1 B to 16m)"))
}

/// Bytes, with k, m, g or t for powers of 1024: `None` when it overflows; an error (naming
/// `examples`) when it is not a number.
fn size(text: &str, examples: &str) -> Result<Option<u64>, String> {
    let t = text.trim().to_ascii_lowercase();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'k')) => (&t[..i], 10),
        Some((i, 'm')) => (&t[..i], 20),
        Some((i, 'g')) => (&t[..i], 30),
        Some((i, 't')) => (&t[..i], 40),
        _ => (t.as_str(), 0),
    };
    let n: u64 = digits.parse().map_err(|_| format!("'{text}' is not a size ({examples})"))?;
    Ok(n.checked_mul(1 << shift))
}

/// `--file-mode`: an octal mode, 0 to 0777.
fn file_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text.trim(), 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("'{text}' is not a file mode (octal, 0 to 777: 600, 640, 644)"))
}

/// `--max-decompressed`: bytes, with k, m, g or t (powers of 1024).
fn decompressed_size(text: &str) -> Result<u64, String> {
    size(text, "512m, 20g")?.filter(|b| *b > 0).ok_or_else(|| format!("{text} is out of range (1 B to 16777215t)"))
}

fn seconds_up_to<const MAX: u64>(text: &str) -> Result<f64, String> {
    let secs: f64 = text.trim().parse().map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if !secs.is_finite() || !(0.0..=MAX as f64).contains(&secs) {
        return Err(format!("{text} is out of range (0 to {MAX} seconds)"));
    }
    Ok(secs)
}

/// The doctor's rules, from their definitions (`diagnose::rules::ALL`), and its exit status.
fn doctor_after_help() -> String {
    let rules = sockscope_core::diagnose::rules::ALL;
    let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let mut help = String::from("Rules (docs/doctor.md):\n");
    for r in rules {
        help.push_str(&format!("  {:width$}  {}\n", r.id, r.summary));
    }
    help.push_str("Exit status: 0 when nothing is warn or worse, 1 for warn, 2 for crit.");
    help
}

#[cfg(test)]
mod tests {
    /// Issue 12: lab's --count, --backlog, --clients, --sockets and --processes had no help.
    #[test]
    fn every_option_and_argument_has_a_line_of_help() {
        use clap::CommandFactory;
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                if arg.get_help().is_none() && !matches!(arg.get_id().as_str(), "help" | "version") {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set() && c.get_name() != "help") {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "sockscope", &mut missing);
        assert!(missing.is_empty(), "options without help: {missing:?}");
    }

    /// Issue 11: a rule's id was written in four places. The help is built from the rules;
    /// docs/doctor.md is written by hand, so it is checked to list exactly them, in order.
    #[test]
    fn doctor_help_and_docs_list_exactly_the_rules() {
        let ids: Vec<&str> = sockscope_core::diagnose::rules::ALL.iter().map(|r| r.id).collect();
        let help = super::doctor_after_help();
        for id in &ids {
            assert!(help.contains(&format!("  {id} ")), "{id} missing from the help:\n{help}");
        }
        let docs = include_str!("../../../docs/doctor.md");
        let section = docs.split("## Rules").nth(1).and_then(|s| s.split("\n## ").next()).expect("a Rules section");
        let documented: Vec<&str> = section
            .lines()
            .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
            .filter(|id| !id.is_empty())
            .collect();
        assert_eq!(documented, ids, "docs/doctor.md's rule table");
        // Each rule's row names exactly the thresholds the rule declares.
        for rule in sockscope_core::diagnose::rules::ALL {
            let row = section.lines().find(|l| l.starts_with(&format!("| `{}` |", rule.id))).expect("a row");
            let keys_cell = row.split(" | ").nth(3).expect("a threshold keys column");
            let mut named: Vec<&str> = keys_cell.split('`').skip(1).step_by(2).collect();
            let mut declared = rule.thresholds.to_vec();
            named.sort_unstable();
            declared.sort_unstable();
            assert_eq!(named, declared, "thresholds of {} in docs/doctor.md", rule.id);
        }
    }
}
