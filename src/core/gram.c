/* The output Jacobian's Gram matrix and its extreme eigenvalues. */
#include "sgdmc/core/gram.h"

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct sgdmc_gram {
    sgdmc_arch arch;
    int points;
    size_t n;                        /* parameters */
    sgdmc_workspace *ws;             /* for one input at a time */
    double *jacobian;                /* [points][n] */
    double *outputs;                 /* [points] */
    double *columns;                 /* [inner][order]: J^T, or J itself when n < points */
    double *dots;                    /* [order]: one row of the kernel as it is summed */
    size_t order;                    /* min(points, n) */
    gsl_matrix *kernel;              /* [order][order]: J J^T, or J^T J when n < points */
    gsl_vector *eigenvalues;
    gsl_eigen_symm_workspace *eigen;
};

/* Loop iterations between two polls when one iteration costs `work`
 * multiply-adds: about 2^16 of them (tens of microseconds) between polls.
 * At width 1 a measure is a few microseconds, and a poll at every point (a
 * clock read in a study) had cost 2% of a w1 d1 study; a wide network still
 * polls at every point. */
static size_t poll_stride(double work)
{
    const double stride = 65536.0 / (work > 1.0 ? work : 1.0);
    return stride > 1.0 ? (size_t)stride : 1;
}

void sgdmc_gram_free(sgdmc_gram *g)
{
    if (!g)
        return;
    sgdmc_workspace_free(g->ws);
    free(g->jacobian);
    free(g->outputs);
    free(g->columns);
    free(g->dots);
    if (g->kernel)
        gsl_matrix_free(g->kernel);
    if (g->eigenvalues)
        gsl_vector_free(g->eigenvalues);
    if (g->eigen)
        gsl_eigen_symm_free(g->eigen);
    free(g);
}

sgdmc_gram *sgdmc_gram_alloc(const sgdmc_arch *arch, int points)
{
    sgdmc_gram *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->arch = *arch;
    g->points = points;
    g->n = sgdmc_arch_param_count(arch);
    const size_t p = (size_t)points;
    g->ws = sgdmc_workspace_alloc(arch, 1);
    g->jacobian = malloc(p * g->n * sizeof *g->jacobian);
    g->outputs = malloc(p * sizeof *g->outputs);
    g->order = p < g->n ? p : g->n;
    g->columns = malloc(p * g->n * sizeof *g->columns);
    g->dots = malloc(g->order * sizeof *g->dots);
    g->kernel = gsl_matrix_alloc(g->order, g->order);
    g->eigenvalues = gsl_vector_alloc(g->order);
    g->eigen = gsl_eigen_symm_alloc(g->order);
    if (!g->ws || !g->jacobian || !g->outputs || !g->columns || !g->dots || !g->kernel ||
        !g->eigenvalues || !g->eigen) {
        sgdmc_gram_free(g);
        return NULL;
    }
    return g;
}

int sgdmc_gram_measure(sgdmc_gram *g, const double *params, const double *x, const double *y,
                       const sgdmc_cancel *cancel, sgdmc_gram_measures *out)
{
    const int points = g->points;
    const size_t n = g->n;
    /* row s of J: the gradient of f(x_s), from a pass over x_s alone */
    memset(g->jacobian, 0, sizeof(double) * (size_t)points * n);
    const double one = 1.0;
    double *input = sgdmc_workspace_input(g->ws);
    const size_t point_stride = poll_stride((double)n);
    for (int s = 0; s < points; s++) {
        if ((size_t)s % point_stride == 0 && sgdmc_cancel_requested(cancel))
            return SGDMC_CANCELLED;
        for (int i = 0; i < g->arch.widths[0]; i++)
            input[i] = x[(size_t)i * (size_t)points + (size_t)s];
        sgdmc_forward(&g->arch, params, g->ws, 1);
        g->outputs[s] = sgdmc_workspace_output(g->ws)[0];
        sgdmc_backward(&g->arch, params, g->ws, 1, &one, g->jacobian + (size_t)s * n);
    }
    const double *f = g->outputs;
    double risk = 0.0, grad_norm2 = 0.0;
    for (int s = 0; s < points; s++)
        risk += (f[s] - y[s]) * (f[s] - y[s]);
    for (size_t i = 0; i < n; i++) {
        double gi = 0.0;
        for (int s = 0; s < points; s++)
            gi += 2.0 * (f[s] - y[s]) / points * g->jacobian[(size_t)s * n + i];
        grad_norm2 += gi * gi;
    }
    /* J J^T and J^T J share their non-zero eigenvalues: solve the smaller.
     * K[a][b] = sum over i of M[i][a] M[i][b], i in order, with M = J^T (n x
     * points) or J (points x n); a row of K is summed for all b <= a at once,
     * each dot still adding its terms in order i = 0, 1, ..., so that the
     * compiler runs the dots side by side in vectors. */
    const bool by_rows = g->order == (size_t)points;
    const size_t inner = by_rows ? n : (size_t)points, order = g->order;
    const double *columns = g->jacobian;
    if (by_rows) {
        for (size_t s = 0; s < (size_t)points; s++)
            for (size_t i = 0; i < n; i++)
                g->columns[i * order + s] = g->jacobian[s * n + i];
        columns = g->columns;
    }
    double *dots = g->dots;
    const size_t row_stride = poll_stride((double)inner * (double)order);
    for (size_t a = 0; a < order; a++) {
        if (a % row_stride == 0 && sgdmc_cancel_requested(cancel))
            return SGDMC_CANCELLED;
        for (size_t b = 0; b <= a; b++)
            dots[b] = 0.0;
        for (size_t i = 0; i < inner; i++) {
            const double *row = columns + i * order;
            const double at_a = row[a];
            for (size_t b = 0; b <= a; b++)
                dots[b] += at_a * row[b];
        }
        for (size_t b = 0; b <= a; b++) {
            gsl_matrix_set(g->kernel, a, b, dots[b]);
            gsl_matrix_set(g->kernel, b, a, dots[b]);
        }
    }
    /* a non-finite network must come back as NaN, not abort through GSL */
    gsl_error_handler_t *previous = gsl_set_error_handler_off();
    const int status = gsl_eigen_symm(g->kernel, g->eigenvalues, g->eigen);
    gsl_set_error_handler(previous);
    if (status)
        return -1;
    /* K is positive semi-definite: a negative eigenvalue is rounding; with
     * fewer parameters than inputs its rank is below its order. An
     * eigensolver resolves eigenvalues only down to about order * eps *
     * lambda_max (backward stability): below that floor lambda_min is
     * indistinguishable from 0, and is reported as 0. */
    out->max_eig = gsl_vector_max(g->eigenvalues);
    const double floor = (double)g->order * DBL_EPSILON * out->max_eig;
    const double smallest = gsl_vector_min(g->eigenvalues);
    out->min_eig = by_rows && smallest > floor ? smallest : 0.0;
    out->risk = risk / points;
    out->grad_norm = sqrt(grad_norm2);
    return 0;
}
