/* `sgdmc summarize`: per grid cell statistics of a study's results file. */
#include "sgdmc/summary/summarize.h"

#include <errno.h>
#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sgdmc/base/error.h"
#include "sgdmc/core/result_h5.h"

/* H5Pset_file_locking exists from 1.10.7 on the 1.10 branch and 1.12.1 on. */
#define HAVE_FILE_LOCKING_PROPERTY                                                         \
    (H5_VERSION_GE(1, 12, 1) ||                                                           \
     (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7))

const char *const sgdmc_summary_format_names[] = {"table", "csv", "json", NULL};

int sgdmc_summary_format_parse(const char *text, sgdmc_summary_format *format)
{
    for (int i = 0; sgdmc_summary_format_names[i]; i++)
        if (!strcmp(text, sgdmc_summary_format_names[i])) {
            *format = (sgdmc_summary_format)i;
            return 0;
        }
    return -1;
}

/* ---- the Clopper-Pearson interval ----
 *
 * GSL's beta quantiles (gsl_cdf_beta_Pinv) fail for study-sized counts: for
 * 5000 of 10000 they give up and call GSL's error handler, which aborts the
 * process; for 5 of 10 million they loop forever. So the bounds are found by
 * bisection on GSL's beta CDF itself, which fails quietly (NaN) where its
 * continued fraction does not converge: about a million trials with p near
 * k/n. There the binomial terms are summed instead. */

static const double ci_tail = 0.025; /* each side of a two-sided 95% interval */

/* P(Bin(n, p) = j) through logs, so that no factor overflows. */
static double binomial_term(long j, long n, double p)
{
    return exp(lgamma(n + 1.0) - lgamma(j + 1.0) - lgamma(n - j + 1.0) + (double)j * log(p) +
               (double)(n - j) * log1p(-p));
}

/* Sum of P(Bin(n, p) = j) for j = from, from + step, ... (step +1 or -1)
 * within [0, n], where `from` lies on the falling side of the mode, so the
 * terms only shrink and the sum stops once they no longer count. */
static double sum_falling_terms(long from, int step, long n, double p)
{
    const double odds = p / (1 - p);
    double term = binomial_term(from, n, p), sum = 0;
    for (long j = from; j >= 0 && j <= n && term > sum * (DBL_EPSILON * 1e-4); j += step) {
        sum += term;
        term *= step > 0 ? (double)(n - j) / (double)(j + 1) * odds
                         : (double)j / (double)(n - j + 1) / odds;
    }
    return sum;
}

/* P(Bin(n, p) >= k) for 0 < p < 1, from the shorter side of the mode. */
static double summed_at_least(long k, long n, double p)
{
    return (double)k > n * p ? sum_falling_terms(k, +1, n, p)
                             : 1 - sum_falling_terms(k - 1, -1, n, p);
}

/* P(Bin(n, p) <= k) for 0 < p < 1, from the shorter side of the mode. */
static double summed_at_most(long k, long n, double p)
{
    return (double)k < n * p ? sum_falling_terms(k, -1, n, p)
                             : 1 - sum_falling_terms(k + 1, +1, n, p);
}

/* P(Bin(n, p) >= k), 1 <= k <= n: the Beta(k, n-k+1) CDF at p. */
static double prob_at_least(long k, long n, double p)
{
    const double value = gsl_cdf_beta_P(p, (double)k, (double)(n - k + 1));
    return isfinite(value) || p <= 0 || p >= 1 ? value : summed_at_least(k, n, p);
}

/* P(Bin(n, p) <= k), 0 <= k < n: the upper tail of Beta(k+1, n-k) at p. */
static double prob_at_most(long k, long n, double p)
{
    const double value = gsl_cdf_beta_Q(p, (double)(k + 1), (double)(n - k));
    return isfinite(value) || p <= 0 || p >= 1 ? value : summed_at_most(k, n, p);
}

/* Bisects [0, 1] down to adjacent doubles for the p where tail(k, n, p),
 * monotone in p, crosses ci_tail; the crossing lies in [*lo, *hi]. */
