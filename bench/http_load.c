/*
 * http_load.c - a minimal HTTP/1.0 client for bench/live.sh: sends requests back to back, one
 * connection each (as drip's endpoint closes every connection), and reads each response to the
 * end.  Written in C so that the client's own CPU (a few tens of microseconds a request) does not
 * count against the program it shares the machine with, as a Python client's did.
 *
 *   http_load HOST PORT COUNT PATH [PATH...]     paths are used in turn
 *
 * Stops early, without error, when the server goes away (the program ended).  Prints one line:
 * requests served, bytes read, client CPU seconds.  Not a test.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static long fetch(const struct sockaddr_in *sa, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0) {
        close(fd);
        return -1;
    }
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: bench\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    static char buf[1 << 16];
    long total = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        total += r;
    close(fd);
    return r < 0 || total < 12 || memcmp(buf, "HTTP/1.", 7) != 0 ? -1 : total;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: http_load HOST PORT COUNT PATH [PATH...]\n");
        return 2;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "http_load: bad IPv4 address '%s'\n", argv[1]);
        return 2;
    }
    long count = atol(argv[3]), served = 0, bytes = 0;
    int npaths = argc - 4;
    for (long i = 0; i < count; i++) {
        long got = fetch(&sa, argv[4 + i % npaths]);
        if (got < 0)
            break;
        served++;
        bytes += got;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%ld %ld %.3f\n", served, bytes,
           ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    return 0;
}
