/* Reading a study config with libconfig and expanding its grid. */
#include "sgdmc/base/input_file.h"
#include "sgdmc/base/plain_text.h"
#include "sgdmc/base/stop_signal.h"
#include "sgdmc/study/study_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sgdmc/base/cancel.h"
#include "sgdmc/base/error.h"
#include "sgdmc/run/train.h"
#include "sgdmc/core/train_options.h"

/* Keys that a study sets itself. */
static const char *const reserved_keys[][2] = {
    {"seed", "seeds are the study's own key: seeds = N runs seeds 0..N-1"},
    {"save", "a study keeps results, not parameter files"},
    {"trajectory", "set it as output.trajectory"},
};

/* Flags whose grid column would collide with a result dataset of the same
 * name in /runs (results_file.h). */
static const char *const result_named_keys[][2] = {
    {"steps", "the steps taken; set steps in train and read the risk and gradient norm "
              "against steps from output.trajectory"},
    {"tol", "the tolerance of each run; the verdict at any tolerance follows from risk_gap"},
    {"rtol", "the tolerance of each run; the verdict at any tolerance follows from risk_gap"},
    {"min_risk", "R* of each run; run one study per value"},
};

void sgdmc_study_free(sgdmc_study *s)
{
    for (int a = 0; a < s->axis_count; a++) {
        for (int i = 0; i < s->axes[a].count; i++)
            free(s->axes[a].values[i]);
        free(s->axes[a].values);
    }
    free(s->text);
    memset(s, 0, sizeof *s);
}

/* The text a flag would take for a scalar setting; -1 if not a scalar. */
static int scalar_text(const config_setting_t *setting, char *buf, size_t len)
{
    switch (config_setting_type(setting)) {
    case CONFIG_TYPE_INT:
        snprintf(buf, len, "%d", config_setting_get_int(setting));
        return 0;
    case CONFIG_TYPE_INT64:
        snprintf(buf, len, "%lld", config_setting_get_int64(setting));
        return 0;
    case CONFIG_TYPE_FLOAT:
        snprintf(buf, len, "%.17g", config_setting_get_float(setting));
        return 0;
    case CONFIG_TYPE_BOOL:
        snprintf(buf, len, "%s", config_setting_get_bool(setting) ? "true" : "false");
        return 0;
    case CONFIG_TYPE_STRING:
        snprintf(buf, len, "%s", config_setting_get_string(setting));
        return 0;
    default:
        return -1;
    }
}

/* The file's text, NUL-terminated, its length in *length; NULL with the
 * reason in why. */
static char *read_text(const char *path, size_t *length, char *why, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, size, "%s", strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    size_t got;
    while (text && (got = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *bigger = realloc(text, 2 * cap);
            if (!bigger)
                free(text);
            text = bigger;
            cap *= 2;
        }
    }
    const bool failed = ferror(f);
    fclose(f);
    if (!text) {
        snprintf(why, size, "out of memory");
        return NULL;
    }
    if (failed) {
        snprintf(why, size, "a read error");
        free(text);
        return NULL;
    }
    text[len] = '\0';
    *length = len;
    return text;
}

/* Checks `key` = `value` at `line` of section `section` as a train flag. */
static int check_flag(const char *path, const char *section, const char *key, int line,
                      const char *value, sgdmc_train_config *scratch, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof reserved_keys / sizeof *reserved_keys; i++)
        if (!strcmp(key, reserved_keys[i][0])) {
            snprintf(err, errlen, "%s:%d: %s.%s: not allowed here (%s)", path, line, section, key,
                     reserved_keys[i][1]);
            return -1;
        }
    const sgdmc_option *option = sgdmc_option_find(&sgdmc_train_options, key);
    if (!option) {
        const char *guess = sgdmc_option_suggest(&sgdmc_train_options, key);
        snprintf(err, errlen, "%s:%d: %s.%s: unknown key (not a sgdmc train flag%s%s%s)", path,
                 line, section, key, guess ? "; did you mean " : "", guess ? guess : "",
                 guess ? "?" : "");
        return -1;
    }
    char why[512];
    if (sgdmc_option_set_given(&sgdmc_train_options, option, scratch, value, why, sizeof why)) {
        snprintf(err, errlen, "%s:%d: %s.%s: %s", path, line, section, key, why);
        return -1;
    }
    return 0;
}