static void bisect_tail(double (*tail)(long, long, double), bool increasing, long k, long n,
                        double *lo, double *hi)
{
    *lo = 0;
    *hi = 1;
    /* halvings to reach p ~ 1e-300 to the last bit: the loop ends far sooner */
    for (int i = 0; i < 1100; i++) {
        const double mid = *lo + (*hi - *lo) / 2;
        if (mid <= *lo || mid >= *hi)
            break;
        if ((tail(k, n, mid) < ci_tail) == increasing)
            *lo = mid;
        else
            *hi = mid;
    }
}

void sgdmc_clopper_pearson(long k, long n, double *low, double *high)
{
    /* GSL's default handler aborts; a failed evaluation has to come back
     * as NaN so that the summed terms take over. */
    gsl_error_handler_t *previous = gsl_set_error_handler_off();
    double lo, hi;
    *low = 0;
    if (k > 0) {
        bisect_tail(prob_at_least, true, k, n, &lo, &hi);
        *low = lo; /* the outer end of the bracket keeps the interval exact-or-wider */
    }
    *high = 1;
    if (k < n) {
        bisect_tail(prob_at_most, false, k, n, &lo, &hi);
        *high = hi;
    }
    gsl_set_error_handler(previous);
}

/* ---- per cell statistics ---- */

typedef struct {
    long runs, done, converged, diverged;
    double p_converged, ci_low, ci_high; /* NaN when done = 0 */
    /* shares of done runs with a dead first-layer neuron at initialization
     * and at the end, with their 95% intervals; NaN when done = 0 */
    double dead_at_init, dead_init_low, dead_init_high;
    double dead_init_probability; /* the runs' 1 - (1 - p)^width, NaN when unknown */
    double dead_at_end, dead_end_low, dead_end_high;
    /* share of certified non-convergent runs among done runs with a verdict */
    long certified_known;
    double p_certified, certified_low, certified_high;
    /* share of done runs with min_grad_norm <= grad_eps (paper 003) */
    double p_stationary, stationary_low, stationary_high;
    double median_final_risk;            /* NaN when done = 0, may be +inf */
} cell_stats;

