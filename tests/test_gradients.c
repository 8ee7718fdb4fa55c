/* Gradients against central finite differences: the network's backward pass
 * for every activation, skip setting and depth; the training losses with the
 * l2 penalty; and the exact gradient of the population risk in each of the
 * evaluator's integration modes. */
#include <gsl/gsl_rng.h>
#include <unistd.h>

#include "harness.h"
#include "sgdmc/core/evaluate.h"
#include "sgdmc/core/net.h"
#include "sgdmc/core/problem.h"
#include "sgdmc/base/rng.h"
#include "sgdmc/run/train.h"

/* Central differences with step h have truncation error O(h^2) and rounding
 * error O(eps/h); with h = 1e-6 both stay below 1e-8 for these O(1) functions,
 * while a wrong gradient term is off by O(1e-2) or more. */
#define STEP 1e-6
#define TOLERANCE 2e-7

static double max_fd_error(double (*f)(void *, const double *), void *ctx, double *params,
                           const double *grad, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double saved = params[i];
        params[i] = saved + STEP;
        const double up = f(ctx, params);
        params[i] = saved - STEP;
        const double down = f(ctx, params);
        params[i] = saved;
        const double fd = (up - down) / (2 * STEP);
        const double e = fabs(fd - grad[i]) / (1.0 + fabs(grad[i]));
        if (!(e <= worst))
            worst = e;
    }
    return worst;
}

typedef struct {
    const sgdmc_arch *arch;
    sgdmc_workspace *ws;
    const double *inputs, *dout;
    int count;
} network_ctx;

/* sum_b dout[b] f(x_b): backward's gradient is exactly this function's. */
static double weighted_output(void *p, const double *params)
{
    network_ctx *c = p;
    memcpy(sgdmc_workspace_input(c->ws), c->inputs,
           sizeof(double) * (size_t)c->arch->widths[0] * (size_t)c->count);
    sgdmc_forward(c->arch, params, c->ws, c->count);
    const double *f = sgdmc_workspace_output(c->ws);
    double sum = 0.0;
    for (int s = 0; s < c->count; s++)
        sum += c->dout[s] * f[s];
    return sum;
}

static void check_network(gsl_rng *rng, sgdmc_activation act, bool skip, int depth,
                          bool equal_widths)
{
    sgdmc_arch arch = {.depth = depth, .activation = act, .skip = skip};
    arch.widths[0] = 3;
    for (int k = 1; k <= depth; k++)
        arch.widths[k] = equal_widths ? 4 : 3 + k;
    arch.widths[depth + 1] = 1;
    const int count = 7;
    const size_t n = sgdmc_arch_param_count(&arch);
    double *params = malloc(n * sizeof *params), *grad = calloc(n, sizeof *grad);
    double inputs[3 * 7], dout[7];
    for (size_t i = 0; i < n; i++)
        params[i] = 2.0 * gsl_rng_uniform(rng) - 1.0;
    for (int i = 0; i < 3 * count; i++)
        inputs[i] = 2.0 * gsl_rng_uniform(rng) - 1.0;
    for (int s = 0; s < count; s++)
        dout[s] = 2.0 * gsl_rng_uniform(rng) - 1.0;
    sgdmc_workspace *ws = sgdmc_workspace_alloc(&arch, count);
    network_ctx ctx = {&arch, ws, inputs, dout, count};
    weighted_output(&ctx, params);
    sgdmc_backward(&arch, params, ws, count, dout, grad);
    double e = max_fd_error(weighted_output, &ctx, params, grad, n);
    CHECK(e < TOLERANCE, "network %s skip=%d depth=%d equal=%d: error %.3g",
          sgdmc_activation_names[act], skip, depth, equal_widths, e);
    sgdmc_workspace_free(ws);
    free(params);
    free(grad);
}

static double risk_of(void *ev, const double *params)
{
    return sgdmc_evaluate_risk(ev, params, NULL);
}

/* The evaluator's risk gradient for the problem given by `flags`. */
static void check_risk_gradient(const char *flags)
{
    sgdmc_train_config config;
    sgdmc_train_config_defaults(&config);
    harness_config(&config, flags);
    char err[512];
    sgdmc_problem *problem = sgdmc_problem_alloc(&config, SGDMC_EVAL_CHUNK, err, sizeof err);
    CHECK(problem != NULL, "%s: %s", flags, err);
    if (!problem)
        return;
    sgdmc_arch arch;
    sgdmc_train_config_arch(&config, sgdmc_problem_input_dim(problem), &arch);
    sgdmc_evaluator *ev = sgdmc_evaluator_alloc(&config, problem, &arch);
    const size_t n = sgdmc_arch_param_count(&arch);
    double *params = malloc(n * sizeof *params), *grad = malloc(n * sizeof *grad);
    gsl_rng *rng = sgdmc_rng_alloc(config.seed, SGDMC_STREAM_INIT);
    for (size_t i = 0; i < n; i++)
        params[i] = 2.0 * gsl_rng_uniform(rng) - 1.0;
    const double risk = sgdmc_evaluate_risk(ev, params, grad);
    double e = max_fd_error(risk_of, ev, params, grad, n);
    CHECK(isfinite(risk) && e < TOLERANCE, "%s: risk %g, gradient error %.3g", flags, risk, e);
    printf("  %-80s error %.1e\n", flags, e);
    gsl_rng_free(rng);
    free(params);
    free(grad);
    sgdmc_evaluator_free(ev);
    sgdmc_problem_free(problem);
}

