/* The option table of `sgdmc train`: one entry per flag, shared by the command
 * line and study configs so that a name is spelled in exactly one place. */
#include "sgdmc/options.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/evaluate.h"

typedef int (*setter)(const sgdmc_option *opt, sgdmc_train_config *c, const char *value,
                      char *err, size_t errlen);

struct sgdmc_option {
    const char *name;
    const char *metavar;
    const char *default_text;
    const char *help;
    setter set;
    size_t offset;              /* of the field set, for the generic setters */
    double min, max;            /* inclusive range for numbers */
    bool min_exclusive;
    const char *const *names;   /* for choices */
};

#define FIELD(c, opt, type) ((type *)((char *)(c) + (opt)->offset))
#define FAIL(...)                                                                          \
    do {                                                                                   \
        snprintf(err, errlen, __VA_ARGS__);                                                \
        return -1;                                                                         \
    } while (0)

static int parse_double(const char *text, double *out)
{
    if (!*text)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*end || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_long(const char *text, long *out)
{
    if (!*text)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*end || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

static int check_range(const sgdmc_option *opt, const char *value, double v, char *err,
                       size_t errlen)
{
    if (v < opt->min || v > opt->max || (opt->min_exclusive && v == opt->min)) {
        char lo[32], hi[32];
        snprintf(lo, sizeof lo, "%g", opt->min);
        snprintf(hi, sizeof hi, "%g", opt->max);
        if (opt->max >= DBL_MAX || opt->max >= (double)LONG_MAX)
            FAIL("'%s' is out of range (must be %s %s)", value, opt->min_exclusive ? ">" : ">=",
                 lo);
        FAIL("'%s' is out of range (must be in %s%s, %s])", value, opt->min_exclusive ? "(" : "[",
             lo, hi);
    }
    return 0;
}

static int set_double(const sgdmc_option *opt, sgdmc_train_config *c, const char *value,
                      char *err, size_t errlen)
{
    double v;
    if (parse_double(value, &v))
        FAIL("'%s' is not a finite number", value);
    if (check_range(opt, value, v, err, errlen))
        return -1;
    *FIELD(c, opt, double) = v;
    return 0;
}

static int set_long(const sgdmc_option *opt, sgdmc_train_config *c, const char *value, char *err,
                    size_t errlen)
{
    long v;
    if (parse_long(value, &v))
        FAIL("'%s' is not an integer", value);
    if (check_range(opt, value, (double)v, err, errlen))
        return -1;
    *FIELD(c, opt, long) = v;
    return 0;
}

static int set_int(const sgdmc_option *opt, sgdmc_train_config *c, const char *value, char *err,
                   size_t errlen)
{
    long v;
    if (parse_long(value, &v))
        FAIL("'%s' is not an integer", value);
    if (check_range(opt, value, (double)v, err, errlen))
        return -1;
    *FIELD(c, opt, int) = (int)v;
    return 0;
}

static int set_seed(const sgdmc_option *opt, sgdmc_train_config *c, const char *value, char *err,
                    size_t errlen)
{
    char *end;
    errno = 0;
    if (!*value || *value == '-')
        FAIL("'%s' is not a non-negative integer", value);
    unsigned long v = strtoul(value, &end, 10);
    if (*end || errno == ERANGE)
        FAIL("'%s' is not a non-negative integer", value);
    *FIELD(c, opt, unsigned long) = v;
    return 0;
}

static int set_bool(const sgdmc_option *opt, sgdmc_train_config *c, const char *value, char *err,
                    size_t errlen)
{
    bool v;
    if (!strcmp(value, "true") || !strcmp(value, "1"))
        v = true;
    else if (!strcmp(value, "false") || !strcmp(value, "0"))
        v = false;
    else
        FAIL("'%s' is not a boolean (true or false)", value);
    *FIELD(c, opt, bool) = v;
    return 0;
}

static void list_names(const char *const *names, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; names[i]; i++) {
        if (i)
            strncat(buf, ", ", len - strlen(buf) - 1);
        strncat(buf, names[i], len - strlen(buf) - 1);
    }
}

static int find_name(const char *const *names, const char *value)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], value))
            return i;
    return -1;
}

