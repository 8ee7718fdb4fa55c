/* The R* policy: provenance of R*, the one-layer solver, the estimate, the
 * minimizers' distance and the certificate (min_risk.h). */
#include "sgdmc/minimum/min_risk.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/core/init.h"
#include "sgdmc/minimum/pwl.h"
#include "sgdmc/base/rng.h"
#include "sgdmc/minimum/rstar.h"
#include "sgdmc/minimum/rstar_estimate.h"
#include "sgdmc/core/train_options.h"

struct sgdmc_min_risk {
    sgdmc_train_config config;
    sgdmc_problem *problem;
    sgdmc_evaluator *evaluator;
    sgdmc_arch arch;
    size_t n;                  /* parameters of the run's network */
    sgdmc_rstar_cache *cache;  /* shared R* results; NULL: none */
    /* one-layer 1-D students (rstar.h): R*(k) for k = 0..width, NaN until
     * first needed, and the minimizers of R*(width) */
    bool rstar_supported;
    double *rstar;             /* [width + 1] */
    sgdmc_pwl minimizers[2];   /* the minimizer and, for sin, its mirror twin */
    int minimizer_count;
    /* --rstar_starts: the estimate and the best start's end point */
    bool estimated;
    sgdmc_rstar_estimate_result estimate;
    double *estimate_params;   /* [n + 2]: the end point, then hits and starts (cached) */
};

sgdmc_min_risk *sgdmc_min_risk_alloc(const sgdmc_train_config *config, sgdmc_problem *problem,
                                     sgdmc_evaluator *evaluator, const sgdmc_arch *arch)
{
    sgdmc_min_risk *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->config = *config;
    m->problem = problem;
    m->evaluator = evaluator;
    m->arch = *arch;
    m->n = sgdmc_arch_param_count(arch);
    m->rstar_supported = arch->depth == 1 && arch->widths[1] <= SGDMC_RSTAR_MAX_WIDTH &&
                         sgdmc_rstar_supported(config);
    if (m->rstar_supported) {
        m->rstar = malloc(sizeof(double) * (size_t)(arch->widths[1] + 1));
        if (!m->rstar) {
            free(m);
            return NULL;
        }
        for (int k = 0; k <= arch->widths[1]; k++)
            m->rstar[k] = NAN;
    }
    return m;
}

void sgdmc_min_risk_free(sgdmc_min_risk *m)
{
    if (!m)
        return;
    free(m->rstar);
    free(m->estimate_params);
    for (int i = 0; i < m->minimizer_count; i++)
        sgdmc_pwl_free(&m->minimizers[i]);
    free(m);
}

void sgdmc_min_risk_set_cache(sgdmc_min_risk *m, sgdmc_rstar_cache *cache) { m->cache = cache; }

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

/* Cache keys name everything a result depends on: the options the option
 * table marks as defining the problem (one-layer R*), and also the estimate
 * (the architecture, the starts' initialization, the evaluator's sample and
 * the BFGS budget). Not the optimizer, steps, seed, batch or tolerances. */
enum { KEY_LEN = 4 * SGDMC_PATH_MAX };

/* R*(k) of one-layer students of width k and a network realizing it
 * (params [3k + 1], rstar.h), from the cache or computed (and cached). */
static int one_layer_rstar(sgdmc_min_risk *m, int k, double *rstar, double *params)
{
    char key[KEY_LEN], err[512];
    sgdmc_options_key(&sgdmc_train_options, &m->config, SGDMC_DEFINES_PROBLEM, key, sizeof key);
    snprintf(key + strlen(key), sizeof key - strlen(key), " | one layer %d", k);
    const size_t count = 3 * (size_t)k + 1;
    if (sgdmc_rstar_cache_get(m->cache, key, rstar, params, count))
        return 0;
    if (sgdmc_rstar_1d_network(m->problem, &m->config, k, rstar, NULL, params, NULL, err,
                               sizeof err))
        return -1;
    if (m->cache && sgdmc_rstar_cache_put(m->cache, key, *rstar, params, count))
        return -1;
    return 0;
}

/* R*(k) of a k-neuron one-layer student, computed on first use (NaN when the
 * solver fails); for k = width also keeps the minimizers. */
