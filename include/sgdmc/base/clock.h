/* Wall-clock seconds for timing, progress and dispatch decisions. */
#ifndef SGDMC_CLOCK_H
#define SGDMC_CLOCK_H

#include <time.h>

/* Seconds on the monotonic clock, from an arbitrary origin. */
static inline double sgdmc_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
