/* The statistics of `sgdmc summarize`: exact binomial intervals and the
 * per-cell shares and median, tallied run by run. */
#ifndef SGDMC_SUMMARY_STATS_H
#define SGDMC_SUMMARY_STATS_H

#include "sgdmc/core/result.h"

/* The exact two-sided 95% Clopper-Pearson interval for k successes in n >= 1
 * trials: low = 0 if k = 0, else the 0.025 quantile of Beta(k, n-k+1);
 * high = 1 if k = n, else the 0.975 quantile of Beta(k+1, n-k). */
void sgdmc_clopper_pearson(long k, long n, double *low, double *high);

/* A share k/n with its exact 95% interval; NaN when n = 0. */
typedef struct {
    double p, low, high;
} sgdmc_share;

/* One grid cell's statistics, over its done runs. */
typedef struct {
    long runs, done, converged, undecided, diverged;
    /* P(converged) is bracketed: converged for sure / done, and converged
     * or undecided / done (the two ends are equal where R* is exact) */
    sgdmc_share converged_sure, converged_possible;
    /* a dead first-layer neuron at initialization and at the end (a
     * diverged run counts as not dead); NaN for smooth activations */
    sgdmc_share dead_at_init, dead_at_end;
    double dead_init_probability; /* the runs' 1 - (1 - p)^width, NaN when unknown */
    /* certified non-convergent among runs with a verdict */
    long certified_known;
    sgdmc_share certified;
    /* constant networks among runs where it is known (ReLU) */
    sgdmc_share constant_at_init, constant_at_end;
    /* min_grad_norm <= grad_eps (paper 003) */
    sgdmc_share stationary;
    /* end states of the done runs (result.h): stationary at a non-global
     * point, still descending, oscillating */
    sgdmc_share end_stationary, end_descending, end_oscillating;
    double median_final_risk; /* NaN when done = 0, may be +inf */
    /* R*'s upper bound hi the verdicts were judged against: the runs' own,
     * or, pooled (`pooled` 1), the lowest final risk of a run of the same
     * problem and architecture; NaN when unknown or done = 0 */
    double min_risk_used;
    long pooled;
} sgdmc_cell_stats;

/* A cell's done runs, counted row by row. */
typedef struct {
    long done, converged, undecided, diverged, dead, dead_end, dead_known, stationary;
    /* runs whose dead count at the end is not known (a smooth activation, a
     * step summarize --at-step rewound to): dead_at_end is then unknown; a
     * diverged run is known not dead */
    long dead_end_unknown;
    long certified_known, certified, constant_known, constant_init, constant_end_known,
        constant_end;
    long end_stationary, end_descending, end_oscillating;
    double theory;      /* the first known dead_init_probability */
    double hi;          /* the first done run's min_risk (the same for every run of a cell) */
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
