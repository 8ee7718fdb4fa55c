/* The R* policy of a run: how its global-minimum risk R* (min_risk) is known,
 * the distance from a network to the known minimizers, and paper 001's
 * certificate. An object the trainer holds; it owns the one-layer R*(k) of
 * its problem, the minimizers and the --rstar_starts estimate, each computed
 * on first use, and shares them with the other runs of the process through
 * the R* cache when it has one.
 *
 * R*, in order of preference: --min_risk (given); 0 by construction (exact:
 * constant target, a teacher the student realizes, problem.h); the one-layer
 * solver for one-hidden-layer 1-D ReLU students (computed, rstar.h); the
 * best of --rstar_starts BFGS minimizations (estimated, rstar_estimate.h,
 * improved for deeper 1-D ReLU students by embedding the proven one-layer
 * minimizer); else unknown. Each is an upper bound hi of R*; the proven lower
 * bound lo comes from lower_bound.h, so R* lies in [lo, hi] (the verdict's
 * bracket, result.h). */
#ifndef SGDMC_MIN_RISK_H
#define SGDMC_MIN_RISK_H

#include <stdbool.h>

#include "sgdmc/base/cancel.h"
#include "sgdmc/core/config.h"
#include "sgdmc/core/evaluate.h"
#include "sgdmc/core/net.h"
#include "sgdmc/core/problem.h"
#include "sgdmc/core/result.h"
#include "sgdmc/minimum/rstar_cache.h"

typedef struct sgdmc_min_risk sgdmc_min_risk;

/* For runs of `config` on `problem` with network `arch`, measured by
 * `evaluator`; all three must outlive it. NULL when out of memory. */
sgdmc_min_risk *sgdmc_min_risk_alloc(const sgdmc_train_config *config, sgdmc_problem *problem,
                                     sgdmc_evaluator *evaluator, const sgdmc_arch *arch);
void sgdmc_min_risk_free(sgdmc_min_risk *policy);

/* R* results are looked up in and added to cache (NULL: computed here).
 * The cache must outlive the policy. Results are the same either way. */
void sgdmc_min_risk_set_cache(sgdmc_min_risk *policy, sgdmc_rstar_cache *cache);

/* Every long computation (the solver, the grid fit, the piece bound, the
 * estimate) asks `cancel` (base/cancel.h; must outlive the policy; NULL:
 * never cancelled). A cancelled computation leaves nothing behind: no
 * cache entry, nothing remembered; asked again, it starts over. */
void sgdmc_min_risk_set_cancel(sgdmc_min_risk *policy, const sgdmc_cancel *cancel);

/* True when a computation since the last sgdmc_min_risk_value was
 * cancelled: the values returned since then are not to be used. */
bool sgdmc_min_risk_cancelled(const sgdmc_min_risk *policy);

/* R*'s upper bound hi (min_risk) and how it is known (NaN and unknown when
 * it is not): the risk of a concrete network of the architecture, R* itself
 * where exact, or --min_risk. 0, -1 when out of memory, or SGDMC_CANCELLED. */
int sgdmc_min_risk_value(sgdmc_min_risk *policy, double *rstar, sgdmc_min_risk_source *source);

/* Wall seconds spent computing the --rstar_starts estimate so far (0 when
 * it did not run or came from the cache): the one part of R*'s cost that
 * grows with the starts, which study --dry-run times on a few and scales. */
double sgdmc_min_risk_estimate_seconds(const sgdmc_min_risk *policy);

/* R*'s proven lower bound for the run's architecture, whatever hi is
 * (lower_bound.h): what a given --min_risk is checked against. 0, -1 when
 * out of memory, or SGDMC_CANCELLED. */
int sgdmc_min_risk_proven_lower(sgdmc_min_risk *policy, double *lo, sgdmc_lower_source *lo_source);

/* R*'s lower bound lo for the run's architecture (lower_bound.h), for hi's
 * source: R* itself where exact; --min_risk where given, unless the run's
 * final risk lies below it (a network of the architecture with a lower risk
 * refutes the user's R*: then sgdmc's own proven bound, as for every other
 * source; NaN final_risk refutes nothing). 0, -1 when out of memory, or
 * SGDMC_CANCELLED. */
int sgdmc_min_risk_lower(sgdmc_min_risk *policy, sgdmc_min_risk_source source, double hi,
                         double final_risk, double *lo, sgdmc_lower_source *lo_source);

/* A proven lower bound of the risk of every network the run can reach when
 * dead[k - 1] neurons of layer k are dead for ever, or the network is
 * constant for ever (then Var g(X), mse only, by the risk's quadrature): the
 * piece bound of the surviving architecture. NaN when out of memory or
 * cancelled. */
double sgdmc_min_risk_reachable(sgdmc_min_risk *policy, const int *dead, bool constant,
                                sgdmc_lower_source *source);

/* The L2 distance from the network `params` (finite; final risk `risk`) to
 * the nearest known minimizer's function, NaN when none is known; for R*
 * and source as returned by sgdmc_min_risk_value. */
double sgdmc_min_risk_distance(sgdmc_min_risk *policy, const double *params, double risk,
                               double rstar, sgdmc_min_risk_source source);

#endif
