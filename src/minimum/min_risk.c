/* The R* policy: provenance of R*, the one-layer solver, the estimate, the
 * minimizers' distance and the certificate (min_risk.h). */
#include "sgdmc/minimum/min_risk.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/base/clock.h"
#include "sgdmc/core/init.h"
#include "sgdmc/minimum/lower_bound.h"
#include "sgdmc/minimum/pwl.h"
#include "sgdmc/base/rng.h"
#include "sgdmc/minimum/rstar.h"
#include "sgdmc/minimum/rstar_estimate.h"
#include "sgdmc/core/train_options.h"

/* Cache keys name everything a result depends on: the options the option
 * table marks as defining the problem (one-layer R*), and also the estimate
 * (the architecture, the starts' initialization, the evaluator's sample and
 * the BFGS budget). Not the optimizer, steps, seed, batch or tolerances. */
enum { KEY_LEN = 4 * SGDMC_PATH_MAX };

struct sgdmc_min_risk {
    sgdmc_train_config config;
    /* the cache keys' common part: the options that define the problem,
     * formatted once (formatting them for every run's bound was 3% of a
     * run's fixed cost at w1 d1) */
    char problem_key[KEY_LEN];
    sgdmc_problem *problem;
    sgdmc_evaluator *evaluator;
    sgdmc_arch arch;
    size_t n;                  /* parameters of the run's network */
    sgdmc_rstar_cache *cache;  /* shared R* results; NULL: none */
    const sgdmc_cancel *cancel; /* asked by every long computation; NULL: none */
    bool cancelled;            /* the current computation was cancelled */
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
    double estimate_seconds;   /* spent computing it (not from the cache) */
    int computing;             /* R* computations under way, one inside another */
    /* deeper 1-D ReLU students: the best explicit construction (construct) */
    bool constructed;
    double constructed_risk;   /* NaN when none applies */
    double *constructed_params; /* [n] */
    int last_source;           /* how the last cached scalar was computed */
    double variance;           /* Var g(X) by the risk's quadrature, NaN until needed */
    int variance_source;
};

sgdmc_min_risk *sgdmc_min_risk_alloc(const sgdmc_train_config *config, sgdmc_problem *problem,
                                     sgdmc_evaluator *evaluator, const sgdmc_arch *arch)
{
    sgdmc_min_risk *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->config = *config;
    sgdmc_options_key(&sgdmc_train_options, &m->config, SGDMC_DEFINES_PROBLEM, m->problem_key,
                      sizeof m->problem_key);
    m->problem = problem;
    m->evaluator = evaluator;
    m->arch = *arch;
    m->n = sgdmc_arch_param_count(arch);
    m->variance = NAN;
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
    free(m->constructed_params);
    for (int i = 0; i < m->minimizer_count; i++)
        sgdmc_pwl_free(&m->minimizers[i]);
    free(m);
}

void sgdmc_min_risk_set_cache(sgdmc_min_risk *m, sgdmc_rstar_cache *cache) { m->cache = cache; }

void sgdmc_min_risk_set_cancel(sgdmc_min_risk *m, const sgdmc_cancel *cancel)
{
    m->cancel = cancel;
}

bool sgdmc_min_risk_cancelled(const sgdmc_min_risk *m) { return m->cancelled; }

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

/* Around every computation of a cached result: the outermost one's time is
 * told to the cache (sgdmc_rstar_cache_spent), where a study reads what R*
 * cost a rank. */
static double begin_computing(sgdmc_min_risk *m)
{
    return m->computing++ ? 0.0 : sgdmc_now_seconds();
}

static void end_computing(sgdmc_min_risk *m, double began)
{
    if (--m->computing == 0 && m->cache)
        sgdmc_rstar_cache_spent(m->cache, sgdmc_now_seconds() - began);
}

/* R*(k) of one-layer students of width k and a network realizing it
 * (params [3k + 1], rstar.h), from the cache or computed (and cached). A
 * cancelled solve returns -1 with m->cancelled set, and is never cached. */
