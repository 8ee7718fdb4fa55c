/* The training loop of one run and its measurements. */
#include "sgdmc/train.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/clock.h"
#include "sgdmc/evaluate.h"
#include "sgdmc/gram.h"
#include "sgdmc/h5io.h"
#include "sgdmc/loss.h"
#include "sgdmc/optim.h"
#include "sgdmc/problem.h"
#include "sgdmc/rng.h"
#include "sgdmc/rstar.h"
#include "sgdmc/rstar_cache.h"
#include "sgdmc/rstar_estimate.h"

const char *const sgdmc_status_names[SGDMC_STATUS_COUNT + 1] = {"converged", "not_converged",
                                                               "diverged", NULL};
const char *const sgdmc_min_risk_source_names[SGDMC_MIN_RISK_SOURCE_COUNT + 1] = {
    "unknown", "exact", "computed", "estimated", "given", NULL};

struct sgdmc_trainer {
    sgdmc_train_config config;
    sgdmc_arch arch;
    size_t n;              /* parameters */
    int batch;             /* samples per step */
    long step;             /* steps taken */
    sgdmc_problem *problem;
    sgdmc_evaluator *evaluator;
    sgdmc_optimizer *optimizer;
    gsl_rng *sample_rng;
    sgdmc_workspace *ws;
    double *params;        /* [n] */
    double *grad;          /* [n] */
    double *y;             /* [batch] */
    double *dout;          /* [batch] */
    double *file_params;   /* [n] the --init file's parameters, read once */
    sgdmc_gram *gram;      /* NULL when the Gram measures are skipped */
    double *gram_x;        /* [d][gram_points] */
    double *gram_y;        /* [gram_points] */
    /* one-layer 1-D students (rstar.h): R*(k) for k = 0..width, NaN until
     * first needed, and a minimizer of R*(width); computed once per trainer,
     * or taken from rstar_cache */
    bool rstar_supported;
    double *rstar;         /* [width + 1] */
    sgdmc_pwl minimizers[2]; /* the minimizer and, for sin, its mirror twin */
    int minimizer_count;
    /* --rstar_starts: the estimate and the best start's end point, computed
     * on first use, once per trainer (or taken from rstar_cache) */
    bool estimated;
    sgdmc_rstar_estimate_result estimate;
    double *estimate_params; /* [n] */
    sgdmc_rstar_cache *rstar_cache; /* shared R* results; NULL: none */
    sgdmc_poll_fn poll;
    void *poll_context;
};

void sgdmc_trainer_free(sgdmc_trainer *t)
{
    if (!t)
        return;
    sgdmc_problem_free(t->problem);
    sgdmc_evaluator_free(t->evaluator);
    sgdmc_optimizer_free(t->optimizer);
    if (t->sample_rng)
        gsl_rng_free(t->sample_rng);
    sgdmc_workspace_free(t->ws);
    free(t->params);
    free(t->grad);
    free(t->y);
    free(t->dout);
    free(t->file_params);
    sgdmc_gram_free(t->gram);
    free(t->rstar);
    free(t->estimate_params);
    for (int i = 0; i < t->minimizer_count; i++)
        sgdmc_pwl_free(&t->minimizers[i]);
    free(t->gram_x);
    free(t->gram_y);
    free(t);
}

/* Draws parameters in flat order W1, b1, W2, ... from the configured
 * initialization. */
