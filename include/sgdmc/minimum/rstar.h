/* R*(w): the exact global-minimum risk of one-hidden-layer ReLU networks of
 * width w with one input, X ~ U[0,1], under mse without a penalty:
 *
 *     R*(w) = inf { E (f(X) - g(X))^2 : f(x) = c + sum_{i=1..w} v_i relu(w_i x + b_i) }.
 *
 * The class F_w (what such networks compute on [0,1]). A neuron with
 * w_i = 0 is a constant. Otherwise its kink is t_i = -b_i / w_i, and on [0,1]
 *   - w_i > 0, t_i in (0,1): a right-facing hinge a_i (x - t_i)_+,
 *   - w_i < 0, t_i in (0,1): a left-facing hinge  a_i (t_i - x)_+,
 *   - t_i outside (0,1): 0 or an affine function (which is the right-facing
 *     hinge at t = 0, or the left-facing one at t = 1, plus a constant),
 * with a_i = v_i |w_i| of either sign. Hence, with knots in the closed [0,1],
 *
 *     F_w = { c + sum_{i=1..w} a_i h_{s_i}(x; t_i) },  h_R = (x - t)_+, h_L = (t - x)_+,
 *
 * and since (x - t)_+ - (t - x)_+ = x - t, this is the union of
 *   (A) one neuron used as the affine part c + alpha x (a knot at the border):
 *       every CPWL with at most w - 1 breakpoints in (0,1), slopes free;
 *   (B) all w knots inside: a CPWL with w breakpoints t_i and slope jumps a_i
 *       whose outer slopes are tied to the orientations: slope left of every
 *       knot = -sum_{left-facing} a_i, slope right of every knot =
 *       sum_{right-facing} a_i. Written as c + alpha x + sum a_i (x - t_i)_+,
 *       the one constraint is alpha + sum_{left-facing} a_i = 0. With the left-
 *       facing knots all left of the right-facing ones it says "the piece
 *       between them is flat" (all right-facing: the leftmost piece is flat).
 * Several affine neurons add up to one. R*(0) = Var g(X). F_w is not closed
 * in L2: two knots merging with coefficients +-1/eps tend to a jump; the
 * infimum over such limits is not searched (they do not help the continuous
 * targets below).
 *
 * The solver (src/minimum/rstar.c): for fixed knots and orientations f is linear in
 * (c, a), so the risk is a least-squares problem in L2(U[0,1]) (variable
 * projection); its Gram matrix and right-hand side are closed forms and are
 * solved by a Jacobi-scaled symmetric eigen-decomposition (a pseudo-inverse:
 * coinciding knots make it singular). The knots t = (1 - cos u)/2 are
 * optimized with GSL's BFGS (vector_bfgs2) on the exact gradient
 * dR/dt_i = 2 a_i int_{t_i}^1 r (right-facing), -2 a_i int_0^{t_i} r (left-
 * facing), r = g - f (envelope theorem), from deterministic multi-starts, for
 * (A) and for (B) with orientation patterns: every pattern for w <= 4, else
 * the best "left-facing prefix" patterns at each start, then single flips
 * re-optimized until none improves, then a sweep at the best knots over
 * every pattern (w <= 14) or every one- and two-hinge flip (wider), the
 * best few re-optimized. And from the relaxation: the best CPWL with w
 * breakpoints (structure A of width w + 1, a lower bound of R*), at whose
 * optimum every orientation pattern is ranked by the second-order cost of
 * its constraint (w <= 24; the 1024 nearest to feasible wider), the
 * cheapest re-optimized. Structure A and the relaxation also start from
 * the best knot sets of a global search over knots on a grid (cpwl_fit.h:
 * 128 + 8 w cells and a teacher's kinks), which finds the basins that
 * random starts miss when a CPWL target has more kinks than w. The risk is always evaluated as
 * int (g - f)^2 by Gauss-Legendre on the pieces between the knots (and the
 * teacher's kinks): 3 nodes, exact for the constant, square and teacher
 * targets; 10 nodes on panels of at most 1/16 for sin. No cancellation, so a
 * tiny R* keeps its relative accuracy. */
#ifndef SGDMC_RSTAR_H
#define SGDMC_RSTAR_H

#include <stdbool.h>
#include <stddef.h>

#include "sgdmc/base/cancel.h"
#include "sgdmc/core/config.h"
#include "sgdmc/core/net.h"
#include "sgdmc/core/problem.h"
#include "sgdmc/minimum/pwl.h"

/* Why R* of a one-hidden-layer ReLU student cannot be computed for this
 * problem, or NULL when it can: input_dim 1, uniform input, no data file,
 * mse, l2 = 0, ReLU activation (the teacher uses the student's), target
 * constant, square, sin, or a teacher of depth 1. */
const char *sgdmc_rstar_unsupported_reason(const sgdmc_train_config *config);

/* Runs compute R* of their own width up to this one (about 6-7 s at 32;
 * the solver's cost grows steeply with the width). */
#define SGDMC_RSTAR_MAX_WIDTH 32
bool sgdmc_rstar_supported(const sgdmc_train_config *config);

/* R*(width) (width >= 0) of the problem built from config, and a minimizing
 * function when minimizer is not NULL (free it with sgdmc_pwl_free). 0, or -1
 * with a message when unsupported or out of memory. Deterministic. */
int sgdmc_rstar_1d(sgdmc_problem *problem, const sgdmc_train_config *config, int width,
                   double *rstar, sgdmc_pwl *minimizer, char *err, size_t errlen);

/* The same, and also
 *   - a lower bound of R*(width): the least risk of a CPWL with at most width
 *     breakpoints (the class without the orientation constraint), as found by
 *     the grid search, a multi-start search like structure A's and from R*'s
 *     own knots; a bound as far as that search is global (the grid search
 *     is, over knots on its grid). R* - lower bound is the solver's
 *     certificate: where it is below 1e-9 R*, R* is accurate to 1e-9
 *     relative;
 *   - a width-`width` network realizing the minimizer: params [3 width + 1]
 *     in net.h's layout for depth 1, input dim 1 (W1, b1, W2, b2); hinge i is
 *     w_i = +-1, b_i = -+t_i, v_i = a_i.
 * Any of rstar, lower_bound, params, minimizer, cancel may be NULL. Returns
 * SGDMC_CANCELLED, with nothing written, when `cancel` asked to stop. */
int sgdmc_rstar_1d_network(sgdmc_problem *problem, const sgdmc_train_config *config, int width,
                           double *rstar, double *lower_bound, double *params,
                           sgdmc_pwl *minimizer, const sgdmc_cancel *cancel, char *err,
                           size_t errlen);

/* x^2 on U[0,1] (mse, ReLU, one input, no l2: the square target wherever
 * sgdmc_rstar_supported), in closed form: R*(width) = 4 / (45 (2 width + 1)^4),
 * proven in docs/minimum.md, and its minimizer as params [3 width + 1] in
 * sgdmc_rstar_1d_network's layout: every hinge right-facing, knots at
 * (2i + 1)/(2 width + 1), a flat first piece, on every piece x^2's best line.
 * The solver reaches the same to 1e-12 (test_rstar) in 0.2 s at width 8;
 * this takes no time. */
void sgdmc_rstar_square_network(int width, double *rstar, double *params);

#endif
