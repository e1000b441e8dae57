// loadgen: the bench's own small HTTP/1.1 client, for the two jobs wrk cannot do.
//
//   loadgen latency --target HOST:PORT [--target ...] --conns N --rate R --duration SEC [--warmup SEC] [--path P]
//       Open loop: request i is due at t0 + i/R whatever happened to the earlier ones, and goes out on
//       connection i mod N (pipelined behind earlier requests if one is still outstanding there). Latency is
//       measured from the due time, not from the actual send, so a stall in the proxy (or in this client)
//       counts in full (no coordinated omission). Prints one JSON object: percentiles in microseconds, how
//       many were sent/answered, and how late the client itself sent (to show it is not the bottleneck).
//
//   loadgen hold --target HOST:PORT [--target ...] --conns N [--path P] [--timeout SEC]
//       Opens N connections (at most 256 connecting at a time), sends one request on each and reads its
//       answer, then prints {"ready": ...} and keeps all of them open and idle until stdin closes (or a
//       hard limit of 120 s), then closes them and prints {"closed": ...}.
//
// Connections are spread over the targets in turn. Every loop is bounded in time. Build: gcc -O2 -o loadgen loadgen.c
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_TARGETS 8
#define BUF 65536
#define FIFO 4096

static struct sockaddr_in targets[MAX_TARGETS];
static int ntargets;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void parse_target(const char *s) {
    if (ntargets == MAX_TARGETS) { fprintf(stderr, "loadgen: too many targets\n"); exit(2); }
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host) { fprintf(stderr, "loadgen: bad target %s\n", s); exit(2); }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    struct sockaddr_in *a = &targets[ntargets++];
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) { fprintf(stderr, "loadgen: bad host %s\n", host); exit(2); }
}

static int open_conn(int i, int nonblocking_connect) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking_connect ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const struct sockaddr_in *a = &targets[i % ntargets];
    if (connect(fd, (const struct sockaddr *)a, sizeof *a) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    if (!nonblocking_connect) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

// ---- HTTP/1.1 response framing: head up to CRLFCRLF, then Content-Length bytes of body. ----
// Returns the length of the first complete response in buf[0..len), 0 if incomplete, -1 if malformed.
static long response_length(const char *buf, size_t len) {
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end) return len > 16384 ? -1 : 0;
    size_t head = (size_t)(end - buf) + 4;
    long body = 0;
    for (const char *p = buf; p < end;) {
        const char *eol = memmem(p, (size_t)(end - p) + 2, "\r\n", 2);
        if (!eol) break;
        if (eol - p > 15 && strncasecmp(p, "Content-Length:", 15) == 0) body = strtol(p + 15, NULL, 10);
        p = eol + 2;
    }
    if (strncmp(buf, "HTTP/1.", 7) != 0) return -1;
    return (head + (size_t)body <= len) ? (long)(head + (size_t)body) : 0;
}

static int status_ok(const char *buf) { return buf[9] == '2'; }

// ---- latency ----
typedef struct {
    int fd;
    int index;
    int dead;
    int reconnects;
    char out[BUF];
    size_t out_start, out_len;
    char in[BUF];
    size_t in_len;
    uint64_t due[FIFO];  // due times of outstanding requests, in order
    unsigned head, count;
    int want_out;
} lconn;

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, size_t n, double p) {
    if (n == 0) return -1;
    size_t k = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    if (k >= n) k = n - 1;
    return (double)v[k] / 1000.0;
}

static int ep;
static char lreq[512];
static int lreqlen;
static long total_reconnects;

