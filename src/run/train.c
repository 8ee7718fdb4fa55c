/* The training loop of one run and its measurements. */
#include "sgdmc/run/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/base/clock.h"
#include "sgdmc/core/evaluate.h"
#include "sgdmc/core/gram.h"
#include "sgdmc/core/init.h"
#include "sgdmc/core/lanes.h"
#include "sgdmc/core/loss.h"
#include "sgdmc/minimum/certificate.h"
#include "sgdmc/minimum/min_risk.h"
#include "sgdmc/core/optim.h"
#include "sgdmc/core/problem.h"
#include "sgdmc/base/rng.h"

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
    sgdmc_min_risk *min_risk; /* R*, its bracket, the minimizers */
    sgdmc_permanence permanence; /* which dead neurons stay dead (certificate.h) */
    int *frozen_init;      /* [hidden units] dead for ever from initialization */
    int *frozen_final;     /* [hidden units] ... from the end */
    int *scratch;          /* [hidden units] */
    sgdmc_cancel cancel;   /* asked every few steps and by every long computation */
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
    sgdmc_min_risk_free(t->min_risk);
    free(t->frozen_init);
    free(t->frozen_final);
    free(t->scratch);
    free(t->gram_x);
    free(t->gram_y);
    free(t);
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
    if (sgdmc_init_params(c, &t->arch, t->params, err, errlen))
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
    /* --min_risk is the user's word where sgdmc does not know R*; where it
     * does (0 by construction), a different word would turn the verdicts */
    const double exact = sgdmc_problem_min_risk(t->problem, &t->arch, c);
    if (!isnan(c->min_risk) && !isnan(exact)) {
        snprintf(err, errlen, "--min_risk: R* is known exactly here (%g); give --min_risk only "
                 "where sgdmc does not know it", exact);
        goto fail;
    }
    t->min_risk = sgdmc_min_risk_alloc(&t->config, t->problem, t->evaluator, &t->arch);
    if (t->min_risk)
        sgdmc_min_risk_set_cancel(t->min_risk, &t->cancel);
    const size_t units = (size_t)sgdmc_arch_hidden_units(&t->arch);
    t->frozen_init = malloc(units * sizeof *t->frozen_init);
    t->frozen_final = malloc(units * sizeof *t->frozen_final);
    t->scratch = malloc(units * sizeof *t->scratch);
    if (!t->min_risk || !t->frozen_init || !t->frozen_final || !t->scratch)
        goto oom;
    /* nor may it lie below what sgdmc proves: the verdicts would rest on a
     * value known to be false (certificates against a hi below R*) */
    if (!isnan(c->min_risk)) {
        double lo;
        sgdmc_lower_source lo_source;
        const int proven = sgdmc_min_risk_proven_lower(t->min_risk, &lo, &lo_source);
        if (proven == SGDMC_CANCELLED) {
            snprintf(err, errlen, "cancelled");
            goto fail;
        }
        if (proven)
            goto oom;
        if (c->min_risk < lo) {
            snprintf(err, errlen, "--min_risk: %.10g is below R*'s proven lower bound %.10g "
                     "(%s) for this network: it cannot be R*", c->min_risk, lo,
                     sgdmc_lower_source_names[lo_source]);
            goto fail;
        }
    }
    t->permanence = sgdmc_permanence_of(&t->config);
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

void sgdmc_trainer_restart(sgdmc_trainer *t, unsigned long seed)
{
    t->config.seed = seed;
    t->step = 0;
    sgdmc_optimizer_reset(t->optimizer);
    if (t->file_params) {
        sgdmc_rng_seed(t->sample_rng, seed, SGDMC_STREAM_SAMPLE);
        memcpy(t->params, t->file_params, t->n * sizeof *t->params);
        return;
    }
    /* sgdmc_init_params's draw, its stream seeded beside the sample stream's */
    sgdmc_mt_block init_block;
    gsl_rng init = sgdmc_rng_on(&init_block);
    sgdmc_rng_seed_two(t->sample_rng, SGDMC_STREAM_SAMPLE, &init, SGDMC_STREAM_INIT, seed);
    sgdmc_init_draw(&t->config, &t->arch, &init, t->params);
}

