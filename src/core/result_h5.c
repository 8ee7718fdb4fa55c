/* Result fields <-> HDF5 datasets, one loop over the field table. */
#include "sgdmc/core/result_h5.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/base/error.h"
#include "sgdmc/core/h5io.h"

struct sgdmc_result_datasets {
    hid_t *dataset;          /* [field count], -1 when not open */
    hid_t *memory_type;      /* [field count]: how rows hold the field */
    int max_depth, trajectory;
    size_t buffer_bytes;
    void *buffer;            /* one field of a block of rows, grown on demand */
};

static bool is_trajectory(const sgdmc_field *f)
{
    return f->kind == SGDMC_FIELD_TRAJECTORY_I64 || f->kind == SGDMC_FIELD_TRAJECTORY_F64;
}

/* A uint8 (file) or int (memory) enum of the names, numbered 0, 1, ...:
 * HDF5 converts between the two by name. */
static hid_t enum_type(const char *const *names, hid_t base)
{
    hid_t type = H5Tenum_create(base);
    for (int v = 0; names[v]; v++) {
        const unsigned char small = (unsigned char)v;
        H5Tenum_insert(type, names[v], base == H5T_NATIVE_INT ? (const void *)&v : &small);
    }
    return type;
}

/* The type of a field's values in the file and in rows. */
static hid_t field_type(const sgdmc_field *f, bool in_file)
{
    switch (f->kind) {
    case SGDMC_FIELD_F64:
    case SGDMC_FIELD_TRAJECTORY_F64:
        return H5Tcopy(in_file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE);
    case SGDMC_FIELD_I64:
    case SGDMC_FIELD_TRAJECTORY_I64:
        return H5Tcopy(in_file ? H5T_STD_I64LE : H5T_NATIVE_LONG);
    case SGDMC_FIELD_VERDICT:
        return H5Tcopy(in_file ? H5T_STD_I8LE : H5T_NATIVE_INT);
    case SGDMC_FIELD_ENUM:
        return enum_type(f->names, in_file ? H5T_NATIVE_UINT8 : H5T_NATIVE_INT);
    case SGDMC_FIELD_LAYERS:
        return H5Tcopy(in_file ? H5T_STD_I32LE : H5T_NATIVE_INT);
    }
    return -1;
}

/* Dimensions of a field's dataset: [tasks] or [tasks, width]. */
static int field_rank(const sgdmc_field *f)
{
    return f->kind == SGDMC_FIELD_LAYERS || is_trajectory(f) ? 2 : 1;
}

/* Values per row in the file: 1, max depth or T. */
static int row_width(const sgdmc_result_datasets *d, const sgdmc_field *f)
{
    return f->kind == SGDMC_FIELD_LAYERS ? d->max_depth : is_trajectory(f) ? d->trajectory : 1;
}

/* The dataset's path below /runs. */
static void dataset_name(const sgdmc_field *f, char *name, size_t size)
{
    snprintf(name, size, "%s%s", is_trajectory(f) ? "trajectory/" : "", f->name);
}

static sgdmc_result_datasets *datasets_alloc(int max_depth, int trajectory)
{
    const size_t n = (size_t)sgdmc_result_field_count;
    sgdmc_result_datasets *d = calloc(1, sizeof *d);
    if (d) {
        d->dataset = malloc(n * sizeof *d->dataset);
        d->memory_type = malloc(n * sizeof *d->memory_type);
    }
    if (!d || !d->dataset || !d->memory_type) {
        if (d) {
            free(d->dataset);
            free(d->memory_type);
        }
        free(d);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        d->dataset[i] = -1;
    d->max_depth = max_depth;
    d->trajectory = trajectory;
    for (int i = 0; i < sgdmc_result_field_count; i++)
        d->memory_type[i] = field_type(&sgdmc_result_fields[i], false);
    return d;
}

/* A contiguous dataset allocated now and filled with the field's unknown. */
static hid_t create_dataset(hid_t loc, const char *name, const sgdmc_field *f, int rank,
                            const hsize_t *dims)
{
    union {
        double f64;
        int64_t i64;
        int32_t i32;
        int8_t i8;
        uint8_t u8;
    } fill;
    switch (f->kind) {
    case SGDMC_FIELD_F64:
    case SGDMC_FIELD_TRAJECTORY_F64:
        fill.f64 = f->unknown;
        break;
    case SGDMC_FIELD_I64:
    case SGDMC_FIELD_TRAJECTORY_I64:
        fill.i64 = (int64_t)f->unknown;
        break;
    case SGDMC_FIELD_VERDICT:
        fill.i8 = (int8_t)f->unknown;
        break;
    case SGDMC_FIELD_ENUM:
        fill.u8 = (uint8_t)f->unknown;
        break;
    case SGDMC_FIELD_LAYERS:
        fill.i32 = (int32_t)f->unknown;
        break;
    }
    hid_t type = field_type(f, true);
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(dcpl, H5D_CONTIGUOUS);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC);
    H5Pset_fill_value(dcpl, type, &fill);
    hid_t dset = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Tclose(type);
    return dset;
}

