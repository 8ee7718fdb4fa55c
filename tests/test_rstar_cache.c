/* The process's one R* cache: a study whose grid cells differ only in the
 * optimizer computes each problem's R* once (every one-layer R*(k) and
 * estimate stored once, never replaced, and found by the other cells), and
 * gives the same file as without sharing. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "sgdmc/minimum/rstar_cache.h"
#include "sgdmc/study/study_run.h"

static const char config[] =
    "name = \"cache\";\n"
    "seeds = 6;\n"
    "train = { steps = 300; target = \"square\"; };\n"
    "grid = { optimizer = [\"sgd\", \"momentum\", \"adam\"]; width = [2, 3]; };\n";

/* A depth-2 cell estimates R*: the estimate is keyed by the architecture too. */
static const char estimate_config[] =
    "name = \"cache_estimate\";\n"
    "seeds = 3;\n"
    "train = { steps = 100; depth = 2; width = 2; rstar_starts = 2; rstar_iterations = 50; };\n"
    "grid = { optimizer = [\"sgd\", \"adam\"]; batch_size = [8, 16]; };\n";

static sgdmc_rstar_cache_stats run(const char *text, const char *output)
{
    sgdmc_study study;
    char err[2048];
    sgdmc_rstar_cache *cache = sgdmc_rstar_cache_alloc();
    sgdmc_rstar_cache_stats stats = {0};
    if (!cache || sgdmc_study_parse(text, "(test)", &study, err, sizeof err)) {
        CHECK(0, "setup: %s", err);
        sgdmc_rstar_cache_free(cache);
        return stats;
    }
    const sgdmc_study_options options = {.output = output, .force = true,
                                         .rstar_cache = cache};
    const sgdmc_study_outcome outcome = sgdmc_study_run(MPI_COMM_SELF, &study, &options, err,
                                                        sizeof err);
    CHECK(outcome == SGDMC_STUDY_COMPLETE, "%s: %s", study.name, err);
    stats = sgdmc_rstar_cache_statistics(cache);
    CHECK(stats.stores == sgdmc_rstar_cache_size(cache),
          "%s: %zu results stored for %zu distinct keys", study.name, stats.stores,
          sgdmc_rstar_cache_size(cache));
    sgdmc_study_free(&study);
    sgdmc_rstar_cache_free(cache);
    remove(output);
    return stats;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    char output[64];
    snprintf(output, sizeof output, "test_rstar_cache_%d.h5", (int)getpid());

    /* widths 2 and 3: R*(2) and R*(3) (the verdict's upper bound), the proven
     * piece bounds of 3 and 4 pieces (its lower bound) and of the fewer pieces
     * left by permanently dead neurons; 3 optimizer cells share each */
    sgdmc_rstar_cache_stats s = run(config, output);
    CHECK(s.replaced == 0, "an R* was computed twice (%zu replaced entries)", s.replaced);
    CHECK(s.stores >= 4 && s.stores <= 7, "%zu results computed, expected R*(2), R*(3) and the "
          "bounds of 1 to 4 pieces", s.stores);
    /* each of the 6 cells looks up its own width's R* and bound; the 4 cells
     * after the first of their width find them */
    CHECK(s.hits >= 8, "only %zu of %zu lookups found a shared result", s.hits, s.lookups);

    s = run(estimate_config, output);
    CHECK(s.replaced == 0, "estimate: an R* was computed twice (%zu replaced)", s.replaced);
    /* the estimate, the one-layer R*(2) the construction embeds, the bound of
     * 9 pieces (and of fewer), shared by 4 cells */
    CHECK(s.stores >= 3 && s.stores <= 6, "estimate: %zu results stored, expected the estimate, "
          "R*(2) and piece bounds", s.stores);
    CHECK(s.hits >= 6, "estimate: only %zu hits of %zu lookups", s.hits, s.lookups);
    MPI_Finalize();
    return harness_exit("test_rstar_cache");
}
