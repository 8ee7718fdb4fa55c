/* Seeding of a run's independent random streams. */
#include "sgdmc/base/rng.h"

unsigned long long sgdmc_splitmix64(unsigned long long x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

gsl_rng *sgdmc_rng_alloc(unsigned long seed, sgdmc_stream stream)
{
    gsl_rng *rng = gsl_rng_alloc(sgdmc_mt_block_type);
    if (rng)
        sgdmc_rng_seed(rng, seed, stream);
    return rng;
}

/* mt19937 keeps 32 bits of its seed: all 64 bits of seed and stream mixed
 * into them. A zero seed would make GSL substitute its default, 4357. */
static unsigned long stream_seed(unsigned long seed, sgdmc_stream stream)
{
    unsigned long long mixed = sgdmc_splitmix64(sgdmc_splitmix64(seed) + (unsigned long long)stream);
    unsigned long s = (unsigned long)(mixed & 0xffffffffULL);
    return s ? s : 1UL;
}

void sgdmc_rng_seed(gsl_rng *rng, unsigned long seed, sgdmc_stream stream)
{
    gsl_rng_set(rng, stream_seed(seed, stream));
}

gsl_rng sgdmc_rng_on(sgdmc_mt_block *block)
{
    return (gsl_rng){.type = sgdmc_mt_block_type, .state = block};
}

void sgdmc_rng_seed_two(gsl_rng *a, sgdmc_stream stream_a, gsl_rng *b, sgdmc_stream stream_b,
                        unsigned long seed)
{
    sgdmc_mt_block *block_a = sgdmc_mt_block_of(a), *block_b = sgdmc_mt_block_of(b);
    if (!block_a || !block_b) {
        sgdmc_rng_seed(a, seed, stream_a);
        sgdmc_rng_seed(b, seed, stream_b);
        return;
    }
    sgdmc_mt_block_seed_two(block_a, stream_seed(seed, stream_a), block_b,
                            stream_seed(seed, stream_b));
}
