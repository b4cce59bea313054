/* One scenario per decoding behaviour that strace 6.1 shows and sockscope once got wrong
 * (issue 30): addresses shorter than what the kernel could write, escapes that could be
 * misread, a refused non-blocking connect, 32-bit arguments with garbage above them,
 * netlink groups, a full sun_path, an address running into an unmapped page, NULL
 * pointers, failed calls' lengths. Deterministic, as sockets.c: run one scenario per
 * argument, in a private network namespace (fixed ports below 100). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ax25.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/x25.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

static struct sockaddr_in v4(int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* The caller's length is shorter than the address: only min(in, out) bytes are the
 * kernel's; the rest of the buffer is whatever the program left there (0xAB here). */
static void short_lengths(void) {
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = v4(53);
    bind(u, (struct sockaddr *)&a, sizeof a);
    struct sockaddr_storage out;
    socklen_t lens[] = {4, 2, 1, 0};
    for (unsigned i = 0; i < sizeof lens / sizeof *lens; i++) {
        memset(&out, 0xab, sizeof out);
        socklen_t l = lens[i];
        getsockname(u, (struct sockaddr *)&out, &l);
    }
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in la = v4(54);
    bind(l, (struct sockaddr *)&la, sizeof la);
    listen(l, 4);
    /* Fixed ports on both ends, so that the bytes shown are the same in every run; closed
     * with a reset, so that no TIME_WAIT keeps the next run from the same ports. */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in ca = v4(60);
    setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bind(c, (struct sockaddr *)&ca, sizeof ca);
    connect(c, (struct sockaddr *)&la, sizeof la);
    memset(&out, 0xab, sizeof out);
    socklen_t len = 6;
    int s = accept(l, (struct sockaddr *)&out, &len);
    memset(&out, 0xab, sizeof out);
    len = 8;
    getpeername(s, (struct sockaddr *)&out, &len);
    int sender = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = v4(61);
    bind(sender, (struct sockaddr *)&sa, sizeof sa);
    char buf[16];
    for (int round = 0; round < 3; round++) {
        sendto(sender, "x", 1, 0, (struct sockaddr *)&a, sizeof a);
        memset(&out, 0xab, sizeof out);
        len = 4;
        if (round == 0) {
            recvfrom(u, buf, sizeof buf, 0, (struct sockaddr *)&out, &len);
        } else {
            struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
            struct msghdr m = {.msg_name = &out, .msg_namelen = 4, .msg_iov = &iov, .msg_iovlen = 1};
            if (round == 1) {
                recvmsg(u, &m, 0);
            } else {
                struct mmsghdr mm = {.msg_hdr = m};
                recvmmsg(u, &mm, 1, 0, NULL);
            }
        }
    }
    close(sender);
    struct linger reset = {.l_onoff = 1, .l_linger = 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    close(s);
    close(c);
    close(l);
    close(u);
}

/* An octal escape followed by a digit takes three digits, or it reads as another byte. */
static void escapes(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    send(sv[0], "\001" "0" "\0" "1" "\377" "7" "\f\v" "8", 9, 0);
    char buf[16];
    recv(sv[1], buf, sizeof buf, 0);
    int u = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, "\0" "\001" "0x", 4);
    bind(u, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 4);
    close(u);
    close(sv[0]);
    close(sv[1]);
}

/* Nothing listens on port 9: the connect is refused after EINPROGRESS, and the socket is
 * never connected, whatever the connect call named. */
static void refused_nonblocking(void) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = v4(9);
    connect(c, (struct sockaddr *)&a, sizeof a);
    struct pollfd p = {.fd = c, .events = POLLOUT};
    poll(&p, 1, 5000);
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len);
    struct sockaddr_in peer;
    len = sizeof peer;
    getpeername(c, (struct sockaddr *)&peer, &len);
    send(c, "x", 1, MSG_NOSIGNAL);
    close(c);
}

/* The kernel reads int arguments as 32 bits: what a program leaves above them is not
 * part of the call. */
