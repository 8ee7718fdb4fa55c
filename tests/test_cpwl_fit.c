/* The grid search for CPWL fits (cpwl_fit.h) against closed forms and
 * against brute force over every knot set, each solved on its own as a
 * least-squares problem in the hat functions (hat_fit_values), which
 * shares nothing with the dynamic programming but the cell moments. */
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "sgdmc/minimum/cpwl_fit.h"

/* Targets with closed-form cell moments. */
typedef enum { SQUARE, ZIGZAG } shape;

/* the zigzag: CPWL through (0,0), (0.25,1), (0.5,-0.5), (0.75,0.25), (1,0) */
static const double zig_x[] = {0.0, 0.25, 0.5, 0.75, 1.0}, zig_y[] = {0.0, 1.0, -0.5, 0.25, 0.0};

static double zigzag(double x)
{
    int j = 0;
    while (j < 3 && x > zig_x[j + 1])
        j++;
    return zig_y[j] + (zig_y[j + 1] - zig_y[j]) * (x - zig_x[j]) / (zig_x[j + 1] - zig_x[j]);
}

/* int_a^b of g, x g, g^2 (Simpson's rule is exact for the zigzag's pieces,
 * cells never straddle its kinks here) */
static void cell_moments(shape s, double a, double b, double *m0, double *m1, double *m2)
{
    if (s == SQUARE) {
        *m0 = (b * b * b - a * a * a) / 3.0;
        *m1 = (pow(b, 4) - pow(a, 4)) / 4.0;
        *m2 = (pow(b, 5) - pow(a, 5)) / 5.0;
        return;
    }
    const double ga = zigzag(a), gb = zigzag(b), gm = zigzag((a + b) / 2.0), h = b - a;
    const double m = (a + b) / 2.0;
    *m0 = h * (ga + 4.0 * gm + gb) / 6.0;
    *m1 = h * (a * ga + 4.0 * m * gm + b * gb) / 6.0;
    *m2 = h * (ga * ga + 4.0 * gm * gm + gb * gb) / 6.0;
}

static sgdmc_cpwl_fit *fit_on_grid(shape s, int cells, int max_knots, double bound)
{
    double *grid = malloc((size_t)(cells + 1) * sizeof *grid);
    double *m0 = malloc((size_t)cells * sizeof *m0), *m1 = malloc((size_t)cells * sizeof *m1);
    double *m2 = malloc((size_t)cells * sizeof *m2);
    for (int i = 0; i <= cells; i++)
        grid[i] = (double)i / cells;
    for (int i = 0; i < cells; i++)
        cell_moments(s, grid[i], grid[i + 1], &m0[i], &m1[i], &m2[i]);
    sgdmc_cpwl_fit *fit = sgdmc_cpwl_fit_alloc(grid, cells + 1, m0, m1, m2, max_knots,
                                               s == SQUARE ? -1.0 : -2.0, 2.0, bound, NULL);
    free(grid);
    free(m0);
    free(m1);
    free(m2);
    return fit;
}

static double integral_g2(shape s)
{
    double total = 0.0, m0, m1, m2;
    for (int j = 0; j < 4; j++) {
        cell_moments(s, zig_x[j], zig_x[j + 1], &m0, &m1, &m2);
        total += m2;
    }
    return s == SQUARE ? 0.2 : total;
}

/* For the CPWL with breakpoints nodes[0..n-1] (0, the knots, 1) and
 * rhs[i] = int g phi_i, phi_i the hat function of node i: the normal
 * equations G v = rhs (G = int phi_i phi_j: h/3 and h/6 per piece) by GSL's
 * Cholesky, v the best fit's values at the nodes. Callers integrate
 * (g - f)^2 themselves: int g^2 - rhs . v would carry the solve's round-off
 * into the risk to first order. */
static void hat_fit_values(const double *nodes, int n, const double *rhs, double *values)
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