/* A relative data or init file is relative to the config's folder, so that
 * a study config and its data set travel together (jobs/002-logistic). */
static int resolve_file(const char *path, const char *key, char *value, size_t size)
{
    bool is_file = !strcmp(key, "data") || !strcmp(key, "init");
    for (int i = 0; is_file && !strcmp(key, "init") && sgdmc_init_names[i]; i++)
        is_file = strcmp(value, sgdmc_init_names[i]) != 0;
    const char *slash = strrchr(path, '/');
    if (!is_file || value[0] == '/' || !slash)
        return 0;
    char joined[SGDMC_PATH_MAX + 64];
    const int len = snprintf(joined, sizeof joined, "%.*s/%s", (int)(slash - path), path, value);
    if (len < 0 || (size_t)len >= size)
        return -1;
    /* the value itself is checked as any value; its folder is the config's */
    if (!sgdmc_plain_text_problem(value) && sgdmc_plain_text_problem(joined))
        return -2;
    memcpy(value, joined, (size_t)len + 1);
    return 0;
}

/* resolve_file's failure as a message for `section`.`key` at `line` */
static void describe_unresolved(int status, const char *path, const char *section,
                                const char *key, int line, char *err, size_t errlen)
{
    if (status == -2)
        snprintf(err, errlen, "%s:%d: %s.%s: the config's folder (before the relative file "
                 "name) is not valid UTF-8 text, which the results file cannot store; move the "
                 "config or give an absolute path", path, line, section, key);
    else
        snprintf(err, errlen, "%s:%d: %s.%s: file name too long", path, line, section, key);
}

static int load_train(const char *path, config_setting_t *train, sgdmc_study *s, char *err,
                      size_t errlen)
{
    const int n = config_setting_length(train);
    for (int i = 0; i < n; i++) {
        config_setting_t *item = config_setting_get_elem(train, (unsigned)i);
        const char *key = config_setting_name(item);
        const int line = (int)config_setting_source_line(item);
        char value[SGDMC_PATH_MAX + 64];
        if (scalar_text(item, value, sizeof value)) {
            snprintf(err, errlen, "%s:%d: train.%s: must be one value (lists go in grid)", path,
                     line, key);
            return -1;
        }
        const int resolved = resolve_file(path, key, value, sizeof value);
        if (resolved) {
            describe_unresolved(resolved, path, "train", key, line, err, errlen);
            return -1;
        }
        if (check_flag(path, "train", key, line, value, &s->base, err, errlen))
            return -1;
        s->train_line[sgdmc_option_find(&sgdmc_train_options, key) - sgdmc_train_options.options] =
            line;
    }
    return 0;
}

/* Whether a numeric grid value survives the results file's float64 column:
 * an integer literal of at most 2^53 in magnitude, or any other number (a
 * double already). */
static bool exact_in_column(const char *value)
{
    const char *digits = value + (*value == '-');
    if (!*digits || strspn(digits, "0123456789") != strlen(digits))
        return true;
    errno = 0;
    const unsigned long long magnitude = strtoull(digits, NULL, 10);
    return errno != ERANGE && magnitude <= (1ULL << 53);
}