static int set_choice(const sgdmc_option *opt, sgdmc_train_config *c, const char *value,
                      char *err, size_t errlen)
{
    int i = find_name(opt->names, value);
    if (i < 0) {
        char choices[256];
        list_names(opt->names, choices, sizeof choices);
        FAIL("unknown value '%s' (choose one of: %s)", value, choices);
    }
    *FIELD(c, opt, int) = i;
    return 0;
}

static int set_path(const sgdmc_option *opt, sgdmc_train_config *c, const char *value, char *err,
                    size_t errlen)
{
    if (!*value)
        FAIL("empty file name");
    if (strlen(value) >= SGDMC_PATH_MAX)
        FAIL("file name longer than %d characters", SGDMC_PATH_MAX - 1);
    strcpy(FIELD(c, opt, char), value);
    return 0;
}

static int set_widths(const sgdmc_option *opt, sgdmc_train_config *c, const char *value,
                      char *err, size_t errlen)
{
    (void)opt;
    int count = 0;
    const char *p = value;
    while (1) {
        char *end;
        errno = 0;
        long w = strtol(p, &end, 10);
        if (end == p || errno == ERANGE || (*end && *end != ','))
            FAIL("'%s' is not a comma-separated list of integers (e.g. 8,8,4)", value);
        if (w < 1 || w > 100000)
            FAIL("'%s': width %ld is out of range (must be in [1, 100000])", value, w);
        if (count == SGDMC_MAX_DEPTH)
            FAIL("'%s': more than %d layers", value, SGDMC_MAX_DEPTH);
        c->widths[count++] = (int)w;
        if (!*end)
            break;
        p = end + 1;
    }
    c->widths_count = count;
    return 0;
}

static int set_target(const sgdmc_option *opt, sgdmc_train_config *c, const char *value,
                      char *err, size_t errlen)
{
    (void)opt;
    if (!strncmp(value, "constant:", 9)) {
        if (parse_double(value + 9, &c->target_constant))
            FAIL("'%s': the constant after 'constant:' is not a finite number", value);
        c->target = SGDMC_TARGET_CONSTANT;
        return 0;
    }
    int i = find_name(sgdmc_target_names, value);
    if (i < 0 || i == SGDMC_TARGET_CONSTANT)
        FAIL("unknown target '%s' (choose one of: constant:C, square, sin, teacher)", value);
    c->target = (sgdmc_target_kind)i;
    return 0;
}

static int set_schedule(const sgdmc_option *opt, sgdmc_train_config *c, const char *value,
                        char *err, size_t errlen)
{
    (void)opt;
    if (!strcmp(value, "constant")) {
        c->schedule = SGDMC_SCHEDULE_CONSTANT;
        return 0;
    }
    if (strncmp(value, "power:", 6))
        FAIL("unknown schedule '%s' (choose constant or power:GAMMA[,K0])", value);
    char buf[128];
    snprintf(buf, sizeof buf, "%s", value + 6);
    char *comma = strchr(buf, ',');
    double k0 = 1.0, gamma;
    if (comma) {
        *comma = '\0';
        if (parse_double(comma + 1, &k0) || k0 <= 0.0)
            FAIL("'%s': K0 must be a number > 0", value);
    }
    if (parse_double(buf, &gamma) || gamma < 0.0)
        FAIL("'%s': GAMMA must be a number >= 0", value);
    c->schedule = SGDMC_SCHEDULE_POWER;
    c->schedule_gamma = gamma;
    c->schedule_k0 = k0;
    return 0;
}

static int set_init(const sgdmc_option *opt, sgdmc_train_config *c, const char *value, char *err,
                    size_t errlen)
{
    int i = find_name(sgdmc_init_names, value);
    if (i >= 0 && i != SGDMC_INIT_FILE) {
        c->init = (sgdmc_init_kind)i;
        return 0;
    }
    size_t n = strlen(value);
    if (n > 3 && !strcmp(value + n - 3, ".h5")) {
        if (set_path(opt, c, value, err, errlen))
            return -1;
        c->init = SGDMC_INIT_FILE;
        return 0;
    }
    FAIL("unknown initialization '%s' (choose uniform, normal, he, glorot or a FILE.h5)", value);
}

