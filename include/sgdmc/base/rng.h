/* Random streams of a run. Each purpose (initialization, sampling, the
 * teacher) gets its own GSL mt19937 generator, seeded from the run's seed
 * through splitmix64, so that changing the batch size does not change the
 * initial network and two purposes never share a stream. */
#ifndef SGDMC_RNG_H
#define SGDMC_RNG_H

#include <gsl/gsl_rng.h>

typedef enum {
    SGDMC_STREAM_INIT,
    SGDMC_STREAM_SAMPLE,
    SGDMC_STREAM_TEACHER,
    SGDMC_STREAM_GRAM, /* the Gram measures' inputs, the same for every run */
    SGDMC_STREAM_ESTIMATE, /* the starts of the R* estimate, the same for every run */
} sgdmc_stream;

/* A generator for `stream` of `seed`; NULL when out of memory. */
gsl_rng *sgdmc_rng_alloc(unsigned long seed, sgdmc_stream stream);
/* Restarts rng as the generator sgdmc_rng_alloc(seed, stream) would return. */
void sgdmc_rng_seed(gsl_rng *rng, unsigned long seed, sgdmc_stream stream);

/* splitmix64 (Steele, Lea, Flood 2014): a bijective 64-bit mixer. */
unsigned long long sgdmc_splitmix64(unsigned long long x);

#endif
