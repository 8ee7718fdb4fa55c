/* Creating and filling the parallel HDF5 results file of a study. */
#define _GNU_SOURCE /* fallocate */
#include "sgdmc/study/results_file.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "sgdmc/base/build_id.h"
#include "sgdmc/base/error.h"
#include "sgdmc/base/input_file.h"
#include "sgdmc/base/numeric_libraries.h"
#include "sgdmc/core/h5io.h"
#include "sgdmc/core/result_h5.h"
#include "sgdmc/core/train_options.h"
#include "sgdmc/study/study_inputs.h"

struct sgdmc_results_file {
    hid_t file;
    long tasks;
    sgdmc_result_datasets *fields; /* one dataset per result field (result_h5.h) */
    hid_t rank, done;              /* the study's own bookkeeping columns */
    size_t buffer_rows;
    int *ranks;                    /* [buffer_rows] */
    unsigned char *flags;          /* [buffer_rows] */
    long writes_before_fault;      /* SGDMC_FAULT_WRITES: writes left before they fail; -1 */
    struct stat opened;            /* the file at its path when opened for the rows */
};

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

/* The grid columns and seeds: known up front, written by rank 0 alone. */
static int write_task_columns(hid_t runs, const sgdmc_study *study)
{
    const hsize_t dims[1] = {(hsize_t)study->tasks};
    hid_t datasets[SGDMC_STUDY_MAX_AXES + 1];
    hid_t types[SGDMC_STUDY_MAX_AXES + 1];
    size_t widths[SGDMC_STUDY_MAX_AXES];
    int status = 0;
    for (int a = 0; a < study->axis_count; a++) {
        const sgdmc_grid_axis *axis = &study->axes[a];
        /* a flag with numeric values is a float64 column, any other (a choice,
         * a file, a switch, a target) a text column */
        if (sgdmc_option_find(&sgdmc_train_options, axis->key)->type->numeric) {
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
    if (!status) {
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
    sgdmc_result_h5_close(f->fields);
    f->fields = NULL;
    if (f->rank > 0)
        H5Dclose(f->rank);
    if (f->done > 0)
        H5Dclose(f->done);
    f->rank = f->done = -1;
}

static hid_t mpio_access(MPI_Comm comm)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    return fapl;
}

/* The input files' fingerprints, one fixed-length hex column per kind in
 * use: /inputs/data_sha256 [cells], /inputs/init_sha256 [cells]. */
static int write_inputs(hid_t file, const sgdmc_study_inputs *inputs)
{
    if (!inputs->used[SGDMC_INPUT_DATA] && !inputs->used[SGDMC_INPUT_INIT])
        return 0;
    hid_t group = H5Gcreate2(file, "inputs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (group < 0)
        return -1;
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, SGDMC_FINGERPRINT_SIZE - 1);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    const hsize_t dims[1] = {(hsize_t)inputs->cells};
    int status = 0;
    for (int kind = 0; kind < SGDMC_INPUT_KINDS && status == 0; kind++) {
        if (!inputs->used[kind])
            continue;
        char name[64];
        snprintf(name, sizeof name, "%s_sha256", sgdmc_input_keys[kind]);
        hid_t dset = create_dataset(group, name, type, 1, dims, NULL);
        /* the memory rows are 65 bytes with their 0; the file's 64 */
        hid_t memory = H5Tcopy(H5T_C_S1);
        H5Tset_size(memory, SGDMC_FINGERPRINT_SIZE);
        status = dset < 0 || H5Dwrite(dset, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                      inputs->sha256[(long)kind * inputs->cells]) < 0;
        H5Tclose(memory);
        if (dset >= 0)
            H5Dclose(dset);
    }
    H5Tclose(type);
    H5Gclose(group);
    return status ? -1 : 0;
}

/* The columns of /runs besides the result fields: the grid's, seed, rank, done. */
static long long task_column_bytes(const sgdmc_study *study)
{
    long long per_task = 8 /* seed */ + 4 /* rank */ + 1 /* done */;
    for (int a = 0; a < study->axis_count; a++) {
        const sgdmc_grid_axis *axis = &study->axes[a];
        if (sgdmc_option_find(&sgdmc_train_options, axis->key)->type->numeric) {
            per_task += 8;
            continue;
        }
        size_t longest = 1;
        for (int i = 0; i < axis->count; i++)
            if (strlen(axis->values[i]) > longest)
                longest = strlen(axis->values[i]);
        per_task += (long long)longest;
    }
    return per_task * study->tasks;
}

/* HDF5's metadata besides the raw data: object headers, the root's and the
 * groups' link storage, attributes (the config text among them). */
enum { METADATA_BASE = 64 << 10, METADATA_PER_DATASET = 2 << 10 };

long long sgdmc_results_file_bytes(const sgdmc_study *study)
{
    const int datasets = sgdmc_result_field_count + study->axis_count + 3 + SGDMC_INPUT_KINDS;
    return sgdmc_result_h5_bytes(study->tasks, max_depth_of(study), study->trajectory) +
           task_column_bytes(study) +
           (long long)SGDMC_INPUT_KINDS * (SGDMC_FINGERPRINT_SIZE - 1) * study->cells +
           2 * (long long)strlen(study->text) + METADATA_BASE +
           (long long)METADATA_PER_DATASET * datasets;
}

/* Reserves `bytes` of disk for the file at `path` before HDF5 writes it
 * (blocks beyond its end, its size unchanged): a full disk or a quota then
 * fails here, with the OS's reason, instead of in the middle of an HDF5
 * call. 0, also where the file system cannot reserve (the writes then find
 * out); -1 with errno. */
static int reserve_space(const char *path, long long bytes)
{
    if (getenv("SGDMC_FAULT_SKIP_RESERVE"))
        return 0; /* tests: reach the full disk inside HDF5 */
    const int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    int status = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)bytes);
    if (status && (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL))
        status = 0;
    const int saved = errno;
    close(fd);
    errno = saved;
    return status;
}

