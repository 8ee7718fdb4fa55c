/* The update rules of the 13 optimizers, written once over a value type.
 *
 * optim.c includes this file for one run (UR_T = double), lanes.c for a
 * group of runs in lockstep (UR_T = a vector of lanes), so that a run's
 * update is the same operations in the same order either way. PyTorch's
 * forms (torch.optim) and paper 003's momentum framework; every product and
 * sum as written, no contraction (docs/architecture.md, "Arithmetic"). The
 * includer defines, before including:
 *   UR_T                    the value type; scalars combine with it directly
 *   UR_NAME(name)           this type's name for a function
 *   UR_ZERO                 zero
 *   UR_SQRT(x), UR_FMAX(x, y), UR_FABS(x), UR_SIGN(x)    per value
 *   UR_NORM(squares, d, n)  sgdmc_norm_from_squares per value (d [n] of UR_T)
 *   UR_SCALE(lr, clip, normalize, norm)  per value: lr / norm when normalize,
 *                           else lr * fmin(1, clip / norm)
 *   UR_MOVE(x, step, norm)  x - step where norm != 0, else x, bit for bit
 *   UR_ANY_PAST(scale, norm)  whether a value has scale infinite and norm > 0
 *   UR_PAST_PICK(scale, norm, a, b)  per value: a where scale is infinite and
 *                           norm > 0, else b
 *   UR_FLUSH(x, below)      sgdmc_moment_flushed per value (a decaying moment as stored;
 *                           below from sgdmc_moment_floor, once per optimizer)
 *   UR_QUOTIENT(a, b, b_inverse)  sgdmc_exact_quotient per value: a / b, the same bits
 * This is not a header of an API: only those two files include it. */

#include <stdbool.h>
#include <stddef.h>

#include "sgdmc/core/optim.h"

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

/* x -= lr D(d): sign, d / |d| or d min(1, C / |d|); where d is zero, x stays */
static void UR_NAME(directed_step)(direction dir, double clip, UR_T *restrict x,
                                   const UR_T *restrict d, size_t n, double lr)
{
    if (dir == DIRECTION_SIGN) {
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] - lr * UR_SIGN(d[i]);
        return;
    }
    if (dir == DIRECTION_IDENTITY) {
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] - lr * d[i];
        return;
    }
    UR_T squares = UR_ZERO; /* sgdmc_norm2: left to right */
    for (size_t i = 0; i < n; i++)
        squares = squares + d[i] * d[i];
    const UR_T norm = UR_NORM(squares, d, n);
    const UR_T scale = UR_SCALE(lr, clip, dir == DIRECTION_NORMALIZE, norm);
    if (!UR_ANY_PAST(scale, norm)) {
        for (size_t i = 0; i < n; i++)
            x[i] = UR_MOVE(x[i], scale * d[i], norm);
        return;
    }
    /* lr / norm past DBL_MAX (normalized steps): the norm is below lr / DBL_MAX,
     * about 5.6e-309 lr, a subnormal number short of digits. There the
     * direction comes from d scaled up by 2^600, exactly: each square of the
     * scaled values is then a normal number, for lr below 1e100. */
    UR_T big_squares = UR_ZERO;
    for (size_t i = 0; i < n; i++) {
        const UR_T big = d[i] * 0x1p600;
        big_squares = big_squares + big * big;
    }
    const UR_T big_norm = UR_SQRT(big_squares);
    for (size_t i = 0; i < n; i++)
        x[i] = UR_MOVE(x[i],
                       UR_PAST_PICK(scale, norm, lr * ((d[i] * 0x1p600) / big_norm),
                                    scale * d[i]),
                       norm);
}

/* Adam and AMSGrad (PyTorch's form): denom = sqrt(v) / sqrt(bc2) + eps.
 * Once beta2^t < 2^-54, bc2 = 1 - beta2^t rounds to 1 (beta2 = 0.999: from
 * step ~37,400 on) and sqrt(v) / 1 is sqrt(v) exactly in IEEE arithmetic
 * (infinities, NaNs and zeros included): `corrected` false leaves that
 * quotient out, the same bits. Until then the quotient is sgdmc_exact_quotient's
 * multiplies and fused multiply-adds: the division's bits, without the divider.
 * Inlined with `ams` and `corrected` constant, so that each loop has no test
 * per element (GCC 12 stopped unswitching `ams` itself once the quotient grew
 * the loop, and left the scalar Adam loop unvectorized). */