static void draw_params(const sgdmc_train_config *c, const sgdmc_arch *arch, gsl_rng *rng,
                        double *params)
{
    const double a = c->init_scale;
    for (int k = 1; k <= arch->depth + 1; k++) {
        const int fan_in = arch->widths[k - 1], fan_out = arch->widths[k];
        double *w = params + sgdmc_arch_weight_offset(arch, k);
        double *b = params + sgdmc_arch_bias_offset(arch, k);
        const size_t nw = (size_t)fan_in * (size_t)fan_out;
        switch (c->init) {
        case SGDMC_INIT_UNIFORM:
            for (size_t i = 0; i < nw; i++)
                w[i] = a * (2.0 * gsl_rng_uniform(rng) - 1.0);
            for (int i = 0; i < fan_out; i++)
                b[i] = a * (2.0 * gsl_rng_uniform(rng) - 1.0);
            break;
        case SGDMC_INIT_NORMAL:
            for (size_t i = 0; i < nw; i++)
                w[i] = gsl_ran_gaussian_ziggurat(rng, a);
            for (int i = 0; i < fan_out; i++)
                b[i] = gsl_ran_gaussian_ziggurat(rng, a);
            break;
        case SGDMC_INIT_HE:
            for (size_t i = 0; i < nw; i++)
                w[i] = gsl_ran_gaussian_ziggurat(rng, a * sqrt(2.0 / fan_in));
            memset(b, 0, sizeof(double) * (size_t)fan_out);
            break;
        case SGDMC_INIT_GLOROT: {
            const double r = a * sqrt(6.0 / (fan_in + fan_out));
            for (size_t i = 0; i < nw; i++)
                w[i] = r * (2.0 * gsl_rng_uniform(rng) - 1.0);
            memset(b, 0, sizeof(double) * (size_t)fan_out);
            break;
        }
        case SGDMC_INIT_FILE:
        case SGDMC_INIT_COUNT:
            break;
        }
    }
}

/* The run's initial parameters: its seed's draw, or the --init file. */
static int init_params(const sgdmc_train_config *c, const sgdmc_arch *arch, double *params,
                       char *err, size_t errlen)
{
    if (c->init == SGDMC_INIT_FILE) {
        char why[800];
        if (sgdmc_h5_read_params(c->init_file, arch, params, why, sizeof why) == 0)
            return 0;
        snprintf(err, errlen, "--init: %s", why);
        return -1;
    }
    gsl_rng *rng = sgdmc_rng_alloc(c->seed, SGDMC_STREAM_INIT);
    if (!rng) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    draw_params(c, arch, rng, params);
    gsl_rng_free(rng);
    return 0;
}

/* The Gram measures' inputs: drawn once from a stream of their own, so that
 * every run of a problem is measured on the same inputs. */
static int setup_gram(sgdmc_trainer *t)
{
    const int points = t->config.gram_points;
    t->gram = sgdmc_gram_alloc(&t->arch, points);
    t->gram_x = malloc(sizeof(double) * (size_t)t->arch.widths[0] * (size_t)points);
    t->gram_y = malloc(sizeof(double) * (size_t)points);
    gsl_rng *rng = sgdmc_rng_alloc(0, SGDMC_STREAM_GRAM);
    if (!t->gram || !t->gram_x || !t->gram_y || !rng) {
        if (rng)
            gsl_rng_free(rng);
        return -1;
    }
    sgdmc_problem_sample(t->problem, rng, points, t->gram_x, t->gram_y);
    gsl_rng_free(rng);
    return 0;
}

