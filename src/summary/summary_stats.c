/* The statistics of `sgdmc summarize`. */
#include "sgdmc/summary/summary_stats.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

/* ---- the Clopper-Pearson interval ----
 *
 * GSL's beta quantiles (gsl_cdf_beta_Pinv) fail for study-sized counts: for
 * 5000 of 10000 they give up and call GSL's error handler, which aborts the
 * process; for 5 of 10 million they loop forever. So the bounds are found by
 * bisection on GSL's beta CDF itself, which fails quietly (NaN) where its
 * continued fraction does not converge: about a million trials with p near
 * k/n. There the binomial terms are summed instead. */

static const double ci_tail = 0.025; /* each side of a two-sided 95% interval */

/* P(Bin(n, p) = j) through logs, so that no factor overflows. */
static double binomial_term(long j, long n, double p)
{
    return exp(lgamma(n + 1.0) - lgamma(j + 1.0) - lgamma(n - j + 1.0) + (double)j * log(p) +
               (double)(n - j) * log1p(-p));
}

/* Sum of P(Bin(n, p) = j) for j = from, from + step, ... (step +1 or -1)
 * within [0, n], where `from` lies on the falling side of the mode, so the
 * terms only shrink and the sum stops once they no longer count. */
static double sum_falling_terms(long from, int step, long n, double p)
{
    const double odds = p / (1 - p);
    double term = binomial_term(from, n, p), sum = 0;
    for (long j = from; j >= 0 && j <= n && term > sum * (DBL_EPSILON * 1e-4); j += step) {
        sum += term;
        term *= step > 0 ? (double)(n - j) / (double)(j + 1) * odds
                         : (double)j / (double)(n - j + 1) / odds;
    }
    return sum;
}

/* P(Bin(n, p) >= k) for 0 < p < 1, from the shorter side of the mode. */
static double summed_at_least(long k, long n, double p)
{
    return (double)k > n * p ? sum_falling_terms(k, +1, n, p)
                             : 1 - sum_falling_terms(k - 1, -1, n, p);
}

/* P(Bin(n, p) <= k) for 0 < p < 1, from the shorter side of the mode. */
static double summed_at_most(long k, long n, double p)
{
    return (double)k < n * p ? sum_falling_terms(k, -1, n, p)
                             : 1 - sum_falling_terms(k + 1, +1, n, p);
}

/* P(Bin(n, p) >= k), 1 <= k <= n: the Beta(k, n-k+1) CDF at p. */
static double prob_at_least(long k, long n, double p)
{
    const double value = gsl_cdf_beta_P(p, (double)k, (double)(n - k + 1));
    return isfinite(value) || p <= 0 || p >= 1 ? value : summed_at_least(k, n, p);
}

/* P(Bin(n, p) <= k), 0 <= k < n: the upper tail of Beta(k+1, n-k) at p. */
static double prob_at_most(long k, long n, double p)
{
    const double value = gsl_cdf_beta_Q(p, (double)(k + 1), (double)(n - k));
    return isfinite(value) || p <= 0 || p >= 1 ? value : summed_at_most(k, n, p);
}

/* Bisects [0, 1] down to adjacent doubles for the p where tail(k, n, p),
 * monotone in p, crosses ci_tail; the crossing lies in [*lo, *hi]. */
static void bisect_tail(double (*tail)(long, long, double), bool increasing, long k, long n,
                        double *lo, double *hi)
{
    *lo = 0;
    *hi = 1;
    /* halvings to reach p ~ 1e-300 to the last bit: the loop ends far sooner */
    for (int i = 0; i < 1100; i++) {
        const double mid = *lo + (*hi - *lo) / 2;
        if (mid <= *lo || mid >= *hi)
            break;
        if ((tail(k, n, mid) < ci_tail) == increasing)
            *lo = mid;
        else
            *hi = mid;
    }
}

void sgdmc_clopper_pearson(long k, long n, double *low, double *high)
{
    /* GSL's default handler aborts; a failed evaluation has to come back
     * as NaN so that the summed terms take over. */
    gsl_error_handler_t *previous = gsl_set_error_handler_off();
    double lo, hi;
    *low = 0;
    if (k > 0) {
        bisect_tail(prob_at_least, true, k, n, &lo, &hi);
        *low = lo; /* the outer end of the bracket keeps the interval exact-or-wider */
    }
    *high = 1;
    if (k < n) {
        bisect_tail(prob_at_most, false, k, n, &lo, &hi);
        *high = hi;
    }
    gsl_set_error_handler(previous);
}