/* The libraries that store and move the numbers, as loaded here, e.g.
 * "HDF5 1.10.8, Open MPI v4.1.4": recorded, not compared (they compute
 * nothing a result depends on). */
static void io_libraries(char *buf, size_t size)
{
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int length = 0;
    MPI_Get_library_version(mpi, &length);
    mpi[strcspn(mpi, ",\n")] = '\0'; /* "Open MPI v4.1.4, package: ...": the name */
    snprintf(buf, size, "HDF5 %u.%u.%u, %s", major, minor, release, mpi);
}

/* Builds the complete results file at `path` through HDF5's serial driver:
 * attributes, task columns, input fingerprints, every dataset at full size
 * with its fill. 0, -1 with the first failure's reason, or SGDMC_CANCELLED;
 * the caller removes the file unless 0. */
static int build_file(const char *path, const sgdmc_study *study, int ranks,
                      const sgdmc_study_inputs *inputs, const sgdmc_cancel *cancel,
                      char *reason, size_t size)
{
    sgdmc_h5_failure failure;
    sgdmc_h5_watch_failures(&failure);
    sgdmc_results_file skeleton = {.rank = -1, .done = -1}, *f = &skeleton;
    f->tasks = study->tasks;
    f->file = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    int status = f->file < 0;
    bool cancelled = false;
    hid_t runs = -1;
    if (!status && reserve_space(path, sgdmc_results_file_bytes(study))) {
        snprintf(failure.reason, sizeof failure.reason, "%s", strerror(errno));
        status = -1;
    }
    if (!status) {
        char created[64];
        time_t now = time(NULL);
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        status |= sgdmc_h5_write_text_attribute(f->file, "config", study->text);
        status |= sgdmc_h5_write_text_attribute(f->file, "sgdmc_version", SGDMC_VERSION);
        status |= sgdmc_h5_write_text_attribute(f->file, "sgdmc_build", SGDMC_BUILD);
        char libraries[SGDMC_NUMERIC_LIBRARIES_SIZE];
        sgdmc_numeric_libraries(libraries, sizeof libraries);
        status |= sgdmc_h5_write_text_attribute(f->file, "numeric_libraries", libraries);
        io_libraries(libraries, sizeof libraries);
        status |= sgdmc_h5_write_text_attribute(f->file, "io_libraries", libraries);
        status |= sgdmc_result_h5_write_format_version(f->file);
        status |= sgdmc_h5_write_text_attribute(f->file, "created", created);
        status |= sgdmc_h5_write_long_attribute(f->file, "ranks", ranks);
        status |= sgdmc_h5_write_long_attribute(f->file, "tasks", study->tasks);
        status |= sgdmc_h5_write_long_attribute(f->file, "seeds", study->seeds);
        status |= write_grid_keys_attribute(f->file, study);
        status |= write_inputs(f->file, inputs);
        runs = H5Gcreate2(f->file, "runs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        status |= runs < 0;
    }
    if (!status) {
        const hsize_t rows[1] = {(hsize_t)study->tasks};
        const int minus_one = -1;
        const unsigned char zero = 0;
        f->fields = sgdmc_result_h5_create(runs, study->tasks, max_depth_of(study),
                                           study->trajectory, cancel);
        cancelled = !f->fields && sgdmc_cancel_requested(cancel);
        status |= !f->fields;
        if (!status)
            f->rank = create_dataset(runs, "rank", H5T_STD_I32LE, 1, rows, &minus_one);
        if (!status && f->rank >= 0)
            f->done = create_dataset(runs, "done", H5T_STD_U8LE, 1, rows, &zero);
        status |= f->rank < 0 || f->done < 0;
        if (!status)
            status |= write_task_columns(runs, study);
    }
    if (runs >= 0)
        H5Gclose(runs);
    close_datasets(f);
    /* A failed file cannot be flushed on a full disk, and HDF5 1.10 crashes
     * at exit on a file whose close failed: empty it first (its space
     * freed), so that the close's few metadata writes find room. */
    if (status && f->file >= 0 && truncate(path, 0) != 0)
        status = -1;
    if (f->file >= 0)
        status |= H5Fclose(f->file) < 0;
    sgdmc_h5_unwatch_failures();
    snprintf(reason, size, "%s", failure.reason[0] ? failure.reason : "an HDF5 error");
    return cancelled ? SGDMC_CANCELLED : status ? -1 : 0;
}

/* Refuses a file that cannot fit: checked before anything is written. The
 * statvfs figure is what an unprivileged writer may use; a quota may be
 * smaller, which the build then reports with the OS's reason. */
static int check_free_space(const char *path, const sgdmc_study *study, char *err,
                            size_t errlen)
{
    if (getenv("SGDMC_FAULT_SKIP_SPACE_CHECK"))
        return 0; /* tests: reach the full disk inside HDF5 */
    char folder[SGDMC_PATH_MAX];
    snprintf(folder, sizeof folder, "%s", path);
    struct statvfs fs;
    if (statvfs(dirname(folder), &fs) != 0)
        return 0; /* the build will say what is wrong with the folder */
    const long long needed = sgdmc_results_file_bytes(study);
    const long long available = (long long)fs.f_bavail * (long long)fs.f_frsize;
    if (available >= needed)
        return 0;
    snprintf(err, errlen,
             "%s: needs %.3g MB but its file system has %.3g MB free: No space left on device",
             path, (double)needed / 1e6, (double)available / 1e6);
    return -1;
}

/* What --force may replace: a results file, never the study's config or
 * data, another kind of file, a directory, FIFO or device. 0 or -1. */
static int check_replaceable(const char *path, char *err, size_t errlen)
{
    char why[256];
    if (sgdmc_input_file_problem(path, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s; --force replaces only a results file", path, why);
        return -1;
    }
    if (!sgdmc_h5_file_holds(path, "runs/done")) {
        snprintf(err, errlen, "%s: exists and is not an sgdmc results file (no /runs/done), which "
                 "--force would replace; remove it or give another --output", path);
        return -1;
    }
    return 0;
}

/* Removes NAME.h5.creating left by a process killed while creating: this
 * study holds the claim, so it is no other writer's. 0, or -1 with a message
 * where it cannot be removed. */
static int remove_leftover(const char *path, const char *partial, char *err, size_t errlen)
{
    if (unlink(partial) == 0 || errno == ENOENT)
        return 0;
    snprintf(err, errlen, "%s: cannot remove the leftover %s: %s", path, partial,
             strerror(errno));
    return -1;
}

/* Rank 0 alone: checks, fingerprints and builds the file, then renames it
 * into place; 0, -1 or SGDMC_CANCELLED with nothing left behind. */
static int create_on_rank_0(const char *path, const sgdmc_study *study, int ranks, int force,
                            const sgdmc_cancel *cancel, char *err, size_t errlen)
{
    struct stat existing;
    if (lstat(path, &existing) == 0) {
        if (!force) {
            snprintf(err, errlen,
                     "%s: exists; use --resume to continue it or --force to replace it", path);
            return -1;
        }
        if (check_replaceable(path, err, errlen))
            return -1;
    }
    /* Built under a temporary name and renamed when complete: a process
     * killed while creating leaves no half-made file under `path`. */
    char partial[SGDMC_PATH_MAX + 16], reason[256];
    snprintf(partial, sizeof partial, "%s.creating", path);
    /* removed before the free space is counted (its blocks are this study's),
     * and the new one created exclusively, so that a link there is never
     * followed */
    if (remove_leftover(path, partial, err, errlen))
        return -1;
    if (check_free_space(path, study, err, errlen))
        return -1;
    sgdmc_study_inputs inputs;
    if (sgdmc_study_inputs_compute(study, &inputs, err, errlen))
        return -1;
    const int status = build_file(partial, study, ranks, &inputs, cancel, reason, sizeof reason);
    sgdmc_study_inputs_free(&inputs);
    if (status == 0 && rename(partial, path) == 0)
        return 0;
    if (status == 0)
        snprintf(err, errlen, "%s: cannot rename %s to it: %s", path, partial, strerror(errno));
    else if (status == -1)
        snprintf(err, errlen, "%s: cannot create it: %s", path, reason);
    else
        snprintf(err, errlen, "%s: stopped by a signal before it was complete", path);
    unlink(partial);
    return status == 0 ? -1 : status;
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
    char *config = sgdmc_h5_read_text_attribute(file, "config");
    char *version = sgdmc_h5_read_text_attribute(file, "sgdmc_version");
    char *build = sgdmc_h5_read_text_attribute(file, "sgdmc_build"); /* NULL: written before 0.4.0 kept it */
    /* NULL: taken out (every build that gets this far records it) */
    char *libraries = sgdmc_h5_read_text_attribute(file, "numeric_libraries");
    char here[SGDMC_NUMERIC_LIBRARIES_SIZE];
    sgdmc_numeric_libraries(here, sizeof here);
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
                 "%s: was written by sgdmc %s, this is sgdmc %s; finish it with sgdmc %s (versions "
                 "may differ at the rounding level, and one file must not mix them: "
                 "docs/changelog.md), or start over with --force",
                 path, version, SGDMC_VERSION, version);
        status = -1;
    } else if (!build || strcmp(build, SGDMC_BUILD)) {
        snprintf(err, errlen,
                 "%s: was written by sgdmc %s build %s, this is build %s; finish it with that "
                 "build (commits may differ at the rounding level, and one file must not mix "
                 "them: docs/study.md, \"One build per file\"), or start over with --force",
                 path, version, build ? build : "(not recorded)", SGDMC_BUILD);
        status = -1;
    } else if (!libraries || strcmp(libraries, here)) {
        snprintf(err, errlen,
                 "%s: was written with %s, this process runs %s; finish it where the libraries "
                 "load the same (they may differ at the rounding level, and one file must not "
                 "mix them: docs/study.md, \"One build per file\"), or start over with --force",
                 path, libraries ? libraries : "(numeric libraries not recorded)", here);
        status = -1;
    }
    free(config);
    free(version);
    free(build);
    free(libraries);
    return status;
}

