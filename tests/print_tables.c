/* Prints sgdmc's one-place tables as JSON for test_tables.py: the run
 * result's fields (result.h) and the options of `sgdmc train` (train_options.h)
 * with their generated defaults and choices, and the verdicts' rounding
 * allowance. */
#include <stdio.h>
#include <string.h>

#include "sgdmc/core/result.h"
#include "sgdmc/core/train_options.h"

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        putchar(*s);
    }
    putchar('"');
}

static const char *kind_name(sgdmc_field_kind kind)
{
    switch (kind) {
    case SGDMC_FIELD_F64: return "f64";
    case SGDMC_FIELD_I64: return "i64";
    case SGDMC_FIELD_VERDICT: return "verdict";
    case SGDMC_FIELD_ENUM: return "enum";
    case SGDMC_FIELD_LAYERS: return "layers";
    case SGDMC_FIELD_TRAJECTORY_I64: return "trajectory_i64";
    case SGDMC_FIELD_TRAJECTORY_F64: return "trajectory_f64";
    }
    return "?";
}

static void print_fields(void)
{
    puts("[");
    for (int i = 0; i < sgdmc_result_field_count; i++) {
        const sgdmc_field *f = &sgdmc_result_fields[i];
        printf("  {\"name\": ");
        json_string(f->name);
        printf(", \"kind\": \"%s\", \"names\": [", kind_name(f->kind));
        for (int j = 0; f->names && f->names[j]; j++) {
            fputs(j ? ", " : "", stdout);
            json_string(f->names[j]);
        }
        printf("], \"meaning\": ");
        json_string(f->meaning);
        printf("}%s\n", i + 1 < sgdmc_result_field_count ? "," : "");
    }
    puts("]");
}

static void print_options(void)
{
    puts("[");
    const sgdmc_option_table *t = &sgdmc_train_options;
    for (size_t i = 0; i < t->count; i++) {
        const sgdmc_option *o = &t->options[i];
        char fallback[1024];
        sgdmc_option_describe_default(o, fallback, sizeof fallback);
        printf("  {\"name\": ");
        json_string(o->name);
        printf(", \"metavar\": ");
        json_string(o->metavar);
        printf(", \"default\": ");
        json_string(fallback);
        printf(", \"choices\": [");
        for (int j = 0; o->names && o->names[j]; j++) {
            fputs(j ? ", " : "", stdout);
            json_string(o->names[j]);
        }
        printf("], \"numeric\": %s, \"defines\": %d}%s\n", o->type->numeric ? "true" : "false",
               o->defines, i + 1 < t->count ? "," : "");
    }
    puts("]");
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "fields"))
        print_fields();
    else if (argc == 2 && !strcmp(argv[1], "options"))
        print_options();
    else if (argc == 2 && !strcmp(argv[1], "rounding"))
        printf("%.17g\n", SGDMC_RISK_ROUNDING);
    else {
        fprintf(stderr, "usage: print_tables fields|options|rounding\n");
        return 2;
    }
    return 0;
}