static int load_grid(const char *path, config_setting_t *grid, config_setting_t *train,
                     sgdmc_study *s, char *err, size_t errlen)
{
    const int n = config_setting_length(grid);
    if (n > SGDMC_STUDY_MAX_AXES) {
        snprintf(err, errlen, "%s:%d: grid: at most %d keys", path,
                 (int)config_setting_source_line(grid), SGDMC_STUDY_MAX_AXES);
        return -1;
    }
    s->cells = 1;
    for (int a = 0; a < n; a++) {
        config_setting_t *list = config_setting_get_elem(grid, (unsigned)a);
        sgdmc_grid_axis *axis = &s->axes[a];
        const char *key = config_setting_name(list);
        axis->line = (int)config_setting_source_line(list);
        snprintf(axis->key, sizeof axis->key, "%s", key);
        s->axis_count = a + 1;
        const int type = config_setting_type(list);
        if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
            snprintf(err, errlen, "%s:%d: grid.%s: must be a list of values, e.g. [1, 2, 4]",
                     path, axis->line, key);
            return -1;
        }
        for (size_t i = 0; i < sizeof result_named_keys / sizeof *result_named_keys; i++)
            if (!strcmp(key, result_named_keys[i][0])) {
                snprintf(err, errlen,
                         "%s:%d: grid.%s: not allowed in the grid: its column would collide with "
                         "the result dataset /runs/%s (%s)",
                         path, axis->line, key, key, result_named_keys[i][1]);
                return -1;
            }
        if (train && config_setting_get_member(train, key)) {
            snprintf(err, errlen, "%s:%d: grid.%s: also set in train; give it in one place",
                     path, axis->line, key);
            return -1;
        }
        const int count = config_setting_length(list);
        if (count == 0) {
            snprintf(err, errlen, "%s:%d: grid.%s: empty list", path, axis->line, key);
            return -1;
        }
        const sgdmc_option *option = sgdmc_option_find(&sgdmc_train_options, key);
        axis->defines_problem =
            option && option->defines & (SGDMC_DEFINES_PROBLEM | SGDMC_DEFINES_ESTIMATE);
        axis->values = calloc((size_t)count, sizeof *axis->values);
        if (!axis->values) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (int i = 0; i < count; i++) {
            config_setting_t *item = config_setting_get_elem(list, (unsigned)i);
            char value[SGDMC_PATH_MAX + 64];
            if (scalar_text(item, value, sizeof value)) {
                snprintf(err, errlen, "%s:%d: grid.%s: element %d is not a single value", path,
                         axis->line, key, i + 1);
                return -1;
            }
            const int resolved = resolve_file(path, key, value, sizeof value);
            if (resolved) {
                describe_unresolved(resolved, path, "grid", key, axis->line, err, errlen);
                return -1;
            }
            sgdmc_train_config scratch = s->base;
            if (check_flag(path, "grid", key, axis->line, value, &scratch, err, errlen))
                return -1;
            const bool numeric = option->type->numeric;
            /* only an integer flag's value can lose digits in the float64 column: a
             * double's text (1e16 printed as 10000000000000000) is a double already */
            const bool integer = option->type == &sgdmc_option_int ||
                                 option->type == &sgdmc_option_long ||
                                 option->type == &sgdmc_option_seed;
            if (integer && !exact_in_column(value)) {
                snprintf(err, errlen, "%s:%d: grid.%s: %s is above 2^53, which the results "
                         "file's float64 grid column cannot hold exactly (two such values could "
                         "read back as one)", path, axis->line, key, value);
                return -1;
            }
            for (int j = 0; j < i; j++)
                if (numeric ? strtod(axis->values[j], NULL) == strtod(value, NULL)
                            : !strcmp(axis->values[j], value)) {
                    snprintf(err, errlen, "%s:%d: grid.%s: %s is given twice (elements %d and "
                             "%d): two cells would be one", path, axis->line, key, value, j + 1,
                             i + 1);
                    return -1;
                }
            axis->values[i] = strdup(value);
            axis->count = i + 1;
            if (!axis->values[i]) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
        for (int b = 0; b < a; b++)
            if (!strcmp(s->axes[b].key, key)) {
                snprintf(err, errlen, "%s:%d: grid.%s: given twice", path, axis->line, key);
                return -1;
            }
        /* every cell is checked before the study starts (a trainer each, 10-130 us
         * measured): 2^20 cells take from 11 s to two minutes, more would look
         * like a hang */
        if (s->cells > SGDMC_STUDY_MAX_CELLS / count) {
            snprintf(err, errlen, "%s:%d: grid.%s: the grid has more than 2^20 (%ld) cells; "
                     "split the study", path, axis->line, key, (long)SGDMC_STUDY_MAX_CELLS);
            return -1;
        }
        s->cells *= count;
    }
    return 0;
}

void sgdmc_study_axis_indices(const sgdmc_study *s, long task, int *axis_index)
{
    long cell = task / s->seeds;
    for (int a = s->axis_count - 1; a >= 0; a--) {
        axis_index[a] = (int)(cell % s->axes[a].count);
        cell /= s->axes[a].count;
    }
}

