/* symclient.c — the traced process's side of drip run's shared symbolizer (src/cli/symserve.c).
 *
 * Under `drip run`, DRIP_STATUS_DIR/sym is a server that symbolizes for every traced process. A
 * request carries what a spawned `drip symbolize` would get (helper.c): the arguments, the
 * environment, the working directory and the descriptors under their numbers (SCM_RIGHTS), so
 * its answer is the same report; the caller then waits on its status pipe as for a helper of its
 * own. Runs at exit with the guard set (libc's allocator, untracked). Locks: none.
 */
#include "arena.h"
#include "helper.h"
#include "symclient.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char shared_sock[108];   /* DRIP_STATUS_DIR/sym; "" when there is none */

void drip__symclient_init(void)
{
    const char *status = getenv("DRIP_STATUS_DIR");
    if (status && status[0] == '/' && strlen(status) + 5 <= sizeof shared_sock)
        snprintf(shared_sock, sizeof shared_sock, "%s/sym", status);
}

int drip__symclient_ready(void) { return shared_sock[0] != 0; }

int drip__symclient_send(char *const *argv, int argc, char **env, int in_fd, int err_fd, const int *keep, int nkeep)
{
    if (!shared_sock[0])
        return -1;
    enum { MAX_MSG = 1 << 16 };
    char *msg = drip__arena_alloc(MAX_MSG);   /* libc's may be exhausted (ulimit -v) */
    if (!msg)
        return -1;
    size_t len = 0;
    int ok = 1, fds[12], nfds = 0;
    char targets[160] = "";
#define PUT(str)                                                                                   \
    do {                                                                                           \
        size_t l_ = strlen(str) + 1;                                                               \
        if (len + l_ > MAX_MSG)                                                                    \
            ok = 0;                                                                                \
        else                                                                                       \
            memcpy(msg + len, (str), l_), len += l_;                                               \
    } while (0)
#define FD(fd, num)                                                                                \
    do {                                                                                           \
        size_t t_ = strlen(targets);                                                               \
        snprintf(targets + t_, sizeof targets - t_, "%s%d", t_ ? "," : "", (num));                 \
        fds[nfds++] = (fd);                                                                        \
    } while (0)
    /* as child_main: stdin the raw report, stderr err_fd (else the program's own fd 2), stdout
     * /dev/null (the worker's), every kept descriptor above 2 under its number */
    FD(in_fd, 0);
    if (err_fd >= 0)
        FD(err_fd, 2);
    else if (fcntl(2, F_GETFD) >= 0)
        FD(2, 2);
    for (int i = 0; i < nkeep && nfds < 12; i++)
        if (keep[i] > 2)
            FD(keep[i], keep[i]);
    char cwd[PATH_MAX], num[16];
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = 0;
    snprintf(num, sizeof num, "%d", argc);
    PUT("drip-sym 1");
    PUT(cwd);
    PUT(targets);
    PUT(num);
    for (int i = 0; i < argc; i++)
        PUT(argv[i]);
    for (int i = 0; env && env[i]; i++)
        PUT(env[i]);
#undef PUT
#undef FD
    int rc = -1;
    int sock = ok ? socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0) : -1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, shared_sock, sizeof shared_sock);
    if (sock >= 0 && connect(sock, (struct sockaddr *)&sa, sizeof sa) == 0) {
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof fds)]; } ctl;
        memset(&ctl, 0, sizeof ctl);
        struct iovec iov = {msg, len};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                            .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds)};
        struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(h), fds, sizeof(int) * (size_t)nfds);
        ssize_t w;
        while ((w = sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
            ;
        rc = w == (ssize_t)len ? 0 : -1;
    }
    if (sock >= 0)
        close(sock);
    drip__arena_free(msg, MAX_MSG);
    return rc;
}

