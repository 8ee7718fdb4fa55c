/* Option tables: every flag of every command, and every key of a study's
 * train and grid sections, is one entry of a const table that names it,
 * gives its default, explains it and parses it. A command line is parsed by
 * one loop over its tables (sgdmc_options_parse); the help, the defaults and
 * the keys of cached results are generated from the same entries. */
#ifndef SGDMC_OPTIONS_H
#define SGDMC_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The longest file name an option holds (sgdmc_option_path), with its 0. */
#define SGDMC_PATH_MAX 1024

typedef struct sgdmc_option sgdmc_option;

/* How values of an option are read into and written back from its target
 * (the struct it sets). A setter's message names the value; callers add
 * where it came from (flag, file:line:key). */
typedef struct {
    int (*set)(const sgdmc_option *option, void *target, const char *value, char *err,
               size_t errlen);
    /* the value in the target as text that set() reads back to the same value */
    void (*format)(const sgdmc_option *option, const void *target, char *buf, size_t size);
    bool numeric;   /* values are numbers (a study's grid column is float64, else text) */
    bool is_switch; /* may stand without a value: --skip means --skip=true */
    /* the value as a cached result's key names it (sgdmc_options_key); NULL: format */
    void (*key)(const sgdmc_option *option, const void *target, char *buf, size_t size);
} sgdmc_option_type;

/* The generic types; `offset` locates the member, min/max bound numbers. */
extern const sgdmc_option_type sgdmc_option_double;   /* double, finite, in range */
extern const sgdmc_option_type sgdmc_option_int;      /* int in range */
extern const sgdmc_option_type sgdmc_option_long;     /* long in range */
extern const sgdmc_option_type sgdmc_option_seed;     /* unsigned long */
extern const sgdmc_option_type sgdmc_option_bool;     /* bool: true/false/1/0 */
extern const sgdmc_option_type sgdmc_option_choice;   /* int index into names */
extern const sgdmc_option_type sgdmc_option_path;     /* char [SGDMC_PATH_MAX] */
/* A file read as input (char [SGDMC_PATH_MAX]): keyed by its content's
 * SHA-256, not its name, so that a cached result follows the bytes it was
 * computed from. */
extern const sgdmc_option_type sgdmc_option_input_file;
/* The key of an input file: "sha256:HEX", or "unreadable:PATH". */
void sgdmc_input_file_key(const char *path, char *buf, size_t size);

/* What an option's value defines: a result that depends only on the problem
 * (R* of a one-layer network) or also on the estimate's set-up is keyed by
 * exactly the options so marked (sgdmc_options_key). */
enum { SGDMC_DEFINES_PROBLEM = 1, SGDMC_DEFINES_ESTIMATE = 2 };

/* Which ends of an option's [min, max] are excluded. */
enum { SGDMC_MIN_EXCLUSIVE = 1, SGDMC_MAX_EXCLUSIVE = 2 };

struct sgdmc_option {
    const char *name;
    const char *metavar;        /* "" for a switch */
    const char *default_value;  /* set before parsing; NULL: the target's zero (or NaN) means
                                   "not given" and default_text says what then happens */
    const char *default_text;   /* the help's default when default_value is NULL (NULL: "none") */
    /* or, when not NULL, writes it (a default that lives elsewhere, e.g. per optimizer) */
    void (*describe_default)(const sgdmc_option *option, char *buf, size_t size);
    const char *help;
    const sgdmc_option_type *type;
    size_t offset;              /* of the member set */
    double min, max;            /* inclusive range of numbers */
    int exclusive;              /* SGDMC_MIN_EXCLUSIVE | SGDMC_MAX_EXCLUSIVE (true: the min) */
    const char *const *names;   /* choices, NULL-terminated */
    int defines;                /* SGDMC_DEFINES_* */
};

typedef struct {
    const sgdmc_option *options;
    size_t count;
    /* Where a target records which options were given (set by
     * sgdmc_option_set_given, not by defaults): unsigned char [given_capacity]
     * at this offset, in table order; 0: not recorded. A flag that has no
     * effect where it was given is an error (config.c), which needs this. */
    size_t given_offset, given_capacity;
} sgdmc_option_table;

/* The option called `name` in table, or NULL. */
const sgdmc_option *sgdmc_option_find(const sgdmc_option_table *table, const char *name);
/* The name of NULL-terminated names closest to `name` (at most 2 edits:
 * for "did you mean"), or NULL. */
const char *sgdmc_names_suggest(const char *const *names, const char *name);
/* The option name of table closest to `name` (for "did you mean"), or NULL. */
const char *sgdmc_option_suggest(const sgdmc_option_table *table, const char *name);
/* Parses `value` into target; -1 with a message naming the value. */
int sgdmc_option_set(const sgdmc_option *option, void *target, const char *value, char *err,
                     size_t errlen);
/* sgdmc_option_set, and records that `option` of `table` was given. */
int sgdmc_option_set_given(const sgdmc_option_table *table, const sgdmc_option *option,
                           void *target, const char *value, char *err, size_t errlen);
/* Whether the option `name` of `table` was given (false where not recorded). */
bool sgdmc_option_given(const sgdmc_option_table *table, const void *target, const char *name);
/* The given options of `table` whose `defines` has no bit of `mask`, as
 * "--a, --b" (empty when none). */
void sgdmc_options_given_outside(const sgdmc_option_table *table, const void *target, int mask,
                                 char *buf, size_t size);

/* The option's default as the help shows it. */
void sgdmc_option_describe_default(const sgdmc_option *option, char *buf, size_t size);

/* Sets every option that has a default_value. */
void sgdmc_options_set_defaults(const sgdmc_option_table *table, void *target);
/* "name=value;" for every option whose `defines` has a bit of `mask`, in
 * table order: the key of a result that depends on exactly those values. */
void sgdmc_options_key(const sgdmc_option_table *table, const void *target, int mask, char *key,
                       size_t size);
/* Every option with its meaning and default, two lines each. */
void sgdmc_options_print_help(const sgdmc_option_table *table, FILE *out);
/* The index of `name` in NULL-terminated names, or -1. */
int sgdmc_name_index(const char *const *names, const char *name);
/* "a, b or c" from NULL-terminated names, skipping `skip` (may be NULL). */
void sgdmc_names_list(const char *const *names, const char *skip, char *buf, size_t size);

/* A command line's flags: one table and the struct it sets. */
typedef struct {
    const sgdmc_option_table *table;
    void *target;
} sgdmc_option_group;

/* Parses argv (--name=value, --name value, --switch) through the groups: a
 * name belongs to the first group whose table has it. A bare argument is the
 * positional one when `positional` is not NULL (at most one; `what` names it
 * in messages, e.g. "config file"). On bad input prints one line "sgdmc
 * COMMAND: ..." naming the flag (with a "did you mean") and returns -1. */
int sgdmc_options_parse(int argc, char **argv, const char *command,
                        const sgdmc_option_group *groups, int group_count,
                        const char **positional, const char *what);

#endif
