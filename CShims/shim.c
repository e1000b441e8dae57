// Wrappers and constants for CShims.h. See the header for why each exists.
#ifndef _GNU_SOURCE
#error "CShims must be compiled with _GNU_SOURCE (splice, accept4, pipe2, F_SETPIPE_SZ are GNU extensions)"
#endif

#include "CShims.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(((cshims_event *)0)->data) == sizeof(((struct epoll_event *)0)->data),
               "epoll data word is 64 bits");

const uint32_t CSHIMS_EPOLLIN = EPOLLIN;
const uint32_t CSHIMS_EPOLLOUT = EPOLLOUT;
const uint32_t CSHIMS_EPOLLERR = EPOLLERR;
const uint32_t CSHIMS_EPOLLHUP = EPOLLHUP;
const uint32_t CSHIMS_EPOLLRDHUP = EPOLLRDHUP;
const uint32_t CSHIMS_EPOLLET = EPOLLET;
const uint32_t CSHIMS_EPOLLEXCLUSIVE = EPOLLEXCLUSIVE;

int cshims_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cshims_epoll_add(int epfd, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int cshims_epoll_mod(int epfd, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
}

int cshims_epoll_del(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

int cshims_epoll_wait(int epfd, cshims_event *events, int maxevents, int timeout_ms) {
    struct epoll_event raw[1024];
    if (maxevents > 1024) maxevents = 1024;
    int n = epoll_wait(epfd, raw, maxevents, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i].events = raw[i].events;
        events[i].data = raw[i].data.u64;
    }
    return n;
}

int cshims_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int cshims_eventfd_signal(int fd) {
    uint64_t one = 1;
    return (int)write(fd, &one, sizeof one);
}

int cshims_eventfd_drain(int fd) {
    uint64_t value;
    return (int)read(fd, &value, sizeof value);
}

const unsigned int CSHIMS_SPLICE_F_MOVE = SPLICE_F_MOVE;
const unsigned int CSHIMS_SPLICE_F_NONBLOCK = SPLICE_F_NONBLOCK;
const unsigned int CSHIMS_SPLICE_F_MORE = SPLICE_F_MORE;

int cshims_pipe(int fds[2]) { return pipe2(fds, O_NONBLOCK | O_CLOEXEC); }
int cshims_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }
int cshims_get_pipe_size(int fd) { return fcntl(fd, F_GETPIPE_SZ); }

ssize_t cshims_splice(int fd_in, int fd_out, size_t len, unsigned int flags) {
    return splice(fd_in, NULL, fd_out, NULL, len, flags);
}

int cshims_accept(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }
int cshims_socket_stream(int family) { return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }
int cshims_socket_unix(void) { return socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }
int cshims_connect(int fd, const struct sockaddr *addr, socklen_t len) { return connect(fd, addr, len); }
int cshims_bind(int fd, const struct sockaddr *addr, socklen_t len) { return bind(fd, addr, len); }
int cshims_listen(int fd, int backlog) { return listen(fd, backlog); }

int cshims_set_int_option(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof value);
}

int cshims_get_int_option(int fd, int level, int name, int *value) {
    socklen_t len = sizeof *value;
    return getsockopt(fd, level, name, value, &len);
}

int cshims_set_linger_zero(int fd) {
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    return setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

int cshims_unread_bytes(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) < 0 ? -1 : n;
}

int cshims_socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return -1;
    return err;
}

int cshims_local_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

const int CSHIMS_SOL_SOCKET = SOL_SOCKET;
const int CSHIMS_SO_REUSEADDR = SO_REUSEADDR;
const int CSHIMS_SO_REUSEPORT = SO_REUSEPORT;
const int CSHIMS_SO_RCVBUF = SO_RCVBUF;
const int CSHIMS_SO_SNDBUF = SO_SNDBUF;
const int CSHIMS_IPPROTO_TCP = IPPROTO_TCP;
const int CSHIMS_TCP_NODELAY = TCP_NODELAY;
const int CSHIMS_IPPROTO_IPV6 = IPPROTO_IPV6;
const int CSHIMS_IPPROTO_IP = IPPROTO_IP;
const int CSHIMS_IP_FREEBIND = IP_FREEBIND;
const int CSHIMS_IPV6_FREEBIND = IPV6_FREEBIND;
const int CSHIMS_IPV6_V6ONLY = IPV6_V6ONLY;
const int CSHIMS_SO_KEEPALIVE = SO_KEEPALIVE;
const int CSHIMS_TCP_KEEPIDLE = TCP_KEEPIDLE;
const int CSHIMS_TCP_KEEPINTVL = TCP_KEEPINTVL;
const int CSHIMS_TCP_KEEPCNT = TCP_KEEPCNT;
const int CSHIMS_TCP_USER_TIMEOUT = TCP_USER_TIMEOUT;
const int CSHIMS_SHUT_WR = SHUT_WR;
const int CSHIMS_SHUT_RDWR = SHUT_RDWR;

int cshims_ignore_sigpipe(void) { return signal(SIGPIPE, SIG_IGN) == SIG_ERR ? -1 : 0; }

int64_t cshims_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cshims_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int cshims_count_open_fds(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] != '.') count++;
    }
    closedir(dir);
    return count - 1;
}

int cshims_malloc_trim(void) { return malloc_trim(0); }
