/* Workloads for bench/trace.sh.
 *   workload connect N   N loopback connections: connect, accept, 64-byte write and read, close
 *   workload read N      N one-byte read() calls on a regular file of N bytes (no socket call)
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int connect_loop(long n) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 128) || getsockname(l, (struct sockaddr *)&a, &len)) {
        perror("listener");
        return 1;
    }
    char buf[64];
    memset(buf, 'x', sizeof buf);
    for (long i = 0; i < n; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, sizeof a)) {
            perror("connect");
            return 1;
        }
        int s = accept(l, NULL, NULL);
        if (write(c, buf, sizeof buf) != sizeof buf || read(s, buf, sizeof buf) != sizeof buf) {
            perror("write/read");
            return 1;
        }
        close(c);
        close(s);
    }
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
    if (argc != 3) {
        fprintf(stderr, "usage: workload connect|read N\n");
        return 2;
    }
    long n = atol(argv[2]);
    if (!strcmp(argv[1], "connect")) return connect_loop(n);
    if (!strcmp(argv[1], "read")) return read_loop(n);
    fprintf(stderr, "unknown workload %s\n", argv[1]);
    return 2;
}
