/* Option tables: the generic value types, the command-line loop, help,
 * defaults and keys. */
#include "sgdmc/base/options.h"

#include "sgdmc/base/fingerprint.h"
#include "sgdmc/base/plain_text.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/base/error.h"

#define MEMBER(target, option, type) ((type *)((char *)(target) + (option)->offset))
#define CONST_MEMBER(target, option, type) \
    ((const type *)((const char *)(target) + (option)->offset))

/* How a number's text fails: not a number at all, or one out of the type's reach */
enum { NOT_A_NUMBER = -1, BEYOND_TYPE = -2 };

/* strtod and strtol skip leading white space; a value may not (nor trailing) */
static bool starts_a_number(const char *text)
{
    return *text && !isspace((unsigned char)*text);
}

static int parse_double(const char *text, double *out)
{
    if (!starts_a_number(text))
        return NOT_A_NUMBER;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*end)
        return NOT_A_NUMBER;
    /* ERANGE: beyond DBL_MAX, or so close to 0 that it lost its precision */
    if (errno == ERANGE)
        return BEYOND_TYPE;
    if (!isfinite(v)) /* nan, inf */
        return NOT_A_NUMBER;
    *out = v;
    return 0;
}

static int parse_long(const char *text, long *out)
{
    if (!starts_a_number(text))
        return NOT_A_NUMBER;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*end)
        return NOT_A_NUMBER;
    if (errno == ERANGE)
        return BEYOND_TYPE;
    *out = v;
    return 0;
}

static int check_range(const sgdmc_option *opt, const char *value, double v, char *err,
                       size_t errlen)
{
    const bool open_min = opt->exclusive & SGDMC_MIN_EXCLUSIVE;
    const bool open_max = opt->exclusive & SGDMC_MAX_EXCLUSIVE;
    if (!(v < opt->min || v > opt->max || (open_min && v == opt->min) ||
          (open_max && v == opt->max)))
        return 0;
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, "%.15g", opt->min);
    snprintf(hi, sizeof hi, "%.15g", opt->max);
    if (opt->max >= DBL_MAX || opt->max >= (double)LONG_MAX)
        SGDMC_FAIL("'%s' is out of range (must be %s %s)", value, open_min ? ">" : ">=", lo);
    SGDMC_FAIL("'%s' is out of range (must be in %s%s, %s%s)", value, open_min ? "(" : "[", lo,
               hi, open_max ? ")" : "]");
fail:
    return -1;
}

static int set_double(const sgdmc_option *opt, void *target, const char *value, char *err,
                      size_t errlen)
{
    double v;
    const int parsed = parse_double(value, &v);
    if (parsed == BEYOND_TYPE)
        SGDMC_FAIL("'%s' is beyond a double (above 1.8e308 in magnitude, or below 2.2e-308 "
                   "and not 0)", value);
    if (parsed)
        SGDMC_FAIL("'%s' is not a finite number", value);
    if (check_range(opt, value, v, err, errlen))
        return -1;
    *MEMBER(target, opt, double) = v;
    return 0;
fail:
    return -1;
}

static void format_double(const sgdmc_option *opt, const void *target, char *buf, size_t size)
{
    snprintf(buf, size, "%.17g", *CONST_MEMBER(target, opt, double));
}

/* An integer option's value, parsed and in range: 0, or -1 with err. */
static int parse_integer_option(const sgdmc_option *opt, const char *value, long *v, char *err,
                                size_t errlen)
{
    const int parsed = parse_long(value, v);
    if (parsed == BEYOND_TYPE) {
        /* past long's range is past any limit: check_range names the limits */
        if (!check_range(opt, value, *value == '-' ? -HUGE_VAL : HUGE_VAL, err, errlen))
            snprintf(err, errlen, "'%s' is out of range", value);
        return -1;
    }
    if (parsed) {
        snprintf(err, errlen, "'%s' is not an integer", value);
        return -1;
    }
    return check_range(opt, value, (double)*v, err, errlen);
}

static int set_long(const sgdmc_option *opt, void *target, const char *value, char *err,
                    size_t errlen)
{
    long v;
    if (parse_integer_option(opt, value, &v, err, errlen))
        return -1;
    *MEMBER(target, opt, long) = v;
    return 0;
}

static void format_long(const sgdmc_option *opt, const void *target, char *buf, size_t size)
{
    snprintf(buf, size, "%ld", *CONST_MEMBER(target, opt, long));
}

