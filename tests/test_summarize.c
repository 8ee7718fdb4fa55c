/* `sgdmc summarize`: results files written through the study's own writer
 * with chosen statuses, risks and dead neurons, some rows left pending,
 * summarized as JSON, CSV and a table and checked against values worked out
 * here; the Clopper-Pearson bounds against binomial tails summed directly;
 * and the error messages for files that are missing or no results file. */
#include <fcntl.h>
#include <mpi.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "sgdmc/base/build_id.h"
#include "sgdmc/base/numeric_libraries.h"
#include "sgdmc/study/results_file.h"
#include "sgdmc/study/study_config.h"
#include "sgdmc/summary/summarize.h"
#include "sgdmc/summary/summary_stats.h"
#include "sgdmc/run/train.h"

/* ---- an independent Clopper-Pearson interval ---- */

/* log P(Bin(n, p) = j) */
static double log_binomial_term(long j, long n, double p)
{
    return lgamma(n + 1.0) - lgamma(j + 1.0) - lgamma(n - j + 1.0) + (double)j * log(p) +
           (double)(n - j) * log1p(-p);
}

/* P(lo <= Bin(n, p) <= hi), every term summed in log space (log-sum-exp).
 * Terms more than 40 standard deviations from the mean (below e^-800)
 * are left out, so that millions of trials stay quick. */
static double binomial_mass(long lo, long hi, long n, double p)
{
    const double mean = (double)n * p, reach = 40 * sqrt((double)n * p * (1 - p)) + 40;
    if (lo < mean - reach)
        lo = (long)ceil(mean - reach);
    if (hi > mean + reach)
        hi = (long)floor(mean + reach);
    if (lo > hi)
        return 0;
    double largest = -INFINITY, sum = 0;
    for (long j = lo; j <= hi; j++)
        largest = fmax(largest, log_binomial_term(j, n, p));
    for (long j = lo; j <= hi; j++)
        sum += exp(log_binomial_term(j, n, p) - largest);
    return exp(largest + log(sum));
}

/* The p where P(X >= k) (lower bound) or P(X <= k) (upper) equals 0.025,
 * by bisection to 1e-14 relative. */
