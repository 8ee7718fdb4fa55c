/* R*(w) of one-hidden-layer ReLU networks on U[0,1]: variable projection over
 * the knots, closed-form least squares for the coefficients, BFGS over the
 * knots from deterministic multi-starts, and a local search over the hinges'
 * orientations. The class and the method are described in rstar.h. */
#include "sgdmc/minimum/rstar.h"

#include "sgdmc/minimum/cpwl_fit.h"
#include "sgdmc/base/cancel.h"

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RIGHT = 0, LEFT = 1 };

/* Eigenvalues of the Jacobi-scaled Gram matrix below this share of the largest
 * are treated as 0 (coinciding knots). */
#define RCOND 1e-13
/* Cholesky pivots (of the scaled Gram matrix, unit diagonal) below this hand
 * the solve to the eigen-decomposition. */
#define CHOL_PIVOT 1e-11
/* Widths up to this try every orientation pattern from every start. */
#define EXHAUSTIVE_WIDTH 4
/* Flips re-optimized per round of the orientation search (all up to this many). */
#define FLIPS_PER_ROUND 8
#define SEED 20250101UL
/* Gradient norm (of R scaled to 1 at the start) where the multi-start's
 * coarse optimizations stop; the best few are then polished. */
#define COARSE 1e-5
#define POOL 3
/* pattern_sweep: every orientation pattern up to this width, then the best few */
#define SWEEP_WIDTH 14
#define SWEEP_TRIES 6
/* sweep_relaxed, wider than SWEEP_WIDTH: this many patterns nearest to feasible */
#define NEAR_PATTERNS 1024
/* sweep_relaxed: up to this width every pattern is ranked by the second-order
 * model (2^width steps of O(width)), the cheapest this many re-optimized to
 * this gradient norm */
#define MODEL_WIDTH 24
#define MODEL_TRIES 16
#define MODEL_GTOL 1e-8
/* The grid search (cpwl_fit.h) for the starts of structure A and of the
 * relaxation: this many uniform cells (and the teacher's kinks), the best
 * GRID_STARTS knot sets that differ by more than GRID_SPREAD cells, searched
 * within GRID_SLACK times the best risk the multi-start found */
#define GRID_CELLS(knots) (128 + 8 * (knots))
#define GRID_STARTS 8
#define GRID_SPREAD 2
#define GRID_SLACK 2.0
/* knot_pair_starts: the half-distance of a doubled knot */
#define PAIR_GAP 1e-3

/* ---- the target ------------------------------------------------------- */

typedef struct {
    sgdmc_target_kind kind;
    double constant;
    sgdmc_pwl teacher;   /* a ReLU teacher of depth 1 as a CPWL on [0,1] */
} target;

static double target_value(const target *g, double x)
{
    switch (g->kind) {
    case SGDMC_TARGET_CONSTANT:
        return g->constant;
    case SGDMC_TARGET_SQUARE:
        return x * x;
    case SGDMC_TARGET_SIN:
        return sin(2.0 * M_PI * x);
    default:
        return sgdmc_pwl_eval(&g->teacher, x);
    }
}

/* m0 = int_a^b g(x) dx, m1 = int_a^b x g(x) dx and, when m2 is not NULL,
 * m2 = int_a^b g(x)^2 dx, 0 <= a <= b <= 1. */
static void target_moments(const target *g, double a, double b, double *m0, double *m1,
                           double *m2)
{
    switch (g->kind) {
    case SGDMC_TARGET_CONSTANT:
        *m0 = g->constant * (b - a);
        *m1 = g->constant * (b - a) * (b + a) / 2.0;
        if (m2)
            *m2 = g->constant * g->constant * (b - a);
        return;
    case SGDMC_TARGET_SQUARE:
        *m0 = (b - a) * (b * b + a * b + a * a) / 3.0;
        *m1 = (b - a) * (b + a) * (b * b + a * a) / 4.0;
        if (m2)
            *m2 = (pow(b, 5.0) - pow(a, 5.0)) / 5.0;
        return;
    case SGDMC_TARGET_SIN: {
        /* int sin(kx) = -cos(kx)/k, int x sin(kx) = -x cos(kx)/k + sin(kx)/k^2,
         * int sin^2(kx) = x/2 - sin(2kx)/(4k) */
        const double k = 2.0 * M_PI, ca = cos(k * a), cb = cos(k * b);
        *m0 = (ca - cb) / k;
        *m1 = (a * ca - b * cb) / k + (sin(k * b) - sin(k * a)) / (k * k);
        if (m2)
            *m2 = (b - a) / 2.0 - (sin(2.0 * k * b) - sin(2.0 * k * a)) / (4.0 * k);
        return;
    }
    default: {
        /* g is linear on each teacher piece: Simpson's rule is exact for x g and g^2 */
        const sgdmc_pwl *t = &g->teacher;
        double s0 = 0.0, s1 = 0.0, s2 = 0.0;
        for (int j = 0; j + 1 < t->count; j++) {
            const double lo = fmax(a, t->x[j]), hi = fmin(b, t->x[j + 1]);
            if (hi <= lo)
                continue;
            const double glo = sgdmc_pwl_eval(t, lo), ghi = sgdmc_pwl_eval(t, hi);
            const double gmid = (glo + ghi) / 2.0, h = hi - lo;
            s0 += h * (glo + ghi) / 2.0;
            s1 += h * (2.0 * lo * glo + lo * ghi + hi * glo + 2.0 * hi * ghi) / 6.0;
            s2 += h * (glo * glo + 4.0 * gmid * gmid + ghi * ghi) / 6.0;
        }
        *m0 = s0;
        *m1 = s1;
        if (m2)
            *m2 = s2;
        return;
    }
    }
}

/* The teacher's kinks inside (0,1), teacher.x[1 .. kinks]; 0 for other targets. */
static int teacher_kinks(const target *g)
{
    return g->teacher.count > 2 ? g->teacher.count - 2 : 0;
}

/* ---- the solver's workspace -------------------------------------------- */

typedef struct {
    target g;
    int width;
    /* the current structure: nh hinges; hinge i has knot t[i] and side[i];
     * fixed[i] hinges are not moved (the affine neuron of structure A) */
    int nh;
    double *t;
    int *side;
    bool *fixed;
    int nfree;
    int *free_of;          /* [nfree] hinge index of each free knot */
    /* least squares for coef = (c, a_1..a_nh): n = width + 1 unknowns at most */
    gsl_matrix *gram, *evec;
    gsl_vector *eval;
    gsl_eigen_symmv_workspace *eig;
    double *rhs, *coef, *scale, *proj;
    double *chol;          /* [n * n] Cholesky factor of the scaled Gram matrix */
    /* quadrature on the pieces */
    int cap;
    double *pts, *pts2, *fpts, *head, *tail;
    double *grad_t;        /* [width] */
    int gl_n;
    double gl_x[10], gl_w[10];
    double max_panel;
    double fscale;         /* BFGS sees R * fscale, of order 1: GSL's line search
                              has absolute round-off tests */
    /* asked every CANCEL_PERIOD evaluations; once it says stop, every
     * evaluation of both solvers of a search returns NaN at once, so that
     * the search unwinds within milliseconds */
    const sgdmc_cancel *cancel;
    bool *cancelled;       /* shared by the search's solvers */
    unsigned evaluations;
} solver;

enum { CANCEL_PERIOD = 64 };

/* True once the search has been cancelled; asks the poll now and then. */
static bool stopped(solver *s)
{
    if (!*s->cancelled && ++s->evaluations % CANCEL_PERIOD == 0 &&
        sgdmc_cancel_requested(s->cancel))
        *s->cancelled = true;
    return *s->cancelled;
}

static void solver_free(solver *s)
{
    if (!s)
        return;
    sgdmc_pwl_free(&s->g.teacher);
    free(s->t);
    free(s->side);
    free(s->fixed);
    free(s->free_of);
    if (s->gram)
        gsl_matrix_free(s->gram);
    if (s->evec)
        gsl_matrix_free(s->evec);
    if (s->eval)
        gsl_vector_free(s->eval);
    if (s->eig)
        gsl_eigen_symmv_free(s->eig);
    free(s->rhs);
    free(s->coef);
    free(s->scale);
    free(s->proj);
    free(s->chol);
    free(s->pts);
    free(s->pts2);
    free(s->fpts);
    free(s->head);
    free(s->tail);
    free(s->grad_t);
    free(s);
}

