/* A study: a grid of `sgdmc train` configurations times seeds, read from a
 * libconfig file. Every key of `train` and `grid` is a `sgdmc train` flag,
 * set through the one option table (options.h).
 *
 * Task order: grid keys in the order written, the first slowest, seeds
 * innermost; task t is cell t / seeds with seed t % seeds. */
#ifndef SGDMC_STUDY_CONFIG_H
#define SGDMC_STUDY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "sgdmc/core/config.h"

#define SGDMC_STUDY_MAX_AXES 16
/* a grid's cells at most: each is checked before the study starts */
#define SGDMC_STUDY_MAX_CELLS (1L << 20)

typedef struct {
    char key[64];      /* the train flag */
    int line;          /* where the list stands in the file */
    int count;
    char **values;     /* each value as the text the flag would take */
    bool defines_problem; /* the flag defines the problem or its R* estimate */
} sgdmc_grid_axis;

typedef struct {
    char path[SGDMC_PATH_MAX];
    char name[128];
    long seeds;
    int axis_count;
    sgdmc_grid_axis axes[SGDMC_STUDY_MAX_AXES];
    sgdmc_train_config base;   /* defaults, then the train section */
    int train_line[SGDMC_TRAIN_OPTION_SLOTS]; /* where each train key stands, by option index */
    int trajectory;            /* output.trajectory */
    long cells;                /* product of the axis lengths */
    long tasks;                /* cells * seeds */
    char *text;                /* the config file as written */
} sgdmc_study;

/* The built-in study of `sgdmc study` without a config. */
extern const char sgdmc_default_study[];

/* Reads and validates the whole study: syntax, keys, types, every value and
 * every grid cell's combination, data and init files. On failure returns -1
 * with a one-line message naming the file, line and key; SGDMC_CANCELLED
 * (cancel.h) with a message when a signal stopped the check of the cells. */
int sgdmc_study_load(const char *path, sgdmc_study *study, char *err, size_t errlen);
/* The same from the config text; `path` names it in messages. */
int sgdmc_study_parse(const char *text, const char *path, sgdmc_study *study, char *err,
                      size_t errlen);
void sgdmc_study_free(sgdmc_study *study);

/* The value index of each axis in task `task`: axis_index[a] for axis a. */
void sgdmc_study_axis_indices(const sgdmc_study *study, long task, int *axis_index);

/* The problem number of grid cell `cell` (below the study's cells): cells
 * that differ only on axes that do not define the problem or its R*
 * estimate (optimizer, lr, ...) have the same number, so they share every
 * R* result (min_risk.c's cache keys). Cells with different numbers may
 * still share one (two spellings of one value): the number is for
 * scheduling, never for results. */
long sgdmc_study_problem_of_cell(const sgdmc_study *study, long cell);

/* Grid cell `cell` as "width=4, optimizer=adam" for messages ("" without a
 * grid). */
void sgdmc_study_describe_cell(const sgdmc_study *study, long cell, char *buf, size_t len);

/* The configuration of task `task`; axis_index (may be NULL) receives the
 * value index of each axis. */
void sgdmc_study_task(const sgdmc_study *study, long task, sgdmc_train_config *config,
                      int *axis_index);

#endif
