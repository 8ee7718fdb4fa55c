/* A study runs every seed of a grid cell through one trainer: a restarted
 * trainer must give bitwise the result of a freshly allocated one, for every
 * optimizer (their state must be forgotten), every initialization, with
 * mini-batches and with an --init file. And its cells share R* results
 * through a cache: a trainer that finds them there must give bitwise the
 * result of one that computes them. */
#include <string.h>

#include "harness.h"
#include "sgdmc/core/h5io.h"
#include "sgdmc/core/optim.h"
#include "sgdmc/run/train.h"

static int fresh_result(const char *flags, unsigned long seed, sgdmc_result *r)
{
    sgdmc_trainer *t = harness_trainer(flags, seed);
    if (!t)
        return -1;
    const int status = sgdmc_trainer_run(t, r);
    sgdmc_trainer_free(t);
    return status;
}

static bool same_result(const sgdmc_result *a, const sgdmc_result *b)
{
    bool same = a->status == b->status && a->steps == b->steps &&
                !memcmp(&a->final_risk, &b->final_risk, sizeof(double)) &&
                !memcmp(&a->grad_norm, &b->grad_norm, sizeof(double)) &&
                !memcmp(&a->min_grad_norm, &b->min_grad_norm, sizeof(double)) &&
                !memcmp(a->dead_init, b->dead_init, sizeof a->dead_init) &&
                !memcmp(a->dead_final, b->dead_final, sizeof a->dead_final) &&
                !memcmp(a->dead_permanent_init, b->dead_permanent_init,
                        sizeof a->dead_permanent_init) &&
                !memcmp(a->dead_permanent_final, b->dead_permanent_final,
                        sizeof a->dead_permanent_final) &&
                a->constant_init == b->constant_init && a->constant_final == b->constant_final &&
                a->trajectory_count == b->trajectory_count;
    for (int j = 0; same && j < a->trajectory_count; j++)
        same = !memcmp(&a->trajectory_risk[j], &b->trajectory_risk[j], sizeof(double));
    return same;
}

/* Runs seed 5, then restarts to seed 2 and to seed 5 again; each result must
 * equal a fresh trainer's, and seeds 2 and 5 must differ. */
static void check_restart(const char *flags, bool seeds_differ)
{
    sgdmc_train_config c;
    sgdmc_train_config_defaults(&c);
    harness_config(&c, flags);
    c.seed = 5;
    char err[512];
    sgdmc_trainer *t = sgdmc_trainer_alloc(&c, err, sizeof err);
    CHECK(t != NULL, "%s: %s", flags, err);
    if (!t)
        return;
    const unsigned long seeds[] = {5, 2, 5};
    sgdmc_result reused[3], fresh[3];
    for (int i = 0; i < 3; i++) {
        if (i)
            sgdmc_trainer_restart(t, seeds[i]);
        CHECK(sgdmc_trainer_run(t, &reused[i]) == 0, "%s: run", flags);
        CHECK(fresh_result(flags, seeds[i], &fresh[i]) == 0, "%s: fresh run", flags);
        CHECK(same_result(&reused[i], &fresh[i]),
              "%s: seed %lu after a restart: final risk %.17g, fresh trainer %.17g", flags,
              seeds[i], reused[i].final_risk, fresh[i].final_risk);
    }
    if (seeds_differ)
        CHECK(reused[0].final_risk != reused[1].final_risk, "%s: seeds 5 and 2 agree", flags);
    for (int i = 0; i < 3; i++) {
        sgdmc_result_free(&reused[i]);
        sgdmc_result_free(&fresh[i]);
    }
    sgdmc_trainer_free(t);
}

static bool same_rstar(const sgdmc_result *a, const sgdmc_result *b)
{
    return a->min_risk_source == b->min_risk_source &&
           a->min_risk_lo_source == b->min_risk_lo_source &&
           a->certified_nonconvergent == b->certified_nonconvergent &&
           !memcmp(&a->min_risk, &b->min_risk, sizeof(double)) &&
           !memcmp(&a->min_risk_lo, &b->min_risk_lo, sizeof(double)) &&
           !memcmp(&a->reachable_lo, &b->reachable_lo, sizeof(double)) &&
           !memcmp(&a->risk_gap, &b->risk_gap, sizeof(double)) &&
           !memcmp(&a->dist_to_min, &b->dist_to_min, sizeof(double));
}

/* Seeds 0..7 of `flags` through a trainer sharing a cache that a trainer of
 * `other` (the same problem, another optimizer) filled, against trainers
 * without one; the cache must have served them (not grown). */
