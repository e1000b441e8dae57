// CShims: the thin C layer under tessera-lb.
//
// Only what Swift cannot reach through Glibc: GNU-only calls (splice, accept4, pipe2), macros that do not
// import (EPOLLET, EPOLLRDHUP, SPLICE_F_*), and liburing behind an opaque handle (uring.c is the only file
// that includes <liburing.h>; swift-system's <linux/io_uring.h> and liburing's own copy clash otherwise).
// No policy here: no retries, no logging, no decisions. Every call returns what the kernel returned, with
// errno set as the kernel set it, unless the comment says otherwise.
#ifndef CSHIMS_H
#define CSHIMS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <netinet/in.h>

// --- epoll ---------------------------------------------------------------------------------------------
// struct epoll_event is packed on x86_64; this plain struct is what Swift sees.
typedef struct cshims_event {
    uint32_t events;
    uint64_t data;
} cshims_event;

extern const uint32_t CSHIMS_EPOLLIN;
extern const uint32_t CSHIMS_EPOLLOUT;
extern const uint32_t CSHIMS_EPOLLERR;
extern const uint32_t CSHIMS_EPOLLHUP;
extern const uint32_t CSHIMS_EPOLLRDHUP;
extern const uint32_t CSHIMS_EPOLLET;
extern const uint32_t CSHIMS_EPOLLEXCLUSIVE;

int cshims_epoll_create(void);
int cshims_epoll_add(int epfd, int fd, uint32_t events, uint64_t data);
int cshims_epoll_mod(int epfd, int fd, uint32_t events, uint64_t data);
int cshims_epoll_del(int epfd, int fd);
/// epoll_wait into a plain array of cshims_event (at most 1024 per call).
int cshims_epoll_wait(int epfd, cshims_event *events, int maxevents, int timeout_ms);

// --- eventfd -------------------------------------------------------------------------------------------
int cshims_eventfd(void);
int cshims_eventfd_signal(int fd);
int cshims_eventfd_drain(int fd);

// --- pipes and splice ----------------------------------------------------------------------------------
extern const unsigned int CSHIMS_SPLICE_F_MOVE;
extern const unsigned int CSHIMS_SPLICE_F_NONBLOCK;
extern const unsigned int CSHIMS_SPLICE_F_MORE;

/// pipe2(fds, O_NONBLOCK | O_CLOEXEC).
int cshims_pipe(int fds[2]);
/// fcntl(fd, F_SETPIPE_SZ, size): the new capacity in bytes, or -1.
int cshims_set_pipe_size(int fd, int size);
/// fcntl(fd, F_GETPIPE_SZ): the capacity in bytes, or -1.
int cshims_get_pipe_size(int fd);
/// splice(fd_in, NULL, fd_out, NULL, len, flags).
ssize_t cshims_splice(int fd_in, int fd_out, size_t len, unsigned int flags);

// --- sockets -------------------------------------------------------------------------------------------
/// accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC).
int cshims_accept(int fd);
/// socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0).
int cshims_socket_stream(int family);
/// socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0).
int cshims_socket_unix(void);
int cshims_connect(int fd, const struct sockaddr *addr, socklen_t len);
int cshims_bind(int fd, const struct sockaddr *addr, socklen_t len);
int cshims_listen(int fd, int backlog);
int cshims_set_int_option(int fd, int level, int name, int value);
int cshims_get_int_option(int fd, int level, int name, int *value);
/// SO_LINGER {1, 0}: the next close() sends a reset instead of a FIN.
int cshims_set_linger_zero(int fd);
/// getsockopt(SO_ERROR): the pending socket error (0 if none), or -1 with errno.
int cshims_socket_error(int fd);
/// ioctl(FIONREAD): bytes received and not yet read, or -1.
int cshims_unread_bytes(int fd);
int cshims_local_port(int fd);