void sgdmc_trainer_set_rstar_cache(sgdmc_trainer *t, sgdmc_rstar_cache *cache)
{
    sgdmc_min_risk_set_cache(t->min_risk, cache);
}

void sgdmc_trainer_set_poll(sgdmc_trainer *t, sgdmc_poll_fn poll, void *context)
{
    t->cancel = (sgdmc_cancel){poll, context};
}

const sgdmc_arch *sgdmc_trainer_arch(const sgdmc_trainer *t) { return &t->arch; }

double sgdmc_trainer_rstar_estimate_seconds(const sgdmc_trainer *t)
{
    return sgdmc_min_risk_estimate_seconds(t->min_risk);
}

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

/* Dead neurons per hidden layer; -1 for smooth activations, whose neurons
 * never stop passing gradient. -1 when out of memory, SGDMC_CANCELLED when
 * the poll asked to stop. */
static int count_dead(sgdmc_trainer *t, int *dead)
{
    if (t->arch.activation == SGDMC_ACT_RELU)
        return sgdmc_count_dead(t->evaluator, t->params, dead, &t->cancel);
    for (int k = 0; k < t->arch.depth; k++)
        dead[k] = -1;
    return 0;
}

/* After count_dead: whether the network is constant on the domain now
 * (1, 0; -1 for smooth activations). */
static int constant_now(sgdmc_trainer *t)
{
    if (t->arch.activation != SGDMC_ACT_RELU)
        return -1;
    const int *alive = sgdmc_evaluator_alive(t->evaluator);
    const int units = sgdmc_arch_hidden_units(&t->arch);
    for (int u = 0; u < units; u++)
        t->scratch[u] = !alive[u];
    return sgdmc_network_is_constant(&t->arch, t->scratch);
}

/* After count_dead: the units dead for ever from now on (from the start at
 * initialization, from_end at the end), added to `frozen` (or set, at
 * initialization), and their count per layer. */
static void freeze(sgdmc_trainer *t, bool at_start, int *frozen, int *permanent)
{
    if (t->arch.activation != SGDMC_ACT_RELU) {
        for (int k = 0; k < t->arch.depth; k++)
            permanent[k] = 0;
        return;
    }
    const sgdmc_permanence p = t->permanence;
    const int units = sgdmc_arch_hidden_units(&t->arch);
    sgdmc_frozen_units(&t->arch, t->params, sgdmc_evaluator_alive(t->evaluator), p,
                       at_start ? p.from_start : p.from_end, t->scratch);
    for (int u = 0; u < units; u++)
        frozen[u] = at_start ? t->scratch[u] : (t->frozen_init[u] || t->scratch[u]);
    sgdmc_count_units(&t->arch, frozen, permanent);
}

/* The proven floor of every risk the run can still reach, from the units
 * dead for ever (`frozen`, per unit; `permanent`, their count per layer; NaN
 * when there are none). */
static double reachable_floor(sgdmc_trainer *t, const int *frozen, const int *permanent)
{
    bool any = false;
    for (int k = 0; k < t->arch.depth; k++)
        any |= permanent[k] > 0;
    if (!any)
        return NAN;
    sgdmc_lower_source source;
    return sgdmc_min_risk_reachable(t->min_risk, permanent,
                                    sgdmc_network_is_constant(&t->arch, frozen), &source);
}

/* Keeps the last three risks, newest last. */
static void remember(double *recent, double risk)
{
    recent[0] = recent[1];
    recent[1] = recent[2];
    recent[2] = risk;
}

/* Where the run ended (result.h): the verdict and the certificate, then, for
 * a run not converged for sure, stationary, descending or oscillating. */
