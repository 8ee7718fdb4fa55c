/* Paper 004's structural error: the Gram matrix K = J J^T of the network's
 * output Jacobian J [n x P] on n inputs. For the mse risk on those inputs,
 * R = |f - y|^2 / n, its gradient is (2/n) J^T (f - y), so
 *     n |grad R|^2 / (4 lambda_max(K)) <= R <= n |grad R|^2 / (4 lambda_min(K)):
 * a small gradient means a small risk only as far as lambda_min allows. */
#ifndef SGDMC_GRAM_H
#define SGDMC_GRAM_H

#include "sgdmc/base/cancel.h"
#include "sgdmc/core/net.h"

typedef struct {
    double min_eig, max_eig; /* extreme eigenvalues of K (rounding below 0 made 0) */
    double risk;             /* R on the n inputs, without any l2 term */
    double grad_norm;        /* |grad R| */
} sgdmc_gram_measures;

typedef struct sgdmc_gram sgdmc_gram;

/* For networks of `arch` on `points` inputs; NULL when out of memory. */
sgdmc_gram *sgdmc_gram_alloc(const sgdmc_arch *arch, int points);
void sgdmc_gram_free(sgdmc_gram *gram);

/* The measures at params for inputs x, feature-major [d][points], and
 * targets y [points]; -1 when the eigensolver fails, SGDMC_CANCELLED when
 * `cancel` (may be NULL) asked to stop while K was being formed (the
 * eigensolver itself, at most 256 x 256, takes milliseconds). */
int sgdmc_gram_measure(sgdmc_gram *gram, const double *params, const double *x, const double *y,
                       const sgdmc_cancel *cancel, sgdmc_gram_measures *out);

#endif