#define OPT_FIELD(f) offsetof(sgdmc_train_config, f)
#define BIG DBL_MAX

static const sgdmc_option options[] = {
    {"input_dim", "D", "from --data, else 1", "input dimension d", set_int, OPT_FIELD(input_dim),
     1, 100000, false, NULL},
    {"depth", "L", "1", "number of hidden layers", set_int, OPT_FIELD(depth), 1, SGDMC_MAX_DEPTH,
     false, NULL},
    {"width", "N", "4", "width of every hidden layer", set_int, OPT_FIELD(width), 1, 100000,
     false, NULL},
    {"widths", "A,B,..", "none", "width of each hidden layer (one per layer; overrides --width)",
     set_widths, 0, 0, 0, false, NULL},
    {"activation", "NAME", "relu", "hidden activation: relu, tanh, sigmoid, softplus",
     set_choice, OPT_FIELD(activation), 0, 0, false, sgdmc_activation_names},
    {"skip", "", "false",
     "identity skip connections between consecutive hidden layers of equal width", set_bool,
     OPT_FIELD(skip), 0, 0, false, NULL},
    {"init", "NAME|FILE.h5", "uniform",
     "uniform (weights, biases iid U[-a,a]), normal (N(0,a^2)), he (weights N(0, 2a^2/fan_in), "
     "biases 0), glorot (weights U[-r,r], r = a sqrt(6/(fan_in+fan_out)), biases 0), or an HDF5 "
     "file with W1..W{L+1}, b1..b{L+1}",
     set_init, OPT_FIELD(init_file), 0, 0, false, NULL},
    {"init_scale", "A", "1", "the scale a of --init", set_double, OPT_FIELD(init_scale), 0, BIG,
     true, NULL},
    {"seed", "S", "0", "seed of the run: initialization and sample stream", set_seed,
     OPT_FIELD(seed), 0, 0, false, NULL},
    {"input", "NAME", "uniform", "input distribution: uniform (U[0,1]^d) or normal (N(0,I_d))",
     set_choice, OPT_FIELD(input), 0, 0, false, sgdmc_input_names},
    {"target", "NAME", "square",
     "target function: constant:C, square (|x|^2), sin (sin(2 pi sum_i x_i)), teacher", set_target,
     0, 0, 0, false, NULL},
    {"teacher_width", "N", "2", "hidden width of the teacher network", set_int,
     OPT_FIELD(teacher_width), 1, 100000, false, NULL},
    {"teacher_depth", "L", "1", "hidden layers of the teacher network", set_int,
     OPT_FIELD(teacher_depth), 1, SGDMC_MAX_DEPTH, false, NULL},
    {"teacher_seed", "S", "0", "seed of the teacher's U[-1,1] weights and biases", set_seed,
     OPT_FIELD(teacher_seed), 0, 0, false, NULL},
    {"data", "FILE.h5", "none",
     "learn from data: datasets x [n,d] and y [n,1] instead of a distribution", set_path,
     OPT_FIELD(data_file), 0, 0, false, NULL},
    {"batch_size", "B", "16", "samples per step; 0 = the whole data set (needs --data)", set_int,
     OPT_FIELD(batch_size), 0, 1 << 24, false, NULL},
    {"loss", "NAME", "mse",
     "mse (mean squared error, no 1/2) or logistic (mean log(1+exp(-y f)); needs --data)",
     set_choice, OPT_FIELD(loss), 0, 0, false, sgdmc_loss_names},
    {"l2", "LAMBDA", "0", "adds LAMBDA times the squared Frobenius norm of all weight matrices",
     set_double, OPT_FIELD(l2), 0, BIG, false, NULL},
    {"optimizer", "NAME", "sgd",
     "sgd, momentum, nesterov, adagrad, rmsprop, adam, adamax, amsgrad, nadam, signsgd, "
     "normalized_sgd, clipped_sgd, lion",
     set_choice, OPT_FIELD(optimizer.kind), 0, 0, false, sgdmc_optimizer_names},
    {"lr", "ETA", "per optimizer (PyTorch's; 0.01 for sgd-type, 1e-4 for lion)",
     "base learning rate", set_double, OPT_FIELD(optimizer.lr), 0, BIG, true, NULL},
    {"lr_schedule", "constant|power:G[,K0]", "constant",
     "step k = 0,1,.. uses lr / (k + K0)^G (K0 defaults to 1)", set_schedule, 0, 0, 0, false,
     NULL},
    {"momentum", "MU", "0.9 for momentum, nesterov and --timescale=two, else 0",
     "heavy-ball momentum (sgd, momentum, nesterov, rmsprop); beta = MU in --timescale=two",
     set_double, OPT_FIELD(optimizer.momentum), 0, 1, false, NULL},
    {"beta1", "B1", "0.9", "first-moment decay (adam-type, lion)", set_double,
     OPT_FIELD(optimizer.beta1), 0, 1, false, NULL},
    {"beta2", "B2", "0.999 (rmsprop's alpha: 0.99; lion: 0.99)",
     "second-moment decay (adam-type, rmsprop's alpha, lion's momentum decay)", set_double,
     OPT_FIELD(optimizer.beta2), 0, 1, false, NULL},
    {"eps", "EPS", "1e-8 (adagrad: 1e-10)", "denominator guard of adaptive optimizers",
     set_double, OPT_FIELD(optimizer.eps), 0, BIG, false, NULL},
    {"weight_decay", "WD", "0", "L2 penalty added to the gradient (decoupled for lion)",
     set_double, OPT_FIELD(optimizer.weight_decay), 0, BIG, false, NULL},
    {"clip", "C", "1", "clipping threshold of clipped_sgd", set_double, OPT_FIELD(optimizer.clip),
     0, BIG, true, NULL},
    {"timescale", "NAME", "none",
     "paper 003's momentum framework: none, single (theta_k = min(1, tau eta_k)) or two "
     "(theta_k = 1 - momentum)",
     set_choice, OPT_FIELD(optimizer.timescale), 0, 0, false, sgdmc_timescale_names},
    {"tau", "TAU", "1", "theta_k = min(1, tau * eta_k) in --timescale=single", set_double,
     OPT_FIELD(optimizer.tau), 0, BIG, true, NULL},
    {"steps", "K", "1000", "optimization steps (0 reports the initial network)", set_long,
     OPT_FIELD(steps), 0, 1e15, false, NULL},
    {"tol", "TOL", "1e-3", "converged when risk_gap <= TOL + RTOL R*", set_double, OPT_FIELD(tol),
     0, BIG, false, NULL},
    {"rtol", "RTOL", "0", "relative part of the convergence tolerance (see --tol)", set_double,
     OPT_FIELD(rtol), 0, BIG, false, NULL},
    {"min_risk", "R", "none",
     "the global-minimum risk R*, when you know it and sgdmc does not (min_risk_source given)",
     set_double, OPT_FIELD(min_risk), 0, BIG, false, NULL},
    {"rstar_starts", "S", "0",
     "when R* is neither exact, computed nor given: estimate it as the best of S full-batch BFGS "
     "minimizations from initializations of their own (min_risk_source estimated; 0: R* unknown)",
     set_int, OPT_FIELD(rstar_starts), 0, 100000, false, NULL},
    {"rstar_iterations", "I", "2000", "BFGS iterations per start of --rstar_starts", set_int,
     OPT_FIELD(rstar_iterations), 1, 100000000, false, NULL},
    {"trajectory", "T", "0", "record risk and gradient norm at T log-spaced checkpoints", set_int,
     OPT_FIELD(trajectory), 0, 100000, false, NULL},
    {"checkpoints", "C", "8",
     "log-spaced checkpoints for min_grad_norm and divergence checks when --trajectory=0",
     set_int, OPT_FIELD(checkpoints), 1, 100000, false, NULL},
    {"eval_points", "N", "4096",
     "quasi-Monte Carlo points of the risk evaluation for d >= 2 (d = 1 integrates exactly)",
     set_int, OPT_FIELD(eval_points), 16, 1 << 24, false, NULL},
    {"gram_points", "N", "32",
     "inputs of the output-Jacobian Gram measures at the end (mse; 0: skip them)", set_int,
     OPT_FIELD(gram_points), 0, SGDMC_EVAL_CHUNK, false, NULL},
    {"blowup", "R", "1e10", "a risk above R (or a non-finite value) means status diverged",
     set_double, OPT_FIELD(blowup), 0, BIG, true, NULL},
    {"save", "FILE.h5", "none", "write the final parameters (same layout as --init=FILE.h5)",
     set_path, OPT_FIELD(save_file), 0, 0, false, NULL},
};

