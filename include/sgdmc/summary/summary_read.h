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

/* What to summarize. */
typedef struct {
    double grad_eps; /* p_stationary counts min_grad_norm <= grad_eps */
    long at_step;    /* -1: the end of every run; K >= 0: each run as it was at its last
                        recorded trajectory step <= K (its verdict against the same bracket,
                        its end state from the risk and gradient recorded; nothing the
                        trajectory does not record: no dead counts, no certificate) */
    bool pool_hi;    /* tighten R*'s upper bound hi of every cell with the lowest final risk of
                        any done run of the same problem and architecture (summarize_pool_keys),
                        and judge its runs' verdicts and certificates against it */
} sgdmc_summary_options;

/* True when a grid key can change the problem, the architecture, or how the
 * risk is measured (an option that defines the problem or the estimate, or
 * a key no option knows): cells that differ in such a key are not pooled. */
bool sgdmc_summary_pool_key(const char *key);

/* Everything read, ready to print. */
typedef struct {
    double grad_eps;
    long at_step;
    bool pool_hi;
    long tasks, seeds, cells;
    /* who wrote the file (attributes sgdmc_version, sgdmc_build and
     * numeric_libraries); NULL where it does not say */
    char *version, *build, *numeric_libraries;
    int key_count;
    sgdmc_summary_key *keys;  /* [key_count], in the file's order */
    double *numbers;          /* [cells][key_count], for numeric keys */
    char **texts;             /* [cells][key_count], for text keys */
    sgdmc_cell_stats *stats;  /* [cells] */
} sgdmc_summary;

/* Reads the file at `path`. -1 with a one-line message in err naming the
 * file, and the dataset or attribute at fault, when the file cannot be read
 * or is no results file (or, with at_step, has no trajectory). */
int sgdmc_summary_read(const char *path, const sgdmc_summary_options *options,
                       sgdmc_summary *summary, char *err, size_t errlen);
void sgdmc_summary_free(sgdmc_summary *summary);

#endif
