/* Seeding of a run's independent random streams. */
#include "sgdmc/base/rng.h"

#include "sgdmc/base/mt_block.h"

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

void sgdmc_rng_seed(gsl_rng *rng, unsigned long seed, sgdmc_stream stream)
{
    /* mt19937 keeps 32 bits of its seed; mix all 64 bits of seed and stream
     * into them. A zero seed would make GSL substitute its default, 4357. */
    unsigned long long mixed = sgdmc_splitmix64(sgdmc_splitmix64(seed) + (unsigned long long)stream);
    unsigned long s = (unsigned long)(mixed & 0xffffffffULL);
    gsl_rng_set(rng, s ? s : 1UL);
}