/* Opens /runs/<name> of the study's own columns. */
static hid_t open_column(hid_t file, const char *path, const char *name, char *err,
                         size_t errlen)
{
    char link[64];
    snprintf(link, sizeof link, "runs/%s", name);
    hid_t d = H5Lexists(file, link, H5P_DEFAULT) > 0 ? H5Dopen2(file, link, H5P_DEFAULT) : -1;
    if (d < 0)
        snprintf(err, errlen, "%s: not a complete sgdmc results file (no /runs/%s)", path, name);
    return d;
}

/* Compares the input files' fingerprints stored at creation with their
 * content now; -1 naming the first file that changed. */
static int check_inputs(hid_t file, const char *path, const sgdmc_study *study, char *err,
                        size_t errlen)
{
    sgdmc_study_inputs now;
    if (sgdmc_study_inputs_compute(study, &now, err, errlen))
        return -1;
    char(*then)[SGDMC_FINGERPRINT_SIZE] = calloc((size_t)study->cells, sizeof *then);
    int status = then ? 0 : -1;
    if (!then)
        snprintf(err, errlen, "out of memory");
    hid_t memory = H5Tcopy(H5T_C_S1);
    H5Tset_size(memory, SGDMC_FINGERPRINT_SIZE);
    for (int kind = 0; kind < SGDMC_INPUT_KINDS && status == 0; kind++) {
        char link[64];
        snprintf(link, sizeof link, "inputs/%s_sha256", sgdmc_input_keys[kind]);
        const bool stored = H5Lexists(file, "inputs", H5P_DEFAULT) > 0 &&
                            H5Lexists(file, link, H5P_DEFAULT) > 0;
        memset(then, 0, (size_t)study->cells * sizeof *then);
        if (stored) {
            hid_t dset = H5Dopen2(file, link, H5P_DEFAULT);
            hid_t space = dset >= 0 ? H5Dget_space(dset) : -1;
            const bool shaped = space >= 0 && H5Sget_simple_extent_npoints(space) == study->cells;
            if (!shaped || H5Dread(dset, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, then) < 0) {
                snprintf(err, errlen, "%s: cannot read /%s", path, link);
                status = -1;
            }
            if (space >= 0)
                H5Sclose(space);
            if (dset >= 0)
                H5Dclose(dset);
        }
        for (long cell = 0; cell < study->cells && status == 0; cell++) {
            const char *current = now.sha256[(long)kind * study->cells + cell];
            if (!strcmp(current, then[cell]))
                continue;
            sgdmc_train_config config;
            sgdmc_study_task(study, cell * study->seeds, &config, NULL);
            const char *file_path = sgdmc_input_path(&config, kind);
            char where[512];
            sgdmc_study_describe_cell(study, cell, where, sizeof where);
            snprintf(err, errlen,
                     "%s: the %s file %s%s%s has changed since the study started (SHA-256 "
                     "%.12s... then, %.12s... now); restore it, or start over with --force",
                     path, sgdmc_input_keys[kind], file_path ? file_path : "(none)",
                     where[0] ? " of grid cell " : "", where,
                     then[cell][0] ? then[cell] : "(none)", current[0] ? current : "(none)");
            status = -1;
        }
    }
    H5Tclose(memory);
    free(then);
    sgdmc_study_inputs_free(&now);
    return status;
}

