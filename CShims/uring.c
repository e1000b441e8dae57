// The only file that includes <liburing.h> (see CShims.h for why). Each function is one liburing call, or
// the SQE-getting boilerplate around one prep helper; what to submit, when and why is decided in Swift.
#ifndef _GNU_SOURCE
#error "CShims must be compiled with _GNU_SOURCE"
#endif

#include "CShims.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <liburing.h>

struct cshims_ring {
    struct io_uring ring;
};

const uint32_t CSHIMS_RING_SETUP_CQSIZE = IORING_SETUP_CQSIZE;
const uint32_t CSHIMS_RING_SETUP_R_DISABLED = IORING_SETUP_R_DISABLED;
const uint32_t CSHIMS_RING_SETUP_SUBMIT_ALL = IORING_SETUP_SUBMIT_ALL;
const uint32_t CSHIMS_RING_SETUP_COOP_TASKRUN = IORING_SETUP_COOP_TASKRUN;
const uint32_t CSHIMS_RING_SETUP_SINGLE_ISSUER = IORING_SETUP_SINGLE_ISSUER;
const uint32_t CSHIMS_RING_SETUP_DEFER_TASKRUN = IORING_SETUP_DEFER_TASKRUN;
const uint32_t CSHIMS_RING_CQE_F_MORE = IORING_CQE_F_MORE;
const uint32_t CSHIMS_RING_CQE_F_BUFFER = IORING_CQE_F_BUFFER;
const uint32_t CSHIMS_RING_CQE_BUFFER_SHIFT = IORING_CQE_BUFFER_SHIFT;
const uint32_t CSHIMS_POLLIN = POLLIN;
const uint32_t CSHIMS_POLLOUT = POLLOUT;
const uint32_t CSHIMS_POLLRDHUP = POLLRDHUP;

cshims_ring *cshims_ring_create(unsigned entries, unsigned cq_entries, uint32_t flags, int *error) {
    cshims_ring *r = calloc(1, sizeof *r);
    if (!r) {
        *error = -ENOMEM;
        return NULL;
    }
    struct io_uring_params p = {0};
    p.flags = flags;
    p.cq_entries = cq_entries;
    int rc = io_uring_queue_init_params(entries, &r->ring, &p);
    if (rc < 0) {
        free(r);
        *error = rc;
        return NULL;
    }
    *error = 0;
    return r;
}

void cshims_ring_destroy(cshims_ring *r) {
    io_uring_queue_exit(&r->ring);
    free(r);
}

// liburing 2.3 declares io_uring_enable_rings but its library does not export it: the syscall itself.
int cshims_ring_enable(cshims_ring *r) {
    int rc = (int)syscall(SYS_io_uring_register, r->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
    return rc < 0 ? -errno : rc;
}

int cshims_ring_register_ring_fd(cshims_ring *r) { return io_uring_register_ring_fd(&r->ring); }

// An SQE, submitting what is queued when the submission queue is full.
static struct io_uring_sqe *sqe_of(cshims_ring *r) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (sqe) return sqe;
    io_uring_submit(&r->ring);
    return io_uring_get_sqe(&r->ring);
}