sgdmc_trainer *sgdmc_trainer_alloc(const sgdmc_train_config *c, char *err, size_t errlen)
{
    if (sgdmc_train_config_check(c, err, errlen))
        return NULL;
    sgdmc_trainer *t = calloc(1, sizeof *t);
    if (!t)
        goto oom;
    t->config = *c;
    sgdmc_optimizer_resolve_defaults(&t->config.optimizer);
    int capacity = c->batch_size > SGDMC_EVAL_CHUNK ? c->batch_size : SGDMC_EVAL_CHUNK;
    t->problem = sgdmc_problem_alloc(c, capacity, err, errlen);
    if (!t->problem)
        goto fail;
    const int data_count = sgdmc_problem_data_count(t->problem);
    t->batch = c->batch_size > 0 ? c->batch_size : data_count;
    sgdmc_train_config_arch(c, sgdmc_problem_input_dim(t->problem), &t->arch);
    t->n = sgdmc_arch_param_count(&t->arch);
    t->params = malloc(t->n * sizeof *t->params);
    t->grad = malloc(t->n * sizeof *t->grad);
    t->y = malloc((size_t)t->batch * sizeof *t->y);
    t->dout = malloc((size_t)t->batch * sizeof *t->dout);
    t->ws = sgdmc_workspace_alloc(&t->arch, t->batch);
    t->sample_rng = sgdmc_rng_alloc(c->seed, SGDMC_STREAM_SAMPLE);
    t->optimizer = sgdmc_optimizer_alloc(&t->config.optimizer, t->n);
    if (!t->params || !t->grad || !t->y || !t->dout || !t->ws || !t->sample_rng || !t->optimizer)
        goto oom;
    if (init_params(c, &t->arch, t->params, err, errlen))
        goto fail;
    if (c->init == SGDMC_INIT_FILE) {
        t->file_params = malloc(t->n * sizeof *t->file_params);
        if (!t->file_params)
            goto oom;
        memcpy(t->file_params, t->params, t->n * sizeof *t->params);
    }
    t->evaluator = sgdmc_evaluator_alloc(c, t->problem, &t->arch);
    if (!t->evaluator)
        goto oom;
    if (c->gram_points > 0 && c->loss == SGDMC_LOSS_MSE && setup_gram(t))
        goto oom;
    t->rstar_supported = t->arch.depth == 1 && t->arch.widths[1] <= SGDMC_RSTAR_MAX_WIDTH &&
                         sgdmc_rstar_supported(c);
    if (t->rstar_supported) {
        t->rstar = malloc(sizeof(double) * (size_t)(t->arch.widths[1] + 1));
        if (!t->rstar)
            goto oom;
        for (int k = 0; k <= t->arch.widths[1]; k++)
            t->rstar[k] = NAN;
    }
    if (c->batch_size == 0) /* the whole data set is every step's batch: lay it out once */
        sgdmc_problem_data_columns(t->problem, sgdmc_workspace_input(t->ws), (size_t)data_count,
                                   t->y);
    return t;
oom:
    snprintf(err, errlen, "out of memory setting up the run");
fail:
    sgdmc_trainer_free(t);
    return NULL;
}

int sgdmc_trainer_restart(sgdmc_trainer *t, unsigned long seed, char *err, size_t errlen)
{
    t->config.seed = seed;
    t->step = 0;
    sgdmc_rng_seed(t->sample_rng, seed, SGDMC_STREAM_SAMPLE);
    sgdmc_optimizer_reset(t->optimizer);
    if (t->file_params) {
        memcpy(t->params, t->file_params, t->n * sizeof *t->params);
        return 0;
    }
    return init_params(&t->config, &t->arch, t->params, err, errlen);
}

void sgdmc_trainer_set_rstar_cache(sgdmc_trainer *t, sgdmc_rstar_cache *cache)
{
    t->rstar_cache = cache;
}

void sgdmc_trainer_set_poll(sgdmc_trainer *t, sgdmc_poll_fn poll, void *context)
{
    t->poll = poll;
    t->poll_context = context;
}

const sgdmc_arch *sgdmc_trainer_arch(const sgdmc_trainer *t) { return &t->arch; }
double *sgdmc_trainer_params(sgdmc_trainer *t) { return t->params; }
size_t sgdmc_trainer_param_count(const sgdmc_trainer *t) { return t->n; }

double sgdmc_trainer_step(sgdmc_trainer *t)
{
    const int batch = t->batch;
    if (t->config.batch_size > 0)
        sgdmc_problem_sample(t->problem, t->sample_rng, batch, sgdmc_workspace_input(t->ws),
                             t->y);
    sgdmc_forward(&t->arch, t->params, t->ws, batch);
    const double *f = sgdmc_workspace_output(t->ws);
    double loss = 0.0;
    for (int s = 0; s < batch; s++) {
        double slope;
        loss += sgdmc_loss_point(t->config.loss, f[s], t->y[s], &slope);
        t->dout[s] = slope / batch;
    }
    loss /= batch;
    memset(t->grad, 0, t->n * sizeof *t->grad);
    sgdmc_backward(&t->arch, t->params, t->ws, batch, t->dout, t->grad);
    loss += sgdmc_weight_penalty(&t->arch, t->params, t->config.l2, t->grad);
    sgdmc_optimizer_step(t->optimizer, t->params, t->grad,
                         sgdmc_train_config_lr(&t->config, t->step));
    t->step++;
    return loss;
}

