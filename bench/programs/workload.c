/* Workloads for bench/trace.sh and bench/events.sh.
 *   workload connect N        N loopback connections: connect, accept, 64-byte write and read, close
 *   workload read N           N one-byte read() calls on a regular file of N bytes (no socket call)
 *   workload paced RATE SECS  loopback connections as in `connect` (the server's end closed
 *                             first), RATE per second for SECS seconds; prints the connections
 *                             made and its own CPU seconds (user + system)
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* A listener on a free loopback port; its address in *a. */
static int loopback_listener(struct sockaddr_in *a) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof *a;
    if (bind(l, (struct sockaddr *)a, sizeof *a) || listen(l, 128) || getsockname(l, (struct sockaddr *)a, &len)) {
        perror("listener");
        return -1;
    }
    return l;
}

/* One connection to the listener: connect, accept, 64 bytes one way, close (the server's end
 * first when server_first). 0 when done, -1 when connect failed, 1 on another error. */
static int exchange(int l, struct sockaddr_in *a, char *buf, int server_first) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)a, sizeof *a)) {
        close(c);
        return -1;
    }
    int s = accept(l, NULL, NULL);
    if (write(c, buf, 64) != 64 || read(s, buf, 64) != 64) return 1;
    close(server_first ? s : c);
    close(server_first ? c : s);
    return 0;
}

static int connect_loop(long n) {
    struct sockaddr_in a;
    int l = loopback_listener(&a);
    if (l < 0) return 1;
    char buf[64];
    memset(buf, 'x', sizeof buf);
    for (long i = 0; i < n; i++) {
        if (exchange(l, &a, buf, 0)) {
            perror("connection");
            return 1;
        }
    }
    return 0;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int paced_loop(long rate, long secs) {
    struct sockaddr_in a;
    int l = loopback_listener(&a);
    if (l < 0) return 1;
    char buf[64];
    memset(buf, 'x', sizeof buf);
    double start = now();
    long made = 0;
    for (long i = 0; i < rate * secs; i++) {
        /* Ahead of the schedule: wait for this connection's slot. */
        double due = start + (double)i / rate, ahead = due - now();
        if (ahead > 0) {
            struct timespec t = {(time_t)ahead, (long)((ahead - (time_t)ahead) * 1e9)};
            nanosleep(&t, NULL);
        }
        int r = exchange(l, &a, buf, 1);
        if (r > 0) {
            perror("write/read");
            return 1;
        }
        made += r == 0;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%ld %.3f %.3f\n", made, ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, now() - start);
    return 0;
}

static int read_loop(long n) {
    char path[] = "/tmp/sockscope-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    unlink(path);
    /* n bytes to read, one per call: real reads, served from the page cache. */
    char block[4096];
    memset(block, 'r', sizeof block);
    for (long left = n; left > 0; left -= (long)sizeof block) {
        if (write(fd, block, left < (long)sizeof block ? (size_t)left : sizeof block) < 0) {
            perror("write");
            return 1;
        }
    }
    lseek(fd, 0, SEEK_SET);
    char c;
    for (long i = 0; i < n; i++) {
        if (read(fd, &c, 1) < 0) {
            perror("read");
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "paced")) return paced_loop(atol(argv[2]), atol(argv[3]));
    if (argc != 3) {
        fprintf(stderr, "usage: workload connect|read N, or workload paced RATE SECS\n");
        return 2;
    }
    long n = atol(argv[2]);
    if (!strcmp(argv[1], "connect")) return connect_loop(n);
    if (!strcmp(argv[1], "read")) return read_loop(n);
    fprintf(stderr, "unknown workload %s\n", argv[1]);
    return 2;
}