int cshims_ring_accept(cshims_ring *r, int fd, uint64_t user_data) {
    struct io_uring_sqe *sqe = sqe_of(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_accept(sqe, fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cshims_ring_poll_multishot(cshims_ring *r, int fd, uint32_t mask, uint64_t user_data) {
    struct io_uring_sqe *sqe = sqe_of(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_poll_multishot(sqe, fd, mask);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cshims_ring_poll_once(cshims_ring *r, int fd, uint32_t mask, uint64_t user_data) {
    struct io_uring_sqe *sqe = sqe_of(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_poll_add(sqe, fd, mask);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cshims_ring_cancel(cshims_ring *r, uint64_t target, uint64_t user_data) {
    struct io_uring_sqe *sqe = sqe_of(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_cancel64(sqe, target, 0);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cshims_ring_cancel_all(cshims_ring *r, uint64_t target, uint64_t user_data) {
    struct io_uring_sqe *sqe = sqe_of(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_cancel64(sqe, target, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cshims_ring_recv_multishot(cshims_ring *r, int fd, uint16_t group, uint64_t user_data) {
    struct io_uring_sqe *sqe = sqe_of(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = group;
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cshims_ring_send(cshims_ring *r, int fd, const void *buffer, size_t length, uint64_t user_data) {
    struct io_uring_sqe *sqe = sqe_of(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_send(sqe, fd, buffer, length, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

// liburing 2.3 and Linux 6.1's headers predate the socket commands (Linux 6.7), so the SQE's fields for them
// are set through the older names of the same words: level and optname in `addr`, optlen in `file_index`,
// optval in `addr3` (include/uapi/linux/io_uring.h of 6.7).
#ifndef SOCKET_URING_OP_SETSOCKOPT
#define SOCKET_URING_OP_SETSOCKOPT 3
#endif
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "level is the low word of addr");

int cshims_ring_setsockopt(cshims_ring *r, int fd, int level, int name, const void *value, unsigned length,
                           uint64_t user_data) {
    struct io_uring_sqe *sqe = sqe_of(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
    sqe->cmd_op = SOCKET_URING_OP_SETSOCKOPT;
    sqe->addr = (uint64_t)(uint32_t)level | (uint64_t)(uint32_t)name << 32;
    sqe->file_index = length;
    sqe->addr3 = (uint64_t)(uintptr_t)value;
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cshims_ring_close(cshims_ring *r, int fd, uint64_t user_data) {
    struct io_uring_sqe *sqe = sqe_of(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_close(sqe, fd);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int cshims_ring_connect(cshims_ring *r, int fd, const struct sockaddr *addr, socklen_t len, uint64_t user_data) {
    struct io_uring_sqe *sqe = sqe_of(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_connect(sqe, fd, addr, len);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

struct cshims_buffer_ring {
    struct io_uring_buf_ring *br;
    unsigned entries;
    uint16_t group;
};

cshims_buffer_ring *cshims_ring_register_buffers(cshims_ring *r, unsigned entries, uint16_t group, int *error) {
    cshims_buffer_ring *b = calloc(1, sizeof *b);
    if (!b) {
        *error = -ENOMEM;
        return NULL;
    }
    void *mem = NULL;
    if (posix_memalign(&mem, 4096, entries * sizeof(struct io_uring_buf)) != 0) {
        free(b);
        *error = -ENOMEM;
        return NULL;
    }
    b->br = mem;
    b->entries = entries;
    b->group = group;
    io_uring_buf_ring_init(b->br);
    struct io_uring_buf_reg reg = {0};
    reg.ring_addr = (unsigned long)b->br;
    reg.ring_entries = entries;
    reg.bgid = group;
    int rc = io_uring_register_buf_ring(&r->ring, &reg, 0);
    if (rc < 0) {
        free(b->br);
        free(b);
        *error = rc;
        return NULL;
    }
    *error = 0;
    return b;
}

void cshims_buffer_ring_free(cshims_buffer_ring *b) {
    free(b->br);
    free(b);
}

void cshims_buffer_ring_add(cshims_buffer_ring *b, void *address, unsigned length, uint16_t id, int offset) {
    io_uring_buf_ring_add(b->br, address, length, id, io_uring_buf_ring_mask(b->entries), offset);
}

void cshims_buffer_ring_advance(cshims_buffer_ring *b, int count) { io_uring_buf_ring_advance(b->br, count); }

int cshims_ring_submit(cshims_ring *r) { return io_uring_submit_and_get_events(&r->ring); }

unsigned cshims_ring_queued(cshims_ring *r) { return io_uring_sq_ready(&r->ring); }

int cshims_ring_submit_and_wait(cshims_ring *r, int timeout_ms) {
    struct io_uring_cqe *cqe = NULL;
    if (timeout_ms < 0) return io_uring_submit_and_wait(&r->ring, 1);
    struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};
    return io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, &ts, NULL);
}

int cshims_ring_reap(cshims_ring *r, cshims_completion *out, int max) {
    struct io_uring_cqe *cqes[256];
    if (max > 256) max = 256;
    unsigned n = io_uring_peek_batch_cqe(&r->ring, cqes, (unsigned)max);
    for (unsigned i = 0; i < n; i++) {
        out[i].user_data = cqes[i]->user_data;
        out[i].res = cqes[i]->res;
        out[i].flags = cqes[i]->flags;
    }
    io_uring_cq_advance(&r->ring, n);
    return (int)n;
}

// The worker reads poll masks with epoll's names.
_Static_assert(POLLIN == EPOLLIN && POLLOUT == EPOLLOUT && POLLERR == EPOLLERR && POLLHUP == EPOLLHUP &&
                   POLLRDHUP == EPOLLRDHUP,
               "poll and epoll bits agree");
