/* Best CPWL fits with knots on a grid: dynamic programming over parabola
 * envelopes. The method is described in cpwl_fit.h. */
#include "sgdmc/minimum/cpwl_fit.h"

#include <gsl/gsl_poly.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The least cost p y^2 + q y + r of [x, 1] given the value y at a knot x,
 * for one placement of the later knots: the next one at grid[next] (n - 1:
 * none, the piece runs to 1), whose own parabola is levels[L - 1].at[node].
 * Cost = residual on [x, 1] - int_x^1 g^2: the sum over pieces needs no g^2. */
typedef struct {
    double p, q, r;
    int next;
    int node;
} parabola;

typedef struct {
    parabola *at;
    int *first;   /* [n]: the envelope at grid point i is at[first[i] .. first[i + 1]) */
    int count, cap;
} level;

struct sgdmc_cpwl_fit {
    int n, max_knots;
    double *grid, *pre0, *pre1;   /* int_0^grid[i] g and x g */
    double *post2;                /* int_grid[i]^1 g^2 */
    double y_lo, y_hi, risk_bound;
    double allowance;             /* for round-off in residuals: 1e-13 int_0^1 g^2 */
    level *levels;                /* [max_knots]: levels[L] allows L more knots */
};

void sgdmc_cpwl_fit_free(sgdmc_cpwl_fit *fit)
{
    if (!fit)
        return;
    if (fit->levels)
        for (int L = 0; L < fit->max_knots; L++) {
            free(fit->levels[L].at);
            free(fit->levels[L].first);
        }
    free(fit->levels);
    free(fit->grid);
    free(fit->pre0);
    free(fit->pre1);
    free(fit->post2);
    free(fit);
}

/* The parabola of a piece from grid[i] to grid[j] followed by next (the
 * piece's far-end value minimized out); next = NULL: nothing follows. */
static parabola extend(const sgdmc_cpwl_fit *fit, int i, int j, const parabola *next, int node)
{
    const double a = fit->grid[i], h = fit->grid[j] - a;
    const double m0 = fit->pre0[j] - fit->pre0[i], m1 = fit->pre1[j] - fit->pre1[i];
    /* int g phi for the hat functions phi_far = (x - a)/h, phi_near = 1 - phi_far */
    const double g_far = (m1 - a * m0) / h, g_near = m0 - g_far;
    const double p = next ? next->p : 0.0, q = next ? next->q : 0.0, r = next ? next->r : 0.0;
    /* piece: h/3 (y^2 + y z + z^2) - 2 g_near y - 2 g_far z, plus p z^2 + q z + r, min over z */
    const double curv = h / 3.0 + p, lin = q - 2.0 * g_far;
    parabola out;
    out.p = h / 3.0 - (h / 3.0) * (h / 3.0) / (4.0 * curv);
    out.q = -2.0 * g_near - (h / 3.0) * lin / (2.0 * curv);
    out.r = r - lin * lin / (4.0 * curv);
    out.next = j;
    out.node = node;
    return out;
}

/* The least residual of a line on [grid[i], grid[j]]: no piece of a fit
 * within the risk bound is longer than where this exceeds it (it grows
 * with j). Computed as int g^2 less the projection, so only to about
 * 1e-16 of int g^2: the cut-off allows for that. */
static double line_residual(const sgdmc_cpwl_fit *fit, int i, int j)
{
    const double a = fit->grid[i], h = fit->grid[j] - a;
    const double m0 = fit->pre0[j] - fit->pre0[i], m1 = fit->pre1[j] - fit->pre1[i];
    const double m2 = fit->post2[i] - fit->post2[j];
    const double g_far = (m1 - a * m0) / h, g_near = m0 - g_far;
    const double residual = m2 - 4.0 * (g_near * g_near - g_near * g_far + g_far * g_far) / h;
    return residual - fit->allowance;
}

static double parabola_at(const parabola *c, double y) { return (c->p * y + c->q) * y + c->r; }

