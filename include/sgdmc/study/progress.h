/* Progress of a study on stderr: tasks done of total, runs per second and
 * the estimated time left. As a bar, one line redrawn every second (on a
 * terminal, or asked for: under mpirun rank 0's stderr is a pipe even when
 * mpirun's is a terminal); as lines, a plain line after 1 s and then every
 * 10 s (log files). */
#ifndef SGDMC_PROGRESS_H
#define SGDMC_PROGRESS_H

#include <stdio.h>

typedef enum {
    SGDMC_PROGRESS_AUTO, /* bar on a terminal, else lines */
    SGDMC_PROGRESS_BAR,
    SGDMC_PROGRESS_LINES,
    SGDMC_PROGRESS_NONE,
    SGDMC_PROGRESS_STYLE_COUNT
} sgdmc_progress_style;
extern const char *const sgdmc_progress_style_names[SGDMC_PROGRESS_STYLE_COUNT + 1];

typedef struct sgdmc_progress sgdmc_progress;

/* `total` tasks of which `already_done` were done before this session;
 * out NULL or style none keeps quiet. */
sgdmc_progress *sgdmc_progress_start(FILE *out, sgdmc_progress_style style, long total,
                                     long already_done);

/* `done` tasks are done at time `now` (sgdmc_now_seconds()), this session's
 * and earlier ones; prints when the refresh interval has passed. */
void sgdmc_progress_update(sgdmc_progress *progress, long done, double now);

/* Prints the final line and frees. */
void sgdmc_progress_finish(sgdmc_progress *progress, long done, const char *outcome);

#endif