static double reference_bound(long k, long n, bool upper)
{
    if (!upper && k == 0)
        return 0;
    if (upper && k == n)
        return 1;
    double lo = 0, hi = 1;
    while (hi - lo > 1e-14 * hi) {
        const double mid = 0.5 * (lo + hi);
        const double tail = upper ? binomial_mass(0, k, n, mid) : binomial_mass(k, n, n, mid);
        if (upper ? tail > 0.025 : tail < 0.025)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* GSL's beta CDF agrees to about 1e-11 at millions of trials; 1e-9 still
 * tells apart one success more or less at 10^7 trials. */
static bool close_to(double value, double expected)
{
    return fabs(value - expected) <= 1e-9 * fabs(expected);
}

static void check_clopper_pearson(void)
{
    /* (5000, 10000) aborts inside gsl_cdf_beta_Pinv; near p = 0.5 with 2e6
     * trials GSL's beta CDF is NaN and summarize sums the terms itself */
    const long cases[][2] = {{0, 1},    {1, 1},       {0, 5},        {3, 5},
                             {5, 5},    {1, 2},       {7, 20},       {13, 100},
                             {1, 1000}, {999, 1000},  {5000, 10000}, {1, 1000000},
                             {0, 1000000}, {1000000, 2000000}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const long k = cases[i][0], n = cases[i][1];
        double low, high;
        sgdmc_clopper_pearson(k, n, &low, &high);
        const double want_low = reference_bound(k, n, false);
        const double want_high = reference_bound(k, n, true);
        CHECK(k == 0 ? low == 0 : close_to(low, want_low), "k=%ld n=%ld: low %.17g, expected %.17g",
              k, n, low, want_low);
        CHECK(k == n ? high == 1 : close_to(high, want_high),
              "k=%ld n=%ld: high %.17g, expected %.17g", k, n, high, want_high);
        const double p = (double)k / (double)n;
        CHECK(low <= p && p <= high && (k == 0 || low < p) && (k == n || p < high),
              "k=%ld n=%ld: [%g, %g] does not straddle %g", k, n, low, high, p);
    }
}

/* ---- results files written with chosen rows ---- */

static char config_path[64], results_path[64], other_path[64];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* Runs count as stationary when min_grad_norm <= GRAD_EPS; the rows below
 * take their final risk as min_grad_norm. */
#define GRAD_EPS 0.5

static sgdmc_result row(sgdmc_status status, double final_risk, int dead_first, int dead_second)
{
    sgdmc_result r = {.status = status, .final_risk = final_risk, .min_risk = NAN,
                      .risk_gap = NAN, .dist_to_min = NAN, .grad_norm = 1,
                      .min_grad_norm = final_risk, .dead_init_probability = 0.25,
                      .depth = 2, .steps = 10, .seconds = 0.001};
    r.dead_init[0] = dead_first;
    r.dead_init[1] = dead_second;
    /* the verdict: unknown (as with R* unknown) for the diverged rows here, else certified
     * when layer 2 has a dead neuron */
    r.certified_nonconvergent = status == SGDMC_STATUS_DIVERGED ? -1 : dead_second > 0;
    /* swapped at the end, so that dead_at_end must read its own dataset */
    r.dead_final[0] = dead_second;
    r.dead_final[1] = dead_first;
    /* constant networks: an arbitrary rule of the dead counts */
    r.constant_init = dead_first >= 2;
    r.constant_final = dead_second >= 3;
    /* end states: not converged at a risk <= 0.5 stationary, else descending */
    r.end_state = status == SGDMC_STATUS_CONVERGED   ? SGDMC_END_CONVERGED
                  : status == SGDMC_STATUS_DIVERGED  ? SGDMC_END_DIVERGED
                  : status == SGDMC_STATUS_UNDECIDED ? SGDMC_END_UNDECIDED
                  : final_risk <= 0.5                ? SGDMC_END_STATIONARY
                                                     : SGDMC_END_DESCENDING;
    return r;
}

/* The summary of `path` in `format` as a string (caller frees); NULL and
 * err set on failure, after checking that nothing was printed. */
static char *summarize_to_string(const char *path, sgdmc_summary_format format, char *err,
                                 size_t errlen)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    const sgdmc_summary_options options = {.grad_eps = GRAD_EPS, .at_step = -1};
    const int status = sgdmc_summarize(path, format, &options, out, err, errlen);
    fclose(out);
    if (status == 0)
        return text;
    CHECK(size == 0, "printed on failure: %s", text);
    free(text);
    return NULL;
}

/* The line of cell `index` in a JSON summary (one cell per line), or NULL. */
static const char *json_cell(const char *json, int index)
{
    const char *at = json;
    for (int i = 0; i <= index; i++) {
        at = strstr(at, "\n  {");
        if (!at)
            return NULL;
        at += 3;
    }
    return at;
}

/* The value of `key` within one cell line: 1 and *value for a number, 0
 * for null, -1 when the key is missing or the value is neither. */
static int json_value(const char *cell, const char *key, double *value)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\": ", key);
    const char *at = strstr(cell, quoted);
    const char *end_of_line = strchr(cell, '\n');
    if (!at || (end_of_line && at > end_of_line))
        return -1;
    at += strlen(quoted);
    if (!strncmp(at, "null", 4))
        return 0;
    char *end;
    *value = strtod(at, &end);
    return end != at && (*end == ',' || *end == '}') ? 1 : -1;
}

/* Expected statistics of one cell; NaN where the summary has null. */
typedef struct {
    long runs, done, converged, diverged;
    double p, low, high, dead, dead_low, dead_high, dead_end, end_low, end_high;
    double stationary, stationary_low, stationary_high;
    double certified, certified_low, certified_high, median;
    long undecided;
    double upper, upper_low, upper_high; /* converged or undecided */
    double constant, constant_low, constant_high, constant_end, constant_end_low,
        constant_end_high;
    long stationary_end, descending_end; /* end states; oscillating: none */
} expected_cell;

/* dead and dead_end count the done runs with a dead first-layer neuron at
 * initialization and at the end. */