long long sgdmc_result_h5_bytes(long tasks, int max_depth, int trajectory)
{
    const sgdmc_result_datasets widths = {.max_depth = max_depth, .trajectory = trajectory};
    long long bytes = 0;
    for (int i = 0; i < sgdmc_result_field_count; i++) {
        const sgdmc_field *f = &sgdmc_result_fields[i];
        if (is_trajectory(f) && trajectory == 0)
            continue;
        hid_t type = field_type(f, true);
        bytes += (long long)H5Tget_size(type) * row_width(&widths, f) * tasks;
        H5Tclose(type);
    }
    return bytes;
}

sgdmc_result_datasets *sgdmc_result_h5_create(hid_t runs, long tasks, int max_depth,
                                              int trajectory, const sgdmc_cancel *cancel)
{
    sgdmc_result_datasets *d = datasets_alloc(max_depth, trajectory);
    if (!d)
        return NULL;
    hid_t group = -1;
    if (trajectory > 0)
        group = H5Gcreate2(runs, "trajectory", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bool failed = trajectory > 0 && group < 0;
    for (int i = 0; i < sgdmc_result_field_count && !failed; i++) {
        const sgdmc_field *f = &sgdmc_result_fields[i];
        if (is_trajectory(f) && trajectory == 0)
            continue;
        /* a dataset's fill writes tasks x width values: ask between them */
        if (sgdmc_cancel_requested(cancel)) {
            failed = true;
            break;
        }
        const hsize_t dims[2] = {(hsize_t)tasks, (hsize_t)row_width(d, f)};
        d->dataset[i] =
            create_dataset(is_trajectory(f) ? group : runs, f->name, f, field_rank(f), dims);
        failed = d->dataset[i] < 0;
    }
    if (group >= 0)
        H5Gclose(group);
    if (failed) {
        sgdmc_result_h5_close(d);
        return NULL;
    }
    return d;
}

static bool dataset_exists(hid_t runs, const char *name)
{
    if (strchr(name, '/') && H5Lexists(runs, "trajectory", H5P_DEFAULT) <= 0)
        return false;
    return H5Lexists(runs, name, H5P_DEFAULT) > 0 && H5Oexists_by_name(runs, name, H5P_DEFAULT) > 0;
}

/* Whether field f is among the names (trajectory fields as "trajectory/NAME"). */
static bool is_wanted(const sgdmc_field *f, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (sgdmc_result_field_find(names[i]) == f)
            return true;
    return false;
}

/* A trajectory's columns at most: output.trajectory's limit (100000 points),
 * with room for the ends */
enum { TRAJECTORY_COLUMNS_MAX = 100002 };

sgdmc_result_datasets *sgdmc_result_h5_open(hid_t runs, const char *path, long tasks,
                                            int version, const char *const *wanted, char *err,
                                            size_t errlen)
{
    sgdmc_result_datasets *d = datasets_alloc(0, 0);
    if (!d) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    for (int i = 0; i < sgdmc_result_field_count; i++) {
        const sgdmc_field *f = &sgdmc_result_fields[i];
        if ((wanted && !is_wanted(f, wanted)) || f->since > version)
            continue;
        char name[128];
        dataset_name(f, name, sizeof name);
        /* a study without output.trajectory has no trajectory group */
        if (is_trajectory(f) && !wanted && H5Lexists(runs, "trajectory", H5P_DEFAULT) <= 0)
            continue;
        if (!dataset_exists(runs, name))
            SGDMC_FAIL("%s: not an sgdmc results file (no /runs/%s)", path, name);
        d->dataset[i] = H5Dopen2(runs, name, H5P_DEFAULT);
        const int rank = field_rank(f);
        hid_t space = d->dataset[i] < 0 ? -1 : H5Dget_space(d->dataset[i]);
        hsize_t dims[2] = {0, 0};
        const bool shaped = space >= 0 && H5Sget_simple_extent_ndims(space) == rank &&
                            H5Sget_simple_extent_dims(space, dims, NULL) == rank &&
                            dims[0] == (hsize_t)tasks && (rank == 1 || dims[1] >= 1);
        if (space >= 0)
            H5Sclose(space);
        if (!shaped)
            SGDMC_FAIL("%s: /runs/%s is not a %s dataset of %ld rows (attribute tasks)", path,
                       name, rank == 1 ? "1-D" : "2-D", tasks);
        /* columns beyond what sgdmc writes: an edited file, whose width would
         * size the readers' buffers */
        const hsize_t most = f->kind == SGDMC_FIELD_LAYERS ? SGDMC_MAX_DEPTH
                             : is_trajectory(f)           ? TRAJECTORY_COLUMNS_MAX
                                                          : 1;
        if (rank == 2 && dims[1] > most)
            SGDMC_FAIL("%s: /runs/%s has %llu columns, more than sgdmc writes (%llu)", path,
                       name, (unsigned long long)dims[1], (unsigned long long)most);
        if (f->kind == SGDMC_FIELD_LAYERS)
            d->max_depth = (int)dims[1];
        else if (is_trajectory(f))
            d->trajectory = (int)dims[1];
    }
    return d;
fail:
    sgdmc_result_h5_close(d);
    return NULL;
}

static int ensure_buffer(sgdmc_result_datasets *d, size_t bytes)
{
    if (bytes <= d->buffer_bytes)
        return 0;
    free(d->buffer);
    d->buffer = malloc(bytes);
    d->buffer_bytes = d->buffer ? bytes : 0;
    return d->buffer ? 0 : -1;
}

/* Selects rows first..first+count-1 (all columns) of dataset i. */
static hid_t select_rows(const sgdmc_result_datasets *d, int i, long first, int count,
                         int width, hid_t *memory)
{
    hid_t space = H5Dget_space(d->dataset[i]);
    const int rank = H5Sget_simple_extent_ndims(space);
    const hsize_t start[2] = {(hsize_t)first, 0}, size[2] = {(hsize_t)count, (hsize_t)width};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, size, NULL);
    *memory = H5Screate_simple(rank, size, NULL);
    return space;
}

