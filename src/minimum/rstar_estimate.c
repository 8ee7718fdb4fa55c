/* Multi-start full-batch estimate of the global-minimum risk: BFGS, and for
 * ReLU networks also Adam then BFGS, from every start. */
#include "sgdmc/minimum/rstar_estimate.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sgdmc_evaluator *evaluator;
    size_t n;
} objective;

static double risk_of(const gsl_vector *x, void *context)
{
    objective *o = context;
    const double risk = sgdmc_evaluate_risk(o->evaluator, x->data, NULL);
    /* BFGS's line search treats an infinite value as "step too long" */
    return isfinite(risk) ? risk : INFINITY;
}

static void risk_and_gradient(const gsl_vector *x, void *context, double *risk, gsl_vector *grad)
{
    objective *o = context;
    *risk = sgdmc_evaluate_risk(o->evaluator, x->data, grad->data);
    if (!isfinite(*risk)) {
        *risk = INFINITY;
        gsl_vector_set_zero(grad);
    }
}

static void gradient_of(const gsl_vector *x, void *context, gsl_vector *grad)
{
    double risk;
    risk_and_gradient(x, context, &risk, grad);
}

/* Full-batch Adam on the exact risk from x, `iterations` steps with a step
 * size decaying geometrically from 0.1 to 1e-3, x left at the lowest risk
 * seen. Adam's per-coordinate steps move through the ReLU kinks where
 * BFGS's line searches stall; BFGS then polishes its end point. Returns that
 * risk, NaN when no finite risk was seen or on cancellation. */
static double descend(objective *o, gsl_vector *x, int iterations, const sgdmc_cancel *cancel,
                      bool *cancelled)
{
    const size_t n = o->n;
    double *work = calloc(4 * n, sizeof *work);
    if (!work)
        return NAN;
    double *grad = work, *m = work + n, *v = work + 2 * n, *best_x = work + 3 * n;
    double best = NAN, beta1_power = 1.0, beta2_power = 1.0;
    memcpy(best_x, x->data, n * sizeof *best_x);
    for (int k = 0; k <= iterations; k++) {
        if (sgdmc_cancel_requested(cancel)) {
            *cancelled = true;
            best = NAN;
            break;
        }
        const double risk = sgdmc_evaluate_risk(o->evaluator, x->data, grad);
        if (!isfinite(risk))
            break;
        if (isnan(best) || risk < best) {
            best = risk;
            memcpy(best_x, x->data, n * sizeof *best_x);
        }
        if (k == iterations)
            break;
        const double lr = 1e-1 * pow(1e-2, (double)k / iterations);
        beta1_power *= 0.9;
        beta2_power *= 0.999;
        for (size_t i = 0; i < n; i++) {
            m[i] = 0.9 * m[i] + 0.1 * grad[i];
            v[i] = 0.999 * v[i] + 0.001 * grad[i] * grad[i];
            x->data[i] -= lr * (m[i] / (1.0 - beta1_power)) /
                          (sqrt(v[i] / (1.0 - beta2_power)) + 1e-12);
        }
    }
    memcpy(x->data, best_x, n * sizeof *best_x);
    free(work);
    return best;
}

