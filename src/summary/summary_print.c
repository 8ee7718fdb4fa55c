/* The three forms of `sgdmc summarize`'s output: an aligned table, CSV and
 * JSON, from one list of statistics per cell. */
#include "sgdmc/summary/summary_print.h"

#include <math.h>
#include <stddef.h>
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

/* The csv and json columns of a cell, in order: a count, a value, or a
 * share with its interval (three columns). */
typedef enum { COLUMN_COUNT, COLUMN_VALUE, COLUMN_SHARE } column_kind;

static const struct {
    const char *names[3];
    column_kind kind;
    size_t offset; /* in sgdmc_cell_stats */
} columns[] = {
#define AT(member) offsetof(sgdmc_cell_stats, member)
    {{"runs"}, COLUMN_COUNT, AT(runs)},
    {{"done"}, COLUMN_COUNT, AT(done)},
    {{"converged"}, COLUMN_COUNT, AT(converged)},
    {{"undecided"}, COLUMN_COUNT, AT(undecided)},
    {{"diverged"}, COLUMN_COUNT, AT(diverged)},
    {{"p_converged", "ci_low", "ci_high"}, COLUMN_SHARE, AT(converged_sure)},
    {{"p_converged_upper", "p_converged_upper_low", "p_converged_upper_high"}, COLUMN_SHARE,
     AT(converged_possible)},
    {{"dead_at_init", "dead_at_init_low", "dead_at_init_high"}, COLUMN_SHARE, AT(dead_at_init)},
    {{"dead_init_probability"}, COLUMN_VALUE, AT(dead_init_probability)},
    {{"dead_at_end", "dead_at_end_low", "dead_at_end_high"}, COLUMN_SHARE, AT(dead_at_end)},
    {{"p_certified", "p_certified_low", "p_certified_high"}, COLUMN_SHARE, AT(certified)},
    {{"constant_at_init", "constant_at_init_low", "constant_at_init_high"}, COLUMN_SHARE,
     AT(constant_at_init)},
    {{"constant_at_end", "constant_at_end_low", "constant_at_end_high"}, COLUMN_SHARE,
     AT(constant_at_end)},
    {{"p_stationary", "p_stationary_low", "p_stationary_high"}, COLUMN_SHARE, AT(stationary)},
    {{"end_stationary", "end_stationary_low", "end_stationary_high"}, COLUMN_SHARE,
     AT(end_stationary)},
    {{"end_descending", "end_descending_low", "end_descending_high"}, COLUMN_SHARE,
     AT(end_descending)},
    {{"end_oscillating", "end_oscillating_low", "end_oscillating_high"}, COLUMN_SHARE,
     AT(end_oscillating)},
    {{"median_final_risk"}, COLUMN_VALUE, AT(median_final_risk)},
    {{"min_risk_used"}, COLUMN_VALUE, AT(min_risk_used)},
    {{"min_risk_pooled"}, COLUMN_COUNT, AT(pooled)},
#undef AT
};
enum { COLUMN_GROUPS = sizeof columns / sizeof *columns };

