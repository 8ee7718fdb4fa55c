/* What a run learns: a target function of random inputs, or a data set. */
#ifndef SGDMC_PROBLEM_H
#define SGDMC_PROBLEM_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "sgdmc/core/config.h"
#include "sgdmc/core/net.h"

typedef struct sgdmc_problem sgdmc_problem;

/* Loads the data file or draws the teacher. Batches passed to the functions
 * below hold at most `capacity` samples. NULL with a message on failure. */
sgdmc_problem *sgdmc_problem_alloc(const sgdmc_train_config *config, int capacity, char *err,
                                   size_t errlen);
void sgdmc_problem_free(sgdmc_problem *problem);

int sgdmc_problem_input_dim(const sgdmc_problem *problem);
sgdmc_input_kind sgdmc_problem_input(const sgdmc_problem *problem);
sgdmc_target_kind sgdmc_problem_target(const sgdmc_problem *problem);
/* Number of samples of a data problem, 0 for a distribution. */
int sgdmc_problem_data_count(const sgdmc_problem *problem);
/* The whole data set feature-major: x [d][stride] (columns 0..n-1) and the
 * labels y [n] (logistic labels mapped to -1/+1). */
void sgdmc_problem_data_columns(const sgdmc_problem *problem, double *x, size_t stride,
                                double *y);
/* The teacher network, or NULL when the target is not a teacher. */
const sgdmc_arch *sgdmc_problem_teacher(const sgdmc_problem *problem, const double **params);

/* Target values y[count] at inputs x stored feature-major [d][count]; each
 * y[s] a function of sample s alone, whatever count is and wherever s stands
 * (lockstep lanes compute all lanes' targets in one call). */
void sgdmc_problem_targets(sgdmc_problem *problem, const double *x, int count, double *y);
/* A mini-batch: fresh inputs from the distribution, or data rows drawn
 * uniformly with replacement. x is feature-major [d][count]. */
void sgdmc_problem_sample(sgdmc_problem *problem, gsl_rng *rng, int count, double *x, double *y);
/* Whether sgdmc_problem_sample draws a batch as exactly count * d uniform
 * words of rng's stream, sample by sample and feature by feature: uniform
 * inputs, no data set. */
bool sgdmc_problem_uniform_words(const sgdmc_problem *problem);

/* The global-minimum risk of `student` on this problem when known, NaN
 * otherwise: 0 under mse without l2 for a constant target, and for a teacher
 * the student realizes (no active skip, every width >= the teacher's, the
 * same depth, or a larger depth for ReLU). */
double sgdmc_problem_min_risk(const sgdmc_problem *problem, const sgdmc_arch *student,
                              const sgdmc_train_config *config);

#endif