static sgdmc_end_state end_state(const sgdmc_result *r, const double *recent)
{
    switch (r->status) {
    case SGDMC_STATUS_DIVERGED:
        return SGDMC_END_DIVERGED;
    case SGDMC_STATUS_CONVERGED:
        return SGDMC_END_CONVERGED;
    default:
        break;
    }
    if (r->certified_nonconvergent == 1)
        return SGDMC_END_CERTIFIED;
    if (r->status == SGDMC_STATUS_UNDECIDED)
        return SGDMC_END_UNDECIDED;
    if (SGDMC_IS_STATIONARY(r->grad_norm, r->grad_norm_init))
        return SGDMC_END_STATIONARY;
    const bool falling = recent[0] > recent[1] && recent[1] > recent[2];
    return falling ? SGDMC_END_DESCENDING : SGDMC_END_OSCILLATING;
}

static bool all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return false;
    return true;
}

/* A run between its start and its end: where it is among its checkpoints,
 * what it measured last. The single path and lanes (sgdmc_trainer_run_lanes)
 * go through the same four phases, so a run's row cannot depend on the path. */
typedef struct {
    double start;          /* wall clock */
    long first, last;      /* the trainer's step counter at the start and the end */
    long *checkpoints;     /* run-relative steps with an exact evaluation */
    long *traj_steps;      /* ... recorded in the trajectory */
    size_t n_check, n_traj, ci, ti;
    bool diverged;
    bool cancelled;        /* an evaluation was stopped by the poll: the run is abandoned */
    double risk, grad_norm;
    long evaluated_at;     /* trainer step of the last evaluation, -1: none */
    double recent[3];      /* the last three evaluated risks, newest last */
} run_progress;

static void run_progress_free(run_progress *p)
{
    free(p->checkpoints);
    free(p->traj_steps);
    p->checkpoints = p->traj_steps = NULL;
}

/* A run given up (out of memory, cancelled): nothing of it is left. */
static void run_discard(run_progress *p, sgdmc_result *r)
{
    run_progress_free(p);
    sgdmc_result_free(r);
}

/* Everything before the first step: the checkpoints, the dead neurons and
 * the permanence at initialization. -1 when out of memory, SGDMC_CANCELLED
 * when the poll asked to stop. */
static int run_begin(sgdmc_trainer *t, sgdmc_result *r, run_progress *p)
{
    const sgdmc_train_config *c = &t->config;
    memset(p, 0, sizeof *p);
    p->start = sgdmc_now_seconds();
    memset(r, 0, sizeof *r);
    r->depth = t->arch.depth;
    r->min_grad_norm = INFINITY;
    const int traj = c->trajectory;
    p->checkpoints = malloc(sizeof(long) * (size_t)(c->checkpoints + 2));
    p->traj_steps = malloc(sizeof(long) * (size_t)(traj + 1));
    r->trajectory_step = malloc(sizeof(long) * (size_t)(traj + 1));
    r->trajectory_risk = malloc(sizeof(double) * (size_t)(traj + 1));
    r->trajectory_grad_norm = malloc(sizeof(double) * (size_t)(traj + 1));
    if (!p->checkpoints || !p->traj_steps || !r->trajectory_step || !r->trajectory_risk ||
        !r->trajectory_grad_norm)
        return -1;
    p->first = t->step;
    p->last = p->first + c->steps;
    /* step 0 always: the gradient's scale for the stationarity test */
    p->n_check = log_spaced(c->steps, c->checkpoints, p->checkpoints);
    p->checkpoints[p->n_check++] = 0;
    p->n_check = unique_longs(p->checkpoints, p->n_check);
    p->n_traj =
        traj > 0 ? unique_longs(p->traj_steps, log_spaced(c->steps, traj, p->traj_steps)) : 0;
    const int counted = count_dead(t, r->dead_init);
    if (counted)
        return counted;
    r->constant_init = constant_now(t);
    freeze(t, true, t->frozen_init, r->dead_permanent_init);
    p->risk = p->grad_norm = NAN;
    p->evaluated_at = -1;
    p->recent[0] = p->recent[1] = p->recent[2] = NAN;
    r->grad_norm_init = NAN;
    return 0;
}