static int set_int(const sgdmc_option *opt, void *target, const char *value, char *err,
                   size_t errlen)
{
    long v;
    if (parse_integer_option(opt, value, &v, err, errlen))
        return -1;
    *MEMBER(target, opt, int) = (int)v;
    return 0;
}

static void format_int(const sgdmc_option *opt, const void *target, char *buf, size_t size)
{
    snprintf(buf, size, "%d", *CONST_MEMBER(target, opt, int));
}

static int set_seed(const sgdmc_option *opt, void *target, const char *value, char *err,
                    size_t errlen)
{
    char *end;
    errno = 0;
    /* digits only: strtoul would skip white space and take " -1" as 2^64 - 1 */
    if (!isdigit((unsigned char)*value))
        SGDMC_FAIL("'%s' is not a non-negative integer", value);
    unsigned long v = strtoul(value, &end, 10);
    if (*end)
        SGDMC_FAIL("'%s' is not a non-negative integer", value);
    if (errno == ERANGE)
        SGDMC_FAIL("'%s' is out of range (must be below 2^64)", value);
    *MEMBER(target, opt, unsigned long) = v;
    return 0;
fail:
    return -1;
}

static void format_seed(const sgdmc_option *opt, const void *target, char *buf, size_t size)
{
    snprintf(buf, size, "%lu", *CONST_MEMBER(target, opt, unsigned long));
}

static int set_bool(const sgdmc_option *opt, void *target, const char *value, char *err,
                    size_t errlen)
{
    bool v;
    if (!strcmp(value, "true") || !strcmp(value, "1"))
        v = true;
    else if (!strcmp(value, "false") || !strcmp(value, "0"))
        v = false;
    else
        SGDMC_FAIL("'%s' is not a boolean (true or false)", value);
    *MEMBER(target, opt, bool) = v;
    return 0;
fail:
    return -1;
}

static void format_bool(const sgdmc_option *opt, const void *target, char *buf, size_t size)
{
    snprintf(buf, size, "%s", *CONST_MEMBER(target, opt, bool) ? "true" : "false");
}

void sgdmc_names_list(const char *const *names, const char *skip, char *buf, size_t size)
{
    int count = 0, total = 0;
    for (int i = 0; names[i]; i++)
        total += !skip || strcmp(names[i], skip);
    buf[0] = '\0';
    for (int i = 0; names[i]; i++) {
        if (skip && !strcmp(names[i], skip))
            continue;
        const size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%s",
                 count == 0 ? "" : count + 1 == total ? " or " : ", ", names[i]);
        count++;
    }
}

int sgdmc_name_index(const char *const *names, const char *value)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], value))
            return i;
    return -1;
}

static int set_choice(const sgdmc_option *opt, void *target, const char *value, char *err,
                      size_t errlen)
{
    const int i = sgdmc_name_index(opt->names, value);
    if (i < 0) {
        char choices[512];
        sgdmc_names_list(opt->names, NULL, choices, sizeof choices);
        SGDMC_FAIL("unknown value '%s' (choose %s)", value, choices);
    }
    *MEMBER(target, opt, int) = i;
    return 0;
fail:
    return -1;
}

static void format_choice(const sgdmc_option *opt, const void *target, char *buf, size_t size)
{
    snprintf(buf, size, "%s", opt->names[*CONST_MEMBER(target, opt, int)]);
}

static int set_path(const sgdmc_option *opt, void *target, const char *value, char *err,
                    size_t errlen)
{
    if (!*value)
        SGDMC_FAIL("empty file name");
    if (strlen(value) >= SGDMC_PATH_MAX)
        SGDMC_FAIL("file name longer than %d characters", SGDMC_PATH_MAX - 1);
    strcpy(MEMBER(target, opt, char), value);
    return 0;
fail:
    return -1;
}

static void format_path(const sgdmc_option *opt, const void *target, char *buf, size_t size)
{
    snprintf(buf, size, "%s", CONST_MEMBER(target, opt, char));
}

