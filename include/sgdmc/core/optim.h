/* Optimizers: a family of update rules behind one step function.
 *
 * sgd ... nadam follow torch.optim's single-tensor update rules and defaults
 * (torch/optim/{sgd,adagrad,rmsprop,adam,adamax,nadam}.py); nadam uses the
 * momentum-product rule of PyTorch >= 2.0. signsgd, normalized_sgd,
 * clipped_sgd and lion follow the formulas of paper 003 (Xiao, Hu, Toh,
 * arXiv 2307.10053) and of Lion (Chen et al., arXiv 2302.06675). With a
 * timescale, sgd/momentum/signsgd/normalized_sgd/clipped_sgd run paper 003's
 * framework m <- m + theta_k (g - m), x <- x - eta_k D(m). */
#ifndef SGDMC_OPTIM_H
#define SGDMC_OPTIM_H

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    SGDMC_OPT_SGD,
    SGDMC_OPT_MOMENTUM,
    SGDMC_OPT_NESTEROV,
    SGDMC_OPT_ADAGRAD,
    SGDMC_OPT_RMSPROP,
    SGDMC_OPT_ADAM,
    SGDMC_OPT_ADAMAX,
    SGDMC_OPT_AMSGRAD,
    SGDMC_OPT_NADAM,
    SGDMC_OPT_SIGNSGD,
    SGDMC_OPT_NORMALIZED_SGD,
    SGDMC_OPT_CLIPPED_SGD,
    SGDMC_OPT_LION,
    SGDMC_OPT_COUNT
} sgdmc_optimizer_kind;

typedef enum {
    SGDMC_TIMESCALE_NONE,
    SGDMC_TIMESCALE_SINGLE, /* theta_k = min(1, tau * eta_k) */
    SGDMC_TIMESCALE_TWO,    /* theta_k = 1 - momentum */
    SGDMC_TIMESCALE_COUNT
} sgdmc_timescale;

extern const char *const sgdmc_optimizer_names[SGDMC_OPT_COUNT + 1];
extern const char *const sgdmc_timescale_names[SGDMC_TIMESCALE_COUNT + 1];

/* NaN in a hyperparameter means "the optimizer's default". */
typedef struct {
    sgdmc_optimizer_kind kind;
    sgdmc_timescale timescale;
    double lr, momentum, beta1, beta2, eps, weight_decay, clip, tau;
} sgdmc_optimizer_config;

/* The optimizer's default hyperparameters (its kind set, timescale none). */
const sgdmc_optimizer_config *sgdmc_optimizer_defaults(sgdmc_optimizer_kind kind);
/* Replaces every NaN hyperparameter with the optimizer's default. */
void sgdmc_optimizer_resolve_defaults(sgdmc_optimizer_config *config);
/* Whether the optimizer can run paper 003's momentum framework. */
int sgdmc_optimizer_has_framework(sgdmc_optimizer_kind kind);
/* Whether the update of config's optimizer (and --timescale) reads the
 * hyperparameter named as its flag: "momentum", "beta1", "beta2", "eps",
 * "clip" or "tau" (lr and weight_decay: always). */
bool sgdmc_optimizer_uses(const sgdmc_optimizer_config *config, const char *hyperparameter);

/* The Adam family's step-dependent factors at step t >= 1: 1 - beta1^t,
 * 1 - beta2^t and its root, and Nadam's momentum schedule mu_t. A table
 * computes each with pow() once and hands out the stored values (bit-identical
 * to calling pow() each step); from the step where every power is below
 * 2^-56 they are exactly {1, 1, 1, beta1} and the table stops growing. */
typedef struct {
    double bc1, bc2, bc2_sqrt, mu;
} sgdmc_bias_factors;

typedef struct {
    double beta1, beta2;
    bool nadam;                  /* mu_t is needed */
    sgdmc_bias_factors *entries; /* steps 1..count */
    long count, capacity;
    long saturated_from;         /* 0: not yet */
} sgdmc_bias_table;

void sgdmc_bias_table_init(sgdmc_bias_table *table, const sgdmc_optimizer_config *config);
void sgdmc_bias_table_free(sgdmc_bias_table *table);
/* The factors of step t >= 1, growing the table as needed (computed without
 * it when out of memory: the same values). */
sgdmc_bias_factors sgdmc_bias_factors_of(sgdmc_bias_table *table, long t);

/* A decaying moment (momentum buffer, Adam's m and v, ...) as stored: zero
 * where its magnitude is below `below` (sgdmc_moment_floor: DBL_MIN, the
 * smallest normal double, or 0 for no flush), keeping its sign; NaN and every
 * other value unchanged. Why: a moment of a parameter whose gradient stays
 * zero (a dead ReLU neuron's) decays into the subnormals and sticks at the
 * smallest one (0.9 x 2^-1074 rounds back to 2^-1074), and every x86
 * operation on a subnormal takes a microcode assist: Adam at width 16, depth 6
 * ran 3.7x slower over 20000 steps. value * 0.0, not copysign(0.0, value): the
 * same signed zero, and the update loops stay vectorized (with copysign GCC 12
 * left optim.c's Adam loop scalar). */
static inline double sgdmc_moment_flushed(double value, double below)
{
    return fabs(value) < below ? value * 0.0 : value;
}

/* eps at or above this keeps a flushed moment's effect below rounding: a
 * moment under DBL_MIN over a denominator >= eps moves a parameter by less
 * than lr 1e-208, and sqrt of a subnormal second moment (< 1.5e-154) vanishes
 * beside eps. */
#define SGDMC_FLUSH_MIN_EPS 1e-100

/* The flush threshold of config's update (hyperparameters resolved): DBL_MIN
 * where a moment below it moves a parameter by nothing measurable (the step
 * scales with the moment, and a denominator holds eps >= SGDMC_FLUSH_MIN_EPS);
 * 0, no flush, for sign steps (signsgd with momentum, Lion: a tiny moment
 * still moves a parameter by lr, as in exact arithmetic) and for eps below
 * SGDMC_FLUSH_MIN_EPS (with eps = 0 a flushed second moment would give 0/0).
 * Computed once per optimizer, not per step. */
double sgdmc_moment_floor(const sgdmc_optimizer_config *config);

typedef struct sgdmc_optimizer sgdmc_optimizer;

sgdmc_optimizer *sgdmc_optimizer_alloc(const sgdmc_optimizer_config *config, size_t n);
void sgdmc_optimizer_free(sgdmc_optimizer *opt);
/* Forgets every step: the state of a freshly allocated optimizer. */
void sgdmc_optimizer_reset(sgdmc_optimizer *opt);
/* The Euclidean norm of x [n] (normalized and clipped steps, gradient norms). */
double sgdmc_norm2(const double *x, size_t n);

/* One update of x [n] from gradient g [n] with this step's learning rate. */
void sgdmc_optimizer_step(sgdmc_optimizer *opt, double *x, const double *g, double lr);

#endif