extern const int CSHIMS_SOL_SOCKET;
extern const int CSHIMS_SO_REUSEADDR;
extern const int CSHIMS_SO_REUSEPORT;
extern const int CSHIMS_SO_RCVBUF;
extern const int CSHIMS_SO_SNDBUF;
extern const int CSHIMS_IPPROTO_TCP;
extern const int CSHIMS_TCP_NODELAY;
extern const int CSHIMS_IPPROTO_IPV6;
extern const int CSHIMS_IPPROTO_IP;
/// Bind an address this host does not hold (yet): a standby balancer listening on a floating address, ip(7).
extern const int CSHIMS_IP_FREEBIND;
extern const int CSHIMS_IPV6_FREEBIND;
extern const int CSHIMS_IPV6_V6ONLY;
extern const int CSHIMS_SO_KEEPALIVE;
extern const int CSHIMS_TCP_KEEPIDLE;
extern const int CSHIMS_TCP_KEEPINTVL;
extern const int CSHIMS_TCP_KEEPCNT;
extern const int CSHIMS_TCP_USER_TIMEOUT;
extern const int CSHIMS_SHUT_WR;
extern const int CSHIMS_SHUT_RDWR;

// --- process -------------------------------------------------------------------------------------------
/// signal(SIGPIPE, SIG_IGN): splice has no MSG_NOSIGNAL, so a splice into a reset peer raises SIGPIPE.
int cshims_ignore_sigpipe(void);
/// Raise RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit, or -1.
/// clock_gettime(CLOCK_MONOTONIC_COARSE) in milliseconds.
int64_t cshims_now_ms(void);
/// clock_gettime(CLOCK_MONOTONIC) in nanoseconds.
int64_t cshims_now_ns(void);
/// Number of open descriptors of this process (entries of /proc/self/fd, less the one used to read it).
int cshims_count_open_fds(void);

// --- io_uring (uring.c, the only includer of liburing.h) -----------------------------------------------
/// A ring (struct io_uring behind an opaque pointer).
typedef struct cshims_ring cshims_ring;
/// What Swift sees of a completion.
typedef struct cshims_completion {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
} cshims_completion;

extern const uint32_t CSHIMS_RING_SETUP_CQSIZE;
extern const uint32_t CSHIMS_RING_SETUP_R_DISABLED;
extern const uint32_t CSHIMS_RING_SETUP_SUBMIT_ALL;
extern const uint32_t CSHIMS_RING_SETUP_COOP_TASKRUN;
extern const uint32_t CSHIMS_RING_SETUP_SINGLE_ISSUER;
extern const uint32_t CSHIMS_RING_SETUP_DEFER_TASKRUN;
extern const uint32_t CSHIMS_RING_CQE_F_MORE;
extern const uint32_t CSHIMS_RING_CQE_F_BUFFER;
extern const uint32_t CSHIMS_RING_CQE_BUFFER_SHIFT;
extern const uint32_t CSHIMS_POLLIN;
extern const uint32_t CSHIMS_POLLOUT;
extern const uint32_t CSHIMS_POLLRDHUP;

