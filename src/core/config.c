/* Defaults and cross-flag checks of a training run's configuration. */
#include "sgdmc/core/config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sgdmc/base/error.h"
#include "sgdmc/core/train_options.h"

const char *const sgdmc_input_names[SGDMC_INPUT_COUNT + 1] = {"uniform", "normal", NULL};
const char *const sgdmc_target_names[SGDMC_TARGET_COUNT + 1] = {"constant", "square", "sin",
                                                               "teacher", NULL};
const char *const sgdmc_loss_names[SGDMC_LOSS_COUNT + 1] = {"mse", "logistic", NULL};
const char *const sgdmc_init_names[SGDMC_INIT_COUNT + 1] = {"uniform", "normal", "he", "glorot",
                                                           "FILE.h5", NULL};

void sgdmc_train_config_defaults(sgdmc_train_config *c)
{
    memset(c, 0, sizeof *c);
    /* "not given": the optimizer's own default (optim.c), no R* given */
    c->optimizer = (sgdmc_optimizer_config){.lr = NAN, .momentum = NAN, .beta1 = NAN,
                                            .beta2 = NAN, .eps = NAN, .weight_decay = NAN,
                                            .clip = NAN, .tau = NAN};
    c->min_risk = NAN;
    c->tol = NAN; /* auto: sgdmc_train_config_tol */
    sgdmc_options_set_defaults(&sgdmc_train_options, c);
}

int sgdmc_train_config_check(const sgdmc_train_config *c, char *err, size_t errlen)
{
    const bool data = c->data_file[0] != '\0';
    if (c->widths_count > 0 && c->widths_count != c->depth)
        SGDMC_FAIL("--widths: %d widths given but --depth=%d (give one width per hidden layer)",
             c->widths_count, c->depth);
    if (c->loss == SGDMC_LOSS_LOGISTIC && !data)
        SGDMC_FAIL("--loss=logistic: needs labelled data (--data=FILE.h5 with y in {-1,+1} or {0,1})");
    if (c->batch_size == 0 && !data)
        SGDMC_FAIL("--batch_size=0 (the whole data set) needs --data; distribution problems draw "
             "fresh samples, so give a batch size >= 1");
    if (c->optimizer.timescale != SGDMC_TIMESCALE_NONE &&
        !sgdmc_optimizer_has_framework(c->optimizer.kind)) {
        const char *framework[SGDMC_OPT_COUNT + 1];
        int count = 0;
        for (int k = 0; k < SGDMC_OPT_COUNT; k++)
            if (sgdmc_optimizer_has_framework(k))
                framework[count++] = sgdmc_optimizer_names[k];
        framework[count] = NULL;
        char names[256];
        sgdmc_names_list(framework, NULL, names, sizeof names);
        SGDMC_FAIL("--timescale=%s: not defined for --optimizer=%s (use %s)",
                   sgdmc_timescale_names[c->optimizer.timescale],
                   sgdmc_optimizer_names[c->optimizer.kind], names);
    }
    if (c->input_dim > 40 && !data)
        SGDMC_FAIL("--input_dim=%d: distribution problems support at most 40 input dimensions "
             "(the quasi-Monte Carlo risk evaluation's limit)",
             c->input_dim);
    if (c->target == SGDMC_TARGET_TEACHER && c->teacher_depth > SGDMC_MAX_DEPTH)
        SGDMC_FAIL("--teacher_depth=%d: at most %d", c->teacher_depth, SGDMC_MAX_DEPTH);
    if (c->optimizer.kind == SGDMC_OPT_NESTEROV && c->optimizer.momentum == 0.0)
        SGDMC_FAIL("--optimizer=nesterov: needs --momentum > 0 (as in PyTorch; momentum 0 is "
                   "plain sgd)");
    return 0;
fail:
    return -1;
}

static bool given(const sgdmc_train_config *c, const char *name)
{
    return sgdmc_option_given(&sgdmc_train_options, c, name);
}

/* Whether --skip adds an identity connection anywhere in this network. */
static bool has_equal_neighbours(const sgdmc_train_config *c)
{
    sgdmc_arch arch;
    sgdmc_train_config_arch(c, 1, &arch);
    for (int layer = 1; layer <= arch.depth; layer++)
        if (sgdmc_arch_skips_into(&arch, layer))
            return true;
    return false;
}

/* The optimizers whose update reads hyperparameter `name` (any timescale). */
static void users_of(const sgdmc_train_config *c, const char *name, char *buf, size_t size)
{
    const char *users[SGDMC_OPT_COUNT + 1];
    int count = 0;
    for (int k = 0; k < SGDMC_OPT_COUNT; k++) {
        sgdmc_optimizer_config probe = c->optimizer;
        probe.kind = (sgdmc_optimizer_kind)k;
        probe.timescale = SGDMC_TIMESCALE_NONE;
        if (sgdmc_optimizer_uses(&probe, name))
            users[count++] = sgdmc_optimizer_names[k];
    }
    users[count] = NULL;
    sgdmc_names_list(users, NULL, buf, size);
}

