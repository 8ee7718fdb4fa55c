/* Proven lower bounds of the risk of piecewise-linear functions on [0,1]
 * (lower_bound.h): the closed form for x^2 and the grid program. */
#include "sgdmc/minimum/lower_bound.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

long sgdmc_arch_pieces(const sgdmc_arch *arch, const int *dead)
{
    /* each live neuron of layer k adds at most one breakpoint per piece of the
     * layers below; a dead one (its ReLU output 0) adds none, skips or not */
    long pieces = 1;
    for (int k = 1; k <= arch->depth; k++) {
        long live = arch->widths[k] - (dead && dead[k - 1] > 0 ? dead[k - 1] : 0);
        live = live > 0 ? live : 0;
        pieces = pieces > LONG_MAX / (live + 1) ? LONG_MAX : pieces * (live + 1);
    }
    return pieces;
}

/* ---- the grid program ---- */

/* Gauss-Legendre on [-1, 1], 8 nodes: exact for the polynomial moments of a
 * teacher's linear pieces, and for sin on cells of 1/2048 accurate far below
 * the rounding margin (the error term is of order h^16 g^(16)). */
static const double gl_nodes[8] = {-0.9602898564975363, -0.7966664774136267,
                                   -0.5255324099163290, -0.1834346424956498,
                                   0.1834346424956498,  0.5255324099163290,
                                   0.7966664774136267,  0.9602898564975363};
static const double gl_weights[8] = {0.1012285362903763, 0.2223810344533745,
                                     0.3137066458778873, 0.3626837833783620,
                                     0.3626837833783620, 0.3137066458778873,
                                     0.2223810344533745, 0.1012285362903763};

/* The least-squares statistics of g against x on a set of cells, centred
 * (Chan, Golub and LeVeque's pairwise update keeps them accurate where raw
 * moments would cancel): length, means, and the centred sums of products. */
typedef struct {
    double length, x, g, sxx, sgx, sgg;
} fit_stats;

/* a and b merged. */
static fit_stats merge(fit_stats a, fit_stats b)
{
    if (a.length == 0)
        return b;
    const double length = a.length + b.length, share = b.length / length;
    const double dx = b.x - a.x, dg = b.g - a.g, weight = a.length * share;
    return (fit_stats){length,
                       a.x + share * dx,
                       a.g + share * dg,
                       a.sxx + b.sxx + weight * dx * dx,
                       a.sgx + b.sgx + weight * dx * dg,
                       a.sgg + b.sgg + weight * dg * dg};
}

/* The cells: cell c spans [x[c], x[c+1]]. */
typedef struct {
    int cells;
    double *x;            /* [cells + 1] */
    fit_stats *stats;     /* [cells] */
    double gmax;          /* max |g| at the nodes */
} grid;

static void grid_free(grid *m)
{
    free(m->x);
    free(m->stats);
}