/* Whether run_visit has work at the trainer's current step: an evaluation,
 * or the end. Lanes copy a run's parameters out only then. */
static bool run_due(const sgdmc_trainer *t, const run_progress *p)
{
    const long k = t->step - p->first;
    return t->step == p->last || (p->ci < p->n_check && p->checkpoints[p->ci] == k) ||
           (p->ti < p->n_traj && p->traj_steps[p->ti] == k);
}

/* At the trainer's current step, before its update: the exact risk and
 * gradient at a checkpoint. True when the run ends here (diverged at a
 * checkpoint, or its last step). */
static bool run_visit(sgdmc_trainer *t, sgdmc_result *r, run_progress *p)
{
    const sgdmc_train_config *c = &t->config;
    const long k = t->step - p->first;
    const bool at_check = p->ci < p->n_check && p->checkpoints[p->ci] == k;
    const bool at_traj = p->ti < p->n_traj && p->traj_steps[p->ti] == k;
    if (at_check || at_traj) {
        p->risk = sgdmc_evaluate_risk_cancellable(t->evaluator, t->params, t->grad, &t->cancel,
                                                  &p->cancelled);
        if (p->cancelled)
            return true;
        p->grad_norm = sgdmc_norm2(t->grad, t->n);
        p->evaluated_at = t->step;
        p->ci += at_check;
        remember(p->recent, p->risk);
        if (k == 0)
            r->grad_norm_init = p->grad_norm;
        if (at_traj) {
            r->trajectory_step[p->ti] = k;
            r->trajectory_risk[p->ti] = p->risk;
            r->trajectory_grad_norm[p->ti] = p->grad_norm;
            p->ti++;
        }
        if (!isfinite(p->risk) || p->risk > c->blowup || !isfinite(p->grad_norm) ||
            !all_finite(t->params, t->n)) {
            p->diverged = true;
            return true;
        }
        if (p->grad_norm < r->min_grad_norm)
            r->min_grad_norm = p->grad_norm;
    }
    return t->step == p->last;
}

/* After a step with its mini-batch loss: true when the run blew up. */
static bool run_stepped(const sgdmc_trainer *t, run_progress *p, double loss)
{
    if (!isfinite(loss) || loss > t->config.blowup) {
        p->diverged = true;
        return true;
    }
    return false;
}

/* Everything after the last step: the final measures, R* and its bracket,
 * the verdict, the certificate, the end state. Frees p. */