/* The first dataset under group `loc` (depth first) that is not laid out as
 * sgdmc writes it, contiguous and unfiltered (parallel HDF5 cannot write
 * rows into a chunked or compressed one: a repacked file); its name in
 * `name`, 1; else 0. */
static int repacked_dataset(hid_t loc, char *name, size_t size)
{
    H5G_info_t info;
    if (H5Gget_info(loc, &info) < 0)
        return 0;
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char member[256];
        if (H5Lget_name_by_idx(loc, ".", H5_INDEX_NAME, H5_ITER_INC, i, member, sizeof member,
                               H5P_DEFAULT) < 0)
            continue;
        hid_t d = H5Dopen2(loc, member, H5P_DEFAULT);
        if (d < 0) {
            hid_t g = H5Gopen2(loc, member, H5P_DEFAULT);
            const int found = g >= 0 && repacked_dataset(g, name, size);
            if (g >= 0)
                H5Gclose(g);
            if (found)
                return 1;
            continue;
        }
        hid_t dcpl = H5Dget_create_plist(d);
        const bool ours = dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CONTIGUOUS &&
                          H5Pget_nfilters(dcpl) == 0;
        if (dcpl >= 0)
            H5Pclose(dcpl);
        H5Dclose(d);
        if (!ours) {
            snprintf(name, size, "%s", member);
            return 1;
        }
    }
    return 0;
}

