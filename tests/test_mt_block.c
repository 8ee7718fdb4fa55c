/* The block mt19937 against GSL's own mt19937: the same words, uniforms,
 * bounded integers and ziggurat normals for the same seeds, across refills
 * and after reseeding; and the interleaved refill of several generators (the
 * lockstep lanes' sampling), word for word each generator's GSL stream. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "harness.h"
#include "sgdmc/base/mt_block.h"
#include "sgdmc/base/rng.h"

enum { DRAWS = 5000 }; /* 8 refills of 624 words */

static void same_stream(unsigned long seed)
{
    gsl_rng *gsl = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng *block = gsl_rng_alloc(sgdmc_mt_block_type);
    gsl_rng_set(gsl, seed);
    gsl_rng_set(block, seed);
    sgdmc_mt_block *g = sgdmc_mt_block_of(block);
    CHECK(g != NULL, "not a block generator");
    int words = 0, uniforms = 0, ints = 0, normals = 0, through_type = 0;
    const unsigned long bounds[] = {1, 2, 3, 7, 100, 4096, 1000003, 0x7fffffffUL, 0xfffffffeUL};
    for (int i = 0; i < DRAWS; i++) {
        words += gsl_rng_get(gsl) == sgdmc_mt_block_get(g);
        uniforms += gsl_rng_uniform(gsl) == sgdmc_mt_block_uniform(g);
        const unsigned long n = bounds[i % (sizeof bounds / sizeof *bounds)];
        ints += gsl_rng_uniform_int(gsl, n) == sgdmc_mt_block_uniform_int(g, n);
        normals += gsl_ran_gaussian_ziggurat(gsl, 1.0) == gsl_ran_gaussian_ziggurat(block, 1.0);
        through_type += gsl_rng_uniform(gsl) == gsl_rng_uniform(block);
    }
    CHECK(words == DRAWS && uniforms == DRAWS && ints == DRAWS && normals == DRAWS &&
              through_type == DRAWS,
          "seed %lu: equal words %d, uniforms %d, integers %d, normals %d, GSL calls %d of %d",
          seed, words, uniforms, ints, normals, through_type, DRAWS);
    gsl_rng_free(gsl);
    gsl_rng_free(block);
}

/* `streams` generators seeded 7, 8, ..., interleaved, against GSL's mt19937
 * for each seed, over 5 refills */
static void same_interleaved(int streams)
{
    enum { MAX_STREAMS = 8, REFILLS = 5 };
    static uint32_t state[SGDMC_MT_WORDS * MAX_STREAMS], words[SGDMC_MT_WORDS * MAX_STREAMS];
    gsl_rng *gsl[MAX_STREAMS];
    for (int s = 0; s < streams; s++) {
        sgdmc_mt_block one;
        sgdmc_mt_block_seed(&one, 7UL + (unsigned long)s);
        for (int k = 0; k < SGDMC_MT_WORDS; k++)
            state[k * streams + s] = one.state[k];
        gsl[s] = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(gsl[s], 7UL + (unsigned long)s);
    }
    int equal = 0;
    for (int r = 0; r < REFILLS; r++) {
        sgdmc_mt_refill_interleaved(state, words, streams);
        for (int k = 0; k < SGDMC_MT_WORDS; k++)
            for (int s = 0; s < streams; s++)
                equal += words[k * streams + s] == gsl_rng_get(gsl[s]);
    }
    CHECK(equal == REFILLS * SGDMC_MT_WORDS * streams,
          "%d interleaved generators: %d of %d words equal GSL's", streams, equal,
          REFILLS * SGDMC_MT_WORDS * streams);
    for (int s = 0; s < streams; s++)
        gsl_rng_free(gsl[s]);
}

/* n uniforms of a and b equal */
static int equal_uniforms(gsl_rng *a, gsl_rng *b, int n)
{
    int equal = 0;
    for (int i = 0; i < n; i++)
        equal += gsl_rng_uniform(a) == gsl_rng_uniform(b);
    return equal;
}

