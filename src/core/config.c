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
    return 0;
fail:
    return -1;
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
