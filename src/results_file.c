/* Creating and filling the parallel HDF5 results file of a study. */
#include "sgdmc/results_file.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { STATUS_PENDING = 0 };

/* The per-task scalar datasets, in schema order. */
typedef enum {
    COL_FINAL_RISK,
    COL_MIN_RISK,
    COL_TOL,
    COL_RTOL,
    COL_RISK_GAP,
    COL_DIST_TO_MIN,
    COL_GRAD_NORM,
    COL_MIN_GRAD_NORM,
    COL_GRAM_MIN_EIG,
    COL_GRAM_MAX_EIG,
    COL_GRAM_RISK,
    COL_GRAM_GRAD_NORM,
    COL_DEAD_INIT_PROBABILITY,
    COL_SECONDS,
    COL_DOUBLE_COUNT
} double_column;

static const char *const double_names[COL_DOUBLE_COUNT] = {
    "final_risk",   "min_risk",     "tol",       "rtol",           "risk_gap",  "dist_to_min",
    "grad_norm",    "min_grad_norm",
    "gram_min_eig", "gram_max_eig", "gram_risk", "gram_grad_norm", "dead_init_probability",
    "seconds"};

/* The per-layer [tasks, max depth] datasets. */
typedef enum { DEAD_INIT, DEAD_FINAL, DEAD_PERMANENT_INIT, DEAD_PERMANENT_FINAL, LAYER_COUNT } layer_column;

static const char *const layer_names[LAYER_COUNT] = {"dead_init", "dead_final",
                                                     "dead_permanent_init", "dead_permanent_final"};

static const int *layer_values(const sgdmc_result *r, layer_column column)
{
    const int *const values[LAYER_COUNT] = {r->dead_init, r->dead_final, r->dead_permanent_init,
                                            r->dead_permanent_final};
    return values[column];
}

struct sgdmc_results_file {
    hid_t file;
    long tasks;
    int max_depth;
    int trajectory;
    hid_t doubles[COL_DOUBLE_COUNT];
    hid_t status, min_risk_source, certified, steps, rank, done;
    hid_t per_layer[LAYER_COUNT];
    hid_t traj_step, traj_risk, traj_grad_norm;
    /* row buffers for one write call, grown on demand */
    size_t buffer_rows;
    double *dbuf;
    long long *lbuf;
    int *ibuf;
    unsigned char *ubuf;
};

/* A uint8 enum of the names, numbered 0, 1, ... */
static hid_t enum_type(const char *const *names)
{
    hid_t t = H5Tenum_create(H5T_NATIVE_UINT8);
    for (unsigned char v = 0; names[v]; v++)
        H5Tenum_insert(t, names[v], &v);
    return t;
}

static const char *const status_names[] = {"pending", "converged", "not_converged", "diverged",
                                           NULL};

/* A contiguous dataset of `rank` dims, allocated now and filled with `fill`. */
static hid_t create_dataset(hid_t loc, const char *name, hid_t type, int rank,
                            const hsize_t *dims, const void *fill)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(dcpl, H5D_CONTIGUOUS);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC);
    if (fill)
        H5Pset_fill_value(dcpl, type, fill);
    hid_t dset = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    return dset;
}

/* A variable-length UTF-8 string, which h5py reads as str. */
static hid_t text_type(void)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    return type;
}

static int write_string_attribute(hid_t loc, const char *name, const char *value)
{
    hid_t type = text_type();
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    int status = attr < 0 || H5Awrite(attr, type, &value) < 0 ? -1 : 0;
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    return status;
}

