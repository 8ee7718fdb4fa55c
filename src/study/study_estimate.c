/* The cost estimate of `sgdmc study --dry-run`: a few timed steps and one
 * timed evaluation of every grid cell, scaled to the full runs. */

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "sgdmc/base/clock.h"
#include "sgdmc/base/stop_signal.h"
#include "sgdmc/study/dispatch.h"
#include "sgdmc/study/study_run.h"
#include "sgdmc/run/train.h"

enum { TIMED_STEPS = 200, TIMED_ESTIMATE_STARTS = 2 };

/* A dry run stops on SIGINT/SIGTERM like a study, however long an R* takes. */
static int stop_requested(void *unused)
{
    (void)unused;
    return sgdmc_stop_signal_received() != 0;
}

/* A trainer of `config` for timing: R* through the process's cache, stopped
 * by a signal; NULL on failure. */
static sgdmc_trainer *timing_trainer(const sgdmc_train_config *config, sgdmc_rstar_cache *cache)
{
    char err[1024];
    sgdmc_trainer *trainer = sgdmc_trainer_alloc(config, err, sizeof err);
    if (trainer) {
        sgdmc_trainer_set_rstar_cache(trainer, cache);
        sgdmc_trainer_set_poll(trainer, stop_requested, NULL);
    }
    return trainer;
}

/* The R* estimate's starts as estimate_cell times them: the timings after
 * it find its R* in the process's cache instead of computing all starts
 * (which made 64-start dry runs compute every lane-timed cell's R* in full). */
static void cap_rstar_starts(sgdmc_train_config *config)
{
    if (config->rstar_starts > TIMED_ESTIMATE_STARTS)
        config->rstar_starts = TIMED_ESTIMATE_STARTS;
}

/* Seconds of the cell's first `group` seeds trained in lockstep for `steps`
 * steps, the least of two timings (the seeds restarted in between); -1 on
 * failure. */
static double time_group(const sgdmc_study *study, long cell, int group, long steps,
                         sgdmc_rstar_cache *cache)
{
    sgdmc_trainer *trainers[SGDMC_LANES] = {0};
    sgdmc_result results[SGDMC_LANES];
    sgdmc_lanes *lanes = NULL;
    unsigned long seeds[SGDMC_LANES];
    int status = 0;
    for (int l = 0; l < group && status == 0; l++) {
        sgdmc_train_config config;
        sgdmc_study_task(study, cell * study->seeds + l, &config, NULL);
        config.steps = steps;
        cap_rstar_starts(&config);
        seeds[l] = config.seed;
        trainers[l] = timing_trainer(&config, cache);
        status = trainers[l] ? 0 : -1;
    }
    if (status == 0)
        lanes = sgdmc_trainer_lanes_alloc(trainers[0]);
    status |= lanes ? 0 : -1;
    double least = INFINITY;
    for (int timing = 0; timing < 2 && status == 0; timing++) {
        for (int l = 0; timing > 0 && l < group; l++)
            sgdmc_trainer_restart(trainers[l], seeds[l]);
        const double start = sgdmc_now_seconds();
        status = status ? status : sgdmc_trainer_run_lanes(trainers, group, lanes, results);
        const double seconds = sgdmc_now_seconds() - start;
        least = seconds < least ? seconds : least;
        for (int l = 0; status == 0 && l < group; l++)
            sgdmc_result_free(&results[l]);
    }
    for (int l = 0; l < group; l++)
        sgdmc_trainer_free(trainers[l]);
    sgdmc_lanes_free(lanes);
    return status ? -1.0 : least;
}

/* Seconds per seed and step of the cell's seeds in lockstep groups of
 * `group`: the slope between groups timed for `timed` and 4 `timed` steps,
 * so that what a run costs whatever its steps drops out; -1 on failure. */
static double lanes_step_seconds(const sgdmc_study *study, long cell, int group, long timed,
                                 sgdmc_rstar_cache *cache)
{
    const double few = time_group(study, cell, group, timed, cache);
    const double many = few < 0.0 ? -1.0 : time_group(study, cell, group, 4 * timed, cache);
    if (few < 0.0 || many < 0.0)
        return -1.0;
    const double per_step = (many - few) / (3.0 * (double)timed * (double)group);
    return per_step > 0.0 ? per_step : 0.0;
}

/* Seconds of a whole run of the cell's first seed for `steps` steps, R*
 * from the process's cache (computed before), the least of two; -1 on
 * failure. */
static double time_run(const sgdmc_study *study, long cell, long steps, sgdmc_rstar_cache *cache)
{
    sgdmc_train_config config;
    sgdmc_study_task(study, cell * study->seeds, &config, NULL);
    config.steps = steps;
    cap_rstar_starts(&config);
    sgdmc_trainer *trainer = timing_trainer(&config, cache);
    double least = trainer ? INFINITY : -1.0;
    for (int timing = 0; timing < 2 && trainer && least >= 0.0; timing++) {
        sgdmc_result result;
        const double start = sgdmc_now_seconds();
        if (sgdmc_trainer_run(trainer, &result)) {
            least = -1.0;
            break;
        }
        const double seconds = sgdmc_now_seconds() - start;
        sgdmc_result_free(&result);
        least = seconds < least ? seconds : least;
    }
    sgdmc_trainer_free(trainer);
    return least;
}

/* Seconds of the cell's runs: a run's cost as a line in its steps, fitted
 * through whole runs of `timed` and 4 `timed` steps (timed = the steps, up
 * to TIMED_STEPS): its intercept is what a run costs whatever its steps
 * (set-up, the log-spaced checkpoints, whose count does not grow with the
 * steps, and the end: dead neurons, bound, certificate, Gram measures), its
 * slope a step's; times the seeds. Plus the one-off cost of a trainer (R*,
 * computed once per problem and process, so cells that share it with an
 * earlier one, through cache, count it no more; an R* estimate is timed on
 * two of its starts and scaled, so that a dry run stays quick). Where lanes
 * pay and `lanes` > 1, the steps are timed in a lockstep group and counted
 * per group, a last partial group as a full one. -1 on failure. */