static int one_layer_rstar(sgdmc_min_risk *m, int k, double *rstar, double *params)
{
    char key[KEY_LEN + 32], err[512];
    snprintf(key, sizeof key, "%s | one layer %d", m->problem_key, k);
    const size_t count = 3 * (size_t)k + 1;
    if (sgdmc_rstar_cache_get(m->cache, key, rstar, params, count))
        return 0;
    const double began = begin_computing(m);
    int status = 0;
    if (m->config.target == SGDMC_TARGET_SQUARE) /* not the solver's 0.2 s at width 8 */
        sgdmc_rstar_square_network(k, rstar, params);
    else
        status = sgdmc_rstar_1d_network(m->problem, &m->config, k, rstar, NULL, params, NULL,
                                        m->cancel, err, sizeof err);
    end_computing(m, began);
    m->cancelled |= status == SGDMC_CANCELLED;
    if (status)
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
 * layer is the one-layer network's. So the proven minimizer of R*(w)
 * (rstar.h), embedded, is a network of the architecture; its risk bounds R*
 * from above, often far better than BFGS reaches on ReLU kinks. Writes it to
 * p [n]; 0, or -1 when the one-layer solver fails. */
static int embed_one_layer(sgdmc_min_risk *m, double *p)
{
    const sgdmc_arch *a = &m->arch;
    int w = a->widths[1];
    for (int k = 2; k <= a->depth; k++)
        w = a->widths[k] < w ? a->widths[k] : w;
    double *shallow = malloc(sizeof(double) * (3 * (size_t)w + 1));
    double rstar;
    if (!shallow || one_layer_rstar(m, w, &rstar, shallow)) {
        free(shallow);
        return -1;
    }
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
    return 0;
}

/* x^2 on [0,1] by Yarotsky's sawtooth (arXiv 1610.01145): with the hat
 * g(y) = 2 relu(y) - 4 relu(y - 1/2) and g_s its s-fold composition,
 * S_L = x - sum_{s<=L} g_s / 4^s interpolates x^2 at the 2^L + 1 points
 * k / 2^L. Hidden layer k holds relu(g_{k-1}), relu(g_{k-1} - 1/2) and
 * relu(S_{k-1}) = S_{k-1} >= x^2 >= 0 (g_0 = S_0 = x); the output is S_L
 * less h^2/6, h = 2^-L, which turns the interpolant into the best fit with
 * 2^L equal pieces: risk 1/(180 16^L). Needs width >= 3 in every layer and
 * no skips. Writes it to p [n]; -1 when the architecture cannot hold it. */
static int yarotsky_square(sgdmc_min_risk *m, double *p)
{
    const sgdmc_arch *a = &m->arch;
    if (m->config.target != SGDMC_TARGET_SQUARE || a->skip)
        return -1;
    for (int k = 1; k <= a->depth; k++)
        if (a->widths[k] < 3)
            return -1;
    memset(p, 0, sizeof(double) * m->n);
    double *w1 = p + sgdmc_arch_weight_offset(a, 1), *b1 = p + sgdmc_arch_bias_offset(a, 1);
    w1[0] = w1[1] = w1[2] = 1.0; /* relu(x), relu(x - 1/2), relu(x) */
    b1[1] = -0.5;
    double scale = 0.25; /* 1 / 4^s for the g_s that the next layer forms */
    for (int k = 2; k <= a->depth + 1; k++, scale *= 0.25) {
        const int fan_in = a->widths[k - 1];
        double *w = p + sgdmc_arch_weight_offset(a, k), *b = p + sgdmc_arch_bias_offset(a, k);
        /* g_{k-1} = 2 u - 4 v, S_{k-1} = c - g_{k-1} / 4^(k-1) from the layer below */
        const double g[3] = {2.0, -4.0, 0.0}, carry[3] = {-2.0 * scale, 4.0 * scale, 1.0};
        if (k == a->depth + 1) { /* the output: S_L - h^2 / 6 */
            for (int i = 0; i < 3; i++)
                w[i] = carry[i];
            b[0] = -scale / 6.0;
            break;
        }
        for (int i = 0; i < 3; i++) {
            w[0 * fan_in + i] = g[i];
            w[1 * fan_in + i] = g[i];
            w[2 * fan_in + i] = carry[i];
        }
        b[1] = -0.5;
    }
    return 0;
}

/* The explicit constructions for a deeper 1-D ReLU network (the embedded
 * one-layer minimizer; Yarotsky's for x^2), the best kept with its risk by
 * the evaluator. Returns -1 when out of memory; NaN risk when none applies. */
static int construct(sgdmc_min_risk *m)
{
    if (m->constructed)
        return 0;
    m->constructed = true; /* undone below when cancelled */
    m->constructed_risk = NAN;
    if (m->arch.depth < 2 || m->arch.widths[0] != 1 || !sgdmc_rstar_supported(&m->config))
        return 0;
    int w = m->arch.widths[1];
    for (int k = 2; k <= m->arch.depth; k++)
        w = m->arch.widths[k] < w ? m->arch.widths[k] : w;
    m->constructed_params = malloc(sizeof(double) * m->n);
    double *candidate = malloc(sizeof(double) * m->n);
    if (!m->constructed_params || !candidate) {
        free(candidate);
        return -1;
    }
    int (*const constructions[])(sgdmc_min_risk *, double *) = {embed_one_layer,
                                                                yarotsky_square};
    for (size_t i = 0; i < sizeof constructions / sizeof *constructions; i++) {
        if ((constructions[i] == embed_one_layer && w > SGDMC_RSTAR_MAX_WIDTH) ||
            constructions[i](m, candidate))
            continue;
        bool cancelled;
        const double risk = sgdmc_evaluate_risk_cancellable(m->evaluator, candidate, NULL,
                                                            m->cancel, &cancelled);
        if (cancelled) {
            m->cancelled = true;
            break;
        }
        if (isfinite(risk) && !(risk >= m->constructed_risk)) {
            m->constructed_risk = risk;
            memcpy(m->constructed_params, candidate, sizeof(double) * m->n);
        }
    }
    free(candidate);
    m->constructed = !m->cancelled;
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
    const double began = sgdmc_now_seconds(), computing = begin_computing(m);
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
            status = sgdmc_count_dead(m->evaluator, start, dead, m->cancel);
            if (status == 0 && dead[0] == 0)
                break;
        }
    }
    if (status == 0)
        status = sgdmc_rstar_estimate(m->evaluator, m->n, starts, count,
                                      m->config.rstar_iterations,
                                      m->arch.activation == SGDMC_ACT_RELU, m->cancel,
                                      m->estimate_params, &m->estimate);
    if (status == SGDMC_CANCELLED) {
        m->cancelled = true;
        status = 0; /* not estimated, not cached: asked again next time */
    }
    if (rng)
        gsl_rng_free(rng);
    free(starts);
    if (status == 0 && !m->cancelled && m->cache) {
        m->estimate_params[m->n] = m->estimate.hits;
        m->estimate_params[m->n + 1] = m->estimate.starts;
        status = sgdmc_rstar_cache_put(m->cache, key, m->estimate.rstar, m->estimate_params,
                                       m->n + 2);
    }
    m->estimated = status == 0 && !m->cancelled;
    m->estimate_seconds += sgdmc_now_seconds() - began;
    end_computing(m, computing);
    return status;
}

