/* Reading a study's results file for `sgdmc summarize`: the grid keys and
 * values, and every done row tallied into its cell's statistics. */
#include "sgdmc/base/input_file.h"
#include "sgdmc/summary/summary_read.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sgdmc/base/error.h"
#include "sgdmc/core/h5io.h"
#include "sgdmc/core/result_h5.h"
#include "sgdmc/core/train_options.h"

/* H5Pset_file_locking exists from 1.10.7 on the 1.10 branch and 1.12.1 on. */
#define HAVE_FILE_LOCKING_PROPERTY                                                         \
    (H5_VERSION_GE(1, 12, 1) ||                                                           \
     (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7))

/* A grid key's dataset in /runs. */
typedef struct {
    hid_t dataset;
    hid_t text_type; /* the file's fixed-length string type, for text keys */
    size_t text_size;
} grid_column;

typedef struct {
    const char *path;
    hid_t file, runs, done;
    grid_column *grid;             /* [key count] */
    sgdmc_result_datasets *fields; /* the result fields the statistics use */
    int format_version;
} results_reader;

void sgdmc_summary_free(sgdmc_summary *s)
{
    for (int a = 0; a < s->key_count; a++)
        free(s->keys[a].key);
    if (s->texts)
        for (long i = 0; i < s->cells * s->key_count; i++)
            free(s->texts[i]);
    free(s->keys);
    free(s->numbers);
    free(s->texts);
    free(s->stats);
    free(s->version);
    free(s->build);
    free(s->numeric_libraries);
    memset(s, 0, sizeof *s);
}

static void reader_close(results_reader *r, int key_count)
{
    for (int a = 0; r->grid && a < key_count; a++) {
        if (r->grid[a].dataset > 0)
            H5Dclose(r->grid[a].dataset);
        if (r->grid[a].text_type > 0)
            H5Tclose(r->grid[a].text_type);
    }
    free(r->grid);
    sgdmc_result_h5_close(r->fields);
    if (r->done > 0)
        H5Dclose(r->done);
    if (r->runs > 0)
        H5Gclose(r->runs);
    if (r->file > 0)
        H5Fclose(r->file);
}

/* Opens read-only without file locks, so that a running study (which holds
 * the file open) and this reader do not block each other. */
