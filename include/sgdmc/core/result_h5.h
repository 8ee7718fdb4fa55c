/* The run result's fields as HDF5 datasets of a study's /runs group: one
 * dataset per field of sgdmc_result_fields, one row per task.
 *
 * Scalars are [tasks]; per-layer fields [tasks, max depth]; trajectory
 * fields /runs/trajectory/NAME [tasks, T]. Every dataset is contiguous,
 * allocated when created and filled with the field's unknown value, so that
 * parallel writers only ever write raw rows (results_file.h). Both the study
 * (through MPI-IO) and summarize (read-only) go through this module. */
#ifndef SGDMC_RESULT_H5_H
#define SGDMC_RESULT_H5_H

#include <hdf5.h>
#include <stdbool.h>
#include <stddef.h>

#include "sgdmc/base/cancel.h"
#include "sgdmc/core/result.h"

typedef struct sgdmc_result_datasets sgdmc_result_datasets;

/* Creates every field's dataset in `runs` (collective under MPI-IO), the
 * trajectory fields only when trajectory > 0. NULL when HDF5 fails or
 * `cancel` (may be NULL; asked between datasets) says stop. */
sgdmc_result_datasets *sgdmc_result_h5_create(hid_t runs, long tasks, int max_depth,
                                              int trajectory, const sgdmc_cancel *cancel);

/* The raw bytes of those datasets. */
long long sgdmc_result_h5_bytes(long tasks, int max_depth, int trajectory);

/* Opens the datasets of the fields named in `wanted` (NULL-terminated, as
 * sgdmc_result_field_find spells them; NULL: every field, the trajectory's
 * when the file has one) of a file of format `version` (a field newer than
 * it is left unopened), checking that each has `tasks` rows. On a missing or
 * mis-shaped one: NULL and a message naming `path` and the dataset. Fields
 * not opened keep their unknown value when rows are read. */
sgdmc_result_datasets *sgdmc_result_h5_open(hid_t runs, const char *path, long tasks,
                                            int version, const char *const *wanted, char *err,
                                            size_t errlen);

/* The file format version of an open results file: its attribute
 * format_version, 1 for files written before it existed; -1 when the
 * attribute is not one integer. */
int sgdmc_result_h5_format_version(hid_t file);
/* Writes the current SGDMC_FORMAT_VERSION as attribute format_version. */
int sgdmc_result_h5_write_format_version(hid_t file);

/* Rows first..first+count-1 from rows[]: per-layer values beyond a run's
 * depth and trajectory points beyond its trajectory_count are written as
 * unknown. Independent writes. 0 or -1. */
int sgdmc_result_h5_write(sgdmc_result_datasets *datasets, long first, int count,
                          const sgdmc_result *rows);

/* Rows first..first+count-1 into rows[] (free each with sgdmc_result_free:
 * wanted trajectory fields are allocated). A row's depth is the file's
 * max depth and its trajectory_count the file's T. 0 or -1. */
int sgdmc_result_h5_read(sgdmc_result_datasets *datasets, long first, int count,
                         sgdmc_result *rows);

/* The width of the per-layer datasets (max depth) and of the trajectory (T,
 * 0 when none was opened or created). */
int sgdmc_result_h5_max_depth(const sgdmc_result_datasets *datasets);
int sgdmc_result_h5_trajectory(const sgdmc_result_datasets *datasets);

/* Closes the datasets; -1 when HDF5 reported a failure. */
int sgdmc_result_h5_close(sgdmc_result_datasets *datasets);

#endif
