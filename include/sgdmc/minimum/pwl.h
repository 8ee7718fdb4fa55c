/* Continuous piecewise-linear (CPWL) functions on [0,1], the functions a
 * one-hidden-layer ReLU network of one input computes there. */
#ifndef SGDMC_PWL_H
#define SGDMC_PWL_H

#include "sgdmc/core/net.h"

/* Breakpoints 0 = x[0] < x[1] < ... < x[count-1] = 1 (count >= 2) and the
 * values y[i] = f(x[i]); f is linear in between. */
typedef struct {
    int count;
    double *x;   /* [count] */
    double *y;   /* [count] */
} sgdmc_pwl;

/* Frees x and y and zeroes the struct; safe on a zeroed struct. */
void sgdmc_pwl_free(sgdmc_pwl *f);
/* f(x) for x in [0,1] (outside: the nearest end piece extended). */
double sgdmc_pwl_eval(const sgdmc_pwl *f, double x);
/* The CPWL that a one-hidden-layer ReLU network (arch depth 1, input dim 1,
 * ReLU, flat params as in net.h) computes on [0,1]: breakpoints at its kinks
 * -b_i/w_i inside (0,1). 0, or -1 when out of memory or arch is not such a
 * network. */
int sgdmc_pwl_from_network(const sgdmc_arch *arch, const double *params, sgdmc_pwl *f);
/* int_0^1 (f(x) - h(x))^2 dx for a one-hidden-layer ReLU network f (arch
 * depth 1, input dim 1, ReLU, flat params as in net.h) and a CPWL h. Exact up
 * to rounding: both are affine between the union of h's breakpoints and the
 * network's kinks, where (f - h)^2 is a quadratic integrated in closed form.
 * NaN when arch is not such a network or out of memory. */
double sgdmc_pwl_network_distance2(const sgdmc_pwl *h, const sgdmc_arch *arch,
                                   const double *params);

#endif
