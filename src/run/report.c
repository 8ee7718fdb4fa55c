/* JSON output of a run's result: one key per field of the result table. */
#include "sgdmc/run/report.h"

#include <math.h>
#include <stdbool.h>

static void number(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.17g", v);
    else
        fputs("null", out);
}

/* [v, ...] for the run's hidden layers; null when unknown (-1 first) */
static void layers(FILE *out, const int *v, int depth)
{
    if (depth > 0 && v[0] < 0) {
        fputs("null", out);
        return;
    }
    fputc('[', out);
    for (int i = 0; i < depth; i++)
        fprintf(out, "%s%d", i ? ", " : "", v[i]);
    fputc(']', out);
}

static bool is_trajectory(const sgdmc_field *f)
{
    return f->kind == SGDMC_FIELD_TRAJECTORY_I64 || f->kind == SGDMC_FIELD_TRAJECTORY_F64;
}

void sgdmc_result_write_json(FILE *out, const sgdmc_result *r)
{
    const char *separator = "{";
    bool in_trajectory = false;
    for (int i = 0; i < sgdmc_result_field_count; i++) {
        const sgdmc_field *f = &sgdmc_result_fields[i];
        if (is_trajectory(f) && r->trajectory_count == 0)
            continue;
        if (is_trajectory(f) && !in_trajectory) { /* the trajectory fields form one object */
            fprintf(out, "%s\"trajectory\": ", separator);
            separator = "{";
            in_trajectory = true;
        }
        fprintf(out, "%s\"%s\": ", separator, f->name);
        separator = ", ";
        switch (f->kind) {
        case SGDMC_FIELD_F64:
            number(out, *sgdmc_field_f64(f, r));
            break;
        case SGDMC_FIELD_I64:
            fprintf(out, "%ld", *sgdmc_field_i64(f, r));
            break;
        case SGDMC_FIELD_VERDICT: {
            const int v = *sgdmc_field_int(f, r);
            fputs(v < 0 ? "null" : v ? "true" : "false", out);
            break;
        }
        case SGDMC_FIELD_ENUM:
            fprintf(out, "\"%s\"", f->names[*sgdmc_field_int(f, r)]);
            break;
        case SGDMC_FIELD_LAYERS:
            layers(out, sgdmc_field_int(f, r), r->depth);
            break;
        case SGDMC_FIELD_TRAJECTORY_I64:
            for (int j = 0; j < r->trajectory_count; j++)
                fprintf(out, "%s%ld", j ? ", " : "[", (*sgdmc_field_trajectory_i64(f, r))[j]);
            fputc(']', out);
            break;
        case SGDMC_FIELD_TRAJECTORY_F64:
            for (int j = 0; j < r->trajectory_count; j++) {
                fputs(j ? ", " : "[", out);
                number(out, (*sgdmc_field_trajectory_f64(f, r))[j]);
            }
            fputc(']', out);
            break;
        }
    }
    fputs(in_trajectory ? "}}\n" : "}\n", out);
}