void sgdmc_result_free(sgdmc_result *r)
{
    free(r->trajectory_step);
    free(r->trajectory_risk);
    free(r->trajectory_grad_norm);
    r->trajectory_step = NULL;
    r->trajectory_risk = r->trajectory_grad_norm = NULL;
}

/* Appends the `count` log-spaced steps 0, steps^(1/(count-1)), ..., steps. */
static size_t log_spaced(long steps, int count, long *out)
{
    size_t n = 0;
    if (count == 1) {
        out[n++] = steps;
        return n;
    }
    out[n++] = 0;
    for (int j = 1; j < count; j++)
        out[n++] = j + 1 == count ? steps : lround(pow((double)steps, (double)j / (count - 1)));
    return n;
}

static int compare_longs(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static size_t unique_longs(long *v, size_t n)
{
    qsort(v, n, sizeof *v, compare_longs);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (kept == 0 || v[i] != v[kept - 1])
            v[kept++] = v[i];
    return kept;
}

/* The permanently dead neurons per layer, given the dead counts. */
/* Dead neurons per hidden layer; -1 for smooth activations, whose neurons
 * never stop passing gradient. -1 when out of memory. */
static int count_dead(sgdmc_trainer *t, int *dead)
{
    if (t->arch.activation == SGDMC_ACT_RELU)
        return sgdmc_count_dead(t->evaluator, t->params, dead);
    for (int k = 0; k < t->arch.depth; k++)
        dead[k] = -1;
    return 0;
}

static void count_permanent(const sgdmc_trainer *t, const int *dead, int *permanent)
{
    const bool relu = t->arch.activation == SGDMC_ACT_RELU;
    for (int k = 1; k <= t->arch.depth; k++)
        permanent[k - 1] = !relu ? 0
                           : k == 1 ? dead[0]
                                    : sgdmc_count_nonpositive_incoming(&t->arch, t->params, k);
}

/* g(1 - x) = -g(x) for sin(2 pi x): a minimizer h has the twin -h(1 - x). */
static int mirror_twin(const sgdmc_pwl *h, sgdmc_pwl *twin)
{
    twin->count = h->count;
    twin->x = malloc(sizeof(double) * (size_t)h->count);
    twin->y = malloc(sizeof(double) * (size_t)h->count);
    if (!twin->x || !twin->y) {
        sgdmc_pwl_free(twin);
        return -1;
    }
    for (int j = 0; j < h->count; j++) {
        twin->x[j] = 1.0 - h->x[h->count - 1 - j];
        twin->y[j] = -h->y[h->count - 1 - j];
    }
    return 0;
}

/* The keys of R* results in a shared cache (rstar_cache.h): everything the
 * result depends on. The problem's: the target, the inputs, the loss and
 * the penalty, and the activation (a teacher's too). */
static void problem_key(const sgdmc_train_config *c, char *key, size_t len)
{
    snprintf(key, len, "input %d %d target %d %a teacher %d %d %lu data '%s' loss %d %a act %d",
             c->input_dim, (int)c->input, (int)c->target, c->target_constant, c->teacher_width,
             c->teacher_depth, c->teacher_seed, c->data_file, (int)c->loss, c->l2,
             (int)c->activation);
}

/* The estimate's also: the architecture, the starts' initialization, the
 * evaluator's sample and the BFGS budget. Not the optimizer, steps, seed,
 * batch or tolerances. */
static void estimate_key(const sgdmc_trainer *t, char *key, size_t len)
{
    const sgdmc_train_config *c = &t->config;
    problem_key(c, key, len);
    size_t used = strlen(key);
    used += (size_t)snprintf(key + used, len - used,
                             " | estimate init %d %a '%s' eval %d starts %d %d skip %d widths",
                             (int)c->init, c->init_scale, c->init_file, c->eval_points,
                             c->rstar_starts, c->rstar_iterations, (int)t->arch.skip);
    for (int k = 0; k <= t->arch.depth + 1 && used < len; k++)
        used += (size_t)snprintf(key + used, len - used, " %d", t->arch.widths[k]);
}

enum { KEY_LEN = 3 * SGDMC_PATH_MAX };

/* R*(k) of one-layer students of width k and a network realizing it
 * (params [3k + 1], rstar.h), from the cache or computed (and cached). */
static int one_layer_rstar(sgdmc_trainer *t, int k, double *rstar, double *params)
{
    char key[KEY_LEN], err[512];
    problem_key(&t->config, key, sizeof key);
    snprintf(key + strlen(key), sizeof key - strlen(key), " | one layer %d", k);
    const size_t count = 3 * (size_t)k + 1;
    if (sgdmc_rstar_cache_get(t->rstar_cache, key, rstar, params, count))
        return 0;
    if (sgdmc_rstar_1d_network(t->problem, &t->config, k, rstar, NULL, params, NULL, err,
                               sizeof err))
        return -1;
    if (t->rstar_cache && sgdmc_rstar_cache_put(t->rstar_cache, key, *rstar, params, count))
        return -1;
    return 0;
}

/* R*(k) of a k-neuron one-layer student, computed on first use (NaN when the
 * solver fails); for k = width also keeps the minimizers. */
static double rstar_of(sgdmc_trainer *t, int k)
{
    if (!isnan(t->rstar[k]))
        return t->rstar[k];
    const bool full = k == t->arch.widths[1];
    double *params = malloc(sizeof(double) * (3 * (size_t)k + 1));
    sgdmc_pwl minimizer = {0};
    sgdmc_arch one_layer = t->arch;   /* depth 1, input dim 1: rstar_supported */
    one_layer.widths[1] = k;
    if (!params || one_layer_rstar(t, k, &t->rstar[k], params) ||
        (full && sgdmc_pwl_from_network(&one_layer, params, &minimizer))) {
        free(params);
        t->rstar[k] = NAN;
        return NAN;
    }
    free(params);
    if (full) {
        t->minimizers[t->minimizer_count++] = minimizer;
        if (t->config.target == SGDMC_TARGET_SIN &&
            mirror_twin(&minimizer, &t->minimizers[t->minimizer_count]) == 0)
            t->minimizer_count++;
    }
    return t->rstar[k];
}

/* A deeper 1-D ReLU network of smallest width m computes every one-layer
 * network of width m: its first layer holds the one-layer network's
 * neurons (the rest zero), each further layer passes them on (the identity
 * on their non-negative values; zero weights behind a skip), the output
 * layer is the one-layer network's. So the proven R*(m) (rstar.h) bounds R*
 * from above, often far better than BFGS reaches on ReLU kinks; it replaces
 * the estimate when lower. Returns -1 when out of memory. */
static int consider_shallow_minimizer(sgdmc_trainer *t)
{
    const sgdmc_arch *a = &t->arch;
    int m = a->widths[1];
    for (int k = 2; k <= a->depth; k++)
        m = a->widths[k] < m ? a->widths[k] : m;
    if (a->depth < 2 || m > SGDMC_RSTAR_MAX_WIDTH || !sgdmc_rstar_supported(&t->config))
        return 0;
    double *shallow = malloc(sizeof(double) * (3 * (size_t)m + 1));
    if (!shallow)
        return -1;
    double rstar;
    if (one_layer_rstar(t, m, &rstar, shallow) ||
        !(rstar < t->estimate.rstar || isnan(t->estimate.rstar))) {
        free(shallow);
        return 0;
    }
    double *p = t->estimate_params;
    memset(p, 0, sizeof(double) * t->n);
    for (int j = 0; j < m; j++) {
        p[sgdmc_arch_weight_offset(a, 1) + (size_t)j] = shallow[j];      /* W1 [m x 1] */
        p[sgdmc_arch_bias_offset(a, 1) + (size_t)j] = shallow[m + j];    /* b1 */
        for (int k = 2; k <= a->depth; k++)
            if (!sgdmc_arch_skips_into(a, k))
                p[sgdmc_arch_weight_offset(a, k) + (size_t)j * (size_t)a->widths[k - 1] +
                  (size_t)j] = 1.0;
        p[sgdmc_arch_weight_offset(a, a->depth + 1) + (size_t)j] = shallow[2 * m + j];
    }
    p[sgdmc_arch_bias_offset(a, a->depth + 1)] = shallow[3 * m];
    free(shallow);
    t->estimate.rstar = sgdmc_evaluate_risk(t->evaluator, p, NULL);
    t->estimate.hits = 0;
    return 0;
}

/* The --rstar_starts estimate, computed on first use (rstar_estimate.h).
 * Start i is the configured initialization drawn from the estimate's own
 * stream with seed i (uniform for an --init file), so that the starts never
 * coincide with a run's; for ReLU networks drawn again (up to 100 times)
 * while a first-layer neuron is dead, since such a start is a smaller
 * network. Returns -1 when out of memory. */
static int estimate_rstar(sgdmc_trainer *t)
{
    if (t->estimated)
        return 0;
    /* cached: R*, then the best start's end point, hits and starts */
    char key[KEY_LEN];
    estimate_key(t, key, sizeof key);
    if (!t->estimate_params)
        t->estimate_params = malloc(sizeof(double) * (t->n + 2));
    if (!t->estimate_params)
        return -1;
    if (sgdmc_rstar_cache_get(t->rstar_cache, key, &t->estimate.rstar, t->estimate_params,
                              t->n + 2)) {
        t->estimate.hits = (int)t->estimate_params[t->n];
        t->estimate.starts = (int)t->estimate_params[t->n + 1];
        t->estimated = true;
        return 0;
    }
    const int count = t->config.rstar_starts;
    sgdmc_train_config draw = t->config;
    if (draw.init == SGDMC_INIT_FILE)
        draw.init = SGDMC_INIT_UNIFORM;
    double *starts = malloc(sizeof(double) * t->n * (size_t)count);
    gsl_rng *rng = sgdmc_rng_alloc(0, SGDMC_STREAM_ESTIMATE);
    int status = starts && t->estimate_params && rng ? 0 : -1;
    int dead[SGDMC_MAX_DEPTH];
    for (int i = 0; i < count && status == 0; i++) {
        double *start = starts + (size_t)i * t->n;
        sgdmc_rng_seed(rng, (unsigned long)i, SGDMC_STREAM_ESTIMATE);
        for (int attempt = 0; attempt < 100 && status == 0; attempt++) {
            draw_params(&draw, &t->arch, rng, start);
            if (t->arch.activation != SGDMC_ACT_RELU)
                break;
            status = sgdmc_count_dead(t->evaluator, start, dead);
            if (status == 0 && dead[0] == 0)
                break;
        }
    }
    if (status == 0)
        status = sgdmc_rstar_estimate(t->evaluator, t->n, starts, count,
                                      t->config.rstar_iterations, t->estimate_params,
                                      &t->estimate);
    if (rng)
        gsl_rng_free(rng);
    free(starts);
    if (status == 0)
        status = consider_shallow_minimizer(t);
    if (status == 0 && t->rstar_cache) {
        t->estimate_params[t->n] = t->estimate.hits;
        t->estimate_params[t->n + 1] = t->estimate.starts;
        status = sgdmc_rstar_cache_put(t->rstar_cache, key, t->estimate.rstar, t->estimate_params,
                                       t->n + 2);
    }
    t->estimated = status == 0;
    return status;
}

/* The L2 distance from the network to the nearest known minimizer of R*. */
static double distance_to_minimizers(const sgdmc_trainer *t)
{
    double best = NAN;
    for (int i = 0; i < t->minimizer_count; i++) {
        const double d2 = sgdmc_pwl_network_distance2(&t->minimizers[i], &t->arch, t->params);
        if (isnan(best) || d2 < best * best)
            best = sqrt(fmax(d2, 0.0));
    }
    return best;
}

/* Paper 001's verdict from the permanently dead first-layer neurons. */
static int certify(sgdmc_trainer *t, const sgdmc_result *r)
{
    const sgdmc_train_config *c = &t->config;
    if (r->status == SGDMC_STATUS_DIVERGED)
        return -1;
    /* zero risk stays reachable with dead neurons: output weights 0 */
    if (c->target == SGDMC_TARGET_CONSTANT && c->loss == SGDMC_LOSS_MSE && c->l2 == 0.0)
        return 0;
    if (!t->rstar_supported || r->min_risk_source != SGDMC_MIN_RISK_COMPUTED)
        return -1;
    const int dead = r->dead_permanent_final[0];
    if (dead == 0)
        return 0;
    const double reachable = rstar_of(t, t->arch.widths[1] - dead);
    if (isnan(reachable))
        return -1;
    return reachable > r->min_risk + c->tol + c->rtol * r->min_risk;
}

static bool all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return false;
    return true;
}

