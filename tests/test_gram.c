/* The Gram measures (paper 004) against an independent computation: the
 * Jacobian by central finite differences of the forward pass, the extreme
 * eigenvalues by cyclic Jacobi rotations, the risk and its gradient on the
 * same inputs by finite differences; and the risk bounds they give. */
#include <gsl/gsl_rng.h>

#include "harness.h"
#include "sgdmc/core/gram.h"
#include "sgdmc/core/net.h"

enum { POINTS = 12 };

static double output(const sgdmc_arch *arch, const double *params, const double *x, int s,
                     int points)
{
    sgdmc_workspace *ws = sgdmc_workspace_alloc(arch, 1);
    for (int i = 0; i < arch->widths[0]; i++)
        sgdmc_workspace_input(ws)[i] = x[(size_t)i * points + s];
    sgdmc_forward(arch, params, ws, 1);
    const double f = sgdmc_workspace_output(ws)[0];
    sgdmc_workspace_free(ws);
    return f;
}

static double sample_risk(const sgdmc_arch *arch, const double *params, const double *x,
                          const double *y, int points)
{
    double sum = 0.0;
    for (int s = 0; s < points; s++) {
        const double r = output(arch, params, x, s, points) - y[s];
        sum += r * r;
    }
    return sum / points;
}

/* Eigenvalues of the symmetric a [n][n] (destroyed) by cyclic Jacobi sweeps. */
static void jacobi_eigenvalues(double *a, int n, double *values)
{
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++)
                off += a[p * n + q] * a[p * n + q];
        if (off < 1e-30)
            break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                const double apq = a[p * n + q];
                if (fabs(apq) < 1e-300)
                    continue;
                const double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                const double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                const double c = 1.0 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) {
                    const double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {
                    const double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
    }
    for (int i = 0; i < n; i++)
        values[i] = a[i * n + i];
}

static void check_arch(sgdmc_activation activation, int input_dim, int width, int depth,
                       bool skip, bool expect_full_rank)
{
    sgdmc_arch arch = {.depth = depth, .activation = activation, .skip = skip};
    arch.widths[0] = input_dim;
    for (int k = 1; k <= depth; k++)
        arch.widths[k] = width;
    arch.widths[depth + 1] = 1;
    const size_t n = sgdmc_arch_param_count(&arch);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, (unsigned long)(97 * width + depth + 13 * input_dim));
    double *params = malloc(n * sizeof *params);
    for (size_t i = 0; i < n; i++)
        params[i] = 2.0 * gsl_rng_uniform(rng) - 1.0;
    double x[4 * POINTS], y[POINTS];
    for (int i = 0; i < input_dim * POINTS; i++)
        x[i] = gsl_rng_uniform(rng);
    for (int s = 0; s < POINTS; s++)
        y[s] = sin(3.0 * x[s]);

    /* J by central differences, K = J J^T, its eigenvalues by Jacobi */
    double *jacobian = malloc(POINTS * n * sizeof *jacobian);
    const double h = 1e-6;
    for (size_t i = 0; i < n; i++) {
        const double saved = params[i];
        for (int s = 0; s < POINTS; s++) {
            params[i] = saved + h;
            const double up = output(&arch, params, x, s, POINTS);
            params[i] = saved - h;
            const double down = output(&arch, params, x, s, POINTS);
            jacobian[(size_t)s * n + i] = (up - down) / (2 * h);
        }
        params[i] = saved;
    }
    double kernel[POINTS * POINTS], values[POINTS];
    for (int a = 0; a < POINTS; a++)
        for (int b = 0; b < POINTS; b++) {
            double dot = 0.0;
            for (size_t i = 0; i < n; i++)
                dot += jacobian[(size_t)a * n + i] * jacobian[(size_t)b * n + i];
            kernel[a * POINTS + b] = dot;
        }
    jacobi_eigenvalues(kernel, POINTS, values);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < POINTS; i++) {
        lo = fmin(lo, values[i]);
        hi = fmax(hi, values[i]);
    }
    /* the risk's gradient on the same inputs, by central differences */
    double grad_norm2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double saved = params[i];
        params[i] = saved + h;
        const double up = sample_risk(&arch, params, x, y, POINTS);
        params[i] = saved - h;
        const double down = sample_risk(&arch, params, x, y, POINTS);
        params[i] = saved;
        grad_norm2 += (up - down) / (2 * h) * (up - down) / (2 * h);
    }
    const double risk = sample_risk(&arch, params, x, y, POINTS);

    sgdmc_gram *gram = sgdmc_gram_alloc(&arch, POINTS);
    sgdmc_gram_measures m;
    CHECK(gram && sgdmc_gram_measure(gram, params, x, y, NULL, &m) == 0, "gram measure failed");
    const char *name = sgdmc_activation_names[activation];
    CHECK(fabs(m.max_eig - hi) <= 1e-6 * hi, "%s d=%d w=%d L=%d: max eigenvalue %.12g, reference %.12g",
          name, input_dim, width, depth, m.max_eig, hi);
    CHECK(fabs(m.min_eig - fmax(lo, 0.0)) <= 1e-6 * hi,
          "%s d=%d w=%d L=%d: min eigenvalue %.12g, reference %.12g", name, input_dim, width,
          depth, m.min_eig, lo);
    CHECK(fabs(m.risk - risk) <= 1e-13 * fmax(1.0, risk), "%s: risk %.17g, reference %.17g", name,
          m.risk, risk);
    CHECK(fabs(m.grad_norm - sqrt(grad_norm2)) <= 1e-6 * sqrt(grad_norm2),
          "%s: gradient norm %.12g, reference %.12g", name, m.grad_norm, sqrt(grad_norm2));
    /* n |grad R|^2 / (4 lambda_max) <= R <= n |grad R|^2 / (4 lambda_min) */
    const double scaled = POINTS * m.grad_norm * m.grad_norm / 4.0;
    CHECK(scaled / m.max_eig <= m.risk * (1 + 1e-12), "%s: lower bound %.12g above the risk %.12g",
          name, scaled / m.max_eig, m.risk);
    if (expect_full_rank) {
        CHECK(m.min_eig > 0.0, "%s d=%d w=%d: K unexpectedly singular (%g)", name, input_dim,
              width, m.min_eig);
        CHECK(m.risk <= scaled / m.min_eig * (1 + 1e-9), "%s: upper bound %.12g below the risk %.12g",
              name, scaled / m.min_eig, m.risk);
    }
    sgdmc_gram_free(gram);
    free(jacobian);
    free(params);
    gsl_rng_free(rng);
}

int main(void)
{
    /* more parameters than inputs and a smooth activation: K is invertible */
    check_arch(SGDMC_ACT_TANH, 2, 8, 2, false, true);
    check_arch(SGDMC_ACT_SOFTPLUS, 3, 6, 1, false, true);
    check_arch(SGDMC_ACT_SIGMOID, 2, 5, 3, true, true);
    /* ReLU: piecewise linear, K may be singular; the lower bound still holds */
    check_arch(SGDMC_ACT_RELU, 1, 4, 1, false, false);
    check_arch(SGDMC_ACT_RELU, 2, 16, 2, true, false);
    /* fewer parameters (7) than inputs: solved through J^T J, lambda_min = 0 */
    check_arch(SGDMC_ACT_RELU, 1, 2, 1, false, false);
    check_arch(SGDMC_ACT_SOFTPLUS, 1, 2, 1, false, false);
    return harness_exit("test_gram");
}
