/* Update rules of the optimizers; each is one loop over the flat parameter buffer. */
#include "sgdmc/core/optim.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const char *const sgdmc_optimizer_names[SGDMC_OPT_COUNT + 1] = {
    "sgd",     "momentum", "nesterov", "adagrad", "rmsprop",
    "adam",    "adamax",   "amsgrad",  "nadam",   "signsgd",
    "normalized_sgd", "clipped_sgd", "lion", NULL};

const char *const sgdmc_timescale_names[SGDMC_TIMESCALE_COUNT + 1] = {
    "none", "single", "two", NULL};

#define NONE SGDMC_TIMESCALE_NONE
/* PyTorch's defaults; sgd has no default lr in PyTorch, so ours is 0.01.
 * RMSprop's alpha is beta2; Lion's momentum decay is beta2 as well. */
static const sgdmc_optimizer_config optimizer_defaults[SGDMC_OPT_COUNT] = {
    [SGDMC_OPT_SGD] = {SGDMC_OPT_SGD, NONE, 0.01, 0.0, 0.9, 0.999, 1e-8, 0.0, 1.0, 1.0},
    [SGDMC_OPT_MOMENTUM] = {SGDMC_OPT_MOMENTUM, NONE, 0.01, 0.9, 0.9, 0.999, 1e-8, 0.0, 1.0, 1.0},
    [SGDMC_OPT_NESTEROV] = {SGDMC_OPT_NESTEROV, NONE, 0.01, 0.9, 0.9, 0.999, 1e-8, 0.0, 1.0, 1.0},
    [SGDMC_OPT_ADAGRAD] = {SGDMC_OPT_ADAGRAD, NONE, 0.01, 0.0, 0.9, 0.999, 1e-10, 0.0, 1.0, 1.0},
    [SGDMC_OPT_RMSPROP] = {SGDMC_OPT_RMSPROP, NONE, 0.01, 0.0, 0.9, 0.99, 1e-8, 0.0, 1.0, 1.0},
    [SGDMC_OPT_ADAM] = {SGDMC_OPT_ADAM, NONE, 0.001, 0.0, 0.9, 0.999, 1e-8, 0.0, 1.0, 1.0},
    [SGDMC_OPT_ADAMAX] = {SGDMC_OPT_ADAMAX, NONE, 0.002, 0.0, 0.9, 0.999, 1e-8, 0.0, 1.0, 1.0},
    [SGDMC_OPT_AMSGRAD] = {SGDMC_OPT_AMSGRAD, NONE, 0.001, 0.0, 0.9, 0.999, 1e-8, 0.0, 1.0, 1.0},
    [SGDMC_OPT_NADAM] = {SGDMC_OPT_NADAM, NONE, 0.002, 0.0, 0.9, 0.999, 1e-8, 0.0, 1.0, 1.0},
    [SGDMC_OPT_SIGNSGD] = {SGDMC_OPT_SIGNSGD, NONE, 0.01, 0.9, 0.9, 0.999, 1e-8, 0.0, 1.0, 1.0},
    [SGDMC_OPT_NORMALIZED_SGD] = {SGDMC_OPT_NORMALIZED_SGD, NONE, 0.01, 0.9, 0.9, 0.999, 1e-8,
                                  0.0, 1.0, 1.0},
    [SGDMC_OPT_CLIPPED_SGD] = {SGDMC_OPT_CLIPPED_SGD, NONE, 0.01, 0.9, 0.9, 0.999, 1e-8, 0.0,
                               1.0, 1.0},
    [SGDMC_OPT_LION] = {SGDMC_OPT_LION, NONE, 1e-4, 0.0, 0.9, 0.99, 1e-8, 0.0, 1.0, 1.0},
};
#undef NONE

const sgdmc_optimizer_config *sgdmc_optimizer_defaults(sgdmc_optimizer_kind kind)
{
    return &optimizer_defaults[kind];
}

void sgdmc_optimizer_resolve_defaults(sgdmc_optimizer_config *c)
{
    const sgdmc_optimizer_config *d = &optimizer_defaults[c->kind];
    double *const values[] = {&c->lr, &c->momentum, &c->beta1, &c->beta2,
                              &c->eps, &c->weight_decay, &c->clip, &c->tau};
    const double defaults[] = {d->lr, d->momentum, d->beta1, d->beta2,
                               d->eps, d->weight_decay, d->clip, d->tau};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++)
        if (isnan(*values[i]))
            *values[i] = defaults[i];
}