// The server closed a kept-alive connection (nginx closes one after keepalive_requests): open a new one and
// send again every request still unanswered, with its original due time, as an HTTP client retries an idempotent
// GET. Gives up (connection dead, its requests errors) after 1000 reconnects of one connection.
static int reconnect(lconn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (++c->reconnects > 1000 || (size_t)c->count * (size_t)lreqlen > BUF) return -1;
    c->fd = open_conn(c->index, 1);
    if (c->fd < 0) return -1;
    total_reconnects++;
    c->in_len = 0;
    c->out_start = 0;
    c->out_len = 0;
    for (unsigned i = 0; i < c->count; i++) {
        memcpy(c->out + c->out_len, lreq, (size_t)lreqlen);
        c->out_len += (size_t)lreqlen;
    }
    c->want_out = 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    return 0;
}

static void set_out(lconn *c, int want) {
    if (c->want_out == want) return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
}

static void flush_out(lconn *c, long *errors) {
    while (c->out_len > 0) {
        ssize_t n = send(c->fd, c->out + c->out_start, c->out_len, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_start += (size_t)n;
            c->out_len -= (size_t)n;
        } else if (n < 0 && errno == EAGAIN) {
            set_out(c, 1);
            return;
        } else {
            if (reconnect(c) == 0) return;
            c->dead = 1;
            *errors += c->count;
            c->count = 0;
            return;
        }
    }
    c->out_start = 0;
    set_out(c, 0);
}