const sgdmc_option_type sgdmc_option_double = {set_double, format_double, true, false, NULL};
const sgdmc_option_type sgdmc_option_int = {set_int, format_int, true, false, NULL};
const sgdmc_option_type sgdmc_option_long = {set_long, format_long, true, false, NULL};
const sgdmc_option_type sgdmc_option_seed = {set_seed, format_seed, true, false, NULL};
const sgdmc_option_type sgdmc_option_bool = {set_bool, format_bool, false, true, NULL};
const sgdmc_option_type sgdmc_option_choice = {set_choice, format_choice, false, false, NULL};
const sgdmc_option_type sgdmc_option_path = {set_path, format_path, false, false, NULL};

void sgdmc_input_file_key(const char *path, char *buf, size_t size)
{
    char hex[SGDMC_FINGERPRINT_SIZE], err[SGDMC_PATH_MAX + 128];
    if (sgdmc_fingerprint_file(path, hex, err, sizeof err) == 0)
        snprintf(buf, size, "sha256:%s", hex);
    else
        snprintf(buf, size, "unreadable:%s", path);
}

static void key_input_file(const sgdmc_option *opt, const void *target, char *buf, size_t size)
{
    sgdmc_input_file_key(CONST_MEMBER(target, opt, char), buf, size);
}

const sgdmc_option_type sgdmc_option_input_file = {set_path, format_path, false, false,
                                                   key_input_file};

const sgdmc_option *sgdmc_option_find(const sgdmc_option_table *table, const char *name)
{
    for (size_t i = 0; i < table->count; i++)
        if (!strcmp(table->options[i].name, name))
            return &table->options[i];
    return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Keeps in *best the candidate closest to name, at most 2 edits away. */
static void consider(const char *name, const char *candidate, const char **best,
                     size_t *best_distance)
{
    const size_t d = edit_distance(name, candidate);
    if (d < *best_distance) {
        *best_distance = d;
        *best = candidate;
    }
}

const char *sgdmc_names_suggest(const char *const *names, const char *name)
{
    const char *best = NULL;
    size_t best_distance = 3;
    for (size_t i = 0; names[i]; i++)
        consider(name, names[i], &best, &best_distance);
    return best;
}

const char *sgdmc_option_suggest(const sgdmc_option_table *table, const char *name)
{
    const char *best = NULL;
    size_t best_distance = 3;
    for (size_t i = 0; i < table->count; i++)
        consider(name, table->options[i].name, &best, &best_distance);
    return best;
}

int sgdmc_option_set(const sgdmc_option *option, void *target, const char *value, char *err,
                     size_t errlen)
{
    /* the value is not echoed: it would carry its newline into the message */
    const char *problem = sgdmc_plain_text_problem(value);
    if (problem) {
        snprintf(err, errlen, "the value %s", problem);
        return -1;
    }
    return option->type->set(option, target, value, err, errlen);
}

void sgdmc_option_describe_default(const sgdmc_option *o, char *buf, size_t size)
{
    if (o->default_value)
        snprintf(buf, size, "%s", o->default_value);
    else if (o->describe_default)
        o->describe_default(o, buf, size);
    else
        snprintf(buf, size, "%s", o->default_text ? o->default_text : "none");
}

int sgdmc_option_set_given(const sgdmc_option_table *table, const sgdmc_option *option,
                           void *target, const char *value, char *err, size_t errlen)
{
    if (sgdmc_option_set(option, target, value, err, errlen))
        return -1;
    const size_t index = (size_t)(option - table->options);
    if (table->given_offset && index < table->given_capacity)
        ((unsigned char *)target + table->given_offset)[index] = 1;
    return 0;
}

bool sgdmc_option_given(const sgdmc_option_table *table, const void *target, const char *name)
{
    const sgdmc_option *option = sgdmc_option_find(table, name);
    const size_t index = option ? (size_t)(option - table->options) : table->count;
    return table->given_offset && index < table->given_capacity &&
           ((const unsigned char *)target + table->given_offset)[index];
}

void sgdmc_options_given_outside(const sgdmc_option_table *table, const void *target, int mask,
                                 char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < table->count && i < table->given_capacity; i++) {
        const sgdmc_option *o = &table->options[i];
        if (!table->given_offset || (o->defines & mask) ||
            !((const unsigned char *)target + table->given_offset)[i])
            continue;
        const size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s--%s", used ? ", " : "", o->name);
    }
}

void sgdmc_options_set_defaults(const sgdmc_option_table *table, void *target)
{
    char err[256];
    for (size_t i = 0; i < table->count; i++) {
        const sgdmc_option *o = &table->options[i];
        /* a default the option refuses is a bug in its table: test_options catches it */
        if (o->default_value)
            sgdmc_option_set(o, target, o->default_value, err, sizeof err);
    }
}