/* Copies field f between rows[] and the buffer of `width` values per row:
 * to the buffer when `gather`, else back into the rows. */
static void transfer(const sgdmc_field *f, sgdmc_result *rows, int count, int width,
                     void *buffer, bool gather)
{
    for (int r = 0; r < count; r++) {
        sgdmc_result *row = &rows[r];
        for (int j = 0; j < width; j++) {
            const size_t at = (size_t)r * (size_t)width + (size_t)j;
            switch (f->kind) {
            case SGDMC_FIELD_F64:
                if (gather)
                    ((double *)buffer)[at] = *sgdmc_field_f64(f, row);
                else
                    *sgdmc_field_f64(f, row) = ((double *)buffer)[at];
                break;
            case SGDMC_FIELD_I64:
                if (gather)
                    ((long *)buffer)[at] = *sgdmc_field_i64(f, row);
                else
                    *sgdmc_field_i64(f, row) = ((long *)buffer)[at];
                break;
            case SGDMC_FIELD_VERDICT:
            case SGDMC_FIELD_ENUM:
                if (gather)
                    ((int *)buffer)[at] = *sgdmc_field_int(f, row);
                else
                    *sgdmc_field_int(f, row) = ((int *)buffer)[at];
                break;
            case SGDMC_FIELD_LAYERS: {
                int *values = sgdmc_field_int(f, row);
                if (gather)
                    ((int *)buffer)[at] = j < row->depth ? values[j] : (int)f->unknown;
                else if (j < SGDMC_MAX_DEPTH)
                    values[j] = ((int *)buffer)[at];
                break;
            }
            case SGDMC_FIELD_TRAJECTORY_I64: {
                long *values = *sgdmc_field_trajectory_i64(f, row);
                if (gather)
                    ((long *)buffer)[at] =
                        j < row->trajectory_count ? values[j] : (long)f->unknown;
                else
                    values[j] = ((long *)buffer)[at];
                break;
            }
            case SGDMC_FIELD_TRAJECTORY_F64: {
                double *values = *sgdmc_field_trajectory_f64(f, row);
                if (gather)
                    ((double *)buffer)[at] = j < row->trajectory_count ? values[j] : f->unknown;
                else
                    values[j] = ((double *)buffer)[at];
                break;
            }
            }
        }
    }
}