int sgdmc_optimizer_has_framework(sgdmc_optimizer_kind kind)
{
    return kind == SGDMC_OPT_SGD || kind == SGDMC_OPT_MOMENTUM || kind == SGDMC_OPT_SIGNSGD ||
           kind == SGDMC_OPT_NORMALIZED_SGD || kind == SGDMC_OPT_CLIPPED_SGD ||
           kind == SGDMC_OPT_LION;
}

bool sgdmc_optimizer_uses(const sgdmc_optimizer_config *c, const char *name)
{
    const sgdmc_optimizer_kind k = c->kind;
    const bool adam_type = k == SGDMC_OPT_ADAM || k == SGDMC_OPT_AMSGRAD ||
                           k == SGDMC_OPT_ADAMAX || k == SGDMC_OPT_NADAM;
    const bool framework = c->timescale != SGDMC_TIMESCALE_NONE; /* paper 003's theta */
    if (!strcmp(name, "momentum"))
        return framework ? c->timescale == SGDMC_TIMESCALE_TWO && k != SGDMC_OPT_LION
                         : k == SGDMC_OPT_SGD || k == SGDMC_OPT_MOMENTUM ||
                               k == SGDMC_OPT_NESTEROV || k == SGDMC_OPT_RMSPROP;
    if (!strcmp(name, "beta1"))
        return adam_type || k == SGDMC_OPT_LION;
    if (!strcmp(name, "beta2"))
        return (!framework && (adam_type || k == SGDMC_OPT_RMSPROP)) ||
               (k == SGDMC_OPT_LION && c->timescale != SGDMC_TIMESCALE_SINGLE);
    if (!strcmp(name, "eps"))
        return !framework && (adam_type || k == SGDMC_OPT_ADAGRAD || k == SGDMC_OPT_RMSPROP);
    if (!strcmp(name, "clip"))
        return k == SGDMC_OPT_CLIPPED_SGD;
    if (!strcmp(name, "tau"))
        return c->timescale == SGDMC_TIMESCALE_SINGLE;
    return true;
}

/* The step-dependent factors of the Adam family at step t: 1 - beta1^t,
 * 1 - beta2^t and its root, and Nadam's momentum schedule mu_t. */
typedef struct {
    double bc1, bc2, bc2_sqrt, mu;
} bias_factors;

/* Nadam: mu_t = beta1 (1 - 0.96^(0.004 t) / 2), PyTorch's momentum_decay */
static const double nadam_momentum_decay = 4e-3;

/* The one definition of the factors; the table below only stores its values. */
static bias_factors bias_factors_at(const sgdmc_optimizer_config *c, long step, bool *saturated)
{
    const double t = (double)step;
    const double p1 = pow(c->beta1, t), p2 = pow(c->beta2, t);
    const double p3 = c->kind == SGDMC_OPT_NADAM ? pow(0.96, t * nadam_momentum_decay) : 0.0;
    bias_factors f;
    f.bc1 = 1.0 - p1;
    f.bc2 = 1.0 - p2;
    f.bc2_sqrt = sqrt(f.bc2);
    f.mu = c->beta1 * (1.0 - 0.5 * p3);
    /* powers below 2^-56 stay below 2^-54 for every later t (the true powers
     * fall; pow is faithful), and 1 - x, 1 - x/2 round to 1 for those: every
     * later step has the factors {1, 1, 1, beta1} */
    *saturated = p1 < 0x1p-56 && p2 < 0x1p-56 && p3 < 0x1p-56;
    return f;
}

struct sgdmc_optimizer {
    sgdmc_optimizer_config c;
    size_t n;
    long step;          /* updates done so far */
    double mu_product;  /* nadam */
    /* bias_factors_at(t) for t = 1..bias_count, kept across resets: the runs of
     * a study cell share them, so pow() runs once per step index and cell */
    bias_factors *bias;
    long bias_count, bias_capacity;
    long bias_saturated_from; /* 0: not yet; else the factors are constant from here on */
    double *grad;       /* gradient with L2 weight decay folded in */
    double *m;          /* first moment / momentum buffer */
    double *v;          /* second moment / sum of squares / infinity norm */
    double *v_max;      /* amsgrad */
    double storage[];
};

sgdmc_optimizer *sgdmc_optimizer_alloc(const sgdmc_optimizer_config *config, size_t n)
{
    sgdmc_optimizer *opt = calloc(1, sizeof *opt + 4 * n * sizeof(double));
    if (!opt)
        return NULL;
    opt->c = *config;
    sgdmc_optimizer_resolve_defaults(&opt->c);
    opt->n = n;
    opt->grad = opt->storage;
    opt->m = opt->storage + n;
    opt->v = opt->storage + 2 * n;
    opt->v_max = opt->storage + 3 * n;
    sgdmc_optimizer_reset(opt);
    return opt;
}