int sgdmc_trainer_run(sgdmc_trainer *t, sgdmc_result *r)
{
    const sgdmc_train_config *c = &t->config;
    const double start = sgdmc_now_seconds();
    memset(r, 0, sizeof *r);
    r->depth = t->arch.depth;
    r->min_grad_norm = INFINITY;

    const int traj = c->trajectory;
    long *checkpoints = malloc(sizeof(long) * (size_t)(c->checkpoints + 1));
    long *traj_steps = malloc(sizeof(long) * (size_t)(traj + 1));
    r->trajectory_step = malloc(sizeof(long) * (size_t)(traj + 1));
    r->trajectory_risk = malloc(sizeof(double) * (size_t)(traj + 1));
    r->trajectory_grad_norm = malloc(sizeof(double) * (size_t)(traj + 1));
    if (!checkpoints || !traj_steps || !r->trajectory_step || !r->trajectory_risk ||
        !r->trajectory_grad_norm)
        goto oom;
    const long first = t->step, last = first + c->steps;
    size_t n_check = unique_longs(checkpoints, log_spaced(c->steps, c->checkpoints, checkpoints));
    size_t n_traj = traj > 0 ? unique_longs(traj_steps, log_spaced(c->steps, traj, traj_steps)) : 0;

    if (count_dead(t, r->dead_init))
        goto oom;
    count_permanent(t, r->dead_init, r->dead_permanent_init);
    bool diverged = false;
    size_t ci = 0, ti = 0;
    double risk = NAN, grad_norm = NAN;
    long evaluated_at = -1;
    for (long s = first;; s++) {
        const long k = s - first;
        const bool at_check = ci < n_check && checkpoints[ci] == k;
        const bool at_traj = ti < n_traj && traj_steps[ti] == k;
        if (at_check || at_traj) {
            risk = sgdmc_evaluate_risk(t->evaluator, t->params, t->grad);
            grad_norm = sgdmc_norm2(t->grad, t->n);
            evaluated_at = s;
            ci += at_check;
            if (at_traj) {
                r->trajectory_step[ti] = k;
                r->trajectory_risk[ti] = risk;
                r->trajectory_grad_norm[ti] = grad_norm;
                ti++;
            }
            if (!isfinite(risk) || risk > c->blowup || !isfinite(grad_norm) ||
                !all_finite(t->params, t->n)) {
                diverged = true;
                break;
            }
            if (grad_norm < r->min_grad_norm)
                r->min_grad_norm = grad_norm;
        }
        if (s == last)
            break;
        if (t->poll && (k & 15) == 0 && t->poll(t->poll_context)) {
            free(checkpoints);
            free(traj_steps);
            sgdmc_result_free(r);
            return SGDMC_RUN_ABANDONED;
        }
        const double loss = sgdmc_trainer_step(t);
        if (!isfinite(loss) || loss > c->blowup) {
            diverged = true;
            break;
        }
    }
    r->steps = t->step - first;
    r->trajectory_count = (int)ti;
    if (evaluated_at != t->step) {
        risk = sgdmc_evaluate_risk(t->evaluator, t->params, t->grad);
        grad_norm = sgdmc_norm2(t->grad, t->n);
    }
    diverged |= !isfinite(risk) || risk > c->blowup || !all_finite(t->params, t->n);
    if (!diverged && grad_norm < r->min_grad_norm)
        r->min_grad_norm = grad_norm;
    if (!isfinite(r->min_grad_norm))
        r->min_grad_norm = NAN;
    r->final_risk = risk;
    r->grad_norm = grad_norm;
    r->tol = c->tol;
    r->rtol = c->rtol;
    if (!isnan(c->min_risk)) {
        r->min_risk = c->min_risk;
        r->min_risk_source = SGDMC_MIN_RISK_GIVEN;
    } else {
        r->min_risk = sgdmc_problem_min_risk(t->problem, &t->arch, c);
        r->min_risk_source = isnan(r->min_risk) ? SGDMC_MIN_RISK_UNKNOWN : SGDMC_MIN_RISK_EXACT;
        if (isnan(r->min_risk) && t->rstar_supported) {
            r->min_risk = rstar_of(t, t->arch.widths[1]);
            if (!isnan(r->min_risk))
                r->min_risk_source = SGDMC_MIN_RISK_COMPUTED;
        }
        if (isnan(r->min_risk) && c->rstar_starts > 0) {
            if (estimate_rstar(t))
                goto oom;
            r->min_risk = t->estimate.rstar;
            if (!isnan(r->min_risk))
                r->min_risk_source = SGDMC_MIN_RISK_ESTIMATED;
        }
    }
    r->risk_gap = r->final_risk - r->min_risk;
    /* R* = 0 under plain mse: the target itself is the minimizer's function */
    r->dist_to_min = r->min_risk == 0.0 && c->loss == SGDMC_LOSS_MSE && c->l2 == 0.0 && risk >= 0.0
                         ? sqrt(risk) : NAN;
    if (r->min_risk_source == SGDMC_MIN_RISK_COMPUTED)
        r->dist_to_min = distance_to_minimizers(t);
    if (r->min_risk_source == SGDMC_MIN_RISK_ESTIMATED && !diverged)
        r->dist_to_min = sgdmc_evaluate_distance(t->evaluator, t->params, t->estimate_params);
    r->gram_min_eig = r->gram_max_eig = r->gram_risk = r->gram_grad_norm = NAN;
    sgdmc_gram_measures gram;
    if (t->gram && !diverged &&
        sgdmc_gram_measure(t->gram, t->params, t->gram_x, t->gram_y, &gram) == 0) {
        r->gram_min_eig = gram.min_eig;
        r->gram_max_eig = gram.max_eig;
        r->gram_risk = gram.risk;
        r->gram_grad_norm = gram.grad_norm;
    }
    if (diverged) {
        r->status = SGDMC_STATUS_DIVERGED;
        for (int k = 0; k < r->depth; k++)
            r->dead_final[k] = r->dead_permanent_final[k] = -1;
    } else {
        /* every risk is >= 0 and so >= R*: risk <= tol implies gap <= tol */
        const double gap = isnan(r->min_risk) ? risk : r->risk_gap;
        const double allowed = c->tol + (isnan(r->min_risk) ? 0.0 : c->rtol * r->min_risk);
        r->status = gap <= allowed ? SGDMC_STATUS_CONVERGED : SGDMC_STATUS_NOT_CONVERGED;
        if (count_dead(t, r->dead_final))
            goto oom;
        count_permanent(t, r->dead_final, r->dead_permanent_final);
    }
    r->certified_nonconvergent = certify(t, r);
    const double p = sgdmc_dead_at_init_probability(c, t->arch.widths[0]);
    r->dead_init_probability = 1.0 - pow(1.0 - p, t->arch.widths[1]);
    free(checkpoints);
    free(traj_steps);
    r->seconds = sgdmc_now_seconds() - start;
    return 0;
oom:
    free(checkpoints);
    free(traj_steps);
    sgdmc_result_free(r);
    return -1;
}
