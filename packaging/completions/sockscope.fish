# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sockscope_global_optspecs
    string join \n t/tcp u/udp w/raw M/mptcp x/unix 0/packet 4/ipv4 6/ipv6 f/family= A/query= l/listening a/all n/numeric r/resolve p/processes e/extended o/options m/memory i/info tos cgroup sockopts T/threads Z/context z/contexts b/bpf H/no-header O/oneline json jsonl F/filter= port= pid= comm= state= kernel-filter= K/kill dry-run D/diag= s/summary summary-by= source= N/net= netns= all-netns E/events S/sctp d/dccp vsock xdp tipc tipcinfo bpf-maps bpf-map-id= inet-sockopt verbose from= frame= max-decompressed= file-mode= color= V/version h/help
end

function __fish_sockscope_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sockscope_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sockscope_using_subcommand
    set -l cmd (__fish_sockscope_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sockscope -n "__fish_sockscope_needs_command" -s f -l family -d 'Families to show: unix, inet, inet6, link, netlink (repeatable, or comma-separated)' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -s A -l query -d 'Tables to show, as in ss: all, inet, tcp, udp, raw, unix, unix_stream, unix_dgram, unix_seqpacket, packet, packet_raw, packet_dgram, netlink; prefix with ! to remove one' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -s F -l filter -d 'Read the filter expression from FILE (ss -F)' -r -F
complete -c sockscope -n "__fish_sockscope_needs_command" -l port -d 'Sockets with this port at either end (same as: \'( sport = :N or dport = :N )\')' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l pid -d 'Sockets held by this process' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l comm -d 'Sockets held by a process with this command name (exact, as in /proc/PID/comm)' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l state -d 'Sockets in this state or state group (same as the filter \'state S\'); repeatable' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l kernel-filter -d 'Where the filter runs: in the kernel and again in user space (auto), in user space only (off), or in the kernel only (only: for checking the kernel path)' -r -f -a "auto\t''
off\t''
only\t''"
complete -c sockscope -n "__fish_sockscope_needs_command" -s D -l diag -d 'Write the TCP sockets the filter selects to FILE (- for stdout) as a raw sock_diag dump, as ss -D does; TCPDIAG_FILE=FILE reads one back (ss\'s or ours)' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l summary-by -d 'Counts per process, port, state or remote address, with a per-state breakdown' -r -f -a "process\t'each process holding sockets'
port\t'the service port (local if listened on here, else the peer\'s)'
state\t'the socket state'
remote\t'the peer\'s address'
netns\t'the network namespace (reads every one unless --netns names some)'
container\t'the container holding the socket (reads every namespace unless --netns names some)'"
complete -c sockscope -n "__fish_sockscope_needs_command" -l source -d 'Where to read sockets from: sock_diag netlink (auto falls back to /proc/net per table, with a warning) or /proc/net' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c sockscope -n "__fish_sockscope_needs_command" -s N -l net -d 'Read the sockets of the network namespace NAME (/run/netns/NAME, as ip netns names them)' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l netns -d 'Also read this network namespace: a name in /run/netns, a path to a namespace file, or pid:PID (the namespace of a process); repeat for more. Adds a Netns column' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l bpf-map-id -d 'Not supported: one BPF socket-local storage map\'s values' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l from -d 'Answer from a capture (`sockscope record`) instead of the running host, as from the host (watch replays its looks)' -r -F
complete -c sockscope -n "__fish_sockscope_needs_command" -l frame -d 'With --from: which look of a capture of several (1 is the first; default the last)' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l max-decompressed -d 'Read a capture that decompresses to more than 256 times its size (or past 16 GiB), up to SIZE bytes in all (e.g. 20g); such a file is usually a decompression bomb' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l file-mode -d 'The mode of files this creates, in octal: 0600 unless given, as they show the host\'s processes and connections (umask applies)' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l color -d 'Colour: on a terminal unless NO_COLOR is set (auto), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c sockscope -n "__fish_sockscope_needs_command" -s t -l tcp -d 'TCP sockets'
complete -c sockscope -n "__fish_sockscope_needs_command" -s u -l udp -d 'UDP sockets'
complete -c sockscope -n "__fish_sockscope_needs_command" -s w -l raw -d 'Raw IP sockets'
complete -c sockscope -n "__fish_sockscope_needs_command" -s M -l mptcp -d 'Multipath TCP sockets (the connections programs hold; their subflows are in -t)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s x -l unix -d 'Unix domain sockets (stream, datagram, seqpacket)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s 0 -l packet -d 'Packet sockets (AF_PACKET: raw Ethernet frames, as tcpdump uses)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s 4 -l ipv4 -d 'IPv4 sockets only (with -t/-u/-w), or every IPv4 table'
complete -c sockscope -n "__fish_sockscope_needs_command" -s 6 -l ipv6 -d 'IPv6 sockets only (with -t/-u/-w), or every IPv6 table'
complete -c sockscope -n "__fish_sockscope_needs_command" -s l -l listening -d 'Listening sockets only (and unconnected datagram sockets, as ss)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s a -l all -d 'Sockets in every state (default: established connections only)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s n -l numeric -d 'Numeric ports: do not turn port numbers into service names'
complete -c sockscope -n "__fish_sockscope_needs_command" -s r -l resolve -d 'Resolve addresses to host names (off by default; can be slow)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s p -l processes -d 'Show every process and fd holding each socket'
complete -c sockscope -n "__fish_sockscope_needs_command" -s e -l extended -d 'Extended details: uid, inode, cookie, v6only, shutdown state'
complete -c sockscope -n "__fish_sockscope_needs_command" -s o -l options -d 'Timers: on (retransmit), keepalive, timewait, persist — time left and retransmits'
complete -c sockscope -n "__fish_sockscope_needs_command" -s m -l memory -d 'Socket memory (skmem: rmem_alloc, rcvbuf, wmem_alloc, sndbuf, fwd_alloc, wmem_queued, optmem, backlog, drops)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s i -l info -d 'TCP internals (tcp_info): congestion control, rtt, rto, cwnd, mss, bytes, rates, …'
complete -c sockscope -n "__fish_sockscope_needs_command" -l tos -d 'IPv4 TOS, IPv6 traffic class and the socket\'s net_cls class id'
complete -c sockscope -n "__fish_sockscope_needs_command" -l cgroup -d 'The cgroup (v2) each socket was created in'
complete -c sockscope -n "__fish_sockscope_needs_command" -l sockopts -d 'The options its process set: SO_REUSEADDR, keepalive, NODELAY, linger, buffers…, read from the process (pidfd_getfd; docs/sockopts.md)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s T -l threads -d 'Owners per thread (implies -p)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s Z -l context -d 'Owners with their process\'s SELinux context (proc_ctx=-, where SELinux is off; implies -p)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s z -l contexts -d 'Owners with their process\'s and socket\'s SELinux contexts (implies -Z)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s b -l bpf -d 'Print the inet_diag bytecode the filter compiles to (what the kernel runs), before the table'
complete -c sockscope -n "__fish_sockscope_needs_command" -s H -l no-header -d 'No header line'
complete -c sockscope -n "__fish_sockscope_needs_command" -s O -l oneline -d 'Each socket on one line (details never wrap onto a second line)'
complete -c sockscope -n "__fish_sockscope_needs_command" -l json -d 'One JSON document with every field collected (schema: docs/json.md)'
complete -c sockscope -n "__fish_sockscope_needs_command" -l jsonl -d 'One JSON object per socket per line, for streaming'
complete -c sockscope -n "__fish_sockscope_needs_command" -s K -l kill -d 'Destroy the matching TCP/UDP/raw sockets (SOCK_DESTROY, as ss -K); needs a filter'
complete -c sockscope -n "__fish_sockscope_needs_command" -l dry-run -d 'With -K: list what would be destroyed, destroy nothing'
complete -c sockscope -n "__fish_sockscope_needs_command" -s s -l summary -d 'Totals per protocol and state, as ss -s (from the kernel\'s counters)'
complete -c sockscope -n "__fish_sockscope_needs_command" -l all-netns -d 'Read every network namespace on the host (those of processes, and bind-mounted ones such as /run/netns/NAME), each socket labelled with its namespace and container'
complete -c sockscope -n "__fish_sockscope_needs_command" -s E -l events -d 'Follow TCP and UDP sockets as the kernel destroys them, as ss -E, until Ctrl-C (with bytes, duration and owner: `sockscope events --life`)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s S -l sctp -d 'Not supported: SCTP sockets'
complete -c sockscope -n "__fish_sockscope_needs_command" -s d -l dccp -d 'Not supported: DCCP sockets'
complete -c sockscope -n "__fish_sockscope_needs_command" -l vsock -d 'Not supported: vsock sockets'
complete -c sockscope -n "__fish_sockscope_needs_command" -l xdp -d 'Not supported: XDP sockets'
complete -c sockscope -n "__fish_sockscope_needs_command" -l tipc -d 'Not supported: TIPC sockets'
complete -c sockscope -n "__fish_sockscope_needs_command" -l tipcinfo -d 'Not supported: TIPC socket details'
complete -c sockscope -n "__fish_sockscope_needs_command" -l bpf-maps -d 'Not supported: the BPF socket-local storage of each socket'
complete -c sockscope -n "__fish_sockscope_needs_command" -l inet-sockopt -d 'The kernel\'s view of the inet options on each socket, as ss --inet-sockopt (recverr, freebind, transparent, bind_addr_no_port, …); --sockopts reads what the process set'
complete -c sockscope -n "__fish_sockscope_needs_command" -l verbose -d 'Also say how the sockets were read (tables read from /proc/net where sock_diag could not dump them)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s V -l version -d 'Print the version, the commit and date it was built, and the kernel features it needs with whether this kernel has each (with --json: one document, for bug reports)'
complete -c sockscope -n "__fish_sockscope_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "fds" -d 'Each process\'s fd table: every kind of fd, its flags and details, peers and limits (lsof -p)'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "who" -d 'Who holds a port, address, Unix socket path or file (ss -ltnp | grep, lsof -i :PORT, fuser)'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "doctor" -d 'Find the classic socket and fd problems, with evidence, cause and fix (exit 0 ok, 1 warn, 2 crit)'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "lab" -d 'Reproduce a classic socket problem for real, or measure a common claim about sockets'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "trace" -d 'Trace what programs do with their sockets: network system calls, each fd shown as its connection (strace -yy -e trace=%net)'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "events" -d 'Every TCP connection\'s life as it happens: state changes with owner and time in state (tcpstates), or one line per finished connection with bytes, duration and closer (--life, tcplife)'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "watch" -d 'Top for sockets: a live view of processes, listeners, connections and findings, with rates, queues and fds'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "serve" -d 'Export socket health to Prometheus: sockets by state, listeners\' queues, fds, ephemeral ports and the doctor\'s findings at /metrics'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "record" -d 'Capture the host\'s sockets, owners, fd tables, limits, counters and sysctls in one file, to read later with --from'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "diff" -d 'What changed between two captures: sockets by state per process and port, fds, listeners, limits, counters'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "completions" -d 'Print shell completions for bash, zsh or fish (or write them all with --dir)'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "man" -d 'Print the manual page of sockscope or one of its commands (or write them all with --dir)'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "lab-worker" -d 'Internal: a helper process of `sockscope lab`'
complete -c sockscope -n "__fish_sockscope_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -l from -d 'Answer from a capture (`sockscope record`) instead of the running host, as from the host (watch replays its looks)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -l frame -d 'With --from: which look of a capture of several (1 is the first; default the last)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -l max-decompressed -d 'Read a capture that decompresses to more than 256 times its size (or past 16 GiB), up to SIZE bytes in all (e.g. 20g); such a file is usually a decompression bomb' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -s i -d 'Inet sockets: [46][tcp|udp][@address][:port[-port][,port]] (repeatable; lsof -i)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -s p -d 'Processes by pid, comma-separated; ^PID excludes (lsof -p)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -s c -d 'Processes whose command starts with NAME; ^NAME excludes (lsof -c)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -l top -d 'List processes by fd usage (open fds / soft RLIMIT_NOFILE), highest first' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -s U -d 'Unix sockets (lsof -U)'
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -s a -d 'AND the selections instead of ORing them (lsof -a)'
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -l peers -d 'Show the process and fd at the other end of pipes, Unix sockets, loopback connections and shared eventfds (lsof +E)'
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -l no-specials -d 'Numbered fds only: leave out cwd, rtd (root), txt (executable) and mem (mapped files)'
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -s o -l sockopts -d 'The options each socket\'s process set (SO_REUSEADDR, keepalive, NODELAY, linger, buffers…; docs/sockopts.md)'
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -l json -d 'One JSON document (schema: docs/fds.md); always includes peers, limits and socket options'
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -s H -l no-header -d 'No header line'
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -s t -d 'Only the pids of the processes selected, one per line (lsof -t: `kill $(sockscope fds -t -i :8080)`)'
complete -c sockscope -n "__fish_sockscope_using_subcommand fds" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand who" -l from -d 'Answer from a capture (`sockscope record`) instead of the running host, as from the host (watch replays its looks)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand who" -l frame -d 'With --from: which look of a capture of several (1 is the first; default the last)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand who" -l max-decompressed -d 'Read a capture that decompresses to more than 256 times its size (or past 16 GiB), up to SIZE bytes in all (e.g. 20g); such a file is usually a decompression bomb' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand who" -l netns -d 'Also read this network namespace: a name in /run/netns, a path to a namespace file, or pid:PID (the namespace of a process); repeat for more. Adds a Netns column' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand who" -l all-netns -d 'Read every network namespace on the host (those of processes, and bind-mounted ones such as /run/netns/NAME), each socket labelled with its namespace and container'
complete -c sockscope -n "__fish_sockscope_using_subcommand who" -l json -d 'One JSON document (schema: docs/fds.md)'
complete -c sockscope -n "__fish_sockscope_using_subcommand who" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l from -d 'Answer from a capture (`sockscope record`) instead of the running host, as from the host (watch replays its looks)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l frame -d 'With --from: which look of a capture of several (1 is the first; default the last)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l max-decompressed -d 'Read a capture that decompresses to more than 256 times its size (or past 16 GiB), up to SIZE bytes in all (e.g. 20g); such a file is usually a decompression bomb' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l color -d 'Colour: on a terminal unless NO_COLOR is set (auto), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l interval -d 'Seconds between the two looks (counters and persistence are judged over it)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l pid -d 'Only this process (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l comm -d 'Only processes with this command name (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l port -d 'Only sockets with this port at either end (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l set -d 'Change a threshold: KEY=VALUE (repeatable; see --list-thresholds)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l config -d 'Read thresholds from a TOML file: KEY = NUMBER lines (# comments), at the top or under [thresholds] (serve\'s --config file works too)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l netns -d 'Also read this network namespace: a name in /run/netns, a path to a namespace file, or pid:PID (the namespace of a process); repeat for more. Adds a Netns column' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l stale-dir -d 'Directories searched for stale Unix socket files (default: /run /var/run /tmp)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l list-thresholds -d 'Print every threshold with its value and exit'
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l all-netns -d 'Read every network namespace on the host (those of processes, and bind-mounted ones such as /run/netns/NAME), each socket labelled with its namespace and container'
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -l json -d 'One JSON document (schema: docs/doctor.md)'
complete -c sockscope -n "__fish_sockscope_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -l hold -d 'Hold the condition this many seconds, then clean up (default: until Ctrl-C)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -l netns -d 'Run inside a new, private network namespace (needs root or a user namespace)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -l json -d 'Print what was made, or the measurements, as JSON'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -f -a "backlog" -d 'A listener that never accepts and a burst of clients: a full accept queue, ListenOverflows rising'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -f -a "close-wait" -d 'A server that never closes connections its clients closed: sockets stuck in CLOSE-WAIT'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -f -a "time-wait" -d 'A client that closes short connections first: sockets in TIME-WAIT for 60 s'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -f -a "fd-exhaustion" -d 'A process that lowers its own fd limit and opens sockets until EMFILE ("Too many open files")'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -f -a "addr-in-use" -d 'Re-binding a port held by TIME-WAIT: EADDRINUSE without SO_REUSEADDR, success with it'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -f -a "ephemeral" -d 'Connections from a narrow, explicitly bound port range until EADDRNOTAVAIL ("Cannot assign requested address")'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -f -a "reuseport" -d 'N listeners with SO_REUSEPORT on one port, M clients: how the kernel spreads them'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -f -a "farm" -d 'A socket population for benchmarks, spread over worker processes'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -f -a "unix-vs-tcp" -d 'Benchmark: Unix sockets against TCP loopback, throughput and latency across message sizes'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -f -a "poll-vs-epoll" -d 'Benchmark: cost per wait of select/poll/epoll as idle fds grow'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -f -a "nagle" -d 'Benchmark: request/response latency with Nagle, TCP_NODELAY and TCP_QUICKACK'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -f -a "blocking-vs-epoll" -d 'Benchmark: thread per connection against one epoll loop, across connection counts'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and not __fish_seen_subcommand_from backlog close-wait time-wait fd-exhaustion addr-in-use ephemeral reuseport farm unix-vs-tcp poll-vs-epoll nagle blocking-vs-epoll help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from backlog" -l backlog -d 'The listen() backlog of the listener' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from backlog" -l clients -d 'Clients that connect at once' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from backlog" -l hold -d 'Hold the condition this many seconds, then clean up (default: until Ctrl-C)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from backlog" -l netns -d 'Run inside a new, private network namespace (needs root or a user namespace)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from backlog" -l json -d 'Print what was made, or the measurements, as JSON'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from backlog" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from close-wait" -l count -d 'Connections left in CLOSE-WAIT' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from close-wait" -l hold -d 'Hold the condition this many seconds, then clean up (default: until Ctrl-C)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from close-wait" -l netns -d 'Run inside a new, private network namespace (needs root or a user namespace)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from close-wait" -l json -d 'Print what was made, or the measurements, as JSON'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from close-wait" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from time-wait" -l count -d 'Connections closed into TIME-WAIT' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from time-wait" -l hold -d 'Hold the condition this many seconds, then clean up (default: until Ctrl-C)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from time-wait" -l netns -d 'Run inside a new, private network namespace (needs root or a user namespace)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from time-wait" -l json -d 'Print what was made, or the measurements, as JSON'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from time-wait" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from fd-exhaustion" -l limit -d 'The soft RLIMIT_NOFILE the process sets for itself' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from fd-exhaustion" -l hold -d 'Hold the condition this many seconds, then clean up (default: until Ctrl-C)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from fd-exhaustion" -l netns -d 'Run inside a new, private network namespace (needs root or a user namespace)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from fd-exhaustion" -l json -d 'Print what was made, or the measurements, as JSON'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from fd-exhaustion" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from addr-in-use" -l connections -d 'Connections closed on the port before it is bound again' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from addr-in-use" -l hold -d 'Hold the condition this many seconds, then clean up (default: until Ctrl-C)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from addr-in-use" -l no-reuseaddr -d 'Instead, keep the first server listening without SO_REUSEADDR: the state in which its own restart would fail'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from addr-in-use" -l netns -d 'Run inside a new, private network namespace (needs root or a user namespace)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from addr-in-use" -l json -d 'Print what was made, or the measurements, as JSON'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from addr-in-use" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from ephemeral" -l range -d 'Local ports to bind, LOW-HIGH' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from ephemeral" -l hold -d 'Hold the condition this many seconds, then clean up (default: until Ctrl-C)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from ephemeral" -l netns -d 'Run inside a new, private network namespace (needs root or a user namespace)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from ephemeral" -l json -d 'Print what was made, or the measurements, as JSON'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from ephemeral" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from reuseport" -l listeners -d 'Listeners sharing the port' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from reuseport" -l clients -d 'Clients that connect to it' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from reuseport" -l hold -d 'Hold the condition this many seconds, then clean up (default: until Ctrl-C)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from reuseport" -l netns -d 'Run inside a new, private network namespace (needs root or a user namespace)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from reuseport" -l json -d 'Print what was made, or the measurements, as JSON'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from reuseport" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from farm" -l sockets -d 'Sockets to make (established connections, TIME-WAIT, Unix pairs, listeners)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from farm" -l processes -d 'Worker processes to spread them over (each holds at most its fd limit)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from farm" -l hold -d 'Hold the condition this many seconds, then clean up (default: until Ctrl-C)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from farm" -l netns -d 'Run inside a new, private network namespace (needs root or a user namespace)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from farm" -l json -d 'Print what was made, or the measurements, as JSON'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from farm" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from unix-vs-tcp" -l sizes -d 'Message sizes, comma-separated; k and m suffixes are KiB and MiB' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from unix-vs-tcp" -l seconds -d 'Seconds each measurement runs' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from unix-vs-tcp" -l runs -d 'Measured runs per point, after one warm-up run; figures are median, min and max' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from unix-vs-tcp" -l cpus -d 'Pin the client side to the first CPU and the server side to the second (one CPU: both)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from unix-vs-tcp" -l plot -d 'Write an SVG chart: medians with min–max bars, and the claim as a reference line' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from unix-vs-tcp" -l file-mode -d 'The mode of files this creates, in octal: 0600 unless given, as they show the host\'s processes and connections (umask applies)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from unix-vs-tcp" -l hold -d 'Hold the condition this many seconds, then clean up (default: until Ctrl-C)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from unix-vs-tcp" -l netns -d 'Run inside a new, private network namespace (needs root or a user namespace)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from unix-vs-tcp" -l json -d 'Print what was made, or the measurements, as JSON'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from unix-vs-tcp" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from poll-vs-epoll" -l fds -d 'Numbers of idle fds to watch, comma-separated' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from poll-vs-epoll" -l seconds-per-size -d 'Seconds spent measuring each mechanism at each number of fds, per run' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from poll-vs-epoll" -l runs -d 'Measured runs per point, after one warm-up run; figures are median, min and max' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from poll-vs-epoll" -l cpus -d 'Pin the client side to the first CPU and the server side to the second (one CPU: both)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from poll-vs-epoll" -l plot -d 'Write an SVG chart: medians with min–max bars, and the claim as a reference line' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from poll-vs-epoll" -l file-mode -d 'The mode of files this creates, in octal: 0600 unless given, as they show the host\'s processes and connections (umask applies)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from poll-vs-epoll" -l hold -d 'Hold the condition this many seconds, then clean up (default: until Ctrl-C)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from poll-vs-epoll" -l netns -d 'Run inside a new, private network namespace (needs root or a user namespace)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from poll-vs-epoll" -l json -d 'Print what was made, or the measurements, as JSON'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from poll-vs-epoll" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from nagle" -l requests -d 'Request/response round trips per setting and run' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from nagle" -l runs -d 'Measured runs per point, after one warm-up run; figures are median, min and max' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from nagle" -l cpus -d 'Pin the client side to the first CPU and the server side to the second (one CPU: both)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from nagle" -l plot -d 'Write an SVG chart: medians with min–max bars, and the claim as a reference line' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from nagle" -l file-mode -d 'The mode of files this creates, in octal: 0600 unless given, as they show the host\'s processes and connections (umask applies)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from nagle" -l hold -d 'Hold the condition this many seconds, then clean up (default: until Ctrl-C)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from nagle" -l netns -d 'Run inside a new, private network namespace (needs root or a user namespace)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from nagle" -l json -d 'Print what was made, or the measurements, as JSON'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from nagle" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from blocking-vs-epoll" -l connections -d 'Concurrent connections, comma-separated' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from blocking-vs-epoll" -l seconds -d 'Seconds each server is measured, per run' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from blocking-vs-epoll" -l runs -d 'Measured runs per point, after one warm-up run; figures are median, min and max' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from blocking-vs-epoll" -l cpus -d 'Pin the client side to the first CPU and the server side to the second (one CPU: both)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from blocking-vs-epoll" -l plot -d 'Write an SVG chart: medians with min–max bars, and the claim as a reference line' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from blocking-vs-epoll" -l file-mode -d 'The mode of files this creates, in octal: 0600 unless given, as they show the host\'s processes and connections (umask applies)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from blocking-vs-epoll" -l hold -d 'Hold the condition this many seconds, then clean up (default: until Ctrl-C)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from blocking-vs-epoll" -l netns -d 'Run inside a new, private network namespace (needs root or a user namespace)'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from blocking-vs-epoll" -l json -d 'Print what was made, or the measurements, as JSON'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from blocking-vs-epoll" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "backlog" -d 'A listener that never accepts and a burst of clients: a full accept queue, ListenOverflows rising'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "close-wait" -d 'A server that never closes connections its clients closed: sockets stuck in CLOSE-WAIT'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "time-wait" -d 'A client that closes short connections first: sockets in TIME-WAIT for 60 s'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "fd-exhaustion" -d 'A process that lowers its own fd limit and opens sockets until EMFILE ("Too many open files")'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "addr-in-use" -d 'Re-binding a port held by TIME-WAIT: EADDRINUSE without SO_REUSEADDR, success with it'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "ephemeral" -d 'Connections from a narrow, explicitly bound port range until EADDRNOTAVAIL ("Cannot assign requested address")'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "reuseport" -d 'N listeners with SO_REUSEPORT on one port, M clients: how the kernel spreads them'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "farm" -d 'A socket population for benchmarks, spread over worker processes'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "unix-vs-tcp" -d 'Benchmark: Unix sockets against TCP loopback, throughput and latency across message sizes'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "poll-vs-epoll" -d 'Benchmark: cost per wait of select/poll/epoll as idle fds grow'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "nagle" -d 'Benchmark: request/response latency with Nagle, TCP_NODELAY and TCP_QUICKACK'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "blocking-vs-epoll" -d 'Benchmark: thread per connection against one epoll loop, across connection counts'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -l file-mode -d 'The mode of files this creates, in octal: 0600 unless given, as they show the host\'s processes and connections (umask applies)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -s p -d 'Attach to running processes (all their threads); repeat or separate with commas' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -s e -d 'Which calls: trace=SET with syscall names and %net, %desc, %file, %process; !SET for all others' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -l filter -d 'Only calls on connections the filter keeps (sockscope\'s filter language, e.g. \'dport = :5432\')' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -s s -d 'Bytes of each buffer to show' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -s o -d 'Write the trace to FILE instead of stderr' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -s f -d 'Follow forks, vforks and threads'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -l sockets-only -d 'Show %desc calls (read, write, close, …) only on sockets (the default with %desc)'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -l all-fds -d 'Show the calls on every fd, not only sockets, when tracing %desc'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -l raw-fds -d 'Show fds as numbers only, not as their connections'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -s t -d 'Time of day before each line; -tt with microseconds, -ttt as seconds since the epoch'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -s r -d 'Time since the previous line before each line'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -s T -d 'Time spent in each call, after it: <0.000123>'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -s c -d 'A table of calls, errors and time per syscall at the end, instead of the trace'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -s C -d 'The table at the end, and the trace'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -s q -d 'Hide attach and detach notes; -qq also the +++ exited +++ lines'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -l jsonl -d 'One JSON object per call, signal or process end, per line, as they happen'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -l json -d 'One JSON document at the end: every event (and the -c table)'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -l no-seccomp -d 'Stop the started command at every call, not only at the traced ones (no seccomp filter)'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -s y -d 'Show each fd as its connection, as strace -y/-yy: accepted for strace\'s command lines; sockscope always shows them (--raw-fds turns it off)'
complete -c sockscope -n "__fish_sockscope_using_subcommand trace" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -l pid -d 'Only connections of this process (repeat or separate with commas)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -l comm -d 'Only connections of processes with this command name (as in /proc/PID/comm)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -l port -d 'Only connections with this port at either end' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -s N -l netns -d 'Follow this network namespace instead of sockscope\'s own (as ss -N): a name in /run/netns, a path to a namespace file, or pid:PID (a process\'s)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -l duration -d 'Stop after this many seconds' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -l count -d 'Stop after this many lines' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -l life -d 'One line per finished connection: bytes each way, duration, who closed first (tcplife)'
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -l all-netns -d 'Every network namespace at once, those that come while it runs too: each line names its namespace (a NETNS column; netns, netns_name and container in JSON)'
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -s 4 -d 'IPv4 only'
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -s 6 -d 'IPv6 only'
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -s u -l udp -d 'UDP sockets too, as they are destroyed (with --life)'
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -s n -l numeric -d 'Port numbers, not service names'
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -l jsonl -d 'One JSON object per line, as they happen'
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -l json -d 'One JSON document at the end (use with --duration or --count)'
complete -c sockscope -n "__fish_sockscope_using_subcommand events" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l from -d 'Answer from a capture (`sockscope record`) instead of the running host, as from the host (watch replays its looks)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l frame -d 'With --from: which look of a capture of several (1 is the first; default the last)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l max-decompressed -d 'Read a capture that decompresses to more than 256 times its size (or past 16 GiB), up to SIZE bytes in all (e.g. 20g); such a file is usually a decompression bomb' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l color -d 'Colour: on a terminal unless NO_COLOR is set (auto), always, or never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -s i -l interval -d 'Time between refreshes: seconds (1, 0.5) or with a unit (500ms, 2s) [default: 1]' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l view -d 'The view to start in (and the one --once and --count print)' -r -f -a "processes\t'one row per process holding sockets'
listeners\t'one row per TCP listener, with its accept queue'
connections\t'every socket, live'
findings\t'the doctor\'s findings, newest first'"
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l count -d 'Print the view N times, --interval apart, and exit' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l config -d 'The doctor\'s thresholds for the findings, from a TOML file as `doctor --config` reads' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l netns -d 'Also read this network namespace: a name in /run/netns, a path to a namespace file, or pid:PID (the namespace of a process); repeat for more. Adds a Netns column' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l once -d 'Print the view once and exit (text, or --json). Rates and findings need two looks: with --interval T, it takes two, T apart, and prints the second'
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l json -d 'One JSON document per refresh, a line each, instead of text'
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l all-netns -d 'Read every network namespace on the host (those of processes, and bind-mounted ones such as /run/netns/NAME), each socket labelled with its namespace and container'
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l listen -d 'Address and port to listen on (a wildcard address exposes it to the network)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l min-interval -d 'Reuse a collection for this long: 1, 0.5, 500ms, 2s [default: 1]' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l max-listeners -d 'Listeners with their own series; the rest are summed as port="other" [default: 200]' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l top-processes -d 'Processes with their own fd series (those with the most open fds) [default: 20]' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l top-destinations -d 'Destinations with their own ephemeral-port series (those using the most) [default: 20]' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l config -d 'A TOML file: sizes, ports of interest, the doctor\'s thresholds, which families to export (man sockscope-serve); flags given win over it' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l max-connections -d 'Scrapes answered at once; others wait in a queue (64 per worker), and past it get 503' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l netns -d 'Also read this network namespace: a name in /run/netns, a path to a namespace file, or pid:PID (the namespace of a process); repeat for more. Adds a Netns column' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l events -d 'Also count accepted and closed connections per listened port and how long they lived, from the kernel\'s TCP state changes as they happen (needs root, or the capabilities `sockscope events --help` lists)'
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l all-netns -d 'Read every network namespace on the host (those of processes, and bind-mounted ones such as /run/netns/NAME), each socket labelled with its namespace and container'
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand record" -l file-mode -d 'The mode of files this creates, in octal: 0600 unless given, as they show the host\'s processes and connections (umask applies)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand record" -s o -l output -d 'Where to write the capture (- for standard output)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand record" -l interval -d 'Time between the starts of looks, with --count (`30`, `500ms`, `2s`; at most 3600 s)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand record" -l count -d 'How many looks to take (default 1)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand record" -l window -d 'Seconds after each look to take the doctor\'s second look (what persisted, which counters grew); 0 for none' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand record" -l stale-dir -d 'Directories searched for stale Unix socket files, as doctor --stale-dir (default: /run /var/run /tmp)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand record" -l redact -d 'Leave every process\'s command line out of the capture'
complete -c sockscope -n "__fish_sockscope_using_subcommand record" -l force -d 'Replace FILE if it exists'
complete -c sockscope -n "__fish_sockscope_using_subcommand record" -l all-netns -d 'Every network namespace on the host (containers too), not only this one; read them back with --from FILE --all-netns (or --netns NAME)'
complete -c sockscope -n "__fish_sockscope_using_subcommand record" -l full -d 'Also every socket fd\'s fdinfo and every socket\'s options (what `fds` and --sockopts show of each socket): slower on hosts with many sockets'
complete -c sockscope -n "__fish_sockscope_using_subcommand record" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand diff" -l max-decompressed -d 'Read a capture that decompresses to more than 256 times its size (or past 16 GiB), up to SIZE bytes in all (e.g. 20g); such a file is usually a decompression bomb' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand diff" -l top -d 'How many processes and ports to list (the largest changes first)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand diff" -l json -d 'One JSON document'
complete -c sockscope -n "__fish_sockscope_using_subcommand diff" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l dir -d 'Write the completions of every shell into DIR (sockscope.bash, _sockscope, sockscope.fish)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l dir -d 'Write every page into DIR (sockscope.1, sockscope-fds.1, …)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l roff -d 'Print the page\'s roff source even on a terminal (on one, the page opens in man\'s pager; into a pipe or file, the roff is printed)'
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand lab-worker" -s h -l help -d 'Print help'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "fds" -d 'Each process\'s fd table: every kind of fd, its flags and details, peers and limits (lsof -p)'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "who" -d 'Who holds a port, address, Unix socket path or file (ss -ltnp | grep, lsof -i :PORT, fuser)'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "doctor" -d 'Find the classic socket and fd problems, with evidence, cause and fix (exit 0 ok, 1 warn, 2 crit)'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "lab" -d 'Reproduce a classic socket problem for real, or measure a common claim about sockets'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "trace" -d 'Trace what programs do with their sockets: network system calls, each fd shown as its connection (strace -yy -e trace=%net)'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "events" -d 'Every TCP connection\'s life as it happens: state changes with owner and time in state (tcpstates), or one line per finished connection with bytes, duration and closer (--life, tcplife)'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "watch" -d 'Top for sockets: a live view of processes, listeners, connections and findings, with rates, queues and fds'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "serve" -d 'Export socket health to Prometheus: sockets by state, listeners\' queues, fds, ephemeral ports and the doctor\'s findings at /metrics'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "record" -d 'Capture the host\'s sockets, owners, fd tables, limits, counters and sysctls in one file, to read later with --from'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "diff" -d 'What changed between two captures: sockets by state per process and port, fds, listeners, limits, counters'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "completions" -d 'Print shell completions for bash, zsh or fish (or write them all with --dir)'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "man" -d 'Print the manual page of sockscope or one of its commands (or write them all with --dir)'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "lab-worker" -d 'Internal: a helper process of `sockscope lab`'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from fds who doctor lab trace events watch serve record diff completions man lab-worker help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "backlog" -d 'A listener that never accepts and a burst of clients: a full accept queue, ListenOverflows rising'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "close-wait" -d 'A server that never closes connections its clients closed: sockets stuck in CLOSE-WAIT'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "time-wait" -d 'A client that closes short connections first: sockets in TIME-WAIT for 60 s'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "fd-exhaustion" -d 'A process that lowers its own fd limit and opens sockets until EMFILE ("Too many open files")'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "addr-in-use" -d 'Re-binding a port held by TIME-WAIT: EADDRINUSE without SO_REUSEADDR, success with it'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "ephemeral" -d 'Connections from a narrow, explicitly bound port range until EADDRNOTAVAIL ("Cannot assign requested address")'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "reuseport" -d 'N listeners with SO_REUSEPORT on one port, M clients: how the kernel spreads them'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "farm" -d 'A socket population for benchmarks, spread over worker processes'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "unix-vs-tcp" -d 'Benchmark: Unix sockets against TCP loopback, throughput and latency across message sizes'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "poll-vs-epoll" -d 'Benchmark: cost per wait of select/poll/epoll as idle fds grow'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "nagle" -d 'Benchmark: request/response latency with Nagle, TCP_NODELAY and TCP_QUICKACK'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and __fish_seen_subcommand_from lab" -f -a "blocking-vs-epoll" -d 'Benchmark: thread per connection against one epoll loop, across connection counts'