static void check_cache(const char *flags, const char *other, const char *min_risk_source)
{
    sgdmc_rstar_cache *cache = sgdmc_rstar_cache_alloc();
    sgdmc_train_config c;
    char err[512];
    sgdmc_trainer *filler = NULL, *cached = NULL;
    for (int pass = 0; pass < 2; pass++) {
        sgdmc_train_config_defaults(&c);
        harness_config(&c, pass ? flags : other);
        sgdmc_trainer *t = sgdmc_trainer_alloc(&c, err, sizeof err);
        CHECK(t != NULL, "%s: %s", pass ? flags : other, err);
        if (!t)
            goto done;
        sgdmc_trainer_set_rstar_cache(t, cache);
        *(pass ? &cached : &filler) = t;
    }
    size_t filled = 0;
    for (unsigned long seed = 0; seed < 8; seed++) {
        sgdmc_result from_cache, computed, filling;
        sgdmc_trainer_restart(filler, seed);
        CHECK(sgdmc_trainer_run(filler, &filling) == 0, "%s: run", other);
        sgdmc_result_free(&filling);
        filled = sgdmc_rstar_cache_size(cache);
        sgdmc_trainer_restart(cached, seed);
        CHECK(sgdmc_trainer_run(cached, &from_cache) == 0, "%s: run", flags);
        CHECK(fresh_result(flags, seed, &computed) == 0, "%s: fresh run", flags);
        CHECK(same_result(&from_cache, &computed) && same_rstar(&from_cache, &computed) &&
                  !strcmp(sgdmc_min_risk_source_names[computed.min_risk_source],
                          min_risk_source),
              "%s, seed %lu: from the cache R* %.17g (%s), distance %.17g, certified %d; "
              "computed %.17g (%s), %.17g, %d",
              flags, seed, from_cache.min_risk,
              sgdmc_min_risk_source_names[from_cache.min_risk_source], from_cache.dist_to_min,
              from_cache.certified_nonconvergent, computed.min_risk,
              sgdmc_min_risk_source_names[computed.min_risk_source], computed.dist_to_min,
              computed.certified_nonconvergent);
        sgdmc_result_free(&from_cache);
        sgdmc_result_free(&computed);
    }
    CHECK(filled > 0 && sgdmc_rstar_cache_size(cache) <= filled + 1,
          "%s: the cache holds %zu entries after the filler, %zu after",
          flags, filled, sgdmc_rstar_cache_size(cache));
done:
    sgdmc_trainer_free(filler);
    sgdmc_trainer_free(cached);
    sgdmc_rstar_cache_free(cache);
}

int main(void)
{
    check_cache("--target=sin --width=6 --steps=300", "--target=sin --width=6 --steps=300 "
                "--optimizer=adam", "computed");
    check_cache("--width=3 --depth=2 --rstar_starts=3 --steps=200",
                "--width=3 --depth=2 --rstar_starts=3 --steps=200 --optimizer=momentum",
                "constructed");
    check_cache("--input_dim=2 --width=3 --depth=2 --rstar_starts=3 --steps=200",
                "--input_dim=2 --width=3 --depth=2 --rstar_starts=3 --steps=200 "
                "--optimizer=momentum",
                "estimated");
    char flags[512];
    for (int k = 0; k < SGDMC_OPT_COUNT; k++) {
        snprintf(flags, sizeof flags, "--optimizer=%s --width=3 --depth=2 --steps=300 "
                 "--trajectory=4 --lr_schedule=power:0.5", sgdmc_optimizer_names[k]);
        check_restart(flags, true);
    }
    check_restart("--optimizer=momentum --timescale=two --steps=200", true);
    check_restart("--init=he --input=normal --input_dim=2 --steps=100 --optimizer=adam", true);
    check_restart("--init=glorot --target=teacher --teacher_width=3 --steps=100", true);
    /* an --init file: every seed starts from the same parameters, the
     * mini-batches still differ */
    sgdmc_train_config c;
    sgdmc_train_config_defaults(&c);
    harness_config(&c, "--width=3 --depth=1");
    char err[512];
    sgdmc_trainer *t = sgdmc_trainer_alloc(&c, err, sizeof err);
    CHECK(t && sgdmc_h5_write_params("restart_init.h5", sgdmc_trainer_arch(t),
                                     sgdmc_trainer_params(t), err, sizeof err) == 0,
          "writing the init file: %s", err);
    sgdmc_trainer_free(t);
    check_restart("--init=restart_init.h5 --width=3 --depth=1 --steps=200 --optimizer=adam", true);
    remove("restart_init.h5");
    return harness_exit("test_restart");
}