static hid_t open_results_file(const char *path, char *err, size_t errlen)
{
    char why[256];
    if (sgdmc_input_file_problem(path, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if HAVE_FILE_LOCKING_PROPERTY
    H5Pset_file_locking(fapl, 0, 1);
#endif
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (file < 0)
        snprintf(err, errlen,
                 H5Fis_hdf5(path) > 0 ? "%s: cannot open as HDF5" : "%s: not an HDF5 file", path);
    return file;
}

static bool runs_dataset_exists(hid_t file, const char *name)
{
    char link[128];
    snprintf(link, sizeof link, "runs/%s", name);
    return H5Lexists(file, "runs", H5P_DEFAULT) > 0 && H5Lexists(file, link, H5P_DEFAULT) > 0 &&
           H5Oexists_by_name(file, link, H5P_DEFAULT) > 0;
}

/* Opens /runs/<name>, which must have `rank` dimensions and `tasks` rows. */
static hid_t open_runs_dataset(hid_t file, const char *path, const char *name, int rank,
                               long tasks, char *err, size_t errlen)
{
    if (!runs_dataset_exists(file, name)) {
        snprintf(err, errlen, "%s: not an sgdmc results file (no /runs/%s)", path, name);
        return -1;
    }
    char link[128];
    snprintf(link, sizeof link, "runs/%s", name);
    hid_t dataset = H5Dopen2(file, link, H5P_DEFAULT);
    hid_t space = dataset < 0 ? -1 : H5Dget_space(dataset);
    hsize_t dims[2] = {0, 0};
    const bool shaped = space >= 0 && H5Sget_simple_extent_ndims(space) == rank &&
                        H5Sget_simple_extent_dims(space, dims, NULL) == rank &&
                        dims[0] == (hsize_t)tasks && (rank == 1 || dims[1] >= 1);
    if (space >= 0)
        H5Sclose(space);
    if (dataset < 0 || !shaped) {
        snprintf(err, errlen, "%s: /runs/%s is not a %s dataset of %ld rows (attribute tasks)",
                 path, name, rank == 1 ? "1-D" : "2-D", tasks);
        if (dataset >= 0)
            H5Dclose(dataset);
        return -1;
    }
    return dataset;
}

/* A scalar integer root attribute. */
static int read_long_attribute(hid_t file, const char *path, const char *name, long *value,
                               char *err, size_t errlen)
{
    long long v = 0;
    const int status = sgdmc_h5_read_long_attribute(file, name, &v);
    if (status > 0)
        snprintf(err, errlen, "%s: not an sgdmc results file (no attribute %s)", path, name);
    else if (status < 0)
        snprintf(err, errlen, "%s: attribute %s is not one integer", path, name);
    *value = (long)v;
    return status == 0 ? 0 : -1;
}

/* The grid_keys attribute: fixed-length null-padded strings, or an empty
 * (H5S_NULL) dataspace for a study without grid. */
static int read_grid_keys(hid_t file, const char *path, results_reader *r, sgdmc_summary *s,
                          char *err, size_t errlen)
{
    hid_t attr = -1, space = -1, type = -1;
    char *names = NULL;
    if (H5Aexists(file, "grid_keys") <= 0)
        SGDMC_FAIL("%s: not an sgdmc results file (no attribute grid_keys)", path);
    attr = H5Aopen(file, "grid_keys", H5P_DEFAULT);
    space = attr < 0 ? -1 : H5Aget_space(attr);
    type = attr < 0 ? -1 : H5Aget_type(attr);
    if (space < 0 || type < 0)
        SGDMC_FAIL("%s: cannot read attribute grid_keys", path);
    const hssize_t count =
        H5Sget_simple_extent_type(space) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space);
    if (count == 0)
        goto done;
    const size_t size = H5Tget_size(type);
    if (count < 0 || H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) != 0 ||
        size == 0)
        SGDMC_FAIL("%s: attribute grid_keys is not an array of fixed-length strings", path);
    names = malloc((size_t)count * size);
    s->keys = calloc((size_t)count, sizeof *s->keys);
    r->grid = calloc((size_t)count, sizeof *r->grid);
    if (!names || !s->keys || !r->grid)
        SGDMC_FAIL("%s: out of memory for attribute grid_keys", path);
    if (H5Aread(attr, type, names) < 0)
        SGDMC_FAIL("%s: cannot read attribute grid_keys", path);
    for (hssize_t a = 0; a < count; a++) {
        s->keys[a].key = strndup(names + (size_t)a * size, size);
        r->grid[a].dataset = r->grid[a].text_type = -1;
        s->key_count++;
        if (!s->keys[a].key)
            SGDMC_FAIL("%s: out of memory for attribute grid_keys", path);
    }
done:
    free(names);
    H5Tclose(type);
    H5Sclose(space);
    H5Aclose(attr);
    return 0;
fail:
    free(names);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (attr >= 0)
        H5Aclose(attr);
    return -1;
}

/* Opens /runs/<key> of every grid key: numbers are read as doubles, fixed-
 * length strings as they are stored. */
static int open_grid_columns(results_reader *r, sgdmc_summary *s, char *err, size_t errlen)
{
    for (int a = 0; a < s->key_count; a++) {
        grid_column *column = &r->grid[a];
        const char *key = s->keys[a].key;
        column->dataset = open_runs_dataset(r->file, r->path, key, 1, s->tasks, err, errlen);
        if (column->dataset < 0)
            return -1;
        hid_t type = H5Dget_type(column->dataset);
        const H5T_class_t type_class = H5Tget_class(type);
        s->keys[a].is_text = type_class == H5T_STRING;
        if (s->keys[a].is_text && H5Tis_variable_str(type) == 0) {
            column->text_type = type;
            column->text_size = H5Tget_size(type);
            continue;
        }
        H5Tclose(type);
        if (type_class != H5T_FLOAT && type_class != H5T_INTEGER) {
            snprintf(err, errlen, "%s: /runs/%s holds neither numbers nor fixed-length strings",
                     r->path, key);
            return -1;
        }
    }
    return 0;
}

