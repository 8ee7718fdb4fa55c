/* HDF5 input and output of one run: data, initial and final parameters. */
#include "sgdmc/base/input_file.h"
#include "sgdmc/core/h5io.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sgdmc/base/error.h"

/* HDF5's file drivers report an OS failure as "..., error message = 'TEXT', ...";
 * without one, the innermost description. */
static herr_t find_reason(unsigned depth, const H5E_error2_t *error, void *context)
{
    sgdmc_h5_failure *failure = context;
    const char *marker = "error message = '";
    const char *at = error->desc ? strstr(error->desc, marker) : NULL;
    if (at) {
        at += strlen(marker);
        const char *end = strchr(at, '\'');
        const int length = end ? (int)(end - at) : (int)strlen(at);
        snprintf(failure->reason, sizeof failure->reason, "%.*s", length, at);
        return 1; /* found: stop walking */
    }
    if (depth == 0 && error->desc)
        snprintf(failure->reason, sizeof failure->reason, "HDF5: %s", error->desc);
    return 0;
}

static herr_t record_failure(hid_t stack, void *context)
{
    sgdmc_h5_failure *failure = context;
    if (!failure->reason[0]) {
        H5Ewalk2(stack, H5E_WALK_UPWARD, find_reason, failure);
        if (!failure->reason[0])
            snprintf(failure->reason, sizeof failure->reason, "an HDF5 error");
    }
    return 0;
}

void sgdmc_h5_watch_failures(sgdmc_h5_failure *failure)
{
    failure->reason[0] = '\0';
    H5Eset_auto2(H5E_DEFAULT, record_failure, failure);
}