long sgdmc_study_problem_of_cell(const sgdmc_study *s, long cell)
{
    int index[SGDMC_STUDY_MAX_AXES];
    sgdmc_study_axis_indices(s, cell * s->seeds, index);
    long problem = 0;
    for (int a = 0; a < s->axis_count; a++)
        if (s->axes[a].defines_problem)
            problem = problem * s->axes[a].count + index[a];
    return problem;
}

void sgdmc_study_task(const sgdmc_study *s, long task, sgdmc_train_config *config,
                      int *axis_index)
{
    int index[SGDMC_STUDY_MAX_AXES];
    sgdmc_study_axis_indices(s, task, index);
    *config = s->base;
    config->seed = (unsigned long)(task % s->seeds);
    char err[256];
    for (int a = 0; a < s->axis_count; a++) {
        const sgdmc_grid_axis *axis = &s->axes[a];
        /* validated at load */
        sgdmc_option_set_given(&sgdmc_train_options,
                               sgdmc_option_find(&sgdmc_train_options, axis->key), config,
                               axis->values[index[a]], err, sizeof err);
        if (axis_index)
            axis_index[a] = index[a];
    }
    config->trajectory = s->trajectory;
}

void sgdmc_study_describe_cell(const sgdmc_study *s, long cell, char *buf, size_t len)
{
    int index[SGDMC_STUDY_MAX_AXES];
    sgdmc_study_axis_indices(s, cell * s->seeds, index);
    buf[0] = '\0';
    for (int a = 0; a < s->axis_count; a++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s=%s", a ? ", " : "", s->axes[a].key,
                 s->axes[a].values[index[a]]);
    }
}

/* Every cell must be a run sgdmc train would accept, files included. */
static int check_cells(const sgdmc_study *s, char *err, size_t errlen)
{
    for (long cell = 0; cell < s->cells; cell++) {
        /* a large grid takes minutes here: a signal stops it */
        if (sgdmc_stop_signal_received()) {
            snprintf(err, errlen, "%s: stopped by signal %d while checking the grid's cells "
                     "(%ld of %ld checked); nothing was started", s->path,
                     sgdmc_stop_signal_received(), cell, s->cells);
            return SGDMC_CANCELLED;
        }
        sgdmc_train_config config;
        sgdmc_study_task(s, cell * s->seeds, &config, NULL);
        config.steps = 0;
        char why[1024];
        sgdmc_trainer *trainer = sgdmc_trainer_alloc(&config, why, sizeof why);
        if (!trainer) {
            char where[512];
            sgdmc_study_describe_cell(s, cell, where, sizeof where);
            if (*where)
                snprintf(err, errlen, "%s: grid cell %s: %s", s->path, where, why);
            else /* no grid: the one cell is the train group */
                snprintf(err, errlen, "%s: %s", s->path, why);
            return -1;
        }
        sgdmc_trainer_free(trainer);
    }
    return 0;
}

/* A flag given in the config that has no effect in any grid cell is a
 * mistake (a flag that applies to some cells only, say --beta1 over a grid of
 * optimizers, is not). */
static int check_ignored(const sgdmc_study *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < sgdmc_train_options.count; i++) {
        const char *name = sgdmc_train_options.options[i].name;
        int axis = -1;
        for (int a = 0; a < s->axis_count; a++)
            if (!strcmp(s->axes[a].key, name))
                axis = a;
        if (axis < 0 && !s->base.given[i])
            continue;
        char why[512] = "";
        bool everywhere = true;
        for (long cell = 0; cell < s->cells && everywhere; cell++) {
            sgdmc_train_config config;
            char cell_why[512];
            sgdmc_study_task(s, cell * s->seeds, &config, NULL);
            everywhere = sgdmc_train_config_ignores(&config, name, cell_why, sizeof cell_why);
            if (everywhere && !why[0])
                memcpy(why, cell_why, sizeof why);
        }
        if (everywhere) {
            snprintf(err, errlen, "%s:%d: %s.%s: %s%s", s->path,
                     axis >= 0 ? s->axes[axis].line : s->train_line[i],
                     axis >= 0 ? "grid" : "train", name, why,
                     s->cells > 1 ? " (in every grid cell)" : "");
            return -1;
        }
    }
    return 0;
}

/* The kind of a list element as libconfig reads it: string, bool, float or
 * integer (libconfig refuses lists that mix them). */
