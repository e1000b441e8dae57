// An LD_PRELOAD malloc counter for tessera-lb's allocation check (bench/alloc/run).
// Counts calls to malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign in the whole process and
// prints the total to stderr on SIGUSR1 (write(2) only: async-signal-safe). Forwards to glibc's __libc_* entry points.
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_ulong allocations;

void *malloc(size_t n) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { return memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    void *p = memalign(a, n);
    if (!p) return 12;
    *out = p;
    return 0;
}

static void report(int sig) {
    (void)sig;
    char text[64] = "malloc-count ";
    char digits[24];
    int k = 0;
    unsigned long v = atomic_load(&allocations);
    do { digits[k++] = (char)('0' + v % 10); v /= 10; } while (v);
    size_t len = strlen(text);
    while (k) text[len++] = digits[--k];
    text[len++] = '\n';
    (void)!write(2, text, len);
}

__attribute__((constructor)) static void install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = report;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
}
