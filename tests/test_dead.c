/* Dead neurons at initialization. With weights and biases iid U[-1,1] and
 * inputs in [0,1]^d, a first-layer neuron is dead when b + sum_i max(w_i, 0)
 * <= 0. Conditioning on how many w_i are positive (each U[0,1] then) gives
 * P(dead) = sum_k C(d,k) 2^-d E[(1 - S_k)_+ / 2], S_k a sum of k uniforms,
 * E[(1 - S_k)_+] = 1/(k+1)!: so 3/8 for d = 1 and 13/48 (0.271) for d = 2.
 * Counted frequencies must match these within 5 standard errors. Deeper
 * layers (d = 1, exact breakpoint check) are compared with a fine grid. */
#include "harness.h"
#include "sgdmc/core/evaluate.h"
#include "sgdmc/core/problem.h"
#include "sgdmc/run/train.h"

static double dead_probability(int d)
{
    double p = 0.0, binom = 1.0, factorial = 1.0;
    for (int k = 0; k <= d; k++) {
        factorial *= k + 1;
        p += binom * pow(0.5, d) * 0.5 / factorial;
        binom = binom * (d - k) / (k + 1);
    }
    return p;
}

/* Sets up the run of `flags` with `seed` and runs it (steps=0 in the flags
 * reports the initial network); NULL after a failed check. */
static sgdmc_trainer *run_seed(const char *flags, int seed, sgdmc_train_config *config,
                               sgdmc_result *r)
{
    sgdmc_train_config_defaults(config);
    harness_config(config, flags);
    config->seed = (unsigned long)seed;
    char err[256] = "out of memory";
    sgdmc_trainer *t = sgdmc_trainer_alloc(config, err, sizeof err);
    if (!t || sgdmc_trainer_run(t, r)) {
        CHECK(0, "%s seed %d: %s", flags, seed, err);
        sgdmc_trainer_free(t);
        return NULL;
    }
    return t;
}

/* Seed `seed` of the trainer run_seed set up for seed 0, as a study runs a
 * grid cell: restarted (seed > 0) and run into r (seed 0's result is
 * run_seed's). The problem's R* is computed once; once per seed, it was 3/4
 * of this test's time. False after a failed check. */
static bool run_next_seed(sgdmc_trainer *t, const char *flags, int seed, sgdmc_result *r)
{
    if (seed == 0)
        return true;
    sgdmc_trainer_restart(t, (unsigned long)seed);
    if (sgdmc_trainer_run(t, r) == 0)
        return true;
    CHECK(0, "%s seed %d: restart or run failed", flags, seed);
    return false;
}

/* The frequency of dead first-layer neurons at initialization against p,
 * and against the library's probability for the same configuration. */
static void check_first_layer(int d, int runs, int width, const char *init, double p)
{
    long dead = 0, total = 0;
    char flags[256];
    snprintf(flags, sizeof flags,
             "--input_dim=%d --width=%d --steps=0 --eval_points=16 --init=%s", d, width, init);
    sgdmc_train_config config;
    sgdmc_result r;
    sgdmc_trainer *t = run_seed(flags, 0, &config, &r);
    for (int seed = 0; t && seed < runs && run_next_seed(t, flags, seed, &r); seed++) {
        dead += r.dead_init[0];
        total += width;
        sgdmc_result_free(&r);
    }
    sgdmc_trainer_free(t);
    CHECK(fabs(sgdmc_dead_at_init_probability(&config, d) - p) < 1e-15,
          "%s: the library's probability %.17g, expected %.17g", flags,
          sgdmc_dead_at_init_probability(&config, d), p);
    const double freq = (double)dead / (double)total;
    const double se = sqrt(p * (1 - p) / (double)total);
    printf("  d = %d, %s: dead frequency %.5f over %ld neurons, P = %.5f, %.2f standard errors\n",
           d, init, freq, total, p, (freq - p) / se);
    CHECK(fabs(freq - p) <= 5 * se, "d = %d: frequency %.5f, expected %.5f +- %.5f", d, freq, p,
          5 * se);
}

