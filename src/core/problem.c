/* Inputs, targets and data sets: the learning problem of a run. */
#include "sgdmc/core/problem.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/core/h5io.h"
#include "sgdmc/base/mt_block.h"
#include "sgdmc/base/rng.h"

struct sgdmc_problem {
    sgdmc_input_kind input;
    sgdmc_target_kind target;
    double constant;
    int dim;
    int capacity;
    /* data problems */
    int count;
    double *x;  /* [count][dim] */
    double *y;  /* [count] */
    /* teacher targets */
    sgdmc_arch teacher;
    double *teacher_params;
    sgdmc_workspace *teacher_ws;
};

void sgdmc_problem_free(sgdmc_problem *p)
{
    if (!p)
        return;
    free(p->x);
    free(p->y);
    free(p->teacher_params);
    sgdmc_workspace_free(p->teacher_ws);
    free(p);
}

static int map_logistic_labels(sgdmc_problem *p, const char *path, char *err, size_t errlen)
{
    bool zero_one = true, plus_minus = true;
    for (int i = 0; i < p->count; i++) {
        double y = p->y[i];
        zero_one &= y == 0.0 || y == 1.0;
        plus_minus &= y == -1.0 || y == 1.0;
        if (!zero_one && !plus_minus) {
            snprintf(err, errlen,
                     "--data: %s: dataset 'y' holds %g at row %d; --loss=logistic needs labels in "
                     "{-1, +1} or {0, 1}",
                     path, y, i);
            return -1;
        }
    }
    if (!plus_minus)
        for (int i = 0; i < p->count; i++)
            p->y[i] = p->y[i] == 0.0 ? -1.0 : 1.0;
    return 0;
}

sgdmc_problem *sgdmc_problem_alloc(const sgdmc_train_config *c, int capacity, char *err,
                                   size_t errlen)
{
    sgdmc_problem *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->input = c->input;
    p->target = c->target;
    p->constant = c->target_constant;
    p->capacity = capacity;
    p->dim = c->input_dim > 0 ? c->input_dim : 1;
    if (c->data_file[0]) {
        int d;
        char why[800];
        if (sgdmc_h5_read_data(c->data_file, &p->x, &p->y, &p->count, &d, why, sizeof why)) {
            snprintf(err, errlen, "--data: %s", why);
            goto fail;
        }
        if (c->input_dim > 0 && c->input_dim != d) {
            snprintf(err, errlen, "--input_dim=%d: the data file %s has d = %d", c->input_dim,
                     c->data_file, d);
            goto fail;
        }
        p->dim = d;
        if (c->loss == SGDMC_LOSS_LOGISTIC && map_logistic_labels(p, c->data_file, err, errlen))
            goto fail;
        return p;
    }
    if (c->target == SGDMC_TARGET_TEACHER) {
        sgdmc_arch *t = &p->teacher;
        t->depth = c->teacher_depth;
        t->widths[0] = p->dim;
        for (int k = 1; k <= t->depth; k++)
            t->widths[k] = c->teacher_width;
        t->widths[t->depth + 1] = 1;
        t->activation = c->activation;
        t->skip = false;
        size_t n = sgdmc_arch_param_count(t);
        p->teacher_params = malloc(n * sizeof(double));
        p->teacher_ws = sgdmc_workspace_alloc(t, capacity);
        gsl_rng *rng = sgdmc_rng_alloc(c->teacher_seed, SGDMC_STREAM_TEACHER);
        if (!p->teacher_params || !p->teacher_ws || !rng) {
            gsl_rng_free(rng);
            snprintf(err, errlen, "out of memory for the teacher network");
            goto fail;
        }
        for (size_t i = 0; i < n; i++)
            p->teacher_params[i] = 2.0 * gsl_rng_uniform(rng) - 1.0;
        gsl_rng_free(rng);
    }
    return p;
fail:
    sgdmc_problem_free(p);
    return NULL;
}

int sgdmc_problem_input_dim(const sgdmc_problem *p) { return p->dim; }
sgdmc_input_kind sgdmc_problem_input(const sgdmc_problem *p) { return p->input; }
sgdmc_target_kind sgdmc_problem_target(const sgdmc_problem *p) { return p->target; }
int sgdmc_problem_data_count(const sgdmc_problem *p) { return p->count; }

void sgdmc_problem_data_columns(const sgdmc_problem *p, double *x, size_t stride, double *y)
{
    for (int s = 0; s < p->count; s++) {
        const double *row = p->x + (size_t)s * (size_t)p->dim;
        for (int i = 0; i < p->dim; i++)
            x[(size_t)i * stride + s] = row[i];
        y[s] = p->y[s];
    }
}

const sgdmc_arch *sgdmc_problem_teacher(const sgdmc_problem *p, const double **params)
{
    if (!p->teacher_params)
        return NULL;
    *params = p->teacher_params;
    return &p->teacher;
}