/* The values y in [lo, hi] where c's cost stays within `within`, or false
 * when there are none. */
static bool feasible_values(const parabola *c, double within, double lo, double hi,
                            double *from, double *to)
{
    if (!isfinite(within)) {
        *from = lo;
        *to = hi;
        return true;
    }
    double r0, r1;   /* p > 0: within `within` between the roots */
    if (gsl_poly_solve_quadratic(c->p, c->q, c->r - within, &r0, &r1) < 2)
        return false;
    *from = fmax(lo, r0);
    *to = fmin(hi, r1);
    return *from <= *to;
}

/* A piece of a lower envelope: parabola `at` is lowest on [lo, hi]. */
typedef struct {
    int at;
    double lo, hi;
} piece;

/* Room for the candidates at one grid point and their envelope. */
typedef struct {
    parabola *cand;
    char *keep;
    double *from, *to;   /* where each can be within the bound */
    int *live, *bounds;
    piece *pieces;       /* two buffers of piece_cap */
    int cap, piece_cap;
} scratch;

static void scratch_free(scratch *w)
{
    free(w->cand);
    free(w->keep);
    free(w->from);
    free(w->to);
    free(w->live);
    free(w->bounds);
    free(w->pieces);
}

static int scratch_reserve(scratch *w, int m)
{
    if (m <= w->cap)
        return 0;
    scratch grown = {0};
    grown.cap = m;
    grown.piece_cap = 4 * m;
    grown.cand = malloc((size_t)m * sizeof *grown.cand);
    grown.keep = malloc((size_t)m);
    grown.from = malloc((size_t)m * sizeof *grown.from);
    grown.to = malloc((size_t)m * sizeof *grown.to);
    grown.live = malloc((size_t)m * sizeof *grown.live);
    grown.bounds = malloc(((size_t)m + 1) * sizeof *grown.bounds);
    grown.pieces = malloc(2 * (size_t)grown.piece_cap * sizeof *grown.pieces);
    if (!grown.cand || !grown.keep || !grown.from || !grown.to || !grown.live || !grown.bounds ||
        !grown.pieces) {
        scratch_free(&grown);
        return -1;
    }
    scratch_free(w);
    *w = grown;
    return 0;
}


static void piece_append(piece *out, int *count, int at, double lo, double hi)
{
    if (*count > 0 && out[*count - 1].at == at) {
        out[*count - 1].hi = hi;
        return;
    }
    out[*count] = (piece){at, lo, hi};
    (*count)++;
}

/* Where a - b crosses 0 strictly inside (lo, hi), sorted; returns how many
 * (a tangent point counts twice, a harmless extra cut). */
static int crossings(const parabola *a, const parabola *b, double lo, double hi, double *at)
{
    double roots[2];
    const int count =
        gsl_poly_solve_quadratic(a->p - b->p, a->q - b->q, a->r - b->r, &roots[0], &roots[1]);
    int inside = 0;
    for (int k = 0; k < count; k++)
        if (roots[k] > lo && roots[k] < hi)
            at[inside++] = roots[k];
    return inside;
}

/* The lower envelope of two envelopes over the same range into out (room
 * for cap pieces); returns its number of pieces, -1 when they do not fit. */
static int merge_envelopes(const parabola *c, const piece *e1, int n1, const piece *e2, int n2,
                           piece *out, int cap)
{
    int i1 = 0, i2 = 0, count = 0;
    double y = e1[0].lo;
    while (i1 < n1 && i2 < n2) {
        const piece *a = &e1[i1], *b = &e2[i2];
        const double end = fmin(a->hi, b->hi);
        double cut[3];
        int cuts = crossings(&c[a->at], &c[b->at], y, end, cut);
        cut[cuts++] = end;
        if (count + cuts > cap)
            return -1;
        double from = y;
        for (int k = 0; k < cuts; k++) {
            const double mid = 0.5 * (from + cut[k]);
            const int lower = parabola_at(&c[b->at], mid) < parabola_at(&c[a->at], mid) ? b->at
                                                                                       : a->at;
            piece_append(out, &count, lower, from, cut[k]);
            from = cut[k];
        }
        y = end;
        if (a->hi <= end)
            i1++;
        if (b->hi <= end)
            i2++;
    }
    return count;
}

