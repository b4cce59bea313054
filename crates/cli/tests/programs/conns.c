/* TCP connections whose truth the events tests know: bytes each way, who closes, how.
 *
 *   conns serve FAMILY PORT COUNT      accept COUNT connections, one at a time ("done" after each)
 *   conns connect FAMILY PORT SENT RECEIVED MODE SLEEP_MS
 *   conns storm FAMILY PORT N          N connections as fast as possible (server closes
 *                                      first); prints how many connected and how many failed
 *   conns storm-serve FAMILY PORT      accept and close until killed
 *
 * A client sends a 12-byte header (its payload size, the server's, the mode), then its
 * payload; the server answers with its payload. Modes: 0 the client closes first, 1 the
 * server closes first, 2 the client resets (SO_LINGER 0), 3 the server resets. The client
 * prints its local port. FAMILY is 4 or 6 (loopback). Names itself ev-server / ev-client. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(1); }

static socklen_t addr(int family, int port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (family == 6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_loopback;
        return sizeof *a;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof *a;
}

static void read_exact(int fd, size_t n) {
    char buf[65536];
    while (n > 0) {
        ssize_t r = read(fd, buf, n < sizeof buf ? n : sizeof buf);
        if (r <= 0) die("read");
        n -= r;
    }
}

static void write_exact(int fd, size_t n) {
    char buf[65536];
    memset(buf, 'x', sizeof buf);
    while (n > 0) {
        ssize_t w = write(fd, buf, n < sizeof buf ? n : sizeof buf);
        if (w <= 0) die("write");
        n -= w;
    }
}

/* Reads until EOF or an error (a reset). */
static void drain(int fd) {
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0) {}
}

static void reset_close(int fd) {
    struct linger l = {1, 0};
    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l)) die("SO_LINGER");
    close(fd);
}

static int listener(int family, int port) {
    struct sockaddr_storage ss;
    socklen_t len = addr(family, port, &ss);
    int l = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (l < 0 || bind(l, (struct sockaddr *)&ss, len) || listen(l, 4096)) die("listen");
    printf("ready\n");
    fflush(stdout);
    return l;
}

static int dial(int family, int port) {
    struct sockaddr_storage ss;
    socklen_t len = addr(family, port, &ss);
    int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&ss, len)) {
        printf("connect: %s\n", strerror(errno));
        fflush(stdout);
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int family = atoi(argv[2]), port = atoi(argv[3]);
    if (!strcmp(argv[1], "serve") && argc == 5) {
        prctl(PR_SET_NAME, "ev-server");
        int l = listener(family, port);
        for (int i = 0; i < atoi(argv[4]); i++) {
            int fd = accept(l, NULL, NULL);
            if (fd < 0) die("accept");
            uint32_t h[3];
            if (read(fd, h, sizeof h) != sizeof h) die("header");
            read_exact(fd, h[0]);
            write_exact(fd, h[1]);
            switch (h[2]) {
            case 0: drain(fd); close(fd); break;
            case 1: close(fd); break;
            case 2: drain(fd); close(fd); break;
            case 3: reset_close(fd); break;
            }
            printf("done\n");
            fflush(stdout);
        }
        return 0;
    }
    if (!strcmp(argv[1], "connect") && argc == 8) {
        prctl(PR_SET_NAME, "ev-client");
        uint32_t h[3] = {atoi(argv[4]), atoi(argv[5]), atoi(argv[6])};
        int fd = dial(family, port);
        if (fd < 0) return 0;
        struct sockaddr_storage me;
        socklen_t len = sizeof me;
        getsockname(fd, (struct sockaddr *)&me, &len);
        int lport = ntohs(me.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&me)->sin6_port
                                                     : ((struct sockaddr_in *)&me)->sin_port);
        printf("%d\n", lport);
        fflush(stdout);
        if (write(fd, h, sizeof h) != sizeof h) die("header");
        write_exact(fd, h[0]);
        read_exact(fd, h[1]);
        struct timespec t = {atoi(argv[7]) / 1000, (atoi(argv[7]) % 1000) * 1000000L};
        nanosleep(&t, NULL);
        switch (h[2]) {
        case 0: close(fd); break;
        case 1: drain(fd); close(fd); break;
        case 2: reset_close(fd); break;
        case 3: drain(fd); close(fd); break;
        }
        return 0;
    }
    if (!strcmp(argv[1], "storm-serve")) {
        prctl(PR_SET_NAME, "ev-server");
        int l = listener(family, port);
        for (;;) {
            int fd = accept(l, NULL, NULL);
            if (fd >= 0) close(fd);
        }
    }
    if (!strcmp(argv[1], "storm") && argc == 5) {
        prctl(PR_SET_NAME, "ev-client");
        int n = atoi(argv[4]), made = 0, failed = 0;
        struct sockaddr_storage ss;
        socklen_t len = addr(family, port, &ss);
        for (int i = 0; i < n; i++) {
            int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
            if (fd < 0) die("socket");
            if (connect(fd, (struct sockaddr *)&ss, len)) {
                failed++;
            } else {
                drain(fd);
                made++;
            }
            close(fd);
        }
        printf("%d %d\n", made, failed);
        return 0;
    }
    return 2;
}