static int run_latency(int conns, double rate, double duration, double warmup, const char *path) {
    lreqlen = snprintf(lreq, sizeof lreq, "GET %s HTTP/1.1\r\nHost: bench\r\nUser-Agent: loadgen\r\n\r\n", path);
    const char *req = lreq;
    int reqlen = lreqlen;
    ep = epoll_create1(EPOLL_CLOEXEC);
    lconn *cs = calloc((size_t)conns, sizeof *cs);
    if (!cs) die("calloc");
    for (int i = 0; i < conns; i++) {
        cs[i].index = i;
        cs[i].fd = open_conn(i, 0);
        if (cs[i].fd < 0) die("connect");
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

    uint64_t interval = (uint64_t)(1e9 / rate);
    uint64_t total = (uint64_t)(rate * (warmup + duration));
    uint64_t nwarm = (uint64_t)(rate * warmup);
    uint64_t *lat = malloc(sizeof(uint64_t) * (total + 1));
    uint64_t *lag = malloc(sizeof(uint64_t) * (total + 1));
    if (!lat || !lag) die("malloc");
    size_t nlat = 0, nlag = 0;
    long errors = 0, non2xx = 0, overflow = 0;
    uint64_t sent = 0, answered = 0;
    uint64_t t0 = now_ns() + 20000000ull;  // start 20 ms from now
    uint64_t drain_until = t0 + (uint64_t)((warmup + duration) * 1e9) + 2000000000ull;  // 2 s to drain
    uint64_t hard_stop = drain_until + 1000000000ull;
    struct epoll_event evs[256];

    for (;;) {
        uint64_t now = now_ns();
        // Send everything that is due.
        while (sent < total && t0 + sent * interval <= now) {
            uint64_t due = t0 + sent * interval;
            lconn *c = &cs[sent % (uint64_t)conns];
            if (c->dead) {
                errors++;
            } else if (c->count == FIFO || c->out_start + c->out_len + (size_t)reqlen > BUF) {
                overflow++;
            } else {
                memcpy(c->out + c->out_start + c->out_len, req, (size_t)reqlen);
                c->out_len += (size_t)reqlen;
                c->due[(c->head + c->count) % FIFO] = due;
                c->count++;
                if (!c->want_out) flush_out(c, &errors);
                if (sent >= nwarm) lag[nlag++] = now_ns() - due;
            }
            sent++;
        }
        int pending = 0;
        for (int i = 0; i < conns; i++) pending += (int)cs[i].count;
        if (sent >= total && pending == 0) break;
        if (now > (sent >= total ? drain_until : hard_stop)) break;
        // Arm the timer for the next due send (absolute), or for the drain deadline.
        uint64_t next = sent < total ? t0 + sent * interval : drain_until;
        struct itimerspec its = {0};
        its.it_value.tv_sec = (time_t)(next / 1000000000ull);
        its.it_value.tv_nsec = (long)(next % 1000000000ull);
        timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        int n = epoll_wait(ep, evs, 256, 1000);
        for (int k = 0; k < n; k++) {
            lconn *c = evs[k].data.ptr;
            if (!c) {
                uint64_t x;
                while (read(tfd, &x, sizeof x) > 0) {}
                continue;
            }
            if (c->dead) continue;
            if (evs[k].events & EPOLLOUT) flush_out(c, &errors);
            if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                for (;;) {
                    ssize_t r = recv(c->fd, c->in + c->in_len, BUF - c->in_len, 0);
                    if (r > 0) {
                        c->in_len += (size_t)r;
                        uint64_t t = now_ns();
                        long len;
                        while ((len = response_length(c->in, c->in_len)) > 0) {
                            if (c->count > 0) {
                                uint64_t due = c->due[c->head];
                                c->head = (c->head + 1) % FIFO;
                                c->count--;
                                answered++;
                                if (!status_ok(c->in)) non2xx++;
                                if (due >= t0 + nwarm * interval) lat[nlat++] = t - due;
                            }
                            memmove(c->in, c->in + len, c->in_len - (size_t)len);
                            c->in_len -= (size_t)len;
                        }
                        if (len < 0) { c->dead = 1; errors += c->count; c->count = 0; break; }
                        if (c->in_len == BUF) { c->dead = 1; errors += c->count; c->count = 0; break; }
                    } else if (r < 0 && errno == EAGAIN) {
                        break;
                    } else {
                        // Closed by the server (or reset): a new connection takes over its requests.
                        if (reconnect(c) == 0) break;
                        c->dead = 1;
                        errors += c->count;
                        c->count = 0;
                        break;
                    }
                }
            }
        }
    }
    long unanswered = 0;
    for (int i = 0; i < conns; i++) unanswered += (long)cs[i].count;
    qsort(lat, nlat, sizeof *lat, cmp_u64);
    qsort(lag, nlag, sizeof *lag, cmp_u64);
    double span = (double)(now_ns() - t0) / 1e9;
    printf("{\"mode\":\"latency\",\"rate\":%.0f,\"conns\":%d,\"duration\":%.3f,\"warmup\":%.3f,"
           "\"sent\":%llu,\"answered\":%llu,\"measured\":%zu,\"errors\":%ld,\"non2xx\":%ld,\"overflow\":%ld,"
           "\"unanswered\":%ld,\"reconnects\":%ld,\"wall\":%.3f,"
           "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
           "\"send_lag_p50_us\":%.1f,\"send_lag_p99_us\":%.1f,\"send_lag_max_us\":%.1f}\n",
           rate, conns, duration, warmup, (unsigned long long)sent, (unsigned long long)answered, nlat, errors,
           non2xx, overflow, unanswered, total_reconnects, span, pct(lat, nlat, 50), pct(lat, nlat, 90), pct(lat, nlat, 99),
           pct(lat, nlat, 99.9), nlat ? (double)lat[nlat - 1] / 1000.0 : -1, pct(lag, nlag, 50), pct(lag, nlag, 99),
           nlag ? (double)lag[nlag - 1] / 1000.0 : -1);
    return 0;
}

// ---- hold ----
typedef struct {
    int fd;
    int state;  // 0 connecting, 1 sent (awaiting answer), 2 idle (held), 3 failed
    size_t sent;
    char in[4096];
    size_t in_len;
} hconn;

