/* The evaluator's risk against independent references: closed forms for
 * constant networks, and brute-force midpoint sums with a million points for
 * random ReLU and smooth networks in one dimension. */
#include <gsl/gsl_rng.h>

#include "harness.h"
#include "sgdmc/core/evaluate.h"
#include "sgdmc/core/problem.h"
#include "sgdmc/base/rng.h"

typedef struct {
    sgdmc_train_config config;
    sgdmc_problem *problem;
    sgdmc_arch arch;
    sgdmc_evaluator *ev;
    size_t n;
    double *params;
} setup;

static void setup_open(setup *s, const char *flags)
{
    s->problem = harness_problem(&s->config, flags, SGDMC_EVAL_CHUNK);
    sgdmc_train_config_arch(&s->config, sgdmc_problem_input_dim(s->problem), &s->arch);
    s->ev = sgdmc_evaluator_alloc(&s->config, s->problem, &s->arch);
    s->n = sgdmc_arch_param_count(&s->arch);
    s->params = calloc(s->n, sizeof *s->params);
}

static void setup_close(setup *s)
{
    free(s->params);
    sgdmc_evaluator_free(s->ev);
    sgdmc_problem_free(s->problem);
}

/* A network computing the constant c: every parameter 0 but the output bias. */
static void check_constant(const char *flags, double c, double expected, double tol)
{
    setup s;
    setup_open(&s, flags);
    s.params[s.n - 1] = c;
    const double risk = sgdmc_evaluate_risk(s.ev, s.params, NULL);
    CHECK(fabs(risk - expected) <= tol, "%s, f = %g: risk %.17g, expected %.17g", flags, c, risk,
          expected);
    setup_close(&s);
}

/* Midpoint rule with `points` cells on [lo, hi], weighted by the input density. */
static double brute_force_risk(setup *s, double lo, double hi, bool normal, int points)
{
    sgdmc_workspace *ws = sgdmc_workspace_alloc(&s->arch, 1000);
    double x[1000], y[1000], sum = 0.0;
    const double h = (hi - lo) / points;
    for (int start = 0; start < points; start += 1000) {
        for (int i = 0; i < 1000; i++)
            x[i] = lo + h * (start + i + 0.5);
        memcpy(sgdmc_workspace_input(ws), x, sizeof x);
        sgdmc_forward(&s->arch, s->params, ws, 1000);
        sgdmc_problem_targets(s->problem, x, 1000, y);
        const double *f = sgdmc_workspace_output(ws);
        for (int i = 0; i < 1000; i++) {
            const double density = normal ? exp(-0.5 * x[i] * x[i]) / sqrt(2 * M_PI) : 1.0;
            sum += h * density * (f[i] - y[i]) * (f[i] - y[i]);
        }
    }
    sgdmc_workspace_free(ws);
    return sum;
}

static void check_brute_force(const char *flags, unsigned long seed, double tol)
{
    setup s;
    setup_open(&s, flags);
    gsl_rng *rng = sgdmc_rng_alloc(seed, SGDMC_STREAM_INIT);
    for (size_t i = 0; i < s.n; i++)
        s.params[i] = 2.0 * gsl_rng_uniform(rng) - 1.0;
    gsl_rng_free(rng);
    const bool normal = s.config.input == SGDMC_INPUT_NORMAL;
    const double risk = sgdmc_evaluate_risk(s.ev, s.params, NULL);
    const double reference = brute_force_risk(&s, normal ? -10 : 0, normal ? 10 : 1, normal, 1000000);
    const double e = fabs(risk - reference) / (1e-3 + reference);
    CHECK(e <= tol, "%s seed %lu: risk %.17g, brute force %.17g (%d nodes)", flags, seed, risk,
          reference, sgdmc_evaluator_nodes(s.ev));
    setup_close(&s);
}

/* A student that embeds the teacher (and, when deeper, passes its last hidden
 * layer through identity ReLU layers) has risk 0: min_risk's claim. */