static void wide_arguments(void) {
    const uint64_t junk = 0xdeadbeef00000000ULL;
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    int one = 1;
    syscall(SYS_setsockopt, u, junk | SOL_SOCKET, junk | SO_TIMESTAMP, &one, junk | sizeof one);
    syscall(SYS_setsockopt, u, SOL_SOCKET, SO_REUSEADDR, &one, -1);
    struct sockaddr_in a = v4(55);
    syscall(SYS_bind, u, &a, junk | sizeof a);
    syscall(SYS_sendto, u, "y", 1, junk | MSG_DONTWAIT, &a, junk | sizeof a);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    syscall(SYS_listen, t, junk | 7);
    syscall(SYS_shutdown, t, junk | SHUT_RDWR);
    close(t);
    close(u);
}

static void netlink_groups(void) {
    int n = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    struct sockaddr_nl a = {.nl_family = AF_NETLINK, .nl_pid = 0, .nl_groups = 0x10};
    bind(n, (struct sockaddr *)&a, sizeof a);
    close(n);
}

/* A sun_path with no NUL in its 108 bytes, given a length past the structure. */
static void long_path(void) {
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    char raw[sizeof(struct sockaddr_un) + 8];
    memset(raw, 'p', sizeof raw);
    sa_family_t family = AF_UNIX;
    memcpy(raw, &family, sizeof family);
    connect(u, (struct sockaddr *)raw, sizeof raw);
    close(u);
}

/* A 16-byte address whose last 8 bytes are on a page that is not mapped: the kernel
 * fails the call (EFAULT), and no tracer can read the whole address. */
static void unmapped(void) {
    long page = sysconf(_SC_PAGESIZE);
    char *pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pages + page, page);
    struct sockaddr_in a = v4(56);
    char *at = pages + page - 8;
    memcpy(at, &a, 8);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    connect(u, (struct sockaddr *)at, sizeof a);
    close(u);
    munmap(pages, page);
}

/* NULL pointers, and the lengths of failed calls. */
static void nulls_and_failures(void) {
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = v4(57);
    bind(u, (struct sockaddr *)&a, sizeof a);
    sendto(u, "z", 1, 0, NULL, 0);
    getsockname(u, NULL, NULL);
    int v = 0;
    socklen_t len = 2;
    getsockopt(u, SOL_SOCKET, SO_TYPE, &v, &len);
    len = sizeof v;
    getsockopt(u, SOL_SOCKET, 12345, &v, &len);
    len = 16;
    getpeername(u, (struct sockaddr *)&a, &len);
    close(u);
}

/* Two threads each open and close sockets of their own kind in a loop: every fd number
 * is soon reused by the other thread. Each close must carry the closing thread's socket. */
static void *open_close(void *kind) {
    for (int i = 0; i < 3000; i++) {
        int s = kind ? socket(AF_UNIX, SOCK_STREAM, 0) : socket(AF_INET, SOCK_DGRAM, 0);
        close(s);
    }
    return NULL;
}

static void close_race(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, open_close, NULL);
    pthread_create(&b, NULL, open_close, (void *)1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
}

/* Messages: a receive that fails (nothing filled in), control messages strace decodes
 * (a timestamp, the TTL), a receive into a bad buffer, a vector send that fails, a vector
 * receive with a timeout. */
static void messages(void) {
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = v4(58);
    bind(u, (struct sockaddr *)&a, sizeof a);
    char buf[16];
    struct sockaddr_in from;
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    recvmsg(u, &m, MSG_DONTWAIT);
    int one = 1;
    setsockopt(u, SOL_IP, IP_RECVTTL, &one, sizeof one);
    setsockopt(u, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof one);
    int v = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in va = v4(59);
    bind(v, (struct sockaddr *)&va, sizeof va);
    sendto(v, "abc", 3, 0, (struct sockaddr *)&a, sizeof a);
    char control[256];
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    recvmsg(u, &m, 0);
    sendto(v, "abc", 3, 0, (struct sockaddr *)&a, sizeof a);
    struct iovec bad = {.iov_base = (void *)8, .iov_len = 16};
    struct msghdr mb = {.msg_iov = &bad, .msg_iovlen = 1};
    recvmsg(u, &mb, 0);
    memset(buf, 0, sizeof buf);
    struct mmsghdr mm[2] = {{.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}}, {.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}}};
    sendmmsg(v, mm, 2, 0);
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000};
    struct mmsghdr rm = {.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}};
    recvmmsg(u, &rm, 1, MSG_DONTWAIT, &ts);
    close(v);
    close(u);
}