/* Rank 0, before anything is opened for writing: is `path` this study's
 * file, from this version, with the same input files? */
static int check_resumable(const char *path, const sgdmc_study *study, char *err,
                           size_t errlen)
{
    /* a --force killed while creating left its .creating beside the file */
    char partial[SGDMC_PATH_MAX + 16];
    snprintf(partial, sizeof partial, "%s.creating", path);
    if (remove_leftover(path, partial, err, errlen))
        return -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char why[256];
    if (sgdmc_input_file_problem(path, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    hid_t file = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (file < 0) {
        snprintf(err, errlen, "%s: cannot open it as an HDF5 results file", path);
        return -1;
    }
    int status = check_same_study(file, path, study, err, errlen);
    if (status == 0)
        status = check_inputs(file, path, study, err, errlen);
    hid_t runs = status == 0 && H5Lexists(file, "runs", H5P_DEFAULT) > 0
                     ? H5Gopen2(file, "runs", H5P_DEFAULT)
                     : -1;
    char dataset[256];
    if (runs >= 0 && repacked_dataset(runs, dataset, sizeof dataset)) {
        snprintf(err, errlen, "%s: dataset %s under /runs is chunked or filtered, not as sgdmc "
                 "wrote it (a repacked copy?), and cannot take rows in parallel; resume the "
                 "original file, or start over with --force", path, dataset);
        status = -1;
    }
    if (runs >= 0)
        H5Gclose(runs);
    H5Fclose(file);
    return status;
}

/* Collective: opens the file through MPI-IO for the rows' writes. */
static sgdmc_results_file *open_for_rows(MPI_Comm comm, const char *path,
                                         const sgdmc_study *study, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    sgdmc_results_file *f = calloc(1, sizeof *f);
    int status = f ? 0 : -1;
    if (f) {
        f->tasks = study->tasks;
        f->rank = f->done = -1;
        const char *fault = getenv("SGDMC_FAULT_WRITES");
        f->writes_before_fault = fault ? strtol(fault, NULL, 10) : -1;
        hid_t fapl = mpio_access(comm);
        sgdmc_h5_failure failure = {""};
        sgdmc_h5_watch_failures(&failure);
        f->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
        sgdmc_h5_unwatch_failures();
        H5Pclose(fapl);
        status = f->file < 0 || stat(path, &f->opened) != 0 ? -1 : 0;
        /* the OS's reason (an immutable file, permissions) where a plain open
         * fails too; MPI-IO's own says little ("known error not in list") */
        if (status) {
            const int fd = open(path, O_RDWR);
            if (fd >= 0)
                close(fd);
            else
                snprintf(failure.reason, sizeof failure.reason, "%s", strerror(errno));
            snprintf(err, errlen, "%s: cannot open it for writing through MPI-IO%s%s", path,
                     failure.reason[0] ? ": " : "", failure.reason);
        }
    }
    if (status && !f)
        snprintf(err, errlen, "%s: out of memory", path);
    if (!status) {
        hid_t runs = H5Lexists(f->file, "runs", H5P_DEFAULT) > 0
                         ? H5Gopen2(f->file, "runs", H5P_DEFAULT)
                         : -1;
        f->fields = runs < 0 ? NULL
                             : sgdmc_result_h5_open(runs, path, study->tasks,
                                                    SGDMC_FORMAT_VERSION, NULL, err, errlen);
        if (runs < 0)
            snprintf(err, errlen, "%s: not a complete sgdmc results file (no /runs)", path);
        if (runs >= 0)
            H5Gclose(runs);
        if (f->fields)
            f->rank = open_column(f->file, path, "rank", err, errlen);
        if (f->rank >= 0)
            f->done = open_column(f->file, path, "done", err, errlen);
        status = f->done < 0 ? -1 : 0;
    }
    int any_failed;
    MPI_Allreduce(&status, &any_failed, 1, MPI_INT, MPI_BOR, comm);
    if (any_failed) {
        if (!status)
            snprintf(err, errlen, "%s: another rank could not open it", path);
        if (f && f->file >= 0)
            sgdmc_results_close(f);
        else
            free(f);
        return NULL;
    }
    return f;
}

sgdmc_results_file *sgdmc_results_open(MPI_Comm comm, const char *path, const sgdmc_study *study,
                                       char *err, size_t errlen)
{
    int me;
    MPI_Comm_rank(comm, &me);
    int status = me == 0 ? check_resumable(path, study, err, errlen) : 0;
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    if (status) {
        if (me != 0)
            snprintf(err, errlen, "%s: rank 0 refused to resume it", path);
        return NULL;
    }
    return open_for_rows(comm, path, study, err, errlen);
}

int sgdmc_results_create(MPI_Comm comm, const char *path, const sgdmc_study *study, int ranks,
                         int force, const sgdmc_cancel *cancel, sgdmc_results_file **file,
                         char *err, size_t errlen)
{
    int me;
    MPI_Comm_rank(comm, &me);
    *file = NULL;
    /* the other ranks wait here, outside HDF5, whatever happens on rank 0 */
    int status = me == 0 ? create_on_rank_0(path, study, ranks, force, cancel, err, errlen) : 0;
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    if (status) {
        if (me != 0)
            snprintf(err, errlen, "%s: rank 0 could not create it", path);
        return status;
    }
    *file = open_for_rows(comm, path, study, err, errlen);
    return *file ? 0 : -1;
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
    if (rows <= f->buffer_rows)
        return 0;
    free(f->ranks);
    free(f->flags);
    f->ranks = malloc(rows * sizeof *f->ranks);
    f->flags = malloc(rows * sizeof *f->flags);
    f->buffer_rows = f->ranks && f->flags ? rows : 0;
    return f->buffer_rows ? 0 : -1;
}

/* Writes rows first..first+count-1 of a [tasks] dataset. */
static int write_column(hid_t dset, hid_t mem_type, long first, int count, const void *values)
{
    hid_t space = H5Dget_space(dset);
    const hsize_t start[1] = {(hsize_t)first}, size[1] = {(hsize_t)count};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, size, NULL);
    hid_t mem = H5Screate_simple(1, size, NULL);
    int status = H5Dwrite(dset, mem_type, mem, space, H5P_DEFAULT, values) < 0 ? -1 : 0;
    H5Sclose(mem);
    H5Sclose(space);
    return status;
}

int sgdmc_results_write(sgdmc_results_file *f, long first, int count,
                        const sgdmc_result *results, int rank, char *reason, size_t size)
{
    if (f->writes_before_fault == 0) {
        snprintf(reason, size, "%s (injected by SGDMC_FAULT_WRITES)", strerror(EIO));
        return -1;
    }
    if (f->writes_before_fault > 0)
        f->writes_before_fault--;
    if (ensure_buffers(f, (size_t)count)) {
        snprintf(reason, size, "out of memory");
        return -1;
    }
    sgdmc_h5_failure failure;
    sgdmc_h5_watch_failures(&failure);
    /* MPI-IO's write errors reach HDF5 without the OS's reason: errno keeps it */
    errno = 0;
    int status = sgdmc_result_h5_write(f->fields, first, count, results);
    for (int i = 0; i < count; i++)
        f->ranks[i] = rank;
    status |= write_column(f->rank, H5T_NATIVE_INT, first, count, f->ranks);
    if (!status) {
        /* done last: a row flagged done has all its values in the file */
        memset(f->flags, 1, (size_t)count);
        status = write_column(f->done, H5T_NATIVE_UINT8, first, count, f->flags);
    }
    const int os_error = errno;
    sgdmc_h5_unwatch_failures();
    if (status && os_error && strncmp(failure.reason, "HDF5:", 5) == 0)
        snprintf(reason, size, "%s (%s)", failure.reason, strerror(os_error));
    else
        snprintf(reason, size, "%s", failure.reason);
    return status ? -1 : 0;
}

int sgdmc_results_in_place(const sgdmc_results_file *f, const char *path, char *err,
                           size_t errlen)
{
    static const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    struct stat now;
    const char *what = NULL;
    if (stat(path, &now) != 0) {
        if (!sgdmc_errno_says_absent(errno)) {
            /* a folder made unreadable, an NFS hiccup: not a verdict on the file */
            snprintf(err, errlen,
                     "%s: cannot check that it still holds the study's rows (%s); if it does, "
                     "--resume finds them done",
                     path, strerror(errno));
            return 1;
        }
        what = "was deleted";
    } else if (now.st_dev != f->opened.st_dev || now.st_ino != f->opened.st_ino) {
        what = "was replaced by another file";
    } else {
        unsigned char head[8] = {0};
        FILE *in = fopen(path, "rb");
        const bool whole = in && fread(head, 1, sizeof head, in) == sizeof head;
        if (in)
            fclose(in);
        if (now.st_size < f->opened.st_size || (in && (!whole || memcmp(head, signature, 8))))
            what = "was truncated or overwritten";
    }
    if (!what)
        return 0;
    snprintf(err, errlen,
             "%s %s while the study ran, so the rows written since are not in it: resume with "
             "--resume if an sgdmc results file is there, else start over",
             path, what);
    return -1;
}

int sgdmc_results_close(sgdmc_results_file *f)
{
    close_datasets(f);
    int status = H5Fclose(f->file) < 0 ? -1 : 0;
    free(f->ranks);
    free(f->flags);
    free(f);
    return status;
}