/* Marks in keep[] the parabolas of c[0..count-1] lowest somewhere on
 * [lo, hi] where their cost is within `within`: the lower envelope of
 * those that can be within it anywhere, merged pairwise (O(m log m): m
 * parabolas, each two crossing at most twice, have an envelope of at most
 * 2m - 1 pieces). */
static void envelope(const parabola *c, int count, double lo, double hi, double within,
                     scratch *w)
{
    double sweep_lo = INFINITY, sweep_hi = -INFINITY;
    int live = 0;
    for (int s = 0; s < count; s++) {
        w->keep[s] = 0;
        if (!feasible_values(&c[s], within, lo, hi, &w->from[s], &w->to[s]))
            continue;
        sweep_lo = fmin(sweep_lo, w->from[s]);
        sweep_hi = fmax(sweep_hi, w->to[s]);
        w->live[live++] = s;
    }
    if (live <= 1 || sweep_lo == sweep_hi) {
        for (int k = 0; k < live; k++)
            w->keep[w->live[k]] = 1;
        return;
    }
    /* runs of one piece each: every live parabola over the whole range */
    const int cap = w->piece_cap;
    piece *runs = w->pieces, *merged = w->pieces + cap;
    int *bounds = w->bounds;
    for (int k = 0; k < live; k++) {
        runs[k] = (piece){w->live[k], sweep_lo, sweep_hi};
        bounds[k] = k;
    }
    bounds[live] = live;
    int runs_count = live;
    while (runs_count > 1) {
        int out = 0, next_count = 0;
        for (int r = 0; r < runs_count; r += 2) {
            const int start = bounds[r], mid = bounds[r + 1];
            const int end = r + 1 < runs_count ? bounds[r + 2] : mid;
            bounds[next_count++] = out;
            int made = mid - start;
            if (r + 1 < runs_count)
                made = merge_envelopes(c, runs + start, mid - start, runs + mid, end - mid,
                                       merged + out, cap - out);
            else
                memcpy(merged + out, runs + start, (size_t)made * sizeof *merged);
            if (made < 0) {   /* round-off made it too ragged: keep every live one */
                for (int k = 0; k < live; k++)
                    w->keep[w->live[k]] = 1;
                return;
            }
            out += made;
        }
        bounds[next_count] = out;
        runs_count = next_count;
        piece *swap = runs;
        runs = merged;
        merged = swap;
    }
    for (int k = 0; k < bounds[1]; k++) {
        const piece *e = &runs[k];
        if (e->lo <= w->to[e->at] && e->hi >= w->from[e->at])
            w->keep[e->at] = 1;
    }
}

static int level_push(level *l, const parabola *c)
{
    if (l->count == l->cap) {
        const int cap = l->cap ? 2 * l->cap : 256;
        parabola *at = realloc(l->at, (size_t)cap * sizeof *at);
        if (!at)
            return -1;
        l->at = at;
        l->cap = cap;
    }
    l->at[l->count++] = *c;
    return 0;
}

/* levels[L] at every inner grid point: the piece to 1, or a next knot j
 * with any parabola of levels[L - 1] at j, pruned to the envelope where
 * the residual on [grid[i], 1] stays within the risk bound. */
