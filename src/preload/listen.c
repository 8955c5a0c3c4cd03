/* listen.c — the sockets drip's HTTP endpoint accepts on, and its bearer token.
 *
 * A TCP address (loopback unless named otherwise, with a warning that says what a non-loopback
 * one exposes and how to protect it) or a unix socket: `unix:/path` is created with mode 0600
 * (only the program's user, and root, can connect), never replaces a file that is not a socket
 * or a socket another process still answers on, and is removed at exit by the process that
 * created it. The token is read from a file once, before main: never from the command line or
 * the environment, which /proc shows to other users.
 * Runs before main (open, token) and at exit (unlink), on the program's main thread: no locks.
 * drip's lines here go where its text report goes (log_path, else stderr): with log_path the
 * program's stderr stays its own.
 */
#include "listen.h"
#include "helper.h"
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The unix sockets this process created: removed at exit if the path still names them. */
static struct {
    char path[sizeof ((struct sockaddr_un *)0)->sun_path];
    dev_t dev;
    ino_t ino;
    pid_t owner;
} made[2];

/* One line to the report's destination (helper.c keeps it open from start-up), else fd 2. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    int is_log, fd = drip__report_fd(&is_log);
    ssize_t ignored = write(fd >= 0 ? fd : 2, line, (size_t)n);
    (void)ignored;
}

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return 0;
}

static void warn_exposed(const char *name, const char *spec, int metrics_only, int with_token)
{
    if (with_token)
        say("drip: warning: %s=%s is not a loopback address: every request needs the bearer token "
                        "of http_token, which travels unencrypted (drip speaks plain HTTP): keep the address on a "
                        "network you trust\n", name, spec);
    else if (metrics_only)
        say("drip: warning: %s=%s is not a loopback address: anyone who can reach it can read /metrics "
                        "(heap figures and the function names of growth suspects); set http_token=FILE to require "
                        "a bearer token\n", name, spec);
    else
        say("drip: warning: %s=%s is not a loopback address: anyone who can reach it can read heap "
                        "profiles, leak reports, function and file names and the command line, and pause the "
                        "program with /debug/drip/leaks; set http_token=FILE to require a bearer token, or serve "
                        "on http=unix:/path and put /metrics alone on the network with http_metrics=ADDR\n",
                name, spec);
}

static int open_tcp(const char *name, const char *spec, int metrics_only, int with_token)
{
    char host[DRIP_OPT_STR_MAX], port[DRIP_OPT_STR_MAX];
    drip__listen_split(spec, host, sizeof host, port, sizeof port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0 || !ai) {
        say("drip: %s=%s: cannot resolve: %s\n", name, spec, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        say("drip: %s=%s: cannot listen: %s\n", name, spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    if (!is_loopback(ai->ai_addr))
        warn_exposed(name, spec, metrics_only, with_token);
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[64] = "?";
    int p = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, h, sizeof h);
            p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, h + 1, sizeof h - 2);
            h[0] = '[';
            strcat(h, "]");
            p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    if (metrics_only)
        say("drip: serving http://%s:%d/metrics (only) for process %d\n", h, p, getpid());
    else
        say("drip: serving http://%s:%d/ for process %d\n", h, p, getpid());
    return fd;
}

/* An existing path may be replaced only if it is a socket nobody answers on (left behind by a
 * process that was killed). 0: free to bind; -1 after one line on stderr. */
static int clear_stale(const char *name, const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        say("drip: %s=unix:%s: %s: the endpoint is off\n", name, path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        say("drip: %s=unix:%s: the path exists and is not a socket: not replacing it; the endpoint is off\n",
                name, path);
        return -1;
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int rc = probe < 0 ? -1 : connect(probe, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    if (probe >= 0)
        close(probe);
    if (rc != 0 && e == ECONNREFUSED) {
        if (unlink(path) == 0)
            return 0;
        e = errno;
    }
    if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
        say("drip: %s=unix:%s: another process serves on this socket: not replacing it; the endpoint is off\n",
                name, path);
    else
        say("drip: %s=unix:%s: cannot replace the old socket: %s; the endpoint is off\n", name, path,
                strerror(e));
    return -1;
}

static int open_unix(const char *name, const char *spec)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char path[sizeof sa.sun_path + 1];
    const char *given = spec + 5;
    int n;
    if (!given[0]) {
        say("drip: %s=%s: no path after unix:\n", name, spec);
        return -1;
    }
    if (given[0] == '/') {
        n = snprintf(path, sizeof path, "%s", given);
    } else {   /* absolute, so that exit removes the right file even if the program changed directory */
        char cwd[sizeof path];
        n = getcwd(cwd, sizeof cwd) ? snprintf(path, sizeof path, "%s/%s", cwd, given) : (int)sizeof path;
    }
    if (n < 0 || (size_t)n >= sizeof sa.sun_path) {
        say("drip: %s=%s: the socket's path is too long (at most %zu bytes)\n", name, spec,
                sizeof sa.sun_path - 1);
        return -1;
    }
    if (clear_stale(name, path) != 0)
        return -1;
    memcpy(sa.sun_path, path, (size_t)n + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        say("drip: %s=unix:%s: cannot bind: %s; the endpoint is off\n", name, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* bind made the file with the umask's mode; nobody can connect before listen, so tightening
     * it here leaves no window */
    struct stat st;
    if (chmod(path, 0600) != 0 || stat(path, &st) != 0 || listen(fd, 64) != 0) {
        say("drip: %s=unix:%s: %s; the endpoint is off\n", name, path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++)
        if (!made[i].owner) {
            memcpy(made[i].path, path, (size_t)n + 1);
            made[i].dev = st.st_dev;
            made[i].ino = st.st_ino;
            made[i].owner = getpid();
            break;
        }
    say("drip: serving unix:%s%s for process %d\n", path, !strcmp(name, "http_metrics") ? " (/metrics only)" : "",
            getpid());
    return fd;
}

int drip__listen_open(const char *name, const char *spec, int metrics_only, int with_token)
{
    if (!strncmp(spec, "unix:", 5))
        return open_unix(name, spec);
    return open_tcp(name, spec, metrics_only, with_token);
}

void drip__listen_unlink(void)
{
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        struct stat st;
        if (made[i].owner && made[i].owner == getpid() && lstat(made[i].path, &st) == 0 &&
            st.st_dev == made[i].dev && st.st_ino == made[i].ino)
            unlink(made[i].path);
        if (made[i].owner)   /* no write otherwise: at a forked child's exit it would copy the page */
            made[i].owner = 0;
    }
}

long drip__token_read(const char *path, char *tok, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        say("drip: http_token=%s: %s: the endpoint is off\n", path, strerror(errno));
        return -1;
    }
    size_t len = 0;
    ssize_t r;
    char extra;
    while (len < cap - 1 && (r = read(fd, tok + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    int too_long = len == cap - 1 && read(fd, &extra, 1) > 0;
    close(fd);
    while (len && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' ' || tok[len - 1] == '\t'))
        len--;
    tok[len] = 0;
    const char *why = too_long ? "the token is too long" : !len ? "the file holds no token" : NULL;
    for (size_t i = 0; i < len && !why; i++)
        if ((unsigned char)tok[i] <= 0x20 || (unsigned char)tok[i] >= 0x7f)
            why = "the token may hold only printable ASCII without spaces";
    if (why) {
        memset(tok, 0, cap);
        say("drip: http_token=%s: %s: the endpoint is off\n", path, why);
        return -1;
    }
    return (long)len;
}
