/* A study runs every seed of a grid cell through one trainer: a restarted
 * trainer must give bitwise the result of a freshly allocated one, for every
 * optimizer (their state must be forgotten), every initialization, with
 * mini-batches and with an --init file. */
#include <string.h>

#include "harness.h"
#include "sgdmc/h5io.h"
#include "sgdmc/optim.h"
#include "sgdmc/train.h"

static int fresh_result(const char *flags, unsigned long seed, sgdmc_result *r)
{
    sgdmc_train_config c;
    sgdmc_train_config_defaults(&c);
    harness_config(&c, flags);
    c.seed = seed;
    char err[512];
    sgdmc_trainer *t = sgdmc_trainer_alloc(&c, err, sizeof err);
    if (!t) {
        fprintf(stderr, "%s: %s\n", flags, err);
        return -1;
    }
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
            CHECK(sgdmc_trainer_restart(t, seeds[i], err, sizeof err) == 0, "%s: %s", flags, err);
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

int main(void)
{
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
