/* A run's initial parameters: drawn from its seed's stream, or read from an
 * --init file. */
#ifndef SGDMC_INIT_H
#define SGDMC_INIT_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "sgdmc/core/config.h"
#include "sgdmc/core/net.h"

/* Draws every parameter in flat order W1, b1, W2, ... from the configured
 * initialization (not an --init file) with rng. */
void sgdmc_init_draw(const sgdmc_train_config *config, const sgdmc_arch *arch, gsl_rng *rng,
                     double *params);

/* The run's initial parameters: the --init file's, or a draw from the
 * run's own initialization stream (rng.h). -1 with a message naming --init. */
int sgdmc_init_params(const sgdmc_train_config *config, const sgdmc_arch *arch, double *params,
                      char *err, size_t errlen);

#endif
