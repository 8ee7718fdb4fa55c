/* The study's one HDF5 results file, shared by all ranks through MPI-IO.
 *
 * The whole file is built before any run starts, by rank 0 alone through
 * HDF5's serial driver (so that no failure inside one HDF5 call can leave
 * other ranks waiting in a collective one): every dataset contiguous, at
 * full size, filled with "not done" values; built as FILE.h5.creating and
 * renamed when complete. After that ranks only write raw rows,
 * independently, through MPI-IO. A crash therefore never leaves the
 * metadata half-written: rows with done = 1 are complete. Schema:
 * docs/hdf5-schema.md. */
#ifndef SGDMC_RESULTS_FILE_H
#define SGDMC_RESULTS_FILE_H

#include <mpi.h>
#include <stddef.h>

#include "sgdmc/base/cancel.h"
#include "sgdmc/run/train.h"
#include "sgdmc/study/study_config.h"

typedef struct sgdmc_results_file sgdmc_results_file;

/* The bytes the results file of `study` takes on disk once created: its
 * datasets' raw data and an allowance for HDF5's metadata (an upper bound;
 * creation checks the free space against it). */
long long sgdmc_results_file_bytes(const sgdmc_study *study);

/* Collective over comm: creates `path` (which must not exist unless force)
 * for `study` run on `ranks` ranks and opens it. Rank 0 first checks the
 * free space, fingerprints the input files and builds the file; on any
 * failure (disk full, quota, read-only or vanished folder) every rank gets
 * -1, rank 0 a one-line message with the OS reason, and nothing is left
 * behind (no FILE.h5.creating; an existing FILE.h5 untouched). Returns 0
 * with *file set, -1, or SGDMC_CANCELLED when `cancel` asked to stop while
 * the file was being built (nothing left behind either). */
int sgdmc_results_create(MPI_Comm comm, const char *path, const sgdmc_study *study, int ranks,
                         int force, const sgdmc_cancel *cancel, sgdmc_results_file **file,
                         char *err, size_t errlen);

/* Collective: reopens the results file of `study` at `path` to resume it.
 * Rank 0 first checks, before anything is opened for writing, that the
 * file was started with the same config text and sgdmc version and that
 * every grid cell's data and --init files have the content they had then
 * (the message names the first file that changed). NULL on failure; the
 * message is rank 0's. */
sgdmc_results_file *sgdmc_results_open(MPI_Comm comm, const char *path, const sgdmc_study *study,
                                       char *err, size_t errlen);

/* Independent: the done flags of tasks first .. first+count-1. */
int sgdmc_results_read_done(sgdmc_results_file *file, long first, long count,
                            unsigned char *done);

/* Independent: rows first .. first+count-1 from results[] and the rank that
 * ran them; the done flags are written last, so a failure leaves these rows
 * not done. -1 with the OS reason in `reason` on failure.
 *
 * For tests of write failures (every byte is allocated at creation, so a
 * full disk cannot cause one): with SGDMC_FAULT_WRITES=N in the
 * environment, each rank's writes after its first N fail with EIO. */
int sgdmc_results_write(sgdmc_results_file *file, long first, int count,
                        const sgdmc_result *results, int rank, char *reason, size_t size);

/* 0 while `path` is still the file opened for the rows: -1 with a message
 * when it was deleted, replaced by another file (a rename over it, a copy
 * moved back) or truncated meanwhile, in which case rows written since went
 * elsewhere, and the study must not call itself complete; 1 with a message
 * when the path cannot be looked at now (stat fails other than with ENOENT:
 * permissions, a network file system's error), which a later look may
 * settle. Costs a stat and an 8-byte read. */
int sgdmc_results_in_place(const sgdmc_results_file *file, const char *path, char *err,
                           size_t errlen);

/* Collective: closes the file. After a failed write the close is not
 * attempted: HDF5's collective close then waits for ever or crashes, and
 * nothing needs it, since the rows are raw writes into space allocated at
 * creation. */
int sgdmc_results_close(sgdmc_results_file *file);

#endif
