/* Least-squares CPWL fits in the hat-function basis, solved directly: the
 * tests' independent reference for fits with given knots. */
#ifndef SGDMC_TEST_HAT_FIT_H
#define SGDMC_TEST_HAT_FIT_H

#include <gsl/gsl_linalg.h>

/* For the CPWL with breakpoints nodes[0..n-1] (0, the knots, 1) and
 * rhs[i] = int g phi_i, phi_i the hat function of node i: the normal
 * equations G v = rhs (G = int phi_i phi_j: h/3 and h/6 per piece) by GSL's
 * Cholesky, v the best fit's values at the nodes. Callers integrate
 * (g - f)^2 themselves: int g^2 - rhs . v would carry the solve's round-off
 * into the risk to first order. */
static inline void hat_fit_values(const double *nodes, int n, const double *rhs, double *values)
{
    gsl_matrix *G = gsl_matrix_calloc((size_t)n, (size_t)n);
    gsl_vector *b = gsl_vector_alloc((size_t)n), *v = gsl_vector_alloc((size_t)n);
    for (int i = 0; i < n; i++)
        gsl_vector_set(b, (size_t)i, rhs[i]);
    for (int i = 0; i + 1 < n; i++) {
        const double h = nodes[i + 1] - nodes[i];
        *gsl_matrix_ptr(G, (size_t)i, (size_t)i) += h / 3.0;
        *gsl_matrix_ptr(G, (size_t)i + 1, (size_t)i + 1) += h / 3.0;
        *gsl_matrix_ptr(G, (size_t)i, (size_t)i + 1) += h / 6.0;
        *gsl_matrix_ptr(G, (size_t)i + 1, (size_t)i) += h / 6.0;
    }
    gsl_linalg_cholesky_decomp1(G);
    gsl_linalg_cholesky_solve(G, b, v);
    for (int i = 0; i < n; i++)
        values[i] = gsl_vector_get(v, (size_t)i);
    gsl_matrix_free(G);
    gsl_vector_free(b);
    gsl_vector_free(v);
}

#endif