static double target_at(shape s, double x) { return s == SQUARE ? x * x : zigzag(x); }

/* The least risk with knots exactly at t[0..k-1]: int hat * g from the
 * cell moments, the hat functions' normal equations, then int (g - f)^2 by
 * 3-point Gauss-Legendre on each cell (exact: degree 4 at most). */
static double knot_set_risk(shape s, const double *t, int k, int cells)
{
    const int n = k + 2;
    double nodes[16], rhs[16] = {0}, values[16];
    nodes[0] = 0.0;
    for (int i = 0; i < k; i++)
        nodes[i + 1] = t[i];
    nodes[k + 1] = 1.0;
    for (int i = 0; i + 1 < n; i++) {   /* piece [nodes[i], nodes[i+1]] */
        const double lo = nodes[i], hi = nodes[i + 1], h = hi - lo;
        /* int g (hi - x)/h and g (x - lo)/h over the grid cells inside */
        for (int j = 0; j < cells; j++) {
            const double a = (double)j / cells, b = (double)(j + 1) / cells;
            if (a < lo - 1e-12 || b > hi + 1e-12)
                continue;
            double m0, m1, m2;
            cell_moments(s, a, b, &m0, &m1, &m2);
            const double far = (m1 - lo * m0) / h;
            rhs[i] += m0 - far;
            rhs[i + 1] += far;
        }
    }
    hat_fit_values(nodes, n, rhs, values);
    const double gx[3] = {-sqrt(0.6), 0.0, sqrt(0.6)}, gw[3] = {5.0 / 9.0, 8.0 / 9.0, 5.0 / 9.0};
    double risk = 0.0;
    for (int j = 0, i = 0; j < cells; j++) {
        const double a = (double)j / cells, b = (double)(j + 1) / cells;
        while (i + 2 < n && a >= nodes[i + 1] - 1e-12)
            i++;
        for (int q = 0; q < 3; q++) {
            const double x = (a + b) / 2.0 + gx[q] * (b - a) / 2.0;
            const double f = values[i] + (values[i + 1] - values[i]) * (x - nodes[i]) /
                                             (nodes[i + 1] - nodes[i]);
            const double r = target_at(s, x) - f;
            risk += gw[q] * (b - a) / 2.0 * r * r;
        }
    }
    return risk;
}

/* The best risk over every set of k knots on the grid's inner points. */
static double brute_force(shape s, int cells, int k, int *best_at)
{
    int at[8];
    for (int i = 0; i < k; i++)
        at[i] = i + 1;
    double best = INFINITY;
    do {
        double t[8];
        for (int i = 0; i < k; i++)
            t[i] = (double)at[i] / cells;
        const double risk = knot_set_risk(s, t, k, cells);
        if (risk < best) {
            best = risk;
            for (int i = 0; i < k; i++)
                best_at[i] = at[i];
        }
    } while (harness_next_combination(at, k, cells - 1));
    return best;
}

/* x^2: the best k-knot CPWL has k + 1 equal pieces, risk 1/(180 (k+1)^4),
 * on a grid that contains those knots; with or without the risk bound. */