static double rstar_of(sgdmc_min_risk *m, int k)
{
    if (!isnan(m->rstar[k]))
        return m->rstar[k];
    const bool full = k == m->arch.widths[1];
    double *params = malloc(sizeof(double) * (3 * (size_t)k + 1));
    sgdmc_pwl minimizer = {0};
    sgdmc_arch one_layer = m->arch; /* depth 1, input dim 1: rstar_supported */
    one_layer.widths[1] = k;
    if (!params || one_layer_rstar(m, k, &m->rstar[k], params) ||
        (full && sgdmc_pwl_from_network(&one_layer, params, &minimizer))) {
        free(params);
        m->rstar[k] = NAN;
        return NAN;
    }
    free(params);
    if (full) {
        m->minimizers[m->minimizer_count++] = minimizer;
        if (m->config.target == SGDMC_TARGET_SIN &&
            mirror_twin(&minimizer, &m->minimizers[m->minimizer_count]) == 0)
            m->minimizer_count++;
    }
    return m->rstar[k];
}

/* A deeper 1-D ReLU network of smallest width w computes every one-layer
 * network of width w: its first layer holds the one-layer network's
 * neurons (the rest zero), each further layer passes them on (the identity
 * on their non-negative values; zero weights behind a skip), the output
 * layer is the one-layer network's. So the proven R*(w) (rstar.h) bounds R*
 * from above, often far better than BFGS reaches on ReLU kinks; it replaces
 * the estimate when lower. Returns -1 when out of memory. */
static int consider_shallow_minimizer(sgdmc_min_risk *m)
{
    const sgdmc_arch *a = &m->arch;
    int w = a->widths[1];
    for (int k = 2; k <= a->depth; k++)
        w = a->widths[k] < w ? a->widths[k] : w;
    if (a->depth < 2 || w > SGDMC_RSTAR_MAX_WIDTH || !sgdmc_rstar_supported(&m->config))
        return 0;
    double *shallow = malloc(sizeof(double) * (3 * (size_t)w + 1));
    if (!shallow)
        return -1;
    double rstar;
    if (one_layer_rstar(m, w, &rstar, shallow) ||
        !(rstar < m->estimate.rstar || isnan(m->estimate.rstar))) {
        free(shallow);
        return 0;
    }
    double *p = m->estimate_params;
    memset(p, 0, sizeof(double) * m->n);
    for (int j = 0; j < w; j++) {
        p[sgdmc_arch_weight_offset(a, 1) + (size_t)j] = shallow[j];   /* W1 [w x 1] */
        p[sgdmc_arch_bias_offset(a, 1) + (size_t)j] = shallow[w + j]; /* b1 */
        for (int k = 2; k <= a->depth; k++)
            if (!sgdmc_arch_skips_into(a, k))
                p[sgdmc_arch_weight_offset(a, k) + (size_t)j * (size_t)a->widths[k - 1] +
                  (size_t)j] = 1.0;
        p[sgdmc_arch_weight_offset(a, a->depth + 1) + (size_t)j] = shallow[2 * w + j];
    }
    p[sgdmc_arch_bias_offset(a, a->depth + 1)] = shallow[3 * w];
    free(shallow);
    m->estimate.rstar = sgdmc_evaluate_risk(m->evaluator, p, NULL);
    m->estimate.hits = 0;
    return 0;
}

/* The --rstar_starts estimate, computed on first use (rstar_estimate.h).
 * Start i is the configured initialization drawn from the estimate's own
 * stream with seed i (uniform for an --init file), so that the starts never
 * coincide with a run's; for ReLU networks drawn again (up to 100 times)
 * while a first-layer neuron is dead, since such a start is a smaller
 * network. Returns -1 when out of memory. */