/* Every neuron the evaluator calls dead is <= 0 on a grid of 200001 points
 * of the domain, and nearly every neuron it calls alive is positive somewhere
 * on the grid (a neuron can be positive on a sliver narrower than the grid
 * spacing). For normal inputs the domain is R: the grid covers [-10, 10] and
 * both tails out to 1e8 geometrically (20000 points each). */
static void check_deep_layers(const char *flags, int runs)
{
    int disagreements = 0, dead_total = 0, neurons = 0;
    sgdmc_train_config config;
    sgdmc_result r;
    sgdmc_trainer *t = run_seed(flags, 0, &config, &r);
    if (!t)
        return;
    for (int seed = 0; seed < runs && run_next_seed(t, flags, seed, &r); seed++) {
        const sgdmc_arch *arch = sgdmc_trainer_arch(t);
        const double *params = sgdmc_trainer_params(t);
        const bool normal = config.input == SGDMC_INPUT_NORMAL;
        const int inner = 200001, tail = normal ? 20000 : 0, grid = inner + 2 * tail,
                  chunk = 1000;
        int positive[SGDMC_MAX_DEPTH][64] = {{0}};
        sgdmc_workspace *ws = sgdmc_workspace_alloc(arch, chunk);
        for (int start = 0; start < grid; start += chunk) {
            int count = grid - start < chunk ? grid - start : chunk;
            double *x = sgdmc_workspace_input(ws);
            for (int i = 0; i < count; i++) {
                const int at = start + i;
                if (at >= inner) { /* the tails: +-10 (1e7)^(j / tail) */
                    const int j = (at - inner) % tail + 1;
                    x[i] = (at - inner < tail ? -10.0 : 10.0) * pow(1e7, (double)j / tail);
                } else {
                    x[i] = normal ? -10.0 + 20.0 * at / (inner - 1) : (double)at / (inner - 1);
                }
            }
            sgdmc_forward(arch, params, ws, count);
            for (int k = 1; k <= arch->depth; k++) {
                const double *z = sgdmc_workspace_preact(ws, k);
                for (int j = 0; j < arch->widths[k]; j++)
                    for (int i = 0; i < count; i++)
                        positive[k - 1][j] |= z[(size_t)j * count + i] > 0.0;
            }
        }
        sgdmc_workspace_free(ws);
        for (int k = 1; k <= arch->depth; k++) {
            int grid_dead = 0;
            for (int j = 0; j < arch->widths[k]; j++)
                grid_dead += !positive[k - 1][j];
            CHECK(r.dead_init[k - 1] <= grid_dead,
                  "%s seed %d layer %d: %d dead exactly but only %d on the grid", flags, seed, k,
                  r.dead_init[k - 1], grid_dead);
            disagreements += grid_dead - r.dead_init[k - 1];
            dead_total += r.dead_init[k - 1];
            neurons += arch->widths[k];
        }
        sgdmc_result_free(&r);
    }
    sgdmc_trainer_free(t);
    printf("  %s: %d of %d neurons dead, %d more on the grid\n", flags, dead_total, neurons,
           disagreements);
    CHECK(disagreements <= neurons / 100, "%s: %d grid disagreements", flags, disagreements);
}

int main(void)
{
    CHECK(fabs(dead_probability(1) - 3.0 / 8) < 1e-15, "P(dead | d = 1) = %g", dead_probability(1));
    CHECK(fabs(dead_probability(2) - 13.0 / 48) < 1e-15, "P(dead | d = 2) = %g",
          dead_probability(2));
    check_first_layer(1, 10000, 16, "uniform", dead_probability(1));
    check_first_layer(2, 10000, 16, "uniform", dead_probability(2));
    check_first_layer(3, 4000, 16, "uniform", dead_probability(3));
    check_first_layer(1, 4000, 16, "normal", 3.0 / 8);
    check_first_layer(2, 4000, 16, "he", 0.25);
    check_first_layer(3, 4000, 16, "glorot", 0.125);
    check_deep_layers("--depth=4 --width=8 --steps=0", 200);
    check_deep_layers("--depth=3 --width=6 --skip --steps=0", 200);
    check_deep_layers("--depth=3 --width=8 --input=normal --steps=0", 100);
    return harness_exit("test_dead");
}
