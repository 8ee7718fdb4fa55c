/* Serial HDF5 files of single runs: data sets to learn from, initial and
 * final parameters. Errors name the file and the dataset at fault. Also the
 * scalar attributes of every sgdmc file. */
#ifndef SGDMC_H5IO_H
#define SGDMC_H5IO_H

#include <hdf5.h>
#include <stdbool.h>
#include <stddef.h>

#include "sgdmc/core/net.h"

/* Reads x [n, d] (or [n], d = 1) and y [n, 1] (or [n]) as doubles; x comes
 * back row-major [n][d]. The caller frees *x and *y. */
int sgdmc_h5_read_data(const char *path, double **x, double **y, int *n, int *d, char *err,
                       size_t errlen);

/* Reads W1..W{L+1} [n_k, n_{k-1}] and b1..b{L+1} [n_k] into the flat buffer. */
int sgdmc_h5_read_params(const char *path, const sgdmc_arch *arch, double *params, char *err,
                         size_t errlen);

/* Writes the parameters in the layout read_params reads. The file appears
 * whole or not at all: it is written beside `path` and renamed over it. */
int sgdmc_h5_write_params(const char *path, const sgdmc_arch *arch, const double *params,
                          char *err, size_t errlen);

/* Whether `path` is an HDF5 file holding `link` ("W1", "runs/done"): what
 * tells a file sgdmc wrote from another before it is replaced. */
bool sgdmc_h5_file_holds(const char *path, const char *link);

/* 0 when write_params may replace what is at `path`: nothing (in a folder
 * that exists and can be written), or a file of
 * saved parameters (HDF5 with W1) that is not one of the `inputs` (the --data
 * and --init files; "" entries are skipped). Otherwise -1 with a message:
 * a directory, device or FIFO, an input, or another kind of file (a results
 * file, text) would be lost. */
int sgdmc_h5_check_save_target(const char *path, const char *const *inputs, int n_inputs,
                               char *err, size_t errlen);

/* The first HDF5 failure while watched: the operating system's reason
 * ("No space left on device", "Read-only file system") when HDF5's error
 * stack names one, else HDF5's own description; "" while nothing failed. */
typedef struct {
    char reason[256];
} sgdmc_h5_failure;

/* Records the first failing HDF5 call's reason in `failure` until unwatched
 * (HDF5 reports a failing API call to this hook before later calls clear
 * its error stack). Not nested; HDF5 prints nothing meanwhile. */
void sgdmc_h5_watch_failures(sgdmc_h5_failure *failure);
/* Stops watching: HDF5 reports nothing, as everywhere in sgdmc. */
void sgdmc_h5_unwatch_failures(void);

/* A scalar attribute `name` of loc holding `value` as a variable-length
 * UTF-8 string (what h5py reads as str). 0 or -1. */
int sgdmc_h5_write_text_attribute(hid_t loc, const char *name, const char *value);
/* A scalar attribute `name` of loc holding `value` as a little-endian int64. 0 or -1. */
int sgdmc_h5_write_long_attribute(hid_t loc, const char *name, long long value);
/* Reads the integer attribute `name` of loc, which must hold one value, into
 * *value: 0, or 1 when loc has no attribute `name`, or -1 when it is not one
 * value convertible to an integer. */
int sgdmc_h5_read_long_attribute(hid_t loc, const char *name, long long *value);
/* The text of such an attribute (the caller frees it), or NULL when loc has
 * no attribute `name`, it is no variable-length string, or it cannot be read. */
char *sgdmc_h5_read_text_attribute(hid_t loc, const char *name);

#endif
