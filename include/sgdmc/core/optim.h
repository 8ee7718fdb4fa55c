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

/* a / b, IEEE's correctly rounded quotient bit for bit, from b_inverse =
 * 1.0 / b computed once: Adam's sqrt(v) / sqrt(bc2) for every parameter with
 * one division per step instead of one per parameter (the divider is the
 * slowest unit of Adam's update). Holds for 2^-27 <= b <= 1 (every
 * sqrt(1 - beta2^t) with 0 <= beta2 < 1) and a = sqrt(v) of any double v >= 0
 * (finite nonzero roots lie in [2^-537, 2^512]); zeros, infinities and NaN
 * take q0 = a * b_inverse, which is a / b for them.
 * Why it is exact (u = 2^-53, RN round to nearest even, every step one
 * rounding): q0 = RN(a b_inverse) has |q0 / Q - 1| <= 2u + u^2 for Q = a / b,
 * up to about 2 ulps off. One correction, q1 = RN(q0 + r0 b_inverse) with
 * r0 = RN(a - b q0), rounds a value z1 with z1 - Q = (Q - q0) d, |d| <= 2u + u^2,
 * so |z1 - Q| <= 4.0001 u^2 Q, far below half an ulp: q1 is one of the two
 * doubles around Q (a faithful rounding), both in Q's binade (no quotient of
 * doubles lies within b ulp(b 2^k) / 2 below 2^k), so |Q - q1| < ulp(Q).
 * Markstein's theorem (IBM J. Res. Dev. 34(1), 1990; machine-checked as
 * markstein-lemma in ACL2's books/rtl/rel11/lib/div.lisp) then says: when
 * |1 - b b_inverse| < 2^-53 (true for b_inverse = RN(1/b): at most
 * (1 - 2^-52) 2^-53, at an all-ones significand) and |Q - q1| < ulp(Q),
 * r1 = a - b q1 is exact and RN(q1 + r1 b_inverse) = RN(Q). Nothing overflows
 * (Q <= 2^540) or underflows (the remainders are multiples of ulp(b) ulp(q)
 * >= 2^-672). Needs round to nearest, a true fma, and b_inverse from a real
 * division (not an approximate reciprocal instruction). Without a hardware
 * FMA (a portable build) this is the division itself, the same bits;
 * tests/test_optimizers.c compares it with the division over 12.5 million
 * quotients, many next to a rounding boundary. */
static inline double sgdmc_exact_quotient(double a, double b, double b_inverse)
{
#ifdef __FMA__
    const double q0 = a * b_inverse;
    const double r0 = fma(-q0, b, a);
    const double q1 = fma(r0, b_inverse, q0);
    const double r1 = fma(-q1, b, a);
    const double q2 = fma(r1, b_inverse, q1);
    return fabs(a) > 0.0 && fabs(a) < INFINITY ? q2 : q0;
#else
    (void)b_inverse;
    return a / b;
#endif
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
/* The norm from `squares`, the sum of squares of x[0], x[stride], ... (n
 * values) added left to right: its square root while the sum is a normal
 * number, which is every gradient of a run in practice. Where it is not (each
 * square below about 1e-308, or the sum past 1.8e308, with finite values that
 * are not all zero) the square root would be 0, inf or short of digits: then
 * the same sum over the values scaled by a power of two (exactly), scaled
 * back. So a normalized step keeps its length lr, and a clipped one its
 * clip, at gradients of 1e-170 or 1e170. One run and the lanes call it alike. */
double sgdmc_norm_from_squares(double squares, const double *x, size_t n, size_t stride);
/* Whether the square root of `squares` is the norm as it stands: a normal
 * number, or NaN (sgdmc_norm_from_squares's test; the lanes test it first to
 * skip the call). */
static inline bool sgdmc_squares_normal(double squares)
{
    return !(squares < DBL_MIN || squares > DBL_MAX);
}

/* One update of x [n] from gradient g [n] with this step's learning rate. */
void sgdmc_optimizer_step(sgdmc_optimizer *opt, double *x, const double *g, double lr);

#endif
