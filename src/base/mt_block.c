/* GSL's mt19937 (Matsumoto and Nishimura 1998, GSL's seeding) in blocks of 624 words. */
#include "sgdmc/base/mt_block.h"

enum { N = SGDMC_MT_WORDS, M = 397 };

static inline uint32_t twist(uint32_t upper, uint32_t lower, uint32_t far)
{
    const uint32_t y = (upper & 0x80000000u) | (lower & 0x7fffffffu);
    return far ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
}

/* GSL's seeding: the low 32 bits of the seed (0 meaning 4357), then each word
 * from the one before it */
static uint32_t first_word(unsigned long seed)
{
    return (uint32_t)((seed ? seed : 4357UL) & 0xffffffffUL);
}

static inline uint32_t next_seed_word(uint32_t previous, uint32_t i)
{
    return 1812433253u * (previous ^ (previous >> 30)) + i;
}

void sgdmc_mt_block_seed(sgdmc_mt_block *g, unsigned long seed)
{
    uint32_t word = first_word(seed);
    g->state[0] = word;
    for (uint32_t i = 1; i < N; i++)
        g->state[i] = word = next_seed_word(word, i);
    g->next = N;
}

void sgdmc_mt_block_seed_two(sgdmc_mt_block *a, unsigned long seed_a, sgdmc_mt_block *b,
                             unsigned long seed_b)
{
    /* the two chains in one loop, in locals, so that neither waits on the
     * other's multiplies */
    uint32_t word_a = first_word(seed_a), word_b = first_word(seed_b);
    a->state[0] = word_a;
    b->state[0] = word_b;
    for (uint32_t i = 1; i < N; i++) {
        a->state[i] = word_a = next_seed_word(word_a, i);
        b->state[i] = word_b = next_seed_word(word_b, i);
    }
    a->next = b->next = N;
}

/* The standard in-place twist and the tempering, of `streams` generators
 * whose words are interleaved (word k of generator s at k * streams + s): the
 * same recurrence for each, so one flat pass serves any number. */
static inline void twist_and_temper(uint32_t *restrict mt, uint32_t *restrict out, int streams)
{
    const int n = N * streams, m = M * streams, step = streams;
    /* the three ranges of the standard in-place twist: each reads words of the
     * previous state ahead of it, or of the new state behind it */
    for (int k = 0; k < n - m; k++)
        mt[k] = twist(mt[k], mt[k + step], mt[k + m]);
    for (int k = n - m; k < n - step; k++)
        mt[k] = twist(mt[k], mt[k + step], mt[k + m - n]);
    for (int k = n - step; k < n; k++)
        mt[k] = twist(mt[k], mt[k + step - n], mt[k + m - n]);
    for (int k = 0; k < n; k++) {
        uint32_t y = mt[k];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        out[k] = y;
    }
}

void sgdmc_mt_block_refill(sgdmc_mt_block *g)
{
    twist_and_temper(g->state, g->words, 1);
    g->next = 0;
}

void sgdmc_mt_refill_interleaved(uint32_t *restrict state, uint32_t *restrict words, int streams)
{
    twist_and_temper(state, words, streams);
}

static void type_set(void *state, unsigned long seed) { sgdmc_mt_block_seed(state, seed); }
static unsigned long type_get(void *state) { return sgdmc_mt_block_get(state); }
static double type_get_double(void *state) { return sgdmc_mt_block_uniform(state); }

static const gsl_rng_type block_type = {
    "sgdmc_mt19937_block", 0xffffffffUL, 0, sizeof(sgdmc_mt_block),
    type_set, type_get, type_get_double};

const gsl_rng_type *const sgdmc_mt_block_type = &block_type;

sgdmc_mt_block *sgdmc_mt_block_of(gsl_rng *rng)
{
    return rng->type == &block_type ? rng->state : NULL;
}