/* Checks the layout and opens every dataset summarize reads. */
static int open_results(results_reader *r, sgdmc_summary *s, char *err, size_t errlen)
{
    const char *path = r->path;
    r->file = open_results_file(path, err, errlen);
    if (r->file < 0)
        return -1;
    /* done first: an HDF5 file of another kind is told so in plain words */
    if (!runs_dataset_exists(r->file, "done")) {
        snprintf(err, errlen, "%s: not an sgdmc results file (no /runs/done)", path);
        return -1;
    }
    if (read_long_attribute(r->file, path, "tasks", &s->tasks, err, errlen) ||
        read_long_attribute(r->file, path, "seeds", &s->seeds, err, errlen))
        return -1;
    if (s->seeds < 1 || s->tasks < 0 || s->tasks % s->seeds) {
        snprintf(err, errlen, "%s: attribute tasks (%ld) is not a multiple of seeds (%ld)", path,
                 s->tasks, s->seeds);
        return -1;
    }
    s->cells = s->tasks / s->seeds;
    s->version = sgdmc_h5_read_text_attribute(r->file, "sgdmc_version");
    s->build = sgdmc_h5_read_text_attribute(r->file, "sgdmc_build");
    s->numeric_libraries = sgdmc_h5_read_text_attribute(r->file, "numeric_libraries");
    if (read_grid_keys(r->file, path, r, s, err, errlen))
        return -1;
    r->done = open_runs_dataset(r->file, path, "done", 1, s->tasks, err, errlen);
    r->runs = r->done < 0 ? -1 : H5Gopen2(r->file, "runs", H5P_DEFAULT);
    if (r->runs < 0)
        return -1;
    const int version = sgdmc_result_h5_format_version(r->file);
    if (version < 0) {
        snprintf(err, errlen, "%s: attribute format_version is not one integer", path);
        return -1;
    }
    /* at a step: also what the verdict and the end state are judged from */
    static const char *const at_step_fields[] = {
        "min_risk_lo", "tol", "rtol", "trajectory/step", "trajectory/risk",
        "trajectory/grad_norm", NULL};
    /* pooled: what hi may be tightened from and what is judged against it */
    static const char *const pool_fields[] = {"min_risk_source", "min_risk_lo", "tol", "rtol",
                                              "reachable_lo", NULL};
    const char *wanted[64];
    int count = 0;
    for (int i = 0; sgdmc_cell_tally_fields[i]; i++)
        wanted[count++] = sgdmc_cell_tally_fields[i];
    for (int i = 0; s->at_step >= 0 && at_step_fields[i]; i++)
        wanted[count++] = at_step_fields[i];
    for (int i = 0; s->pool_hi && pool_fields[i]; i++) {
        bool listed = false;
        for (int j = 0; j < count; j++)
            listed |= !strcmp(wanted[j], pool_fields[i]);
        if (!listed)
            wanted[count++] = pool_fields[i];
    }
    wanted[count] = NULL;
    if (s->at_step >= 0 && H5Lexists(r->runs, "trajectory", H5P_DEFAULT) <= 0) {
        snprintf(err, errlen, "%s: --at-step needs the runs' trajectory, which this study did "
                 "not record (output.trajectory in its config)", path);
        return -1;
    }
    r->format_version = version;
    r->fields = sgdmc_result_h5_open(r->runs, path, s->tasks, version, wanted, err, errlen);
    if (!r->fields)
        return -1;
    return open_grid_columns(r, s, err, errlen);
}

/* Reads rows first, first + stride, ... (count of them) of column 0 of a
 * 1-D or 2-D dataset: a slab of a column, the first layer of dead_init, or
 * the first row of each cell. */
static int read_column(hid_t dataset, hid_t memory_type, long first, long stride, long count,
                       void *buffer)
{
    hid_t space = H5Dget_space(dataset);
    const hsize_t start[2] = {(hsize_t)first, 0}, step[2] = {(hsize_t)stride, 1};
    const hsize_t number[2] = {(hsize_t)count, 1};
    hid_t memory = H5Screate_simple(1, number, NULL);
    int status = space < 0 || memory < 0 ||
                         H5Sselect_hyperslab(space, H5S_SELECT_SET, start, step, number, NULL) < 0 ||
                         H5Dread(dataset, memory_type, memory, space, H5P_DEFAULT, buffer) < 0
                     ? -1
                     : 0;
    if (memory >= 0)
        H5Sclose(memory);
    if (space >= 0)
        H5Sclose(space);
    return status;
}

/* Rows read at a time, and grid values (cells) read at a time. */
enum { ROWS_PER_READ = 4096, CELLS_PER_READ = 4096 };

/* The grid values of cells first_cell.. (count of them), from each cell's
 * first row; numbers/texts have room for count values. */