static int compare_doubles(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of values[0..n-1], n >= 1, none NaN; sorts values. */
static double median_of(double *values, long n)
{
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    const double upper = values[n / 2];
    if (n % 2)
        return upper;
    /* halves first: no overflow for huge finite risks */
    return 0.5 * values[n / 2 - 1] + 0.5 * upper;
}

const char *const sgdmc_cell_tally_fields[] = {
    "status", "final_risk", "min_grad_norm", "dead_init", "dead_final",
    "certified_nonconvergent", "dead_init_probability", "constant_init", "constant_final",
    "end_state", "min_risk", NULL};

void sgdmc_cell_tally_reset(sgdmc_cell_tally *t)
{
    double *risks = t->risks;
    *t = (sgdmc_cell_tally){.theory = NAN, .hi = NAN, .risks = risks};
}

void sgdmc_cell_tally_add(sgdmc_cell_tally *t, const sgdmc_result *r, double grad_eps)
{
    t->converged += r->status == SGDMC_STATUS_CONVERGED;
    t->undecided += r->status == SGDMC_STATUS_UNDECIDED;
    t->diverged += r->status == SGDMC_STATUS_DIVERGED;
    t->dead += r->dead_init[0] > 0;
    t->dead_known += r->dead_init[0] >= 0;
    t->dead_end += r->dead_final[0] > 0;
    t->dead_end_unknown += r->dead_final[0] < 0 && r->status != SGDMC_STATUS_DIVERGED;
    t->stationary += r->min_grad_norm <= grad_eps;
    if (isnan(t->theory))
        t->theory = r->dead_init_probability;
    if (t->done == 0)
        t->hi = r->min_risk;
    t->certified_known += r->certified_nonconvergent >= 0;
    t->certified += r->certified_nonconvergent == 1;
    t->constant_known += r->constant_init >= 0;
    t->constant_init += r->constant_init == 1;
    t->constant_end_known += r->constant_final >= 0;
    t->constant_end += r->constant_final == 1;
    t->end_stationary += r->end_state == SGDMC_END_STATIONARY;
    t->end_descending += r->end_state == SGDMC_END_DESCENDING;
    t->end_oscillating += r->end_state == SGDMC_END_OSCILLATING;
    /* a diverged run's risk may be NaN: it ranks above every number */
    t->risks[t->done++] = isnan(r->final_risk) ? INFINITY : r->final_risk;
}

/* k of n with its interval; NaN when n = 0. */
static sgdmc_share share(long k, long n)
{
    sgdmc_share s = {NAN, NAN, NAN};
    if (n > 0) {
        s.p = (double)k / (double)n;
        sgdmc_clopper_pearson(k, n, &s.low, &s.high);
    }
    return s;
}

void sgdmc_cell_tally_finish(sgdmc_cell_tally *t, long seeds, sgdmc_cell_stats *cell)
{
    const long n = t->done;
    *cell = (sgdmc_cell_stats){.runs = seeds,
                               .done = n,
                               .converged = t->converged,
                               .undecided = t->undecided,
                               .diverged = t->diverged,
                               .converged_sure = share(t->converged, n),
                               .converged_possible = share(t->converged + t->undecided, n),
                               .dead_at_init = share(t->dead, t->dead_known > 0 ? n : 0),
                               .dead_at_end = share(t->dead_end,
                                                    t->dead_known > 0 && !t->dead_end_unknown ? n
                                                                                              : 0),
                               .dead_init_probability = t->theory,
                               .certified_known = t->certified_known,
                               .certified = share(t->certified, t->certified_known),
                               .constant_at_init = share(t->constant_init, t->constant_known),
                               .constant_at_end = share(t->constant_end, t->constant_end_known),
                               .stationary = share(t->stationary, n),
                               .end_stationary = share(t->end_stationary, n),
                               .end_descending = share(t->end_descending, n),
                               .end_oscillating = share(t->end_oscillating, n),
                               .median_final_risk = n > 0 ? median_of(t->risks, n) : NAN,
                               .min_risk_used = n > 0 ? t->hi : NAN};
}
