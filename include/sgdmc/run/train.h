/* One training run: initialize, iterate, measure.
 *
 * sgdmc_trainer_alloc sets up the problem, network, optimizer and evaluator;
 * sgdmc_trainer_step does one optimization step (tests drive it directly);
 * sgdmc_trainer_run does the whole run with its checkpoints and fills a
 * result (result.h), asking its R* policy (min_risk.h) for R*, the distance
 * to a minimizer and the certificate. Nothing is allocated inside the step
 * loop. */
#ifndef SGDMC_TRAIN_H
#define SGDMC_TRAIN_H

#include <stddef.h>

#include "sgdmc/base/cancel.h"
#include "sgdmc/core/config.h"
#include "sgdmc/core/lanes.h"
#include "sgdmc/core/net.h"
#include "sgdmc/core/result.h"
#include "sgdmc/minimum/rstar_cache.h"

typedef struct sgdmc_trainer sgdmc_trainer;

/* Validates the config against the problem (data file, init file) and sets
 * everything up; NULL with a one-line message naming the flag or file. */
sgdmc_trainer *sgdmc_trainer_alloc(const sgdmc_train_config *config, char *err, size_t errlen);
void sgdmc_trainer_free(sgdmc_trainer *trainer);

const sgdmc_arch *sgdmc_trainer_arch(const sgdmc_trainer *trainer);
double *sgdmc_trainer_params(sgdmc_trainer *trainer);
size_t sgdmc_trainer_param_count(const sgdmc_trainer *trainer);
/* Seconds its R* spent in the --rstar_starts estimate (min_risk.h). */
double sgdmc_trainer_rstar_estimate_seconds(const sgdmc_trainer *trainer);

/* Makes the trainer what sgdmc_trainer_alloc would return for the same
 * config with seed `seed` (initial parameters, optimizer state, sample
 * stream), without setting up the problem and evaluator again; it cannot
 * fail (an --init file was read once, at sgdmc_trainer_alloc). A study runs
 * every seed of a grid cell through one trainer. */
void sgdmc_trainer_restart(sgdmc_trainer *trainer, unsigned long seed);

/* R* results (the one-layer solver's, the --rstar_starts estimate) are
 * looked up in and added to the process's cache, shared by all its trainers
 * (a study's grid cells); NULL (the default): computed per trainer. The
 * cache must outlive the trainer. Results are the same either way. */
void sgdmc_trainer_set_rstar_cache(sgdmc_trainer *trainer, sgdmc_rstar_cache *cache);

/* Called every few steps of sgdmc_trainer_run and throughout its R*
 * computations, the Gram measures and the bounds (base/cancel.h): a
 * study's master serves its workers from here, and a non-zero return
 * abandons the run (on SIGTERM) within milliseconds. */
void sgdmc_trainer_set_poll(sgdmc_trainer *trainer, sgdmc_poll_fn poll, void *context);

/* One optimization step; returns its mini-batch loss (including the l2
 * penalty), as computed before the update. */
double sgdmc_trainer_step(sgdmc_trainer *trainer);

enum { SGDMC_RUN_ABANDONED = SGDMC_CANCELLED };

/* The whole run from the current parameters: 0 when done,
 * SGDMC_RUN_ABANDONED when the poll function asked to stop (result empty),
 * -1 when out of memory. */
int sgdmc_trainer_run(sgdmc_trainer *trainer, sgdmc_result *result);

/* Lanes for the trainer's grid cell: its loss, optimizer, network and batch. */
sgdmc_lanes *sgdmc_trainer_lanes_alloc(const sgdmc_trainer *trainer);

/* Runs `count` (1..SGDMC_LANES) trainers of one grid cell, each fresh for its
 * seed (allocated or restarted), in lockstep through `lanes`: results[i] is
 * what sgdmc_trainer_run(trainers[i]) gives, bit for bit (seconds aside). A
 * lane that diverges stops there, as the single run would, while the others
 * go on. trainers[0]'s poll is asked; the return values are
 * sgdmc_trainer_run's, and on any but 0 no result is left. */
int sgdmc_trainer_run_lanes(sgdmc_trainer *const *trainers, int count, sgdmc_lanes *lanes,
                            sgdmc_result *results);

#endif