static int read_grid_values(const results_reader *r, sgdmc_summary *s, long first_cell,
                            long count, double *numbers, char *texts)
{
    for (int a = 0; a < s->key_count; a++) {
        const grid_column *column = &r->grid[a];
        const bool is_text = s->keys[a].is_text;
        const long first_row = first_cell * s->seeds;
        if (read_column(column->dataset, is_text ? column->text_type : H5T_NATIVE_DOUBLE,
                        first_row, s->seeds, count, is_text ? (void *)texts : (void *)numbers))
            return -1;
        for (long c = 0; c < count; c++) {
            const size_t at = (size_t)(first_cell + c) * (size_t)s->key_count + (size_t)a;
            if (!is_text) {
                s->numbers[at] = numbers[c];
                continue;
            }
            s->texts[at] = strndup(texts + (size_t)c * column->text_size, column->text_size);
            if (!s->texts[at])
                return -1;
        }
    }
    return 0;
}

/* The run as it was at its last recorded trajectory step <= K (result.h's
 * rules on the trajectory's risk and gradient norm; what the trajectory does
 * not record, the dead counts and the certificate, becomes unknown). */
static void rewind_to(sgdmc_result *r, long K)
{
    int at = -1, last = -1; /* the point at K, and the last point recorded */
    for (int j = 0; j < r->trajectory_count; j++)
        if (r->trajectory_step[j] >= 0) {
            last = j;
            if (r->trajectory_step[j] <= K)
                at = j;
        }
    for (int k = 0; k < SGDMC_MAX_DEPTH; k++)
        r->dead_final[k] = -1;
    r->certified_nonconvergent = -1;
    r->constant_final = -1;
    r->final_risk = r->min_grad_norm = NAN;
    if (at < 0) { /* nothing recorded by step K */
        r->status = SGDMC_STATUS_PENDING;
        r->end_state = SGDMC_END_PENDING;
        return;
    }
    const double risk = r->trajectory_risk[at], grad = r->trajectory_grad_norm[at];
    /* a diverged run's last point is where it blew up */
    if (!isfinite(risk) || (r->status == SGDMC_STATUS_DIVERGED && at == last)) {
        r->status = SGDMC_STATUS_DIVERGED;
        r->end_state = SGDMC_END_DIVERGED;
        return;
    }
    r->final_risk = risk;
    r->grad_norm = grad;
    r->min_grad_norm = INFINITY;
    for (int j = 0; j <= at; j++)
        r->min_grad_norm = fmin(r->min_grad_norm, r->trajectory_grad_norm[j]);
    r->status = sgdmc_result_verdict(risk, r->min_risk_lo, r->min_risk, r->tol, r->rtol);
    const double initial = r->trajectory_step[0] == 0 ? r->trajectory_grad_norm[0] : NAN;
    const bool falling = at >= 2 && r->trajectory_risk[at - 2] > r->trajectory_risk[at - 1] &&
                         r->trajectory_risk[at - 1] > risk;
    if (r->status == SGDMC_STATUS_CONVERGED)
        r->end_state = SGDMC_END_CONVERGED;
    else if (r->status == SGDMC_STATUS_UNDECIDED)
        r->end_state = SGDMC_END_UNDECIDED;
    else if (SGDMC_IS_STATIONARY(grad, initial))
        r->end_state = SGDMC_END_STATIONARY;
    else
        r->end_state = falling ? SGDMC_END_DESCENDING : SGDMC_END_OSCILLATING;
}

/* Rows of /runs read ROWS_PER_READ at a time, with their done flags. */
typedef struct {
    sgdmc_result *rows;
    unsigned char *done;
    int count; /* rows read into the block */
} row_block;

static bool row_block_alloc(row_block *b)
{
    *b = (row_block){calloc(ROWS_PER_READ, sizeof *b->rows), malloc(ROWS_PER_READ), 0};
    return b->rows && b->done;
}

static void row_block_free(row_block *b)
{
    for (int i = 0; b->rows && i < ROWS_PER_READ; i++)
        sgdmc_result_free(&b->rows[i]);
    free(b->rows);
    free(b->done);
    *b = (row_block){0};
}

/* Reads the block of rows from `first` (up to ROWS_PER_READ of them): 0 or -1. */
static int row_block_read(const results_reader *r, long tasks, long first, row_block *b)
{
    b->count = (int)(tasks - first < ROWS_PER_READ ? tasks - first : ROWS_PER_READ);
    for (int i = 0; i < b->count; i++)
        sgdmc_result_free(&b->rows[i]);
    return read_column(r->done, H5T_NATIVE_UCHAR, first, 1, b->count, b->done) ||
                   sgdmc_result_h5_read(r->fields, first, b->count, b->rows)
               ? -1
               : 0;
}

