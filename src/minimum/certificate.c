/* Which dead neurons stay dead for ever (certificate.h). */
#include "sgdmc/minimum/certificate.h"

#include <math.h>
#include <string.h>

/* The largest learning rate of the run: step 0's, schedules only decay. */
static double largest_lr(const sgdmc_train_config *c)
{
    if (c->schedule == SGDMC_SCHEDULE_POWER)
        return c->optimizer.lr / pow(c->schedule_k0, c->schedule_gamma);
    return c->optimizer.lr;
}

/* A plain gradient step: sgd, momentum or nesterov with momentum 0. */
static bool plain_sgd(const sgdmc_optimizer_config *o)
{
    return (o->kind == SGDMC_OPT_SGD || o->kind == SGDMC_OPT_MOMENTUM ||
            o->kind == SGDMC_OPT_NESTEROV) &&
           o->momentum == 0.0 && o->timescale == SGDMC_TIMESCALE_NONE;
}

/* The update of a coordinate with zero gradient is zero, whatever came
 * before. */
static bool memoryless(const sgdmc_optimizer_config *o)
{
    const bool no_timescale = o->timescale == SGDMC_TIMESCALE_NONE;
    switch (o->kind) {
    case SGDMC_OPT_SGD:
    case SGDMC_OPT_MOMENTUM:
    case SGDMC_OPT_NESTEROV:
        return plain_sgd(o);
    case SGDMC_OPT_SIGNSGD:
    case SGDMC_OPT_NORMALIZED_SGD:
    case SGDMC_OPT_CLIPPED_SGD:
        return no_timescale;
    case SGDMC_OPT_ADAGRAD:
        return true;
    case SGDMC_OPT_RMSPROP:
        return o->momentum == 0.0;
    default:
        return false;
    }
}

/* A decay step's factor lr (wd + 2 l2) that keeps a coordinate's sign in
 * floating point: x - lr (wd x) rounds to the far side of 0 when the factor
 * is 1 to within a few ulps (lr 0.1, wd 10 turns a bias of -0.3 into
 * +5.6e-17), so the margin is far above rounding. */
#define CONTRACTION_LIMIT (1.0 - 1e-9)

/* Under decay, frozen coordinates are multiplied by factors in [0, 1]. */
static bool contracting(const sgdmc_train_config *c)
{
    const sgdmc_optimizer_config *o = &c->optimizer;
    const double lr = largest_lr(c);
    if (plain_sgd(o) || (o->kind == SGDMC_OPT_CLIPPED_SGD && o->timescale == SGDMC_TIMESCALE_NONE))
        return lr * (o->weight_decay + 2.0 * c->l2) <= CONTRACTION_LIMIT;
    if (o->kind == SGDMC_OPT_LION) /* decoupled decay; l2 would enter sign(c) */
        return c->l2 == 0.0 && lr * o->weight_decay <= CONTRACTION_LIMIT;
    return false;
}

/* Adaptive steps divide by a moment plus eps: with eps = 0 a coordinate whose
 * gradient and state are zero gets 0/0 = NaN, so nothing stays frozen. */
static bool divides_by_zero(const sgdmc_optimizer_config *o)
{
    return sgdmc_optimizer_uses(o, "eps") && !(o->eps > 0.0);
}

sgdmc_permanence sgdmc_permanence_of(const sgdmc_train_config *c)
{
    sgdmc_optimizer_config o = c->optimizer;
    sgdmc_optimizer_resolve_defaults(&o);
    sgdmc_train_config resolved = *c;
    resolved.optimizer = o;
    if (divides_by_zero(&o))
        return (sgdmc_permanence){.from_start = false, .from_end = false, .layers = false};
    const bool decay = o.weight_decay != 0.0 || c->l2 != 0.0;
    if (!decay)
        return (sgdmc_permanence){.from_start = true, .from_end = memoryless(&o), .layers = true};
    const bool shrink = contracting(&resolved);
    return (sgdmc_permanence){.from_start = shrink,
                              .from_end = shrink && memoryless(&o),
                              .layers = false,
                              .bias_nonpositive = shrink};
}

bool sgdmc_network_is_constant(const sgdmc_arch *a, const int *dead)
{
    int unit = 0;
    for (int k = 1; k <= a->depth; k++) {
        bool all = true;
        for (int j = 0; j < a->widths[k]; j++, unit++)
            all &= dead[unit] != 0;
        if (all && !sgdmc_arch_skips_into(a, k))
            return true;
    }
    return false;
}

void sgdmc_count_units(const sgdmc_arch *a, const int *flag, int *count)
{
    int unit = 0;
    for (int k = 1; k <= a->depth; k++) {
        count[k - 1] = 0;
        for (int j = 0; j < a->widths[k]; j++, unit++)
            count[k - 1] += flag[unit] != 0;
    }
}

void sgdmc_frozen_units(const sgdmc_arch *a, const double *params, const int *alive,
                        sgdmc_permanence p, bool active, int *frozen)
{
    const int units = sgdmc_arch_hidden_units(a);
    memset(frozen, 0, sizeof(int) * (size_t)units);
    if (!active)
        return;
    int unit = 0;
    for (int k = 1; k <= a->depth; k++) {
        const int fan_in = a->widths[k - 1], first = unit;
        const double *w = params + sgdmc_arch_weight_offset(a, k);
        const double *b = params + sgdmc_arch_bias_offset(a, k);
        bool all_dead = true;
        for (int j = 0; j < a->widths[k]; j++, unit++) {
            bool dead = !alive[unit];
            if (k == 1) { /* (a) */
                frozen[unit] = dead && (!p.bias_nonpositive || b[j] <= 0.0);
            } else { /* (b) */
                bool nonpositive = b[j] <= 0.0;
                for (int i = 0; i < fan_in && nonpositive; i++)
                    nonpositive = w[(size_t)j * fan_in + i] <= 0.0;
                frozen[unit] = nonpositive;
            }
            all_dead &= dead;
        }
        /* (c): the whole layer dead and nothing bypasses it */
        if (p.layers && all_dead && !sgdmc_arch_skips_into(a, k))
            for (int u = first; u < unit; u++)
                frozen[u] = 1;
    }
}