static solver *solver_alloc(sgdmc_problem *problem, const sgdmc_train_config *config, int width,
                            const sgdmc_cancel *cancel, bool *cancelled)
{
    solver *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cancel = cancel;
    s->cancelled = cancelled;
    s->width = width;
    s->g.kind = config->target;
    s->g.constant = config->target_constant;
    if (s->g.kind == SGDMC_TARGET_TEACHER) {
        const double *tp;
        const sgdmc_arch *teacher = sgdmc_problem_teacher(problem, &tp);
        if (!teacher || sgdmc_pwl_from_network(teacher, tp, &s->g.teacher)) {
            solver_free(s);
            return NULL;
        }
    }
    const int n = width + 1, w = width > 0 ? width : 1;
    const int teacher_points = s->g.teacher.count;
    s->cap = 2 * (width + teacher_points + 2) + 40;
    s->t = calloc((size_t)w, sizeof *s->t);
    s->side = calloc((size_t)w, sizeof *s->side);
    s->fixed = calloc((size_t)w, sizeof *s->fixed);
    s->free_of = calloc((size_t)w, sizeof *s->free_of);
    s->grad_t = calloc((size_t)w, sizeof *s->grad_t);
    s->gram = gsl_matrix_alloc((size_t)n, (size_t)n);
    s->evec = gsl_matrix_alloc((size_t)n, (size_t)n);
    s->eval = gsl_vector_alloc((size_t)n);
    s->eig = gsl_eigen_symmv_alloc((size_t)n);
    s->rhs = calloc((size_t)n, sizeof *s->rhs);
    s->coef = calloc((size_t)n, sizeof *s->coef);
    s->scale = calloc((size_t)n, sizeof *s->scale);
    s->proj = calloc((size_t)n, sizeof *s->proj);
    s->chol = calloc((size_t)n * (size_t)n, sizeof *s->chol);
    s->pts = calloc((size_t)s->cap, sizeof *s->pts);
    s->pts2 = calloc((size_t)s->cap, sizeof *s->pts2);
    s->fpts = calloc((size_t)s->cap, sizeof *s->fpts);
    s->head = calloc((size_t)s->cap, sizeof *s->head);
    s->tail = calloc((size_t)s->cap, sizeof *s->tail);
    if (!s->t || !s->side || !s->fixed || !s->free_of || !s->grad_t || !s->gram || !s->evec ||
        !s->eval || !s->eig || !s->rhs || !s->coef || !s->scale || !s->proj || !s->chol || !s->pts ||
        !s->pts2 || !s->fpts || !s->head || !s->tail) {
        solver_free(s);
        return NULL;
    }
    if (s->g.kind == SGDMC_TARGET_SIN) {
        s->gl_n = 10;
        s->max_panel = 1.0 / 16.0;
        gsl_integration_glfixed_table *rule = gsl_integration_glfixed_table_alloc(10);
        if (!rule) {
            solver_free(s);
            return NULL;
        }
        for (int k = 0; k < 10; k++)
            gsl_integration_glfixed_point(-1.0, 1.0, (size_t)k, &s->gl_x[k], &s->gl_w[k], rule);
        gsl_integration_glfixed_table_free(rule);
    } else {
        /* 3 nodes: exact for (g - f)^2 of degree <= 4 on each piece */
        s->gl_n = 3;
        s->max_panel = 1.0;
        s->gl_x[0] = -sqrt(0.6), s->gl_x[1] = 0.0, s->gl_x[2] = sqrt(0.6);
        s->gl_w[0] = 5.0 / 9.0, s->gl_w[1] = 8.0 / 9.0, s->gl_w[2] = 5.0 / 9.0;
    }
    return s;
}

/* Sets the structure: nh hinges, the free ones listed in free_of. */
static void solver_structure(solver *s, int nh)
{
    s->nh = nh;
    s->nfree = 0;
    for (int i = 0; i < nh; i++)
        if (!s->fixed[i])
            s->free_of[s->nfree++] = i;
}

/* ---- least squares for fixed knots ------------------------------------- */

static double hinge(int side, double t, double x)
{
    const double z = side == RIGHT ? x - t : t - x;
    return z > 0.0 ? z : 0.0;
}

/* int_0^L (y + p)(y + q) dy */
static double shifted_product(double L, double p, double q)
{
    return L * (L * L / 3.0 + (p + q) * L / 2.0 + p * q);
}

/* int_0^1 h_i h_j for hinges (si, ti) and (sj, tj), in closed form. */
static double hinge_product(int si, double ti, int sj, double tj)
{
    if (si == RIGHT && sj == RIGHT) {
        const double m = fmax(ti, tj);
        return shifted_product(1.0 - m, m - ti, m - tj);
    }
    if (si == LEFT && sj == LEFT) {
        const double m = fmin(ti, tj);
        return shifted_product(m, ti - m, tj - m);
    }
    const double r = si == RIGHT ? ti : tj, l = si == RIGHT ? tj : ti;
    return l > r ? (l - r) * (l - r) * (l - r) / 6.0 : 0.0;
}

/* int_0^1 h g */
static double hinge_moment(const target *g, int side, double t)
{
    double m0, m1;
    if (side == RIGHT) {
        target_moments(g, t, 1.0, &m0, &m1, NULL);
        return m1 - t * m0;
    }
    target_moments(g, 0.0, t, &m0, &m1, NULL);
    return t * m0 - m1;
}

/* Solves the scaled system (lower triangle of A) by Cholesky into coef;
 * -1 when a pivot falls below CHOL_PIVOT (nearly coinciding knots: then the
 * pseudo-inverse decides). */
