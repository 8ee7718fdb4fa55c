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

double sgdmc_moment_floor(const sgdmc_optimizer_config *c)
{
    if (c->kind == SGDMC_OPT_SIGNSGD || c->kind == SGDMC_OPT_LION)
        return 0.0;
    return sgdmc_optimizer_uses(c, "eps") && !(c->eps >= SGDMC_FLUSH_MIN_EPS) ? 0.0 : DBL_MIN;
}

/* Nadam: mu_t = beta1 (1 - 0.96^(0.004 t) / 2), PyTorch's momentum_decay */
static const double nadam_momentum_decay = 4e-3;

/* The one definition of the factors; the table below only stores its values. */
static sgdmc_bias_factors bias_factors_at(const sgdmc_bias_table *table, long step,
                                          bool *saturated)
{
    const double t = (double)step;
    const double p1 = pow(table->beta1, t), p2 = pow(table->beta2, t);
    const double p3 = table->nadam ? pow(0.96, t * nadam_momentum_decay) : 0.0;
    sgdmc_bias_factors f;
    f.bc1 = 1.0 - p1;
    f.bc2 = 1.0 - p2;
    f.bc2_sqrt = sqrt(f.bc2);
    f.mu = table->beta1 * (1.0 - 0.5 * p3);
    /* powers below 2^-56 stay below 2^-54 for every later t (the true powers
     * fall; pow is faithful), and 1 - x, 1 - x/2 round to 1 for those: every
     * later step has the factors {1, 1, 1, beta1} */
    *saturated = p1 < 0x1p-56 && p2 < 0x1p-56 && p3 < 0x1p-56;
    return f;
}

void sgdmc_bias_table_init(sgdmc_bias_table *table, const sgdmc_optimizer_config *c)
{
    *table = (sgdmc_bias_table){c->beta1, c->beta2, c->kind == SGDMC_OPT_NADAM, NULL, 0, 0, 0};
}

void sgdmc_bias_table_free(sgdmc_bias_table *table)
{
    free(table->entries);
    table->entries = NULL;
    table->count = table->capacity = table->saturated_from = 0;
}

sgdmc_bias_factors sgdmc_bias_factors_of(sgdmc_bias_table *table, long t)
{
    if (table->saturated_from && t >= table->saturated_from)
        return (sgdmc_bias_factors){1.0, 1.0, 1.0, table->beta1};
    while (t > table->count) {
        if (table->count == table->capacity) {
            const long capacity = table->capacity ? 2 * table->capacity : 256;
            sgdmc_bias_factors *grown =
                realloc(table->entries, (size_t)capacity * sizeof *grown);
            if (!grown) { /* the same values without the table */
                bool saturated;
                return bias_factors_at(table, t, &saturated);
            }
            table->entries = grown;
            table->capacity = capacity;
        }
        bool saturated;
        const long next = table->count + 1;
        table->entries[table->count++] = bias_factors_at(table, next, &saturated);
        if (saturated) {
            table->saturated_from = next;
            return sgdmc_bias_factors_of(table, t);
        }
    }
    return table->entries[t - 1];
}

struct sgdmc_optimizer {
    sgdmc_optimizer_config c;
    double flush_below; /* sgdmc_moment_floor(&c) */
    size_t n;
    long step;          /* updates done so far */
    double mu_product;  /* nadam */
    /* kept across resets: the runs of a study cell share it, so pow() runs once
     * per step index and cell */
    sgdmc_bias_table bias;
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
    opt->flush_below = sgdmc_moment_floor(&opt->c);
    opt->n = n;
    opt->grad = opt->storage;
    opt->m = opt->storage + n;
    opt->v = opt->storage + 2 * n;
    opt->v_max = opt->storage + 3 * n;
    sgdmc_bias_table_init(&opt->bias, &opt->c);
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
        sgdmc_bias_table_free(&opt->bias);
    free(opt);
}

static double sign(double x) { return (double)((x > 0.0) - (x < 0.0)); }

double sgdmc_norm_from_squares(double squares, const double *x, size_t n, size_t stride)
{
    if (sgdmc_squares_normal(squares))
        return sqrt(squares);
    double biggest = 0.0;
    for (size_t i = 0; i < n; i++)
        biggest = fmax(biggest, fabs(x[i * stride]));
    if (biggest == 0.0 || !isfinite(biggest))
        return sqrt(squares);
    const int e = ilogb(biggest); /* the scaled values at most 2 in size, the largest at least 1 */
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double scaled = ldexp(x[i * stride], -e);
        sum += scaled * scaled;
    }
    return ldexp(sqrt(sum), e);
}

double sgdmc_norm2(const double *x, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += x[i] * x[i];
    return sgdmc_norm_from_squares(sum, x, n, 1);
}

#define UR_T double
#define UR_NAME(name) scalar_##name
#define UR_ZERO 0.0
#define UR_SQRT(x) sqrt(x)
#define UR_NORM(squares, d, n) sgdmc_norm_from_squares(squares, d, n, 1)
#define UR_FMAX(x, y) fmax(x, y)
#define UR_FABS(x) fabs(x)
#define UR_SIGN(x) sign(x)
#define UR_SCALE(lr, clip, normalize, norm) \
    ((normalize) ? (lr) / (norm) : (lr) * fmin(1.0, (clip) / (norm)))
#define UR_MOVE(x, step, norm) ((norm) != 0.0 ? (x) - (step) : (x))
#define UR_ANY_PAST(scale, norm) (isinf(scale) && (norm) > 0.0)
#define UR_PAST_PICK(scale, norm, a, b) (UR_ANY_PAST(scale, norm) ? (a) : (b))
#define UR_FLUSH(x, below) sgdmc_moment_flushed(x, below)
#define UR_QUOTIENT(a, b, b_inverse) sgdmc_exact_quotient(a, b, b_inverse)
#include "update_rules.h"

void sgdmc_optimizer_step(sgdmc_optimizer *opt, double *restrict x, const double *restrict g,
                          double lr)
{
    opt->step++;
    scalar_apply_rule(&opt->c, opt->flush_below, &opt->bias, opt->step, &opt->mu_product, opt->n,
                      x, g, opt->grad, opt->m, opt->v, opt->v_max, lr);
}
