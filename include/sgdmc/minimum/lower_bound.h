/* Proven lower bounds of R*: the least risk that any function with at most P
 * linear pieces on [0,1] can have against a 1-D target g on U[0,1].
 *
 * Why pieces: a ReLU network of one input with hidden widths n_1..n_L is
 * continuous and piecewise linear with at most prod_l (n_l + 1) pieces on an
 * interval, skips or not (sgdmc_arch_pieces). Every risk it reaches is at
 * least the bound for that P.
 *
 * The bound B(P) = min over breakpoints 0 < t_1 < .. < t_{P-1} < 1 of
 * sum_pieces min_line int_piece (g - line)^2 drops continuity, so it is
 * below the best network; it is computed two ways:
 * - x^2: in closed form, B(P) = 1/(180 P^4) (the best line on a piece of
 *   width h leaves h^5/180; sum h_i^5 over widths summing to 1 is least at
 *   equal widths; those best lines meet at the breakpoints, so this is also
 *   the best continuous fit);
 * - sin(2 pi x) and depth-1 teachers: by dynamic programming over a grid of
 *   M cells (and a teacher's kinks). A piece [a, b] contains the grid
 *   interval from the first grid point >= a to the last <= b, and the best
 *   line's error only grows with the interval; a breakpoint inside a cell
 *   loses that cell. So the least sum over grid intervals separated by at
 *   most P - 1 lost cells is <= B(P). The interval errors come from each
 *   cell's centred least-squares statistics (Gauss-Legendre), merged
 *   interval by interval with Chan's pairwise update so that nothing
 *   cancels, and are lowered by a bound on their rounding (and on libm's
 *   1-ulp error in g) before the program runs: the result is a lower bound
 *   of B(P), hence of R*.
 * Other problems (normal inputs, d >= 2, data, deeper teachers, the logistic
 * loss, smooth activations) get 0, the bound that always holds. An l2
 * penalty is >= 0 and only raises the risk: the bounds hold with it. */
#ifndef SGDMC_LOWER_BOUND_H
#define SGDMC_LOWER_BOUND_H

#include "sgdmc/base/cancel.h"
#include "sgdmc/core/config.h"
#include "sgdmc/core/net.h"
#include "sgdmc/core/problem.h"
#include "sgdmc/core/result.h"

/* Grid cells of the program: the bound is within about P/M of B(P) in the
 * share of the target's curvature it loses. */
#define SGDMC_LOWER_GRID_CELLS 2048
/* Beyond this many pieces the program is not run (its bound is then tiny
 * anyway): 0, or the closed form for x^2. */
#define SGDMC_LOWER_GRID_MAX_PIECES 256

/* The most linear pieces on an interval of a 1-D ReLU network of `arch`'s
 * hidden widths when dead[k - 1] neurons of layer k are dead on it (dead may
 * be NULL): prod_k (n_k - dead_k + 1), saturating at LONG_MAX. (Layer k's
 * pre-activations are linear on each piece of the layers below, so each of
 * its live neurons cuts a piece at most once; skips add no breakpoint.) */
long sgdmc_arch_pieces(const sgdmc_arch *arch, const int *dead);

/* A proven lower bound of the risk of every function with at most `pieces`
 * linear pieces on [0,1] for the problem of `config` (mse, no l2 term
 * counted), and how it is known; NaN when `cancel` (may be NULL) asked to
 * stop. */
double sgdmc_pieces_lower_bound(sgdmc_problem *problem, const sgdmc_train_config *config,
                                long pieces, const sgdmc_cancel *cancel,
                                sgdmc_lower_source *source);

/* A proven lower bound of the risk of every one-hidden-layer ReLU network
 * with `live` neurons for the problem of `config`, and how it is known: for
 * x^2 on U[0,1] (mse) R*(n) itself, 1/(180 (n + 1/2)^4) (docs/minimum.md,
 * "Proven lower bounds of R*", gives the proof: a fit that uses every
 * neuron for a convex kink inside (0,1) starts with a slope <= 0, which
 * costs that first piece as much as half a piece twice as long; any other
 * fit has at most n - 1 useful kinks); otherwise the piece bound for
 * live + 1 pieces. NaN when `cancel` asked to stop. */
double sgdmc_one_layer_lower_bound(sgdmc_problem *problem, const sgdmc_train_config *config,
                                   long live, const sgdmc_cancel *cancel,
                                   sgdmc_lower_source *source);

#endif