static int cholesky_solve(solver *s, const gsl_matrix *A, int n)
{
    double *L = s->chol;
    for (int j = 0; j < n; j++) {
        double d = gsl_matrix_get(A, (size_t)j, (size_t)j);
        for (int k = 0; k < j; k++)
            d -= L[j * n + k] * L[j * n + k];
        if (!(d > CHOL_PIVOT))
            return -1;
        const double ljj = sqrt(d);
        L[j * n + j] = ljj;
        for (int i = j + 1; i < n; i++) {
            double v = gsl_matrix_get(A, (size_t)i, (size_t)j);
            for (int k = 0; k < j; k++)
                v -= L[i * n + k] * L[j * n + k];
            L[i * n + j] = v / ljj;
        }
    }
    double *y = s->proj;
    for (int i = 0; i < n; i++) {   /* L y = scale * rhs */
        double v = s->scale[i] * s->rhs[i];
        for (int k = 0; k < i; k++)
            v -= L[i * n + k] * y[k];
        y[i] = v / L[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {   /* L^T z = y */
        double v = y[i];
        for (int k = i + 1; k < n; k++)
            v -= L[k * n + i] * y[k];
        y[i] = v / L[i * n + i];
    }
    for (int i = 0; i < n; i++)
        s->coef[i] = y[i] * s->scale[i];
    return 0;
}

/* coef = argmin int (g - c - sum a_i h_i)^2, through the pseudo-inverse of
 * the Jacobi-scaled Gram matrix. */
static int solve_coefficients(solver *s)
{
    const int n = s->nh + 1;
    if (n == 1) {
        double m0, m1;
        target_moments(&s->g, 0.0, 1.0, &m0, &m1, NULL);
        s->coef[0] = m0;
        return 0;
    }
    gsl_matrix_view G = gsl_matrix_submatrix(s->gram, 0, 0, (size_t)n, (size_t)n);
    gsl_matrix *A = &G.matrix;
    double m0, m1;
    target_moments(&s->g, 0.0, 1.0, &m0, &m1, NULL);
    /* the lower triangle: gsl_eigen_symmv reads only that one */
    gsl_matrix_set(A, 0, 0, 1.0);
    s->rhs[0] = m0;
    for (int i = 0; i < s->nh; i++) {
        const double ti = s->t[i];
        const int si = s->side[i];
        gsl_matrix_set(A, (size_t)i + 1, 0,
                       si == RIGHT ? (1.0 - ti) * (1.0 - ti) / 2.0 : ti * ti / 2.0);
        for (int j = 0; j <= i; j++)
            gsl_matrix_set(A, (size_t)i + 1, (size_t)j + 1,
                           hinge_product(si, ti, s->side[j], s->t[j]));
        s->rhs[i + 1] = hinge_moment(&s->g, si, ti);
    }
    /* Jacobi scaling; a hinge that vanishes on [0,1] gets coefficient 0 */
    for (int i = 0; i < n; i++) {
        const double d = gsl_matrix_get(A, (size_t)i, (size_t)i);
        s->scale[i] = d > 1e-200 ? 1.0 / sqrt(d) : 0.0;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            const double v = gsl_matrix_get(A, (size_t)i, (size_t)j) * s->scale[i] * s->scale[j];
            gsl_matrix_set(A, (size_t)i, (size_t)j, i == j && s->scale[i] == 0.0 ? 1.0 : v);
        }
    if (cholesky_solve(s, A, n) == 0)
        return 0;
    gsl_matrix_view V = gsl_matrix_submatrix(s->evec, 0, 0, (size_t)n, (size_t)n);
    gsl_vector_view L = gsl_vector_subvector(s->eval, 0, (size_t)n);
    gsl_eigen_symmv_workspace *ws = s->eig;
    if (gsl_eigen_symmv(A, &L.vector, &V.matrix, ws) != GSL_SUCCESS)
        return -1;
    double lmax = 0.0;
    for (int k = 0; k < n; k++)
        lmax = fmax(lmax, gsl_vector_get(&L.vector, (size_t)k));
    for (int i = 0; i < n; i++) {
        s->proj[i] = 0.0;
        s->coef[i] = 0.0;
    }
    for (int k = 0; k < n; k++) {
        const double lambda = gsl_vector_get(&L.vector, (size_t)k);
        if (!(lambda > RCOND * lmax))
            continue;
        double dot = 0.0;
        for (int i = 0; i < n; i++)
            dot += gsl_matrix_get(&V.matrix, (size_t)i, (size_t)k) * s->scale[i] * s->rhs[i];
        dot /= lambda;
        for (int i = 0; i < n; i++)
            s->proj[i] += dot * gsl_matrix_get(&V.matrix, (size_t)i, (size_t)k);
    }
    for (int i = 0; i < n; i++)
        s->coef[i] = s->proj[i] * s->scale[i];
    return 0;
}

/* ---- the risk and its gradient over the knots -------------------------- */

static int compare_doubles(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double model_value(const solver *s, double x)
{
    double f = s->coef[0];
    for (int i = 0; i < s->nh; i++)
        f += s->coef[i + 1] * hinge(s->side[i], s->t[i], x);
    return f;
}

/* The sorted pieces' ends: 0, 1, the knots and the teacher's kinks, panels
 * split to at most max_panel. Returns their number, in s->pts. */
static int build_points(solver *s)
{
    int n = 0;
    double *p = s->pts2;
    p[n++] = 0.0;
    p[n++] = 1.0;
    for (int i = 0; i < s->nh; i++)
        if (s->t[i] > 0.0 && s->t[i] < 1.0)
            p[n++] = s->t[i];
    for (int j = 0; j < s->g.teacher.count; j++)
        if (s->g.teacher.x[j] > 0.0 && s->g.teacher.x[j] < 1.0)
            p[n++] = s->g.teacher.x[j];
    qsort(p, (size_t)n, sizeof *p, compare_doubles);
    int m = 0;
    for (int j = 0; j < n; j++) {
        if (m > 0 && p[j] == s->pts[m - 1])
            continue;
        if (m > 0 && p[j] - s->pts[m - 1] > s->max_panel) {
            const double lo = s->pts[m - 1], len = p[j] - lo;
            const int parts = (int)ceil(len / s->max_panel);
            for (int k = 1; k < parts; k++)
                s->pts[m++] = lo + len * k / parts;
        }
        s->pts[m++] = p[j];
    }
    return m;
}

/* Position of x in the sorted pts[0..n-1] (x is one of them, or outside). */
static int find_point(const double *pts, int n, double x)
{
    if (x <= 0.0)
        return 0;
    if (x >= 1.0)
        return n - 1;
    int lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (pts[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    return pts[hi] == x ? hi : lo;
}

/* R(t) = min over coefficients of int_0^1 (g - f)^2, computed as the
 * quadrature of the squared residual; with grad_t, dR/dt_i for every hinge.
 * NaN on failure. */
static double evaluate(solver *s, double *grad_t)
{
    if (stopped(s) || solve_coefficients(s))
        return NAN;
    const int n = build_points(s);
    for (int j = 0; j < n; j++)
        s->fpts[j] = model_value(s, s->pts[j]);
    double risk = 0.0;
    s->head[0] = 0.0;
    for (int j = 0; j + 1 < n; j++) {
        const double lo = s->pts[j], hi = s->pts[j + 1], h = hi - lo;
        const double mid = 0.5 * (lo + hi), half = 0.5 * h;
        const double flo = s->fpts[j], slope = (s->fpts[j + 1] - flo) / h;
        double r2 = 0.0, r1 = 0.0;
        for (int k = 0; k < s->gl_n; k++) {
            const double x = mid + half * s->gl_x[k];
            const double r = target_value(&s->g, x) - (flo + slope * (x - lo));
            r2 += s->gl_w[k] * r * r;
            r1 += s->gl_w[k] * r;
        }
        risk += half * r2;
        s->head[j + 1] = half * r1;   /* the piece's int r, summed below */
    }
    if (grad_t) {
        s->tail[n - 1] = 0.0;
        for (int j = n - 2; j >= 0; j--)
            s->tail[j] = s->tail[j + 1] + s->head[j + 1];
        for (int j = 1; j < n; j++)
            s->head[j] += s->head[j - 1];
        for (int i = 0; i < s->nh; i++) {
            const int at = find_point(s->pts, n, s->t[i]);
            grad_t[i] = s->side[i] == RIGHT ? 2.0 * s->coef[i + 1] * s->tail[at]
                                            : -2.0 * s->coef[i + 1] * s->head[at];
        }
    }
    return risk;
}

/* ---- BFGS over the knots, t = (1 - cos u) / 2 -------------------------- */

static void set_knots(solver *s, const gsl_vector *u)
{
    for (int k = 0; k < s->nfree; k++)
        s->t[s->free_of[k]] = 0.5 * (1.0 - cos(gsl_vector_get(u, (size_t)k)));
}

static double fn_f(const gsl_vector *u, void *params)
{
    solver *s = params;
    set_knots(s, u);
    const double r = evaluate(s, NULL) * s->fscale;
    return isfinite(r) ? r : GSL_POSINF;
}

static void fn_fdf(const gsl_vector *u, void *params, double *f, gsl_vector *grad)
{
    solver *s = params;
    set_knots(s, u);
    *f = evaluate(s, s->grad_t) * s->fscale;
    for (int k = 0; k < s->nfree; k++) {
        const double uk = gsl_vector_get(u, (size_t)k);
        gsl_vector_set(grad, (size_t)k, s->grad_t[s->free_of[k]] * 0.5 * sin(uk) * s->fscale);
    }
    if (!isfinite(*f))
        *f = GSL_POSINF;
}

static void fn_df(const gsl_vector *u, void *params, gsl_vector *grad)
{
    double f;
    fn_fdf(u, params, &f, grad);
}

/* Minimizes R over the free knots from the current s->t; leaves the best
 * knots in s->t and returns R there (NaN when out of memory). gtol > 0 stops
 * at that gradient norm of R / R(start) (a coarse local minimum, for
 * ranking starts); gtol = 0 polishes until BFGS makes no more progress. */
static double optimize(solver *s, double gtol)
{
    if (s->nfree == 0)
        return evaluate(s, NULL);
    const size_t m = (size_t)s->nfree;
    gsl_multimin_fdfminimizer *min =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, m);
    gsl_vector *u = gsl_vector_alloc(m);
    if (!min || !u) {
        if (min)
            gsl_multimin_fdfminimizer_free(min);
        if (u)
            gsl_vector_free(u);
        return NAN;
    }
    for (size_t k = 0; k < m; k++) {
        const double t = s->t[s->free_of[k]];
        gsl_vector_set(u, k, acos(fmin(1.0, fmax(-1.0, 1.0 - 2.0 * t))));
    }
    gsl_multimin_function_fdf fdf = {.f = fn_f, .df = fn_df, .fdf = fn_fdf, .n = m, .params = s};
    s->fscale = 1.0;
    double best = fn_f(u, s);
    const int max_iter = 200 + 40 * (int)m;
    const int restarts = gtol > 0.0 ? 1 : 6;
    for (int restart = 0; restart < restarts && best > 0.0 && isfinite(best); restart++) {
        s->fscale = 1.0 / best;
        gsl_multimin_fdfminimizer_set(min, &fdf, u, 0.1 / (double)(m + 1), 0.1);
        for (int iter = 0; iter < max_iter && !*s->cancelled; iter++) {
            if (gsl_multimin_fdfminimizer_iterate(min) != GSL_SUCCESS)
                break;
            if (gtol > 0.0 && gsl_multimin_test_gradient(min->gradient, gtol) == GSL_SUCCESS)
                break;
        }
        const double f = gsl_multimin_fdfminimizer_minimum(min) / s->fscale;
        if (!(f < best))
            break;
        const bool progress = f < best * (1.0 - 1e-12);
        best = f;
        gsl_vector_memcpy(u, gsl_multimin_fdfminimizer_x(min));
        if (!progress)
            break;
    }
    set_knots(s, u);
    gsl_multimin_fdfminimizer_free(min);
    gsl_vector_free(u);
    return evaluate(s, NULL);
}

/* ---- the search over structures ------------------------------------------ */

typedef struct {
    double risk;
    double *t;       /* [width] */
    int *side;       /* [width] */
    bool *fixed;     /* [width] */
} candidate;

static int candidate_alloc(candidate *c, int width)
{
    const size_t w = (size_t)(width > 0 ? width : 1);
    c->risk = INFINITY;
    c->t = calloc(w, sizeof *c->t);
    c->side = calloc(w, sizeof *c->side);
    c->fixed = calloc(w, sizeof *c->fixed);
    return c->t && c->side && c->fixed ? 0 : -1;
}

static void candidate_free(candidate *c)
{
    free(c->t);
    free(c->side);
    free(c->fixed);
}

static void candidate_save(candidate *c, const solver *s, double risk)
{
    c->risk = risk;
    memcpy(c->t, s->t, (size_t)s->nh * sizeof *c->t);
    memcpy(c->side, s->side, (size_t)s->nh * sizeof *c->side);
    memcpy(c->fixed, s->fixed, (size_t)s->nh * sizeof *c->fixed);
}

static void candidate_copy(candidate *dst, const candidate *src, int width)
{
    dst->risk = src->risk;
    memcpy(dst->t, src->t, (size_t)width * sizeof *dst->t);
    memcpy(dst->side, src->side, (size_t)width * sizeof *dst->side);
    memcpy(dst->fixed, src->fixed, (size_t)width * sizeof *dst->fixed);
}

static void candidate_load(solver *s, const candidate *c, int nh)
{
    memcpy(s->t, c->t, (size_t)nh * sizeof *c->t);
    memcpy(s->side, c->side, (size_t)nh * sizeof *c->side);
    memcpy(s->fixed, c->fixed, (size_t)nh * sizeof *c->fixed);
    solver_structure(s, nh);
}

/* Start s of the multi-start: m sorted knots in (0,1). For a teacher, every
 * other random start puts its knots at distinct kinks of the target drawn
 * at random (the rest, beyond the kinks, uniform): the best fits of a CPWL
 * target keep many knots on its kinks, which uniform starts rarely find. */
static void start_knots(const target *g, gsl_rng *rng, int start, int m, double *t)
{
    const int kinks = teacher_kinks(g);
    const bool on_kinks = kinks > 0 && start > 1 && start % 2 == 1;
    int taken = 0;
    if (on_kinks) {
        /* m of the kinks (all when fewer) by selection sampling, in order */
        for (int j = 0; j < kinks && taken < m; j++)
            if (gsl_rng_uniform(rng) * (kinks - j) < m - taken)
                t[taken++] = g->teacher.x[j + 1];
    }
    for (int k = taken; k < m; k++) {
        if (start == 0)
            t[k] = (k + 1.0) / (m + 1.0);
        else if (start == 1)
            t[k] = (k + 0.5) / m;
        else if (start % 2 == 0)
            t[k] = (k + 0.5 + 0.9 * (gsl_rng_uniform(rng) - 0.5)) / m;
        else
            t[k] = 0.02 + 0.96 * gsl_rng_uniform(rng);
    }
    qsort(t, (size_t)m, sizeof *t, compare_doubles);
}

/* More starts for wider networks: their knot landscapes have more local minima. */
static int start_count(int width) { return 20 + 2 * width; }

/* The best few coarse optima of structure B, best first. Risks within
 * 1e-9 relative count as the same optimum. */
typedef struct {
    int count;
    candidate entry[POOL];
} pool;

static void pool_consider(pool *p, const solver *s, double risk)
{
    if (!isfinite(risk))
        return;
    for (int i = 0; i < p->count; i++)
        if (fabs(p->entry[i].risk - risk) <= 1e-9 * risk) {
            if (risk < p->entry[i].risk)
                candidate_save(&p->entry[i], s, risk);
            return;
        }
    int at = p->count < POOL ? p->count : POOL - 1;
    if (p->count == POOL && !(risk < p->entry[at].risk))
        return;
    candidate spare = p->entry[at];   /* reuse the storage of the one dropped */
    for (; at > 0 && risk < p->entry[at - 1].risk; at--)
        p->entry[at] = p->entry[at - 1];
    p->entry[at] = spare;
    candidate_save(&p->entry[at], s, risk);
    if (p->count < POOL)
        p->count++;
}

/* Keeps the better of *best and the solver's current optimum. */
static void consider(candidate *best, const solver *s, double risk)
{
    if (isfinite(risk) && risk < best->risk)
        candidate_save(best, s, risk);
}

/* Single orientation flips of b, each re-optimized, while one improves. */
static int flip_search(solver *s, candidate *b, candidate *trial, int width)
{
    double *fixed_t_risk = malloc((size_t)width * sizeof *fixed_t_risk);
    int *order = malloc((size_t)width * sizeof *order);
    if (!fixed_t_risk || !order) {
        free(fixed_t_risk);
        free(order);
        return -1;
    }
    for (int round = 0; round < 4 * width; round++) {
        /* rank the flips by their risk at b's knots */
        for (int i = 0; i < width; i++) {
            candidate_load(s, b, width);
            s->side[i] ^= 1;
            fixed_t_risk[i] = evaluate(s, NULL);
            order[i] = i;
        }
        for (int i = 1; i < width; i++)   /* insertion sort by fixed_t_risk */
            for (int j = i; j > 0 && !(fixed_t_risk[order[j - 1]] <= fixed_t_risk[order[j]]); j--) {
                const int tmp = order[j];
                order[j] = order[j - 1];
                order[j - 1] = tmp;
            }
        trial->risk = INFINITY;
        const int tries = width < FLIPS_PER_ROUND ? width : FLIPS_PER_ROUND;
        for (int r = 0; r < tries; r++) {
            candidate_load(s, b, width);
            s->side[order[r]] ^= 1;
            consider(trial, s, optimize(s, COARSE));
        }
        if (!(trial->risk < b->risk * (1.0 - 1e-12)))
            break;
        candidate_copy(b, trial, width);
    }
    free(fixed_t_risk);
    free(order);
    return 0;
}

/* At the current knots, flips orientations one at a time while the best flip
 * lowers R. Returns R and whether anything was flipped. */
static double pattern_descent(solver *s, bool *changed)
{
    double current = evaluate(s, NULL);
    *changed = false;
    for (int round = 0; round < 4 * s->nh; round++) {
        int best_i = -1;
        double best = current;
        for (int i = 0; i < s->nh; i++) {
            if (s->fixed[i])
                continue;
            s->side[i] ^= 1;
            const double r = evaluate(s, NULL);
            s->side[i] ^= 1;
            if (r < best * (1.0 - 1e-12)) {
                best = r;
                best_i = i;
            }
        }
        if (best_i < 0)
            break;
        s->side[best_i] ^= 1;
        current = best;
        *changed = true;
    }
    return current;
}

/* Alternates BFGS over the knots (coarse) and pattern_descent at fixed knots. */
static double optimize_with_patterns(solver *s)
{
    double r = NAN;
    for (int pass = 0; pass < 6; pass++) {
        r = optimize(s, COARSE);
        bool changed;
        pattern_descent(s, &changed);
        if (!changed)
            break;
    }
    return r;
}

/* The orientation patterns (bit k set: hinge k faces left) at the knots of
 * b, ranked by the risk at those knots; the best SWEEP_TRIES are
 * re-optimized into the pool. */
static void sweep_patterns(solver *s, const candidate *b, pool *B, int width,
                           const unsigned long long *patterns, long count)
{
    double best_risk[SWEEP_TRIES];
    unsigned long long best_pattern[SWEEP_TRIES];
    int kept = 0;
    for (long c = 0; c < count; c++) {
        candidate_load(s, b, width);
        for (int k = 0; k < width; k++)
            s->side[k] = (patterns[c] >> k) & 1;
        const double r = evaluate(s, NULL);
        if (!isfinite(r) || (kept == SWEEP_TRIES && !(r < best_risk[kept - 1])))
            continue;
        int at = kept < SWEEP_TRIES ? kept++ : SWEEP_TRIES - 1;
        for (; at > 0 && r < best_risk[at - 1]; at--) {
            best_risk[at] = best_risk[at - 1];
            best_pattern[at] = best_pattern[at - 1];
        }
        best_risk[at] = r;
        best_pattern[at] = patterns[c];
    }
    for (int i = 0; i < kept; i++) {
        candidate_load(s, b, width);
        for (int k = 0; k < width; k++)
            s->side[k] = (best_pattern[i] >> k) & 1;
        solver_structure(s, width);
        pool_consider(B, s, optimize_with_patterns(s));
    }
}

/* Every orientation pattern at the knots of b (widths up to SWEEP_WIDTH;
 * wider, b's pattern with any one or two hinges flipped), swept. Single
 * flips cannot cross between patterns that differ in several hinges at
 * once; this finds them. */
static int pattern_sweep(solver *s, const candidate *b, pool *B, int width)
{
    const bool every = width <= SWEEP_WIDTH;
    const long count = every ? 1L << width : (long)width * (width + 1) / 2;
    unsigned long long *patterns = malloc((size_t)count * sizeof *patterns);
    if (!patterns)
        return -1;
    unsigned long long base = 0;
    for (int k = 0; k < width; k++)
        base |= (unsigned long long)(b->side[k] & 1) << k;
    long c = 0;
    if (every)
        for (; c < count; c++)
            patterns[c] = (unsigned long long)c;
    else
        for (int i = 0; i < width; i++)
            for (int j = i; j < width; j++)
                patterns[c++] = base ^ (1ULL << i) ^ (j > i ? 1ULL << j : 0);
    sweep_patterns(s, b, B, width, patterns, count);
    free(patterns);
    return 0;
}

/* Structure A: the affine neuron (a right-facing hinge at 0, not moved) and
 * width - 1 right-facing hinges at knots[]. */
static void affine_structure(solver *s, int width, const double *knots)
{
    s->t[0] = 0.0;
    s->side[0] = RIGHT;
    s->fixed[0] = true;
    for (int k = 0; k < width - 1; k++) {
        s->t[k + 1] = knots[k];
        s->side[k + 1] = RIGHT;
        s->fixed[k + 1] = false;
    }
    solver_structure(s, width);
}

/* ---- starts from the grid search ------------------------------------------- */

/* count knot sets of `knots` sorted knots each, at t[j * knots ..]. */
typedef struct {
    int count;
    double *t;
} grid_starts;

/* The grid search of cpwl_fit.h on GRID_CELLS uniform cells plus the
 * teacher's kinks (where the best fits of a CPWL target keep knots), for up
 * to max_knots knots; the fit's values searched within the target's range
 * widened by that range on each side. */
static sgdmc_cpwl_fit *grid_fit(const target *g, int max_knots, double risk_bound,
                                const sgdmc_cancel *cancel)
{
    const int cells = GRID_CELLS(max_knots);
    const int kinks = teacher_kinks(g);
    const size_t cap = (size_t)cells + 1 + (size_t)kinks;
    double *grid = malloc(cap * sizeof *grid);
    double *m0 = malloc(cap * sizeof *m0), *m1 = malloc(cap * sizeof *m1);
    double *m2 = malloc(cap * sizeof *m2);
    sgdmc_cpwl_fit *fit = NULL;
    if (grid && m0 && m1 && m2) {
        int n = 0;
        for (int i = 0; i <= cells; i++)
            grid[n++] = (double)i / cells;
        for (int j = 1; j <= kinks; j++)
            grid[n++] = g->teacher.x[j];
        qsort(grid, (size_t)n, sizeof *grid, compare_doubles);
        int distinct = 1;
        for (int i = 1; i < n; i++)
            if (grid[i] > grid[distinct - 1] + 1e-12)
                grid[distinct++] = grid[i];
        grid[distinct - 1] = 1.0;   /* a kink within 1e-12 of 1 gave way */
        n = distinct;
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < n; i++) {
            const double v = target_value(g, grid[i]);
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
        const double span = hi - lo > 0.0 ? hi - lo : 1.0;
        for (int i = 0; i + 1 < n; i++) {
            target_moments(g, grid[i], grid[i + 1], &m0[i], &m1[i], &m2[i]);
        }
        fit = sgdmc_cpwl_fit_alloc(grid, n, m0, m1, m2, max_knots, lo - span, hi + span,
                                   risk_bound, cancel);
    }
    free(grid);
    free(m0);
    free(m1);
    free(m2);
    return fit;
}

/* The GRID_STARTS best knot sets of the grid search with at most `knots`
 * knots; sets with fewer get knots at the middle of their widest gaps (a
 * knot without a jump changes nothing). 0, or -1 when out of memory. */
static int grid_starts_get(const sgdmc_cpwl_fit *fit, int knots, grid_starts *out)
{
    out->count = 0;
    out->t = NULL;
    if (knots <= 0)
        return 0;
    int count[GRID_STARTS];
    out->t = malloc((size_t)GRID_STARTS * (size_t)knots * sizeof *out->t);
    if (!out->t)
        return -1;
    const int found = sgdmc_cpwl_fit_best(fit, knots, GRID_STARTS, GRID_SPREAD, out->t, count,
                                          NULL);
    if (found < 0)
        return -1;
    for (int j = 0; j < found; j++) {
        double *t = out->t + (size_t)j * (size_t)knots;
        for (int c = count[j]; c < knots; c++) {
            int widest = 0;   /* the gap before t[widest]; c: the one before 1 */
            double gap = -1.0;
            for (int i = 0; i <= c; i++) {
                const double width = (i < c ? t[i] : 1.0) - (i > 0 ? t[i - 1] : 0.0);
                if (width > gap) {
                    gap = width;
                    widest = i;
                }
            }
            const double mid = (widest > 0 ? t[widest - 1] : 0.0) + gap / 2.0;
            memmove(t + widest + 1, t + widest, (size_t)(c - widest) * sizeof *t);
            t[widest] = mid;
        }
    }
    out->count = found;
    return 0;
}

/* The grid starts of structure A (width - 1 knots) and of the relaxation
 * (width knots), from one grid search bounded by GRID_SLACK times `risk`,
 * the best structure A found so far, an upper bound of both optima (the
 * grid's own optima lie a little above them); looser when that bound prunes
 * every fit. 0, or -1 when out of memory. */
static int grid_search(solver *s, int width, double risk, grid_starts *affine,
                       grid_starts *relaxed)
{
    double bound = GRID_SLACK * risk;
    for (int tries = 0; tries < 3; tries++, bound *= 8.0) {
        sgdmc_cpwl_fit *fit = grid_fit(&s->g, width, bound, s->cancel);
        if (!fit && sgdmc_cancel_requested(s->cancel)) {
            *s->cancelled = true;
            return -1;
        }
        const int failed = !fit || grid_starts_get(fit, width - 1, affine) ||
                           grid_starts_get(fit, width, relaxed);
        sgdmc_cpwl_fit_free(fit);
        if (failed)
            return -1;
        if (relaxed->count > 0)
            return 0;
        free(affine->t);
        free(relaxed->t);
        affine->t = relaxed->t = NULL;
    }
    return 0;
}

/* ---- the relaxation: a lower bound, and the patterns near its optimum ---- */

/* F_w lies in the CPWL functions with at most w breakpoints, which is
 * structure A of width w + 1 without the orientation constraint, so its
 * minimum bounds R*(w) from below. r is a solver for width + 1; searched like
 * structure A (width >= 1), polished, and left at its optimum with the
 * coefficients set. Returns its risk, NaN when out of memory. */
static double relaxation(solver *r, int width, const grid_starts *grid)
{
    const int m = width + 1;
    candidate best = {0};
    double *start = malloc((size_t)width * sizeof *start);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double risk = NAN;
    if (candidate_alloc(&best, m) == 0 && start && rng) {
        for (int st = 0; st < grid->count; st++) {
            affine_structure(r, m, grid->t + (size_t)st * (size_t)width);
            consider(&best, r, optimize(r, COARSE));
        }
        gsl_rng_set(rng, SEED + 1000UL + (unsigned long)m);
        for (int st = 0; st < start_count(m); st++) {
            start_knots(&r->g, rng, st, width, start);
            affine_structure(r, m, start);
            consider(&best, r, optimize(r, COARSE));
        }
        if (isfinite(best.risk)) {
            candidate_load(r, &best, m);
            risk = optimize(r, 0.0);
        }
    }
    candidate_free(&best);
    free(start);
    if (rng)
        gsl_rng_free(rng);
    return risk;
}

/* An orientation pattern (bit k: hinge k faces left) and a number for it:
 * a subset sum of jumps, a constraint violation or a modelled cost. */
typedef struct {
    double value;
    unsigned long long mask;
} scored_pattern;

static int compare_scores(const void *a, const void *b)
{
    return compare_doubles(&((const scored_pattern *)a)->value,
                           &((const scored_pattern *)b)->value);
}

/* Keeps the `want` patterns of least value in a max-heap. */
typedef struct {
    long count, want;
    scored_pattern *entry;
} heap;

static void heap_push(heap *h, double value, unsigned long long mask)
{
    long i;
    if (h->count < h->want) {
        i = h->count++;
    } else if (value < h->entry[0].value) {   /* replace the worst, sift down */
        i = 0;
        for (;;) {
            long c = 2 * i + 1;
            if (c >= h->count)
                break;
            if (c + 1 < h->count && h->entry[c + 1].value > h->entry[c].value)
                c++;
            if (!(h->entry[c].value > value))
                break;
            h->entry[i] = h->entry[c];
            i = c;
        }
        h->entry[i] = (scored_pattern){value, mask};
        return;
    } else {
        return;
    }
    for (; i > 0 && h->entry[(i - 1) / 2].value < value; i = (i - 1) / 2)
        h->entry[i] = h->entry[(i - 1) / 2];
    h->entry[i] = (scored_pattern){value, mask};
}

/* Sums of a[k] over every subset of a[0..n-1], by mask. */
static void subset_sums(const double *a, int n, double *sums)
{
    sums[0] = 0.0;
    for (unsigned long long mask = 1; mask < 1ULL << n; mask++) {
        int k = 0;
        while (!((mask >> k) & 1))
            k++;
        sums[mask] = sums[mask & (mask - 1)] + a[k];
    }
}

/* The orientation patterns L (bit k: hinge k faces left) that the relaxed
 * optimum c + alpha x + sum a_k (x - t_k)_+ nearly satisfies: structure B's
 * constraint is alpha + sum_L a_k = 0, so the want patterns with the least
 * |alpha + sum_L a_k|. Meet in the middle: for each subset of the first half,
 * the nearest sums of the second half. Returns their number (0 when out of
 * memory). */
static long near_feasible_patterns(int width, double alpha, const double *a,
                                   unsigned long long *out, long want)
{
    const int lo = width / 2, hi = width - lo;
    const size_t nlo = (size_t)1 << lo, nhi = (size_t)1 << hi;
    double *first = malloc(nlo * sizeof *first), *second = malloc(nhi * sizeof *second);
    scored_pattern *sorted = malloc(nhi * sizeof *sorted);
    heap h = {0, want, malloc((size_t)want * sizeof *h.entry)};
    long found = 0;
    if (first && second && sorted && h.entry) {
        subset_sums(a, lo, first);
        subset_sums(a + lo, hi, second);
        for (size_t m = 0; m < nhi; m++)
            sorted[m] = (scored_pattern){second[m], (unsigned long long)m << lo};
        qsort(sorted, nhi, sizeof *sorted, compare_scores);
        for (size_t m = 0; m < nlo; m++) {
            const double need = -(alpha + first[m]);
            size_t l = 0, r = nhi;   /* the first sorted sum >= need */
            while (l < r) {
                const size_t mid = (l + r) / 2;
                if (sorted[mid].value < need)
                    l = mid + 1;
                else
                    r = mid;
            }
            for (size_t j = l >= 2 ? l - 2 : 0; j < l + 2 && j < nhi; j++)
                heap_push(&h, fabs(sorted[j].value - need), sorted[j].mask | m);
        }
        for (long i = 0; i < h.count; i++)
            out[i] = h.entry[i].mask;
        found = h.count;
    }
    free(first);
    free(second);
    free(sorted);
    free(h.entry);
    return found;
}

/* int_t^1 f for the relaxed optimum f = c + alpha x + sum a_k (x - t_k)_+ */
static double relaxed_tail(const solver *r, int width, double t)
{
    double v = r->coef[0] * (1.0 - t) + r->coef[1] * (1.0 - t * t) / 2.0;
    for (int k = 0; k < width; k++) {
        const double tk = r->t[k + 1], m = fmax(t, tk);
        v += r->coef[k + 2] * ((1.0 - tk) * (1.0 - tk) - (m - tk) * (m - tk)) / 2.0;
    }
    return v;
}

/* M = the (alpha, a) block of H^-1, H the Hessian of the risk in
 * p = (c, alpha, a_1..a_w, t_1..t_w) at the relaxed optimum (r, left by
 * relaxation()). With f's partials phi_p (1, x, (x - t_k)_+, -a_k 1[x > t_k]):
 * H = 2 int phi phi^T, plus 2 int_{t_k}^1 (g - f) at (a_k, t_k) and
 * -2 a_k (g - f)(t_k) at (t_k, t_k). -1 when H is not positive definite
 * (a degenerate optimum: coinciding knots, a zero jump) or out of memory. */
static int relaxed_inverse_hessian(const solver *r, int width, double *M)
{
    const int n = 2 * width + 2, w = width;
    gsl_matrix *H = gsl_matrix_alloc((size_t)n, (size_t)n);
    double *scale = malloc((size_t)n * sizeof *scale);
    int status = -1;
    if (!H || !scale)
        goto done;
    const double *t = r->t + 1, *a = r->coef + 2;
    /* int of products: index 0 is 1, 1 is x, 2 + k the hinge k, 2 + w + k the step 1[x > t_k] */
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            const int ki = i >= 2 + w ? i - 2 - w : i - 2, kj = j >= 2 + w ? j - 2 - w : j - 2;
            const int kind_i = i < 2 ? i : i < 2 + w ? 2 : 3, kind_j = j < 2 ? j : j < 2 + w ? 2 : 3;
            const double ti = kind_i >= 2 ? t[ki] : 0.0, tj = kind_j >= 2 ? t[kj] : 0.0;
            double v = 0.0;
            switch (kind_i * 4 + kind_j) {
            case 0: v = 1.0; break;                                            /* 1 1 */
            case 4: v = 0.5; break;                                            /* x 1 */
            case 5: v = 1.0 / 3.0; break;                                      /* x x */
            case 8: v = (1.0 - ti) * (1.0 - ti) / 2.0; break;                  /* h 1 */
            case 9: v = (1.0 - ti * ti * ti) / 3.0 - ti * (1.0 - ti * ti) / 2.0; break;   /* h x */
            case 10: v = hinge_product(RIGHT, ti, RIGHT, tj); break;           /* h h */
            case 12: v = 1.0 - ti; break;                                      /* s 1 */
            case 13: v = (1.0 - ti * ti) / 2.0; break;                         /* s x */
            case 14: {                                                         /* s h */
                const double m = fmax(ti, tj);
                v = ((1.0 - tj) * (1.0 - tj) - (m - tj) * (m - tj)) / 2.0;
                break;
            }
            case 15: v = 1.0 - fmax(ti, tj); break;                            /* s s */
            default: break;
            }
            if (kind_i == 3)
                v *= -a[ki];
            if (kind_j == 3)
                v *= -a[kj];
            v *= 2.0;
            if (kind_i == 3 && kind_j == 2 && ki == kj) {
                double m0, m1;
                target_moments(&r->g, ti, 1.0, &m0, &m1, NULL);
                v += 2.0 * (m0 - relaxed_tail(r, width, ti));
            }
            if (kind_i == 3 && j == i)
                v -= 2.0 * a[ki] * (target_value(&r->g, ti) - model_value(r, ti));
            gsl_matrix_set(H, (size_t)i, (size_t)j, v);
            gsl_matrix_set(H, (size_t)j, (size_t)i, v);
        }
    for (int i = 0; i < n; i++) {
        const double d = gsl_matrix_get(H, (size_t)i, (size_t)i);
        if (!(d > 0.0))
            goto done;
        scale[i] = 1.0 / sqrt(d);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            gsl_matrix_set(H, (size_t)i, (size_t)j,
                           gsl_matrix_get(H, (size_t)i, (size_t)j) * scale[i] * scale[j]);
    gsl_error_handler_t *previous = gsl_set_error_handler_off();
    const int failed = gsl_linalg_cholesky_decomp1(H) || gsl_linalg_cholesky_invert(H);
    gsl_set_error_handler(previous);
    if (failed)
        goto done;
    for (int i = 0; i <= w; i++)   /* (alpha, a_k) are p's entries 1 .. w + 1 */
        for (int j = 0; j <= w; j++)
            M[i * (w + 1) + j] = gsl_matrix_get(H, (size_t)i + 1, (size_t)j + 1) *
                                 scale[i + 1] * scale[j + 1];
    status = 0;
done:
    if (H)
        gsl_matrix_free(H);
    free(scale);
    return status;
}

/* Every orientation pattern L ranked by the second-order model of what
 * imposing its constraint alpha + sum_L a_k = 0 costs at the relaxed
 * optimum: the least (1/2) d^T H d over steps d with v_L . d = -violation is
 * violation^2 / (2 v_L^T M v_L), violation = alpha + sum_L a_k, v_L = e_alpha
 * + sum_L e_k, M from relaxed_inverse_hessian (the knots move too). For sin
 * it predicts the re-optimized cost to 3 digits at w = 8-16. Gray-code order
 * updates both in O(width) per pattern. The want cheapest in out; returns
 * their number, 0 when the model does not apply or out of memory. */
static long cheapest_patterns(const solver *r, int width, unsigned long long *out, long want)
{
    const int m = width + 1;
    double *M = calloc((size_t)m * (size_t)m, sizeof *M);
    double *u = malloc((size_t)m * sizeof *u);
    heap h = {0, want, malloc((size_t)want * sizeof *h.entry)};
    long found = 0;
    if (!M || !u || !h.entry || relaxed_inverse_hessian(r, width, M))
        goto done;
    double violation = r->coef[1], q = M[0];
    for (int j = 0; j < m; j++)
        u[j] = M[j * m];   /* M v_L, v_L = e_alpha */
    unsigned long long pattern = 0;
    heap_push(&h, violation * violation / (2.0 * q), 0);
    for (unsigned long long g = 1; g < 1ULL << width; g++) {
        int k = 0;   /* Gray code: flip the lowest set bit of g */
        while (!((g >> k) & 1))
            k++;
        pattern ^= 1ULL << k;
        const double sign = (pattern >> k) & 1 ? 1.0 : -1.0;
        const double *column = M + (size_t)(k + 1) * (size_t)m;
        q += 2.0 * sign * u[k + 1] + column[k + 1];
        violation += sign * r->coef[k + 2];
        for (int j = 0; j < m; j++)
            u[j] += sign * column[j];
        if (q > 0.0)
            heap_push(&h, violation * violation / (2.0 * q), pattern);
        if ((g & 0xffff) == 0 && sgdmc_cancel_requested(r->cancel)) {
            *r->cancelled = true;
            break;
        }
    }
    for (long i = 0; i < h.count; i++)
        out[i] = h.entry[i].mask;
    found = h.count;
done:
    free(M);
    free(u);
    free(h.entry);
    return found;
}

/* Sweeps structure B's patterns at the relaxed optimum's knots (r, left by
 * relaxation()). Up to MODEL_WIDTH the MODEL_TRIES cheapest patterns by the
 * second-order model are each re-optimized; then, at those knots, every
 * pattern up to SWEEP_WIDTH or else the NEAR_PATTERNS nearest to feasible
 * are ranked by their risk and the best re-optimized. When the relaxed
 * optimum nearly meets a pattern's constraint, that pattern's optimum is as
 * near the lower bound. */
static int sweep_relaxed(solver *s, const solver *r, pool *B, int width)
{
    candidate seed = {0};
    const long count = width <= SWEEP_WIDTH ? 1L << width : NEAR_PATTERNS;
    unsigned long long *patterns = malloc((size_t)(count > MODEL_TRIES ? count : MODEL_TRIES) *
                                          sizeof *patterns);
    double *a = malloc((size_t)width * sizeof *a);
    int status = -1;
    if (candidate_alloc(&seed, width) || !patterns || !a)
        goto done;
    for (int k = 0; k < width; k++) {   /* hinge 0 of r is the affine part */
        seed.t[k] = r->t[k + 1];
        a[k] = r->coef[k + 2];
    }
    if (width <= MODEL_WIDTH) {
        const long n = cheapest_patterns(r, width, patterns, MODEL_TRIES);
        for (long c = 0; c < n; c++) {
            candidate_load(s, &seed, width);
            for (int k = 0; k < width; k++)
                s->side[k] = (patterns[c] >> k) & 1;
            pool_consider(B, s, optimize(s, MODEL_GTOL));
        }
    }
    long n = count;
    if (width <= SWEEP_WIDTH)
        for (long c = 0; c < count; c++)
            patterns[c] = (unsigned long long)c;
    else
        n = near_feasible_patterns(width, r->coef[1], a, patterns, count);
    if (n > 0) {
        sweep_patterns(s, &seed, B, width, patterns, n);
        status = 0;
    }
done:
    candidate_free(&seed);
    free(patterns);
    free(a);
    return status;
}

/* A start of structure B at the knots start[0..width-1]: every orientation
 * pattern (widths up to EXHAUSTIVE_WIDTH), else the two best "left-facing
 * prefix" patterns, each improved by single flips; coarse optima into B.
 * prefix_risk: scratch [width + 1]. */
static void structure_b_start(solver *s, const double *start, int width, pool *B,
                              double *prefix_risk)
{
    for (int k = 0; k < width; k++)
        s->fixed[k] = false;
    if (width <= EXHAUSTIVE_WIDTH) {
        for (int pattern = 0; pattern < (1 << width); pattern++) {
            for (int k = 0; k < width; k++) {
                s->t[k] = start[k];
                s->side[k] = (pattern >> k) & 1;
            }
            solver_structure(s, width);
            pool_consider(B, s, optimize(s, COARSE));
        }
        return;
    }
    /* the knots left of position p face left, the rest right: the piece
     * between is flat; optimize the two best p at these start knots */
    int first = -1, second = -1;
    for (int p = 0; p <= width; p++) {
        for (int k = 0; k < width; k++) {
            s->t[k] = start[k];
            s->side[k] = k < p ? LEFT : RIGHT;
        }
        solver_structure(s, width);
        prefix_risk[p] = evaluate(s, NULL);
        if (first < 0 || prefix_risk[p] < prefix_risk[first]) {
            second = first;
            first = p;
        } else if (second < 0 || prefix_risk[p] < prefix_risk[second]) {
            second = p;
        }
    }
    const int chosen[2] = {first, second};
    for (int c = 0; c < 2; c++) {
        for (int k = 0; k < width; k++) {
            s->t[k] = start[k];
            s->side[k] = k < chosen[c] ? LEFT : RIGHT;
        }
        solver_structure(s, width);
        bool changed;
        pattern_descent(s, &changed);
        pool_consider(B, s, optimize_with_patterns(s));
    }
}

/* Starts of structure B from the best structure A's width - 1 knots with
 * one of them doubled into a close pair: B's optima often spend two
 * opposite hinges on one bend of the target (a near-coincident pair that
 * uniform and kink starts rarely reach). */
static void knot_pair_starts(solver *s, const candidate *bestA, int width, pool *B,
                             double *start, double *prefix_risk)
{
    if (width < 2 || !isfinite(bestA->risk))
        return;
    const double *knots = bestA->t + 1;   /* hinge 0 of A is the affine part */
    for (int k = 0; k < width - 1; k++) {
        int m = 0;
        for (int i = 0; i < width - 1; i++) {
            if (i == k) {
                start[m++] = fmax(knots[i] - PAIR_GAP, 0.0);
                start[m++] = fmin(knots[i] + PAIR_GAP, 1.0);
            } else {
                start[m++] = knots[i];
            }
        }
        qsort(start, (size_t)width, sizeof *start, compare_doubles);
        structure_b_start(s, start, width, B, prefix_risk);
    }
}

/* Searches structures A and B; the best in *best. relaxed is a solver for
 * width + 1 (relaxation()); its optimum's risk in *lower. */
static int search(solver *s, solver *relaxed, int width, candidate *best, double *lower)
{
    *lower = NAN;
    if (width == 0) {   /* the constants: exact, nothing to relax */
        solver_structure(s, 0);
        consider(best, s, evaluate(s, NULL));
        *lower = best->risk;
        return 0;
    }
    candidate bestA = {0}, trial = {0};
    pool B = {0};
    grid_starts affine_starts = {0}, relaxed_starts = {0};
    double *start = malloc((size_t)width * sizeof *start);
    double *prefix_risk = malloc(((size_t)width + 1) * sizeof *prefix_risk);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int status = -1;
    bool ok = candidate_alloc(&bestA, width) == 0 && candidate_alloc(&trial, width) == 0;
    for (int i = 0; i < POOL; i++)
        ok = ok && candidate_alloc(&B.entry[i], width) == 0;
    if (!ok || !start || !prefix_risk || !rng)
        goto done;
    gsl_rng_set(rng, SEED + (unsigned long)width);
    for (int st = 0; st < start_count(width); st++) {
        start_knots(&s->g, rng, st, width - 1, start);
        affine_structure(s, width, start);
        consider(&bestA, s, optimize(s, COARSE));
        /* structure B: w inner knots with orientations */
        start_knots(&s->g, rng, st, width, start);
        structure_b_start(s, start, width, &B, prefix_risk);
    }
    if (grid_search(s, width, bestA.risk, &affine_starts, &relaxed_starts))
        goto done;
    for (int st = 0; st < affine_starts.count; st++) {
        affine_structure(s, width, affine_starts.t + (size_t)st * (size_t)(width - 1));
        consider(&bestA, s, optimize(s, COARSE));
    }
    knot_pair_starts(s, &bestA, width, &B, start, prefix_risk);
    *lower = relaxation(relaxed, width, &relaxed_starts);
    if (!isfinite(*lower) || sweep_relaxed(s, relaxed, &B, width))
        goto done;
    if (width > EXHAUSTIVE_WIDTH && B.count > 0) {
        candidate_copy(&trial, &B.entry[0], width);
        candidate flipped = {0};
        if (candidate_alloc(&flipped, width) || flip_search(s, &trial, &flipped, width)) {
            candidate_free(&flipped);
            goto done;
        }
        candidate_free(&flipped);
        candidate_load(s, &trial, width);
        pool_consider(&B, s, trial.risk);
        /* sweep the pool, then again from each new best while it improves */
        const int entries = B.count;
        for (int i = 0; i < entries; i++) {
            candidate_copy(&trial, &B.entry[i], width);
            if (pattern_sweep(s, &trial, &B, width))
                goto done;
        }
        for (int round = 0; round < 2 * width && B.entry[0].risk < trial.risk * (1.0 - 1e-12);
             round++) {
            candidate_copy(&trial, &B.entry[0], width);
            if (pattern_sweep(s, &trial, &B, width))
                goto done;
        }
    }
    /* polish the best of A and the pool of B */
    if (isfinite(bestA.risk)) {
        candidate_load(s, &bestA, width);
        consider(best, s, optimize(s, 0.0));
    }
    for (int i = 0; i < B.count; i++) {
        candidate_load(s, &B.entry[i], width);
        consider(best, s, optimize(s, 0.0));
    }
    status = isfinite(best->risk) ? 0 : -1;
    if (status == 0) {   /* the relaxation from R*'s knots too: never above R* */
        double *knots = relaxed->t + 1;
        for (int k = 0; k < width; k++)
            knots[k] = best->t[k];
        affine_structure(relaxed, width + 1, knots);
        *lower = fmin(*lower, fmin(optimize(relaxed, 0.0), best->risk));
    }
done:
    free(affine_starts.t);
    free(relaxed_starts.t);
    candidate_free(&bestA);
    candidate_free(&trial);
    for (int i = 0; i < POOL; i++)
        candidate_free(&B.entry[i]);
    free(start);
    free(prefix_risk);
    if (rng)
        gsl_rng_free(rng);
    return status;
}

/* ---- the public functions ---------------------------------------------------- */

const char *sgdmc_rstar_unsupported_reason(const sgdmc_train_config *c)
{
    if (c->data_file[0])
        return "R* is computed for distribution problems only, not for --data";
    if (c->input_dim > 1)
        return "R* is computed for input_dim = 1 only";
    if (c->input != SGDMC_INPUT_UNIFORM)
        return "R* is computed for --input=uniform only";
    if (c->loss != SGDMC_LOSS_MSE)
        return "R* is computed for --loss=mse only";
    if (c->l2 != 0.0)
        return "R* is computed without --l2 only";
    if (c->activation != SGDMC_ACT_RELU)
        return "R* is computed for ReLU networks only (--activation=relu)";
    if (c->target == SGDMC_TARGET_TEACHER && c->teacher_depth != 1)
        return "R* is computed for teachers of depth 1 only (--teacher_depth=1)";
    if (c->target != SGDMC_TARGET_CONSTANT && c->target != SGDMC_TARGET_SQUARE &&
        c->target != SGDMC_TARGET_SIN && c->target != SGDMC_TARGET_TEACHER)
        return "R* is computed for the targets constant, square, sin and teacher only";
    return NULL;
}

bool sgdmc_rstar_supported(const sgdmc_train_config *config)
{
    return sgdmc_rstar_unsupported_reason(config) == NULL;
}

/* The minimizer as a CPWL: 0, 1 and the knots inside. */
static int solution_pwl(solver *s, sgdmc_pwl *f)
{
    const int cap = s->nh + 2;
    f->x = malloc((size_t)cap * sizeof *f->x);
    f->y = malloc((size_t)cap * sizeof *f->y);
    if (!f->x || !f->y) {
        sgdmc_pwl_free(f);
        return -1;
    }
    int n = 0;
    f->x[n++] = 0.0;
    f->x[n++] = 1.0;
    for (int i = 0; i < s->nh; i++)
        if (s->t[i] > 0.0 && s->t[i] < 1.0)
            f->x[n++] = s->t[i];
    qsort(f->x, (size_t)n, sizeof *f->x, compare_doubles);
    int kept = 0;
    for (int j = 0; j < n; j++)
        if (kept == 0 || f->x[j] != f->x[kept - 1])
            f->x[kept++] = f->x[j];
    for (int j = 0; j < kept; j++)
        f->y[j] = model_value(s, f->x[j]);
    f->count = kept;
    return 0;
}

int sgdmc_rstar_1d_network(sgdmc_problem *problem, const sgdmc_train_config *config, int width,
                           double *rstar, double *lower_bound, double *params,
                           sgdmc_pwl *minimizer, const sgdmc_cancel *cancel, char *err,
                           size_t errlen)
{
    if (minimizer) {
        minimizer->count = 0;
        minimizer->x = minimizer->y = NULL;
    }
    const char *why = sgdmc_rstar_unsupported_reason(config);
    if (why) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    if (width < 0) {
        snprintf(err, errlen, "width %d: must be >= 0", width);
        return -1;
    }
    bool cancelled = false;
    solver *s = solver_alloc(problem, config, width, cancel, &cancelled);
    solver *relaxed = solver_alloc(problem, config, width + 1, cancel, &cancelled);
    candidate best = {0};
    if (!s || !relaxed || candidate_alloc(&best, width)) {
        solver_free(s);
        solver_free(relaxed);
        candidate_free(&best);
        snprintf(err, errlen, "out of memory computing R* for width %d", width);
        return -1;
    }
    double lower;
    int status = search(s, relaxed, width, &best, &lower);
    if (cancelled) {
        status = SGDMC_CANCELLED;
        snprintf(err, errlen, "R* for width %d: cancelled", width);
    } else if (status == 0 && isfinite(best.risk)) {
        if (lower_bound)
            *lower_bound = lower;
        candidate_load(s, &best, width);
        const double risk = evaluate(s, NULL);   /* sets the coefficients */
        if (rstar)
            *rstar = risk;
        if (params) {
            for (int i = 0; i < width; i++) {
                params[i] = s->side[i] == RIGHT ? 1.0 : -1.0;
                params[width + i] = s->side[i] == RIGHT ? -s->t[i] : s->t[i];
                params[2 * width + i] = s->coef[i + 1];
            }
            params[3 * width] = s->coef[0];
        }
        if (minimizer && solution_pwl(s, minimizer))
            status = -1;
    } else {
        status = -1;
    }
    /* search() fails alike for want of memory and for a risk that is not
     * finite (a constant target of 1e20 squares to 1e40, its sums beyond) */
    if (status == -1)
        snprintf(err, errlen, "R* for width %d: not computed (out of memory, or no finite risk: "
                 "a target too large for doubles)", width);
    candidate_free(&best);
    solver_free(s);
    solver_free(relaxed);
    return status;
}

void sgdmc_rstar_square_network(int width, double *rstar, double *params)
{
    /* pieces [0, h/2], then width pieces of length h; on the piece of
     * midpoint m = k h the best line is 2 m x - m^2 + h^2/12, which meets
     * its neighbours' (the residual is h^2/6 at both ends of every piece):
     * slope 2 h k after k knots, so each hinge adds 2 h */
    const double q = 2.0 * width + 1.0, h = 2.0 / q;
    for (int i = 0; i < width; i++) {
        params[i] = 1.0;
        params[width + i] = -(2.0 * i + 1.0) / q;
        params[2 * width + i] = 2.0 * h;
    }
    params[3 * width] = h * h / 12.0;
    *rstar = 4.0 / (45.0 * q * q * q * q); /* q^4 is exact: one rounding */
}

int sgdmc_rstar_1d(sgdmc_problem *problem, const sgdmc_train_config *config, int width,
                   double *rstar, sgdmc_pwl *minimizer, char *err, size_t errlen)
{
    return sgdmc_rstar_1d_network(problem, config, width, rstar, NULL, NULL, minimizer, NULL,
                                  err, errlen);
}
