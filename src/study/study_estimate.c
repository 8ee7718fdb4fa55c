/* The cost estimate of `sgdmc study --dry-run`: a few timed steps and one
 * timed evaluation of every grid cell, scaled to the full runs. */

#include "sgdmc/base/clock.h"
#include "sgdmc/base/stop_signal.h"
#include "sgdmc/study/study_run.h"
#include "sgdmc/run/train.h"

enum { TIMED_STEPS = 200, TIMED_ESTIMATE_STARTS = 2 };

/* A dry run stops on SIGINT/SIGTERM like a study, however long an R* takes. */
static int stop_requested(void *unused)
{
    (void)unused;
    return sgdmc_stop_signal_received() != 0;
}

/* Seconds of the cell's runs: the first run's, times the seeds, plus the
 * one-off cost of a trainer (R*, computed once per problem and process, so
 * cells that share it with an earlier one, through cache, count it no more;
 * an R* estimate is timed on two of its starts and scaled, so that a dry
 * run stays quick); -1 on failure. */
static double estimate_cell(const sgdmc_study *study, long cell, sgdmc_rstar_cache *cache)
{
    sgdmc_train_config config;
    sgdmc_study_task(study, cell * study->seeds, &config, NULL);
    const long steps = config.steps;
    const int evaluations = config.checkpoints + study->trajectory + 1;
    config.steps = 0;
    const double estimate_scale = config.rstar_starts > TIMED_ESTIMATE_STARTS
                                      ? (double)config.rstar_starts / TIMED_ESTIMATE_STARTS
                                      : 1.0;
    if (config.rstar_starts > TIMED_ESTIMATE_STARTS)
        config.rstar_starts = TIMED_ESTIMATE_STARTS;
    char err[1024];
    sgdmc_trainer *trainer = sgdmc_trainer_alloc(&config, err, sizeof err);
    if (!trainer)
        return -1.0;
    sgdmc_trainer_set_rstar_cache(trainer, cache);
    sgdmc_trainer_set_poll(trainer, stop_requested, NULL);
    /* the first run also computes what a trainer keeps (R*), the second
     * only evaluates */
    sgdmc_result result;
    double start = sgdmc_now_seconds();
    int status = sgdmc_trainer_run(trainer, &result);
    const double first_run = sgdmc_now_seconds() - start;
    if (status == 0)
        sgdmc_result_free(&result);
    start = sgdmc_now_seconds();
    status |= sgdmc_trainer_run(trainer, &result);
    const double evaluation = sgdmc_now_seconds() - start;
    if (status == 0)
        sgdmc_result_free(&result);
    const long timed = steps < TIMED_STEPS ? steps : TIMED_STEPS;
    start = sgdmc_now_seconds();
    for (long s = 0; s < timed && status == 0; s++)
        sgdmc_trainer_step(trainer);
    const double per_step = timed ? (sgdmc_now_seconds() - start) / (double)timed : 0.0;
    sgdmc_trainer_free(trainer);
    const double run = evaluation * evaluations + per_step * (double)steps;
    return status ? -1.0 : run * (double)study->seeds + (first_run - evaluation) * estimate_scale;
}

double sgdmc_study_estimate_seconds(const sgdmc_study *study, sgdmc_rstar_cache *cache)
{
    double total = 0.0;
    for (long cell = 0; cell < study->cells && total >= 0.0; cell++) {
        const double seconds = estimate_cell(study, cell, cache);
        total = seconds < 0.0 ? -1.0 : total + seconds;
    }
    return total;
}