static int run_end(sgdmc_trainer *t, sgdmc_result *r, run_progress *p)
{
    const sgdmc_train_config *c = &t->config;
    bool diverged = p->diverged;
    double risk = p->risk, grad_norm = p->grad_norm;
    double *recent = p->recent;
    r->steps = t->step - p->first;
    r->trajectory_count = (int)p->ti;
    if (p->evaluated_at != t->step) {
        bool cancelled;
        risk = sgdmc_evaluate_risk_cancellable(t->evaluator, t->params, t->grad, &t->cancel,
                                               &cancelled);
        if (cancelled)
            goto abandoned;
        grad_norm = sgdmc_norm2(t->grad, t->n);
        remember(recent, risk);
    }
    /* A run whose risk, gradient or parameters went non-finite has no end
     * point to measure: its final measures are NaN (null), never a number
     * computed from NaN. A run stopped at --blowup with everything finite
     * keeps them. min_grad_norm: the least over the checkpoints before. */
    const bool finite_end = isfinite(risk) && isfinite(grad_norm) && all_finite(t->params, t->n);
    diverged |= !finite_end || risk > c->blowup;
    if (!diverged && grad_norm < r->min_grad_norm)
        r->min_grad_norm = grad_norm;
    if (!isfinite(r->min_grad_norm))
        r->min_grad_norm = NAN;
    r->final_risk = finite_end ? risk : NAN;
    r->risk_exact = sgdmc_evaluator_risk_exact(t->evaluator);
    r->grad_norm = finite_end ? grad_norm : NAN;
    r->rtol = c->rtol;
    int status = sgdmc_min_risk_value(t->min_risk, &r->min_risk, &r->min_risk_source);
    if (status == 0)
        status = sgdmc_min_risk_lower(t->min_risk, r->min_risk_source, r->min_risk,
                                      r->final_risk, &r->min_risk_lo, &r->min_risk_lo_source);
    if (status == SGDMC_CANCELLED)
        goto abandoned;
    if (status)
        goto oom;
    r->tol = sgdmc_train_config_tol(c, r->min_risk);
    r->risk_gap = r->final_risk - r->min_risk;
    r->dist_to_min = finite_end ? sgdmc_min_risk_distance(t->min_risk, t->params, risk,
                                                          r->min_risk, r->min_risk_source)
                                : NAN;
    r->gram_min_eig = r->gram_max_eig = r->gram_risk = r->gram_grad_norm = NAN;
    r->gram_eig_ratio = NAN;
    sgdmc_gram_measures gram;
    const int gram_status =
        t->gram && !diverged
            ? sgdmc_gram_measure(t->gram, t->params, t->gram_x, t->gram_y, &t->cancel, &gram)
            : -1;
    if (gram_status == SGDMC_CANCELLED)
        goto abandoned;
    if (gram_status == 0) {
        r->gram_min_eig = gram.min_eig;
        r->gram_max_eig = gram.max_eig;
        r->gram_risk = gram.risk;
        r->gram_grad_norm = gram.grad_norm;
        r->gram_eig_ratio = gram.max_eig > 0 ? gram.min_eig / gram.max_eig : NAN;
    }
    r->reachable_lo = NAN;
    if (diverged) {
        r->status = SGDMC_STATUS_DIVERGED;
        r->constant_final = -1;
        for (int k = 0; k < r->depth; k++)
            r->dead_final[k] = r->dead_permanent_final[k] = -1;
        /* No end point to inspect, but what was frozen at initialization
         * stayed frozen whatever the other parameters did, so it still
         * bounds every risk the run reached or could reach: the certificate
         * of a diverged run uses that structure only. */
        r->reachable_lo = reachable_floor(t, t->frozen_init, r->dead_permanent_init);
    } else {
        r->status = sgdmc_result_verdict(risk, r->min_risk_lo, r->min_risk, r->tol, c->rtol);
        const int counted = count_dead(t, r->dead_final);
        if (counted == SGDMC_CANCELLED)
            goto abandoned;
        if (counted)
            goto oom;
        r->constant_final = constant_now(t);
        freeze(t, false, t->frozen_final, r->dead_permanent_final);
        r->reachable_lo = reachable_floor(t, t->frozen_final, r->dead_permanent_final);
    }
    if (sgdmc_min_risk_cancelled(t->min_risk))
        goto abandoned;
    /* for a diverged run, reachable_lo comes from the structure frozen since initialization */
    r->certified_nonconvergent =
        sgdmc_result_certificate(r->reachable_lo, r->min_risk, r->tol, r->rtol);
    r->risk_drop = (recent[0] - recent[2]) / recent[0];
    if (!isfinite(r->risk_drop))
        r->risk_drop = NAN;
    r->kinks_final = -1;
    r->critical_family = SGDMC_FAMILY_NONE;
    if (!diverged && t->arch.activation == SGDMC_ACT_RELU) {
        bool flat = false, cancelled;
        const int kinks =
            sgdmc_count_kinks(t->evaluator, t->params, &flat, &t->cancel, &cancelled);
        if (cancelled)
            goto abandoned;
        r->kinks_final = kinks;
        if (kinks == 0)
            r->critical_family = flat ? SGDMC_FAMILY_CONSTANT : SGDMC_FAMILY_AFFINE;
    }
    r->end_state = end_state(r, recent);
    const double dead_one = sgdmc_dead_at_init_probability(c, t->arch.widths[0]);
    r->dead_init_probability = 1.0 - pow(1.0 - dead_one, t->arch.widths[1]);
    r->seconds = sgdmc_now_seconds() - p->start;
    run_progress_free(p);
    return 0;
abandoned:
    run_discard(p, r);
    return SGDMC_RUN_ABANDONED;
oom:
    run_discard(p, r);
    return -1;
}

