/* Which pending tasks each rank of a study runs next: the master's choice,
 * apart from its messages and files (study_run.c), so that tests can play a
 * study's dispatch without MPI.
 *
 * A chunk is a run of consecutive pending tasks, sized from the measured time
 * per task of its grid cell so that it takes about chunk_seconds, smaller and
 * smaller at the study's end so that the ranks finish together. A rank keeps
 * to one cell while the cell has tasks to hand out, then to the cells of the
 * same problem (sgdmc_study_problem_of_cell: cells whose R* results are the
 * same), then starts a problem nobody has: a rank computes the R* of every
 * problem it works on, so the fewer problems per rank, the fewer ranks
 * compute the same R* (docs/study.md, "How it runs"). Which rank runs a task
 * never changes its result. */
#ifndef SGDMC_DISPATCH_H
#define SGDMC_DISPATCH_H

#include "sgdmc/study/study_config.h"

/* Tasks first .. end - 1; empty when end == first. */
typedef struct {
    long first, end;
} sgdmc_task_range;

/* The done flags of tasks first .. first + count - 1 into done[count]: 0, or
 * -1 when they cannot be read. */
typedef int (*sgdmc_done_reader)(void *context, long first, long count, unsigned char *done);

typedef struct sgdmc_dispatch sgdmc_dispatch;

/* The dispatch of the study's tasks that read_done says are not done, over
 * `ranks` ranks (0 .. ranks - 1); chunks end on groups of `align` seeds of a
 * cell (lockstep lanes). NULL when the flags cannot be read or memory runs
 * out. */
sgdmc_dispatch *sgdmc_dispatch_alloc(const sgdmc_study *study, int ranks, double chunk_seconds,
                                     int align, sgdmc_done_reader read_done, void *context);
void sgdmc_dispatch_free(sgdmc_dispatch *d);

/* The tasks not done when it began. */
long sgdmc_dispatch_pending(const sgdmc_dispatch *d);

/* The next chunk for `rank`; empty when there is none for it: for good once
 * every task has been handed out (sgdmc_dispatch_remaining is 0), else for
 * now: at the study's end a rank whose cell has run out joins another only
 * where it would finish the cell sooner than the cell's ranks, after the
 * cell's R* if it has not met the cell's problem, and otherwise asks again
 * after a chunk's time. */
sgdmc_task_range sgdmc_dispatch_take(sgdmc_dispatch *d, int rank);

/* The tasks not handed out yet. */
long sgdmc_dispatch_remaining(const sgdmc_dispatch *d);

/* A chunk that began with task `first` ran `completed` tasks in `seconds`,
 * `rstar_seconds` of them computing R* results (sgdmc_rstar_cache_spent):
 * the time per task of its cell, for the sizes of later chunks, and what
 * its problem's R* costs a rank, for whether a rank should join its cells. */
void sgdmc_dispatch_timed(sgdmc_dispatch *d, long first, long completed, double seconds,
                          double rstar_seconds);

/* What the dispatch would do with every task of the study pending on
 * `ranks` ranks that ask for their next chunk when their last one ends, and
 * again chunk_seconds later when there was none for now (no prefetch, no
 * message time), if a task of cell c took task_seconds[c]
 * and a rank's first task of a problem also took the problem's R*:
 * rstar_seconds[c] of its first cell c in the grid's order, the one-off
 * seconds that cell took in one process (--dry-run's timing: the first cell
 * computes the R*, the others find it in the process's cache; their values
 * are not read). The played clock starts at 0 for every rank. */
typedef struct {
    long meetings;        /* (rank, problem) pairs: R* computations */
    double rstar_seconds; /* their seconds */
    double wall_seconds;  /* when the last chunk ended */
    long chunks;          /* handed out */
} sgdmc_dispatch_played;
/* 0, or -1 when out of memory. */
int sgdmc_dispatch_play(const sgdmc_study *study, int ranks, double chunk_seconds, int align,
                        const double *task_seconds, const double *rstar_seconds,
                        sgdmc_dispatch_played *played);

#endif