static int write_long_attribute(hid_t loc, const char *name, long long value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(loc, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    int status = attr < 0 || H5Awrite(attr, H5T_NATIVE_LLONG, &value) < 0 ? -1 : 0;
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    return status;
}

/* Whether every value of the axis reads as a number. */
static int axis_is_numeric(const sgdmc_grid_axis *axis)
{
    for (int i = 0; i < axis->count; i++) {
        char *end;
        strtod(axis->values[i], &end);
        if (end == axis->values[i] || *end)
            return 0;
    }
    return 1;
}

/* The grid columns and seeds: known up front, written by rank 0 alone. */
static int write_task_columns(hid_t runs, const sgdmc_study *study,
                              int is_writer)
{
    const hsize_t dims[1] = {(hsize_t)study->tasks};
    hid_t datasets[SGDMC_STUDY_MAX_AXES + 1];
    hid_t types[SGDMC_STUDY_MAX_AXES + 1];
    size_t widths[SGDMC_STUDY_MAX_AXES];
    int status = 0;
    for (int a = 0; a < study->axis_count; a++) {
        const sgdmc_grid_axis *axis = &study->axes[a];
        if (axis_is_numeric(axis)) {
            types[a] = H5Tcopy(H5T_IEEE_F64LE);
            widths[a] = 0;
        } else {
            size_t longest = 1;
            for (int i = 0; i < axis->count; i++)
                if (strlen(axis->values[i]) > longest)
                    longest = strlen(axis->values[i]);
            types[a] = H5Tcopy(H5T_C_S1);
            H5Tset_size(types[a], longest);
            H5Tset_strpad(types[a], H5T_STR_NULLPAD);
            widths[a] = longest;
        }
        datasets[a] = create_dataset(runs, axis->key, types[a], 1, dims, NULL);
        status |= datasets[a] < 0;
    }
    const int n = study->axis_count;
    datasets[n] = create_dataset(runs, "seed", H5T_STD_I64LE, 1, dims, NULL);
    status |= datasets[n] < 0;
    if (!status && is_writer) {
        const long tasks = study->tasks;
        for (int a = 0; a <= n && !status; a++) {
            const bool is_seed = a == n;
            const size_t width = is_seed ? 0 : widths[a];
            const size_t item = is_seed ? sizeof(long long) : (width ? width : sizeof(double));
            char *column = calloc((size_t)tasks, item);
            if (!column) {
                status = -1;
                break;
            }
            for (long t = 0; t < tasks; t++) {
                if (is_seed) {
                    ((long long *)column)[t] = t % study->seeds;
                    continue;
                }
                int index[SGDMC_STUDY_MAX_AXES];
                sgdmc_study_axis_indices(study, t, index);
                const char *value = study->axes[a].values[index[a]];
                if (width)
                    strncpy(column + (size_t)t * width, value, width);
                else
                    ((double *)column)[t] = strtod(value, NULL);
            }
            hid_t mem = is_seed ? H5T_NATIVE_LLONG : (width ? types[a] : H5T_NATIVE_DOUBLE);
            status |= H5Dwrite(datasets[a], mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, column) < 0;
            free(column);
        }
    }
    for (int a = 0; a <= n; a++) {
        if (a < n)
            H5Tclose(types[a]);
        if (datasets[a] >= 0)
            H5Dclose(datasets[a]);
    }
    return status ? -1 : 0;
}

/* The grid keys in the order written, as an array of fixed-length strings. */
static int write_grid_keys_attribute(hid_t loc, const sgdmc_study *study)
{
    size_t longest = 1;
    for (int a = 0; a < study->axis_count; a++)
        if (strlen(study->axes[a].key) > longest)
            longest = strlen(study->axes[a].key);
    const size_t count = study->axis_count > 0 ? (size_t)study->axis_count : 1;
    char *names = calloc(count, longest);
    if (!names)
        return -1;
    for (int a = 0; a < study->axis_count; a++)
        strncpy(names + (size_t)a * longest, study->axes[a].key, longest);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, longest);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    const hsize_t dims[1] = {(hsize_t)study->axis_count};
    hid_t space = study->axis_count ? H5Screate_simple(1, dims, NULL) : H5Screate(H5S_NULL);
    hid_t attr = H5Acreate2(loc, "grid_keys", type, space, H5P_DEFAULT, H5P_DEFAULT);
    int status = attr < 0 || (study->axis_count && H5Awrite(attr, type, names) < 0) ? -1 : 0;
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    free(names);
    return status;
}

static int max_depth_of(const sgdmc_study *study)
{
    int max = 1;
    for (long cell = 0; cell < study->cells; cell++) {
        sgdmc_train_config c;
        sgdmc_study_task(study, cell * study->seeds, &c, NULL);
        if (c.depth > max)
            max = c.depth;
    }
    return max;
}

