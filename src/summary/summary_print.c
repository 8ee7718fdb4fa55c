/* The three forms of `sgdmc summarize`'s output: an aligned table, CSV and
 * JSON, from one list of statistics per cell. */
#include "sgdmc/summary/summary_print.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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
static void stat_values(const sgdmc_cell_stats *c, double values[STAT_COUNT])
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

void sgdmc_summary_print_json(const sgdmc_summary *s, const char *path, FILE *out)
{
    fputs("{\"file\": ", out);
    json_string(out, path);
    fprintf(out, ", \"tasks\": %ld, \"seeds\": %ld, \"grad_eps\": ", s->tasks, s->seeds);
    json_number(out, s->grad_eps);
    fputs(", \"grid_keys\": [", out);
    for (int a = 0; a < s->key_count; a++) {
        fputs(a ? ", " : "", out);
        json_string(out, s->keys[a].key);
    }
    fputs("], \"cells\": [", out);
    for (long c = 0; c < s->cells; c++) {
        fputs(c ? ",\n  {" : "\n  {", out);
        for (int a = 0; a < s->key_count; a++) {
            const size_t at = (size_t)c * (size_t)s->key_count + (size_t)a;
            json_string(out, s->keys[a].key);
            fputs(": ", out);
            if (s->keys[a].is_text)
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

void sgdmc_summary_print_csv(const sgdmc_summary *s, FILE *out)
{
    for (int a = 0; a < s->key_count; a++) {
        csv_text(out, s->keys[a].key);
        fputc(',', out);
    }
    for (int i = 0; i < STAT_COUNT; i++)
        fprintf(out, "%s%s", i ? "," : "", stat_names[i]);
    fputc('\n', out);
    for (long c = 0; c < s->cells; c++) {
        for (int a = 0; a < s->key_count; a++) {
            const size_t at = (size_t)c * (size_t)s->key_count + (size_t)a;
            if (s->keys[a].is_text)
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
static const char *table_field(const sgdmc_summary *s, long row, int column, char *buf, size_t size)
{
    if (row < 0)
        return column < s->key_count ? s->keys[column].key
                                     : table_headings[column - s->key_count];
    if (column < s->key_count) {
        const size_t at = (size_t)row * (size_t)s->key_count + (size_t)column;
        if (s->keys[column].is_text)
            return s->texts[at];
        format_round_trip(buf, size, s->numbers[at]);
        return isnan(s->numbers[at]) ? "-" : buf;
    }
    const sgdmc_cell_stats *c = &s->stats[row];
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

int sgdmc_summary_print_table(const sgdmc_summary *s, const char *path, FILE *out)
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
            const bool left = col < s->key_count && s->keys[col].is_text;
            const bool last = col == columns - 1;
            fprintf(out, left && !last ? "%s%-*s" : "%s%*s", col ? "  " : "", widths[col],
                    table_field(s, row, col, buf, sizeof buf));
        }
        fputc('\n', out);
    }
    free(widths);
    return 0;
}
