/* Everything that defines one training run; set through the option table
 * (options.h), whether from the command line or from a study config. */
#ifndef SGDMC_CONFIG_H
#define SGDMC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "sgdmc/base/options.h"
#include "sgdmc/core/net.h"
#include "sgdmc/core/optim.h"

/* At least the number of sgdmc train flags (train_options.c checks it). */
#define SGDMC_TRAIN_OPTION_SLOTS 64

typedef enum { SGDMC_INPUT_UNIFORM, SGDMC_INPUT_NORMAL, SGDMC_INPUT_COUNT } sgdmc_input_kind;
typedef enum {
    SGDMC_TARGET_CONSTANT,
    SGDMC_TARGET_SQUARE,
    SGDMC_TARGET_SIN,
    SGDMC_TARGET_TEACHER,
    SGDMC_TARGET_COUNT
} sgdmc_target_kind;
typedef enum { SGDMC_LOSS_MSE, SGDMC_LOSS_LOGISTIC, SGDMC_LOSS_COUNT } sgdmc_loss;
typedef enum {
    SGDMC_INIT_UNIFORM,
    SGDMC_INIT_NORMAL,
    SGDMC_INIT_HE,
    SGDMC_INIT_GLOROT,
    SGDMC_INIT_FILE,
    SGDMC_INIT_COUNT
} sgdmc_init_kind;
typedef enum { SGDMC_SCHEDULE_CONSTANT, SGDMC_SCHEDULE_POWER, SGDMC_SCHEDULE_COUNT } sgdmc_schedule;

extern const char *const sgdmc_input_names[SGDMC_INPUT_COUNT + 1];
extern const char *const sgdmc_target_names[SGDMC_TARGET_COUNT + 1];
extern const char *const sgdmc_loss_names[SGDMC_LOSS_COUNT + 1];
extern const char *const sgdmc_init_names[SGDMC_INIT_COUNT + 1];

typedef struct {
    /* network */
    int input_dim;                    /* 0: from the data file, else 1 */
    int depth;
    int width;
    int widths[SGDMC_MAX_DEPTH];      /* per layer when widths_count > 0 */
    int widths_count;
    sgdmc_activation activation;
    bool skip;
    /* initialization */
    sgdmc_init_kind init;
    double init_scale;
    char init_file[SGDMC_PATH_MAX];
    unsigned long seed;
    /* what is learned */
    sgdmc_input_kind input;
    sgdmc_target_kind target;
    double target_constant;
    int teacher_width;
    int teacher_depth;
    unsigned long teacher_seed;
    char data_file[SGDMC_PATH_MAX];
    int batch_size;                   /* 0: the whole data set every step */
    sgdmc_loss loss;
    double l2;
    /* optimization */
    sgdmc_optimizer_config optimizer;
    sgdmc_schedule schedule;
    double schedule_gamma;
    double schedule_k0;
    long steps;
    /* measurement */
    int trajectory;
    int checkpoints;
    int eval_points;
    int gram_points;                  /* inputs of the Gram measures, 0: none */
    double tol;                       /* NaN: auto (sgdmc_train_config_tol) */
    double rtol;                      /* converged: risk_gap <= tol + rtol R* */
    double min_risk;                  /* R* given by the user; NaN: not given */
    int rstar_starts;                 /* starts of the R* estimate (rstar_estimate.h), 0: none */
    int rstar_iterations;             /* BFGS iterations per start */
    double blowup;
    char save_file[SGDMC_PATH_MAX];
    /* which flags were given, by index in sgdmc_train_options (options.h):
     * a flag that has no effect where it was given is an error */
    unsigned char given[SGDMC_TRAIN_OPTION_SLOTS];
} sgdmc_train_config;

void sgdmc_train_config_defaults(sgdmc_train_config *config);
/* Cross-flag checks after every flag is set; 0 or -1 with a message. */
int sgdmc_train_config_check(const sgdmc_train_config *config, char *err, size_t errlen);
/* True when the flag `name` was given but has no effect in `config` (say
 * --target with --data, --beta1 with --optimizer=sgd), with why, naming the
 * flag that makes it void. A run refuses such a flag; a study refuses one
 * that has no effect in any of its grid cells. */
bool sgdmc_train_config_ignores(const sgdmc_train_config *config, const char *name, char *why,
                                size_t size);
/* The first given flag that `config` ignores (sgdmc_train_config_ignores):
 * -1 with the message; 0 when none. */
int sgdmc_train_config_check_ignored(const sgdmc_train_config *config, char *err,
                                     size_t errlen);
/* The network described by the config, input dimension given. */
void sgdmc_train_config_arch(const sgdmc_train_config *config, int input_dim, sgdmc_arch *arch);
/* The absolute tolerance of a run whose R* (upper bound) is min_risk: --tol,
 * or by default 0 where R* > 0 is known (the relative --rtol alone decides,
 * meaningful at every width) and 1e-6 where R* = 0 or is unknown. */
double sgdmc_train_config_tol(const sgdmc_train_config *config, double min_risk);
/* Learning rate of step k = 0, 1, ... */
double sgdmc_train_config_lr(const sgdmc_train_config *config, long step);

#endif