#define OPTION_COUNT (sizeof options / sizeof options[0])

const sgdmc_option *sgdmc_option_find(const char *name)
{
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (!strcmp(options[i].name, name))
            return &options[i];
    return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *sgdmc_option_suggest(const char *name)
{
    const char *best = NULL;
    size_t best_distance = 3;
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        size_t d = edit_distance(name, options[i].name);
        if (d < best_distance) {
            best_distance = d;
            best = options[i].name;
        }
    }
    return best;
}

const char *sgdmc_option_name(const sgdmc_option *option) { return option->name; }

bool sgdmc_option_is_switch(const sgdmc_option *option) { return option->set == set_bool; }

int sgdmc_option_set(const sgdmc_option *option, sgdmc_train_config *config, const char *value,
                     char *err, size_t errlen)
{
    return option->set(option, config, value, err, errlen);
}

void sgdmc_options_print_help(FILE *out)
{
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const sgdmc_option *o = &options[i];
        char flag[64];
        snprintf(flag, sizeof flag, "--%s%s%s", o->name, *o->metavar ? "=" : "", o->metavar);
        fprintf(out, "  %-30s %s\n  %-30s (default: %s)\n", flag, o->help, "", o->default_text);
    }
}

static bool is_own(const char *const *own, const char *name)
{
    for (int i = 0; own && own[i]; i++)
        if (!strcmp(own[i], name))
            return true;
    return false;
}