static void check_embedded_teacher(const char *flags)
{
    setup s;
    setup_open(&s, flags);
    const double *tp;
    const sgdmc_arch *t = sgdmc_problem_teacher(s.problem, &tp);
    const int L = s.arch.depth, T = t->depth;
    for (int k = 1; k <= L + 1; k++) {
        double *w = s.params + sgdmc_arch_weight_offset(&s.arch, k);
        double *b = s.params + sgdmc_arch_bias_offset(&s.arch, k);
        const int cols = s.arch.widths[k - 1];
        const int tk = k <= T ? k : (k == L + 1 ? T + 1 : 0); /* 0: identity layer */
        /* past the teacher, a layer with a skip passes its input on with zero
         * weights and bias (act(0) = 0 for ReLU and tanh) */
        const double diagonal = k <= L && sgdmc_arch_skips_into(&s.arch, k) ? 0.0 : 1.0;
        const int rows = tk ? t->widths[tk] : t->widths[T];
        const int tcols = tk ? t->widths[tk - 1] : t->widths[T];
        for (int j = 0; j < rows; j++) {
            for (int i = 0; i < tcols; i++)
                w[(size_t)j * cols + i] =
                    tk ? tp[sgdmc_arch_weight_offset(t, tk) + (size_t)j * tcols + i]
                       : (i == j) * diagonal;
            b[j] = tk ? tp[sgdmc_arch_bias_offset(t, tk) + j] : 0.0;
        }
    }
    const double risk = sgdmc_evaluate_risk(s.ev, s.params, NULL);
    const double min_risk = sgdmc_problem_min_risk(s.problem, &s.arch, &s.config);
    CHECK(risk < 1e-28 && min_risk == 0.0, "%s: embedded teacher has risk %g, min_risk %g", flags,
          risk, min_risk);
    setup_close(&s);
}

int main(void)
{
    check_embedded_teacher("--target=teacher --teacher_width=3 --teacher_depth=2 --depth=2 "
                           "--widths=4,3");
    check_embedded_teacher("--target=teacher --teacher_width=3 --teacher_depth=2 --depth=4 "
                           "--width=5 --teacher_seed=7");
    check_embedded_teacher("--target=teacher --teacher_width=2 --teacher_depth=1 --depth=3 "
                           "--width=3 --input_dim=2 --input=normal");
    check_embedded_teacher("--target=teacher --teacher_width=3 --depth=1 --width=6 "
                           "--activation=tanh");
    check_embedded_teacher("--target=teacher --teacher_width=2 --depth=3 --width=4 --skip");
    check_embedded_teacher("--target=teacher --teacher_width=3 --depth=2 --width=3 --skip "
                           "--activation=tanh --input_dim=2");
    /* closed forms: E(c - x^2)^2 = c^2 - 2c E x^2 + E x^4 */
    for (double c = -1.0; c <= 2.0; c += 0.75) {
        check_constant("--target=square", c, c * c - 2 * c / 3 + 0.2, 1e-15);
        check_constant("--target=square --input=normal", c, c * c - 2 * c + 3, 1e-12);
        check_constant("--target=sin", c, c * c + 0.5, 1e-14);
        check_constant("--target=square --activation=tanh", c, c * c - 2 * c / 3 + 0.2, 1e-14);
        check_constant("--target=constant:0.25 --depth=3", c, (c - 0.25) * (c - 0.25), 1e-15);
        /* d = 2: E|x|^4 = 2/5 + 2 (1/3)^2; QMC with 4096 Sobol points */
        check_constant("--target=square --input_dim=2", c, c * c - 4 * c / 3 + 28.0 / 45, 1e-4);
        /* normal inputs make |x|^4 unbounded on the cube's image: QMC converges
         * slowly there: E|x|^4 = 15 is off by 1.4% at 4096 points, 0.4% at 65536 */
        check_constant("--target=square --input_dim=3 --input=normal", c, c * c - 6 * c + 15,
                       0.03 * 15);
        check_constant("--target=square --input_dim=3 --input=normal --eval_points=65536", c,
                       c * c - 6 * c + 15, 0.008 * 15);
    }
    /* random networks: the breakpoint quadrature against a million midpoints.
     * Midpoint error is O(h^2) = 1e-12 per kink; a missed breakpoint costs
     * far more than the 1e-8 allowed. */
    const char *flags[] = {
        "--depth=1 --width=8 --target=square",
        "--depth=3 --width=6 --target=square",
        "--depth=4 --width=5 --skip --target=sin",
        "--depth=2 --width=7 --target=teacher --teacher_width=4 --teacher_depth=2",
        "--depth=3 --width=6 --input=normal --target=square",
        "--depth=2 --width=6 --input=normal --target=sin",
        "--depth=2 --width=5 --activation=tanh --target=sin",
        "--depth=2 --width=5 --activation=softplus --input=normal --target=teacher",
    };
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        for (unsigned long seed = 1; seed <= 5; seed++)
            check_brute_force(flags[i], seed, 1e-8);
    return harness_exit("test_risk");
}
