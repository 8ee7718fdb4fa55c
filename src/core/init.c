/* Initial parameters: the four random initializations and --init files. */
#include "sgdmc/core/init.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sgdmc/core/h5io.h"
#include "sgdmc/base/rng.h"

void sgdmc_init_draw(const sgdmc_train_config *c, const sgdmc_arch *arch, gsl_rng *rng,
                     double *params)
{
    const double a = c->init_scale;
    for (int k = 1; k <= arch->depth + 1; k++) {
        const int fan_in = arch->widths[k - 1], fan_out = arch->widths[k];
        double *w = params + sgdmc_arch_weight_offset(arch, k);
        double *b = params + sgdmc_arch_bias_offset(arch, k);
        const size_t nw = (size_t)fan_in * (size_t)fan_out;
        switch (c->init) {
        case SGDMC_INIT_UNIFORM:
            for (size_t i = 0; i < nw; i++)
                w[i] = a * (2.0 * gsl_rng_uniform(rng) - 1.0);
            for (int i = 0; i < fan_out; i++)
                b[i] = a * (2.0 * gsl_rng_uniform(rng) - 1.0);
            break;
        case SGDMC_INIT_NORMAL:
            for (size_t i = 0; i < nw; i++)
                w[i] = gsl_ran_gaussian_ziggurat(rng, a);
            for (int i = 0; i < fan_out; i++)
                b[i] = gsl_ran_gaussian_ziggurat(rng, a);
            break;
        case SGDMC_INIT_HE:
            for (size_t i = 0; i < nw; i++)
                w[i] = gsl_ran_gaussian_ziggurat(rng, a * sqrt(2.0 / fan_in));
            memset(b, 0, sizeof(double) * (size_t)fan_out);
            break;
        case SGDMC_INIT_GLOROT: {
            const double r = a * sqrt(6.0 / (fan_in + fan_out));
            for (size_t i = 0; i < nw; i++)
                w[i] = r * (2.0 * gsl_rng_uniform(rng) - 1.0);
            memset(b, 0, sizeof(double) * (size_t)fan_out);
            break;
        }
        case SGDMC_INIT_FILE:
        case SGDMC_INIT_COUNT:
            break;
        }
    }
}

int sgdmc_init_params(const sgdmc_train_config *c, const sgdmc_arch *arch, double *params,
                      char *err, size_t errlen)
{
    if (c->init == SGDMC_INIT_FILE) {
        char why[800];
        if (sgdmc_h5_read_params(c->init_file, arch, params, why, sizeof why) == 0)
            return 0;
        snprintf(err, errlen, "--init: %s", why);
        return -1;
    }
    sgdmc_mt_block block;
    gsl_rng rng = sgdmc_rng_on(&block);
    sgdmc_rng_seed(&rng, c->seed, SGDMC_STREAM_INIT);
    sgdmc_init_draw(c, arch, &rng, params);
    return 0;
}
