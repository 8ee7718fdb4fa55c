/* A study's results file read into per-cell statistics (`sgdmc summarize`).
 *
 * The file is read serially (no MPI needed) with HDF5 file locking off, so
 * it can be summarized while a study is still writing it or after one
 * stopped half-way: only rows with done = 1 count. */
#ifndef SGDMC_SUMMARY_READ_H
#define SGDMC_SUMMARY_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "sgdmc/summary/summary_stats.h"

typedef struct {
    char *key;
    bool is_text;   /* a text column (a choice, a file, a switch), else numbers */
} sgdmc_summary_key;

/* Everything read, ready to print. */
typedef struct {
    double grad_eps;
    long tasks, seeds, cells;
    int key_count;
    sgdmc_summary_key *keys;  /* [key_count], in the file's order */
    double *numbers;          /* [cells][key_count], for numeric keys */
    char **texts;             /* [cells][key_count], for text keys */
    sgdmc_cell_stats *stats;  /* [cells] */
} sgdmc_summary;

/* Reads the file at `path`; p_stationary counts min_grad_norm <= grad_eps.
 * -1 with a one-line message in err naming the file, and the dataset or
 * attribute at fault, when the file cannot be read or is no results file. */
int sgdmc_summary_read(const char *path, double grad_eps, sgdmc_summary *summary, char *err,
                       size_t errlen);
void sgdmc_summary_free(sgdmc_summary *summary);

#endif