static int estimate_rstar(sgdmc_min_risk *m)
{
    if (m->estimated)
        return 0;
    /* cached: R*, then the best start's end point, hits and starts */
    char key[KEY_LEN];
    sgdmc_options_key(&sgdmc_train_options, &m->config,
                      SGDMC_DEFINES_PROBLEM | SGDMC_DEFINES_ESTIMATE, key, sizeof key);
    if (!m->estimate_params)
        m->estimate_params = malloc(sizeof(double) * (m->n + 2));
    if (!m->estimate_params)
        return -1;
    if (sgdmc_rstar_cache_get(m->cache, key, &m->estimate.rstar, m->estimate_params,
                              m->n + 2)) {
        m->estimate.hits = (int)m->estimate_params[m->n];
        m->estimate.starts = (int)m->estimate_params[m->n + 1];
        m->estimated = true;
        return 0;
    }
    const int count = m->config.rstar_starts;
    sgdmc_train_config draw = m->config;
    if (draw.init == SGDMC_INIT_FILE)
        draw.init = SGDMC_INIT_UNIFORM;
    double *starts = malloc(sizeof(double) * m->n * (size_t)count);
    gsl_rng *rng = sgdmc_rng_alloc(0, SGDMC_STREAM_ESTIMATE);
    int status = starts && rng ? 0 : -1;
    int dead[SGDMC_MAX_DEPTH];
    for (int i = 0; i < count && status == 0; i++) {
        double *start = starts + (size_t)i * m->n;
        sgdmc_rng_seed(rng, (unsigned long)i, SGDMC_STREAM_ESTIMATE);
        for (int attempt = 0; attempt < 100 && status == 0; attempt++) {
            sgdmc_init_draw(&draw, &m->arch, rng, start);
            if (m->arch.activation != SGDMC_ACT_RELU)
                break;
            status = sgdmc_count_dead(m->evaluator, start, dead);
            if (status == 0 && dead[0] == 0)
                break;
        }
    }
    if (status == 0)
        status = sgdmc_rstar_estimate(m->evaluator, m->n, starts, count,
                                      m->config.rstar_iterations, m->estimate_params,
                                      &m->estimate);
    if (rng)
        gsl_rng_free(rng);
    free(starts);
    if (status == 0)
        status = consider_shallow_minimizer(m);
    if (status == 0 && m->cache) {
        m->estimate_params[m->n] = m->estimate.hits;
        m->estimate_params[m->n + 1] = m->estimate.starts;
        status = sgdmc_rstar_cache_put(m->cache, key, m->estimate.rstar, m->estimate_params,
                                       m->n + 2);
    }
    m->estimated = status == 0;
    return status;
}

int sgdmc_min_risk_value(sgdmc_min_risk *m, double *rstar, sgdmc_min_risk_source *source)
{
    const sgdmc_train_config *c = &m->config;
    if (!isnan(c->min_risk)) {
        *rstar = c->min_risk;
        *source = SGDMC_MIN_RISK_GIVEN;
        return 0;
    }
    *rstar = sgdmc_problem_min_risk(m->problem, &m->arch, c);
    *source = isnan(*rstar) ? SGDMC_MIN_RISK_UNKNOWN : SGDMC_MIN_RISK_EXACT;
    if (isnan(*rstar) && m->rstar_supported) {
        *rstar = rstar_of(m, m->arch.widths[1]);
        if (!isnan(*rstar))
            *source = SGDMC_MIN_RISK_COMPUTED;
    }
    if (isnan(*rstar) && c->rstar_starts > 0) {
        if (estimate_rstar(m))
            return -1;
        *rstar = m->estimate.rstar;
        if (!isnan(*rstar))
            *source = SGDMC_MIN_RISK_ESTIMATED;
    }
    return 0;
}

/* The L2 distance from the network to the nearest of the one-layer solver's
 * minimizers. */
static double distance_to_minimizers(const sgdmc_min_risk *m, const double *params)
{
    double best = NAN;
    for (int i = 0; i < m->minimizer_count; i++) {
        const double d2 = sgdmc_pwl_network_distance2(&m->minimizers[i], &m->arch, params);
        if (isnan(best) || d2 < best * best)
            best = sqrt(fmax(d2, 0.0));
    }
    return best;
}

double sgdmc_min_risk_distance(sgdmc_min_risk *m, const double *params, double risk,
                               double rstar, sgdmc_min_risk_source source, bool diverged)
{
    const sgdmc_train_config *c = &m->config;
    if (source == SGDMC_MIN_RISK_COMPUTED)
        return distance_to_minimizers(m, params);
    if (source == SGDMC_MIN_RISK_ESTIMATED && !diverged)
        return sgdmc_evaluate_distance(m->evaluator, params, m->estimate_params);
    /* R* = 0 under plain mse: the target itself is the minimizer's function */
    return rstar == 0.0 && c->loss == SGDMC_LOSS_MSE && c->l2 == 0.0 && risk >= 0.0 ? sqrt(risk)
                                                                                  : NAN;
}

int sgdmc_min_risk_certify(sgdmc_min_risk *m, const sgdmc_result *r)
{
    const sgdmc_train_config *c = &m->config;
    if (r->status == SGDMC_STATUS_DIVERGED)
        return -1;
    /* zero risk stays reachable with dead neurons: output weights 0 */
    if (c->target == SGDMC_TARGET_CONSTANT && c->loss == SGDMC_LOSS_MSE && c->l2 == 0.0)
        return 0;
    if (!m->rstar_supported || r->min_risk_source != SGDMC_MIN_RISK_COMPUTED)
        return -1;
    const int dead = r->dead_permanent_final[0];
    if (dead == 0)
        return 0;
    const double reachable = rstar_of(m, m->arch.widths[1] - dead);
    if (isnan(reachable))
        return -1;
    return reachable > r->min_risk + c->tol + c->rtol * r->min_risk;
}