/* A run's two streams seeded side by side (sgdmc_rng_seed_two), on storage
 * of the caller's (sgdmc_rng_on), against GSL's mt19937 seeded for each
 * stream alone; and the same call on two GSL generators, which seeds each
 * alone. */
static void same_pair(unsigned long seed)
{
    sgdmc_mt_block init_block;
    gsl_rng init = sgdmc_rng_on(&init_block);
    gsl_rng *sample = sgdmc_rng_alloc(seed + 1000, SGDMC_STREAM_SAMPLE); /* reseeded below */
    sgdmc_rng_seed_two(sample, SGDMC_STREAM_SAMPLE, &init, SGDMC_STREAM_INIT, seed);
    gsl_rng *gsl_sample = gsl_rng_alloc(gsl_rng_mt19937), *gsl_init = gsl_rng_alloc(gsl_rng_mt19937);
    sgdmc_rng_seed(gsl_sample, seed, SGDMC_STREAM_SAMPLE);
    sgdmc_rng_seed(gsl_init, seed, SGDMC_STREAM_INIT);
    const int sample_equal = equal_uniforms(sample, gsl_sample, 1500);
    const int init_equal = equal_uniforms(&init, gsl_init, 1500);
    CHECK(sample_equal == 1500 && init_equal == 1500,
          "seed %lu: seeded side by side, %d and %d of 1500 uniforms equal GSL's", seed,
          sample_equal, init_equal);
    gsl_rng *other_sample = gsl_rng_alloc(gsl_rng_mt19937), *other_init = gsl_rng_alloc(gsl_rng_mt19937);
    sgdmc_rng_seed_two(other_sample, SGDMC_STREAM_SAMPLE, other_init, SGDMC_STREAM_INIT, seed);
    sgdmc_rng_seed(gsl_sample, seed, SGDMC_STREAM_SAMPLE);
    sgdmc_rng_seed(gsl_init, seed, SGDMC_STREAM_INIT);
    CHECK(equal_uniforms(other_sample, gsl_sample, 700) == 700 &&
              equal_uniforms(other_init, gsl_init, 700) == 700,
          "seed %lu: sgdmc_rng_seed_two of GSL generators differs from sgdmc_rng_seed", seed);
    gsl_rng_free(sample);
    gsl_rng_free(gsl_sample);
    gsl_rng_free(gsl_init);
    gsl_rng_free(other_sample);
    gsl_rng_free(other_init);
}

int main(void)
{
    for (int streams = 1; streams <= 8; streams++)
        same_interleaved(streams);
    /* 0: GSL substitutes 4357; 2^32 + 5: only the low 32 bits count */
    const unsigned long seeds[] = {0, 1, 4357, 5489, 123456789, 0xffffffffUL, 0x100000005UL};
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++)
        same_stream(seeds[i]);
    /* sgdmc's streams: what sgdmc_rng_alloc returns is the block generator with
     * GSL's stream for the mixed seed */
    for (unsigned long seed = 0; seed < 50; seed++) {
        gsl_rng *ours = sgdmc_rng_alloc(seed, SGDMC_STREAM_SAMPLE);
        gsl_rng *gsl = gsl_rng_alloc(gsl_rng_mt19937);
        CHECK(sgdmc_mt_block_of(ours) != NULL, "sgdmc_rng_alloc: not the block generator");
        const unsigned long first = gsl_rng_get(ours);
        /* find GSL's seed by reseeding ours the same way: sgdmc_rng_seed on a GSL generator */
        sgdmc_rng_seed(gsl, seed, SGDMC_STREAM_SAMPLE);
        CHECK(gsl_rng_get(gsl) == first, "seed %lu: first word differs", seed);
        int equal = 0;
        for (int i = 0; i < 2000; i++)
            equal += gsl_rng_uniform(gsl) == gsl_rng_uniform(ours);
        CHECK(equal == 2000, "seed %lu: %d of 2000 uniforms equal", seed, equal);
        gsl_rng_free(ours);
        gsl_rng_free(gsl);
    }
    for (unsigned long seed = 0; seed < 20; seed++)
        same_pair(seed);
    if (harness_failures)
        fprintf(stderr, "%d check(s) failed\n", harness_failures);
    return harness_failures != 0;
}