static int build_level(sgdmc_cpwl_fit *fit, int L, scratch *w)
{
    const int n = fit->n;
    level *l = &fit->levels[L];
    const level *prev = L > 0 ? &fit->levels[L - 1] : NULL;
    l->first = calloc((size_t)n, sizeof *l->first);
    int *count_at = calloc((size_t)n, sizeof *count_at);
    parabola **kept = calloc((size_t)n, sizeof *kept);
    int status = l->first && count_at && kept ? 0 : -1;
    /* from the right: nothing depends on points to the left */
    for (int i = n - 2; i >= 1 && status == 0; i--) {
        int m = 1 + (prev ? prev->first[n - 1] - prev->first[i + 1] : 0);
        if (scratch_reserve(w, m)) {
            status = -1;
            break;
        }
        parabola *c = w->cand;
        m = 0;
        c[m++] = extend(fit, i, n - 1, NULL, -1);
        if (prev)
            for (int j = i + 1; j <= n - 2 && line_residual(fit, i, j) <= fit->risk_bound; j++)
                for (int k = prev->first[j]; k < prev->first[j + 1]; k++)
                    c[m++] = extend(fit, i, j, &prev->at[k], k);
        /* cost = residual on [grid[i], 1] - int_grid[i]^1 g^2 */
        const double within = fit->risk_bound + fit->allowance - fit->post2[i];
        envelope(c, m, fit->y_lo, fit->y_hi, within, w);
        int kept_count = 0;
        for (int k = 0; k < m; k++)
            kept_count += w->keep[k];
        kept[i] = malloc((size_t)(kept_count > 0 ? kept_count : 1) * sizeof *kept[i]);
        if (!kept[i]) {
            status = -1;
            break;
        }
        for (int k = 0, o = 0; k < m; k++)
            if (w->keep[k])
                kept[i][o++] = c[k];
        count_at[i] = kept_count;
    }
    /* laid out left to right */
    for (int i = 1; i <= n - 2 && status == 0; i++) {
        l->first[i] = l->count;
        for (int k = 0; k < count_at[i] && status == 0; k++)
            status = level_push(l, &kept[i][k]);
    }
    if (status == 0) {
        l->first[0] = 0;
        l->first[n - 1] = l->count;
    }
    for (int i = 0; i < n && kept; i++)
        free(kept[i]);
    free(kept);
    free(count_at);
    return status;
}

sgdmc_cpwl_fit *sgdmc_cpwl_fit_alloc(const double *grid, int n, const double *cell_m0,
                                     const double *cell_m1, const double *cell_m2,
                                     int max_knots, double y_lo, double y_hi, double risk_bound,
                                     const sgdmc_cancel *cancel)
{
    if (n < 2 || max_knots < 0 || grid[0] != 0.0 || grid[n - 1] != 1.0 || !(y_lo < y_hi) ||
        !(risk_bound >= 0.0))
        return NULL;
    for (int i = 0; i + 1 < n; i++)
        if (!(grid[i] < grid[i + 1]))
            return NULL;
    sgdmc_cpwl_fit *fit = calloc(1, sizeof *fit);
    if (!fit)
        return NULL;
    fit->n = n;
    fit->max_knots = max_knots;
    fit->y_lo = y_lo;
    fit->y_hi = y_hi;
    fit->risk_bound = risk_bound;
    fit->grid = malloc((size_t)n * sizeof *fit->grid);
    fit->pre0 = malloc((size_t)n * sizeof *fit->pre0);
    fit->pre1 = malloc((size_t)n * sizeof *fit->pre1);
    fit->post2 = malloc((size_t)n * sizeof *fit->post2);
    fit->levels = calloc((size_t)(max_knots > 0 ? max_knots : 1), sizeof *fit->levels);
    if (!fit->grid || !fit->pre0 || !fit->pre1 || !fit->post2 || !fit->levels) {
        sgdmc_cpwl_fit_free(fit);
        return NULL;
    }
    memcpy(fit->grid, grid, (size_t)n * sizeof *grid);
    fit->pre0[0] = fit->pre1[0] = 0.0;
    for (int i = 0; i + 1 < n; i++) {
        fit->pre0[i + 1] = fit->pre0[i] + cell_m0[i];
        fit->pre1[i + 1] = fit->pre1[i] + cell_m1[i];
    }
    fit->post2[n - 1] = 0.0;
    for (int i = n - 2; i >= 0; i--)
        fit->post2[i] = fit->post2[i + 1] + cell_m2[i];
    fit->allowance = 1e-13 * fit->post2[0];
    scratch w = {0};
    int status = 0;
    for (int L = 0; L < max_knots && status == 0; L++)
        status = sgdmc_cancel_requested(cancel) ? -1 : build_level(fit, L, &w);
    scratch_free(&w);
    if (status) {
        sgdmc_cpwl_fit_free(fit);
        return NULL;
    }
    return fit;
}