static inline __attribute__((always_inline)) void
UR_NAME(adam)(const sgdmc_optimizer_config *c, double flush_below, sgdmc_bias_factors f, bool ams,
              bool corrected, size_t n, UR_T *restrict x, const UR_T *restrict grad,
              UR_T *restrict m, UR_T *restrict v, UR_T *restrict vmax, double lr)
{
    const double b1 = c->beta1, b2 = c->beta2;
    const double step_size = lr / f.bc1;
    const double bc2_sqrt = f.bc2_sqrt, bc2_sqrt_inverse = 1.0 / bc2_sqrt;
    for (size_t i = 0; i < n; i++) {
        m[i] = UR_FLUSH(m[i] * b1 + (1.0 - b1) * grad[i], flush_below);
        v[i] = UR_FLUSH(v[i] * b2 + (1.0 - b2) * (grad[i] * grad[i]), flush_below);
        UR_T second = v[i];
        if (ams) {
            vmax[i] = UR_FMAX(vmax[i], v[i]);
            second = vmax[i];
        }
        const UR_T root = UR_SQRT(second);
        const UR_T denom =
            (corrected ? UR_QUOTIENT(root, bc2_sqrt, bc2_sqrt_inverse) : root) + c->eps;
        x[i] = x[i] + -step_size * (m[i] / denom);
    }
}

/* The update of step `step` (1: the first) of x [n] from the gradient g [n]
 * with learning rate lr: decayed [n] is scratch, m, v, vmax [n] the moments,
 * flushed below flush_below (sgdmc_moment_floor(c)); *mu_product is Nadam's
 * running product of mu_t. */
