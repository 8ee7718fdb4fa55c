/* Every optimizer, step for step, against the PyTorch reference trajectories
 * of tests/reference/optimizers.h5 (see make_optimizer_reference.py). */
#include <float.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>

#include "harness.h"
#include "sgdmc/core/optim.h"
#include "sgdmc/run/train.h"

/* Reference trajectories come from autograd gradients summed in another
 * order, so agreement is to rounding, not bitwise; 25 steps of the adaptive
 * rules keep it near 1e-16. A wrong rule is off by 1e-4 or more. */
#define TOLERANCE 1e-12

static char *read_string_attribute(hid_t obj, const char *name)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    char *value = NULL;
    if (attr < 0 || H5Aread(attr, type, &value) < 0)
        value = NULL;
    char *copy = value ? strdup(value) : NULL;
    if (value)
        H5free_memory(value);
    H5Tclose(type);
    if (attr >= 0)
        H5Aclose(attr);
    return copy;
}

static void check_case(const char *path, hid_t cases, const char *name, const char *network)
{
    hid_t group = H5Gopen2(cases, name, H5P_DEFAULT);
    char *flags = read_string_attribute(group, "flags");
    hid_t dset = H5Dopen2(group, "params", H5P_DEFAULT);
    hid_t space = H5Dget_space(dset);
    hsize_t dims[2];
    H5Sget_simple_extent_dims(space, dims, NULL);
    double *ref = malloc(sizeof(double) * dims[0] * dims[1]);
    H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, ref);
    H5Sclose(space);
    H5Dclose(dset);
    H5Gclose(group);

    sgdmc_train_config config;
    sgdmc_train_config_defaults(&config);
    char all[2048];
    snprintf(all, sizeof all, "%s %s --data=%s --init=%s --batch_size=0", network, flags, path,
             path);
    harness_config(&config, all);
    char err[512];
    sgdmc_trainer *trainer = sgdmc_trainer_alloc(&config, err, sizeof err);
    CHECK(trainer != NULL, "%s: %s", name, err);
    if (trainer) {
        const size_t n = sgdmc_trainer_param_count(trainer);
        CHECK(n == dims[1], "%s: %zu parameters, reference has %llu", name, n,
              (unsigned long long)dims[1]);
        double worst = 0.0;
        long worst_step = 0;
        for (hsize_t k = 0; k < dims[0] && n == dims[1]; k++) {
            if (k > 0)
                sgdmc_trainer_step(trainer);
            const double *x = sgdmc_trainer_params(trainer);
            for (size_t i = 0; i < n; i++) {
                double e = fabs(x[i] - ref[k * n + i]) / (1.0 + fabs(ref[k * n + i]));
                if (!(e <= worst)) {
                    worst = e;
                    worst_step = (long)k;
                }
            }
        }
        CHECK(worst <= TOLERANCE, "%s: relative error %.3g at step %ld", name, worst, worst_step);
        printf("  %-30s %llu steps, max relative error %.2e\n", name,
               (unsigned long long)dims[0] - 1, worst);
        sgdmc_trainer_free(trainer);
    }
    free(ref);
    free(flags);
}

/* The Adam family's per-step factors come from a table (optim.c); here they
 * are pow() per step, written out as PyTorch's formulas, and the parameters
 * must agree bit for bit for longer than the table runs (with beta2 = 0.99
 * every power falls below 2^-56 by step 3900, where the table stops growing),
 * across a reset (the table is kept) and for a second optimizer. */