double sgdmc_min_risk_estimate_seconds(const sgdmc_min_risk *m) { return m->estimate_seconds; }

int sgdmc_min_risk_value(sgdmc_min_risk *m, double *rstar, sgdmc_min_risk_source *source)
{
    const sgdmc_train_config *c = &m->config;
    m->cancelled = false;
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
    if (m->cancelled)
        return SGDMC_CANCELLED;
    if (isnan(*rstar)) {
        if (construct(m))
            return -1;
        if (m->cancelled)
            return SGDMC_CANCELLED;
        *rstar = m->constructed_risk;
        if (!isnan(*rstar))
            *source = SGDMC_MIN_RISK_CONSTRUCTED;
    }
    if ((isnan(*rstar) || *source == SGDMC_MIN_RISK_CONSTRUCTED) && c->rstar_starts > 0) {
        if (estimate_rstar(m))
            return -1;
        if (m->cancelled)
            return SGDMC_CANCELLED;
        if (m->estimate.rstar < *rstar || isnan(*rstar)) {
            *rstar = m->estimate.rstar;
            *source = isnan(*rstar) ? SGDMC_MIN_RISK_UNKNOWN : SGDMC_MIN_RISK_ESTIMATED;
        }
    }
    return 0;
}

/* The L2 distance from the network to the nearest of the one-layer solver's
 * minimizers; NaN when any distance is (fmax(NaN, 0) would say 0). */