int sgdmc_options_parse(int argc, char **argv, const char *command, sgdmc_train_config *config,
                        const char *const *own, sgdmc_own_flag_fn own_flag, void *context)
{
    char err[512];
    const sgdmc_option *seen[128];
    int seen_count = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
            fprintf(stderr, "sgdmc %s: unexpected argument '%s' (flags look like --name=value)\n",
                    command, arg);
            return -1;
        }
        char name[64];
        const char *eq = strchr(arg, '=');
        const size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof name) {
            fprintf(stderr, "sgdmc %s: unknown flag '%.*s'\n", command, (int)(len + 2), arg);
            return -1;
        }
        memcpy(name, arg + 2, len);
        name[len] = '\0';
        const bool mine = is_own(own, name);
        const sgdmc_option *option = mine ? NULL : sgdmc_option_find(name);
        if (!mine && !option) {
            const char *guess = sgdmc_option_suggest(name);
            fprintf(stderr, "sgdmc %s: unknown flag '--%s'%s%s%s (see sgdmc %s --help)\n",
                    command, name, guess ? "; did you mean --" : "", guess ? guess : "",
                    guess ? "?" : "", command);
            return -1;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (option && sgdmc_option_is_switch(option))
            value = "true";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(stderr, "sgdmc %s: --%s: missing value\n", command, name);
            return -1;
        }
        if (mine) {
            if (own_flag(name, value, context))
                return -1;
            continue;
        }
        for (int j = 0; j < seen_count; j++)
            if (seen[j] == option) {
                fprintf(stderr, "sgdmc %s: --%s: given twice\n", command, name);
                return -1;
            }
        if (seen_count < 128)
            seen[seen_count++] = option;
        if (sgdmc_option_set(option, config, value, err, sizeof err)) {
            fprintf(stderr, "sgdmc %s: --%s: %s\n", command, name, err);
            return -1;
        }
    }
    return 0;
}
