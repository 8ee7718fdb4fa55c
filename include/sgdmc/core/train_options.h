/* The flags of `sgdmc train`, which are also the keys of a study's train and
 * grid sections (options.h). */
#ifndef SGDMC_TRAIN_OPTIONS_H
#define SGDMC_TRAIN_OPTIONS_H

#include "sgdmc/core/config.h"
#include "sgdmc/base/options.h"

/* Targets a sgdmc_train_config. */
extern const sgdmc_option_table sgdmc_train_options;

#endif