static double estimate_cell(const sgdmc_study *study, long cell, int lanes,
                            sgdmc_rstar_cache *cache, double *once_per_process)
{
    sgdmc_train_config config;
    sgdmc_study_task(study, cell * study->seeds, &config, NULL);
    const long steps = config.steps;
    config.steps = 0;
    const double estimate_scale = config.rstar_starts > TIMED_ESTIMATE_STARTS
                                      ? (double)config.rstar_starts / TIMED_ESTIMATE_STARTS
                                      : 1.0;
    cap_rstar_starts(&config);
    sgdmc_trainer *trainer = timing_trainer(&config, cache);
    if (!trainer)
        return -1.0;
    /* the first run also computes what a trainer keeps (R*), the second
     * only evaluates */
    sgdmc_result result;
    double start = sgdmc_now_seconds();
    int status = sgdmc_trainer_run(trainer, &result);
    const double first_run = sgdmc_now_seconds() - start;
    /* Only the multi-start estimate's time grows with its starts; the rest
     * of R* (the one-layer solver, proven: a depth-1 cell's R*, and embedded
     * in a deeper cell's construction) takes as long whatever rstar_starts
     * says. Scaling all of it counted w32 d1's 6 s 8 times, and a deep cell's
     * one-layer R* too when its width had no depth-1 cell before it. */
    const double estimate = sgdmc_trainer_rstar_estimate_seconds(trainer);
    if (status == 0)
        sgdmc_result_free(&result);
    start = sgdmc_now_seconds();
    status |= sgdmc_trainer_run(trainer, &result);
    const double evaluation = sgdmc_now_seconds() - start;
    if (status == 0)
        sgdmc_result_free(&result);
    const int group = (int)(lanes < study->seeds ? lanes : study->seeds);
    const bool pay = sgdmc_lanes_pay(sgdmc_trainer_arch(trainer));
    sgdmc_trainer_free(trainer);
    /* Until 2026-12-05 the intercept was the 0-step run's time times the
     * evaluations (checkpoints + trajectory + 1), the whole end of a run
     * counted at every checkpoint: 1.4-1.8x the real cost of 4000-step runs
     * of paper 001's medium cells (tests/bench/results/2026-12-05-play-vs-
     * real.txt). */
    const long timed = steps < TIMED_STEPS ? steps : TIMED_STEPS;
    double per_step = 0.0, fixed = evaluation;
    if (status == 0 && timed > 0) {
        const double few = time_run(study, cell, timed, cache);
        const double many = few < 0.0 ? -1.0 : time_run(study, cell, 4 * timed, cache);
        status |= few < 0.0 || many < 0.0;
        per_step = (many - few) / (3.0 * (double)timed);
        per_step = per_step > 0.0 ? per_step : 0.0;
        fixed = few - (double)timed * per_step;
        fixed = fixed > 0.0 ? fixed : 0.0;
    }
    double steps_seconds = per_step * (double)steps * (double)study->seeds;
    if (status == 0 && timed > 0 && group >= 2 && pay) {
        const double lane_step = lanes_step_seconds(study, cell, group, timed, cache);
        const long groups = (study->seeds + group - 1) / group;
        steps_seconds = lane_step * (double)steps * (double)(groups * group);
        status |= lane_step < 0.0;
    }
    const double once = (first_run > evaluation ? first_run - evaluation : 0.0) +
                        estimate * (estimate_scale - 1.0);
    *once_per_process += once;
    return status ? -1.0 : fixed * (double)study->seeds + steps_seconds + once;
}

double sgdmc_study_estimate_seconds(const sgdmc_study *study, int lanes,
                                    sgdmc_rstar_cache *cache, double *once_per_process,
                                    const int *ranks, double *rstar_at_ranks,
                                    double *wall_at_ranks, int rank_counts)
{
    double total = 0.0;
    *once_per_process = 0.0;
    const size_t cells = (size_t)study->cells;
    double *task_seconds = malloc(cells * sizeof *task_seconds);
    double *rstar_seconds = malloc(cells * sizeof *rstar_seconds);
    if (!task_seconds || !rstar_seconds)
        total = -1.0;
    for (long cell = 0; cell < study->cells && total >= 0.0; cell++) {
        const double before = *once_per_process;
        const double seconds = estimate_cell(study, cell, lanes, cache, once_per_process);
        /* the cell's one-off seconds: its problem's R* where it is the
         * problem's first cell, about 0 where the cache had it */
        rstar_seconds[cell] = *once_per_process - before;
        task_seconds[cell] = (seconds - rstar_seconds[cell]) / (double)study->seeds;
        total = seconds < 0.0 ? -1.0 : total + seconds;
    }
    /* A rank computes R* once for each problem of the cells it works on,
     * and which it works on is the dispatch's choice (dispatch.h): played
     * with these times, it says how often (the study's end included). */
    for (int i = 0; i < rank_counts && total >= 0.0; i++) {
        sgdmc_dispatch_played played;
        if (sgdmc_dispatch_play(study, ranks[i], SGDMC_CHUNK_SECONDS, lanes, task_seconds,
                                rstar_seconds, &played))
            total = -1.0;
        rstar_at_ranks[i] = played.rstar_seconds;
        wall_at_ranks[i] = played.wall_seconds;
    }
    free(task_seconds);
    free(rstar_seconds);
    return total;
}