void sgdmc_h5_unwatch_failures(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* Opens an existing HDF5 file read-only, telling apart "missing" and "not HDF5". */
static hid_t open_readonly(const char *path, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char why[256];
    if (sgdmc_input_file_problem(path, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    if (H5Fis_hdf5(path) <= 0) {
        snprintf(err, errlen, "%s: not an HDF5 file", path);
        return -1;
    }
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        snprintf(err, errlen, "%s: cannot open as HDF5", path);
    return file;
}

/* Reads dataset `name` as doubles; *rank and dims[] describe its shape. */
static double *read_dataset(hid_t file, const char *path, const char *name, int *rank,
                            hsize_t dims[2], char *err, size_t errlen)
{
    double *values = NULL;
    hid_t dset = -1, space = -1;
    const htri_t exists = H5Lexists(file, name, H5P_DEFAULT);
    if (exists < 0) /* a damaged group: the link table cannot be read */
        SGDMC_FAIL("%s: cannot look up dataset '%s' (the file is damaged)", path, name);
    if (exists == 0)
        SGDMC_FAIL("%s: dataset '%s' is missing", path, name);
    dset = H5Dopen2(file, name, H5P_DEFAULT);
    if (dset < 0)
        SGDMC_FAIL("%s: '%s' is not a dataset", path, name);
    hid_t type = H5Dget_type(dset);
    H5T_class_t cls = H5Tget_class(type);
    H5Tclose(type);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER)
        SGDMC_FAIL("%s: dataset '%s' is not numeric", path, name);
    space = H5Dget_space(dset);
    int r = H5Sget_simple_extent_ndims(space);
    if (r < 1 || r > 2)
        SGDMC_FAIL("%s: dataset '%s' has %d dimensions, expected 1 or 2", path, name, r);
    dims[1] = 1;
    H5Sget_simple_extent_dims(space, dims, NULL);
    *rank = r;
    size_t count = (size_t)dims[0] * (size_t)(r == 2 ? dims[1] : 1);
    values = malloc((count ? count : 1) * sizeof *values);
    if (!values)
        SGDMC_FAIL("%s: dataset '%s': out of memory", path, name);
    if (count && H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0)
        SGDMC_FAIL("%s: cannot read dataset '%s'", path, name);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(values[i]))
            SGDMC_FAIL("%s: dataset '%s' holds a non-finite value at flat index %zu", path, name, i);
    H5Sclose(space);
    H5Dclose(dset);
    return values;
fail:
    free(values);
    if (space >= 0)
        H5Sclose(space);
    if (dset >= 0)
        H5Dclose(dset);
    return NULL;
}

int sgdmc_h5_read_data(const char *path, double **x, double **y, int *n, int *d, char *err,
                       size_t errlen)
{
    double *xs = NULL, *ys = NULL;
    hid_t file = open_readonly(path, err, errlen);
    if (file < 0)
        return -1;
    int xrank, yrank;
    hsize_t xdims[2], ydims[2];
    xs = read_dataset(file, path, "x", &xrank, xdims, err, errlen);
    if (!xs)
        goto fail;
    ys = read_dataset(file, path, "y", &yrank, ydims, err, errlen);
    if (!ys)
        goto fail;
    if (xdims[0] < 1)
        SGDMC_FAIL("%s: dataset 'x' has no samples", path);
    if (xrank == 2 && xdims[1] < 1)
        SGDMC_FAIL("%s: dataset 'x' has shape [%llu, 0]: no input features", path,
             (unsigned long long)xdims[0]);
    if (xdims[0] > (1u << 30) || xdims[1] > 100000)
        SGDMC_FAIL("%s: dataset 'x' is too large ([%llu, %llu])", path,
             (unsigned long long)xdims[0], (unsigned long long)xdims[1]);
    if (yrank == 2 && ydims[1] != 1)
        SGDMC_FAIL("%s: dataset 'y' has shape [%llu, %llu], expected [%llu, 1] (scalar targets)", path,
             (unsigned long long)ydims[0], (unsigned long long)ydims[1],
             (unsigned long long)xdims[0]);
    if (ydims[0] != xdims[0])
        SGDMC_FAIL("%s: dataset 'y' has %llu samples but 'x' has %llu", path,
             (unsigned long long)ydims[0], (unsigned long long)xdims[0]);
    H5Fclose(file);
    *x = xs;
    *y = ys;
    *n = (int)xdims[0];
    *d = xrank == 2 ? (int)xdims[1] : 1;
    return 0;
fail:
    free(xs);
    free(ys);
    H5Fclose(file);
    return -1;
}

/* The first root link of an --init file named like a parameter (W<k>, b<k>)
 * that is not one of this network's W1..W{depth+1}, b1..b{depth+1}: the file
 * is for another network, and none of it may be silently left out. Other
 * links (a data set's x and y, groups) are not parameters and are let be. */
typedef struct {
    int depth;
    char unexpected[64];
} link_check;

static herr_t check_link(hid_t group, const char *name, const H5L_info_t *info, void *context)
{
    (void)group;
    (void)info;
    link_check *c = context;
    int k = 0, used = 0;
    const bool parameter_like = (name[0] == 'W' || name[0] == 'b') &&
                                sscanf(name + 1, "%d%n", &k, &used) == 1 &&
                                name[1 + used] == '\0';
    const bool ours = parameter_like && k >= 1 && k <= c->depth + 1 && name[1] != '0' &&
                      name[1] != '+' && name[1] != '-';
    if (parameter_like && !ours) {
        snprintf(c->unexpected, sizeof c->unexpected, "%s", name);
        return 1; /* stop */
    }
    return 0;
}

int sgdmc_h5_read_params(const char *path, const sgdmc_arch *arch, double *params, char *err,
                         size_t errlen)
{
    hid_t file = open_readonly(path, err, errlen);
    if (file < 0)
        return -1;
    link_check links = {arch->depth, ""};
    H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, NULL, check_link, &links);
    if (links.unexpected[0])
        SGDMC_FAIL("%s: holds '%s', which this network of depth %d does not have (its "
                   "parameters are W1..W%d and b1..b%d): the file is for another network",
                   path, links.unexpected, arch->depth, arch->depth + 1, arch->depth + 1);
    for (int k = 1; k <= arch->depth + 1; k++) {
        for (int is_bias = 0; is_bias <= 1; is_bias++) {
            char name[16];
            snprintf(name, sizeof name, "%c%d", is_bias ? 'b' : 'W', k);
            int rank;
            hsize_t dims[2];
            double *values = read_dataset(file, path, name, &rank, dims, err, errlen);
            if (!values)
                goto fail;
            const hsize_t rows = (hsize_t)arch->widths[k], cols = (hsize_t)arch->widths[k - 1];
            bool ok = is_bias ? (dims[0] == rows && (rank == 1 || dims[1] == 1))
                              : (rank == 2 && dims[0] == rows && dims[1] == cols);
            if (!ok) {
                free(values);
                if (is_bias)
                    SGDMC_FAIL("%s: dataset '%s' has shape [%llu%s%s], expected [%llu]", path, name,
                         (unsigned long long)dims[0], rank == 2 ? ", " : "",
                         rank == 2 ? "..." : "", (unsigned long long)rows);
                SGDMC_FAIL("%s: dataset '%s' has shape [%llu%s], expected [%llu, %llu] for this "
                     "network",
                     path, name, (unsigned long long)dims[0], rank == 2 ? ", ..." : "",
                     (unsigned long long)rows, (unsigned long long)cols);
            }
            size_t offset = is_bias ? sgdmc_arch_bias_offset(arch, k)
                                    : sgdmc_arch_weight_offset(arch, k);
            memcpy(params + offset, values, sizeof(double) * (size_t)(rows * (is_bias ? 1 : cols)));
            free(values);
        }
    }
    H5Fclose(file);
    return 0;
fail:
    H5Fclose(file);
    return -1;
}