/// io_uring_queue_init_params(entries, {flags, cq_entries}); NULL with *error = -errno on failure.
cshims_ring *cshims_ring_create(unsigned entries, unsigned cq_entries, uint32_t flags, int *error);
/// io_uring_queue_exit, then frees the handle.
void cshims_ring_destroy(cshims_ring *ring);
/// io_uring_enable_rings (for a ring set up with R_DISABLED; SINGLE_ISSUER binds to the calling thread).
int cshims_ring_enable(cshims_ring *ring);
/// io_uring_register_ring_fd (per thread: call it on the thread that submits).
int cshims_ring_register_ring_fd(cshims_ring *ring);
// Queue one request each (io_uring_prep_*; SOCK_NONBLOCK | SOCK_CLOEXEC for accepted sockets). When the
// submission queue is full, what is queued is submitted first. 0, or -EBUSY if still no room.
int cshims_ring_accept(cshims_ring *ring, int fd, uint64_t user_data);
int cshims_ring_poll_multishot(cshims_ring *ring, int fd, uint32_t mask, uint64_t user_data);
int cshims_ring_poll_once(cshims_ring *ring, int fd, uint32_t mask, uint64_t user_data);
int cshims_ring_cancel(cshims_ring *ring, uint64_t target, uint64_t user_data);
/// Cancels every request carrying `target` (IORING_ASYNC_CANCEL_ALL), not only the first found.
int cshims_ring_cancel_all(cshims_ring *ring, uint64_t target, uint64_t user_data);
/// A multishot recv that takes its buffers from provided-buffer group `group` (IOSQE_BUFFER_SELECT).
int cshims_ring_recv_multishot(cshims_ring *ring, int fd, uint16_t group, uint64_t user_data);
/// A send of `length` bytes at `buffer` (MSG_NOSIGNAL).
int cshims_ring_send(cshims_ring *ring, int fd, const void *buffer, size_t length, uint64_t user_data);
// Socket calls as requests, each with IOSQE_CQE_SKIP_SUCCESS (Linux 5.17): a completion is posted only when
// the call fails, with `user_data`.
/// setsockopt(fd, level, name, value, length) as IORING_OP_URING_CMD / SOCKET_URING_OP_SETSOCKOPT (Linux 6.7).
/// The kernel reads `value` when the request is submitted, not when it is queued.
int cshims_ring_setsockopt(cshims_ring *ring, int fd, int level, int name, const void *value, unsigned length,
                           uint64_t user_data);
/// close(fd) as IORING_OP_CLOSE (Linux 5.6): the descriptor number stays taken until it is submitted.
int cshims_ring_close(cshims_ring *ring, int fd, uint64_t user_data);
/* IORING_OP_CONNECT (Linux 5.5): the kernel copies the address when the request is submitted. */
int cshims_ring_connect(cshims_ring *ring, int fd, const struct sockaddr *addr, socklen_t len, uint64_t user_data);

/// A provided-buffer ring (struct io_uring_buf_ring and its registration) behind an opaque pointer.
typedef struct cshims_buffer_ring cshims_buffer_ring;
/// Allocates a buffer ring of `entries` (a power of two) and registers it as group `group`
/// (io_uring_register_buf_ring, Linux 5.19); NULL with *error = -errno on failure. It starts empty.
cshims_buffer_ring *cshims_ring_register_buffers(cshims_ring *ring, unsigned entries, uint16_t group, int *error);
/// Frees the ring's memory (after the io_uring it was registered with is gone).
void cshims_buffer_ring_free(cshims_buffer_ring *buffers);
/// io_uring_buf_ring_add: buffer `id` at `address`, `offset` places after those added since the last advance.
void cshims_buffer_ring_add(cshims_buffer_ring *buffers, void *address, unsigned length, uint16_t id, int offset);
/// io_uring_buf_ring_advance: makes `count` added buffers visible to the kernel.
void cshims_buffer_ring_advance(cshims_buffer_ring *buffers, int count);
/// io_uring_submit_and_get_events: submits and runs completions without waiting.
int cshims_ring_submit(cshims_ring *ring);
/// io_uring_sq_ready: requests queued and not yet submitted.
unsigned cshims_ring_queued(cshims_ring *ring);
/// Submits and waits for at least one completion: io_uring_submit_and_wait (timeout_ms < 0) or
/// io_uring_submit_and_wait_timeout (-ETIME when it ran out).
int cshims_ring_submit_and_wait(cshims_ring *ring, int timeout_ms);
/// Copies up to `max` (at most 256) completions into `out` and marks them seen.
int cshims_ring_reap(cshims_ring *ring, cshims_completion *out, int max);

/// malloc_trim(0): glibc hands the free memory of every heap back to the kernel. 1 when some was released.
int cshims_malloc_trim(void);

#endif
