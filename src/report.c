/* JSON output of a run's result. */
#include "sgdmc/report.h"

#include <math.h>

static void value(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.17g", v);
    else
        fputs("null", out);
}

static void number(FILE *out, const char *key, double v)
{
    fprintf(out, "\"%s\": ", key);
    value(out, v);
}

static void counts(FILE *out, const char *key, const int *v, int n)
{
    fprintf(out, "\"%s\": ", key);
    if (n > 0 && v[0] < 0) {
        fputs("null", out);
        return;
    }
    fputc('[', out);
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%d", i ? ", " : "", v[i]);
    fputc(']', out);
}

/* , "key": [v, ...] with null for non-finite values */
static void numbers(FILE *out, const char *key, const double *v, int n)
{
    fprintf(out, ", \"%s\": [", key);
    for (int i = 0; i < n; i++) {
        fputs(i ? ", " : "", out);
        value(out, v[i]);
    }
    fputc(']', out);
}

void sgdmc_result_write_json(FILE *out, const sgdmc_result *r)
{
    fprintf(out, "{\"status\": \"%s\", ", sgdmc_status_names[r->status]);
    number(out, "final_risk", r->final_risk);
    fputs(", ", out);
    number(out, "min_risk", r->min_risk);
    fprintf(out, ", \"min_risk_source\": \"%s\"", sgdmc_min_risk_source_names[r->min_risk_source]);
    const struct {
        const char *key;
        double value;
    } scalars[] = {
        {"tol", r->tol},
        {"rtol", r->rtol},
        {"risk_gap", r->risk_gap},
        {"dist_to_min", r->dist_to_min},
        {"grad_norm", r->grad_norm},
        {"min_grad_norm", r->min_grad_norm},
        {"gram_min_eig", r->gram_min_eig},
        {"gram_max_eig", r->gram_max_eig},
        {"gram_risk", r->gram_risk},
        {"gram_grad_norm", r->gram_grad_norm},
        {"dead_init_probability", r->dead_init_probability},
    };
    for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++) {
        fputs(", ", out);
        number(out, scalars[i].key, scalars[i].value);
    }
    const struct {
        const char *key;
        const int *values;
    } layers[] = {
        {"dead_init", r->dead_init},
        {"dead_final", r->dead_final},
        {"dead_permanent_init", r->dead_permanent_init},
        {"dead_permanent_final", r->dead_permanent_final},
    };
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) {
        fputs(", ", out);
        counts(out, layers[i].key, layers[i].values, r->depth);
    }
    fprintf(out, ", \"certified_nonconvergent\": %s",
            r->certified_nonconvergent < 0 ? "null"
            : r->certified_nonconvergent ? "true" : "false");
    fprintf(out, ", \"steps\": %ld, ", r->steps);
    number(out, "seconds", r->seconds);
    if (r->trajectory_count > 0) {
        fputs(", \"trajectory\": {\"step\": [", out);
        for (int i = 0; i < r->trajectory_count; i++)
            fprintf(out, "%s%ld", i ? ", " : "", r->trajectory_step[i]);
        fputc(']', out);
        numbers(out, "risk", r->trajectory_risk, r->trajectory_count);
        numbers(out, "grad_norm", r->trajectory_grad_norm, r->trajectory_count);
        fputc('}', out);
    }
    fputs("}\n", out);
}