static double reference_step(sgdmc_optimizer_kind kind, long step, double *m, double *v,
                             double *mu_product, double x, double g, double lr, double b1,
                             double b2, double eps)
{
    const double t = (double)step;
    *m = *m * b1 + (1.0 - b1) * g;
    if (kind == SGDMC_OPT_ADAMAX) {
        *v = fmax(*v * b2, fabs(g) + eps);
        return x + -(lr / (1.0 - pow(b1, t))) * (*m / *v);
    }
    *v = *v * b2 + (1.0 - b2) * (g * g);
    if (kind == SGDMC_OPT_ADAM) {
        const double denom = sqrt(*v) / sqrt(1.0 - pow(b2, t)) + eps;
        return x + -(lr / (1.0 - pow(b1, t))) * (*m / denom);
    }
    const double mu = b1 * (1.0 - 0.5 * pow(0.96, t * 4e-3));
    const double mu_next = b1 * (1.0 - 0.5 * pow(0.96, (t + 1.0) * 4e-3));
    *mu_product *= mu;
    const double denom = sqrt(*v / (1.0 - pow(b2, t))) + eps;
    x += (-lr * (1.0 - mu) / (1.0 - *mu_product)) * (g / denom);
    return x + ((-lr * mu_next) / (1.0 - *mu_product * mu_next)) * (*m / denom);
}

static void check_bias_table(sgdmc_optimizer_kind kind, long steps)
{
    sgdmc_optimizer_config c = {kind, SGDMC_TIMESCALE_NONE, 1e-3, NAN, NAN, 0.99, NAN, 0.0, NAN,
                                NAN};
    sgdmc_optimizer_resolve_defaults(&c);
    sgdmc_optimizer *opt = sgdmc_optimizer_alloc(&c, 1);
    for (int round = 0; round < 2; round++) { /* the second after a reset: the table is kept */
        double x = 0.5, x_ref = 0.5, m = 0.0, v = 0.0, mu_product = 1.0;
        long first_difference = 0;
        for (long k = 1; k <= steps; k++) {
            const double g = sin(0.001 * (double)k) + 0.25 * x; /* varies, never settles */
            const double x_before = x;
            sgdmc_optimizer_step(opt, &x, &g, c.lr);
            x_ref = reference_step(kind, k, &m, &v, &mu_product, x_before, g, c.lr, c.beta1,
                                   c.beta2, c.eps);
            if (x != x_ref && !first_difference)
                first_difference = k;
            x = x_ref; /* both go on from the same point */
        }
        CHECK(first_difference == 0, "%s: the tabled factors differ from pow() first at step %ld "
              "(round %d)", sgdmc_optimizer_names[kind], first_difference, round);
        sgdmc_optimizer_reset(opt);
    }
    sgdmc_optimizer_free(opt);
}

/* A decaying moment below DBL_MIN is stored as zero (sgdmc_moment_flushed).
 * Seen through the parameter: heavy ball with lr 1 from x = 0, one gradient
 * g = 2^-1000, then zeros. The moment mu^k g falls below 2^-1022 near step
 * 150; x, about -10 g, has an ulp of 2^-1049, so with gradual underflow the
 * subnormal moments would go on moving it for about 170 more steps (and the
 * last one for ever). The reference is the rule written out with the flush
 * at DBL_MIN; the same rule without it must end elsewhere, or this test could
 * not tell them apart. */