static int run_hold(int conns, const char *path, double timeout) {
    char req[512];
    int reqlen = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: bench\r\nUser-Agent: loadgen\r\n\r\n", path);
    ep = epoll_create1(EPOLL_CLOEXEC);
    hconn *cs = calloc((size_t)conns, sizeof *cs);
    if (!cs) die("calloc");
    int opened = 0, inflight = 0, ready = 0, failed = 0;
    long non2xx = 0;
    uint64_t deadline = now_ns() + (uint64_t)(timeout * 1e9);
    struct epoll_event evs[256];
    uint64_t t0 = now_ns();
    while (ready + failed < conns && now_ns() < deadline) {
        while (opened < conns && inflight < 256) {
            hconn *c = &cs[opened];
            c->fd = open_conn(opened, 1);
            opened++;
            if (c->fd < 0) { c->state = 3; failed++; continue; }
            struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            inflight++;
        }
        int n = epoll_wait(ep, evs, 256, 100);
        for (int k = 0; k < n; k++) {
            hconn *c = evs[k].data.ptr;
            if (c->state >= 2) continue;
            if (evs[k].events & (EPOLLERR)) goto fail;
            if (c->state == 0 && (evs[k].events & EPOLLOUT)) {
                ssize_t w = send(c->fd, req + c->sent, (size_t)reqlen - c->sent, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN) goto fail;
                if (w > 0) c->sent += (size_t)w;
                if (c->sent == (size_t)reqlen) {
                    c->state = 1;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if (evs[k].events & (EPOLLIN | EPOLLHUP)) {
                ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN)) goto fail;
                if (r > 0) {
                    c->in_len += (size_t)r;
                    long len = response_length(c->in, c->in_len);
                    if (len < 0) goto fail;
                    if (len > 0) {
                        if (!status_ok(c->in)) non2xx++;
                        c->state = 2;
                        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                        ready++;
                        inflight--;
                    }
                }
            }
            continue;
        fail:
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->state = 3;
            failed++;
            inflight--;
        }
    }
    printf("{\"mode\":\"hold\",\"ready\":%d,\"failed\":%d,\"non2xx\":%ld,\"pending\":%d,\"open_seconds\":%.3f}\n", ready,
           failed, non2xx, conns - ready - failed, (double)(now_ns() - t0) / 1e9);
    fflush(stdout);
    // Hold until stdin closes (or any line arrives), at most 120 s.
    struct pollfd p = {.fd = 0, .events = POLLIN};
    poll(&p, 1, 120000);
    // Count connections the far side closed while we held them.
    int dropped = 0;
    for (int i = 0; i < conns; i++) {
        if (cs[i].state != 2) continue;
        char b;
        ssize_t r = recv(cs[i].fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);
        if (r == 0 || (r < 0 && errno != EAGAIN)) dropped++;
        close(cs[i].fd);
    }
    printf("{\"closed\":%d,\"dropped_while_held\":%d}\n", ready, dropped);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: loadgen latency|hold --target HOST:PORT ... [options]\n");
        return 2;
    }
    const char *mode = argv[1];
    int conns = 32;
    double rate = 5000, duration = 5, warmup = 1, timeout = 30;
    const char *path = "/";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) { fprintf(stderr, "loadgen: %s needs a value\n", a); return 2; }
        if (!strcmp(a, "--target")) parse_target(v);
        else if (!strcmp(a, "--conns")) conns = atoi(v);
        else if (!strcmp(a, "--rate")) rate = atof(v);
        else if (!strcmp(a, "--duration")) duration = atof(v);
        else if (!strcmp(a, "--warmup")) warmup = atof(v);
        else if (!strcmp(a, "--timeout")) timeout = atof(v);
        else if (!strcmp(a, "--path")) path = v;
        else { fprintf(stderr, "loadgen: unknown option %s\n", a); return 2; }
        i++;
    }
    if (ntargets == 0 || conns < 1 || rate <= 0 || duration <= 0 || duration > 600 || timeout > 600) {
        fprintf(stderr, "loadgen: need --target, conns >= 1, 0 < duration <= 600\n");
        return 2;
    }
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(mode, "latency")) return run_latency(conns, rate, duration, warmup, path);
    if (!strcmp(mode, "hold")) return run_hold(conns, path, timeout);
    fprintf(stderr, "loadgen: unknown mode %s\n", mode);
    return 2;
}
