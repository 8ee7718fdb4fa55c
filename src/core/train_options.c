/* The option table of `sgdmc train`: one entry per flag, shared by the command
 * line, study configs, the help and the keys of cached R* results, so that a
 * name, its default and its choices are spelled in exactly one place. */
#include "sgdmc/core/train_options.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/base/error.h"
#include "sgdmc/core/evaluate.h"

static int parse_number(const char *text, double *out)
{
    char *end;
    errno = 0;
    const double v = strtod(text, &end);
    if (!*text || *end || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int set_widths(const sgdmc_option *opt, void *target, const char *value, char *err,
                      size_t errlen)
{
    (void)opt;
    sgdmc_train_config *c = target;
    int count = 0;
    const char *p = value;
    for (;;) {
        char *end;
        errno = 0;
        const long w = strtol(p, &end, 10);
        if (end == p || errno == ERANGE || (*end && *end != ','))
            SGDMC_FAIL("'%s' is not a comma-separated list of integers (e.g. 8,8,4)", value);
        if (w < 1 || w > 100000)
            SGDMC_FAIL("'%s': width %ld is out of range (must be in [1, 100000])", value, w);
        if (count == SGDMC_MAX_DEPTH)
            SGDMC_FAIL("'%s': more than %d layers", value, SGDMC_MAX_DEPTH);
        c->widths[count++] = (int)w;
        if (!*end)
            break;
        p = end + 1;
    }
    c->widths_count = count;
    return 0;
fail:
    return -1;
}

static void format_widths(const sgdmc_option *opt, const void *target, char *buf, size_t size)
{
    (void)opt;
    const sgdmc_train_config *c = target;
    buf[0] = '\0';
    for (int k = 0; k < c->widths_count; k++) {
        const size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%d", k ? "," : "", c->widths[k]);
    }
}

static const sgdmc_option_type widths_type = {set_widths, format_widths, false, false, NULL};

static int set_target(const sgdmc_option *opt, void *target, const char *value, char *err,
                      size_t errlen)
{
    (void)opt;
    sgdmc_train_config *c = target;
    if (!strncmp(value, "constant:", 9)) {
        if (parse_number(value + 9, &c->target_constant))
            SGDMC_FAIL("'%s': the constant after 'constant:' is not a finite number", value);
        c->target = SGDMC_TARGET_CONSTANT;
        return 0;
    }
    const int i = sgdmc_name_index(sgdmc_target_names, value);
    if (i < 0 || i == SGDMC_TARGET_CONSTANT) {
        char others[256];
        sgdmc_names_list(sgdmc_target_names + 1, NULL, others, sizeof others);
        SGDMC_FAIL("unknown target '%s' (choose constant:C, %s)", value, others);
    }
    c->target = (sgdmc_target_kind)i;
    return 0;
fail:
    return -1;
}

static void format_target(const sgdmc_option *opt, const void *target, char *buf, size_t size)
{
    (void)opt;
    const sgdmc_train_config *c = target;
    if (c->target == SGDMC_TARGET_CONSTANT)
        snprintf(buf, size, "constant:%.17g", c->target_constant);
    else
        snprintf(buf, size, "%s", sgdmc_target_names[c->target]);
}

static const sgdmc_option_type target_type = {set_target, format_target, false, false, NULL};

static int set_schedule(const sgdmc_option *opt, void *target, const char *value, char *err,
                        size_t errlen)
{
    (void)opt;
    sgdmc_train_config *c = target;
    if (!strcmp(value, "constant")) {
        c->schedule = SGDMC_SCHEDULE_CONSTANT;
        c->schedule_gamma = 0.0;
        c->schedule_k0 = 1.0;
        return 0;
    }
    if (strncmp(value, "power:", 6))
        SGDMC_FAIL("unknown schedule '%s' (choose constant or power:GAMMA[,K0])", value);
    char buf[128];
    snprintf(buf, sizeof buf, "%s", value + 6);
    char *comma = strchr(buf, ',');
    double k0 = 1.0, gamma;
    if (comma) {
        *comma = '\0';
        if (parse_number(comma + 1, &k0) || k0 <= 0.0)
            SGDMC_FAIL("'%s': K0 must be a number > 0", value);
    }
    if (parse_number(buf, &gamma) || gamma < 0.0)
        SGDMC_FAIL("'%s': GAMMA must be a number >= 0", value);
    c->schedule = SGDMC_SCHEDULE_POWER;
    c->schedule_gamma = gamma;
    c->schedule_k0 = k0;
    return 0;
fail:
    return -1;
}

static void format_schedule(const sgdmc_option *opt, const void *target, char *buf,
                            size_t size)
{
    (void)opt;
    const sgdmc_train_config *c = target;
    if (c->schedule == SGDMC_SCHEDULE_POWER)
        snprintf(buf, size, "power:%.17g,%.17g", c->schedule_gamma, c->schedule_k0);
    else
        snprintf(buf, size, "constant");
}

static const sgdmc_option_type schedule_type = {set_schedule, format_schedule, false, false, NULL};

static int set_init(const sgdmc_option *opt, void *target, const char *value, char *err,
                    size_t errlen)
{
    sgdmc_train_config *c = target;
    const int i = sgdmc_name_index(sgdmc_init_names, value);
    if (i >= 0 && i != SGDMC_INIT_FILE) {
        c->init = (sgdmc_init_kind)i;
        return 0;
    }
    const size_t n = strlen(value);
    if (n > 3 && !strcmp(value + n - 3, ".h5")) {
        if (sgdmc_option_path.set(opt, target, value, err, errlen))
            return -1;
        c->init = SGDMC_INIT_FILE;
        return 0;
    }
    char names[256];
    sgdmc_names_list(sgdmc_init_names, sgdmc_init_names[SGDMC_INIT_FILE], names, sizeof names);
    SGDMC_FAIL("unknown initialization '%s' (choose %s, or a FILE.h5)", value, names);
fail:
    return -1;
}

static void format_init(const sgdmc_option *opt, const void *target, char *buf, size_t size)
{
    const sgdmc_train_config *c = target;
    if (c->init == SGDMC_INIT_FILE)
        sgdmc_option_path.format(opt, target, buf, size);
    else
        snprintf(buf, size, "%s", sgdmc_init_names[c->init]);
}

static void key_init(const sgdmc_option *opt, const void *target, char *buf, size_t size)
{
    const sgdmc_train_config *c = target;
    if (c->init == SGDMC_INIT_FILE)
        sgdmc_input_file_key(c->init_file, buf, size);
    else
        format_init(opt, target, buf, size);
}

static const sgdmc_option_type init_type = {set_init, format_init, false, false, key_init};

/* An optimizer hyperparameter's default, which optim.c keeps per optimizer:
 * "0.9" when all agree, else "0.01 (sgd, momentum, ...), 0.001 (adam, ...)". */
static void describe_optimizer_default(const sgdmc_option *o, char *buf, size_t size)
{
    const size_t member = o->offset - offsetof(sgdmc_train_config, optimizer);
    bool described[SGDMC_OPT_COUNT] = {false};
    buf[0] = '\0';
    for (int k = 0; k < SGDMC_OPT_COUNT; k++) {
        if (described[k])
            continue;
        const double v = *(const double *)((const char *)sgdmc_optimizer_defaults(k) + member);
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%g", k ? ", " : "", v);
        bool all = true;
        for (int j = k; j < SGDMC_OPT_COUNT; j++)
            all &= *(const double *)((const char *)sgdmc_optimizer_defaults(j) + member) == v;
        if (all && k == 0)
            return;
        const char *open = " (";
        for (int j = k; j < SGDMC_OPT_COUNT; j++) {
            if (*(const double *)((const char *)sgdmc_optimizer_defaults(j) + member) != v)
                continue;
            described[j] = true;
            used = strlen(buf);
            snprintf(buf + used, size - used, "%s%s", open, sgdmc_optimizer_names[j]);
            open = ", ";
        }
        used = strlen(buf);
        snprintf(buf + used, size - used, ")");
    }
}

#define AT(f) offsetof(sgdmc_train_config, f)
#define BIG DBL_MAX
#define PROBLEM SGDMC_DEFINES_PROBLEM
#define ESTIMATE SGDMC_DEFINES_ESTIMATE
#define D(type) &sgdmc_option_##type

/* name, metavar, default value, default text, describe default, help, type, offset,
 * min, max, min exclusive, choices, defines */
static const sgdmc_option options[] = {
    {"input_dim", "D", NULL, "from --data, else 1", NULL, "input dimension d", D(int),
     AT(input_dim), 1, 100000, false, NULL, PROBLEM},
    {"depth", "L", "1", NULL, NULL, "number of hidden layers", D(int), AT(depth), 1,
     SGDMC_MAX_DEPTH, false, NULL, ESTIMATE},
    {"width", "N", "4", NULL, NULL, "width of every hidden layer", D(int), AT(width), 1, 100000,
     false, NULL, ESTIMATE},
    {"widths", "A,B,..", NULL, NULL, NULL,
     "width of each hidden layer (one per layer; overrides --width)", &widths_type, 0, 0, 0,
     false, NULL, ESTIMATE},
    {"activation", "NAME", "relu", NULL, NULL, "hidden activation", D(choice), AT(activation),
     0, 0, false, sgdmc_activation_names, PROBLEM},
    {"skip", "", "false", NULL, NULL,
     "identity skip connections between consecutive hidden layers of equal width", D(bool),
     AT(skip), 0, 0, false, NULL, ESTIMATE},
    {"init", "NAME|FILE.h5", "uniform", NULL, NULL,
     "uniform (weights, biases iid U[-a,a]), normal (N(0,a^2)), he (weights N(0, 2a^2/fan_in), "
     "biases 0), glorot (weights U[-r,r], r = a sqrt(6/(fan_in+fan_out)), biases 0), or an HDF5 "
     "file with W1..W{L+1}, b1..b{L+1}",
     &init_type, AT(init_file), 0, 0, false, NULL, ESTIMATE},
    {"init_scale", "A", "1", NULL, NULL, "the scale a of --init", D(double), AT(init_scale), 0,
     BIG, true, NULL, ESTIMATE},
    {"seed", "S", "0", NULL, NULL, "seed of the run: initialization and sample stream", D(seed),
     AT(seed), 0, 0, false, NULL, 0},
    {"input", "NAME", "uniform", NULL, NULL,
     "input distribution: uniform is U[0,1]^d, normal N(0, I_d)", D(choice), AT(input), 0, 0,
     false, sgdmc_input_names, PROBLEM},
    {"target", "NAME", "square", NULL, NULL,
     "target function: constant:C, square (|x|^2), sin (sin(2 pi sum_i x_i)), teacher",
     &target_type, 0, 0, 0, false, NULL, PROBLEM},
    {"teacher_width", "N", "2", NULL, NULL, "hidden width of the teacher network", D(int),
     AT(teacher_width), 1, 100000, false, NULL, PROBLEM},
    {"teacher_depth", "L", "1", NULL, NULL, "hidden layers of the teacher network", D(int),
     AT(teacher_depth), 1, SGDMC_MAX_DEPTH, false, NULL, PROBLEM},
    {"teacher_seed", "S", "0", NULL, NULL, "seed of the teacher's U[-1,1] weights and biases",
     D(seed), AT(teacher_seed), 0, 0, false, NULL, PROBLEM},
    {"data", "FILE.h5", NULL, NULL, NULL,
     "learn from data: datasets x [n,d] and y [n,1] instead of a distribution", D(input_file),
     AT(data_file), 0, 0, false, NULL, PROBLEM},
    {"batch_size", "B", "16", NULL, NULL,
     "samples per step; 0 = the whole data set (needs --data)", D(int), AT(batch_size), 0,
     1 << 24, false, NULL, 0},
    {"loss", "NAME", "mse", NULL, NULL,
     "the loss: mse is the mean squared error (no 1/2), logistic the mean log(1+exp(-y f)) "
     "(needs --data)",
     D(choice), AT(loss), 0, 0, false, sgdmc_loss_names, PROBLEM},
    {"l2", "LAMBDA", "0", NULL, NULL,
     "adds LAMBDA times the squared Frobenius norm of all weight matrices", D(double), AT(l2), 0,
     BIG, false, NULL, PROBLEM},
    {"optimizer", "NAME", "sgd", NULL, NULL, "the optimizer", D(choice), AT(optimizer.kind), 0,
     0, false, sgdmc_optimizer_names, 0},
    {"lr", "ETA", NULL, NULL, describe_optimizer_default,
     "base learning rate (PyTorch's defaults, 0.01 for the sgd family)", D(double),
     AT(optimizer.lr), 0, BIG, true, NULL, 0},
    {"lr_schedule", "constant|power:G[,K0]", "constant", NULL, NULL,
     "step k = 0,1,.. uses lr / (k + K0)^G (K0 defaults to 1)", &schedule_type, 0, 0, 0, false,
     NULL, 0},
    {"momentum", "MU", NULL, NULL, describe_optimizer_default,
     "heavy-ball momentum (sgd, momentum, nesterov, rmsprop); beta = MU in --timescale=two",
     D(double), AT(optimizer.momentum), 0, 1, false, NULL, 0},
    {"beta1", "B1", NULL, NULL, describe_optimizer_default,
     "first-moment decay (adam-type, lion)", D(double), AT(optimizer.beta1), 0, 1,
     SGDMC_MAX_EXCLUSIVE, NULL,
     0},
    {"beta2", "B2", NULL, NULL, describe_optimizer_default,
     "second-moment decay (adam-type, rmsprop's alpha, lion's momentum decay)", D(double),
     AT(optimizer.beta2), 0, 1, SGDMC_MAX_EXCLUSIVE, NULL, 0},
    {"eps", "EPS", NULL, NULL, describe_optimizer_default,
     "denominator guard of adaptive optimizers", D(double), AT(optimizer.eps), 0, BIG, false,
     NULL, 0},
    {"weight_decay", "WD", NULL, NULL, describe_optimizer_default,
     "L2 penalty added to the gradient (decoupled for lion)", D(double),
     AT(optimizer.weight_decay), 0, BIG, false, NULL, 0},
    {"clip", "C", NULL, NULL, describe_optimizer_default, "clipping threshold of clipped_sgd",
     D(double), AT(optimizer.clip), 0, BIG, true, NULL, 0},
    {"timescale", "NAME", "none", NULL, NULL,
     "paper 003's momentum framework: single uses theta_k = min(1, tau eta_k), two "
     "theta_k = 1 - momentum",
     D(choice), AT(optimizer.timescale), 0, 0, false, sgdmc_timescale_names, 0},
    {"tau", "TAU", NULL, NULL, describe_optimizer_default,
     "theta_k = min(1, tau * eta_k) in --timescale=single", D(double), AT(optimizer.tau), 0, BIG,
     true, NULL, 0},
    {"steps", "K", "1000", NULL, NULL, "optimization steps (0 reports the initial network)",
     D(long), AT(steps), 0, 1e15, false, NULL, 0},
    {"tol", "TOL", NULL, "auto: 0 where R* > 0 is known, else 1e-6", NULL,
     "absolute part of the convergence tolerance: converged when the risk is within TOL + RTOL "
     "R* of R*",
     D(double), AT(tol), 0, BIG, false, NULL, 0},
    {"rtol", "RTOL", "0.1", NULL, NULL, "relative part of the convergence tolerance (see --tol)",
     D(double), AT(rtol), 0, BIG, false, NULL, 0},
    {"min_risk", "R", NULL, NULL, NULL,
     "the global-minimum risk R*, when you know it and sgdmc does not (min_risk_source given)",
     D(double), AT(min_risk), 0, BIG, false, NULL, 0},
    {"rstar_starts", "S", "0", NULL, NULL,
     "when R* is neither exact, computed nor given: estimate it as the best of S full-batch BFGS "
     "minimizations from initializations of their own (min_risk_source estimated; 0: R* unknown)",
     D(int), AT(rstar_starts), 0, 100000, false, NULL, ESTIMATE},
    {"rstar_iterations", "I", "2000", NULL, NULL, "BFGS iterations per start of --rstar_starts",
     D(int), AT(rstar_iterations), 1, 100000000, false, NULL, ESTIMATE},
    {"trajectory", "T", "0", NULL, NULL,
     "record risk and gradient norm at T log-spaced checkpoints", D(int), AT(trajectory), 0,
     100000, false, NULL, 0},
    {"checkpoints", "C", "8", NULL, NULL,
     "log-spaced checkpoints for min_grad_norm and divergence checks when --trajectory=0",
     D(int), AT(checkpoints), 1, 100000, false, NULL, 0},
    {"eval_points", "N", "4096", NULL, NULL,
     "quasi-Monte Carlo points of the risk evaluation for d >= 2 (d = 1 uses Gauss-Legendre nodes)",
     D(int), AT(eval_points), 16, 1 << 24, false, NULL, ESTIMATE},
    {"gram_points", "N", "32", NULL, NULL,
     "inputs of the output-Jacobian Gram measures at the end (mse; 0: skip them)", D(int),
     AT(gram_points), 0, SGDMC_EVAL_CHUNK, false, NULL, 0},
    {"blowup", "R", "1e10", NULL, NULL, "a risk above R (or a non-finite value) means status diverged",
     D(double), AT(blowup), 0, BIG, true, NULL, 0},
    {"save", "FILE.h5", NULL, NULL, NULL,
     "write the final parameters (same layout as --init=FILE.h5)", D(path), AT(save_file), 0, 0,
     false, NULL, 0},
};

_Static_assert(sizeof options / sizeof *options <= SGDMC_TRAIN_OPTION_SLOTS,
               "raise SGDMC_TRAIN_OPTION_SLOTS (config.h): it records which flags were given");

const sgdmc_option_table sgdmc_train_options = {
    options, sizeof options / sizeof *options, offsetof(sgdmc_train_config, given),
    SGDMC_TRAIN_OPTION_SLOTS};