bool sgdmc_train_config_ignores(const sgdmc_train_config *c, const char *name, char *why,
                                size_t size)
{
    if (!given(c, name))
        return false;
    const bool data = c->data_file[0] != '\0';
    const char *const problem_flags[] = {"target", "input", "teacher_width", "teacher_depth",
                                         "teacher_seed", NULL};
    for (int i = 0; data && problem_flags[i]; i++)
        if (!strcmp(name, problem_flags[i])) {
            snprintf(why, size, "--%s has no effect with --data (the data set is what is "
                     "learned): drop one of them", name);
            return true;
        }
    if (!strncmp(name, "teacher_", 8) && c->target != SGDMC_TARGET_TEACHER) {
        snprintf(why, size, "--%s has no effect without --target=teacher", name);
        return true;
    }
    if (!strcmp(name, "init_scale") && c->init == SGDMC_INIT_FILE) {
        snprintf(why, size, "--init_scale has no effect with --init=%s (a file's parameters are "
                 "used as they are)", c->init_file);
        return true;
    }
    if (!strcmp(name, "width") && c->widths_count > 0) {
        snprintf(why, size, "--width has no effect with --widths (each hidden layer's width): "
                 "drop one of them");
        return true;
    }
    if (!strcmp(name, "skip") && c->skip && !has_equal_neighbours(c)) {
        snprintf(why, size, "--skip has no effect here: skips join consecutive hidden layers of "
                 "equal width, and %s", c->depth < 2 ? "--depth=1 has one hidden layer"
                                                     : "no two consecutive ones are equal");
        return true;
    }
    if (!strcmp(name, "rstar_iterations") && c->rstar_starts == 0) {
        snprintf(why, size, "--rstar_iterations has no effect without --rstar_starts >= 1");
        return true;
    }
    /* --gram_points=0 (no Gram measures) says what logistic runs do anyway */
    if (!strcmp(name, "gram_points") && c->loss == SGDMC_LOSS_LOGISTIC && c->gram_points != 0) {
        snprintf(why, size, "--gram_points has no effect with --loss=logistic (the Gram "
                 "measures are for the mean squared error)");
        return true;
    }
    if (!sgdmc_optimizer_uses(&c->optimizer, name)) {
        char users[256];
        users_of(c, name, users, sizeof users);
        if (c->optimizer.timescale == SGDMC_TIMESCALE_NONE && !users[0])
            snprintf(why, size, "--%s has no effect with --optimizer=%s (it is read only under "
                     "a --timescale)", name, sgdmc_optimizer_names[c->optimizer.kind]);
        else if (c->optimizer.timescale == SGDMC_TIMESCALE_NONE)
            snprintf(why, size, "--%s has no effect with --optimizer=%s (used by %s)", name,
                     sgdmc_optimizer_names[c->optimizer.kind], users);
        else
            snprintf(why, size, "--%s has no effect with --optimizer=%s --timescale=%s", name,
                     sgdmc_optimizer_names[c->optimizer.kind],
                     sgdmc_timescale_names[c->optimizer.timescale]);
        return true;
    }
    return false;
}

int sgdmc_train_config_check_ignored(const sgdmc_train_config *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < sgdmc_train_options.count; i++)
        if (sgdmc_train_config_ignores(c, sgdmc_train_options.options[i].name, err, errlen))
            return -1;
    return 0;
}

void sgdmc_train_config_arch(const sgdmc_train_config *c, int input_dim, sgdmc_arch *arch)
{
    memset(arch, 0, sizeof *arch);
    arch->depth = c->depth;
    arch->widths[0] = input_dim;
    for (int k = 1; k <= c->depth; k++)
        arch->widths[k] = c->widths_count > 0 ? c->widths[k - 1] : c->width;
    arch->widths[c->depth + 1] = 1;
    arch->activation = c->activation;
    arch->skip = c->skip;
}

double sgdmc_train_config_tol(const sgdmc_train_config *c, double min_risk)
{
    if (!isnan(c->tol))
        return c->tol;
    return min_risk > 0 ? 0.0 : 1e-6;
}

double sgdmc_train_config_lr(const sgdmc_train_config *c, long step)
{
    if (c->schedule == SGDMC_SCHEDULE_POWER)
        return c->optimizer.lr / pow((double)step + c->schedule_k0, c->schedule_gamma);
    return c->optimizer.lr;
}