static double distance_to_minimizers(const sgdmc_min_risk *m, const double *params)
{
    double best = NAN;
    for (int i = 0; i < m->minimizer_count; i++) {
        const double d2 = sgdmc_pwl_network_distance2(&m->minimizers[i], &m->arch, params);
        if (isnan(d2))
            return NAN;
        if (isnan(best) || d2 < best * best)
            best = sqrt(fmax(d2, 0.0));
    }
    return best;
}

double sgdmc_min_risk_distance(sgdmc_min_risk *m, const double *params, double risk,
                               double rstar, sgdmc_min_risk_source source)
{
    const sgdmc_train_config *c = &m->config;
    if (source == SGDMC_MIN_RISK_COMPUTED)
        return distance_to_minimizers(m, params);
    if (source == SGDMC_MIN_RISK_ESTIMATED || source == SGDMC_MIN_RISK_CONSTRUCTED) {
        /* on the pieces of both networks: minutes for wide deep ones */
        const double distance = sgdmc_evaluate_distance(
            m->evaluator, params,
            source == SGDMC_MIN_RISK_ESTIMATED ? m->estimate_params : m->constructed_params,
            m->cancel);
        m->cancelled |= isnan(distance) && sgdmc_cancel_requested(m->cancel);
        return distance;
    }
    /* R* = 0 under plain mse: the target itself is the minimizer's function */
    return rstar == 0.0 && c->loss == SGDMC_LOSS_MSE && c->l2 == 0.0 && risk >= 0.0 ? sqrt(risk)
                                                                                  : NAN;
}

/* A cached scalar of the problem: key suffix `what`, or computed by f. */
static double cached(sgdmc_min_risk *m, const char *what, double (*f)(sgdmc_min_risk *, long),
                     long argument, int *source)
{
    char key[KEY_LEN + 64];
    snprintf(key, sizeof key, "%s | %s %ld", m->problem_key, what, argument);
    double stored[1];
    double value;
    if (sgdmc_rstar_cache_get(m->cache, key, &value, stored, 1)) {
        *source = (int)stored[0];
        return value;
    }
    m->last_source = 0;
    const double began = begin_computing(m);
    value = f(m, argument);
    end_computing(m, began);
    *source = m->last_source;
    stored[0] = m->last_source;
    if (m->cache && !isnan(value) && sgdmc_rstar_cache_put(m->cache, key, value, stored, 1))
        return NAN;
    return value;
}

/* The proven bound of `argument`: at depth 1 the one-layer bound of that many
 * live neurons, deeper the piece bound of that many pieces. */
static double proven_bound(sgdmc_min_risk *m, long argument)
{
    sgdmc_lower_source source;
    const double bound =
        m->arch.depth == 1
            ? sgdmc_one_layer_lower_bound(m->problem, &m->config, argument, m->cancel, &source)
            : sgdmc_pieces_lower_bound(m->problem, &m->config, argument, m->cancel, &source);
    m->last_source = (int)source;
    m->cancelled |= isnan(bound) && sgdmc_cancel_requested(m->cancel);
    return bound;
}

/* The proven lower bound of the risk of the architecture with dead[k - 1]
 * neurons of layer k dead (dead may be NULL): at depth 1 the one-layer bound
 * (tighter for x^2), deeper the piece bound. */
static double architecture_bound(sgdmc_min_risk *m, const int *dead, int *source)
{
    if (m->arch.depth == 1) {
        const long live = m->arch.widths[1] - (dead && dead[0] > 0 ? dead[0] : 0);
        return cached(m, "one-layer bound", proven_bound, live > 0 ? live : 0, source);
    }
    return cached(m, "pieces", proven_bound, sgdmc_arch_pieces(&m->arch, dead), source);
}