static void close_datasets(sgdmc_results_file *f)
{
    for (int c = 0; c < LAYER_COUNT; c++)
        if (f->per_layer[c] > 0)
            H5Dclose(f->per_layer[c]);
    hid_t ids[] = {f->status, f->min_risk_source, f->certified, f->steps, f->rank, f->done,
                   f->traj_step, f->traj_risk, f->traj_grad_norm};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        if (ids[i] > 0)
            H5Dclose(ids[i]);
    for (int c = 0; c < COL_DOUBLE_COUNT; c++)
        if (f->doubles[c] > 0)
            H5Dclose(f->doubles[c]);
}

static hid_t mpio_access(MPI_Comm comm)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    return fapl;
}

/* Collective: writes the complete skeleton of the results file at `path`:
 * attributes, task columns, every dataset at full size with its fill. */
static int create_skeleton(MPI_Comm comm, const char *path, const sgdmc_study *study, int ranks)
{
    int me;
    MPI_Comm_rank(comm, &me);
    sgdmc_results_file skeleton = {0}, *f = &skeleton;
    f->tasks = study->tasks;
    f->trajectory = study->trajectory;
    f->max_depth = max_depth_of(study);
    hid_t fapl = mpio_access(comm);
    f->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    int status = f->file < 0;
    char created[64];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    status |= write_string_attribute(f->file, "config", study->text);
    status |= write_string_attribute(f->file, "sgdmc_version", SGDMC_VERSION);
    status |= write_string_attribute(f->file, "created", created);
    status |= write_long_attribute(f->file, "ranks", ranks);
    status |= write_long_attribute(f->file, "tasks", study->tasks);
    status |= write_long_attribute(f->file, "seeds", study->seeds);
    status |= write_grid_keys_attribute(f->file, study);
    hid_t runs = H5Gcreate2(f->file, "runs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    status |= runs < 0;
    const hsize_t rows[1] = {(hsize_t)study->tasks};
    const hsize_t depth_dims[2] = {(hsize_t)study->tasks, (hsize_t)f->max_depth};
    const double nan = NAN;
    const int minus_one = -1;
    const long long minus_one_ll = -1;
    const unsigned char zero = 0;
    for (int c = 0; c < COL_DOUBLE_COUNT; c++) {
        f->doubles[c] = create_dataset(runs, double_names[c], H5T_IEEE_F64LE, 1, rows, &nan);
        status |= f->doubles[c] < 0;
    }
    hid_t statuses = enum_type(status_names);
    const unsigned char pending = STATUS_PENDING;
    f->status = create_dataset(runs, "status", statuses, 1, rows, &pending);
    H5Tclose(statuses);
    hid_t sources = enum_type(sgdmc_min_risk_source_names);
    const unsigned char unknown = SGDMC_MIN_RISK_UNKNOWN;
    f->min_risk_source = create_dataset(runs, "min_risk_source", sources, 1, rows, &unknown);
    H5Tclose(sources);
    const signed char unknown_verdict = -1;
    f->certified = create_dataset(runs, "certified_nonconvergent", H5T_STD_I8LE, 1, rows,
                                  &unknown_verdict);
    status |= f->certified < 0;
    f->steps = create_dataset(runs, "steps", H5T_STD_I64LE, 1, rows, &minus_one_ll);
    f->rank = create_dataset(runs, "rank", H5T_STD_I32LE, 1, rows, &minus_one);
    for (int c = 0; c < LAYER_COUNT; c++) {
        f->per_layer[c] =
            create_dataset(runs, layer_names[c], H5T_STD_I32LE, 2, depth_dims, &minus_one);
        status |= f->per_layer[c] < 0;
    }
    f->done = create_dataset(runs, "done", H5T_STD_U8LE, 1, rows, &zero);
    status |= f->status < 0 || f->min_risk_source < 0 || f->steps < 0 || f->rank < 0 ||
              f->done < 0;
    f->traj_step = f->traj_risk = f->traj_grad_norm = -1;
    if (f->trajectory > 0) {
        const hsize_t traj_dims[2] = {(hsize_t)study->tasks, (hsize_t)f->trajectory};
        hid_t group = H5Gcreate2(runs, "trajectory", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        f->traj_step = create_dataset(group, "step", H5T_STD_I64LE, 2, traj_dims, &minus_one_ll);
        f->traj_risk = create_dataset(group, "risk", H5T_IEEE_F64LE, 2, traj_dims, &nan);
        f->traj_grad_norm = create_dataset(group, "grad_norm", H5T_IEEE_F64LE, 2, traj_dims, &nan);
        status |= group < 0 || f->traj_step < 0 || f->traj_risk < 0 || f->traj_grad_norm < 0;
        if (group >= 0)
            H5Gclose(group);
    }
    status |= write_task_columns(runs, study, me == 0);
    if (runs >= 0)
        H5Gclose(runs);
    close_datasets(f);
    if (f->file >= 0)
        status |= H5Fclose(f->file) < 0;
    int any_failed;
    MPI_Allreduce(&status, &any_failed, 1, MPI_INT, MPI_BOR, comm);
    return any_failed ? -1 : 0;
}

sgdmc_results_file *sgdmc_results_create(MPI_Comm comm, const char *path,
                                         const sgdmc_study *study, int ranks, int force,
                                         char *err, size_t errlen)
{
    int me;
    MPI_Comm_rank(comm, &me);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int exists = me == 0 ? access(path, F_OK) == 0 : 0;
    MPI_Bcast(&exists, 1, MPI_INT, 0, comm);
    if (exists && !force) {
        snprintf(err, errlen, "%s: exists; use --resume to continue it or --force to replace it",
                 path);
        return NULL;
    }
    /* Built under a temporary name and renamed when complete: a process
     * killed while creating leaves no half-made file under `path`. */
    char partial[SGDMC_PATH_MAX + 16];
    snprintf(partial, sizeof partial, "%s.creating", path);
    if (create_skeleton(comm, partial, study, ranks)) {
        snprintf(err, errlen, "%s: cannot create the results file", partial);
        return NULL;
    }
    int renamed = me == 0 ? rename(partial, path) == 0 : 0;
    MPI_Bcast(&renamed, 1, MPI_INT, 0, comm);
    if (!renamed) {
        snprintf(err, errlen, "%s: cannot rename it to %s", partial, path);
        return NULL;
    }
    return sgdmc_results_open(comm, path, study, err, errlen);
}

/* A string attribute of the file root, malloc'd; NULL if missing. */
static char *read_string_attribute(hid_t file, const char *name)
{
    hid_t attr = H5Aopen(file, name, H5P_DEFAULT);
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

/* Describes where two config texts first differ, by line. */
static void describe_difference(const char *stored, const char *given, char *buf, size_t len)
{
    int line = 1;
    const char *a = stored, *b = given;
    while (*a && *a == *b) {
        line += *a == '\n';
        a++;
        b++;
    }
    snprintf(buf, len, "first difference on line %d", line);
}

static int check_same_study(hid_t file, const char *path, const sgdmc_study *study, char *err,
                            size_t errlen)
{
    char *config = read_string_attribute(file, "config");
    char *version = read_string_attribute(file, "sgdmc_version");
    int status = 0;
    if (!config || !version) {
        snprintf(err, errlen, "%s: not an sgdmc results file (no config or sgdmc_version attribute)",
                 path);
        status = -1;
    } else if (strcmp(config, study->text)) {
        char where[64];
        describe_difference(config, study->text, where, sizeof where);
        snprintf(err, errlen,
                 "%s: was started with a different config than %s (%s; h5dump -a config %s shows "
                 "it); resume with that config, or start over with --force",
                 path, study->path, where, path);
        status = -1;
    } else if (strcmp(version, SGDMC_VERSION)) {
        snprintf(err, errlen,
                 "%s: was written by sgdmc %s, this is sgdmc %s; finish it with the same version "
                 "(results must not mix versions), or start over with --force",
                 path, version, SGDMC_VERSION);
        status = -1;
    }
    free(config);
    free(version);
    return status;
}

static hid_t open_dataset(hid_t file, const char *name, int *missing)
{
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    *missing |= d < 0;
    return d;
}

sgdmc_results_file *sgdmc_results_open(MPI_Comm comm, const char *path, const sgdmc_study *study,
                                       char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    sgdmc_results_file *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->tasks = study->tasks;
    f->trajectory = study->trajectory;
    f->max_depth = max_depth_of(study);
    hid_t fapl = mpio_access(comm);
    f->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    int status = 0;
    if (f->file < 0) {
        snprintf(err, errlen, "%s: cannot open it as an HDF5 file for writing", path);
        status = -1;
    } else {
        status = check_same_study(f->file, path, study, err, errlen);
    }
    if (!status) {
        int missing = 0;
        for (int c = 0; c < COL_DOUBLE_COUNT; c++) {
            char name[64];
            snprintf(name, sizeof name, "runs/%s", double_names[c]);
            f->doubles[c] = open_dataset(f->file, name, &missing);
        }
        f->status = open_dataset(f->file, "runs/status", &missing);
        f->min_risk_source = open_dataset(f->file, "runs/min_risk_source", &missing);
        f->certified = open_dataset(f->file, "runs/certified_nonconvergent", &missing);
        f->steps = open_dataset(f->file, "runs/steps", &missing);
        f->rank = open_dataset(f->file, "runs/rank", &missing);
        for (int c = 0; c < LAYER_COUNT; c++) {
            char name[64];
            snprintf(name, sizeof name, "runs/%s", layer_names[c]);
            f->per_layer[c] = open_dataset(f->file, name, &missing);
        }
        f->done = open_dataset(f->file, "runs/done", &missing);
        f->traj_step = f->traj_risk = f->traj_grad_norm = -1;
        if (f->trajectory > 0) {
            f->traj_step = open_dataset(f->file, "runs/trajectory/step", &missing);
            f->traj_risk = open_dataset(f->file, "runs/trajectory/risk", &missing);
            f->traj_grad_norm = open_dataset(f->file, "runs/trajectory/grad_norm", &missing);
        }
        if (missing) {
            snprintf(err, errlen, "%s: not a complete sgdmc results file (datasets missing)", path);
            status = -1;
        }
    }
    int any_failed;
    MPI_Allreduce(&status, &any_failed, 1, MPI_INT, MPI_BOR, comm);
    if (any_failed) {
        if (!status)
            snprintf(err, errlen, "%s: another rank could not open it", path);
        if (f->file >= 0)
            sgdmc_results_close(f);
        else
            free(f);
        return NULL;
    }
    return f;
}

int sgdmc_results_read_done(sgdmc_results_file *f, long first, long count, unsigned char *done)
{
    hid_t space = H5Dget_space(f->done);
    const hsize_t start[1] = {(hsize_t)first}, size[1] = {(hsize_t)count};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, size, NULL);
    hid_t mem = H5Screate_simple(1, size, NULL);
    const int status = H5Dread(f->done, H5T_NATIVE_UINT8, mem, space, H5P_DEFAULT, done) < 0 ? -1 : 0;
    H5Sclose(mem);
    H5Sclose(space);
    return status;
}

static int ensure_buffers(sgdmc_results_file *f, size_t rows)
{
    size_t cells = rows * (size_t)(f->max_depth > f->trajectory ? f->max_depth : f->trajectory);
    if (cells < rows)
        cells = rows;
    if (cells <= f->buffer_rows)
        return 0;
    free(f->dbuf);
    free(f->lbuf);
    free(f->ibuf);
    free(f->ubuf);
    f->dbuf = malloc(cells * sizeof *f->dbuf);
    f->lbuf = malloc(cells * sizeof *f->lbuf);
    f->ibuf = malloc(cells * sizeof *f->ibuf);
    f->ubuf = malloc(cells * sizeof *f->ubuf);
    f->buffer_rows = f->dbuf && f->lbuf && f->ibuf && f->ubuf ? cells : 0;
    return f->buffer_rows ? 0 : -1;
}

/* Writes rows first..first+count-1 (of `width` columns) of dataset dset. */
static int write_rows(hid_t dset, hid_t mem_type, long first, int count, int width,
                      const void *values)
{
    hid_t space = H5Dget_space(dset);
    hsize_t start[2] = {(hsize_t)first, 0}, size[2] = {(hsize_t)count, (hsize_t)width};
    const int rank = H5Sget_simple_extent_ndims(space);
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, size, NULL);
    hid_t mem = H5Screate_simple(rank, size, NULL);
    int status = H5Dwrite(dset, mem_type, mem, space, H5P_DEFAULT, values) < 0 ? -1 : 0;
    H5Sclose(mem);
    H5Sclose(space);
    return status;
}

int sgdmc_results_write(sgdmc_results_file *f, long first, int count,
                        const sgdmc_result *results, int rank)
{
    if (ensure_buffers(f, (size_t)count))
        return -1;
    int status = 0;
    for (int c = 0; c < COL_DOUBLE_COUNT; c++) {
        for (int i = 0; i < count; i++) {
            const sgdmc_result *r = &results[i];
            const double values[COL_DOUBLE_COUNT] = {
                r->final_risk, r->min_risk,      r->tol,          r->rtol,
                r->risk_gap,   r->dist_to_min,
                r->grad_norm,  r->min_grad_norm, r->gram_min_eig, r->gram_max_eig,
                r->gram_risk,  r->gram_grad_norm, r->dead_init_probability, r->seconds};
            f->dbuf[i] = values[c];
        }
        status |= write_rows(f->doubles[c], H5T_NATIVE_DOUBLE, first, count, 1, f->dbuf);
    }
    for (int i = 0; i < count; i++) {
        f->ubuf[i] = (unsigned char)(results[i].status + 1);
        f->lbuf[i] = results[i].steps;
    }
    hid_t statuses = enum_type(status_names);
    status |= write_rows(f->status, statuses, first, count, 1, f->ubuf);
    H5Tclose(statuses);
    for (int i = 0; i < count; i++)
        f->ubuf[i] = (unsigned char)results[i].min_risk_source;
    hid_t sources = enum_type(sgdmc_min_risk_source_names);
    status |= write_rows(f->min_risk_source, sources, first, count, 1, f->ubuf);
    H5Tclose(sources);
    status |= write_rows(f->steps, H5T_NATIVE_LLONG, first, count, 1, f->lbuf);
    for (int i = 0; i < count; i++)
        f->ibuf[i] = results[i].certified_nonconvergent;
    status |= write_rows(f->certified, H5T_NATIVE_INT, first, count, 1, f->ibuf);
    for (int i = 0; i < count; i++)
        f->ibuf[i] = rank;
    status |= write_rows(f->rank, H5T_NATIVE_INT, first, count, 1, f->ibuf);
    const int D = f->max_depth;
    for (int c = 0; c < LAYER_COUNT; c++) {
        for (int i = 0; i < count; i++)
            for (int k = 0; k < D; k++) {
                const int *values = layer_values(&results[i], (layer_column)c);
                f->ibuf[(size_t)i * D + k] = k < results[i].depth ? values[k] : -1;
            }
        status |= write_rows(f->per_layer[c], H5T_NATIVE_INT, first, count, D, f->ibuf);
    }
    const int T = f->trajectory;
    if (T > 0) {
        for (int which = 0; which < 3; which++) {
            for (int i = 0; i < count; i++)
                for (int j = 0; j < T; j++) {
                    const sgdmc_result *r = &results[i];
                    const bool have = j < r->trajectory_count;
                    const size_t at = (size_t)i * T + j;
                    if (which == 0)
                        f->lbuf[at] = have ? r->trajectory_step[j] : -1;
                    else
                        f->dbuf[at] = !have ? NAN
                                            : which == 1 ? r->trajectory_risk[j]
                                                         : r->trajectory_grad_norm[j];
                }
            if (which == 0)
                status |= write_rows(f->traj_step, H5T_NATIVE_LLONG, first, count, T, f->lbuf);
            else
                status |= write_rows(which == 1 ? f->traj_risk : f->traj_grad_norm,
                                     H5T_NATIVE_DOUBLE, first, count, T, f->dbuf);
        }
    }
    if (status)
        return -1;
    /* done last: a row flagged done has all its values in the file */
    memset(f->ubuf, 1, (size_t)count);
    return write_rows(f->done, H5T_NATIVE_UINT8, first, count, 1, f->ubuf);
}

int sgdmc_results_close(sgdmc_results_file *f)
{
    close_datasets(f);
    int status = H5Fclose(f->file) < 0 ? -1 : 0;
    free(f->dbuf);
    free(f->lbuf);
    free(f->ibuf);
    free(f->ubuf);
    free(f);
    return status;
}
