/* The run result's field table: the one place where a result field is named,
 * typed and explained. */
#include "sgdmc/core/result.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const sgdmc_status_names[SGDMC_STATUS_COUNT + 1] = {"pending", "converged",
                                                               "not_converged", "diverged", NULL};
const char *const sgdmc_min_risk_source_names[SGDMC_MIN_RISK_SOURCE_COUNT + 1] = {
    "unknown", "exact", "computed", "estimated", "given", NULL};

/* enum members are read and written through int * (sgdmc_field_int) */
_Static_assert(sizeof(sgdmc_status) == sizeof(int), "sgdmc_status is not int-sized");
_Static_assert(sizeof(sgdmc_min_risk_source) == sizeof(int), "min_risk_source is not int-sized");

#define AT(member) offsetof(sgdmc_result, member)

const sgdmc_field sgdmc_result_fields[] = {
    {"status", SGDMC_FIELD_ENUM, AT(status), sgdmc_status_names, SGDMC_STATUS_PENDING,
     "converged (risk_gap <= tol + rtol R*; with R* unknown, final_risk <= tol), not_converged "
     "or diverged; pending in a study file until the run is done"},
    {"final_risk", SGDMC_FIELD_F64, AT(final_risk), NULL, NAN,
     "population (or full-data) risk at the end, including the l2 term"},
    {"min_risk", SGDMC_FIELD_F64, AT(min_risk), NULL, NAN,
     "R*, the global-minimum risk of the architecture, where known"},
    {"min_risk_source", SGDMC_FIELD_ENUM, AT(min_risk_source), sgdmc_min_risk_source_names,
     SGDMC_MIN_RISK_UNKNOWN,
     "how R* is known: unknown, exact, computed, estimated (an upper bound) or given"},
    {"tol", SGDMC_FIELD_F64, AT(tol), NULL, NAN, "absolute convergence tolerance"},
    {"rtol", SGDMC_FIELD_F64, AT(rtol), NULL, NAN, "relative convergence tolerance"},
    {"risk_gap", SGDMC_FIELD_F64, AT(risk_gap), NULL, NAN, "final_risk - R*"},
    {"dist_to_min", SGDMC_FIELD_F64, AT(dist_to_min), NULL, NAN,
     "L2 distance from the network's function to the nearest known minimizer's"},
    {"grad_norm", SGDMC_FIELD_F64, AT(grad_norm), NULL, NAN,
     "Euclidean norm of the exact risk gradient at the end"},
    {"min_grad_norm", SGDMC_FIELD_F64, AT(min_grad_norm), NULL, NAN,
     "smallest exact gradient norm over the checkpoints and the end"},
    {"gram_min_eig", SGDMC_FIELD_F64, AT(gram_min_eig), NULL, NAN,
     "smallest eigenvalue of the output-Jacobian Gram matrix at the end"},
    {"gram_max_eig", SGDMC_FIELD_F64, AT(gram_max_eig), NULL, NAN,
     "largest eigenvalue of the output-Jacobian Gram matrix at the end"},
    {"gram_risk", SGDMC_FIELD_F64, AT(gram_risk), NULL, NAN,
     "mse risk on the Gram inputs (no l2 term)"},
    {"gram_grad_norm", SGDMC_FIELD_F64, AT(gram_grad_norm), NULL, NAN,
     "norm of the gradient of gram_risk"},
    {"dead_init_probability", SGDMC_FIELD_F64, AT(dead_init_probability), NULL, NAN,
     "1 - (1 - p)^width: probability of a dead first-layer neuron at initialization"},
    {"dead_init", SGDMC_FIELD_LAYERS, AT(dead_init), NULL, -1,
     "ReLU neurons dead on the input domain at initialization, per hidden layer"},
    {"dead_final", SGDMC_FIELD_LAYERS, AT(dead_final), NULL, -1,
     "ReLU neurons dead on the input domain at the end, per hidden layer"},
    {"dead_permanent_init", SGDMC_FIELD_LAYERS, AT(dead_permanent_init), NULL, -1,
     "permanently dead neurons at initialization, per hidden layer"},
    {"dead_permanent_final", SGDMC_FIELD_LAYERS, AT(dead_permanent_final), NULL, -1,
     "permanently dead neurons at the end, per hidden layer"},
    {"certified_nonconvergent", SGDMC_FIELD_VERDICT, AT(certified_nonconvergent), NULL, -1,
     "the dead first-layer neurons provably keep the run from R*: 1, 0, -1 unknown"},
    {"steps", SGDMC_FIELD_I64, AT(steps), NULL, -1,
     "steps taken (fewer than asked when diverged)"},
    {"seconds", SGDMC_FIELD_F64, AT(seconds), NULL, NAN, "wall time of the run"},
    {"step", SGDMC_FIELD_TRAJECTORY_I64, AT(trajectory_step), NULL, -1,
     "the log-spaced steps of the trajectory"},
    {"risk", SGDMC_FIELD_TRAJECTORY_F64, AT(trajectory_risk), NULL, NAN,
     "the exact risk at those steps"},
    {"grad_norm", SGDMC_FIELD_TRAJECTORY_F64, AT(trajectory_grad_norm), NULL, NAN,
     "the exact gradient norm at those steps"},
};