static int compare_doubles(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of values[0..n-1], n >= 1, none NaN; sorts values. */
static double median_of(double *values, long n)
{
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    const double upper = values[n / 2];
    if (n % 2)
        return upper;
    /* halves first: no overflow for huge finite risks */
    return 0.5 * values[n / 2 - 1] + 0.5 * upper;
}

/* A cell's done runs, counted row by row. */
typedef struct {
    long done, converged, diverged, dead, dead_end, dead_known, stationary;
    long certified_known, certified;
    double theory;      /* the first known dead_init_probability */
    double *risks;      /* [seeds]: the done runs' final risks, for the median */
} cell_tally;

static void tally_reset(cell_tally *t)
{
    double *risks = t->risks;
    *t = (cell_tally){.theory = NAN, .risks = risks};
}

static void tally_row(cell_tally *t, const sgdmc_result *r, double grad_eps)
{
    t->converged += r->status == SGDMC_STATUS_CONVERGED;
    t->diverged += r->status == SGDMC_STATUS_DIVERGED;
    t->dead += r->dead_init[0] > 0;
    t->dead_known += r->dead_init[0] >= 0;
    t->dead_end += r->dead_final[0] > 0;
    t->stationary += r->min_grad_norm <= grad_eps;
    if (isnan(t->theory))
        t->theory = r->dead_init_probability;
    t->certified_known += r->certified_nonconvergent >= 0;
    t->certified += r->certified_nonconvergent == 1;
    /* a diverged run's risk may be NaN: it ranks above every number */
    t->risks[t->done++] = isnan(r->final_risk) ? INFINITY : r->final_risk;
}

/* The statistics of a cell of `seeds` runs from its tally. */
static void finish_cell(cell_tally *t, long seeds, cell_stats *cell)
{
    const long n = t->done, known = t->certified_known;
    *cell = (cell_stats){.runs = seeds, .done = n, .converged = t->converged,
                         .diverged = t->diverged, .certified_known = known};
    cell->p_certified = cell->certified_low = cell->certified_high = NAN;
    cell->dead_init_probability = t->theory;
    if (known > 0) {
        cell->p_certified = (double)t->certified / (double)known;
        sgdmc_clopper_pearson(t->certified, known, &cell->certified_low, &cell->certified_high);
    }
    if (n == 0) {
        cell->p_converged = cell->ci_low = cell->ci_high = NAN;
        cell->dead_at_init = cell->dead_init_low = cell->dead_init_high = NAN;
        cell->dead_at_end = cell->dead_end_low = cell->dead_end_high = NAN;
        cell->p_stationary = cell->stationary_low = cell->stationary_high = NAN;
        cell->median_final_risk = NAN;
        return;
    }
    cell->p_converged = (double)t->converged / (double)n;
    sgdmc_clopper_pearson(t->converged, n, &cell->ci_low, &cell->ci_high);
    cell->dead_at_init = cell->dead_init_low = cell->dead_init_high = NAN;
    cell->dead_at_end = cell->dead_end_low = cell->dead_end_high = NAN;
    if (t->dead_known > 0) { /* none for smooth activations */
        cell->dead_at_init = (double)t->dead / (double)n;
        sgdmc_clopper_pearson(t->dead, n, &cell->dead_init_low, &cell->dead_init_high);
        cell->dead_at_end = (double)t->dead_end / (double)n;
        sgdmc_clopper_pearson(t->dead_end, n, &cell->dead_end_low, &cell->dead_end_high);
    }
    cell->p_stationary = (double)t->stationary / (double)n;
    sgdmc_clopper_pearson(t->stationary, n, &cell->stationary_low, &cell->stationary_high);
    cell->median_final_risk = median_of(t->risks, n);
}

/* ---- reading the file ---- */

typedef struct {
    char *key;
    bool is_text;
    hid_t dataset;
    hid_t text_type; /* the file's fixed-length string type */
    size_t text_size;
} grid_column;

/* Everything read, ready to print. */
typedef struct {
    double grad_eps;
    long tasks, seeds, cells;
    int key_count;
    grid_column *grid;  /* [key_count] */
    double *numbers;    /* [cells][key_count], for numeric keys */
    char **texts;       /* [cells][key_count], for text keys */
    cell_stats *stats;  /* [cells] */
} summary;

typedef struct {
    const char *path;
    hid_t file, runs, done;
    sgdmc_result_datasets *fields; /* the result fields the statistics use */
} results_reader;

/* The result fields the cell statistics read; the others stay unknown. */
static const char *const fields_used[] = {"status", "final_risk", "min_grad_norm",
                                          "dead_init", "dead_final", "certified_nonconvergent",
                                          "dead_init_probability", NULL};

static void summary_free(summary *s)
{
    for (int a = 0; a < s->key_count; a++) {
        free(s->grid[a].key);
        if (s->grid[a].dataset > 0)
            H5Dclose(s->grid[a].dataset);
        if (s->grid[a].text_type > 0)
            H5Tclose(s->grid[a].text_type);
    }
    if (s->texts)
        for (long i = 0; i < s->cells * s->key_count; i++)
            free(s->texts[i]);
    free(s->grid);
    free(s->numbers);
    free(s->texts);
    free(s->stats);
}

static void reader_close(results_reader *r)
{
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
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
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
    hid_t attr = -1, space = -1;
    if (H5Aexists(file, name) <= 0)
        SGDMC_FAIL("%s: not an sgdmc results file (no attribute %s)", path, name);
    attr = H5Aopen(file, name, H5P_DEFAULT);
    space = attr < 0 ? -1 : H5Aget_space(attr);
    if (space < 0 || H5Sget_simple_extent_npoints(space) != 1 ||
        H5Aread(attr, H5T_NATIVE_LLONG, &v) < 0)
        SGDMC_FAIL("%s: attribute %s is not one integer", path, name);
    H5Sclose(space);
    H5Aclose(attr);
    *value = (long)v;
    return 0;
fail:
    if (space >= 0)
        H5Sclose(space);
    if (attr >= 0)
        H5Aclose(attr);
    return -1;
}

/* The grid_keys attribute: fixed-length null-padded strings, or an empty
 * (H5S_NULL) dataspace for a study without grid. */
static int read_grid_keys(hid_t file, const char *path, summary *s, char *err, size_t errlen)
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
    s->grid = calloc((size_t)count, sizeof *s->grid);
    if (!names || !s->grid)
        SGDMC_FAIL("%s: out of memory for attribute grid_keys", path);
    if (H5Aread(attr, type, names) < 0)
        SGDMC_FAIL("%s: cannot read attribute grid_keys", path);
    for (hssize_t a = 0; a < count; a++) {
        s->grid[a].key = strndup(names + (size_t)a * size, size);
        s->grid[a].dataset = s->grid[a].text_type = -1;
        s->key_count++;
        if (!s->grid[a].key)
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
static int open_grid_columns(hid_t file, const char *path, summary *s, char *err, size_t errlen)
{
    for (int a = 0; a < s->key_count; a++) {
        grid_column *column = &s->grid[a];
        column->dataset = open_runs_dataset(file, path, column->key, 1, s->tasks, err, errlen);
        if (column->dataset < 0)
            return -1;
        hid_t type = H5Dget_type(column->dataset);
        const H5T_class_t type_class = H5Tget_class(type);
        column->is_text = type_class == H5T_STRING;
        if (column->is_text && H5Tis_variable_str(type) == 0) {
            column->text_type = type;
            column->text_size = H5Tget_size(type);
            continue;
        }
        H5Tclose(type);
        if (type_class != H5T_FLOAT && type_class != H5T_INTEGER) {
            snprintf(err, errlen, "%s: /runs/%s holds neither numbers nor fixed-length strings",
                     path, column->key);
            return -1;
        }
    }
    return 0;
}

/* Checks the layout and opens every dataset summarize reads. */
static int open_results(results_reader *r, summary *s, char *err, size_t errlen)
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
    if (read_grid_keys(r->file, path, s, err, errlen))
        return -1;
    r->done = open_runs_dataset(r->file, path, "done", 1, s->tasks, err, errlen);
    r->runs = r->done < 0 ? -1 : H5Gopen2(r->file, "runs", H5P_DEFAULT);
    if (r->runs < 0)
        return -1;
    r->fields = sgdmc_result_h5_open(r->runs, path, s->tasks, fields_used, err, errlen);
    if (!r->fields)
        return -1;
    return open_grid_columns(r->file, path, s, err, errlen);
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
static int read_grid_values(summary *s, long first_cell, long count, double *numbers,
                            char *texts)
{
    for (int a = 0; a < s->key_count; a++) {
        const grid_column *column = &s->grid[a];
        const long first_row = first_cell * s->seeds;
        if (read_column(column->dataset, column->is_text ? column->text_type : H5T_NATIVE_DOUBLE,
                        first_row, s->seeds, count, column->is_text ? (void *)texts
                                                                    : (void *)numbers))
            return -1;
        for (long c = 0; c < count; c++) {
            const size_t at = (size_t)(first_cell + c) * (size_t)s->key_count + (size_t)a;
            if (!column->is_text) {
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

/* Reads every row in blocks, tallying each cell's done runs, and every
 * cell's grid values, into s. */
static int read_cells(const results_reader *r, summary *s, char *err, size_t errlen)
{
    size_t longest_text = 1;
    for (int a = 0; a < s->key_count; a++)
        if (s->grid[a].text_size > longest_text)
            longest_text = s->grid[a].text_size;
    const size_t values = (size_t)s->cells * (size_t)s->key_count;
    s->stats = malloc((size_t)(s->cells > 0 ? s->cells : 1) * sizeof *s->stats);
    s->numbers = calloc(values ? values : 1, sizeof *s->numbers);
    s->texts = calloc(values ? values : 1, sizeof *s->texts);
    sgdmc_result *rows = malloc(ROWS_PER_READ * sizeof *rows);
    unsigned char *done = malloc(ROWS_PER_READ);
    double *numbers = malloc(CELLS_PER_READ * sizeof *numbers);
    char *texts = malloc(CELLS_PER_READ * longest_text);
    cell_tally tally = {.risks = malloc((size_t)s->seeds * sizeof *tally.risks)};
    if (!s->stats || !s->numbers || !s->texts || !rows || !done || !numbers || !texts ||
        !tally.risks)
        SGDMC_FAIL("%s: out of memory for %ld cells of %ld seeds", r->path, s->cells, s->seeds);
    tally_reset(&tally);
    for (long first = 0; first < s->tasks; first += ROWS_PER_READ) {
        const int count = (int)(s->tasks - first < ROWS_PER_READ ? s->tasks - first
                                                                 : ROWS_PER_READ);
        if (read_column(r->done, H5T_NATIVE_UCHAR, first, 1, count, done) ||
            sgdmc_result_h5_read(r->fields, first, count, rows))
            SGDMC_FAIL("%s: cannot read the rows of /runs", r->path);
        for (int i = 0; i < count; i++) {
            const long task = first + i;
            if (done[i] == 1)
                tally_row(&tally, &rows[i], s->grad_eps);
            if ((task + 1) % s->seeds == 0) {
                finish_cell(&tally, s->seeds, &s->stats[task / s->seeds]);
                tally_reset(&tally);
            }
        }
    }
    for (long first = 0; first < s->cells; first += CELLS_PER_READ) {
        const long count = s->cells - first < CELLS_PER_READ ? s->cells - first : CELLS_PER_READ;
        if (read_grid_values(s, first, count, numbers, texts))
            SGDMC_FAIL("%s: cannot read the grid columns in /runs", r->path);
    }
    free(rows);
    free(done);
    free(numbers);
    free(texts);
    free(tally.risks);
    return 0;
fail:
    free(rows);
    free(done);
    free(numbers);
    free(texts);
    free(tally.risks);
    return -1;
}

/* ---- output ---- */

/* The shortest %g text that reads back as v (NaN and inf: "nan", "inf"). */
static void format_round_trip(char *buf, size_t size, double v)
{
    /* counts and integral grid values read as integers: 4000, not 4e+03 */
    if (v == trunc(v) && fabs(v) < 1e15) {
        snprintf(buf, size, "%.0f", v);
        return;
    }
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static const char *const stat_names[] = {
    "runs",        "done",           "converged",         "diverged",    "p_converged",
    "ci_low",      "ci_high",        "dead_at_init",      "dead_at_init_low",
    "dead_at_init_high", "dead_init_probability", "dead_at_end", "dead_at_end_low",
    "dead_at_end_high",
    "p_certified", "p_certified_low", "p_certified_high",
    "p_stationary", "p_stationary_low", "p_stationary_high", "median_final_risk"};
enum { STAT_COUNT = sizeof stat_names / sizeof *stat_names };

/* The statistics of a cell in stat_names order. */
static void stat_values(const cell_stats *c, double values[STAT_COUNT])
{
    const double v[STAT_COUNT] = {(double)c->runs,    (double)c->done,   (double)c->converged,
                                  (double)c->diverged, c->p_converged,    c->ci_low,
                                  c->ci_high,          c->dead_at_init,   c->dead_init_low,
                                  c->dead_init_high,   c->dead_init_probability,
                                  c->dead_at_end,      c->dead_end_low,
                                  c->dead_end_high,    c->p_certified,    c->certified_low,
                                  c->certified_high,   c->p_stationary,   c->stationary_low,
                                  c->stationary_high,  c->median_final_risk};
    memcpy(values, v, sizeof v);
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* JSON has no NaN or infinity: null. */
static void json_number(FILE *out, double v)
{
    char buf[32];
    format_round_trip(buf, sizeof buf, v);
    fputs(isfinite(v) ? buf : "null", out);
}

static void print_json(const summary *s, const char *path, FILE *out)
{
    fputs("{\"file\": ", out);
    json_string(out, path);
    fprintf(out, ", \"tasks\": %ld, \"seeds\": %ld, \"grad_eps\": ", s->tasks, s->seeds);
    json_number(out, s->grad_eps);
    fputs(", \"grid_keys\": [", out);
    for (int a = 0; a < s->key_count; a++) {
        fputs(a ? ", " : "", out);
        json_string(out, s->grid[a].key);
    }
    fputs("], \"cells\": [", out);
    for (long c = 0; c < s->cells; c++) {
        fputs(c ? ",\n  {" : "\n  {", out);
        for (int a = 0; a < s->key_count; a++) {
            const size_t at = (size_t)c * (size_t)s->key_count + (size_t)a;
            json_string(out, s->grid[a].key);
            fputs(": ", out);
            if (s->grid[a].is_text)
                json_string(out, s->texts[at]);
            else
                json_number(out, s->numbers[at]);
            fputs(", ", out);
        }
        double values[STAT_COUNT];
        stat_values(&s->stats[c], values);
        for (int i = 0; i < STAT_COUNT; i++) {
            fprintf(out, "%s\"%s\": ", i ? ", " : "", stat_names[i]);
            json_number(out, values[i]);
        }
        fputc('}', out);
    }
    fputs(s->cells ? "\n]}\n" : "]}\n", out);
}

/* RFC 4180: quoted only when it holds a separator, quote or line break, or
 * is empty (an empty field stands for NaN). */
static void csv_text(FILE *out, const char *s)
{
    if (*s && !strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

/* Empty for NaN; infinities as inf and -inf, which spreadsheets and
 * pandas read back. */
static void csv_number(FILE *out, double v)
{
    char buf[32];
    format_round_trip(buf, sizeof buf, v);
    if (!isnan(v))
        fputs(buf, out);
}

static void print_csv(const summary *s, FILE *out)
{
    for (int a = 0; a < s->key_count; a++) {
        csv_text(out, s->grid[a].key);
        fputc(',', out);
    }
    for (int i = 0; i < STAT_COUNT; i++)
        fprintf(out, "%s%s", i ? "," : "", stat_names[i]);
    fputc('\n', out);
    for (long c = 0; c < s->cells; c++) {
        for (int a = 0; a < s->key_count; a++) {
            const size_t at = (size_t)c * (size_t)s->key_count + (size_t)a;
            if (s->grid[a].is_text)
                csv_text(out, s->texts[at]);
            else
                csv_number(out, s->numbers[at]);
            fputc(',', out);
        }
        double values[STAT_COUNT];
        stat_values(&s->stats[c], values);
        for (int i = 0; i < STAT_COUNT; i++) {
            fputs(i ? "," : "", out);
            csv_number(out, values[i]);
        }
        fputc('\n', out);
    }
}

/* Table columns after the grid keys. */
enum { TABLE_RUNS, TABLE_DONE, TABLE_CONVERGED, TABLE_DIVERGED, TABLE_P, TABLE_DEAD,
       TABLE_THEORY, TABLE_DEAD_END, TABLE_CERTIFIED, TABLE_STATIONARY, TABLE_MEDIAN, TABLE_STAT_COUNT };
static const char *const table_headings[TABLE_STAT_COUNT] = {
    "runs", "done", "converged", "diverged", "p_converged [95% CI]", "dead_at_init [95% CI]",
    "1-(1-p)^width", "dead_at_end [95% CI]", "p_certified [95% CI]", "p_stationary [95% CI]",
    "median_final_risk"};

/* The text of one table field; row -1 is the heading. Grid strings come
 * back as they are, everything else is written into buf. */
static const char *table_field(const summary *s, long row, int column, char *buf, size_t size)
{
    if (row < 0)
        return column < s->key_count ? s->grid[column].key
                                     : table_headings[column - s->key_count];
    if (column < s->key_count) {
        const size_t at = (size_t)row * (size_t)s->key_count + (size_t)column;
        if (s->grid[column].is_text)
            return s->texts[at];
        format_round_trip(buf, size, s->numbers[at]);
        return isnan(s->numbers[at]) ? "-" : buf;
    }
    const cell_stats *c = &s->stats[row];
    const long counts[] = {c->runs, c->done, c->converged, c->diverged};
    const int stat = column - s->key_count;
    if (stat <= TABLE_DIVERGED)
        snprintf(buf, size, "%ld", counts[stat]);
    else if (c->done == 0 || ((stat == TABLE_DEAD || stat == TABLE_DEAD_END) &&
                              isnan(c->dead_at_init)))
        return "-";
    else if (stat == TABLE_P)
        snprintf(buf, size, "%.3f [%.3f, %.3f]", c->p_converged, c->ci_low, c->ci_high);
    else if (stat == TABLE_DEAD)
        snprintf(buf, size, "%.3f [%.3f, %.3f]", c->dead_at_init, c->dead_init_low,
                 c->dead_init_high);
    else if (stat == TABLE_DEAD_END)
        snprintf(buf, size, "%.3f [%.3f, %.3f]", c->dead_at_end, c->dead_end_low,
                 c->dead_end_high);
    else if (stat == TABLE_THEORY && isnan(c->dead_init_probability))
        return "-";
    else if (stat == TABLE_THEORY)
        snprintf(buf, size, "%.3f", c->dead_init_probability);
    else if (stat == TABLE_CERTIFIED && c->certified_known == 0)
        return "-";
    else if (stat == TABLE_CERTIFIED)
        snprintf(buf, size, "%.3f [%.3f, %.3f]", c->p_certified, c->certified_low,
                 c->certified_high);
    else if (stat == TABLE_STATIONARY)
        snprintf(buf, size, "%.3f [%.3f, %.3f]", c->p_stationary, c->stationary_low,
                 c->stationary_high);
    else
        snprintf(buf, size, "%.4g", c->median_final_risk);
    return buf;
}

static int print_table(const summary *s, const char *path, FILE *out)
{
    const int columns = s->key_count + TABLE_STAT_COUNT;
    int *widths = calloc((size_t)columns, sizeof *widths);
    if (!widths)
        return -1;
    char buf[96];
    for (long row = -1; row < s->cells; row++)
        for (int col = 0; col < columns; col++) {
            const int width = (int)strlen(table_field(s, row, col, buf, sizeof buf));
            if (width > widths[col])
                widths[col] = width;
        }
    long done = 0;
    for (long c = 0; c < s->cells; c++)
        done += s->stats[c].done;
    fprintf(out, "%s: %ld tasks = %ld cell%s x %ld seed%s, %ld done\n", path, s->tasks,
            s->cells, s->cells == 1 ? "" : "s", s->seeds, s->seeds == 1 ? "" : "s", done);
    for (long row = -1; row < s->cells; row++) {
        for (int col = 0; col < columns; col++) {
            /* strings read best flush left, numbers flush right */
            const bool left = col < s->key_count && s->grid[col].is_text;
            const bool last = col == columns - 1;
            fprintf(out, left && !last ? "%s%-*s" : "%s%*s", col ? "  " : "", widths[col],
                    table_field(s, row, col, buf, sizeof buf));
        }
        fputc('\n', out);
    }
    free(widths);
    return 0;
}

int sgdmc_summarize(const char *path, sgdmc_summary_format format, double grad_eps, FILE *out,
                    char *err, size_t errlen)
{
    /* a missing file or dataset is reported once, in our words */
    H5E_auto2_t saved_report;
    void *saved_data;
    H5Eget_auto2(H5E_DEFAULT, &saved_report, &saved_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    results_reader reader = {.path = path, .file = -1, .runs = -1, .done = -1};
    summary s = {.grad_eps = grad_eps};
    int status = open_results(&reader, &s, err, errlen) || read_cells(&reader, &s, err, errlen)
                     ? -1
                     : 0;
    if (status == 0) {
        if (format == SGDMC_SUMMARY_JSON)
            print_json(&s, path, out);
        else if (format == SGDMC_SUMMARY_CSV)
            print_csv(&s, out);
        else if (print_table(&s, path, out))
            status = -1;
        if (status || fflush(out) || ferror(out)) {
            snprintf(err, errlen, "%s: cannot write the summary", path);
            status = -1;
        }
    }
    summary_free(&s);
    reader_close(&reader);
    H5Eset_auto2(H5E_DEFAULT, saved_report, saved_data);
    return status;
}