/* Var g(X) = min_c E (c - g(X))^2 by the risk's quadrature: E g from the risks
 * of the constants 0 and 1 (their difference is 1 - 2 E g), then the risk of
 * c = E g, lowered by a relative 1e-12 for the rounding of E g (the risk of
 * any constant is >= Var g, so a rounded c errs upwards). */
static double constant_floor(sgdmc_min_risk *m, long unused)
{
    (void)unused;
    m->last_source = SGDMC_LOWER_VARIANCE;
    if (m->config.loss != SGDMC_LOSS_MSE) {
        m->last_source = SGDMC_LOWER_ZERO;
        return 0.0;
    }
    double *params = calloc(m->n, sizeof *params);
    if (!params)
        return NAN;
    const size_t bias = sgdmc_arch_bias_offset(&m->arch, m->arch.depth + 1);
    const double at_zero = sgdmc_evaluate_risk(m->evaluator, params, NULL);
    params[bias] = 1.0;
    const double at_one = sgdmc_evaluate_risk(m->evaluator, params, NULL);
    params[bias] = 0.5 * (1.0 - (at_one - at_zero));
    const double variance = sgdmc_evaluate_risk(m->evaluator, params, NULL);
    free(params);
    return variance > 0 ? variance * (1.0 - 1e-12) : 0.0;
}

/* How far (relative) a run's final risk must lie below a given --min_risk to
 * refute it. Where the risk is exact its rounding is far below this, so a run
 * that reached the given R* itself refutes nothing. It is smaller than
 * SGDMC_RISK_ROUNDING on purpose: a refutation errs on the safe side (where
 * the risk is a quadrature, a wrong one only costs the user's word: the run
 * is judged on what sgdmc proves), so it is not held back by the verdicts'
 * allowance. */
static const double GIVEN_RSTAR_REFUTED_BELOW = 1e-12;

int sgdmc_min_risk_lower(sgdmc_min_risk *m, sgdmc_min_risk_source source, double hi,
                         double final_risk, double *lo, sgdmc_lower_source *lo_source)
{
    /* final_risk is the risk of a network of the architecture, so R* <= it:
     * below the given R* it refutes that value as R* (hi stays an upper
     * bound) */
    const bool refuted = source == SGDMC_MIN_RISK_GIVEN &&
                         final_risk < hi * (1.0 - GIVEN_RSTAR_REFUTED_BELOW);
    if (source == SGDMC_MIN_RISK_EXACT || (source == SGDMC_MIN_RISK_GIVEN && !refuted)) {
        *lo = hi;
        *lo_source = source == SGDMC_MIN_RISK_EXACT ? SGDMC_LOWER_EXACT : SGDMC_LOWER_GIVEN;
        return 0;
    }
    const int status = sgdmc_min_risk_proven_lower(m, lo, lo_source);
    if (status)
        return status;
    /* where lo is R* in closed form and hi the computed risk of a minimizer,
     * hi's quadrature may round below lo; both bound R* then, so keep the
     * bracket ordered */
    if (*lo > hi)
        *lo = hi;
    return 0;
}

int sgdmc_min_risk_proven_lower(sgdmc_min_risk *m, double *lo, sgdmc_lower_source *lo_source)
{
    int src;
    *lo = architecture_bound(m, NULL, &src);
    *lo_source = (sgdmc_lower_source)src;
    return m->cancelled ? SGDMC_CANCELLED : isnan(*lo) ? -1 : 0;
}

double sgdmc_min_risk_reachable(sgdmc_min_risk *m, const int *dead, bool constant,
                                sgdmc_lower_source *source)
{
    if (constant) { /* three risk evaluations, once per policy */
        if (isnan(m->variance)) {
            m->variance = constant_floor(m, 0);
            m->variance_source = m->last_source;
        }
        *source = (sgdmc_lower_source)m->variance_source;
        return m->variance;
    }
    int src;
    const double bound = architecture_bound(m, dead, &src);
    *source = (sgdmc_lower_source)src;
    return bound;
}

