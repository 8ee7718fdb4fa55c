/* Cancelling a long computation from outside: a study must stop within two
 * seconds of SIGTERM whatever it is doing (training, an R* solve, the grid
 * fit, the estimate, a Gram matrix), and its master keeps serving workers
 * while it computes. Every long loop asks its sgdmc_cancel now and then;
 * the poll is cheap (a study's rate-limits itself) and a non-zero answer
 * stops the computation, which then returns SGDMC_CANCELLED and leaves
 * nothing behind that could pass for a result (no cache entry). */
#ifndef SGDMC_CANCEL_H
#define SGDMC_CANCEL_H

#include <stdbool.h>
#include <stddef.h>

/* Non-zero: stop now. */
typedef int (*sgdmc_poll_fn)(void *context);

typedef struct {
    sgdmc_poll_fn poll; /* NULL: never cancelled */
    void *context;
} sgdmc_cancel;

/* The status a cancelled computation returns (0 is success, -1 failure). */
enum { SGDMC_CANCELLED = 1 };

/* Asks the poll; false for a NULL cancel or poll. */
static inline bool sgdmc_cancel_requested(const sgdmc_cancel *cancel)
{
    return cancel && cancel->poll && cancel->poll(cancel->context) != 0;
}

#endif
