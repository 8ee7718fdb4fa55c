/* Random streams of a run. Each purpose (initialization, sampling, the
 * teacher) gets its own GSL mt19937 generator, seeded from the run's seed
 * through splitmix64, so that changing the batch size does not change the
 * initial network and two purposes never share a stream. */
#ifndef SGDMC_RNG_H
#define SGDMC_RNG_H

#include <gsl/gsl_rng.h>

#include "sgdmc/base/mt_block.h"

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
/* A generator of sgdmc_rng_alloc's kind whose state is `block`, for a
 * per-run stream: no allocation, and not seeded (gsl_rng_alloc seeds with
 * GSL's default before sgdmc_rng_seed seeds again); seed it before use. */
gsl_rng sgdmc_rng_on(sgdmc_mt_block *block);
/* sgdmc_rng_seed(a, seed, stream_a) and sgdmc_rng_seed(b, seed, stream_b),
 * two seedings side by side where both are block generators
 * (sgdmc_mt_block_seed_two) */
void sgdmc_rng_seed_two(gsl_rng *a, sgdmc_stream stream_a, gsl_rng *b, sgdmc_stream stream_b,
                        unsigned long seed);

/* splitmix64 (Steele, Lea, Flood 2014): a bijective 64-bit mixer. */
unsigned long long sgdmc_splitmix64(unsigned long long x);

#endif