/* Reads (write false) or writes one field's block of rows. */
static int move_rows(sgdmc_result_datasets *d, int i, long first, int count, sgdmc_result *rows,
                     bool write)
{
    const sgdmc_field *f = &sgdmc_result_fields[i];
    const int width = row_width(d, f);
    if (ensure_buffer(d, (size_t)count * (size_t)width * sizeof(double)))
        return -1;
    hid_t memory;
    hid_t space = select_rows(d, i, first, count, width, &memory);
    int status;
    if (write) {
        transfer(f, rows, count, width, d->buffer, true);
        status = H5Dwrite(d->dataset[i], d->memory_type[i], memory, space, H5P_DEFAULT,
                          d->buffer) < 0;
    } else {
        status = H5Dread(d->dataset[i], d->memory_type[i], memory, space, H5P_DEFAULT,
                         d->buffer) < 0;
        if (!status)
            transfer(f, rows, count, width, d->buffer, false);
    }
    H5Sclose(memory);
    H5Sclose(space);
    return status ? -1 : 0;
}

int sgdmc_result_h5_write(sgdmc_result_datasets *d, long first, int count,
                          const sgdmc_result *rows)
{
    int status = 0;
    for (int i = 0; i < sgdmc_result_field_count; i++)
        if (d->dataset[i] >= 0)
            status |= move_rows(d, i, first, count, (sgdmc_result *)rows, true);
    return status;
}

/* Trajectory arrays of T points for every row whose field is open. */
static int allocate_trajectories(const sgdmc_result_datasets *d, int count, sgdmc_result *rows)
{
    for (int i = 0; i < sgdmc_result_field_count; i++) {
        const sgdmc_field *f = &sgdmc_result_fields[i];
        if (d->dataset[i] < 0 || !is_trajectory(f))
            continue;
        const size_t points = (size_t)d->trajectory;
        for (int r = 0; r < count; r++) {
            rows[r].trajectory_count = d->trajectory;
            void *values;
            if (f->kind == SGDMC_FIELD_TRAJECTORY_I64)
                values = *sgdmc_field_trajectory_i64(f, &rows[r]) = malloc(sizeof(long) * points);
            else
                values = *sgdmc_field_trajectory_f64(f, &rows[r]) =
                    malloc(sizeof(double) * points);
            if (!values)
                return -1;
        }
    }
    return 0;
}

int sgdmc_result_h5_read(sgdmc_result_datasets *d, long first, int count, sgdmc_result *rows)
{
    for (int r = 0; r < count; r++)
        sgdmc_result_unknown(&rows[r], d->max_depth);
    if (allocate_trajectories(d, count, rows))
        return -1;
    int status = 0;
    for (int i = 0; i < sgdmc_result_field_count; i++)
        if (d->dataset[i] >= 0)
            status |= move_rows(d, i, first, count, rows, false);
    return status;
}

int sgdmc_result_h5_format_version(hid_t file)
{
    long long version = -1;
    const int status = sgdmc_h5_read_long_attribute(file, "format_version", &version);
    if (status > 0)
        return 1;
    return status < 0 || version < 1 || version > 1000000 ? -1 : (int)version;
}

int sgdmc_result_h5_write_format_version(hid_t file)
{
    return sgdmc_h5_write_long_attribute(file, "format_version", SGDMC_FORMAT_VERSION);
}

int sgdmc_result_h5_max_depth(const sgdmc_result_datasets *d) { return d->max_depth; }
int sgdmc_result_h5_trajectory(const sgdmc_result_datasets *d) { return d->trajectory; }

int sgdmc_result_h5_close(sgdmc_result_datasets *d)
{
    if (!d)
        return 0;
    int status = 0;
    for (int i = 0; i < sgdmc_result_field_count; i++) {
        if (d->dataset[i] >= 0)
            status |= H5Dclose(d->dataset[i]) < 0;
        if (d->memory_type[i] >= 0)
            H5Tclose(d->memory_type[i]);
    }
    free(d->dataset);
    free(d->memory_type);
    free(d->buffer);
    free(d);
    return status ? -1 : 0;
}