/* Minimizes from x (overwritten with the end point); returns its risk. */
static double minimize(gsl_multimin_fdfminimizer *min, gsl_multimin_function_fdf *fdf,
                       gsl_vector *x, int iterations, const sgdmc_cancel *cancel,
                       bool *cancelled)
{
    int stalls = 0;
    double best = risk_of(x, fdf->params);
    if (!isfinite(best))
        return NAN;
    /* a stalled line search restarts BFGS from the point it reached, which
     * forgets the curvature model that a kink has spoiled */
    for (int used = 0; used < iterations && stalls < 3;) {
        gsl_multimin_fdfminimizer_set(min, fdf, x, 0.01 * (1.0 + gsl_blas_dnrm2(x)), 0.1);
        int status = GSL_CONTINUE;
        for (; used < iterations && status == GSL_CONTINUE; used++) {
            /* an iteration costs a few full-batch risks: ask every time */
            if (sgdmc_cancel_requested(cancel)) {
                *cancelled = true;
                return NAN;
            }
            if (gsl_multimin_fdfminimizer_iterate(min) != GSL_SUCCESS) {
                status = GSL_ENOPROG;
                break;
            }
            const double f = gsl_multimin_fdfminimizer_minimum(min);
            status = gsl_multimin_test_gradient(min->gradient, 1e-10 * (1.0 + fabs(f)));
        }
        const double f = gsl_multimin_fdfminimizer_minimum(min);
        if (f < best) {
            gsl_vector_memcpy(x, gsl_multimin_fdfminimizer_x(min));
            stalls = f < best - 1e-12 * (1.0 + fabs(best)) ? 0 : stalls + 1;
            best = f;
        } else {
            stalls++;
        }
        if (status == GSL_SUCCESS)
            break;
    }
    return best;
}

/* Keeps x as the best end point when `risk` is the lowest so far. */
static void keep_if_best(double risk, const gsl_vector *x, double *best_params,
                         sgdmc_rstar_estimate_result *result)
{
    if (!isnan(risk) && (isnan(result->rstar) || risk < result->rstar)) {
        result->rstar = risk;
        memcpy(best_params, x->data, sizeof(double) * x->size);
    }
}

int sgdmc_rstar_estimate(sgdmc_evaluator *evaluator, size_t n, const double *starts,
                         int start_count, int iterations, bool kinks, const sgdmc_cancel *cancel,
                         double *best_params, sgdmc_rstar_estimate_result *result)
{
    result->rstar = NAN;
    result->hits = 0;
    result->starts = start_count;
    objective o = {evaluator, n};
    gsl_multimin_function_fdf fdf = {
        .f = risk_of, .df = gradient_of, .fdf = risk_and_gradient, .n = n, .params = &o};
    gsl_multimin_fdfminimizer *min =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, n);
    gsl_vector *x = gsl_vector_alloc(n);
    double *ends = malloc(sizeof(double) * (size_t)(start_count > 0 ? start_count : 1));
    if (!min || !x || !ends) {
        if (min)
            gsl_multimin_fdfminimizer_free(min);
        if (x)
            gsl_vector_free(x);
        free(ends);
        return -1;
    }
    /* GSL's default handler aborts; a failed line search is a result here */
    gsl_error_handler_t *previous = gsl_set_error_handler_off();
    bool cancelled = false;
    for (int i = 0; i < start_count && !cancelled; i++) {
        memcpy(x->data, starts + (size_t)i * n, sizeof(double) * n);
        ends[i] = minimize(min, &fdf, x, iterations, cancel, &cancelled);
        keep_if_best(ends[i], x, best_params, result);
        if (!kinks || cancelled)
            continue;
        memcpy(x->data, starts + (size_t)i * n, sizeof(double) * n);
        const double descended = descend(&o, x, iterations, cancel, &cancelled);
        const double polished = cancelled || isnan(descended)
                      ? NAN
                      : minimize(min, &fdf, x, iterations, cancel, &cancelled);
        keep_if_best(polished, x, best_params, result);
        if (!isnan(polished) && !(polished >= ends[i]))
            ends[i] = polished;
    }
    gsl_set_error_handler(previous);
    if (cancelled) {
        free(ends);
        gsl_vector_free(x);
        gsl_multimin_fdfminimizer_free(min);
        result->rstar = NAN;
        return SGDMC_CANCELLED;
    }
    for (int i = 0; i < start_count; i++)
        result->hits += ends[i] <= result->rstar + 1e-6 * (1.0 + fabs(result->rstar));
    free(ends);
    gsl_vector_free(x);
    gsl_multimin_fdfminimizer_free(min);
    return 0;
}