bool sgdmc_summary_pool_key(const char *key)
{
    const sgdmc_option *option = sgdmc_option_find(&sgdmc_train_options, key);
    return !option || option->defines != 0;
}

/* A hi that a run's final risk may tighten: not R* itself (exact, given). */
static bool hi_tightenable(const sgdmc_result *r)
{
    return r->min_risk_source != SGDMC_MIN_RISK_EXACT && r->min_risk_source != SGDMC_MIN_RISK_GIVEN;
}

/* The verdict and certificate of a done run against the pooled hi (only
 * ever lower than its own): an undecided run may become not converged for
 * sure, and a run with something permanently dead certified; its end state
 * stays as recorded. True when hi was lower than the run's own. */
static bool judge_against(sgdmc_result *r, double hi)
{
    if (!(hi < r->min_risk) && !(isnan(r->min_risk) && !isnan(hi)))
        return false;
    r->min_risk = hi;
    if (r->status == SGDMC_STATUS_PENDING)
        return true;
    if (r->status == SGDMC_STATUS_UNDECIDED &&
        sgdmc_result_verdict(r->final_risk, r->min_risk_lo, hi, r->tol, r->rtol) ==
            SGDMC_STATUS_NOT_CONVERGED)
        r->status = SGDMC_STATUS_NOT_CONVERGED;
    /* a diverged run's reachable_lo: from what was frozen since initialization */
    r->certified_nonconvergent = sgdmc_result_certificate(r->reachable_lo, hi, r->tol, r->rtol) == 1;
    return true;
}

/* Per cell the lowest hi that pooling gives (pooled[c] NaN: the cell keeps
 * its own): over every cell with the same values of the pool keys, the
 * least of their stored hi and their done, finite runs' final risks, each
 * the risk of a concrete network of the architecture. */
static int pooled_bounds(const results_reader *r, const sgdmc_summary *s, double *pooled,
                         char *err, size_t errlen)
{
    double *lowest = malloc((size_t)s->cells * sizeof *lowest);
    long *group = malloc((size_t)s->cells * sizeof *group);
    bool *tightenable = calloc((size_t)s->cells, sizeof *tightenable);
    row_block block;
    const bool have_block = row_block_alloc(&block);
    int status = -1;
    if (!lowest || !group || !tightenable || !have_block) {
        snprintf(err, errlen, "%s: out of memory for %ld cells", r->path, s->cells);
        goto out;
    }
    for (long c = 0; c < s->cells; c++)
        lowest[c] = NAN;
    for (long first = 0; first < s->tasks; first += ROWS_PER_READ) {
        if (row_block_read(r, s->tasks, first, &block)) {
            snprintf(err, errlen, "%s: cannot read the rows of /runs", r->path);
            goto out;
        }
        for (int i = 0; i < block.count; i++) {
            const long c = (first + i) / s->seeds;
            const sgdmc_result *row = &block.rows[i];
            if (block.done[i] != 1)
                continue;
            tightenable[c] = hi_tightenable(row);
            lowest[c] = fmin(lowest[c], row->min_risk); /* fmin skips NaN */
            if (row->status != SGDMC_STATUS_DIVERGED && isfinite(row->final_risk))
                lowest[c] = fmin(lowest[c], row->final_risk);
        }
    }
    /* cells of one problem and architecture: equal values of every pool key */
    for (long c = 0; c < s->cells; c++) {
        group[c] = c;
        for (long d = 0; d < c && group[c] == c; d++) {
            bool same = group[d] == d;
            for (int a = 0; same && a < s->key_count; a++) {
                if (!sgdmc_summary_pool_key(s->keys[a].key))
                    continue;
                const size_t x = (size_t)c * (size_t)s->key_count + (size_t)a;
                const size_t y = (size_t)d * (size_t)s->key_count + (size_t)a;
                same = s->keys[a].is_text ? !strcmp(s->texts[x], s->texts[y])
                                          : s->numbers[x] == s->numbers[y];
            }
            if (same)
                group[c] = d;
        }
    }
    for (long c = 0; c < s->cells; c++)
        if (group[c] != c)
            lowest[group[c]] = fmin(lowest[group[c]], lowest[c]);
    for (long c = 0; c < s->cells; c++)
        pooled[c] = tightenable[c] ? lowest[group[c]] : NAN;
    status = 0;
out:
    row_block_free(&block);
    free(lowest);
    free(group);
    free(tightenable);
    return status;
}

/* Reads every row in blocks, tallying each cell's done runs, and every
 * cell's grid values, into s. */