void sgdmc_options_key(const sgdmc_option_table *table, const void *target, int mask, char *key,
                       size_t size)
{
    key[0] = '\0';
    for (size_t i = 0; i < table->count; i++) {
        const sgdmc_option *o = &table->options[i];
        if (!(o->defines & mask))
            continue;
        char value[SGDMC_PATH_MAX + 64];
        (o->type->key ? o->type->key : o->type->format)(o, target, value, sizeof value);
        const size_t used = strlen(key);
        snprintf(key + used, size - used, "%s=%s;", o->name, value);
    }
}

void sgdmc_options_print_help(const sgdmc_option_table *table, FILE *out)
{
    for (size_t i = 0; i < table->count; i++) {
        const sgdmc_option *o = &table->options[i];
        char flag[64], fallback[512], choices[512] = "";
        snprintf(flag, sizeof flag, "--%s%s%s", o->name, *o->metavar ? "=" : "", o->metavar);
        sgdmc_option_describe_default(o, fallback, sizeof fallback);
        if (o->type == &sgdmc_option_choice) {
            memcpy(choices, "; choices: ", 12);
            sgdmc_names_list(o->names, NULL, choices + 11, sizeof choices - 11);
        }
        fprintf(out, "  %-30s %s\n  %-30s (default: %s%s)\n", flag, o->help, "", fallback,
                choices);
    }
}

/* The option `name` and the group it belongs to, or NULL. */
static const sgdmc_option *find_in_groups(const sgdmc_option_group *groups, int count,
                                          const char *name, const sgdmc_option_group **group)
{
    for (int g = 0; g < count; g++) {
        const sgdmc_option *o = sgdmc_option_find(groups[g].table, name);
        if (o) {
            *group = &groups[g];
            return o;
        }
    }
    return NULL;
}

static const char *suggest_in_groups(const sgdmc_option_group *groups, int count,
                                     const char *name)
{
    for (int g = 0; g < count; g++) {
        const char *guess = sgdmc_option_suggest(groups[g].table, name);
        if (guess)
            return guess;
    }
    return NULL;
}

int sgdmc_options_parse(int argc, char **argv, const char *command,
                        const sgdmc_option_group *groups, int group_count,
                        const char **positional, const char *what)
{
    char err[512];
    const sgdmc_option *seen[256];
    int seen_count = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
            if (positional && !*positional) {
                *positional = arg;
                continue;
            }
            if (positional)
                fprintf(stderr, "sgdmc %s: one %s only ('%s' and '%s')\n", command, what,
                        *positional, arg);
            else
                fprintf(stderr,
                        "sgdmc %s: unexpected argument '%s' (flags look like --name=value)\n",
                        command, arg);
            return -1;
        }
        char name[64];
        const char *eq = strchr(arg, '=');
        const size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof name) {
            fprintf(stderr, "sgdmc %s: unknown flag '%.*s'\n", command, (int)(len + 2), arg);
            return -1;
        }
        memcpy(name, arg + 2, len);
        name[len] = '\0';
        const sgdmc_option_group *group = NULL;
        const sgdmc_option *option = find_in_groups(groups, group_count, name, &group);
        if (!option) {
            const char *guess = suggest_in_groups(groups, group_count, name);
            fprintf(stderr, "sgdmc %s: unknown flag '--%s'%s%s%s (see sgdmc %s --help)\n",
                    command, name, guess ? "; did you mean --" : "", guess ? guess : "",
                    guess ? "?" : "", command);
            return -1;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (option->type->is_switch)
            value = "true";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(stderr, "sgdmc %s: --%s: missing value\n", command, name);
            return -1;
        }
        for (int j = 0; j < seen_count; j++)
            if (seen[j] == option) {
                fprintf(stderr, "sgdmc %s: --%s: given twice\n", command, name);
                return -1;
            }
        if (seen_count < (int)(sizeof seen / sizeof *seen))
            seen[seen_count++] = option;
        if (sgdmc_option_set_given(group->table, option, group->target, value, err,
                                   sizeof err)) {
            fprintf(stderr, "sgdmc %s: --%s: %s\n", command, name, err);
            return -1;
        }
    }
    return 0;
}