static void UR_NAME(apply_rule)(const sgdmc_optimizer_config *c, double flush_below,
                                sgdmc_bias_table *bias, long step, double *mu_product, size_t n,
                                UR_T *restrict x, const UR_T *restrict g, UR_T *restrict decayed,
                                UR_T *restrict m, UR_T *restrict v, UR_T *restrict vmax,
                                double lr)
{
    const UR_T *restrict grad = g;
    const bool first = step == 1;

    if (c->weight_decay != 0.0 && c->kind != SGDMC_OPT_LION) {
        for (size_t i = 0; i < n; i++)
            decayed[i] = grad[i] + c->weight_decay * x[i];
        grad = decayed;
    }

    if (c->timescale != SGDMC_TIMESCALE_NONE && c->kind != SGDMC_OPT_LION) {
        const double theta = c->timescale == SGDMC_TIMESCALE_TWO ? 1.0 - c->momentum
                                                                 : fmin(1.0, c->tau * lr);
        for (size_t i = 0; i < n; i++)
            m[i] = first ? grad[i] : UR_FLUSH(m[i] + theta * (grad[i] - m[i]), flush_below);
        UR_NAME(directed_step)(direction_of(c->kind), c->clip, x, m, n, lr);
        return;
    }

    switch (c->kind) {
    case SGDMC_OPT_SGD:
    case SGDMC_OPT_MOMENTUM:
    case SGDMC_OPT_NESTEROV: {
        const double mu = c->momentum;
        if (mu == 0.0) {
            for (size_t i = 0; i < n; i++)
                x[i] = x[i] + -lr * grad[i];
            break;
        }
        const bool nesterov = c->kind == SGDMC_OPT_NESTEROV;
        for (size_t i = 0; i < n; i++) {
            m[i] = first ? grad[i] : UR_FLUSH(m[i] * mu + grad[i], flush_below);
            const UR_T d = nesterov ? grad[i] + mu * m[i] : m[i];
            x[i] = x[i] + -lr * d;
        }
        break;
    }
    case SGDMC_OPT_ADAGRAD:
        for (size_t i = 0; i < n; i++) {
            v[i] = v[i] + grad[i] * grad[i];
            x[i] = x[i] + -lr * (grad[i] / (UR_SQRT(v[i]) + c->eps));
        }
        break;
    case SGDMC_OPT_RMSPROP: {
        const double alpha = c->beta2;
        for (size_t i = 0; i < n; i++) {
            v[i] = UR_FLUSH(v[i] * alpha + (1.0 - alpha) * (grad[i] * grad[i]), flush_below);
            const UR_T avg = UR_SQRT(v[i]) + c->eps;
            if (c->momentum > 0.0) {
                m[i] = UR_FLUSH(m[i] * c->momentum + grad[i] / avg, flush_below);
                x[i] = x[i] + -lr * m[i];
            } else {
                x[i] = x[i] + -lr * (grad[i] / avg);
            }
        }
        break;
    }
    case SGDMC_OPT_ADAM:
    case SGDMC_OPT_AMSGRAD: {
        const sgdmc_bias_factors f = sgdmc_bias_factors_of(bias, step);
        const bool ams = c->kind == SGDMC_OPT_AMSGRAD, corrected = f.bc2_sqrt != 1.0;
        if (!ams && corrected)
            UR_NAME(adam)(c, flush_below, f, false, true, n, x, grad, m, v, vmax, lr);
        else if (!ams)
            UR_NAME(adam)(c, flush_below, f, false, false, n, x, grad, m, v, vmax, lr);
        else if (corrected)
            UR_NAME(adam)(c, flush_below, f, true, true, n, x, grad, m, v, vmax, lr);
        else
            UR_NAME(adam)(c, flush_below, f, true, false, n, x, grad, m, v, vmax, lr);
        break;
    }
    case SGDMC_OPT_ADAMAX: {
        const double b1 = c->beta1, b2 = c->beta2;
        const double clr = lr / sgdmc_bias_factors_of(bias, step).bc1;
        for (size_t i = 0; i < n; i++) {
            m[i] = UR_FLUSH(m[i] * b1 + (1.0 - b1) * grad[i], flush_below);
            v[i] = UR_FMAX(v[i] * b2, UR_FABS(grad[i]) + c->eps);
            x[i] = x[i] + -clr * (m[i] / v[i]);
        }
        break;
    }
    case SGDMC_OPT_NADAM: {
        const double b1 = c->beta1, b2 = c->beta2;
        const sgdmc_bias_factors f = sgdmc_bias_factors_of(bias, step);
        const double bc2 = f.bc2;
        const double mu = f.mu;
        const double mu_next = sgdmc_bias_factors_of(bias, step + 1).mu;
        *mu_product *= mu;
        const double mu_product_next = *mu_product * mu_next;
        const double grad_scale = -lr * (1.0 - mu) / (1.0 - *mu_product);
        const double moment_scale = (-lr * mu_next) / (1.0 - mu_product_next);
        const bool corrected = bc2 != 1.0; /* as in adam above */
        for (size_t i = 0; i < n; i++) {
            m[i] = UR_FLUSH(m[i] * b1 + (1.0 - b1) * grad[i], flush_below);
            v[i] = UR_FLUSH(v[i] * b2 + (1.0 - b2) * (grad[i] * grad[i]), flush_below);
            const UR_T denom = UR_SQRT(corrected ? v[i] / bc2 : v[i]) + c->eps;
            x[i] = x[i] + grad_scale * (grad[i] / denom);
            x[i] = x[i] + moment_scale * (m[i] / denom);
        }
        break;
    }
    case SGDMC_OPT_SIGNSGD:
    case SGDMC_OPT_NORMALIZED_SGD:
    case SGDMC_OPT_CLIPPED_SGD:
        UR_NAME(directed_step)(direction_of(c->kind), c->clip, x, grad, n, lr);
        break;
    case SGDMC_OPT_LION: {
        const double b1 = c->beta1, wd = c->weight_decay;
        const double rate =
            c->timescale == SGDMC_TIMESCALE_SINGLE ? fmin(1.0, c->tau * lr) : 1.0 - c->beta2;
        for (size_t i = 0; i < n; i++) {
            const UR_T direction = UR_SIGN(b1 * m[i] + (1.0 - b1) * grad[i]);
            x[i] = x[i] - lr * (direction + wd * x[i]);
            m[i] = UR_FLUSH(m[i] + rate * (grad[i] - m[i]), flush_below);
        }
        break;
    }
    case SGDMC_OPT_COUNT:
        break;
    }
}