static int read_cells(const results_reader *r, sgdmc_summary *s, char *err, size_t errlen)
{
    size_t longest_text = 1;
    for (int a = 0; a < s->key_count; a++)
        if (r->grid[a].text_size > longest_text)
            longest_text = r->grid[a].text_size;
    const size_t values = (size_t)s->cells * (size_t)s->key_count;
    s->stats = malloc((size_t)(s->cells > 0 ? s->cells : 1) * sizeof *s->stats);
    s->numbers = calloc(values ? values : 1, sizeof *s->numbers);
    s->texts = calloc(values ? values : 1, sizeof *s->texts);
    row_block block;
    const bool have_block = row_block_alloc(&block);
    double *numbers = malloc(CELLS_PER_READ * sizeof *numbers);
    char *texts = malloc(CELLS_PER_READ * longest_text);
    sgdmc_cell_tally tally = {.risks = malloc((size_t)s->seeds * sizeof *tally.risks)};
    double *pooled = s->pool_hi ? malloc((size_t)(s->cells > 0 ? s->cells : 1) * sizeof *pooled)
                                : NULL;
    bool lowered = false;
    int status = -1;
    if (!s->stats || !s->numbers || !s->texts || !have_block || !numbers || !texts ||
        !tally.risks || (s->pool_hi && !pooled))
        SGDMC_FAIL("%s: out of memory for %ld cells of %ld seeds", r->path, s->cells, s->seeds);
    for (long first = 0; first < s->cells; first += CELLS_PER_READ) {
        const long count = s->cells - first < CELLS_PER_READ ? s->cells - first : CELLS_PER_READ;
        if (read_grid_values(r, s, first, count, numbers, texts))
            SGDMC_FAIL("%s: cannot read the grid columns in /runs", r->path);
    }
    if (s->pool_hi && pooled_bounds(r, s, pooled, err, errlen))
        goto fail;
    sgdmc_cell_tally_reset(&tally);
    for (long first = 0; first < s->tasks; first += ROWS_PER_READ) {
        if (row_block_read(r, s->tasks, first, &block))
            SGDMC_FAIL("%s: cannot read the rows of /runs", r->path);
        for (int i = 0; i < block.count; i++) {
            const long task = first + i;
            const long cell = task / s->seeds;
            sgdmc_result *row = &block.rows[i];
            const sgdmc_field *invalid =
                block.done[i] == 1 ? sgdmc_result_invalid_field(row, r->format_version) : NULL;
            if (block.done[i] > 1)
                SGDMC_FAIL("%s: /runs/done holds %d at row %ld (0 or 1 only): a damaged file",
                           r->path, block.done[i], task);
            if (invalid)
                SGDMC_FAIL("%s: /runs/%s of done row %ld holds a value no finished run has: "
                           "a damaged file", r->path, invalid->name, task);
            if (block.done[i] == 1 && s->pool_hi && !isnan(pooled[cell]))
                lowered |= judge_against(row, pooled[cell]) && tally.done == 0;
            if (block.done[i] == 1 && s->at_step >= 0)
                rewind_to(row, s->at_step);
            if (block.done[i] == 1)
                sgdmc_cell_tally_add(&tally, row, s->grad_eps);
            if ((task + 1) % s->seeds == 0) {
                sgdmc_cell_tally_finish(&tally, s->seeds, &s->stats[cell]);
                s->stats[cell].pooled = lowered;
                sgdmc_cell_tally_reset(&tally);
                lowered = false;
            }
        }
    }
    status = 0;
fail:
    row_block_free(&block);
    free(numbers);
    free(texts);
    free(tally.risks);
    free(pooled);
    return status;
}

int sgdmc_summary_read(const char *path, const sgdmc_summary_options *options,
                       sgdmc_summary *s, char *err, size_t errlen)
{
    /* a missing file or dataset is reported once, in our words */
    H5E_auto2_t saved_report;
    void *saved_data;
    H5Eget_auto2(H5E_DEFAULT, &saved_report, &saved_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    results_reader reader = {.path = path, .file = -1, .runs = -1, .done = -1};
    *s = (sgdmc_summary){
        .grad_eps = options->grad_eps, .at_step = options->at_step, .pool_hi = options->pool_hi};
    const int status =
        open_results(&reader, s, err, errlen) || read_cells(&reader, s, err, errlen) ? -1 : 0;
    reader_close(&reader, s->key_count);
    if (status)
        sgdmc_summary_free(s);
    H5Eset_auto2(H5E_DEFAULT, saved_report, saved_data);
    return status;
}
