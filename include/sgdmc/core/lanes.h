/* Lockstep lanes: SGDMC_LANES training runs of one network shape at once,
 * one run per SIMD lane.
 *
 * The runs of a study's grid cell differ only in their seed: the same network
 * shape, loss, optimizer and learning rate at every step. Their parameters,
 * optimizer states and batches are stored [element][lane], and one step of
 * every lane is the same sequence of vector operations as one step of a
 * single run (net.c, loss.h, optim.c) is of scalar ones: the same products,
 * sums in the same order, no contraction (docs/architecture.md,
 * "Arithmetic"), and libm, sqrt and the other per-value functions called on
 * each lane's value. A run's numbers are therefore the same bits in any lane,
 * in a full or a padded group, as alone; tests/test_lanes.c holds this for
 * every optimizer, activation and loss. Batches of uniform inputs are drawn
 * for all lanes at once, each from its copy of its run's stream; the run
 * layer (train.c) keeps everything else of a run per lane: other sampling,
 * checkpoints, measurements. */
#ifndef SGDMC_LANES_H
#define SGDMC_LANES_H

#include <stdbool.h>

#include "sgdmc/base/mt_block.h"
#include "sgdmc/core/config.h"
#include "sgdmc/core/net.h"
#include "sgdmc/core/problem.h"

/* Runs per group, set by the build (meson option `lanes`): four doubles fill
 * one 256-bit vector (AVX2; on older x86-64 the compiler splits a group into
 * 128-bit halves), eight one 512-bit vector, which pays only on cores with
 * full-width 512-bit units (meson.build says where it was measured). */
#ifndef SGDMC_LANES
#define SGDMC_LANES 4
#endif
_Static_assert(SGDMC_LANES == 4 || SGDMC_LANES == 8, "SGDMC_LANES: 4 or 8 (the tested sizes)");
#define SGDMC_STRINGIFY_(x) #x
#define SGDMC_STRINGIFY(x) SGDMC_STRINGIFY_(x)

/* Whether lanes beat one run at a time for networks of this shape: below
 * width 32 (measured: docs/testing.md, Speed). Wider, a single run's matrix
 * products already fill the vector units, and a group's state leaves the
 * caches. */
bool sgdmc_lanes_pay(const sgdmc_arch *arch);

typedef struct sgdmc_lanes sgdmc_lanes;

/* For config's loss, l2 and optimizer (defaults resolved here) on networks of
 * shape arch, with batches of `batch` samples; NULL when out of memory. */
sgdmc_lanes *sgdmc_lanes_alloc(const sgdmc_train_config *config, const sgdmc_arch *arch,
                               int batch);
void sgdmc_lanes_free(sgdmc_lanes *lanes);

/* Starts a group of fresh runs: every lane's optimizer state as
 * sgdmc_optimizer_reset leaves it, step 0. */
void sgdmc_lanes_restart(sgdmc_lanes *lanes);
/* A lane's parameters (sgdmc_arch_param_count of them), in and out. */
void sgdmc_lanes_load(sgdmc_lanes *lanes, int lane, const double *params);
void sgdmc_lanes_store(const sgdmc_lanes *lanes, int lane, double *params);
/* A lane's batch for the next step: inputs x [d][batch] (feature-major, as
 * sgdmc_problem_sample draws them) and targets y [batch]. */
void sgdmc_lanes_set_batch(sgdmc_lanes *lanes, int lane, const double *x, const double *y);
/* Laned sampling, for problems whose batches are uniform words of the
 * sample stream (sgdmc_problem_uniform_words): each lane holds a copy of its
 * run's stream, and sgdmc_lanes_draw_batch draws every lane's next batch at
 * once, the same inputs and targets as sgdmc_problem_sample draws from that
 * stream. Load lanes 0, 1, ... in order; loading fails (false) when a lane's
 * stream stands at another word of its block than lane 0's. Store a lane's
 * stream back when its run stops, to leave the stream as one run at a time
 * leaves it. */
bool sgdmc_lanes_load_stream(sgdmc_lanes *lanes, int lane, const sgdmc_mt_block *stream);
void sgdmc_lanes_store_stream(const sgdmc_lanes *lanes, int lane, sgdmc_mt_block *stream);
void sgdmc_lanes_draw_batch(sgdmc_lanes *lanes, sgdmc_problem *problem);
/* One step of every lane with learning rate lr, as sgdmc_trainer_step does
 * for one run; loss[lane] is the lane's mini-batch loss, l2 penalty
 * included, before the update. */
void sgdmc_lanes_step(sgdmc_lanes *lanes, double lr, double loss[SGDMC_LANES]);

#endif
