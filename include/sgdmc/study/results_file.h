/* The study's one HDF5 results file, shared by all ranks through MPI-IO.
 *
 * Every dataset is created collectively at full size when the file is
 * created (contiguous, allocated early, filled with "not done" values) and
 * the metadata flushed; after that ranks only write raw rows, independently.
 * A crash therefore never leaves the metadata half-written: rows with
 * done = 1 are complete. Schema: docs/hdf5-schema.md. */
#ifndef SGDMC_RESULTS_FILE_H
#define SGDMC_RESULTS_FILE_H

#include <mpi.h>
#include <stddef.h>

#include "sgdmc/study/study_config.h"
#include "sgdmc/run/train.h"

typedef struct sgdmc_results_file sgdmc_results_file;

/* Collective over comm: creates `path` (which must not exist unless force)
 * for `study` run on `ranks` ranks and opens it. NULL with a message on
 * failure; the file appears under `path` only once complete. */
sgdmc_results_file *sgdmc_results_create(MPI_Comm comm, const char *path,
                                         const sgdmc_study *study, int ranks, int force,
                                         char *err, size_t errlen);

/* Collective: reopens the results file of `study` at `path` to resume it.
 * Refuses, with a message, a file written by another config or version. */
sgdmc_results_file *sgdmc_results_open(MPI_Comm comm, const char *path, const sgdmc_study *study,
                                       char *err, size_t errlen);

/* Independent: the done flags of tasks first .. first+count-1. */
int sgdmc_results_read_done(sgdmc_results_file *file, long first, long count,
                            unsigned char *done);

/* Independent: rows first .. first+count-1 from results[] and the rank that
 * ran them; the done flags are written last. */
int sgdmc_results_write(sgdmc_results_file *file, long first, int count,
                        const sgdmc_result *results, int rank);

/* Collective: closes the file. */
int sgdmc_results_close(sgdmc_results_file *file);

#endif
