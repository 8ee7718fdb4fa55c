/* Continuous piecewise-linear functions on [0,1] and their L2 distance to a
 * one-hidden-layer ReLU network. */
#include "sgdmc/minimum/pwl.h"

#include <math.h>
#include <stdlib.h>

void sgdmc_pwl_free(sgdmc_pwl *f)
{
    free(f->x);
    free(f->y);
    f->x = f->y = NULL;
    f->count = 0;
}

double sgdmc_pwl_eval(const sgdmc_pwl *f, double x)
{
    int lo = 0, hi = f->count - 1;
    while (hi - lo > 1) {   /* x[lo] <= x < x[hi] unless x is outside */
        const int mid = (lo + hi) / 2;
        if (f->x[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    if (x == f->x[hi])
        return f->y[hi];
    const double h = f->x[hi] - f->x[lo];
    if (h <= 0.0)
        return f->y[lo];
    return f->y[lo] + (f->y[hi] - f->y[lo]) * ((x - f->x[lo]) / h);
}

static bool is_shallow_relu_1d(const sgdmc_arch *arch)
{
    return arch->depth == 1 && arch->widths[0] == 1 && arch->widths[2] == 1 &&
           arch->activation == SGDMC_ACT_RELU;
}

static double network_value(int width, const double *params, double x)
{
    const double *w = params, *b = params + width, *v = params + 2 * width;
    double f = params[3 * width];
    for (int i = 0; i < width; i++) {
        const double z = w[i] * x + b[i];
        if (z > 0.0)
            f += v[i] * z;
    }
    return f;
}

static int compare_doubles(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The sorted distinct points 0, 1, the network's kinks in (0,1) and, when h
 * is not NULL, h's breakpoints; *count of them in a malloc'ed array. */
static double *merged_points(const sgdmc_pwl *h, int width, const double *params, int *count)
{
    const int cap = width + 2 + (h ? h->count : 0);
    double *p = malloc((size_t)cap * sizeof *p);
    if (!p)
        return NULL;
    int n = 0;
    p[n++] = 0.0;
    p[n++] = 1.0;
    for (int i = 0; i < width; i++)
        if (params[i] != 0.0) {
            const double t = -params[width + i] / params[i];
            if (t > 0.0 && t < 1.0)
                p[n++] = t;
        }
    if (h)
        for (int i = 0; i < h->count; i++)
            if (h->x[i] > 0.0 && h->x[i] < 1.0)
                p[n++] = h->x[i];
    qsort(p, (size_t)n, sizeof *p, compare_doubles);
    int kept = 0;
    for (int i = 0; i < n; i++)
        if (kept == 0 || p[i] != p[kept - 1])
            p[kept++] = p[i];
    *count = kept;
    return p;
}

int sgdmc_pwl_from_network(const sgdmc_arch *arch, const double *params, sgdmc_pwl *f)
{
    f->count = 0;
    f->x = f->y = NULL;
    if (!is_shallow_relu_1d(arch))
        return -1;
    const int width = arch->widths[1];
    int n;
    double *x = merged_points(NULL, width, params, &n);
    double *y = x ? malloc((size_t)n * sizeof *y) : NULL;
    if (!y) {
        free(x);
        return -1;
    }
    for (int i = 0; i < n; i++)
        y[i] = network_value(width, params, x[i]);
    f->count = n;
    f->x = x;
    f->y = y;
    return 0;
}

double sgdmc_pwl_network_distance2(const sgdmc_pwl *h, const sgdmc_arch *arch,
                                   const double *params)
{
    if (!is_shallow_relu_1d(arch) || h->count < 2)
        return NAN;
    const int width = arch->widths[1];
    int n;
    double *p = merged_points(h, width, params, &n);
    if (!p)
        return NAN;
    /* e = f - h is affine on each [p_j, p_{j+1}]: int e^2 = len (e0^2 + e0 e1 + e1^2) / 3 */
    double total = 0.0;
    double e0 = network_value(width, params, p[0]) - sgdmc_pwl_eval(h, p[0]);
    for (int j = 0; j + 1 < n; j++) {
        const double e1 = network_value(width, params, p[j + 1]) - sgdmc_pwl_eval(h, p[j + 1]);
        total += (p[j + 1] - p[j]) * (e0 * e0 + e0 * e1 + e1 * e1) / 3.0;
        e0 = e1;
    }
    free(p);
    return total;
}