static int compare_doubles(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* SGDMC_LOWER_GRID_CELLS equal cells, split further at the target's kinks. */
static int make_grid(const double *kinks, int kink_count, grid *m)
{
    const int base = SGDMC_LOWER_GRID_CELLS;
    m->x = malloc(sizeof(double) * (size_t)(base + 1 + kink_count));
    if (!m->x)
        return -1;
    int n = 0;
    for (int i = 0; i <= base; i++)
        m->x[n++] = (double)i / base;
    for (int k = 0; k < kink_count; k++)
        if (kinks[k] > 0.0 && kinks[k] < 1.0)
            m->x[n++] = kinks[k];
    qsort(m->x, (size_t)n, sizeof *m->x, compare_doubles);
    int kept = 0;
    for (int i = 0; i < n; i++)
        if (kept == 0 || m->x[i] > m->x[kept - 1])
            m->x[kept++] = m->x[i];
    m->cells = kept - 1;
    return 0;
}

/* Each cell's statistics by Gauss-Legendre, two passes (means, then centred
 * sums), so that a nearly linear g on a short cell keeps its curvature. */
static int fill_stats(sgdmc_problem *problem, grid *m)
{
    m->stats = malloc(sizeof(fit_stats) * (size_t)m->cells);
    if (!m->stats)
        return -1;
    m->gmax = 0.0;
    for (int c = 0; c < m->cells; c++) {
        const double a = m->x[c], b = m->x[c + 1];
        const double half = 0.5 * (b - a), mid = 0.5 * (a + b);
        double xs[8], gs[8];
        for (int q = 0; q < 8; q++)
            xs[q] = mid + half * gl_nodes[q];
        sgdmc_problem_targets(problem, xs, 8, gs);
        double mean_g = 0;
        for (int q = 0; q < 8; q++) {
            mean_g += 0.5 * gl_weights[q] * gs[q];
            m->gmax = fmax(m->gmax, fabs(gs[q]));
        }
        fit_stats s = {b - a, mid, mean_g, 0, 0, 0};
        for (int q = 0; q < 8; q++) {
            const double w = half * gl_weights[q], dx = xs[q] - mid, dg = gs[q] - mean_g;
            s.sxx += w * dx * dx;
            s.sgx += w * dx * dg;
            s.sgg += w * dg * dg;
        }
        m->stats[c] = s;
    }
    return 0;
}

/* A lower bound of min_line int_s (g - line)^2 from merged statistics s of
 * `cells` cells: sgg - sgx^2 / sxx, lowered by its rounding. The merges and
 * the cell sums are accurate to about (cells + 16) eps of sgg and of the
 * fitted part; the values of g to 4 eps gmax at the nodes, which moves the
 * root of the error by at most 4 eps gmax sqrt(length). */
static double fit_error(fit_stats s, int cells)
{
    const double fitted = s.sxx > 0 ? s.sgx * s.sgx / s.sxx : 0;
    double e = s.sgg - fitted;
    e -= 8.0 * (cells + 16) * DBL_EPSILON * (s.sgg + fitted);
    return e > 0 ? e : 0.0;
}

static double interval_error(const grid *m, fit_stats s, int cells)
{
    const double e = fit_error(s, cells);
    const double root = sqrt(e) - 4 * DBL_EPSILON * m->gmax * sqrt(s.length);
    return root > 0 ? root * root * (1 - 4 * DBL_EPSILON) : 0.0;
}

/* min over at most `pieces` grid intervals covering the cells, where each
 * boundary between intervals may lose one cell, of the sum of their errors. */
static double grid_program(const grid *m, long pieces, const sgdmc_cancel *cancel)
{
    const int n = m->cells;
    const size_t width = (size_t)n + 1;
    double *error = malloc(sizeof(double) * width * width);
    double *previous = malloc(sizeof(double) * width);
    double *current = malloc(sizeof(double) * width);
    double best = 0.0;
    if (!error || !previous || !current)
        goto done; /* 0 is a bound too */
    for (int i = 0; i <= n; i++) {
        fit_stats s = {0, 0, 0, 0, 0, 0};
        error[(size_t)i * width + (size_t)i] = 0.0;
        for (int j = i + 1; j <= n; j++) {
            s = merge(s, m->stats[j - 1]);
            error[(size_t)i * width + (size_t)j] = interval_error(m, s, j - i);
        }
    }
    /* one piece: [0, x_j] */
    for (int j = 0; j <= n; j++)
        previous[j] = error[j];
    for (long p = 2; p <= pieces; p++) {
        if (sgdmc_cancel_requested(cancel)) {
            best = NAN;
            goto done;
        }
        for (int j = 0; j <= n; j++) {
            double least = previous[j]; /* an empty piece */
            for (int i = 0; i <= j; i++) {
                const double before = i > 0 && previous[i - 1] < previous[i] ? previous[i - 1]
                                                                            : previous[i];
                const double total = before + error[(size_t)i * width + (size_t)j];
                if (total < least)
                    least = total;
            }
            current[j] = least;
        }
        double *swap = previous;
        previous = current;
        current = swap;
    }
    /* sums of at most `pieces` non-negative doubles: relative rounding below
     * pieces * eps */
    best = previous[n] * (1.0 - (double)(pieces + 2) * DBL_EPSILON);
done:
    free(error);
    free(previous);
    free(current);
    return isnan(best) || best > 0 ? best : 0.0;
}

/* The kinks of a depth-1 teacher in (0, 1); -1 when the target is no such
 * teacher. */
static int teacher_kinks(sgdmc_problem *problem, double *kinks, int capacity)
{
    const double *params;
    const sgdmc_arch *t = sgdmc_problem_teacher(problem, &params);
    if (!t || t->depth != 1 || t->widths[0] != 1 || t->activation != SGDMC_ACT_RELU)
        return -1;
    int count = 0;
    const double *w = params + sgdmc_arch_weight_offset(t, 1);
    const double *b = params + sgdmc_arch_bias_offset(t, 1);
    for (int i = 0; i < t->widths[1] && count < capacity; i++)
        if (w[i] != 0.0)
            kinks[count++] = -b[i] / w[i];
    return count;
}

/* A ReLU network of one uniform input on [0,1] under mse: the setting of
 * every bound here. */
static bool relu_on_unit_interval(sgdmc_problem *problem, const sgdmc_train_config *c)
{
    return sgdmc_problem_input_dim(problem) == 1 && sgdmc_problem_data_count(problem) == 0 &&
           sgdmc_problem_input(problem) == SGDMC_INPUT_UNIFORM && c->loss == SGDMC_LOSS_MSE &&
           c->activation == SGDMC_ACT_RELU;
}

/* x^2's least risk over functions linear on each of `pieces` pieces of
 * [0,1], 1/(180 P^4); P = n + 1/2 gives the one-layer bound. The factor
 * covers the rounding of these few operations. */
static double square_bound(double pieces)
{
    return 1.0 / (180.0 * pieces * pieces * pieces * pieces) * (1.0 - 4 * DBL_EPSILON);
}

double sgdmc_one_layer_lower_bound(sgdmc_problem *problem, const sgdmc_train_config *c,
                                   long live, const sgdmc_cancel *cancel,
                                   sgdmc_lower_source *source)
{
    if (relu_on_unit_interval(problem, c) && sgdmc_problem_target(problem) == SGDMC_TARGET_SQUARE &&
        live >= 0) {
        *source = SGDMC_LOWER_CLOSED_FORM;
        return square_bound((double)live + 0.5);
    }
    return sgdmc_pieces_lower_bound(problem, c, live + 1, cancel, source);
}

double sgdmc_pieces_lower_bound(sgdmc_problem *problem, const sgdmc_train_config *c,
                                long pieces, const sgdmc_cancel *cancel,
                                sgdmc_lower_source *source)
{
    *source = SGDMC_LOWER_ZERO;
    if (!relu_on_unit_interval(problem, c) || pieces < 1)
        return 0.0;
    const sgdmc_target_kind target = sgdmc_problem_target(problem);
    if (target == SGDMC_TARGET_SQUARE) {
        *source = SGDMC_LOWER_CLOSED_FORM;
        return square_bound((double)pieces);
    }
    if (pieces > SGDMC_LOWER_GRID_MAX_PIECES)
        return 0.0;
    double kinks[1024];
    int kink_count = 0;
    if (target == SGDMC_TARGET_TEACHER) {
        kink_count = teacher_kinks(problem, kinks, 1024);
        if (kink_count < 0)
            return 0.0;
    } else if (target != SGDMC_TARGET_SIN) {
        return 0.0; /* constant: R* = 0 */
    }
    grid m = {0};
    double bound = 0.0;
    if (make_grid(kinks, kink_count, &m) == 0 && fill_stats(problem, &m) == 0) {
        bound = grid_program(&m, pieces, cancel);
        *source = SGDMC_LOWER_GRID;
    }
    grid_free(&m);
    return bound;
}