/* Calls emit(name, value) for every column of cell c, in order. */
static void for_each_stat(const sgdmc_cell_stats *c, void (*emit)(void *, const char *, double),
                          void *context)
{
    for (int i = 0; i < COLUMN_GROUPS; i++) {
        const char *at = (const char *)c + columns[i].offset;
        if (columns[i].kind == COLUMN_COUNT) {
            emit(context, columns[i].names[0], (double)*(const long *)at);
        } else if (columns[i].kind == COLUMN_VALUE) {
            emit(context, columns[i].names[0], *(const double *)at);
        } else {
            const sgdmc_share *share = (const sgdmc_share *)at;
            emit(context, columns[i].names[0], share->p);
            emit(context, columns[i].names[1], share->low);
            emit(context, columns[i].names[2], share->high);
        }
    }
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

typedef struct {
    FILE *out;
    bool first;
} json_cell;

static void json_stat(void *context, const char *name, double value)
{
    json_cell *cell = context;
    fprintf(cell->out, "%s\"%s\": ", cell->first ? "" : ", ", name);
    json_number(cell->out, value);
    cell->first = false;
}

void sgdmc_summary_print_json(const sgdmc_summary *s, const char *path, FILE *out)
{
    fputs("{\"file\": ", out);
    json_string(out, path);
    fprintf(out, ", \"tasks\": %ld, \"seeds\": %ld, \"grad_eps\": ", s->tasks, s->seeds);
    json_number(out, s->grad_eps);
    if (s->at_step >= 0)
        fprintf(out, ", \"at_step\": %ld", s->at_step);
    fprintf(out, ", \"pool_hi\": %s", s->pool_hi ? "true" : "false");
    const struct {
        const char *name, *value;
    } writer[] = {{"sgdmc_version", s->version},
                  {"sgdmc_build", s->build},
                  {"numeric_libraries", s->numeric_libraries}};
    for (size_t i = 0; i < sizeof writer / sizeof *writer; i++) {
        fprintf(out, ", \"%s\": ", writer[i].name);
        if (writer[i].value)
            json_string(out, writer[i].value);
        else
            fputs("null", out);
    }
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
        json_cell cell = {out, true};
        for_each_stat(&s->stats[c], json_stat, &cell);
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

typedef struct {
    FILE *out;
    bool first;
    bool header; /* names, else values */
} csv_row;

static void csv_stat(void *context, const char *name, double value)
{
    csv_row *row = context;
    fputs(row->first ? "" : ",", row->out);
    if (row->header)
        fputs(name, row->out);
    else
        csv_number(row->out, value);
    row->first = false;
}

void sgdmc_summary_print_csv(const sgdmc_summary *s, FILE *out)
{
    for (int a = 0; a < s->key_count; a++) {
        csv_text(out, s->keys[a].key);
        fputc(',', out);
    }
    const sgdmc_cell_stats none = {0};
    csv_row header = {out, true, true};
    for_each_stat(&none, csv_stat, &header);
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
        csv_row row = {out, true, false};
        for_each_stat(&s->stats[c], csv_stat, &row);
        fputc('\n', out);
    }
}

/* Table columns after the grid keys. */
enum {
    TABLE_RUNS, TABLE_DONE, TABLE_CONVERGED, TABLE_UNDECIDED, TABLE_DIVERGED, TABLE_P,
    TABLE_DEAD, TABLE_THEORY, TABLE_DEAD_END, TABLE_CERTIFIED, TABLE_CONSTANT,
    TABLE_CONSTANT_END, TABLE_END_STATIONARY, TABLE_END_DESCENDING, TABLE_STATIONARY,
    TABLE_MEDIAN, TABLE_HI, TABLE_STAT_COUNT
};
static const char *const table_headings[TABLE_STAT_COUNT] = {
    "runs", "done", "converged", "undecided", "diverged", "p_converged [95% CI]",
    "dead_at_init [95% CI]", "1-(1-p)^width", "dead_at_end [95% CI]", "p_certified [95% CI]",
    "constant_at_init [95% CI]", "constant_at_end [95% CI]", "end_stationary [95% CI]",
    "end_descending [95% CI]", "p_stationary [95% CI]", "median_final_risk", "min_risk_used"};

/* "0.734 [0.705, 0.761]", or "-" when there is no share. */
static const char *share_text(sgdmc_share s, char *buf, size_t size)
{
    if (isnan(s.p))
        return "-";
    snprintf(buf, size, "%.3f [%.3f, %.3f]", s.p, s.low, s.high);
    return buf;
}

/* P(converged): one share where R* is known exactly, else the bracket
 * "sure..possible [low of sure, high of possible]". */
static const char *bracket_text(const sgdmc_cell_stats *c, char *buf, size_t size)
{
    if (c->undecided == 0)
        return share_text(c->converged_sure, buf, size);
    snprintf(buf, size, "%.3f..%.3f [%.3f, %.3f]", c->converged_sure.p, c->converged_possible.p,
             c->converged_sure.low, c->converged_possible.high);
    return buf;
}

/* The text of one table field; row -1 is the heading. Grid strings come
 * back as they are, everything else is written into buf. */
static const char *table_field(const sgdmc_summary *s, long row, int column, char *buf,
                               size_t size)
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
    const long counts[] = {c->runs, c->done, c->converged, c->undecided, c->diverged};
    const int stat = column - s->key_count;
    if (stat <= TABLE_DIVERGED) {
        snprintf(buf, size, "%ld", counts[stat]);
        return buf;
    }
    if (c->done == 0)
        return "-";
    switch (stat) {
    case TABLE_P:
        return bracket_text(c, buf, size);
    case TABLE_DEAD:
        return share_text(c->dead_at_init, buf, size);
    case TABLE_THEORY:
        if (isnan(c->dead_init_probability))
            return "-";
        snprintf(buf, size, "%.3f", c->dead_init_probability);
        return buf;
    case TABLE_DEAD_END:
        return share_text(c->dead_at_end, buf, size);
    case TABLE_CERTIFIED:
        return share_text(c->certified, buf, size);
    case TABLE_CONSTANT:
        return share_text(c->constant_at_init, buf, size);
    case TABLE_CONSTANT_END:
        return share_text(c->constant_at_end, buf, size);
    case TABLE_END_STATIONARY:
        return share_text(c->end_stationary, buf, size);
    case TABLE_END_DESCENDING:
        return share_text(c->end_descending, buf, size);
    case TABLE_STATIONARY:
        return share_text(c->stationary, buf, size);
    case TABLE_HI:
        if (isnan(c->min_risk_used))
            return "-";
        snprintf(buf, size, "%.4g%s", c->min_risk_used, c->pooled ? " (pooled)" : "");
        return buf;
    default:
        snprintf(buf, size, "%.4g", c->median_final_risk);
        return buf;
    }
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
    fprintf(out, "%s: %ld tasks = %ld cell%s x %ld seed%s, %ld done", path, s->tasks, s->cells,
            s->cells == 1 ? "" : "s", s->seeds, s->seeds == 1 ? "" : "s", done);
    if (s->at_step >= 0)
        fprintf(out, "; as at the last recorded step <= %ld", s->at_step);
    if (s->pool_hi)
        fputs("; R*'s upper bound pooled over cells of the same problem and architecture", out);
    fprintf(out, "; written by sgdmc %s (build %s) with %s\n", s->version ? s->version : "?",
            s->build ? s->build : "not recorded",
            s->numeric_libraries ? s->numeric_libraries : "numeric libraries not recorded");
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
