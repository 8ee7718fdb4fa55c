/* Deterministic, accurate risk of a network: population risk for distribution
 * problems, full-data risk for data problems, with its exact gradient, and
 * the count of dead neurons.
 *
 * The risk is a weighted sum over nodes x_i with weights w_i:
 * - d = 1, ReLU network, distribution input: the network is affine between
 *   the breakpoints of its neurons (and of a ReLU teacher). The nodes are
 *   Gauss-Legendre nodes on each affine piece: 3 per piece integrate the
 *   polynomial targets exactly; sin and normal densities get 6 nodes on
 *   panels of at most 1/16 (uniform) or 1/4 (normal, on [-10, 10], which
 *   leaves out mass below 1e-22).
 * - d = 1, smooth activation: composite 8-node Gauss-Legendre on 64 panels
 *   of [0,1] (uniform) or 160 panels of [-10,10] (normal).
 * - d >= 2: the first eval_points points of the Sobol sequence, shifted by
 *   half a cell (a centred net when eval_points is a power of 2) and mapped
 *   through the normal quantile for normal inputs.
 * - data: every sample with weight 1/n. */
#ifndef SGDMC_EVALUATE_H
#define SGDMC_EVALUATE_H

#include <stdbool.h>

#include "sgdmc/base/cancel.h"
#include "sgdmc/core/config.h"
#include "sgdmc/core/net.h"
#include "sgdmc/core/problem.h"

/* Samples per forward pass inside the evaluator. */
#define SGDMC_EVAL_CHUNK 256
/* Normal inputs in d = 1 are integrated over [-R, R]. */
#define SGDMC_NORMAL_RANGE 10.0

typedef struct sgdmc_evaluator sgdmc_evaluator;

sgdmc_evaluator *sgdmc_evaluator_alloc(const sgdmc_train_config *config, sgdmc_problem *problem,
                                       const sgdmc_arch *arch);
void sgdmc_evaluator_free(sgdmc_evaluator *ev);

/* True when the risk is the problem's own to rounding: every sample of a data
 * set, or a 1-D ReLU network on uniform inputs with a polynomial target under
 * the mean squared error (three Gauss-Legendre nodes per affine piece
 * integrate it exactly). False where it is a quadrature's estimate: sin,
 * normal inputs (and their truncation), smooth activations, d >= 2, the
 * logistic loss on a distribution. */
bool sgdmc_evaluator_risk_exact(const sgdmc_evaluator *ev);

/* The risk (mean loss plus the l2 penalty) of params; when grad is not NULL
 * it is overwritten with the risk's gradient. NaN when out of memory. */
double sgdmc_evaluate_risk(sgdmc_evaluator *ev, const double *params, double *grad);
/* The same, asking `cancel` between chunks of nodes (one evaluation of a
 * wide deep network takes minutes): when it asks to stop, NaN with
 * *cancelled set, which a caller must not take for a risk. */
double sgdmc_evaluate_risk_cancellable(sgdmc_evaluator *ev, const double *params, double *grad,
                                       const sgdmc_cancel *cancel, bool *cancelled);

/* The L2(mu) distance between the output functions of two parameter vectors
 * of the evaluator's network (mu the input distribution, or the data set's
 * empirical measure), by the risk's quadrature; for 1-D ReLU networks on the
 * pieces between both networks' breakpoints, so exact for uniform inputs.
 * NaN when out of memory or when `cancel` (may be NULL) asked to stop. */
double sgdmc_evaluate_distance(sgdmc_evaluator *ev, const double *a, const double *b,
                               const sgdmc_cancel *cancel);

/* dead[k-1] = number of neurons of hidden layer k proven to have a
 * pre-activation <= 0 on the whole input domain. Exact for d = 1 ReLU
 * networks (checked at every breakpoint; for normal inputs on all of R,
 * including the rays beyond the outermost breakpoints, where each
 * pre-activation is affine) and for data problems (every sample); for
 * d >= 2 by interval bounds over the box [0,1]^d (R^d for normal inputs):
 * exact for the first layer, a sound lower bound of the count beyond it.
 * Returns -1 when out of memory, SGDMC_CANCELLED when `cancel` (may be NULL)
 * asked to stop: the breakpoints of a wide deep network take minutes. */
int sgdmc_count_dead(sgdmc_evaluator *ev, const double *params, int *dead,
                     const sgdmc_cancel *cancel);
/* Per hidden unit (layer by layer), 1 unless the last sgdmc_count_dead
 * proved it dead. */
const int *sgdmc_evaluator_alive(const sgdmc_evaluator *ev);

/* For 1-D ReLU networks of a distribution problem: the kinks of the
 * network's function inside the domain (points where its slope changes, on
 * all of R for normal inputs), and *flat when its slope is 0 everywhere
 * (a constant function). -1 for other networks and problems, when out of
 * memory, or, with *cancelled set, when `cancel` (may be NULL) asked to stop. */
int sgdmc_count_kinks(sgdmc_evaluator *ev, const double *params, bool *flat,
                      const sgdmc_cancel *cancel, bool *cancelled);

/* The probability that one first-layer ReLU neuron is dead at
 * initialization (paper 001): for weights and bias iid U[-a,a] on [0,1]^d,
 * 2^-(d+1) sum_k C(d,k)/(k+1)! (3/8 for d = 1); N(0,a^2) with d = 1: 3/8;
 * he and glorot (bias 0): 2^-d; normal inputs: 0 (a neuron dead on R^d needs
 * w = 0). NaN when unknown: data problems, --init files, normal
 * initialization with d >= 2, other activations. */
double sgdmc_dead_at_init_probability(const sgdmc_train_config *config, int input_dim);

/* The number of nodes of the last evaluation (for tests and diagnostics). */
int sgdmc_evaluator_nodes(const sgdmc_evaluator *ev);

#endif