static void check_square_closed_form(void)
{
    const int cells = 60;   /* a multiple of 2 .. 6 */
    for (int pruned = 0; pruned < 2; pruned++) {
        /* pruned: twice the 1-knot optimum, which every k >= 1 lies below */
        const double bound = pruned ? 2.0 / (180.0 * 16.0) : INFINITY;
        sgdmc_cpwl_fit *fit = fit_on_grid(SQUARE, cells, 5, bound);
        CHECK(fit != NULL, "square fit");
        if (!fit)
            return;
        for (int k = pruned ? 1 : 0; k <= 5; k++) {
            double t[5 * 4], value[4];
            int count[4];
            const int found = sgdmc_cpwl_fit_best(fit, k, 4, 1, t, count, value);
            const double exact = 1.0 / (180.0 * pow(k + 1, 4));
            CHECK(found >= 1, "k %d: found %d", k, found);
            if (found < 1)
                continue;
            const double risk = value[0] + 0.2;
            CHECK(fabs(risk - exact) <= 1e-9 * exact, "k %d pruned %d: %.15e vs %.15e", k, pruned,
                  risk, exact);
            CHECK(count[0] == k, "k %d: %d knots", k, count[0]);
            for (int i = 0; i < count[0]; i++)
                CHECK(fabs(t[i] - (i + 1.0) / (k + 1.0)) < 1e-12, "k %d knot %d at %g", k, i,
                      t[i]);
            for (int j = 1; j < found; j++)   /* best first, and the risk is real */
                CHECK(value[j] >= value[0], "k %d: set %d better than the best", k, j);
            if (k > 0) {
                const double again = knot_set_risk(SQUARE, t, count[0], cells);
                CHECK(fabs(again - risk) <= 1e-9 * exact, "k %d: the set's own risk %.15e",
                      k, again);
            }
        }
        sgdmc_cpwl_fit_free(fit);
    }
}

/* The zigzag against brute force over every knot set; with its 3 kinks as
 * knots the fit is exact. */
static void check_zigzag_brute_force(void)
{
    const int cells = 16;
    sgdmc_cpwl_fit *fit = fit_on_grid(ZIGZAG, cells, 4, 10.0);
    CHECK(fit != NULL, "zigzag fit");
    if (!fit)
        return;
    for (int k = 1; k <= 4; k++) {
        double t[4], value;
        int count, at[8];
        const int found = sgdmc_cpwl_fit_best(fit, k, 1, 0, t, &count, &value);
        const double brute = brute_force(ZIGZAG, cells, k, at);
        const double risk = value + integral_g2(ZIGZAG);
        CHECK(found == 1, "k %d: found %d", k, found);
        CHECK(fabs(risk - brute) <= 1e-12 + 1e-9 * brute, "k %d: %.15e vs brute force %.15e", k,
              risk, brute);
        if (k >= 3)
            CHECK(fabs(risk) < 1e-12, "k %d: the kinks fit exactly, risk %g", k, risk);
        if (k < 3)
            for (int i = 0; i < count && count == k; i++)
                CHECK(fabs(t[i] - (double)at[i] / cells) < 1e-12, "k %d knot %d: %g vs %g", k,
                      i, t[i], (double)at[i] / cells);
    }
    sgdmc_cpwl_fit_free(fit);
}

/* A bound below the optimum leaves nothing; malformed grids are refused. */
static void check_bound_and_input(void)
{
    sgdmc_cpwl_fit *fit = fit_on_grid(SQUARE, 60, 2, 0.5 / (180.0 * 81.0));
    CHECK(fit != NULL, "tight fit");
    if (fit) {
        double t[2];
        CHECK(sgdmc_cpwl_fit_best(fit, 2, 1, 0, t, NULL, NULL) == 0,
              "a bound below R(2 knots) keeps a fit");
        sgdmc_cpwl_fit_free(fit);
    }
    const double grid[] = {0.0, 0.6, 0.5, 1.0}, m[] = {0.1, 0.1, 0.1};
    CHECK(sgdmc_cpwl_fit_alloc(grid, 4, m, m, m, 1, -1.0, 1.0, 1.0, NULL) == NULL, "unsorted grid");
    const double short_grid[] = {0.0, 0.5, 0.9};
    CHECK(sgdmc_cpwl_fit_alloc(short_grid, 3, m, m, m, 1, -1.0, 1.0, 1.0, NULL) == NULL,
          "grid not ending at 1");
}

int main(void)
{
    check_square_closed_form();
    check_zigzag_brute_force();
    check_bound_and_input();
    if (harness_failures) {
        fprintf(stderr, "%d failures\n", harness_failures);
        return 1;
    }
    printf("cpwl_fit: all checks passed\n");
    return 0;
}