/* The steps between two polls of the cancel, less one (a power of two less
 * one): as many steps as make about 2^20 parameter-samples of work, from 1
 * to 256. A poll reads the clock once or more (the claim, the progress, the
 * master's serving): every 16 steps, as it was, that was 3 % of a width-1
 * study, whose step in lanes takes 0.2 us; every step of a wide network
 * takes long enough for a poll to be lost in it. Either way a poll comes
 * within about a millisecond of work, far inside a study's two seconds. */
static long poll_mask(const sgdmc_trainer *t, int runs)
{
    const double work = (double)t->n * (double)t->batch * runs;
    long steps = 1;
    while (steps < 256 && (double)(2 * steps) * work <= 1048576.0)
        steps *= 2;
    return steps - 1;
}

int sgdmc_trainer_run(sgdmc_trainer *t, sgdmc_result *r)
{
    run_progress p;
    const int begun = run_begin(t, r, &p);
    if (begun) {
        run_discard(&p, r);
        return begun == SGDMC_CANCELLED ? SGDMC_RUN_ABANDONED : -1;
    }
    const long polled = poll_mask(t, 1);
    while (!run_visit(t, r, &p)) {
        if (((t->step - p.first) & polled) == 0 && sgdmc_cancel_requested(&t->cancel)) {
            run_discard(&p, r);
            return SGDMC_RUN_ABANDONED;
        }
        if (run_stepped(t, &p, sgdmc_trainer_step(t)))
            break;
    }
    if (p.cancelled) {
        run_discard(&p, r);
        return SGDMC_RUN_ABANDONED;
    }
    return run_end(t, r, &p);
}

sgdmc_lanes *sgdmc_trainer_lanes_alloc(const sgdmc_trainer *t)
{
    return sgdmc_lanes_alloc(&t->config, &t->arch, t->batch);
}

/* A lane's run stops: it is no longer running, and its sample stream goes
 * back to its trainer when the lanes drew it, as one run at a time leaves it. */
static void stop_lane(const sgdmc_lanes *lanes, int lane, sgdmc_trainer *t, bool laned_sampling,
                      bool *running)
{
    running[lane] = false;
    if (laned_sampling)
        sgdmc_lanes_store_stream(lanes, lane, sgdmc_mt_block_of(t->sample_rng));
}