/* One full-batch SGD step moves the parameters by -lr times the evaluator's
 * gradient of the same data: the training loop's loss and gradient agree. */
static void check_training_step(const char *data, const char *flags)
{
    sgdmc_train_config config;
    sgdmc_train_config_defaults(&config);
    char all[1024];
    snprintf(all, sizeof all, "%s --data=%s --batch_size=0 --optimizer=sgd --lr=0.5", flags, data);
    harness_config(&config, all);
    char err[512];
    sgdmc_trainer *t = sgdmc_trainer_alloc(&config, err, sizeof err);
    CHECK(t != NULL, "%s", err);
    if (!t)
        return;
    sgdmc_problem *problem = sgdmc_problem_alloc(&config, SGDMC_EVAL_CHUNK, err, sizeof err);
    sgdmc_evaluator *ev = sgdmc_evaluator_alloc(&config, problem, sgdmc_trainer_arch(t));
    const size_t n = sgdmc_trainer_param_count(t);
    double *before = malloc(n * sizeof *before), *grad = malloc(n * sizeof *grad);
    memcpy(before, sgdmc_trainer_params(t), n * sizeof *before);
    const double risk = sgdmc_evaluate_risk(ev, before, grad);
    const double loss = sgdmc_trainer_step(t);
    double worst = fabs(loss - risk) / (1.0 + fabs(risk));
    for (size_t i = 0; i < n; i++) {
        const double moved = (before[i] - sgdmc_trainer_params(t)[i]) / 0.5;
        const double e = fabs(moved - grad[i]) / (1.0 + fabs(grad[i]));
        if (e > worst)
            worst = e;
    }
    CHECK(worst < 1e-12, "%s: training step vs evaluator: %.3g", flags, worst);
    free(before);
    free(grad);
    sgdmc_evaluator_free(ev);
    sgdmc_problem_free(problem);
    sgdmc_trainer_free(t);
}

int main(void)
{
    gsl_rng *rng = sgdmc_rng_alloc(12345, SGDMC_STREAM_INIT);
    for (int act = 0; act < SGDMC_ACT_COUNT; act++)
        for (int depth = 1; depth <= 3; depth++)
            for (int skip = 0; skip <= 1; skip++)
                for (int equal = 0; equal <= 1; equal++)
                    check_network(rng, (sgdmc_activation)act, skip, depth, equal);

    /* data sets for the losses: regression targets and {0,1} labels */
    char mse_path[64], logistic_path[64];
    snprintf(mse_path, sizeof mse_path, "test_gradients_mse_%d.h5", (int)getpid());
    snprintf(logistic_path, sizeof logistic_path, "test_gradients_logistic_%d.h5", (int)getpid());
    double x[40 * 2], y[40], labels[40];
    for (int s = 0; s < 40; s++) {
        x[2 * s] = gsl_rng_uniform(rng);
        x[2 * s + 1] = 2.0 * gsl_rng_uniform(rng) - 1.0;
        y[s] = x[2 * s] * x[2 * s + 1] + 0.3;
        labels[s] = x[2 * s] + 0.5 * x[2 * s + 1] > 0.4 ? 1.0 : 0.0;
    }
    harness_write_data(mse_path, x, y, 40, 2);
    harness_write_data(logistic_path, x, labels, 40, 2);
    const char *nets[] = {"--depth=1 --width=5", "--depth=2 --width=4 --skip",
                          "--depth=3 --widths=3,5,2"};
    for (int act = 0; act < SGDMC_ACT_COUNT; act++)
        for (int k = 0; k < 3; k++) {
            char flags[512];
            for (int loss = 0; loss < 2; loss++) {
                snprintf(flags, sizeof flags, "%s --activation=%s --loss=%s --l2=%s --data=%s",
                         nets[k], sgdmc_activation_names[act], loss ? "logistic" : "mse",
                         k == 1 ? "0.1" : "0", loss ? logistic_path : mse_path);
                check_risk_gradient(flags);
            }
            snprintf(flags, sizeof flags, "%s --activation=%s --l2=0.05", nets[k],
                     sgdmc_activation_names[act]);
            check_training_step(mse_path, flags);
        }
    remove(mse_path);
    remove(logistic_path);

    /* population risks: breakpoint quadrature, fixed grids, quasi-Monte Carlo */
    const char *population[] = {
        "--depth=2 --width=6 --target=square",
        "--depth=3 --width=5 --target=sin",
        "--depth=2 --width=6 --target=teacher --teacher_width=3 --teacher_depth=2",
        "--depth=2 --width=6 --skip --target=constant:0.7",
        "--depth=2 --width=6 --input=normal --target=square",
        "--depth=2 --width=5 --activation=tanh --target=sin",
        "--depth=1 --width=5 --activation=softplus --input=normal --target=teacher",
        "--depth=2 --width=5 --input_dim=2 --target=square",
        "--depth=2 --width=5 --input_dim=3 --input=normal --target=sin --activation=sigmoid",
    };
    for (size_t i = 0; i < sizeof population / sizeof *population; i++)
        check_risk_gradient(population[i]);
    gsl_rng_free(rng);
    return harness_exit("test_gradients");
}
