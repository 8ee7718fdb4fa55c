/* The statistics of `sgdmc summarize`: exact binomial intervals and the
 * per-cell shares and median, tallied run by run. */
#ifndef SGDMC_SUMMARY_STATS_H
#define SGDMC_SUMMARY_STATS_H

#include "sgdmc/core/result.h"

/* The exact two-sided 95% Clopper-Pearson interval for k successes in n >= 1
 * trials: low = 0 if k = 0, else the 0.025 quantile of Beta(k, n-k+1);
 * high = 1 if k = n, else the 0.975 quantile of Beta(k+1, n-k). */
void sgdmc_clopper_pearson(long k, long n, double *low, double *high);

/* One grid cell's statistics. */
typedef struct {
    long runs, done, converged, diverged;
    double p_converged, ci_low, ci_high; /* NaN when done = 0 */
    /* shares of done runs with a dead first-layer neuron at initialization
     * and at the end, with their 95% intervals; NaN when done = 0 */
    double dead_at_init, dead_init_low, dead_init_high;
    double dead_init_probability; /* the runs' 1 - (1 - p)^width, NaN when unknown */
    double dead_at_end, dead_end_low, dead_end_high;
    /* share of certified non-convergent runs among done runs with a verdict */
    long certified_known;
    double p_certified, certified_low, certified_high;
    /* share of done runs with min_grad_norm <= grad_eps (paper 003) */
    double p_stationary, stationary_low, stationary_high;
    double median_final_risk;            /* NaN when done = 0, may be +inf */
} sgdmc_cell_stats;

/* A cell's done runs, counted row by row. */
typedef struct {
    long done, converged, diverged, dead, dead_end, dead_known, stationary;
    long certified_known, certified;
    double theory;      /* the first known dead_init_probability */
    double *risks;      /* [seeds], the caller's: the done runs' final risks, for the median */
} sgdmc_cell_tally;

/* The result fields the tally reads (for sgdmc_result_h5_open). */
extern const char *const sgdmc_cell_tally_fields[];

/* Starts a cell (keeps the risks buffer). */
void sgdmc_cell_tally_reset(sgdmc_cell_tally *tally);
/* Counts one done run. */
void sgdmc_cell_tally_add(sgdmc_cell_tally *tally, const sgdmc_result *run, double grad_eps);
/* The statistics of a cell of `seeds` runs (sorts the risks). */
void sgdmc_cell_tally_finish(sgdmc_cell_tally *tally, long seeds, sgdmc_cell_stats *cell);

#endif
