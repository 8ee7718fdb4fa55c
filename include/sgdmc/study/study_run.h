/* Running a study over MPI: rank 0 is the master. It hands out contiguous
 * chunks of pending tasks on request, sized from the measured time per task,
 * and trains chunks itself between requests; every rank writes its rows into
 * the one results file as its chunks finish. A single process runs the whole
 * study alone. Results depend only on the task, never on who ran it. */
#ifndef SGDMC_STUDY_RUN_H
#define SGDMC_STUDY_RUN_H

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sgdmc/minimum/rstar_cache.h"
#include "sgdmc/study/progress.h"
#include "sgdmc/study/study_config.h"

typedef struct {
    const char *output;   /* the results file */
    bool resume;          /* continue `output` if it exists (else start it) */
    bool force;           /* replace an existing `output` (without resume) */
    double chunk_seconds; /* work per handed-out chunk; 0 = SGDMC_CHUNK_SECONDS */
    FILE *progress;       /* where rank 0 reports progress; NULL = quiet */
    sgdmc_progress_style progress_style;
    sgdmc_rstar_cache *rstar_cache; /* the process's R* results, shared by every cell */
    int lanes;            /* seeds of a cell trained at once (1..SGDMC_LANES); 0: SGDMC_LANES */
} sgdmc_study_options;

#define SGDMC_CHUNK_SECONDS 0.5

typedef enum {
    SGDMC_STUDY_COMPLETE,    /* every task is done */
    SGDMC_STUDY_INTERRUPTED, /* stopped by SIGTERM/SIGINT/SIGUSR1: resume it */
    SGDMC_STUDY_FAILED,      /* err says why */
    SGDMC_STUDY_LOST_RANK,   /* rank 0 only: a worker fell silent (a dead node); the others
                                still run and the file is not closed: abort them all and
                                resume (err says which rank) */
    SGDMC_STUDY_WRITE_FAILED, /* a rank could not write its rows (it said why): the rows
                                written before are done, and the file is left open, since
                                HDF5's collective close after a failed write waits for ever
                                or crashes; end the process without MPI_Finalize, whose
                                HDF5 clean-up would try that close again, and resume; err
                                is "" unless the study also failed otherwise (its claim
                                lost, its file moved: then err says why, and a resume of
                                this path is not the answer) */
} sgdmc_study_outcome;

/* Collective over comm; every rank returns the same outcome, except
 * SGDMC_STUDY_LOST_RANK, which rank 0 alone returns. Rank 0 holds
 * the results file's claim (claim.h) from before the file is created or
 * opened until it is closed. err is "" unless rank 0 has something to add
 * to the progress line (always, when the study failed). */
sgdmc_study_outcome sgdmc_study_run(MPI_Comm comm, const sgdmc_study *study,
                                    const sgdmc_study_options *options, char *err,
                                    size_t errlen);

/* Core-seconds the whole study will take on this machine, from a few timed
 * steps and one timed evaluation per grid cell, R* computed once per problem
 * through the process's cache, the steps of cells where lanes pay timed in a
 * lockstep group of up to `lanes` seeds (1: one at a time); -1 on failure.
 * *once_per_process: the part of it that is one process's R* computations,
 * each problem once. Ranks do not share R*: for each of the rank_counts
 * numbers of ranks[i], the dispatch played with these times
 * (sgdmc_dispatch_play) gives the R* seconds that many ranks compute
 * together, rstar_at_ranks[i], and when the last of them would run out of
 * work, wall_at_ranks[i]. */
double sgdmc_study_estimate_seconds(const sgdmc_study *study, int lanes,
                                    sgdmc_rstar_cache *rstar_cache, double *once_per_process,
                                    const int *ranks, double *rstar_at_ranks,
                                    double *wall_at_ranks, int rank_counts);

#endif