static char element_kind(const char *e, size_t n)
{
    while (n && isspace((unsigned char)*e))
        e++, n--;
    while (n && isspace((unsigned char)e[n - 1]))
        n--;
    if (n && (*e == '"' || *e == '\''))
        return 's';
    if ((n == 4 && !strncasecmp(e, "true", 4)) || (n == 5 && !strncasecmp(e, "false", 5)))
        return 'b';
    const bool hex = n > 1 && e[0] == '0' && (e[1] == 'x' || e[1] == 'X');
    for (size_t i = 0; i < n && !hex; i++)
        if (e[i] == '.' || e[i] == 'e' || e[i] == 'E')
            return 'f';
    return 'i';
}

/* The key of the first list on line `line` whose elements mix kinds, into key. */
static void mixed_list_key(const char *text, int line, char *key, size_t size)
{
    key[0] = '\0';
    const char *at = text;
    for (int l = 1; l < line && at; l++) {
        at = strchr(at, '\n');
        at = at ? at + 1 : NULL;
    }
    const char *line_end = at ? strchr(at, '\n') : NULL;
    /* a list that began on an earlier line and is still open here */
    const char *before = at ? at : text;
    while (before > text && before[-1] != '[' && before[-1] != ']')
        before--;
    if (before > text && before[-1] == '[')
        at = before - 1;
    for (const char *open = at; open && (open = strchr(open, '[')) &&
                                (!line_end || open < line_end);
         open++) {
        const char *close = strchr(open, ']');
        if (!close)
            return;
        char first = 0;
        bool mixed = false;
        for (const char *e = open + 1; e < close && !mixed;) {
            const char *comma = memchr(e, ',', (size_t)(close - e));
            const char *stop = comma ? comma : close;
            const char kind = stop > e ? element_kind(e, (size_t)(stop - e)) : 0;
            mixed = first && kind && kind != first;
            first = first ? first : kind;
            e = stop + 1;
        }
        if (!mixed)
            continue;
        const char *name_end = open;
        while (name_end > text && strchr(" \t=:[", name_end[-1]))
            name_end--;
        const char *name = name_end;
        while (name > text && (isalnum((unsigned char)name[-1]) || name[-1] == '_'))
            name--;
        if (name < name_end && (size_t)(name_end - name) < size) {
            memcpy(key, name, (size_t)(name_end - name));
            key[name_end - name] = '\0';
        }
        return;
    }
}

/* What a libconfig syntax error at `line` means for a study. */
static void syntax_hint(const char *text, int line, const char *error, char *hint, size_t size)
{
    hint[0] = '\0';
    if (error && strstr(error, "duplicate setting name")) {
        snprintf(hint, size, " (a key given twice: each key once per group, and each group once)");
        return;
    }
    if (!error || !strstr(error, "mismatched element type"))
        return;
    char key[64];
    mixed_list_key(text, line, key, sizeof key);
    snprintf(hint, size,
             "%s%s: the values of a list must have one type: write whole numbers among decimals "
             "with a decimal point (1.0, not 1), and names as strings",
             key[0] ? " of " : "", key);
}

/* What the text scan before libconfig refuses (libconfig 1.5, Debian 12,
 * would accept it wrongly or say only "syntax error"). */
typedef enum {
    TEXT_FINE,
    TEXT_WRAPPING_INTEGER, /* past 32 bits without L: libconfig wraps it (4294967346 -> 50) */
    TEXT_CLAMPED_INTEGER,  /* past 64 bits with L: libconfig clamps it to 2^63 - 1 */
    TEXT_DOUBLE_RANGE,     /* a decimal beyond a double (inf or 0 for libconfig) or subnormal */
    TEXT_BARE_WORD,        /* a value that is not one: nan, inf, adam without quotes */
    TEXT_INCLUDE,          /* @include: the results file stores this text alone */
    TEXT_OPEN_COMMENT,     /* a never closed: libconfig ignores the rest of the file */
} text_problem;

typedef struct {
    text_problem problem;
    int line;
    char token[64]; /* the literal or word, as written */
    char key[64];   /* the setting it is a value of ("" when unknown) */
} text_finding;

static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '*';
}

/* The end of the comment at p (at its closing newline, or after its star-slash), or
 * NULL when p starts no comment; *open is set when a block comment is never closed. */