static expected_cell expect(long runs, long done, long converged, long diverged, long dead,
                            long dead_end, long stationary, long certified, long known,
                            double median, long undecided, long constant, long constant_end)
{
    expected_cell e = {runs, done, converged, diverged, NAN, NAN, NAN, NAN, NAN, NAN,
                       NAN,  NAN,  NAN,       NAN,      NAN, NAN, NAN, NAN, NAN, NAN,
                       undecided, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0, 0};
    if (known > 0) {
        e.certified = (double)certified / (double)known;
        e.certified_low = reference_bound(certified, known, false);
        e.certified_high = reference_bound(certified, known, true);
    }
    if (done > 0) {
        e.p = (double)converged / (double)done;
        e.low = reference_bound(converged, done, false);
        e.high = reference_bound(converged, done, true);
        e.dead = (double)dead / (double)done;
        e.dead_low = reference_bound(dead, done, false);
        e.dead_high = reference_bound(dead, done, true);
        e.dead_end = (double)dead_end / (double)done;
        e.end_low = reference_bound(dead_end, done, false);
        e.end_high = reference_bound(dead_end, done, true);
        e.stationary = (double)stationary / (double)done;
        e.stationary_low = reference_bound(stationary, done, false);
        e.stationary_high = reference_bound(stationary, done, true);
        e.median = median;
        e.upper = (double)(converged + undecided) / (double)done;
        e.upper_low = reference_bound(converged + undecided, done, false);
        e.upper_high = reference_bound(converged + undecided, done, true);
        e.constant = (double)constant / (double)done;
        e.constant_low = reference_bound(constant, done, false);
        e.constant_high = reference_bound(constant, done, true);
        e.constant_end = (double)constant_end / (double)done;
        e.constant_end_low = reference_bound(constant_end, done, false);
        e.constant_end_high = reference_bound(constant_end, done, true);
    }
    return e;
}

/* A reported statistic against its expected value: null for NaN (and for
 * an infinite median), the bounds within close_to, the rest exactly. */
static void check_number(const char *cell, const char *key, double expected, bool approximate,
                         int index)
{
    double value = NAN;
    const int kind = json_value(cell, key, &value);
    if (!isfinite(expected)) {
        CHECK(kind == 0, "cell %d: %s should be null (got kind %d, %g)", index, key, kind, value);
        return;
    }
    CHECK(kind == 1 && (approximate ? close_to(value, expected) : value == expected),
          "cell %d: %s = %.17g, expected %.17g", index, key, value, expected);
}

static void check_json_cell(const char *json, int index, const expected_cell *e)
{
    const char *cell = json_cell(json, index);
    CHECK(cell != NULL, "cell %d missing:\n%s", index, json);
    if (!cell)
        return;
    const char *counts[] = {"runs", "done", "converged", "undecided", "diverged"};
    const long values[] = {e->runs, e->done, e->converged, e->undecided, e->diverged};
    for (int i = 0; i < 5; i++)
        check_number(cell, counts[i], (double)values[i], false, index);
    const struct {
        const char *names[3];
        double p, low, high;
    } shares[] = {
        {{"p_converged_upper", "p_converged_upper_low", "p_converged_upper_high"}, e->upper,
         e->upper_low, e->upper_high},
        {{"constant_at_init", "constant_at_init_low", "constant_at_init_high"}, e->constant,
         e->constant_low, e->constant_high},
        {{"constant_at_end", "constant_at_end_low", "constant_at_end_high"}, e->constant_end,
         e->constant_end_low, e->constant_end_high},
    };
    const long end_counts[] = {e->stationary_end, e->descending_end, 0};
    const char *end_names[][3] = {
        {"end_stationary", "end_stationary_low", "end_stationary_high"},
        {"end_descending", "end_descending_low", "end_descending_high"},
        {"end_oscillating", "end_oscillating_low", "end_oscillating_high"}};
    for (int i = 0; i < 3; i++) {
        const long k = end_counts[i], n = e->done;
        check_number(cell, end_names[i][0], n ? (double)k / (double)n : NAN, false, index);
        check_number(cell, end_names[i][1], n ? reference_bound(k, n, false) : NAN, k > 0,
                     index);
        check_number(cell, end_names[i][2], n ? reference_bound(k, n, true) : NAN, k < n,
                     index);
    }
    for (size_t i = 0; i < sizeof shares / sizeof *shares; i++) {
        check_number(cell, shares[i].names[0], shares[i].p, false, index);
        check_number(cell, shares[i].names[1], shares[i].low, shares[i].p > 0, index);
        check_number(cell, shares[i].names[2], shares[i].high, shares[i].p < 1, index);
    }
    check_number(cell, "p_converged", e->p, false, index);
    const bool no_successes = e->converged == 0, all_successes = e->converged == e->done;
    /* the ends at k = 0 and k = n are exact */
    check_number(cell, "ci_low", e->low, !no_successes, index);
    check_number(cell, "ci_high", e->high, !all_successes, index);
    check_number(cell, "dead_at_init", e->dead, false, index);
    check_number(cell, "dead_at_init_low", e->dead_low, e->dead > 0, index);
    check_number(cell, "dead_at_init_high", e->dead_high, e->dead < 1, index);
    check_number(cell, "dead_init_probability", e->done ? 0.25 : NAN, false, index);
    check_number(cell, "dead_at_end", e->dead_end, false, index);
    check_number(cell, "dead_at_end_low", e->end_low, e->dead_end > 0, index);
    check_number(cell, "dead_at_end_high", e->end_high, e->dead_end < 1, index);
    check_number(cell, "p_certified", e->certified, false, index);
    check_number(cell, "p_certified_low", e->certified_low, e->certified > 0, index);
    check_number(cell, "p_certified_high", e->certified_high, e->certified < 1, index);
    check_number(cell, "p_stationary", e->stationary, false, index);
    check_number(cell, "p_stationary_low", e->stationary_low, e->stationary > 0, index);
    check_number(cell, "p_stationary_high", e->stationary_high, e->stationary < 1, index);
    check_number(cell, "median_final_risk", e->median, false, index);
    /* the rows' R* is unknown: nothing to judge against, nothing pooled */
    check_number(cell, "min_risk_used", NAN, false, index);
    check_number(cell, "min_risk_pooled", 0, false, index);
}