static void check_moment_flush(void)
{
    sgdmc_optimizer_config c = {SGDMC_OPT_MOMENTUM, SGDMC_TIMESCALE_NONE, 1.0, NAN, NAN, NAN,
                                NAN, 0.0, NAN, NAN};
    sgdmc_optimizer_resolve_defaults(&c);
    const double mu = c.momentum;
    sgdmc_optimizer *opt = sgdmc_optimizer_alloc(&c, 1);
    double x = 0.0, x_ref = 0.0, x_gradual = 0.0;
    double m_ref = 0.0, m_gradual = 0.0;
    long first_difference = 0, last_flushed_move = 0;
    for (long k = 1; k <= 1000; k++) {
        const double g = k == 1 ? ldexp(1.0, -1000) : 0.0;
        sgdmc_optimizer_step(opt, &x, &g, c.lr);
        m_ref = k == 1 ? g : m_ref * mu + g;
        if (fabs(m_ref) < DBL_MIN)
            m_ref = 0.0;
        m_gradual = k == 1 ? g : m_gradual * mu + g;
        const double x_before = x_ref;
        x_ref = x_ref + -c.lr * m_ref;
        x_gradual = x_gradual + -c.lr * m_gradual;
        if (x_ref != x_before)
            last_flushed_move = k;
        if (x != x_ref && !first_difference)
            first_difference = k;
    }
    CHECK(first_difference == 0, "momentum: x differs from the flushing reference first at "
          "step %ld", first_difference);
    CHECK(x_gradual != x_ref, "momentum: gradual underflow ends where the flush does: this "
          "check cannot see the flush (x %a)", x_ref);
    CHECK(last_flushed_move > 100 && last_flushed_move < 200,
          "momentum: x last moved at step %ld, expected near 150", last_flushed_move);
    CHECK(sgdmc_moment_flushed(-0x1p-1030, DBL_MIN) == 0.0 && signbit(sgdmc_moment_flushed(-0x1p-1030, DBL_MIN)),
          "a negative subnormal moment flushes to -0");
    CHECK(sgdmc_moment_flushed(DBL_MIN, DBL_MIN) == DBL_MIN && isnan(sgdmc_moment_flushed(NAN, DBL_MIN)) &&
              isinf(sgdmc_moment_flushed(INFINITY, DBL_MIN)),
          "DBL_MIN, NaN and infinity are kept");
    sgdmc_optimizer_free(opt);
}

/* Sign steps move x by lr however small the moment: after one gradient of 1
 * and 80000 zero ones, signsgd's momentum (0.9^k after k steps) is below
 * DBL_MIN from step ~6700 on, lion's (0.99^k) from ~70500, yet in exact
 * arithmetic x = -lr k. A moment flushed to zero would stop x there.
 * (normalized_sgd's moment is flushed below DBL_MIN: check_norm_out_of_range
 * follows it down to there.) */
static void check_sign_moments_kept(void)
{
    const struct {
        sgdmc_optimizer_kind kind;
        sgdmc_timescale timescale;
    } cases[] = {{SGDMC_OPT_SIGNSGD, SGDMC_TIMESCALE_TWO},
                 {SGDMC_OPT_LION, SGDMC_TIMESCALE_NONE}};
    const double lr = 0x1p-10; /* lr k exact */
    const long steps = 80001; /* lion's moment decays by 0.99 a step: below DBL_MIN near 70500 */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sgdmc_optimizer_config c = {cases[i].kind, cases[i].timescale, lr, NAN, NAN, NAN,
                                    NAN, 0.0, NAN, NAN};
        sgdmc_optimizer_resolve_defaults(&c);
        sgdmc_optimizer *opt = sgdmc_optimizer_alloc(&c, 1);
        double x = 0.0;
        long stopped = 0;
        for (long k = 1; k <= steps && opt; k++) {
            const double g = k == 1 ? 1.0 : 0.0, before = x;
            sgdmc_optimizer_step(opt, &x, &g, c.lr);
            if (x != before - lr && !stopped)
                stopped = k;
        }
        CHECK(opt && stopped == 0 && x == -lr * (double)steps,
              "%s: x stopped moving by lr at step %ld (x %a, expected %a)",
              sgdmc_optimizer_names[cases[i].kind], stopped, x, -lr * (double)steps);
        sgdmc_optimizer_free(opt);
    }
}

/* With eps = 0 a flushed second moment would give 0/0: RMSProp after one
 * gradient of 1 and 80000 zero ones (v = 0.99^k (1 - 0.99), below DBL_MIN
 * from step ~70000) must keep x where step 1 left it, as v > 0 does in exact
 * arithmetic: 0 / sqrt(v) = 0. */
