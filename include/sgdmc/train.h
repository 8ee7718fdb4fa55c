/* One training run: initialize, iterate, measure.
 *
 * sgdmc_trainer_alloc sets up the problem, network, optimizer and evaluator;
 * sgdmc_trainer_step does one optimization step (tests drive it directly);
 * sgdmc_trainer_run does the whole run with its checkpoints and fills a
 * result. Nothing is allocated inside the step loop. */
#ifndef SGDMC_TRAIN_H
#define SGDMC_TRAIN_H

#include <stddef.h>

#include "sgdmc/config.h"
#include "sgdmc/net.h"
#include "sgdmc/rstar_cache.h"

typedef enum {
    SGDMC_STATUS_CONVERGED,
    SGDMC_STATUS_NOT_CONVERGED,
    SGDMC_STATUS_DIVERGED,
    SGDMC_STATUS_COUNT
} sgdmc_status;

extern const char *const sgdmc_status_names[SGDMC_STATUS_COUNT + 1];

/* How R* (min_risk) is known. */
typedef enum {
    SGDMC_MIN_RISK_UNKNOWN,
    SGDMC_MIN_RISK_EXACT,     /* 0 by construction: constant target, realizable teacher */
    SGDMC_MIN_RISK_COMPUTED,  /* by a deterministic solver with a proven class (rstar.h) */
    SGDMC_MIN_RISK_ESTIMATED, /* the best of a solver's multi-start runs, not proven */
    SGDMC_MIN_RISK_GIVEN,     /* --min_risk */
    SGDMC_MIN_RISK_SOURCE_COUNT
} sgdmc_min_risk_source;

extern const char *const sgdmc_min_risk_source_names[SGDMC_MIN_RISK_SOURCE_COUNT + 1];

typedef struct {
    sgdmc_status status;
    double final_risk;
    double min_risk;       /* R*, NaN when unknown */
    sgdmc_min_risk_source min_risk_source;
    double tol, rtol;      /* the convergence tolerance of the run */
    double risk_gap;       /* final_risk - R*, NaN when R* is unknown */
    double dist_to_min;    /* L2 distance to a global minimizer's function, NaN when unknown */
    double grad_norm;      /* of the risk at the end */
    double min_grad_norm;  /* over the checkpoints */
    /* at the end, on --gram_points fixed inputs (gram.h); NaN when skipped,
     * under the logistic loss, or for a diverged run */
    double gram_min_eig, gram_max_eig, gram_risk, gram_grad_norm;
    int depth;
    int dead_init[SGDMC_MAX_DEPTH];
    int dead_final[SGDMC_MAX_DEPTH];
    /* paper 001's certificate, ReLU networks only (0 otherwise): first-layer
     * neurons dead on the whole input domain, deeper neurons with incoming
     * weights and bias <= 0; no gradient ever revives them */
    int dead_permanent_init[SGDMC_MAX_DEPTH];
    int dead_permanent_final[SGDMC_MAX_DEPTH];
    /* 1: the permanently dead neurons at the end provably keep the network
     * from R* within the tolerance (one-layer 1-D students: R*(width - dead)
     * > R*(width) + tol + rtol R*(width)); 0: not certified; -1: unknown
     * (a diverged run, or no R* for the smaller network) */
    int certified_nonconvergent;
    /* 1 - (1 - p)^width, p = sgdmc_dead_at_init_probability: the probability
     * of a dead first-layer neuron at initialization; NaN when unknown */
    double dead_init_probability;
    long steps;            /* steps taken (fewer than asked when diverged) */
    double seconds;
    int trajectory_count;
    long *trajectory_step; /* [trajectory_count] */
    double *trajectory_risk;
    double *trajectory_grad_norm;
} sgdmc_result;

void sgdmc_result_free(sgdmc_result *result);

typedef struct sgdmc_trainer sgdmc_trainer;

/* Validates the config against the problem (data file, init file) and sets
 * everything up; NULL with a one-line message naming the flag or file. */
sgdmc_trainer *sgdmc_trainer_alloc(const sgdmc_train_config *config, char *err, size_t errlen);
void sgdmc_trainer_free(sgdmc_trainer *trainer);

const sgdmc_arch *sgdmc_trainer_arch(const sgdmc_trainer *trainer);
double *sgdmc_trainer_params(sgdmc_trainer *trainer);
size_t sgdmc_trainer_param_count(const sgdmc_trainer *trainer);

/* Makes the trainer what sgdmc_trainer_alloc would return for the same
 * config with seed `seed` (initial parameters, optimizer state, sample
 * stream), without setting up the problem and evaluator again. A study runs
 * every seed of a grid cell through one trainer. */
int sgdmc_trainer_restart(sgdmc_trainer *trainer, unsigned long seed, char *err, size_t errlen);

/* R* results (the one-layer solver's, the --rstar_starts estimate) are
 * looked up in and added to cache, shared by the trainers of a process (a
 * study's grid cells); NULL (the default): computed per trainer. The cache
 * must outlive the trainer. Results are the same either way. */
void sgdmc_trainer_set_rstar_cache(sgdmc_trainer *trainer, sgdmc_rstar_cache *cache);

/* Called every few steps of sgdmc_trainer_run: a study's master serves its
 * workers from here, and a non-zero return abandons the run (on SIGTERM). */
typedef int (*sgdmc_poll_fn)(void *context);
void sgdmc_trainer_set_poll(sgdmc_trainer *trainer, sgdmc_poll_fn poll, void *context);

/* One optimization step; returns its mini-batch loss (including the l2
 * penalty), as computed before the update. */
double sgdmc_trainer_step(sgdmc_trainer *trainer);

enum { SGDMC_RUN_ABANDONED = 1 };

/* The whole run from the current parameters: 0 when done,
 * SGDMC_RUN_ABANDONED when the poll function asked to stop (result empty),
 * -1 when out of memory. */
int sgdmc_trainer_run(sgdmc_trainer *trainer, sgdmc_result *result);

#endif