static const char *comment_end(const char *p, bool *open)
{
    *open = false;
    if (*p == '#' || (*p == '/' && p[1] == '/'))
        return p + strcspn(p, "\n");
    if (*p != '/' || p[1] != '*')
        return NULL;
    const char *close = strstr(p + 2, "*/");
    *open = close == NULL;
    return close ? close + 2 : p + strlen(p);
}

/* The first character at or after p that is neither white space nor comment. */
static const char *next_token(const char *p)
{
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        bool open;
        const char *end = comment_end(p, &open);
        if (!end)
            return p;
        p = end;
    }
}

static void found_at(text_finding *found, text_problem problem, int line, const char *token,
                     int len, const char *key)
{
    found->problem = problem;
    found->line = line;
    snprintf(found->token, sizeof found->token, "%.*s", len, token);
    snprintf(found->key, sizeof found->key, "%s", key);
}

/* Scans the text outside strings and comments for the first problem; the key
 * of a value is the last setting name before it. */
static void scan_text(const char *text, text_finding *found)
{
    memset(found, 0, sizeof *found);
    char key[64] = "";
    int line = 1;
    for (const char *p = text; *p; p++) {
        bool open;
        const char *comment = comment_end(p, &open);
        const bool starts_value = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_' ||
                                                 p[-1] == '.');
        if (*p == '\n') {
            line++;
        } else if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++; /* an escaped character, a newline among them */
                line += *p == '\n';
            }
            if (!*p)
                return; /* libconfig says where */
        } else if (comment) {
            if (open) {
                found_at(found, TEXT_OPEN_COMMENT, line, "/*", 2, "");
                return;
            }
            /* to the comment's last character; a line comment's newline is counted next */
            for (; p < comment - 1; p++)
                line += *p == '\n';
        } else if (*p == '@') {
            found_at(found, TEXT_INCLUDE, line, p, (int)strcspn(p, " \t\n\""), "");
            return;
        } else if ((isalpha((unsigned char)*p) || *p == '*') && starts_value) {
            /* a name's own - and * are consumed with it: a word after - is a value (-inf) */
            const char *end = p;
            while (is_name_char(*end))
                end++;
            const char *after = next_token(end);
            const int len = (int)(end - p);
            const bool boolean = (len == 4 && !strncasecmp(p, "true", 4)) ||
                                 (len == 5 && !strncasecmp(p, "false", 5));
            if (*after == '=' || *after == ':') {
                snprintf(key, sizeof key, "%.*s", len, p);
            } else if (!boolean) {
                found_at(found, TEXT_BARE_WORD, line, p, len, key);
                return;
            }
            p = end - 1;
        } else if ((isdigit((unsigned char)*p) ||
                    (*p == '.' && isdigit((unsigned char)p[1]))) && starts_value) {
            const bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
            const char *end = hex ? p + 2 : p;
            while (hex ? isxdigit((unsigned char)*end) : isdigit((unsigned char)*end))
                end++;
            const bool decimal = !hex && (*end == '.' || *end == 'e' || *end == 'E');
            const bool negative = p > text && p[-1] == '-';
            if (decimal) {
                errno = 0;
                char *stop;
                strtod(p, &stop);
                /* ERANGE: beyond DBL_MAX, or below DBL_MIN (0 or subnormal): refused
                 * as the command line's parser refuses it */
                if (errno == ERANGE) {
                    found_at(found, TEXT_DOUBLE_RANGE, line, p, (int)(stop - p), key);
                    return;
                }
            } else {
                /* with L libconfig reads 64 bits and clamps or wraps beyond; without, 32
                 * bits and wraps beyond */
                const bool wide = *end == 'L' || *end == 'l';
                const unsigned long long most =
                    wide ? (negative ? 1ULL << 63 : (1ULL << 63) - 1)
                         : (negative ? 2147483648ULL : 2147483647ULL);
                errno = 0;
                const unsigned long long value = strtoull(p, NULL, hex ? 16 : 10);
                if (errno == ERANGE || value > most) {
                    char literal[64];
                    snprintf(literal, sizeof literal, "%s%.*s", negative ? "-" : "",
                             (int)(end - p), p);
                    found_at(found, wide ? TEXT_CLAMPED_INTEGER : TEXT_WRAPPING_INTEGER, line,
                             literal, (int)strlen(literal), key);
                    return;
                }
            }
            /* the rest of the number: fraction, exponent with its sign, L */
            while (isalnum((unsigned char)*end) || *end == '.' || *end == '_' ||
                   ((*end == '+' || *end == '-') && (end[-1] == 'e' || end[-1] == 'E')))
                end++;
            p = end - 1;
        }
    }
}