/* Line `index` (0 = first) of text into buf, without the newline. */
static bool nth_line(const char *text, int index, char *buf, size_t size)
{
    for (int i = 0; i < index && text; i++) {
        text = strchr(text, '\n');
        text = text ? text + 1 : NULL;
    }
    if (!text || !*text)
        return false;
    const size_t length = strcspn(text, "\n");
    snprintf(buf, size, "%.*s", (int)length, text);
    return true;
}

/* Runs of spaces in line made one space, in place. */
static char *squeeze_spaces(char *line)
{
    char *to = line;
    for (const char *from = line; *from; from++)
        if (*from != ' ' || (to > line && to[-1] != ' '))
            *to++ = *from;
    *to = '\0';
    return line;
}

/* Field `index` of a CSV line, quoting undone; false if there is none. */
static bool csv_field(const char *line, int index, char *buf, size_t size)
{
    size_t n = 0;
    for (int field = 0;; field++) {
        n = 0;
        bool quoted = *line == '"';
        line += quoted;
        while (*line && (quoted || *line != ',')) {
            if (quoted && *line == '"') {
                if (line[1] != '"') {
                    quoted = false;
                    line++;
                    continue;
                }
                line++;
            }
            if (n + 1 < size)
                buf[n++] = *line;
            line++;
        }
        buf[n] = '\0';
        if (field == index)
            return true;
        if (*line != ',')
            return false;
        line++;
    }
}

/* CSV row `index` carries the same numbers as the JSON cell: empty fields
 * where JSON has null, except an infinite median, written "inf". */
static void check_csv_row(const char *csv, const char *json, int index, int key_count,
                          const char *const *keys_text)
{
    char line[1024], field[256];
    CHECK(nth_line(csv, index + 1, line, sizeof line), "csv row %d missing", index);
    for (int a = 0; a < key_count; a++)
        CHECK(csv_field(line, a, field, sizeof field) && !strcmp(field, keys_text[a]),
              "csv row %d field %d: '%s', expected '%s'", index, a, field, keys_text[a]);
    const char *names[] = {"runs", "done", "converged", "undecided", "diverged", "p_converged",
                           "ci_low", "ci_high", "p_converged_upper", "p_converged_upper_low",
                           "p_converged_upper_high", "dead_at_init", "dead_at_init_low",
                           "dead_at_init_high", "dead_init_probability", "dead_at_end",
                           "dead_at_end_low", "dead_at_end_high", "p_certified",
                           "p_certified_low", "p_certified_high", "constant_at_init",
                           "constant_at_init_low", "constant_at_init_high", "constant_at_end",
                           "constant_at_end_low", "constant_at_end_high", "p_stationary",
                           "p_stationary_low", "p_stationary_high", "end_stationary",
                           "end_stationary_low", "end_stationary_high", "end_descending",
                           "end_descending_low", "end_descending_high", "end_oscillating",
                           "end_oscillating_low", "end_oscillating_high", "median_final_risk",
                           "min_risk_used", "min_risk_pooled"};
    enum { NAMES = sizeof names / sizeof *names };
    const char *cell = json_cell(json, index);
    for (int i = 0; i < NAMES && cell; i++) {
        double from_json = NAN;
        const int kind = json_value(cell, names[i], &from_json);
        const bool have = csv_field(line, key_count + i, field, sizeof field);
        char *end;
        const double from_csv = strtod(field, &end);
        const bool same = kind == 1 ? have && *field && !*end && from_csv == from_json
                                    : have && (!*field || (!strcmp(names[i], "median_final_risk") &&
                                                          !strcmp(field, "inf")));
        CHECK(same, "csv row %d: %s = '%s', json kind %d value %.17g", index, names[i], field,
              kind, from_json);
    }
    CHECK(!csv_field(line, key_count + NAMES, field, sizeof field), "csv row %d: extra fields: %s",
          index, line);
}