void sgdmc_problem_targets(sgdmc_problem *p, const double *x, int count, double *y)
{
    const int d = p->dim;
    switch (p->target) {
    case SGDMC_TARGET_CONSTANT:
        for (int s = 0; s < count; s++)
            y[s] = p->constant;
        break;
    case SGDMC_TARGET_SQUARE:
    case SGDMC_TARGET_SIN:
        /* y = 0 + the terms of input 0 + those of input 1 ...: the first
         * term added to a 0 in a register rather than to a zeroed y (the
         * same sum; one pass fewer over y, 1.5% of a w1 d1 study) */
        for (int i = 0; i < d; i++) {
            const double *xi = x + (size_t)i * count;
            const bool first = i == 0;
            if (p->target == SGDMC_TARGET_SQUARE)
                for (int s = 0; s < count; s++)
                    y[s] = (first ? 0.0 : y[s]) + xi[s] * xi[s];
            else
                for (int s = 0; s < count; s++)
                    y[s] = (first ? 0.0 : y[s]) + xi[s];
        }
        if (p->target == SGDMC_TARGET_SIN)
            for (int s = 0; s < count; s++)
                y[s] = sin(2.0 * M_PI * y[s]);
        break;
    case SGDMC_TARGET_TEACHER:
        for (int start = 0; start < count; start += p->capacity) {
            const int part = count - start < p->capacity ? count - start : p->capacity;
            double *input = sgdmc_workspace_input(p->teacher_ws);
            for (int i = 0; i < d; i++)
                memcpy(input + (size_t)i * part, x + (size_t)i * count + start,
                       sizeof(double) * (size_t)part);
            sgdmc_forward(&p->teacher, p->teacher_params, p->teacher_ws, part);
            memcpy(y + start, sgdmc_workspace_output(p->teacher_ws), sizeof(double) * (size_t)part);
        }
        break;
    case SGDMC_TARGET_COUNT:
        break;
    }
}

void sgdmc_problem_sample(sgdmc_problem *p, gsl_rng *rng, int count, double *x, double *y)
{
    const int d = p->dim;
    /* draws inline from the block generator; the words, and so the samples,
     * are GSL's for the same seed */
    sgdmc_mt_block *g = sgdmc_mt_block_of(rng);
    if (p->count > 0) {
        for (int s = 0; s < count; s++) {
            unsigned long row = g ? sgdmc_mt_block_uniform_int(g, (unsigned long)p->count)
                                  : gsl_rng_uniform_int(rng, (unsigned long)p->count);
            const double *xr = p->x + row * (size_t)d;
            for (int i = 0; i < d; i++)
                x[(size_t)i * count + s] = xr[i];
            y[s] = p->y[row];
        }
        return;
    }
    if (p->input == SGDMC_INPUT_UNIFORM && g) {
        for (int s = 0; s < count; s++)
            for (int i = 0; i < d; i++)
                x[(size_t)i * count + s] = sgdmc_mt_block_uniform(g);
    } else {
        /* the ziggurat takes a variable number of words per sample: GSL's own
         * code, drawing from the same stream */
        for (int s = 0; s < count; s++)
            for (int i = 0; i < d; i++)
                x[(size_t)i * count + s] = p->input == SGDMC_INPUT_UNIFORM
                                               ? gsl_rng_uniform(rng)
                                               : gsl_ran_gaussian_ziggurat(rng, 1.0);
    }
    sgdmc_problem_targets(p, x, count, y);
}

bool sgdmc_problem_uniform_words(const sgdmc_problem *p)
{
    return p->count == 0 && p->input == SGDMC_INPUT_UNIFORM;
}

double sgdmc_problem_min_risk(const sgdmc_problem *p, const sgdmc_arch *student,
                              const sgdmc_train_config *c)
{
    if (p->count > 0 || c->loss != SGDMC_LOSS_MSE || c->l2 > 0.0)
        return NAN;
    if (p->target == SGDMC_TARGET_CONSTANT)
        return 0.0; /* the output bias alone represents a constant */
    if (p->target != SGDMC_TARGET_TEACHER)
        return NAN;
    /* The student embeds the teacher: copy its neurons and zero the outgoing
     * weights of the rest. Each layer past the teacher's depth passes the
     * teacher's last hidden layer on unchanged: a plain ReLU layer as the
     * identity on its inputs >= 0, any layer with an identity skip by zero
     * weights and bias (h + act(0), the constant absorbed by the output
     * bias). A skip into one of the teacher's own layers would add terms the
     * teacher lacks. */
    const int teacher_depth = p->teacher.depth;
    if (student->depth < teacher_depth)
        return NAN;
    for (int k = 1; k <= student->depth; k++) {
        const int needed = p->teacher.widths[k <= teacher_depth ? k : teacher_depth];
        const bool skip = sgdmc_arch_skips_into(student, k);
        const bool passes_on = skip || student->activation == SGDMC_ACT_RELU;
        if (student->widths[k] < needed || (k <= teacher_depth ? skip : !passes_on))
            return NAN;
    }
    return 0.0;
}