const int sgdmc_result_field_count = (int)(sizeof sgdmc_result_fields / sizeof *sgdmc_result_fields);

static int is_trajectory(const sgdmc_field *f)
{
    return f->kind == SGDMC_FIELD_TRAJECTORY_I64 || f->kind == SGDMC_FIELD_TRAJECTORY_F64;
}

const sgdmc_field *sgdmc_result_field_find(const char *name)
{
    /* a scalar and a trajectory field may share a name (grad_norm): the
     * scalar comes first, "trajectory/NAME" names the other */
    const int in_trajectory = !strncmp(name, "trajectory/", 11);
    const char *bare = in_trajectory ? name + 11 : name;
    for (int i = 0; i < sgdmc_result_field_count; i++) {
        const sgdmc_field *f = &sgdmc_result_fields[i];
        if (!strcmp(f->name, bare) && is_trajectory(f) == in_trajectory)
            return f;
    }
    return NULL;
}

static void *member(const sgdmc_field *field, const sgdmc_result *result)
{
    return (char *)result + field->offset;
}

double *sgdmc_field_f64(const sgdmc_field *field, const sgdmc_result *result)
{
    return member(field, result);
}

long *sgdmc_field_i64(const sgdmc_field *field, const sgdmc_result *result)
{
    return member(field, result);
}

int *sgdmc_field_int(const sgdmc_field *field, const sgdmc_result *result)
{
    return member(field, result);
}

long **sgdmc_field_trajectory_i64(const sgdmc_field *field, const sgdmc_result *result)
{
    return member(field, result);
}

double **sgdmc_field_trajectory_f64(const sgdmc_field *field, const sgdmc_result *result)
{
    return member(field, result);
}

void sgdmc_result_unknown(sgdmc_result *r, int depth)
{
    memset(r, 0, sizeof *r);
    r->depth = depth;
    for (int i = 0; i < sgdmc_result_field_count; i++) {
        const sgdmc_field *f = &sgdmc_result_fields[i];
        switch (f->kind) {
        case SGDMC_FIELD_F64:
            *sgdmc_field_f64(f, r) = f->unknown;
            break;
        case SGDMC_FIELD_I64:
            *sgdmc_field_i64(f, r) = (long)f->unknown;
            break;
        case SGDMC_FIELD_VERDICT:
        case SGDMC_FIELD_ENUM:
            *sgdmc_field_int(f, r) = (int)f->unknown;
            break;
        case SGDMC_FIELD_LAYERS:
            for (int k = 0; k < SGDMC_MAX_DEPTH; k++)
                sgdmc_field_int(f, r)[k] = (int)f->unknown;
            break;
        case SGDMC_FIELD_TRAJECTORY_I64:
        case SGDMC_FIELD_TRAJECTORY_F64:
            break; /* no trajectory: NULL arrays, trajectory_count 0 */
        }
    }
}

void sgdmc_result_free(sgdmc_result *r)
{
    for (int i = 0; i < sgdmc_result_field_count; i++) {
        const sgdmc_field *f = &sgdmc_result_fields[i];
        if (f->kind == SGDMC_FIELD_TRAJECTORY_I64) {
            free(*sgdmc_field_trajectory_i64(f, r));
            *sgdmc_field_trajectory_i64(f, r) = NULL;
        } else if (f->kind == SGDMC_FIELD_TRAJECTORY_F64) {
            free(*sgdmc_field_trajectory_f64(f, r));
            *sgdmc_field_trajectory_f64(f, r) = NULL;
        }
    }
    r->trajectory_count = 0;
}
