/* The one table of `sgdmc train` options: names, defaults, help and parsers.
 * The command line and the study config both set options through it. */
#ifndef SGDMC_OPTIONS_H
#define SGDMC_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "sgdmc/config.h"

typedef struct sgdmc_option sgdmc_option;

/* The option called `name`, or NULL. */
const sgdmc_option *sgdmc_option_find(const char *name);
/* The option name closest to `name` (for "did you mean"), or NULL. */
const char *sgdmc_option_suggest(const char *name);
const char *sgdmc_option_name(const sgdmc_option *option);
/* Flags like --skip that may stand without a value. */
bool sgdmc_option_is_switch(const sgdmc_option *option);
/* Parses `value` into config; on failure writes a message that names the value
 * (the caller adds where it came from) and returns -1. */
int sgdmc_option_set(const sgdmc_option *option, sgdmc_train_config *config,
                     const char *value, char *err, size_t errlen);
/* A command's own flag (not a train option): 0, or -1 after printing why. */
typedef int (*sgdmc_own_flag_fn)(const char *name, const char *value, void *context);

/* Parses command-line flags (--name=value, --name value, --switch) into
 * config through the option table. Names in `own` (NULL-terminated, may be
 * NULL) go to own_flag instead. On a bad flag prints one line starting
 * "sgdmc COMMAND: " and naming the flag, and returns -1. */
int sgdmc_options_parse(int argc, char **argv, const char *command, sgdmc_train_config *config,
                        const char *const *own, sgdmc_own_flag_fn own_flag, void *context);

/* Prints every option with its default and meaning. */
void sgdmc_options_print_help(FILE *out);

#endif