int sgdmc_trainer_run_lanes(sgdmc_trainer *const *trainers, int count, sgdmc_lanes *lanes,
                            sgdmc_result *results)
{
    run_progress p[SGDMC_LANES];
    double begun[SGDMC_LANES]; /* seconds each lane's run_begin took */
    bool running[SGDMC_LANES] = {false};
    bool held[SGDMC_LANES] = {false}; /* p[l] and results[l] are ours to free on failure */
    int status = 0;
    for (int l = 0; l < count; l++) {
        held[l] = true;
        const int started = run_begin(trainers[l], &results[l], &p[l]);
        if (started) {
            status = started == SGDMC_CANCELLED ? SGDMC_RUN_ABANDONED : -1;
            goto discard;
        }
        begun[l] = sgdmc_now_seconds() - p[l].start;
        running[l] = true;
    }
    const double group_start = sgdmc_now_seconds();
    sgdmc_lanes_restart(lanes);
    /* a padded group's spare lanes train a copy of lane 0, and nobody looks */
    for (int l = 0; l < SGDMC_LANES; l++)
        sgdmc_lanes_load(lanes, l, trainers[l < count ? l : 0]->params);
    sgdmc_trainer *const lead = trainers[0];
    const bool whole_data = lead->config.batch_size == 0; /* laid out once, every step's batch */
    if (whole_data)
        for (int l = 0; l < count; l++)
            sgdmc_lanes_set_batch(lanes, l, sgdmc_workspace_input(trainers[l]->ws),
                                  trainers[l]->y);
    /* every lane's batch drawn at once, when a batch is uniform words of the lane's stream */
    bool laned_sampling = !whole_data && sgdmc_problem_uniform_words(lead->problem);
    for (int l = 0; l < SGDMC_LANES && laned_sampling; l++) {
        const sgdmc_mt_block *stream = sgdmc_mt_block_of(trainers[l < count ? l : 0]->sample_rng);
        laned_sampling = stream && sgdmc_lanes_load_stream(lanes, l, stream);
    }
    const long polled = poll_mask(lead, SGDMC_LANES);
    for (long k = 0;; k++) {
        sgdmc_trainer *stepping = NULL; /* any running lane: they are all at step k */
        for (int l = 0; l < count; l++) {
            sgdmc_trainer *t = trainers[l];
            if (!running[l])
                continue;
            if (run_due(t, &p[l])) {
                sgdmc_lanes_store(lanes, l, t->params);
                if (run_visit(t, &results[l], &p[l])) {
                    if (p[l].cancelled) {
                        status = SGDMC_RUN_ABANDONED;
                        goto discard;
                    }
                    stop_lane(lanes, l, t, laned_sampling, running);
                    continue;
                }
            }
            stepping = t;
        }
        if (!stepping)
            break;
        if ((k & polled) == 0 && sgdmc_cancel_requested(&lead->cancel)) {
            status = SGDMC_RUN_ABANDONED;
            goto discard;
        }
        if (laned_sampling)
            sgdmc_lanes_draw_batch(lanes, lead->problem);
        for (int l = 0; l < count && !whole_data && !laned_sampling; l++) {
            sgdmc_trainer *t = trainers[l];
            if (!running[l])
                continue;
            double *x = sgdmc_workspace_input(t->ws);
            sgdmc_problem_sample(t->problem, t->sample_rng, t->batch, x, t->y);
            sgdmc_lanes_set_batch(lanes, l, x, t->y);
        }
        double loss[SGDMC_LANES];
        sgdmc_lanes_step(lanes, sgdmc_train_config_lr(&stepping->config, stepping->step), loss);
        for (int l = 0; l < count; l++) {
            sgdmc_trainer *t = trainers[l];
            if (!running[l])
                continue;
            t->step++;
            if (run_stepped(t, &p[l], loss[l])) { /* frozen here, as a single run stops */
                sgdmc_lanes_store(lanes, l, t->params);
                stop_lane(lanes, l, t, laned_sampling, running);
            }
        }
    }
    /* A lane's seconds: its own begin and end, and the group's training time
     * shared out by steps, the work each lane had done; not the whole group's. */
    const double trained = sgdmc_now_seconds() - group_start;
    long group_steps = 0;
    for (int l = 0; l < count; l++)
        group_steps += trainers[l]->step - p[l].first;
    for (int l = 0; l < count; l++) {
        const long steps = trainers[l]->step - p[l].first;
        const double share = group_steps > 0 ? trained * (double)steps / (double)group_steps
                                             : trained / count;
        p[l].start = sgdmc_now_seconds() - begun[l] - share; /* run_end adds its own time */
        held[l] = false; /* run_end frees p[l], and results[l] when it fails */
        status = run_end(trainers[l], &results[l], &p[l]);
        if (status) {
            for (int done = 0; done < l; done++)
                sgdmc_result_free(&results[done]);
            goto discard;
        }
    }
    return 0;
discard:
    for (int l = 0; l < count; l++)
        if (held[l])
            run_discard(&p[l], &results[l]);
    return status;
}
