// The only file that includes <liburing.h> (see CShims.h for why).
#ifndef _GNU_SOURCE
#error "CShims must be compiled with _GNU_SOURCE"
#endif

#include "CShims.h"
#include <liburing.h>

int cshims_uring_probe(void) {
    struct io_uring ring;
    int rc = io_uring_queue_init(8, &ring, 0);
    if (rc < 0) return rc;
    io_uring_queue_exit(&ring);
    return 0;
}