static int write_matrix(hid_t file, const char *name, int rank, const hsize_t *dims,
                        const double *values)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    if (space < 0)
        return -1;
    hid_t dset = H5Dcreate2(file, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT);
    int status = dset < 0 ? -1
                          : (H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                      values) < 0 ? -1 : 0);
    if (dset >= 0)
        H5Dclose(dset);
    H5Sclose(space);
    return status;
}

bool sgdmc_h5_file_holds(const char *path, const char *link)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    /* a missing group on the way makes H5Lexists fail (< 0): not held either */
    const bool held = file >= 0 && H5Lexists(file, link, H5P_DEFAULT) > 0;
    if (file >= 0)
        H5Fclose(file);
    return held;
}

int sgdmc_h5_check_save_target(const char *path, const char *const *inputs, int n_inputs,
                               char *err, size_t errlen)
{
    struct stat target;
    if (stat(path, &target) != 0) {
        /* nothing there: a new file, in a folder that must exist and take it,
         * checked now rather than after the run */
        char folder[4096];
        snprintf(folder, sizeof folder, "%s", path);
        char *slash = strrchr(folder, '/');
        if (!slash)
            snprintf(folder, sizeof folder, ".");
        else if (slash == folder)
            folder[1] = '\0';
        else
            *slash = '\0';
        struct stat where;
        if (stat(folder, &where) != 0 || !S_ISDIR(where.st_mode)) {
            snprintf(err, errlen, "%s: cannot create it: the folder %s does not exist", path,
                     folder);
            return -1;
        }
        if (access(folder, W_OK | X_OK) != 0) {
            snprintf(err, errlen, "%s: cannot create it in the folder %s: %s", path, folder,
                     strerror(errno));
            return -1;
        }
        return 0;
    }
    if (!S_ISREG(target.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file (a directory, device or FIFO); give the "
                 "path of a new .h5 file", path);
        return -1;
    }
    for (int i = 0; i < n_inputs; i++) {
        struct stat input;
        if (inputs[i][0] && stat(inputs[i], &input) == 0 && input.st_dev == target.st_dev &&
            input.st_ino == target.st_ino) {
            snprintf(err, errlen, "%s: is the input file %s, which saving would replace", path,
                     inputs[i]);
            return -1;
        }
    }
    if (!sgdmc_h5_file_holds(path, "W1")) {
        snprintf(err, errlen, "%s: exists and is not a file of saved parameters (no W1), which "
                 "saving would replace; remove it or give another path", path);
        return -1;
    }
    return 0;
}