void sgdmc_optimizer_reset(sgdmc_optimizer *opt)
{
    opt->step = 0;
    opt->mu_product = 1.0;
    memset(opt->storage, 0, 4 * opt->n * sizeof(double));
}

void sgdmc_optimizer_free(sgdmc_optimizer *opt)
{
    if (opt)
        free(opt->bias);
    free(opt);
}

/* The factors of step t (>= 1) from the table, grown as steps go on. */
static bias_factors bias_factors_of(sgdmc_optimizer *opt, long t)
{
    if (opt->bias_saturated_from && t >= opt->bias_saturated_from)
        return (bias_factors){1.0, 1.0, 1.0, opt->c.beta1};
    while (t > opt->bias_count) {
        if (opt->bias_count == opt->bias_capacity) {
            const long capacity = opt->bias_capacity ? 2 * opt->bias_capacity : 256;
            bias_factors *grown = realloc(opt->bias, (size_t)capacity * sizeof *grown);
            if (!grown) { /* the same values without the table */
                bool saturated;
                return bias_factors_at(&opt->c, t, &saturated);
            }
            opt->bias = grown;
            opt->bias_capacity = capacity;
        }
        bool saturated;
        const long next = opt->bias_count + 1;
        opt->bias[opt->bias_count++] = bias_factors_at(&opt->c, next, &saturated);
        if (saturated) {
            opt->bias_saturated_from = next;
            return bias_factors_of(opt, t);
        }
    }
    return opt->bias[t - 1];
}

static double sign(double x) { return (double)((x > 0.0) - (x < 0.0)); }

double sgdmc_norm2(const double *x, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += x[i] * x[i];
    return sqrt(sum);
}

typedef enum { DIRECTION_IDENTITY, DIRECTION_SIGN, DIRECTION_NORMALIZE, DIRECTION_CLIP } direction;

static direction direction_of(sgdmc_optimizer_kind kind)
{
    switch (kind) {
    case SGDMC_OPT_SIGNSGD:
        return DIRECTION_SIGN;
    case SGDMC_OPT_NORMALIZED_SGD:
        return DIRECTION_NORMALIZE;
    case SGDMC_OPT_CLIPPED_SGD:
        return DIRECTION_CLIP;
    default:
        return DIRECTION_IDENTITY;
    }
}

/* x -= lr * D(d): sign, d/|d| or d * min(1, C/|d|); a zero d leaves x as it is. */
static void directed_step(direction dir, double clip, double *restrict x,
                          const double *restrict d, size_t n, double lr)
{
    double scale = lr;
    if (dir == DIRECTION_SIGN) {
        for (size_t i = 0; i < n; i++)
            x[i] -= lr * sign(d[i]);
        return;
    }
    if (dir != DIRECTION_IDENTITY) {
        const double norm = sgdmc_norm2(d, n);
        if (norm == 0.0)
            return;
        scale = dir == DIRECTION_NORMALIZE ? lr / norm : lr * fmin(1.0, clip / norm);
    }
    for (size_t i = 0; i < n; i++)
        x[i] -= scale * d[i];
}