static const char *const top_keys[] = {"name", "seeds", "grid", "train", "output", NULL};

int sgdmc_study_load(const char *path, sgdmc_study *s, char *err, size_t errlen)
{
    char why[256] = "";
    size_t length = 0;
    char *text = sgdmc_input_file_problem(path, why, sizeof why)
                     ? NULL
                     : read_text(path, &length, why, sizeof why);
    if (!text) {
        memset(s, 0, sizeof *s);
        snprintf(err, errlen, "%s: cannot read the study config: %s", path, why);
        return -1;
    }
    /* libconfig would stop at a NUL without a word, and the file's text is
     * stored as a UTF-8 attribute */
    int line;
    const char *problem = sgdmc_text_file_problem(text, length, &line);
    if (problem) {
        memset(s, 0, sizeof *s);
        snprintf(err, errlen, "%s:%d: the config %s", path, line, problem);
        free(text);
        return -1;
    }
    const int status = sgdmc_study_parse(text, path, s, err, errlen);
    free(text);
    return status;
}

int sgdmc_study_parse(const char *text, const char *path, sgdmc_study *s, char *err,
                      size_t errlen)
{
    memset(s, 0, sizeof *s);
    sgdmc_train_config_defaults(&s->base);
    s->seeds = 1;
    s->cells = 1;
    snprintf(s->path, sizeof s->path, "%s", path);
    config_t cfg;
    config_init(&cfg);
    s->text = strdup(text);
    if (!s->text)
        SGDMC_FAIL("%s: out of memory", path);
    text_finding found;
    scan_text(s->text, &found);
    const char *colon = found.key[0] ? ": " : "";
    if (found.problem == TEXT_WRAPPING_INTEGER)
        SGDMC_FAIL("%s:%d: %s%sthe integer %s does not fit in 32 bits, which libconfig would "
                   "silently wrap: write it with an L suffix (%sL)",
                   path, found.line, found.key, colon, found.token, found.token);
    if (found.problem == TEXT_CLAMPED_INTEGER)
        SGDMC_FAIL("%s:%d: %s%sthe integer %s does not fit in a signed 64-bit integer, which "
                   "libconfig would silently clamp or wrap", path, found.line, found.key, colon,
                   found.token);
    if (found.problem == TEXT_DOUBLE_RANGE)
        SGDMC_FAIL("%s:%d: %s%sthe number %s is beyond a double (above 1.8e308 in magnitude, "
                   "or below 2.2e-308 and not 0)", path, found.line, found.key, colon,
                   found.token);
    if (found.problem == TEXT_BARE_WORD)
        SGDMC_FAIL("%s:%d: %s%s'%s' is not a value: a value is a number (finite: there is no "
                   "nan or inf), a \"string\" (names too: \"adam\") or true/false",
                   path, found.line, found.key, colon, found.token);
    if (found.problem == TEXT_OPEN_COMMENT)
        SGDMC_FAIL("%s:%d: a /* comment is never closed (libconfig would ignore the rest of the "
                   "file): close it with */",
                   path, found.line);
    if (found.problem == TEXT_INCLUDE)
        SGDMC_FAIL("%s:%d: %s: a study config is one file (the results file stores its text, "
                   "and --resume compares it): write the included settings in it",
                   path, found.line, found.token);
    if (!config_read_string(&cfg, s->text)) {
        char hint[256];
        syntax_hint(s->text, config_error_line(&cfg), config_error_text(&cfg), hint,
                    sizeof hint);
        SGDMC_FAIL("%s:%d: %s%s", path, config_error_line(&cfg), config_error_text(&cfg), hint);
    }
    config_setting_t *root = config_root_setting(&cfg);
    for (int i = 0; i < config_setting_length(root); i++) {
        config_setting_t *item = config_setting_get_elem(root, (unsigned)i);
        const char *key = config_setting_name(item);
        bool known = false;
        for (int k = 0; top_keys[k]; k++)
            known |= !strcmp(key, top_keys[k]);
        if (!known)
            SGDMC_FAIL("%s:%d: %s: unknown key (the keys are name, seeds, grid, train, output)", path,
                 (int)config_setting_source_line(item), key);
    }
    const char *name;
    if (!config_lookup_string(&cfg, "name", &name)) {
        config_setting_t *n = config_lookup(&cfg, "name");
        if (n)
            SGDMC_FAIL("%s:%d: name: must be a string", path, (int)config_setting_source_line(n));
        SGDMC_FAIL("%s: name: missing (the study's name, e.g. name = \"nonconvergence\";)", path);
    }
    if (sgdmc_plain_text_problem(name))
        SGDMC_FAIL("%s:%d: name: %s", path,
                   (int)config_setting_source_line(config_lookup(&cfg, "name")),
                   sgdmc_plain_text_problem(name));
    if (!*name || strlen(name) >= sizeof s->name || strpbrk(name, "/\\"))
        SGDMC_FAIL("%s:%d: name: '%s' must be 1..%zu characters without slashes", path,
             (int)config_setting_source_line(config_lookup(&cfg, "name")), name,
             sizeof s->name - 1);
    snprintf(s->name, sizeof s->name, "%s", name);
    config_setting_t *seeds = config_lookup(&cfg, "seeds");
    if (seeds) {
        const int type = config_setting_type(seeds);
        long long v = type == CONFIG_TYPE_INT64 ? config_setting_get_int64(seeds)
                                                : config_setting_get_int(seeds);
        if ((type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) || v < 1 || v > (1LL << 40))
            SGDMC_FAIL("%s:%d: seeds: must be an integer from 1 to %lld (2^40; libconfig reads "
                       "an integer above 2147483647 only with an L suffix, e.g. 4294967296L)",
                       path, (int)config_setting_source_line(seeds), 1LL << 40);
        s->seeds = (long)v;
    }
    config_setting_t *train = config_lookup(&cfg, "train");
    config_setting_t *grid = config_lookup(&cfg, "grid");
    config_setting_t *output = config_lookup(&cfg, "output");
    config_setting_t *groups[3] = {train, grid, output};
    const char *group_names[3] = {"train", "grid", "output"};
    for (int g = 0; g < 3; g++)
        if (groups[g] && !config_setting_is_group(groups[g]))
            SGDMC_FAIL("%s:%d: %s: must be a group { key = value; ... }", path,
                 (int)config_setting_source_line(groups[g]), group_names[g]);
    if (train && load_train(path, train, s, err, errlen))
        goto fail;
    if (grid && load_grid(path, grid, train, s, err, errlen))
        goto fail;
    if (output) {
        for (int i = 0; i < config_setting_length(output); i++) {
            config_setting_t *item = config_setting_get_elem(output, (unsigned)i);
            const int line = (int)config_setting_source_line(item);
            if (strcmp(config_setting_name(item), "trajectory"))
                SGDMC_FAIL("%s:%d: output.%s: unknown key (output has: trajectory)", path, line,
                     config_setting_name(item));
            char value[64];
            sgdmc_train_config scratch = s->base;
            if (scalar_text(item, value, sizeof value) ||
                sgdmc_option_set(sgdmc_option_find(&sgdmc_train_options, "trajectory"), &scratch, value, err, errlen))
                SGDMC_FAIL("%s:%d: output.trajectory: must be an integer in [0, 100000]", path, line);
            s->trajectory = scratch.trajectory;
        }
    }
    if (s->cells > (1L << 40) / s->seeds)
        SGDMC_FAIL("%s: %ld grid cells times %ld seeds is too many tasks", path, s->cells, s->seeds);
    s->tasks = s->cells * s->seeds;
    config_destroy(&cfg);
    const int checked = check_cells(s, err, errlen);
    if (checked || check_ignored(s, err, errlen)) {
        sgdmc_study_free(s);
        return checked == SGDMC_CANCELLED ? SGDMC_CANCELLED : -1;
    }
    return 0;
fail:
    config_destroy(&cfg);
    sgdmc_study_free(s);
    return -1;
}
