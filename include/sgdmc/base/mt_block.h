/* GSL's mt19937 stream, made 624 words at a time.
 *
 * The generator gives exactly the words gsl_rng_mt19937 gives for the same
 * seed (the same seeding, twist and tempering), but twists and tempers the
 * whole state in one vectorizable pass and hands the words out from a buffer,
 * so that a draw in a hot loop is an inline load instead of a call through
 * GSL's function pointer. It is also a gsl_rng_type, so that GSL's samplers
 * that take a variable number of words per sample (the ziggurat normal) draw
 * from the same stream. */
#ifndef SGDMC_MT_BLOCK_H
#define SGDMC_MT_BLOCK_H

#include <gsl/gsl_rng.h>
#include <stdint.h>

#define SGDMC_MT_WORDS 624

typedef struct {
    uint32_t state[SGDMC_MT_WORDS];
    uint32_t words[SGDMC_MT_WORDS]; /* tempered output of the last twist */
    int next;                       /* next word to hand out; SGDMC_MT_WORDS: twist first */
} sgdmc_mt_block;

/* The generator type for gsl_rng_alloc; its state is an sgdmc_mt_block. */
extern const gsl_rng_type *const sgdmc_mt_block_type;

/* gsl_rng_set(gsl_rng_mt19937, seed), seed 0 meaning GSL's 4357. */
void sgdmc_mt_block_seed(sgdmc_mt_block *g, unsigned long seed);
/* sgdmc_mt_block_seed of two generators at once. A seeding is a serial chain
 * of 623 multiplies, latency-bound; two chains side by side take about the
 * time of one (seeding was 3.5% of a w1 d1 study). */
void sgdmc_mt_block_seed_two(sgdmc_mt_block *a, unsigned long seed_a, sgdmc_mt_block *b,
                             unsigned long seed_b);
/* Twists the state and tempers the next SGDMC_MT_WORDS words. */
void sgdmc_mt_block_refill(sgdmc_mt_block *g);

/* sgdmc_mt_block_refill of `streams` generators at once, their state and
 * words interleaved word by word: word k of generator s at k * streams + s
 * in both. Lockstep lanes draw every lane's next word in one load. */
void sgdmc_mt_refill_interleaved(uint32_t *restrict state, uint32_t *restrict words, int streams);

/* The block state of a generator of sgdmc_mt_block_type, NULL for another type. */
sgdmc_mt_block *sgdmc_mt_block_of(gsl_rng *rng);

static inline uint32_t sgdmc_mt_block_get(sgdmc_mt_block *g)
{
    if (g->next == SGDMC_MT_WORDS)
        sgdmc_mt_block_refill(g);
    return g->words[g->next++];
}

/* gsl_rng_uniform: a word over 2^32, in [0, 1). */
static inline double sgdmc_mt_block_uniform(sgdmc_mt_block *g)
{
    return sgdmc_mt_block_get(g) / 4294967296.0;
}

/* gsl_rng_uniform_int for 1 <= n <= 2^32 - 1: GSL's rejection from word / (range / n). */
static inline unsigned long sgdmc_mt_block_uniform_int(sgdmc_mt_block *g, unsigned long n)
{
    const unsigned long scale = 0xffffffffUL / n;
    unsigned long k;
    do
        k = sgdmc_mt_block_get(g) / scale;
    while (k >= n);
    return k;
}

#endif