static sgdmc_results_file *create_results(const char *config, sgdmc_study *study)
{
    char err[1024];
    write_text(config_path, config);
    if (sgdmc_study_load(config_path, study, err, sizeof err)) {
        fprintf(stderr, "test setup: %s\n", err);
        exit(2);
    }
    sgdmc_results_file *file = NULL;
    if (sgdmc_results_create(MPI_COMM_SELF, results_path, study, 1, 1, NULL, &file, err,
                             sizeof err)) {
        fprintf(stderr, "test setup: %s\n", err);
        exit(2);
    }
    return file;
}

static void write_rows(sgdmc_results_file *file, long first, int count, const sgdmc_result *rows)
{
    char reason[256];
    if (sgdmc_results_write(file, first, count, rows, 0, reason, sizeof reason)) {
        fprintf(stderr, "test setup: cannot write rows %ld..: %s\n", first, reason);
        exit(2);
    }
}

/* A 2 x 2 grid of 6 seeds with a string axis that needs CSV quoting:
 * cell 0 five of six rows done, with a NaN risk; cell 1 all converged, an
 * even count; cell 2 nothing done; cell 3 none converged, two pending. */
static void check_grid_study(void)
{
    sgdmc_study study;
    sgdmc_results_file *file =
        create_results("name = \"summarize\";\nseeds = 6;\n"
                       "grid = { widths = [\"2,2\", \"4,4\"]; lr = [0.1, 0.01]; };\n"
                       "train = { depth = 2; steps = 10; };\n",
                       &study);
    const double nan = NAN;
    /* cell 0, seed 3 pending; seed 1's dead neuron is in the second layer */
    const sgdmc_result cell0_a[] = {row(SGDMC_STATUS_CONVERGED, 1e-4, 1, 0),
                                    row(SGDMC_STATUS_CONVERGED, 3e-4, 0, 3),
                                    row(SGDMC_STATUS_NOT_CONVERGED, 0.5, 2, 0)};
    const sgdmc_result cell0_b[] = {row(SGDMC_STATUS_CONVERGED, 2e-4, 0, 0),
                                    row(SGDMC_STATUS_DIVERGED, nan, 0, 0)};
    write_rows(file, 0, 3, cell0_a);
    write_rows(file, 4, 2, cell0_b);
    /* cell 1: median of 0.25 .. 8 is (1 + 2) / 2 */
    sgdmc_result cell1[6];
    const double risks[6] = {8, 0.25, 2, 0.5, 4, 1};
    for (int i = 0; i < 6; i++)
        cell1[i] = row(SGDMC_STATUS_CONVERGED, risks[i], 0, 1);
    write_rows(file, 6, 6, cell1);
    /* cell 3: seeds 0, 1, 2, 5; median (0.75 + 1.25) / 2 with the NaN on top */
    const sgdmc_result cell3_a[] = {row(SGDMC_STATUS_NOT_CONVERGED, 0.75, 4, 0),
                                    row(SGDMC_STATUS_DIVERGED, nan, 0, 0),
                                    row(SGDMC_STATUS_NOT_CONVERGED, 0.5, 1, 0)};
    const sgdmc_result cell3_b = row(SGDMC_STATUS_UNDECIDED, 1.25, 0, 0);
    write_rows(file, 18, 3, cell3_a);
    write_rows(file, 23, 1, &cell3_b);
    expected_cell expected[4] = {
        expect(6, 5, 3, 1, 2, 1, 4, 1, 4, 3e-4, 0, 1, 1),
        expect(6, 6, 6, 0, 0, 6, 2, 6, 6, 1.5, 0, 0, 0),
        expect(6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        expect(6, 4, 0, 1, 2, 0, 1, 0, 3, 1.0, 1, 1, 0),
    };
    expected[0].stationary_end = 1; /* cell 0: 0.5 */
    expected[3].stationary_end = 1; /* cell 3: 0.5 stationary, 0.75 descending */
    expected[3].descending_end = 1;

    /* while the writer still holds the file open, as a running study does */
    char err[1024];
    char *while_open = summarize_to_string(results_path, SGDMC_SUMMARY_JSON, err, sizeof err);
    CHECK(while_open != NULL, "summarize while open: %s", err);
    sgdmc_results_close(file);
    /* an exclusive lock, as a serial HDF5 writer or h5py holds, stops
     * nothing: summarize opens the file without locking */
    const int lock = open(results_path, O_RDONLY);
    CHECK(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0, "cannot lock %s", results_path);
    char *json = summarize_to_string(results_path, SGDMC_SUMMARY_JSON, err, sizeof err);
    CHECK(json != NULL, "summarize json while locked: %s", err);
    if (lock >= 0)
        close(lock);
    if (!json || !while_open) {
        free(json);
        free(while_open);
        sgdmc_study_free(&study);
        return;
    }
    CHECK(!strcmp(json, while_open), "summary differs while open:\n%s\nafter close:\n%s",
          while_open, json);
    /* the writer: this build, as the study engine recorded it */
    char head[1024], libraries[SGDMC_NUMERIC_LIBRARIES_SIZE];
    sgdmc_numeric_libraries(libraries, sizeof libraries);
    snprintf(head, sizeof head,
             "{\"file\": \"%s\", \"tasks\": 24, \"seeds\": 6, \"grad_eps\": 0.5, "
             "\"pool_hi\": false, \"sgdmc_version\": \"%s\", \"sgdmc_build\": \"%s\", "
             "\"numeric_libraries\": \"%s\", \"grid_keys\": [\"widths\", "
             "\"lr\"], \"cells\": [\n",
             results_path, SGDMC_VERSION, SGDMC_BUILD, libraries);
    CHECK(!strncmp(json, head, strlen(head)), "json head:\n%s", json);
    CHECK(strlen(json) > 4 && !strcmp(json + strlen(json) - 4, "\n]}\n"), "json tail:\n%s", json);
    CHECK(json_cell(json, 4) == NULL, "more than 4 cells:\n%s", json);
    const char *cell_keys[4][2] = {{"2,2", "0.1"}, {"2,2", "0.01"}, {"4,4", "0.1"}, {"4,4", "0.01"}};
    for (int c = 0; c < 4; c++) {
        check_json_cell(json, c, &expected[c]);
        const char *cell = json_cell(json, c);
        char grid[64];
        snprintf(grid, sizeof grid, "{\"widths\": \"%s\", \"lr\": %s, ", cell_keys[c][0],
                 cell_keys[c][1]);
        CHECK(cell && !strncmp(cell, grid, strlen(grid)), "cell %d grid values: %.60s", c, cell);
    }

    char *csv = summarize_to_string(results_path, SGDMC_SUMMARY_CSV, err, sizeof err);
    CHECK(csv != NULL, "summarize csv: %s", err);
    if (csv) {
        char line[1024];
        CHECK(nth_line(csv, 0, line, sizeof line) &&
                  !strcmp(line, "widths,lr,runs,done,converged,undecided,diverged,p_converged,"
                                "ci_low,ci_high,p_converged_upper,p_converged_upper_low,"
                                "p_converged_upper_high,dead_at_init,dead_at_init_low,"
                                "dead_at_init_high,dead_init_probability,"
                                "dead_at_end,dead_at_end_low,dead_at_end_high,p_certified,"
                                "p_certified_low,p_certified_high,constant_at_init,"
                                "constant_at_init_low,constant_at_init_high,constant_at_end,"
                                "constant_at_end_low,constant_at_end_high,p_stationary,"
                                "p_stationary_low,p_stationary_high,end_stationary,"
                                "end_stationary_low,end_stationary_high,end_descending,"
                                "end_descending_low,end_descending_high,end_oscillating,"
                                "end_oscillating_low,end_oscillating_high,median_final_risk,"
                                "min_risk_used,min_risk_pooled"),
              "csv header: %s", line);
        CHECK(!nth_line(csv, 5, line, sizeof line), "csv has more than 4 rows:\n%s", csv);
        for (int c = 0; c < 4; c++)
            check_csv_row(csv, json, c, 2, cell_keys[c]);
        CHECK(nth_line(csv, 3, line, sizeof line) && !strcmp(line, "\"4,4\",0.1,6,0,0,0,0,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,0"),
              "csv row without done runs: %s", line);
    }

    char *table = summarize_to_string(results_path, SGDMC_SUMMARY_TABLE, err, sizeof err);
    CHECK(table != NULL, "summarize table: %s", err);
    if (table) {
        char line[1024], first[1024], p_text[64];
        CHECK(nth_line(table, 0, line, sizeof line) &&
                  strstr(line, "24 tasks = 4 cells x 6 seeds, 15 done"),
              "table title: %s", line);
        CHECK(nth_line(table, 1, first, sizeof first) && !strncmp(first, "widths  ", 8) &&
                  strstr(first, "p_converged [95% CI]"),
              "table header: %s", first);
        for (int r = 2; r <= 5; r++)
            CHECK(nth_line(table, r, line, sizeof line) && strlen(line) == strlen(first),
                  "table row %d not aligned with the header:\n%s", r, table);
        snprintf(p_text, sizeof p_text, "0.600 [%.3f, %.3f]", expected[0].low, expected[0].high);
        CHECK(nth_line(table, 2, line, sizeof line) && !strncmp(line, "2,2     ", 8) &&
                  strstr(line, p_text),
              "table row 0 lacks '%s': %s", p_text, line);
        CHECK(nth_line(table, 4, line, sizeof line) &&
                  !strcmp(squeeze_spaces(line), "4,4 0.1 6 0 0 0 0 - - - - - - - - - - - -"),
              "table row without done runs: %s", line);
    }
    free(table);
    free(csv);
    free(json);
    free(while_open);
    sgdmc_study_free(&study);
}

/* No grid: one cell. Two of three runs diverged, one with an infinite and
 * one with a NaN risk: the median is infinite. */
static void check_study_without_grid(void)
{
    sgdmc_study study;
    sgdmc_results_file *file =
        create_results("name = \"single\";\nseeds = 3;\ntrain = { steps = 10; };\n", &study);
    sgdmc_result rows[3] = {row(SGDMC_STATUS_CONVERGED, 0.1, 1, 0),
                            row(SGDMC_STATUS_DIVERGED, INFINITY, 0, 0),
                            row(SGDMC_STATUS_DIVERGED, NAN, 0, 0)};
    for (int i = 0; i < 3; i++)
        rows[i].depth = 1;
    write_rows(file, 0, 3, rows);
    sgdmc_results_close(file);
    char err[1024];
    char *json = summarize_to_string(results_path, SGDMC_SUMMARY_JSON, err, sizeof err);
    char *csv = summarize_to_string(results_path, SGDMC_SUMMARY_CSV, err, sizeof err);
    CHECK(json && csv, "summarize: %s", err);
    if (json && csv) {
        CHECK(strstr(json, "\"tasks\": 3, \"seeds\": 3, \"grad_eps\": 0.5, \"pool_hi\": false, ") &&
                  strstr(json, "\"grid_keys\": [], \"cells\": [\n  {\"runs\""),
              "json head:\n%s", json);
        CHECK(json_cell(json, 1) == NULL, "more than one cell:\n%s", json);
        const expected_cell e = expect(3, 3, 1, 2, 1, 0, 1, 0, 1, INFINITY, 0, 0, 0);
        check_json_cell(json, 0, &e);
        char line[1024];
        CHECK(nth_line(csv, 0, line, sizeof line) &&
                  !strcmp(line, "runs,done,converged,undecided,diverged,p_converged,ci_low,"
                                "ci_high,p_converged_upper,p_converged_upper_low,"
                                "p_converged_upper_high,dead_at_init,dead_at_init_low,"
                                "dead_at_init_high,dead_init_probability,dead_at_end,"
                                "dead_at_end_low,dead_at_end_high,p_certified,p_certified_low,"
                                "p_certified_high,constant_at_init,constant_at_init_low,"
                                "constant_at_init_high,constant_at_end,constant_at_end_low,"
                                "constant_at_end_high,p_stationary,p_stationary_low,"
                                "p_stationary_high,end_stationary,end_stationary_low,"
                                "end_stationary_high,end_descending,end_descending_low,"
                                "end_descending_high,end_oscillating,end_oscillating_low,"
                                "end_oscillating_high,median_final_risk,min_risk_used,min_risk_pooled"),
              "csv header: %s", line);
        check_csv_row(csv, json, 0, 0, NULL);
        CHECK(nth_line(csv, 1, line, sizeof line) && strlen(line) > 7 &&
                  !strcmp(line + strlen(line) - 7, ",inf,,0"),
              "infinite median in csv: %s", line);
    }
    free(json);
    free(csv);
    sgdmc_study_free(&study);
}

/* ---- errors ---- */

static void check_error(const char *path, const char *expected)
{
    char err[1024] = "";
    char *text = summarize_to_string(path, SGDMC_SUMMARY_JSON, err, sizeof err);
    CHECK(text == NULL, "accepted %s", path);
    free(text);
    CHECK(strstr(err, path) == err && strstr(err, expected) && !strchr(err, '\n'),
          "message '%s' should name %s and say '%s'", err, path, expected);
}

static void check_errors(void)
{
    check_error("/nonexistent/results.h5", "no such file or directory");
    /* a FIFO: HDF5's open would wait for a writer forever */
    CHECK(mkfifo(other_path, 0600) == 0, "mkfifo %s", other_path);
    check_error(other_path, "is not a regular file");
    remove(other_path);
    write_text(other_path, "not hdf5\n");
    check_error(other_path, "not an HDF5 file");
    /* an HDF5 file of another kind */
    hid_t file = H5Fcreate(other_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims[1] = {4};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t x = H5Dcreate2(file, "x", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(x);
    H5Fclose(file);
    check_error(other_path, "not an sgdmc results file (no /runs/done)");
    /* /runs/done but no attributes */
    file = H5Fcreate(other_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t runs = H5Gcreate2(file, "runs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t done = H5Dcreate2(runs, "done", H5T_STD_U8LE, space, H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT);
    H5Dclose(done);
    H5Gclose(runs);
    H5Sclose(space);
    H5Fclose(file);
    check_error(other_path, "not an sgdmc results file (no attribute tasks)");
    /* tasks as two integers */
    file = H5Fopen(other_path, H5F_ACC_RDWR, H5P_DEFAULT);
    const hsize_t two[1] = {2};
    const long long values[2] = {4, 4};
    space = H5Screate_simple(1, two, NULL);
    hid_t tasks = H5Acreate2(file, "tasks", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(tasks, H5T_NATIVE_LLONG, values);
    H5Aclose(tasks);
    H5Sclose(space);
    H5Fclose(file);
    check_error(other_path, "attribute tasks is not one integer");
    remove(other_path);
}

static void check_format_names(void)
{
    const char *names[] = {"table", "csv", "json"};
    const sgdmc_summary_format formats[] = {SGDMC_SUMMARY_TABLE, SGDMC_SUMMARY_CSV,
                                            SGDMC_SUMMARY_JSON};
    for (int i = 0; i < 3; i++) {
        sgdmc_summary_format format = (sgdmc_summary_format)-1;
        CHECK(sgdmc_summary_format_parse(names[i], &format) == 0 && format == formats[i],
              "format %s", names[i]);
    }
    sgdmc_summary_format format;
    CHECK(sgdmc_summary_format_parse("xml", &format) == -1, "xml accepted");
    CHECK(sgdmc_summary_format_parse("", &format) == -1, "empty format accepted");
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    snprintf(config_path, sizeof config_path, "test_summarize_%d.cfg", (int)getpid());
    snprintf(results_path, sizeof results_path, "test_summarize_%d.h5", (int)getpid());
    snprintf(other_path, sizeof other_path, "test_summarize_other_%d.h5", (int)getpid());
    check_format_names();
    check_clopper_pearson();
    check_grid_study();
    check_study_without_grid();
    check_errors();
    remove(config_path);
    remove(results_path);
    MPI_Finalize();
    return harness_exit("test_summarize");
}