/* A packet socket (its protocol in network byte order) and its ring's request. */
static void packet_ring(void) {
    int p = socket(AF_PACKET, SOCK_RAW, htons(3));
    struct tpacket_req req = {.tp_block_size = 4096, .tp_block_nr = 1, .tp_frame_size = 2048, .tp_frame_nr = 2};
    setsockopt(p, SOL_PACKET, PACKET_RX_RING, &req, sizeof req);
    close(p);
}

/* Option values strace decodes as structures, at lengths it takes and lengths it does not,
 * and addresses of families sockscope only named before (IPX, X.25, AX.25). */
static void option_values(void) {
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct linger lg = {1, 5};
    setsockopt(u, SOL_SOCKET, SO_LINGER, &lg, 4);
    char longer[12] = {1, 0, 0, 0, 5, 0, 0, 0, 9, 9, 9, 9};
    setsockopt(u, SOL_SOCKET, SO_LINGER, longer, sizeof longer);
    socklen_t len = 4;
    getsockopt(u, SOL_SOCKET, SO_LINGER, &lg, &len);
    struct ip_mreq mr = {.imr_multiaddr.s_addr = htonl(0xe0000001), .imr_interface.s_addr = htonl(INADDR_LOOPBACK)};
    setsockopt(u, SOL_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr);
    struct ip_mreqn mn = {.imr_multiaddr.s_addr = htonl(0xe0000002), .imr_address.s_addr = htonl(INADDR_LOOPBACK), .imr_ifindex = 1};
    setsockopt(u, SOL_IP, IP_ADD_MEMBERSHIP, &mn, sizeof mn);
    struct sock_filter code[] = {BPF_STMT(BPF_RET | BPF_K, 0xffff)};
    struct sock_fprog prog = {.len = 1, .filter = code};
    setsockopt(u, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
    int p = socket(AF_PACKET, SOCK_RAW, htons(3));
    struct packet_mreq pm = {.mr_ifindex = 0, .mr_type = PACKET_MR_PROMISC, .mr_alen = 6, .mr_address = {1, 2, 3, 4, 5, 6}};
    setsockopt(p, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &pm, sizeof pm);
    close(p);
    unsigned char ipx[16] = {4, 0, 0, 5, 0x12, 0x34, 0x56, 0x78, 1, 2, 3, 4, 5, 6, 7, 0};
    connect(u, (struct sockaddr *)ipx, sizeof ipx);
    struct sockaddr_x25 x25 = {.sx25_family = AF_X25};
    strcpy(x25.sx25_addr.x25_addr, "12345");
    connect(u, (struct sockaddr *)&x25, sizeof x25);
    struct sockaddr_ax25 ax = {.sax25_family = AF_AX25, .sax25_ndigis = 0};
    memcpy(ax.sax25_call.ax25_call, "\x9c\x9e\x86\x82\x98\x98\x00", 7);
    connect(u, (struct sockaddr *)&ax, sizeof ax);
    close(u);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "short_lengths")) short_lengths();
        else if (!strcmp(s, "escapes")) escapes();
        else if (!strcmp(s, "refused_nonblocking")) refused_nonblocking();
        else if (!strcmp(s, "wide_arguments")) wide_arguments();
        else if (!strcmp(s, "netlink_groups")) netlink_groups();
        else if (!strcmp(s, "long_path")) long_path();
        else if (!strcmp(s, "unmapped")) unmapped();
        else if (!strcmp(s, "nulls_and_failures")) nulls_and_failures();
        else if (!strcmp(s, "close_race")) close_race();
        else if (!strcmp(s, "messages")) messages();
        else if (!strcmp(s, "packet_ring")) packet_ring();
        else if (!strcmp(s, "option_values")) option_values();
        else {
            fprintf(stderr, "unknown scenario %s\n", s);
            return 2;
        }
    }
    return 0;
}