typedef struct {
    double value;
    int next, node;
} root;

static int compare_roots(const void *a, const void *b)
{
    const double x = ((const root *)a)->value, y = ((const root *)b)->value;
    return (x > y) - (x < y);
}

/* The grid indices of the knots of a root's path; returns their count. */
static int knots_of(const sgdmc_cpwl_fit *fit, int knots, const root *r, int *at)
{
    int count = 0, next = r->next, node = r->node;
    while (next < fit->n - 1) {
        at[count] = next;
        const parabola *c = &fit->levels[knots - 1 - count].at[node];
        count++;
        next = c->next;
        node = c->node;
    }
    return count;
}

int sgdmc_cpwl_fit_best(const sgdmc_cpwl_fit *fit, int knots, int want, int spread, double *t,
                        int *count, double *value)
{
    if (knots < 0 || knots > fit->max_knots || want <= 0)
        return 0;
    const int n = fit->n;
    const int m = 1 + (knots > 0 ? fit->levels[knots - 1].count : 0);
    root *roots = malloc((size_t)m * sizeof *roots);
    int *chosen = malloc(((size_t)want * (size_t)knots + 1) * sizeof *chosen);
    int *chosen_count = malloc((size_t)want * sizeof *chosen_count);
    int *path = malloc(((size_t)knots + 1) * sizeof *path);
    if (!roots || !chosen || !chosen_count || !path) {
        free(roots);
        free(chosen);
        free(chosen_count);
        free(path);
        return -1;
    }
    /* the value at 0 is free: each root's least cost over y */
    int r = 0;
    for (int j = 0; j < n; j++) {
        if (j == 0 || (j < n - 1 && knots == 0))
            continue;
        const level *l = j < n - 1 ? &fit->levels[knots - 1] : NULL;
        const int lo = l ? l->first[j] : 0, hi = l ? l->first[j + 1] : 1;
        for (int k = lo; k < hi; k++) {
            const parabola c = extend(fit, 0, j, l ? &l->at[k] : NULL, l ? k : -1);
            roots[r].value = c.r - c.q * c.q / (4.0 * c.p);
            if (roots[r].value + fit->post2[0] > fit->risk_bound + fit->allowance)
                continue;
            roots[r].next = j;
            roots[r].node = c.node;
            r++;
        }
    }
    qsort(roots, (size_t)r, sizeof *roots, compare_roots);
    int found = 0;
    for (int k = 0; k < r && found < want; k++) {
        const int c = knots_of(fit, knots, &roots[k], path);
        int distinct = 1;
        for (int f = 0; f < found && distinct; f++) {
            if (chosen_count[f] != c)
                continue;
            int far = 0;
            for (int i = 0; i < c; i++)
                far |= abs(chosen[f * knots + i] - path[i]) > spread;
            distinct = far;
        }
        if (!distinct)
            continue;
        memcpy(chosen + (size_t)found * (size_t)knots, path, (size_t)c * sizeof *path);
        chosen_count[found] = c;
        for (int i = 0; i < c; i++)
            t[found * knots + i] = fit->grid[path[i]];
        if (count)
            count[found] = c;
        if (value)
            value[found] = roots[k].value;
        found++;
    }
    free(roots);
    free(chosen);
    free(chosen_count);
    free(path);
    return found;
}