static void check_no_flush_without_eps(void)
{
    sgdmc_optimizer_config c = {SGDMC_OPT_RMSPROP, SGDMC_TIMESCALE_NONE, 0x1p-10, NAN, NAN,
                                NAN, 0.0, 0.0, NAN, NAN};
    sgdmc_optimizer_resolve_defaults(&c);
    sgdmc_optimizer *opt = sgdmc_optimizer_alloc(&c, 1);
    double x = 0.0, after_first = NAN;
    for (long k = 1; k <= 80001 && opt; k++) {
        const double g = k == 1 ? 1.0 : 0.0;
        sgdmc_optimizer_step(opt, &x, &g, c.lr);
        if (k == 1)
            after_first = x;
    }
    CHECK(opt && c.eps == 0.0 && x == after_first,
          "rmsprop, eps 0: x moved after its gradient vanished (%a, then %a)", after_first, x);
    sgdmc_optimizer_free(opt);
}

/* splitmix64: the test's own stream of bits, independent of sgdmc's */
static uint64_t next_bits(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A double with a random significand and an exponent in [lo, hi]. */
static double random_double(uint64_t *state, int lo, int hi)
{
    const uint64_t bits = next_bits(state);
    const double significand = 1.0 + (double)(bits >> 12) * 0x1p-52;
    return ldexp(significand, lo + (int)((bits & 0xFFF) % (uint64_t)(hi - lo + 1)));
}

/* The norm where the sum of squares leaves the normal range: against the
 * same sum in long double (x86's: exponents to 1e4932, so no square
 * under- or overflows), within an ulp; the normalized and clipped steps it
 * gives against their closed forms; and bit for bit the plain square root of
 * the plain sum where that sum is normal. */
static double ulps_apart(double a, double b)
{
    const double top = fmax(fabs(a), fabs(b));
    return fabs(a - b) / (nextafter(top, INFINITY) - top);
}

static double long_double_norm(const double *x, size_t n)
{
    long double sum = 0.0L;
    for (size_t i = 0; i < n; i++)
        sum += (long double)x[i] * (long double)x[i];
    return (double)sqrtl(sum);
}

static void check_norm_out_of_range(void)
{
    CHECK(LDBL_MAX_EXP > 4 * DBL_MAX_EXP, "long double has no wider exponent here");
    const double scales[] = {1e-170, 0x1p-1060, 4.9e-324, 1e-154, 1e160, 1e300, 1.0};
    for (size_t s = 0; s < sizeof scales / sizeof *scales; s++) {
        const double g[3] = {3.0 * scales[s], -4.0 * scales[s], 0.5 * scales[s]};
        const double norm = sgdmc_norm2(g, 3), expected = long_double_norm(g, 3);
        CHECK(ulps_apart(norm, expected) <= 1.0, "norm of %g (3, -4, 0.5): %a, long double %a",
              scales[s], norm, expected);
        /* one step from 0 with lr 1: normalized x = -g / |g|, of length 1 */
        const struct {
            sgdmc_optimizer_kind kind;
            double clip;
        } cases[] = {{SGDMC_OPT_NORMALIZED_SGD, NAN}, {SGDMC_OPT_CLIPPED_SGD, 0.25}};
        for (size_t k = 0; k < 2; k++) {
            sgdmc_optimizer_config c = {cases[k].kind, SGDMC_TIMESCALE_NONE, 1.0, 0.0, NAN, NAN,
                                        NAN, 0.0, cases[k].clip, NAN};
            sgdmc_optimizer_resolve_defaults(&c);
            sgdmc_optimizer *opt = sgdmc_optimizer_alloc(&c, 3);
            double x[3] = {0.0, 0.0, 0.0};
            if (opt)
                sgdmc_optimizer_step(opt, x, g, 1.0);
            const double length = long_double_norm(x, 3);
            /* clipped: min(1, C / |g|) g, so length min(|g|, C) */
            const double want = cases[k].kind == SGDMC_OPT_NORMALIZED_SGD
                                    ? 1.0
                                    : fmin(expected, cases[k].clip);
            CHECK(opt && fabs(length - want) <= 4 * DBL_EPSILON * want &&
                      (x[0] < 0.0) == (g[0] > 0.0) && (x[1] < 0.0) == (g[1] > 0.0),
                  "%s at gradient scale %g: step (%a, %a, %a) of length %a, not %a",
                  sgdmc_optimizer_names[c.kind], scales[s], x[0], x[1], x[2], length, want);
            sgdmc_optimizer_free(opt);
        }
    }
    /* normal sums: the same bits as ever */
    uint64_t state = 7;
    for (int trial = 0; trial < 1000; trial++) {
        double g[5], sum = 0.0;
        for (int i = 0; i < 5; i++) {
            g[i] = (next_bits(&state) & 1 ? -1.0 : 1.0) * random_double(&state, -500, 500);
            sum += g[i] * g[i];
        }
        CHECK(sgdmc_norm2(g, 5) == sqrt(sum), "normal sum %a: norm %a, not sqrt %a", sum,
              sgdmc_norm2(g, 5), sqrt(sum));
    }
    /* normalized_sgd's moment after one gradient of 1 decays by 0.9 a step
     * (timescale two): its square is below DBL_MIN from step ~3370 on, yet x
     * moves by lr every step until the moment itself is (~6720), where the
     * flush (sgdmc_moment_floor) zeroes it */
    sgdmc_optimizer_config c = {SGDMC_OPT_NORMALIZED_SGD, SGDMC_TIMESCALE_TWO, 0x1p-10, NAN, NAN,
                                NAN, NAN, 0.0, NAN, NAN};
    sgdmc_optimizer_resolve_defaults(&c);
    sgdmc_optimizer *opt = sgdmc_optimizer_alloc(&c, 1);
    double x = 0.0;
    long wrong = 0;
    for (long k = 1; k <= 6700 && opt; k++) {
        const double g = k == 1 ? 1.0 : 0.0, before = x;
        sgdmc_optimizer_step(opt, &x, &g, c.lr);
        const double moved = before - x;
        if (!(fabs(moved - c.lr) <= 4 * DBL_EPSILON * c.lr * (double)k) && !wrong)
            wrong = k;
    }
    CHECK(opt && wrong == 0, "normalized_sgd: x stopped moving by lr at step %ld", wrong);
    sgdmc_optimizer_free(opt);
}

static long quotient_cases, quotient_mismatches;

/* sgdmc_exact_quotient(a, b, 1 / b) against the division a / b, bit for bit
 * (NaN for NaN), for a and its neighbours up to `neighbours` ulps away. */
static void compare_quotient(double a, double b, int neighbours)
{
    const double b_inverse = 1.0 / b;
    for (int k = -neighbours; k <= neighbours; k++) {
        double x = a;
        for (int j = 0; j < (k < 0 ? -k : k); j++)
            x = nextafter(x, k < 0 ? 0.0 : INFINITY);
        const double expected = x / b, got = sgdmc_exact_quotient(x, b, b_inverse);
        quotient_cases++;
        if (memcmp(&expected, &got, sizeof got) && !(isnan(expected) && isnan(got))) {
            if (quotient_mismatches++ < 5)
                fprintf(stderr, "exact quotient: %a / %a is %a, got %a\n", x, b, expected, got);
        }
    }
}

/* Over divisor b: a random root, and roots whose quotient lies next to a
 * random double F (exponent in [lo, hi]) and next to the midpoint above it
 * (a = F b and (F + ulp(F) / 2) b, rounded), each with 3 ulps of neighbours. */
static void compare_around(uint64_t *state, double b, int lo, int hi)
{
    compare_quotient(random_double(state, -537, 511), b, 3);
    const double f = random_double(state, lo, hi);
    compare_quotient(f * b, b, 3);
    compare_quotient(fma(ldexp(1.0, ilogb(f) - 53), b, f * b), b, 3);
}

/* The quotients a = sqrt(v) over b = sqrt(1 - beta2^t) that Adam takes, for
 * betas from 0 to 1 - 2^-53 and every step until 1 - beta2^t rounds to 1 (then
 * every 97th): random roots over their whole range [2^-537, 2^512], and roots
 * whose quotient lies next to a double or next to a midpoint between two
 * doubles (a = F b and (F + ulp(F) / 2) b, rounded, and their neighbours),
 * where a wrong last step rounds the wrong way; then divisors that are powers
 * of two and that have an all-ones significand, and zeros, infinities, NaN
 * and the largest and smallest roots (without neighbours: those of an infinity
 * are beyond every root, where the steps overflow). */
static void check_exact_quotient(void)
{
    uint64_t state = 20261203;
    const double betas[] = {0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0 - 0x1p-20, 1.0 - 0x1p-53};
    for (size_t i = 0; i < sizeof betas / sizeof *betas; i++) {
        for (long t = 1;; t += t < 4000 ? 1 : 97) {
            const double bc2 = 1.0 - pow(betas[i], (double)t);
            if (bc2 == 1.0 || t > 4000000)
                break;
            for (int r = 0; r < 4; r++)
                compare_around(&state, sqrt(bc2), -520, 500);
        }
    }
    for (int e = 0; e >= -27; e--) {
        const double divisors[] = {ldexp(1.0, e), ldexp(1.0 - 0x1p-53, e), ldexp(1.5, e - 1)};
        for (size_t d = 0; d < 3; d++)
            for (int r = 0; r < 2000; r++)
                compare_around(&state, divisors[d], -500, 480);
    }
    const double specials[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 0x1p-537, 0x1.fffffffffffffp511,
                               sqrt(DBL_MAX), sqrt(DBL_MIN), sqrt(0x1p-1074)};
    for (size_t k = 0; k < sizeof specials / sizeof *specials; k++)
        for (int e = 0; e >= -27; e -= 9)
            compare_quotient(specials[k], ldexp(1.0 - 0x1p-53, e), 0);
#ifdef __FMA__
    const char *path = "multiplies and fused multiply-adds";
#else
    const char *path = "the division itself (no hardware FMA: nothing to compare)";
#endif
    CHECK(quotient_mismatches == 0, "exact quotient: %ld of %ld quotients differ from a / b",
          quotient_mismatches, quotient_cases);
    printf("  exact quotient (%s): %ld quotients, %ld differ from a / b\n", path, quotient_cases,
           quotient_mismatches);
}

int main(int argc, char **argv)
{
    check_exact_quotient();
    check_moment_flush();
    check_sign_moments_kept();
    check_norm_out_of_range();
    check_no_flush_without_eps();
    check_bias_table(SGDMC_OPT_ADAM, 6000);
    check_bias_table(SGDMC_OPT_ADAMAX, 6000);
    check_bias_table(SGDMC_OPT_NADAM, 240000); /* 0.96^(0.004 t) falls below 2^-56 near 234,000 */
    if (argc != 2) {
        fprintf(stderr, "usage: test_optimizers optimizers.h5\n");
        return 2;
    }
    hid_t file = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return 2;
    char *network = read_string_attribute(file, "network_flags");
    hid_t cases = H5Gopen2(file, "cases", H5P_DEFAULT);
    H5G_info_t info;
    H5Gget_info(cases, &info);
    bool seen[SGDMC_OPT_COUNT] = {false};
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char name[128];
        H5Lget_name_by_idx(cases, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                           H5P_DEFAULT);
        check_case(argv[1], cases, name, network);
        for (int k = 0; k < SGDMC_OPT_COUNT; k++)
            if (!strcmp(name, sgdmc_optimizer_names[k]))
                seen[k] = true;
    }
    for (int k = 0; k < SGDMC_OPT_COUNT; k++)
        CHECK(seen[k], "no reference case for optimizer %s", sgdmc_optimizer_names[k]);
    free(network);
    H5Gclose(cases);
    H5Fclose(file);
    return harness_exit("test_optimizers");
}
