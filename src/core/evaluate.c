/* Risk, exact risk gradient and dead-neuron counts of a network. */
#include "sgdmc/core/evaluate.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_qrng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/core/loss.h"

typedef enum { MODE_DATA, MODE_FIXED, MODE_BREAKPOINTS } eval_mode;

typedef struct {
    double *v;
    size_t len, cap;
} vec;

static int vec_push(vec *a, double x)
{
    if (a->len == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        double *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->len++] = x;
    return 0;
}

static int vec_copy(vec *dst, const vec *src)
{
    dst->len = 0;
    for (size_t i = 0; i < src->len; i++)
        if (vec_push(dst, src->v[i]))
            return -1;
    return 0;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void vec_sort_unique(vec *a)
{
    qsort(a->v, a->len, sizeof *a->v, compare_doubles);
    size_t kept = 0;
    for (size_t i = 0; i < a->len; i++)
        if (kept == 0 || a->v[i] != a->v[kept - 1])
            a->v[kept++] = a->v[i];
    a->len = kept;
}

struct sgdmc_evaluator {
    sgdmc_arch arch;
    sgdmc_problem *problem;
    sgdmc_loss loss;
    double l2;
    eval_mode mode;
    int dim;
    bool normal_input;
    /* breakpoint mode: the domain, quadrature rule and fixed vertices */
    double lo, hi, max_panel;
    bool exact; /* the risk is the problem's own to rounding (sgdmc_evaluator_risk_exact) */
    gsl_integration_glfixed_table *rule;
    vec base;       /* domain ends and teacher breakpoints */
    vec vertices;   /* base plus the student's breakpoints */
    /* the nodes: x feature-major [dim][n], weights and targets [n] */
    double *x, *w, *y;
    size_t n, cap;
    sgdmc_workspace *ws;
    double *dout;   /* [SGDMC_EVAL_CHUNK] */
    int *alive;     /* [hidden units] */
};

void sgdmc_evaluator_free(sgdmc_evaluator *ev)
{
    if (!ev)
        return;
    if (ev->rule)
        gsl_integration_glfixed_table_free(ev->rule);
    free(ev->base.v);
    free(ev->vertices.v);
    free(ev->x);
    free(ev->w);
    free(ev->y);
    sgdmc_workspace_free(ev->ws);
    free(ev->dout);
    free(ev->alive);
    free(ev);
}

static int reserve_nodes(sgdmc_evaluator *ev, size_t n)
{
    if (n <= ev->cap)
        return 0;
    size_t cap = n > 2 * ev->cap ? n : 2 * ev->cap;
    double *x = realloc(ev->x, cap * (size_t)ev->dim * sizeof *x);
    if (x)
        ev->x = x;
    double *w = realloc(ev->w, cap * sizeof *w);
    if (w)
        ev->w = w;
    double *y = realloc(ev->y, cap * sizeof *y);
    if (y)
        ev->y = y;
    if (!x || !w || !y)
        return -1;
    ev->cap = cap;
    return 0;
}

/* Copies points start..start+count of xs (feature-major [dim][n]) into the
 * workspace input, feature-major [dim][count]. */
static double *load_chunk(sgdmc_evaluator *ev, const double *xs, size_t n, size_t start,
                          int count)
{
    double *input = sgdmc_workspace_input(ev->ws);
    for (int i = 0; i < ev->dim; i++)
        memcpy(input + (size_t)i * count, xs + (size_t)i * n + start,
               sizeof(double) * (size_t)count);
    return input;
}

static int chunk_size(size_t n, size_t start)
{
    return (int)(n - start < SGDMC_EVAL_CHUNK ? n - start : SGDMC_EVAL_CHUNK);
}

/* Targets of all nodes, a chunk at a time. */
static void compute_targets(sgdmc_evaluator *ev)
{
    for (size_t start = 0; start < ev->n; start += SGDMC_EVAL_CHUNK) {
        const int count = chunk_size(ev->n, start);
        const double *chunk = load_chunk(ev, ev->x, ev->n, start, count);
        sgdmc_problem_targets(ev->problem, chunk, count, ev->y + start);
    }
}

static double input_density(const sgdmc_evaluator *ev, double x)
{
    return ev->normal_input ? exp(-0.5 * x * x) / sqrt(2.0 * M_PI) : 1.0;
}

/* Adds to `vertices` every point of (lo, hi) where a hidden neuron of the
 * 1-D ReLU network (arch, params) changes sign. Layer k's pre-activations are
 * affine between the vertices found for layers < k, so each sign change
 * between neighbours is one root, found by linear interpolation. With
 * `rays`, also the roots on the two rays beyond the outermost vertices,
 * where every pre-activation is affine as well once the roots of the layers
 * below are known: then no pre-activation changes sign beyond the vertices,
 * on the whole real line. */
static int add_breakpoints(const sgdmc_arch *arch, const double *params, sgdmc_workspace *ws,
                           vec *vertices, bool rays, const sgdmc_cancel *cancel)
{
    double *input = sgdmc_workspace_input(ws);
    for (int k = 1; k <= arch->depth; k++) {
        const size_t known = vertices->len;
        const int width = arch->widths[k];
        /* chunks overlap by one vertex so every interval lies in one chunk */
        for (size_t start = 0; start + 1 < known; start += SGDMC_EVAL_CHUNK - 1) {
            if (sgdmc_cancel_requested(cancel))
                return SGDMC_CANCELLED;
            const int count = chunk_size(known, start);
            memcpy(input, vertices->v + start, sizeof(double) * (size_t)count);
            sgdmc_forward_to(arch, params, ws, count, k); /* layer k's z is all it reads */
            const double *z = sgdmc_workspace_preact(ws, k);
            for (int j = 0; j < width; j++) {
                const double *zj = z + (size_t)j * count;
                for (int s = 0; s + 1 < count; s++) {
                    const double za = zj[s], zb = zj[s + 1];
                    if ((za < 0.0 && zb > 0.0) || (za > 0.0 && zb < 0.0)) {
                        const double xa = input[s], xb = input[s + 1];
                        double root = xa + (xb - xa) * (za / (za - zb));
                        if (root > xa && root < xb && vec_push(vertices, root))
                            return -1;
                    }
                }
            }
        }
        if (rays && known > 0) {
            /* z at first - 1, first, last, last + 1: affine on each ray */
            const double first = vertices->v[0], last = vertices->v[known - 1];
            const double at[4] = {first - 1.0, first, last, last + 1.0};
            memcpy(input, at, sizeof at);
            sgdmc_forward_to(arch, params, ws, 4, k);
            const double *z = sgdmc_workspace_preact(ws, k);
            for (int j = 0; j < width; j++) {
                const double *zj = z + (size_t)j * 4;
                const double left_slope = zj[1] - zj[0], right_slope = zj[3] - zj[2];
                /* z(first - t) = z(first) - t left_slope: a root at t > 0 when the
                 * signs agree; z(last + t) = z(last) + t right_slope */
                if (left_slope != 0.0 && zj[1] != 0.0 && (zj[1] > 0) == (left_slope > 0) &&
                    vec_push(vertices, first - zj[1] / left_slope))
                    return -1;
                if (right_slope != 0.0 && zj[2] != 0.0 && (zj[2] > 0) != (right_slope > 0) &&
                    vec_push(vertices, last - zj[2] / right_slope))
                    return -1;
            }
        }
        vec_sort_unique(vertices);
    }
    return 0;
}

/* Appends the Gauss-Legendre nodes of [a, b], weighted by the input density;
 * the caller has reserved room. */
static void push_panel_nodes(sgdmc_evaluator *ev, double a, double b)
{
    for (size_t q = 0; q < ev->rule->n; q++) {
        double node, weight;
        gsl_integration_glfixed_point(a, b, q, &node, &weight, ev->rule);
        ev->x[ev->n] = node;
        ev->w[ev->n] = weight * input_density(ev, node);
        ev->n++;
    }
}

/* Gauss-Legendre nodes on every piece between consecutive vertices. */
static int nodes_from_vertices(sgdmc_evaluator *ev)
{
    const vec *v = &ev->vertices;
    const size_t per_panel = ev->rule->n;
    size_t total = 0;
    for (size_t i = 0; i + 1 < v->len; i++) {
        double length = v->v[i + 1] - v->v[i];
        total += per_panel * (ev->max_panel > 0 ? (size_t)ceil(length / ev->max_panel) : 1);
    }
    if (reserve_nodes(ev, total))
        return -1;
    ev->n = 0;
    for (size_t i = 0; i + 1 < v->len; i++) {
        const double a = v->v[i], b = v->v[i + 1];
        size_t panels = ev->max_panel > 0 ? (size_t)ceil((b - a) / ev->max_panel) : 1;
        if (panels == 0)
            panels = 1;
        const double h = (b - a) / (double)panels;
        for (size_t p = 0; p < panels; p++) {
            const double pa = a + h * (double)p;
            push_panel_nodes(ev, pa, p + 1 == panels ? b : pa + h);
        }
    }
    return 0;
}

/* Composite Gauss-Legendre on [lo, hi] for smooth 1-D networks. */
static int fixed_grid_nodes(sgdmc_evaluator *ev, int panels)
{
    if (reserve_nodes(ev, (size_t)panels * ev->rule->n))
        return -1;
    const double h = (ev->hi - ev->lo) / panels;
    ev->n = 0;
    for (int p = 0; p < panels; p++)
        push_panel_nodes(ev, ev->lo + h * p, ev->lo + h * (p + 1));
    return 0;
}

static int sobol_nodes(sgdmc_evaluator *ev, int points)
{
    gsl_qrng *q = gsl_qrng_alloc(gsl_qrng_sobol, (unsigned)ev->dim);
    if (!q || reserve_nodes(ev, (size_t)points)) {
        if (q)
            gsl_qrng_free(q);
        return -1;
    }
    /* The first 2^m Sobol points are a (t, m, s)-net of cells of volume 2^-m
     * whose coordinates are multiples of 2^-m; shifting by half a cell puts
     * every point inside the open cube, where the normal quantile is finite.
     * GSL's sequence starts at the second Sobol point: the first, the
     * origin, is added here. */
    double u[40] = {0.0};
    const double shift = 0.5 / points;
    ev->n = (size_t)points;
    for (int s = 0; s < points; s++) {
        if (s > 0)
            gsl_qrng_get(q, u);
        for (int i = 0; i < ev->dim; i++) {
            double v = fmin(u[i] + shift, 1.0 - shift);
            ev->x[(size_t)i * ev->n + s] = ev->normal_input ? gsl_cdf_ugaussian_Pinv(v) : v;
        }
        ev->w[s] = 1.0 / points;
    }
    gsl_qrng_free(q);
    return 0;
}

static int data_nodes(sgdmc_evaluator *ev)
{
    const int n = sgdmc_problem_data_count(ev->problem);
    if (reserve_nodes(ev, (size_t)n))
        return -1;
    ev->n = (size_t)n;
    sgdmc_problem_data_columns(ev->problem, ev->x, ev->n, ev->y);
    for (int s = 0; s < n; s++)
        ev->w[s] = 1.0 / n;
    return 0;
}

bool sgdmc_evaluator_risk_exact(const sgdmc_evaluator *ev)
{
    return ev->exact;
}

sgdmc_evaluator *sgdmc_evaluator_alloc(const sgdmc_train_config *c, sgdmc_problem *problem,
                                       const sgdmc_arch *arch)
{
    sgdmc_evaluator *ev = calloc(1, sizeof *ev);
    if (!ev)
        return NULL;
    ev->arch = *arch;
    ev->problem = problem;
    ev->loss = c->loss;
    ev->l2 = c->l2;
    ev->dim = arch->widths[0];
    ev->normal_input = sgdmc_problem_input(problem) == SGDMC_INPUT_NORMAL;
    ev->ws = sgdmc_workspace_alloc(arch, SGDMC_EVAL_CHUNK);
    ev->dout = malloc(SGDMC_EVAL_CHUNK * sizeof *ev->dout);
    ev->alive = malloc((size_t)sgdmc_arch_hidden_units(arch) * sizeof *ev->alive);
    if (!ev->ws || !ev->dout || !ev->alive)
        goto fail;
    ev->lo = ev->normal_input ? -SGDMC_NORMAL_RANGE : 0.0;
    ev->hi = ev->normal_input ? SGDMC_NORMAL_RANGE : 1.0;
    if (sgdmc_problem_data_count(problem) > 0) {
        ev->mode = MODE_DATA;
        ev->exact = true;
        if (data_nodes(ev))
            goto fail;
        return ev;
    }
    if (ev->dim >= 2) {
        ev->mode = MODE_FIXED;
        if (sobol_nodes(ev, c->eval_points))
            goto fail;
        compute_targets(ev);
        return ev;
    }
    if (arch->activation != SGDMC_ACT_RELU) {
        ev->mode = MODE_FIXED;
        ev->rule = gsl_integration_glfixed_table_alloc(8);
        if (!ev->rule || fixed_grid_nodes(ev, ev->normal_input ? 160 : 64))
            goto fail;
        compute_targets(ev);
        return ev;
    }
    ev->mode = MODE_BREAKPOINTS;
    const bool polynomial = !ev->normal_input && sgdmc_problem_target(problem) != SGDMC_TARGET_SIN;
    ev->rule = gsl_integration_glfixed_table_alloc(polynomial ? 3 : 6);
    ev->max_panel = polynomial ? 0.0 : (ev->normal_input ? 0.25 : 1.0 / 16.0);
    ev->exact = polynomial && ev->loss == SGDMC_LOSS_MSE;
    if (!ev->rule || vec_push(&ev->base, ev->lo) || vec_push(&ev->base, ev->hi))
        goto fail;
    const double *teacher_params;
    const sgdmc_arch *teacher = sgdmc_problem_teacher(problem, &teacher_params);
    if (teacher) {
        sgdmc_workspace *tws = sgdmc_workspace_alloc(teacher, SGDMC_EVAL_CHUNK);
        int status = tws ? add_breakpoints(teacher, teacher_params, tws, &ev->base, false, NULL) : -1;
        sgdmc_workspace_free(tws);
        if (status)
            goto fail;
    }
    return ev;
fail:
    sgdmc_evaluator_free(ev);
    return NULL;
}

int sgdmc_evaluator_nodes(const sgdmc_evaluator *ev) { return (int)ev->n; }

const int *sgdmc_evaluator_alive(const sgdmc_evaluator *ev) { return ev->alive; }

/* The evaluator's vertices: its base points and every breakpoint of the
 * network `params` (add_breakpoints); 0, -1 when out of memory, or
 * SGDMC_CANCELLED. */
static int breakpoints_of(sgdmc_evaluator *ev, const double *params, bool rays,
                          const sgdmc_cancel *cancel)
{
    return vec_copy(&ev->vertices, &ev->base)
               ? -1
               : add_breakpoints(&ev->arch, params, ev->ws, &ev->vertices, rays, cancel);
}

int sgdmc_count_kinks(sgdmc_evaluator *ev, const double *params, bool *flat,
                      const sgdmc_cancel *cancel, bool *cancelled)
{
    *cancelled = false;
    if (ev->mode != MODE_BREAKPOINTS)
        return -1;
    const int found = breakpoints_of(ev, params, ev->normal_input, cancel);
    *cancelled = found == SGDMC_CANCELLED;
    if (found)
        return -1;
    const size_t n = ev->vertices.len;
    /* the function at the vertices and, on R, one beyond each end: its slope
     * on every piece, a kink where two neighbours differ */
    const size_t points = n + (ev->normal_input ? 2 : 0);
    double *x = malloc(sizeof(double) * points), *f = malloc(sizeof(double) * points);
    if (!x || !f) {
        free(x);
        free(f);
        return -1;
    }
    size_t at = 0;
    if (ev->normal_input)
        x[at++] = ev->vertices.v[0] - 1.0;
    for (size_t i = 0; i < n; i++)
        x[at++] = ev->vertices.v[i];
    if (ev->normal_input)
        x[at++] = ev->vertices.v[n - 1] + 1.0;
    for (size_t start = 0; start < points; start += SGDMC_EVAL_CHUNK) {
        if (sgdmc_cancel_requested(cancel)) {
            *cancelled = true;
            free(x);
            free(f);
            return -1;
        }
        const int count = chunk_size(points, start);
        memcpy(sgdmc_workspace_input(ev->ws), x + start, sizeof(double) * (size_t)count);
        sgdmc_forward(&ev->arch, params, ev->ws, count);
        memcpy(f + start, sgdmc_workspace_output(ev->ws), sizeof(double) * (size_t)count);
    }
    double steepest = 0.0;
    for (size_t i = 0; i + 1 < points; i++)
        steepest = fmax(steepest, fabs((f[i + 1] - f[i]) / (x[i + 1] - x[i])));
    /* slopes are differences of rounded values: changes below this are noise */
    const double tolerance = 1e-9 * fmax(steepest, 1e-300);
    int kinks = 0;
    for (size_t i = 1; i + 1 < points; i++) {
        const double before = (f[i] - f[i - 1]) / (x[i] - x[i - 1]);
        const double after = (f[i + 1] - f[i]) / (x[i + 1] - x[i]);
        kinks += fabs(after - before) > tolerance;
    }
    *flat = steepest <= 1e-12;
    free(x);
    free(f);
    return kinks;
}

double sgdmc_evaluate_risk(sgdmc_evaluator *ev, const double *params, double *grad)
{
    bool cancelled;
    return sgdmc_evaluate_risk_cancellable(ev, params, grad, NULL, &cancelled);
}

double sgdmc_evaluate_risk_cancellable(sgdmc_evaluator *ev, const double *params, double *grad,
                                       const sgdmc_cancel *cancel, bool *cancelled)
{
    *cancelled = false;
    if (ev->mode == MODE_BREAKPOINTS) {
        const int status = breakpoints_of(ev, params, false, cancel);
        *cancelled = status == SGDMC_CANCELLED;
        if (status || nodes_from_vertices(ev))
            return NAN;
        compute_targets(ev);
    }
    if (grad)
        memset(grad, 0, sizeof(double) * sgdmc_arch_param_count(&ev->arch));
    double risk = 0.0;
    for (size_t start = 0; start < ev->n; start += SGDMC_EVAL_CHUNK) {
        if (sgdmc_cancel_requested(cancel)) {
            *cancelled = true;
            return NAN;
        }
        const int count = chunk_size(ev->n, start);
        load_chunk(ev, ev->x, ev->n, start, count);
        sgdmc_forward(&ev->arch, params, ev->ws, count);
        const double *f = sgdmc_workspace_output(ev->ws);
        const double *y = ev->y + start, *w = ev->w + start;
        for (int s = 0; s < count; s++) {
            double slope;
            risk += w[s] * sgdmc_loss_point(ev->loss, f[s], y[s], &slope);
            ev->dout[s] = w[s] * slope;
        }
        if (grad)
            sgdmc_backward(&ev->arch, params, ev->ws, count, ev->dout, grad);
    }
    return risk + sgdmc_weight_penalty(&ev->arch, params, ev->l2, grad);
}

double sgdmc_evaluate_distance(sgdmc_evaluator *ev, const double *a, const double *b,
                               const sgdmc_cancel *cancel)
{
    if (ev->mode == MODE_BREAKPOINTS &&
        (breakpoints_of(ev, a, false, cancel) ||
         add_breakpoints(&ev->arch, b, ev->ws, &ev->vertices, false, cancel) ||
         nodes_from_vertices(ev)))
        return NAN;
    double sum = 0.0;
    for (size_t start = 0; start < ev->n; start += SGDMC_EVAL_CHUNK) {
        if (sgdmc_cancel_requested(cancel))
            return NAN;
        const int count = chunk_size(ev->n, start);
        load_chunk(ev, ev->x, ev->n, start, count);
        sgdmc_forward(&ev->arch, a, ev->ws, count);
        memcpy(ev->dout, sgdmc_workspace_output(ev->ws), sizeof(double) * (size_t)count);
        sgdmc_forward(&ev->arch, b, ev->ws, count);
        const double *fb = sgdmc_workspace_output(ev->ws), *w = ev->w + start;
        for (int s = 0; s < count; s++)
            sum += w[s] * (ev->dout[s] - fb[s]) * (ev->dout[s] - fb[s]);
    }
    return sqrt(sum);
}

/* Marks the neurons of every hidden layer that are positive somewhere among
 * the points xs (feature-major [dim][n]). */
static void mark_alive(sgdmc_evaluator *ev, const double *params, const double *xs, size_t n,
                       int first_layer)
{
    for (size_t start = 0; start < n; start += SGDMC_EVAL_CHUNK) {
        const int count = chunk_size(n, start);
        load_chunk(ev, xs, n, start, count);
        sgdmc_forward(&ev->arch, params, ev->ws, count);
        int unit = 0;
        for (int k = 1; k <= ev->arch.depth; k++) {
            const double *z = sgdmc_workspace_preact(ev->ws, k);
            for (int j = 0; j < ev->arch.widths[k]; j++, unit++) {
                if (k < first_layer || ev->alive[unit])
                    continue;
                const double *zj = z + (size_t)j * count;
                for (int s = 0; s < count; s++)
                    if (zj[s] > 0.0) {
                        ev->alive[unit] = 1;
                        break;
                    }
            }
        }
    }
}

double sgdmc_dead_at_init_probability(const sgdmc_train_config *c, int input_dim)
{
    if (c->activation != SGDMC_ACT_RELU || c->data_file[0] || c->init == SGDMC_INIT_FILE)
        return NAN;
    if (c->input == SGDMC_INPUT_NORMAL)
        return 0.0;
    const int d = input_dim;
    switch (c->init) {
    case SGDMC_INIT_UNIFORM: {
        /* P(b <= 0 and b + sum_i max(w_i, 0) <= 0): k of the d weights positive */
        double p = 0.0, binomial = 1.0, factorial = 1.0;
        for (int k = 0; k <= d; k++) {
            factorial *= k + 1;
            p += binomial * ldexp(1.0, -(d + 1)) / factorial;
            binomial = binomial * (d - k) / (k + 1);
        }
        return p;
    }
    case SGDMC_INIT_NORMAL:
        return d == 1 ? 3.0 / 8.0 : NAN;
    case SGDMC_INIT_HE:
    case SGDMC_INIT_GLOROT:
        return ldexp(1.0, -d);
    case SGDMC_INIT_FILE:
    case SGDMC_INIT_COUNT:
        break;
    }
    return NAN;
}

/* Interval bounds of every pre-activation over the input box ([0,1]^d, or
 * R^d for normal inputs): a neuron whose upper bound is <= 0 is dead on the
 * whole domain. Exact for the first layer (a linear function's range over a
 * box), a sound under-count beyond it. */
static int mark_alive_by_intervals(sgdmc_evaluator *ev, const double *params)
{
    const sgdmc_arch *a = &ev->arch;
    const int widest = sgdmc_arch_max_width(a) > a->widths[0] ? sgdmc_arch_max_width(a)
                                                              : a->widths[0];
    double *bounds = malloc(sizeof(double) * 4 * (size_t)widest);
    if (!bounds)
        return -1;
    double *lo = bounds, *hi = bounds + widest, *next_lo = hi + widest, *next_hi = next_lo + widest;
    for (int i = 0; i < a->widths[0]; i++) {
        lo[i] = ev->normal_input ? -INFINITY : 0.0;
        hi[i] = ev->normal_input ? INFINITY : 1.0;
    }
    int unit = 0;
    for (int k = 1; k <= a->depth; k++) {
        const int fan_in = a->widths[k - 1];
        const double *w = params + sgdmc_arch_weight_offset(a, k);
        const double *b = params + sgdmc_arch_bias_offset(a, k);
        for (int j = 0; j < a->widths[k]; j++, unit++) {
            double z_lo = b[j], z_hi = b[j];
            for (int i = 0; i < fan_in; i++) {
                const double wi = w[(size_t)j * fan_in + i];
                /* a zero weight adds nothing, even to an unbounded input */
                if (wi > 0.0) {
                    z_lo += wi * lo[i];
                    z_hi += wi * hi[i];
                } else if (wi < 0.0) {
                    z_lo += wi * hi[i];
                    z_hi += wi * lo[i];
                }
            }
            ev->alive[unit] = z_hi > 0.0;
            next_lo[j] = fmax(z_lo, 0.0);
            next_hi[j] = fmax(z_hi, 0.0);
            if (sgdmc_arch_skips_into(a, k)) {
                next_lo[j] += lo[j];
                next_hi[j] += hi[j];
            }
        }
        double *swap = lo;
        lo = next_lo;
        next_lo = swap;
        swap = hi;
        hi = next_hi;
        next_hi = swap;
    }
    free(bounds);
    return 0;
}

int sgdmc_count_dead(sgdmc_evaluator *ev, const double *params, int *dead,
                     const sgdmc_cancel *cancel)
{
    const int units = sgdmc_arch_hidden_units(&ev->arch);
    memset(ev->alive, 0, (size_t)units * sizeof *ev->alive);
    if (ev->mode == MODE_BREAKPOINTS) {
        /* every sign change of every neuron on the domain is a vertex: a
         * neuron is dead iff it is <= 0 at every vertex; on R (normal
         * inputs) also beyond them, where it is affine and keeps its sign */
        const double reach = 1.0;
        const int status = breakpoints_of(ev, params, ev->normal_input, cancel);
        if (status)
            return status;
        mark_alive(ev, params, ev->vertices.v, ev->vertices.len, 1);
        if (ev->normal_input) {
            const double ends[2] = {ev->vertices.v[0] - reach,
                                    ev->vertices.v[ev->vertices.len - 1] + reach};
            mark_alive(ev, params, ends, 2, 1);
        }
    } else if (ev->mode == MODE_DATA) {
        mark_alive(ev, params, ev->x, ev->n, 1);
    } else if (mark_alive_by_intervals(ev, params)) {
        return -1;
    }
    int unit = 0;
    for (int k = 1; k <= ev->arch.depth; k++) {
        dead[k - 1] = 0;
        for (int j = 0; j < ev->arch.widths[k]; j++, unit++)
            dead[k - 1] += !ev->alive[unit];
    }
    return 0;
}
