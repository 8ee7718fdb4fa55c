/* Certificates for ever: which dead ReLU neurons a run keeps dead under its
 * optimizer, and the proven lower bound of every risk it can still reach.
 *
 * The facts (derived in docs/minimum.md, each excluded case tested):
 * - Every optimizer of sgdmc updates a coordinate from that coordinate's
 *   gradient and its own optimizer state only (normalized and clipped steps
 *   also divide by the whole gradient's norm): a coordinate whose gradient
 *   has been 0 since the start, with state 0, never moves (adaptive steps
 *   need eps > 0: 0/0 is NaN). Dead structure at
 *   initialization (zero state) therefore stays frozen as long as its
 *   gradient stays 0, which it does while it stays dead:
 *     (a) a first-layer neuron dead on the input domain;
 *     (b) a deeper neuron whose incoming weights and bias are all <= 0 (its
 *         inputs are ReLU outputs >= 0, skips included): dead for any input;
 *     (c) a hidden layer entirely dead on the domain with no skip into it:
 *         nothing passes it, so every layer up to it is frozen and the
 *         network is constant for ever.
 * - Weight decay and l2 give frozen coordinates a gradient (wd x, 2 l2 w).
 *   Adaptive, sign, normalized and momentum updates can then overshoot 0
 *   and revive a neuron. Plain SGD (no momentum), clipped SGD (no timescale)
 *   and Lion (decoupled decay, no l2) only multiply such coordinates by
 *   factors in [0, 1] when max_k lr_k (wd + 2 l2) <= 1 (1 - 1e-9 in floating
 *   point, where a factor of 1 can round past 0): (b) survives, and
 *   (a) does when the neuron's bias is <= 0 (then any such shrinking keeps
 *   b + w.x <= 0); (c) does not (the layers below change and may revive it).
 * - A neuron that dies during training may carry optimizer state (momentum,
 *   Adam's moments) that moves it again. Only memoryless updates, which move
 *   a coordinate with zero gradient by nothing whatever happened before
 *   (sgd without momentum, signsgd, normalized and clipped sgd without a
 *   timescale, adagrad, rmsprop without momentum), freeze what is dead at
 *   the end; under decay only the contracting ones above. */
#ifndef SGDMC_CERTIFICATE_H
#define SGDMC_CERTIFICATE_H

#include <stdbool.h>

#include "sgdmc/core/config.h"
#include "sgdmc/core/net.h"

typedef struct {
    bool from_start;       /* structure dead at initialization stays frozen */
    bool from_end;         /* structure dead at the end stays frozen */
    bool layers;           /* (c): an entirely dead layer freezes those below */
    bool bias_nonpositive; /* (a) only for neurons with bias <= 0 (decay) */
} sgdmc_permanence;

/* The permanence conditions of a run of `config` (hyperparameters resolved). */
sgdmc_permanence sgdmc_permanence_of(const sgdmc_train_config *config);

/* frozen[u] = 1 for the hidden units u (layer by layer) of the network
 * `params` that the permanence keeps dead for ever from now on, given their
 * dead-on-the-domain flags alive[u] (as sgdmc_count_dead leaves them),
 * under (a), (b), (c); all 0 unless `active` (from_start at initialization,
 * from_end at the end). */
void sgdmc_frozen_units(const sgdmc_arch *arch, const double *params, const int *alive,
                        sgdmc_permanence permanence, bool active, int *frozen);

/* Whether the network is constant on the domain: a hidden layer whose units
 * all have dead[u] set (dead: !alive, or frozen), and no skip into it. */
bool sgdmc_network_is_constant(const sgdmc_arch *arch, const int *dead);

/* Per hidden layer, count[k - 1] = the units with flag[u] set. */
void sgdmc_count_units(const sgdmc_arch *arch, const int *flag, int *count);

#endif