void sgdmc_optimizer_step(sgdmc_optimizer *opt, double *restrict x, const double *restrict g_in,
                          double lr)
{
    const sgdmc_optimizer_config *c = &opt->c;
    const size_t n = opt->n;
    double *restrict m = opt->m, *restrict v = opt->v;
    const double *restrict g = g_in;
    opt->step++;
    const bool first = opt->step == 1;

    if (c->weight_decay != 0.0 && c->kind != SGDMC_OPT_LION) {
        double *restrict gd = opt->grad;
        for (size_t i = 0; i < n; i++)
            gd[i] = g[i] + c->weight_decay * x[i];
        g = gd;
    }

    if (c->timescale != SGDMC_TIMESCALE_NONE && c->kind != SGDMC_OPT_LION) {
        /* Paper 003's framework; the buffer starts at the first gradient, as in the
         * authors' code (github.com/xnchxy/GeneralSGD). */
        const double theta = c->timescale == SGDMC_TIMESCALE_TWO ? 1.0 - c->momentum
                                                                 : fmin(1.0, c->tau * lr);
        for (size_t i = 0; i < n; i++)
            m[i] = first ? g[i] : m[i] + theta * (g[i] - m[i]);
        directed_step(direction_of(c->kind), c->clip, x, m, n, lr);
        return;
    }

    switch (c->kind) {
    case SGDMC_OPT_SGD:
    case SGDMC_OPT_MOMENTUM:
    case SGDMC_OPT_NESTEROV: {
        const double mu = c->momentum;
        if (mu == 0.0) {
            for (size_t i = 0; i < n; i++)
                x[i] += -lr * g[i];
            break;
        }
        const bool nesterov = c->kind == SGDMC_OPT_NESTEROV;
        for (size_t i = 0; i < n; i++) {
            m[i] = first ? g[i] : m[i] * mu + g[i];
            const double d = nesterov ? g[i] + mu * m[i] : m[i];
            x[i] += -lr * d;
        }
        break;
    }
    case SGDMC_OPT_ADAGRAD:
        for (size_t i = 0; i < n; i++) {
            v[i] += g[i] * g[i];
            x[i] += -lr * (g[i] / (sqrt(v[i]) + c->eps));
        }
        break;
    case SGDMC_OPT_RMSPROP: {
        const double alpha = c->beta2;
        for (size_t i = 0; i < n; i++) {
            v[i] = v[i] * alpha + (1.0 - alpha) * (g[i] * g[i]);
            const double avg = sqrt(v[i]) + c->eps;
            if (c->momentum > 0.0) {
                m[i] = m[i] * c->momentum + g[i] / avg;
                x[i] += -lr * m[i];
            } else {
                x[i] += -lr * (g[i] / avg);
            }
        }
        break;
    }
    case SGDMC_OPT_ADAM:
    case SGDMC_OPT_AMSGRAD: {
        const double b1 = c->beta1, b2 = c->beta2;
        const bias_factors f = bias_factors_of(opt, opt->step);
        const double step_size = lr / f.bc1;
        const double bc2_sqrt = f.bc2_sqrt;
        const bool ams = c->kind == SGDMC_OPT_AMSGRAD;
        double *restrict vmax = opt->v_max;
        for (size_t i = 0; i < n; i++) {
            m[i] = m[i] * b1 + (1.0 - b1) * g[i];
            v[i] = v[i] * b2 + (1.0 - b2) * (g[i] * g[i]);
            double second = v[i];
            if (ams) {
                vmax[i] = fmax(vmax[i], v[i]);
                second = vmax[i];
            }
            const double denom = sqrt(second) / bc2_sqrt + c->eps;
            x[i] += -step_size * (m[i] / denom);
        }
        break;
    }
    case SGDMC_OPT_ADAMAX: {
        const double b1 = c->beta1, b2 = c->beta2;
        const double clr = lr / bias_factors_of(opt, opt->step).bc1;
        for (size_t i = 0; i < n; i++) {
            m[i] = m[i] * b1 + (1.0 - b1) * g[i];
            v[i] = fmax(v[i] * b2, fabs(g[i]) + c->eps);
            x[i] += -clr * (m[i] / v[i]);
        }
        break;
    }
    case SGDMC_OPT_NADAM: {
        const double b1 = c->beta1, b2 = c->beta2;
        const bias_factors f = bias_factors_of(opt, opt->step);
        const double bc2 = f.bc2;
        const double mu = f.mu;
        const double mu_next = bias_factors_of(opt, opt->step + 1).mu;
        opt->mu_product *= mu;
        const double mu_product_next = opt->mu_product * mu_next;
        const double grad_scale = -lr * (1.0 - mu) / (1.0 - opt->mu_product);
        const double moment_scale = (-lr * mu_next) / (1.0 - mu_product_next);
        for (size_t i = 0; i < n; i++) {
            m[i] = m[i] * b1 + (1.0 - b1) * g[i];
            v[i] = v[i] * b2 + (1.0 - b2) * (g[i] * g[i]);
            const double denom = sqrt(v[i] / bc2) + c->eps;
            x[i] += grad_scale * (g[i] / denom);
            x[i] += moment_scale * (m[i] / denom);
        }
        break;
    }
    case SGDMC_OPT_SIGNSGD:
    case SGDMC_OPT_NORMALIZED_SGD:
    case SGDMC_OPT_CLIPPED_SGD:
        directed_step(direction_of(c->kind), c->clip, x, g, n, lr);
        break;
    case SGDMC_OPT_LION: {
        /* paper 003: the momentum rate 1 - beta2 is the two-timescale theta;
         * the single timescale ties it to the step, theta_k = min(1, tau eta_k) */
        const double b1 = c->beta1, wd = c->weight_decay;
        const double rate =
            c->timescale == SGDMC_TIMESCALE_SINGLE ? fmin(1.0, c->tau * lr) : 1.0 - c->beta2;
        for (size_t i = 0; i < n; i++) {
            const double update = sign(b1 * m[i] + (1.0 - b1) * g[i]);
            x[i] -= lr * (update + wd * x[i]);
            m[i] += rate * (g[i] - m[i]);
        }
        break;
    }
    case SGDMC_OPT_COUNT:
        break;
    }
}
