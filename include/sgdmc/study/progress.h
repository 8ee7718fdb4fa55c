/* Progress of a study on stderr: tasks done of total, runs per second and
 * the estimated time left. On a terminal one line redrawn every second; in
 * a log file one plain line every few seconds. */
#ifndef SGDMC_PROGRESS_H
#define SGDMC_PROGRESS_H

#include <stdio.h>

typedef struct sgdmc_progress sgdmc_progress;

/* `total` tasks of which `already_done` were done before this session;
 * out NULL keeps quiet. */
sgdmc_progress *sgdmc_progress_start(FILE *out, long total, long already_done);

/* `done` tasks are done now (this session's and earlier ones); prints when
 * the refresh interval has passed. */
void sgdmc_progress_update(sgdmc_progress *progress, long done);

/* Prints the final line and frees. */
void sgdmc_progress_finish(sgdmc_progress *progress, long done, const char *outcome);

#endif