int sgdmc_h5_write_params(const char *path, const sgdmc_arch *arch, const double *params,
                          char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char partial[4200];
    snprintf(partial, sizeof partial, "%s.partial-%ld", path, (long)getpid());
    sgdmc_h5_failure failure;
    sgdmc_h5_watch_failures(&failure);
    hid_t file = H5Fcreate(partial, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) {
        sgdmc_h5_unwatch_failures();
        snprintf(err, errlen, "%s: cannot create it: %s", path, failure.reason);
        return -1;
    }
    for (int k = 1; k <= arch->depth + 1; k++) {
        char name[16];
        hsize_t dims[2] = {(hsize_t)arch->widths[k], (hsize_t)arch->widths[k - 1]};
        snprintf(name, sizeof name, "W%d", k);
        if (write_matrix(file, name, 2, dims, params + sgdmc_arch_weight_offset(arch, k)))
            SGDMC_FAIL("%s: cannot write dataset '%s': %s", path, name, failure.reason);
        snprintf(name, sizeof name, "b%d", k);
        if (write_matrix(file, name, 1, dims, params + sgdmc_arch_bias_offset(arch, k)))
            SGDMC_FAIL("%s: cannot write dataset '%s': %s", path, name, failure.reason);
    }
    if (H5Fclose(file) < 0) {
        file = -1;
        SGDMC_FAIL("%s: cannot finish writing it: %s", path, failure.reason);
    }
    sgdmc_h5_unwatch_failures();
    if (rename(partial, path) != 0) {
        const int why = errno;
        remove(partial);
        snprintf(err, errlen, "%s: cannot move the finished file into place: %s", path,
                 strerror(why));
        return -1;
    }
    return 0;
fail:
    if (file >= 0)
        H5Fclose(file);
    sgdmc_h5_unwatch_failures();
    remove(partial);
    return -1;
}

/* A variable-length UTF-8 string, which h5py reads as str. */
static hid_t text_type(void)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    return type;
}

/* A scalar attribute `name` of loc, stored as file_type, from *value in
 * memory_type. 0 or -1. */
static int write_scalar_attribute(hid_t loc, const char *name, hid_t file_type,
                                  hid_t memory_type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    int status = attr < 0 || H5Awrite(attr, memory_type, value) < 0 ? -1 : 0;
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    return status;
}

int sgdmc_h5_write_text_attribute(hid_t loc, const char *name, const char *value)
{
    hid_t type = text_type();
    const int status = write_scalar_attribute(loc, name, type, type, &value);
    H5Tclose(type);
    return status;
}

int sgdmc_h5_write_long_attribute(hid_t loc, const char *name, long long value)
{
    return write_scalar_attribute(loc, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, &value);
}

int sgdmc_h5_read_long_attribute(hid_t loc, const char *name, long long *value)
{
    if (H5Aexists(loc, name) <= 0)
        return 1;
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t space = attr < 0 ? -1 : H5Aget_space(attr);
    const int status = space < 0 || H5Sget_simple_extent_npoints(space) != 1 ||
                               H5Aread(attr, H5T_NATIVE_LLONG, value) < 0
                           ? -1
                           : 0;
    if (space >= 0)
        H5Sclose(space);
    if (attr >= 0)
        H5Aclose(attr);
    return status;
}

char *sgdmc_h5_read_text_attribute(hid_t loc, const char *name)
{
    if (H5Aexists(loc, name) <= 0)
        return NULL;
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    if (attr < 0)
        return NULL;
    hid_t type = H5Aget_type(attr);
    char *value = NULL;
    if (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0) {
        hid_t memory = text_type();
        char *stored = NULL;
        if (H5Aread(attr, memory, &stored) >= 0 && stored) {
            value = strdup(stored);
            H5free_memory(stored);
        }
        H5Tclose(memory);
    }
    H5Tclose(type);
    H5Aclose(attr);
    return value;
}
