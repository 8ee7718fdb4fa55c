/* R* estimated where no solver with a proven function class exists (deeper
 * networks, d >= 2, smooth activations, data sets, the regularized logistic
 * loss of paper 002): the lowest objective that deterministic full-batch
 * minimizations reach from several starts. An upper bound on R* that is not
 * proven tight; results label it min_risk_source "estimated".
 *
 * Each start runs GSL's BFGS (vector_bfgs2) on the evaluator's risk and
 * exact gradient, the very objective the runs are judged by, until the
 * gradient norm falls below 1e-10 (1 + |risk|), the line search makes no
 * progress three times in a row (ReLU kinks), or `iterations` iterations.
 * Where the risk has kinks (ReLU), each start also runs `iterations` steps
 * of full-batch Adam on the exact risk (step size 0.1 decaying to 1e-3),
 * whose per-coordinate steps cross kinks, and BFGS from its best point; the
 * start ends at the lower of its two end points. */
#ifndef SGDMC_RSTAR_ESTIMATE_H
#define SGDMC_RSTAR_ESTIMATE_H

#include <stdbool.h>
#include <stddef.h>

#include "sgdmc/base/cancel.h"
#include "sgdmc/core/evaluate.h"

typedef struct {
    double rstar;     /* the best final objective, NaN when every start failed */
    int hits;         /* starts that ended within 1e-6 (1 + R*) of it */
    int starts;
} sgdmc_rstar_estimate_result;

/* Minimizes from starts[i * n .. (i + 1) * n) for i < start_count (n
 * parameters each) and writes the best end point to best_params [n]. 0, -1
 * when out of memory, or SGDMC_CANCELLED when `cancel` (may be NULL) asked
 * to stop. Deterministic: the result depends only on the
 * evaluator's problem and the starts. */
int sgdmc_rstar_estimate(sgdmc_evaluator *evaluator, size_t n, const double *starts,
                         int start_count, int iterations, bool kinks, const sgdmc_cancel *cancel,
                         double *best_params, sgdmc_rstar_estimate_result *result);

#endif
