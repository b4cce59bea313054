/* Known sequences of socket calls, one scenario per argument, for comparing
 * `sockscope trace` with strace. Deterministic: every step waits for the previous one
 * (threads are joined, children waited for), so both tracers see the same order. Fixed
 * ports are below 100 (the test runs in its own network namespace). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sockaddr_in v4(int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int listener4(int port) {
    int one = 1;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = v4(port);
    bind(s, (struct sockaddr *)&a, sizeof a);
    listen(s, 8);
    return s;
}

static void tcp4(void) {
    int one = 1;
    int l = listener4(71);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    struct timeval tv = {.tv_sec = 2, .tv_usec = 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = v4(71);
    connect(c, (struct sockaddr *)&a, sizeof a);
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    int s = accept4(l, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
    send(c, "hello over tcp\n", 15, MSG_NOSIGNAL);
    char buf[64];
    recv(s, buf, sizeof buf, 0);
    int err = 0;
    len = sizeof err;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len);
    len = sizeof peer;
    getpeername(s, (struct sockaddr *)&peer, &len);
    shutdown(c, SHUT_WR);
    close(c);
    close(s);
    close(l);
}

static void tcp6(void) {
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(72), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 8);
    int c = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int s = accept(l, NULL, NULL);
    sendto(c, "six", 3, 0, NULL, 0);
    char buf[8];
    recvfrom(s, buf, sizeof buf, 0, NULL, NULL);
    close(c);
    close(s);
    close(l);
}

static void refused(void) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4(79);
    connect(c, (struct sockaddr *)&a, sizeof a);
    close(c);
}

static void nonblocking(void) {
    int l = listener4(74);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = v4(74);
    connect(c, (struct sockaddr *)&a, sizeof a);
    struct pollfd p = {.fd = c, .events = POLLOUT};
    poll(&p, 1, 2000);
    int err = -1;
    socklen_t len = sizeof err;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len);
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    char buf[8];
    recv(s, buf, sizeof buf, 0); /* nothing sent: EAGAIN */
    close(s);
    close(c);
    close(l);
}

static void udp(void) {
    int r = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = v4(73);
    bind(r, (struct sockaddr *)&a, sizeof a);
    int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    sendto(s, "datagram\0with a nul", 19, 0, (struct sockaddr *)&a, sizeof a);
    char buf[64];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    close(s);
    close(r);
}

static void unix_sockets(const char *path) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    unlink(path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 4);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    int s = accept(l, NULL, NULL);
    send(c, "over a path", 11, 0);
    char buf[32];
    recv(s, buf, sizeof buf, 0);
    close(s);
    close(c);
    close(l);
    unlink(path);

    struct sockaddr_un abs = {.sun_family = AF_UNIX};
    memcpy(abs.sun_path, "\0sockscope-abstract", 19);
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(d, (struct sockaddr *)&abs, offsetof(struct sockaddr_un, sun_path) + 19);
    int e = socket(AF_UNIX, SOCK_DGRAM, 0);
    sendto(e, "abstract", 8, 0, (struct sockaddr *)&abs, offsetof(struct sockaddr_un, sun_path) + 19);
    recv(d, buf, sizeof buf, 0);
    close(e);
    close(d);

    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    send(pair[0], "pair", 4, 0);
    recv(pair[1], buf, sizeof buf, 0);
    close(pair[0]);
    close(pair[1]);
}

static void pass_fd(void) {
    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    int l = listener4(75);
    char data[1] = {'x'};
    struct iovec iov = {.iov_base = data, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &l, sizeof l);
    sendmsg(pair[0], &m, 0);
    memset(&u, 0, sizeof u);
    struct msghdr r = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    recvmsg(pair[1], &r, MSG_CMSG_CLOEXEC);
    int got;
    memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&r)), sizeof got);
    listen(got, 2);
    close(got);
    close(l);
    close(pair[0]);
    close(pair[1]);
}

static void forked(void) {
    int l = listener4(76);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    pid_t child = fork();
    if (child == 0) {
        /* The child uses the socket it inherited. */
        struct sockaddr_in a = v4(76);
        connect(c, (struct sockaddr *)&a, sizeof a);
        send(c, "from the child", 14, 0);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    int s = accept(l, NULL, NULL);
    char buf[32];
    recv(s, buf, sizeof buf, 0);
    close(s);
    close(c);
    close(l);
}

static void *connect_in_thread(void *arg) {
    (void)arg;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4(77);
    connect(c, (struct sockaddr *)&a, sizeof a);
    send(c, "from a thread", 13, 0);
    return (void *)(long)c;
}

static void threaded(void) {
    int l = listener4(77);
    pthread_t t;
    void *c;
    pthread_create(&t, NULL, connect_in_thread, NULL);
    pthread_join(t, &c);
    int s = accept(l, NULL, NULL);
    char buf[32];
    recv(s, buf, sizeof buf, 0);
    close(s);
    close((int)(long)c);
    close(l);
}

static void netlink(void) {
    int n = socket(AF_NETLINK, SOCK_RAW, 0 /* NETLINK_ROUTE */);
    struct sockaddr_storage a = {.ss_family = AF_NETLINK};
    bind(n, (struct sockaddr *)&a, 12);
    socklen_t len = sizeof a;
    getsockname(n, (struct sockaddr *)&a, &len);
    close(n);
}

/* A client of `serve`, which is not traced: its end names the server's process. */
static void client(void) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4(78);
    connect(c, (struct sockaddr *)&a, sizeof a);
    send(c, "hi", 2, 0);
    char buf[8];
    recv(c, buf, sizeof buf, 0);
    close(c);
}

/* A server for attaching to: answers each connection on port 78 with "ok", forever. */
static void serve(void) {
    int l = listener4(78);
    for (;;) {
        int s = accept(l, NULL, NULL);
        if (s < 0) continue;
        char buf[64];
        recv(s, buf, sizeof buf, 0);
        send(s, "ok", 2, MSG_NOSIGNAL);
        close(s);
    }
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "tcp4")) tcp4();
        else if (!strcmp(s, "tcp6")) tcp6();
        else if (!strcmp(s, "refused")) refused();
        else if (!strcmp(s, "nonblocking")) nonblocking();
        else if (!strcmp(s, "udp")) udp();
        else if (!strncmp(s, "unix=", 5)) unix_sockets(s + 5);
        else if (!strcmp(s, "pass_fd")) pass_fd();
        else if (!strcmp(s, "fork")) forked();
        else if (!strcmp(s, "thread")) threaded();
        else if (!strcmp(s, "netlink")) netlink();
        else if (!strcmp(s, "die")) kill(getpid(), SIGKILL);
        else if (!strcmp(s, "serve")) serve();
        else if (!strcmp(s, "client")) client();
        else {
            fprintf(stderr, "unknown scenario %s\n", s);
            return 2;
        }
    }
    return 0;
}
