/* Pointwise losses: the value at one sample and its slope in the output f. */
#ifndef SGDMC_LOSS_H
#define SGDMC_LOSS_H

#include <math.h>

#include "sgdmc/core/config.h"

/* mse: (f - y)^2. logistic: log(1 + exp(-y f)) for y in {-1, +1}, computed
 * without overflow for any y f. */
static inline double sgdmc_loss_point(sgdmc_loss loss, double f, double y, double *slope)
{
    if (loss == SGDMC_LOSS_MSE) {
        const double r = f - y;
        *slope = 2.0 * r;
        return r * r;
    }
    const double t = y * f;
    if (t >= 0.0) {
        const double e = exp(-t);
        *slope = -y * e / (1.0 + e);
        return log1p(e);
    }
    const double e = exp(t);
    *slope = -y / (1.0 + e);
    return -t + log1p(e);
}

#endif
