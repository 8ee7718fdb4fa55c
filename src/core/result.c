/* The run result's field table: the one place where a result field is named,
 * typed and explained. */
#include "sgdmc/core/result.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const sgdmc_status_names[SGDMC_STATUS_COUNT + 1] = {
    "pending", "converged", "not_converged", "diverged", "undecided", NULL};
const char *const sgdmc_min_risk_source_names[SGDMC_MIN_RISK_SOURCE_COUNT + 1] = {
    "unknown", "exact", "computed", "estimated", "given", "constructed", NULL};
const char *const sgdmc_end_state_names[SGDMC_END_COUNT + 1] = {
    "pending",     "converged", "certified", "stationary", "descending",
    "oscillating", "undecided", "diverged",  NULL};
const char *const sgdmc_family_names[SGDMC_FAMILY_COUNT + 1] = {"none", "constant", "affine",
                                                               NULL};
const char *const sgdmc_lower_source_names[SGDMC_LOWER_SOURCE_COUNT + 1] = {
    "zero", "closed_form", "grid", "variance", "exact", "given", NULL};

/* enum members are read and written through int * (sgdmc_field_int) */
_Static_assert(sizeof(sgdmc_status) == sizeof(int), "sgdmc_status is not int-sized");
_Static_assert(sizeof(sgdmc_min_risk_source) == sizeof(int), "min_risk_source is not int-sized");
_Static_assert(sizeof(sgdmc_lower_source) == sizeof(int), "lower_source is not int-sized");
_Static_assert(sizeof(sgdmc_end_state) == sizeof(int), "end_state is not int-sized");
_Static_assert(sizeof(sgdmc_family) == sizeof(int), "family is not int-sized");

#define AT(member) offsetof(sgdmc_result, member)

const sgdmc_field sgdmc_result_fields[] = {
    {"status", SGDMC_FIELD_ENUM, AT(status), sgdmc_status_names, SGDMC_STATUS_PENDING, 1,
     "the final verdict with R* in [min_risk_lo, min_risk]: converged (final_risk <= tol + "
     "(1 + rtol) min_risk_lo), not_converged (final_risk > tol + (1 + rtol) min_risk), "
     "undecided between, or diverged; pending in a study file until the run is done"},
    {"final_risk", SGDMC_FIELD_F64, AT(final_risk), NULL, NAN, 1,
     "risk at the end, including the l2 term: full-data, population (1-D ReLU, uniform input, "
     "polynomial target) or the quadrature's estimate of it"},
    {"risk_exact", SGDMC_FIELD_VERDICT, AT(risk_exact), NULL, -1, 3,
     "1 when final_risk is the problem's own risk to rounding (a data set; a 1-D ReLU network "
     "on uniform inputs with a polynomial target under mse), 0 when it is a quadrature's "
     "estimate of the population risk: then the verdicts and the certificate are about the "
     "quadrature's risk"},
    {"min_risk", SGDMC_FIELD_F64, AT(min_risk), NULL, NAN, 1,
     "R*'s upper bound hi: the risk of a concrete network of the architecture (R* where exact)"},
    {"min_risk_source", SGDMC_FIELD_ENUM, AT(min_risk_source), sgdmc_min_risk_source_names,
     SGDMC_MIN_RISK_UNKNOWN, 1,
     "how min_risk is known: unknown, exact, computed (a proven one-layer minimizing network), "
     "estimated (the best of several minimizations), given, or constructed (an explicit "
     "network of the architecture)"},
    {"min_risk_lo", SGDMC_FIELD_F64, AT(min_risk_lo), NULL, NAN, 2,
     "R*'s proven lower bound lo"},
    {"min_risk_lo_source", SGDMC_FIELD_ENUM, AT(min_risk_lo_source), sgdmc_lower_source_names,
     SGDMC_LOWER_ZERO, 2,
     "how min_risk_lo is proven: zero, closed_form (x^2 over P pieces), grid (the grid "
     "program over P pieces), variance (a constant network), exact or given"},
    {"tol", SGDMC_FIELD_F64, AT(tol), NULL, NAN, 1, "absolute convergence tolerance"},
    {"rtol", SGDMC_FIELD_F64, AT(rtol), NULL, NAN, 1, "relative convergence tolerance"},
    {"risk_gap", SGDMC_FIELD_F64, AT(risk_gap), NULL, NAN, 1, "final_risk - min_risk"},
    {"dist_to_min", SGDMC_FIELD_F64, AT(dist_to_min), NULL, NAN, 1,
     "L2 distance from the network's function to the nearest known minimizer's"},
    {"grad_norm", SGDMC_FIELD_F64, AT(grad_norm), NULL, NAN, 1,
     "Euclidean norm of the exact risk gradient at the end"},
    {"min_grad_norm", SGDMC_FIELD_F64, AT(min_grad_norm), NULL, NAN, 1,
     "smallest exact gradient norm over the checkpoints and the end"},
    {"grad_norm_init", SGDMC_FIELD_F64, AT(grad_norm_init), NULL, NAN, 2,
     "exact gradient norm at step 0, the scale of the stationarity test"},
    {"end_state", SGDMC_FIELD_ENUM, AT(end_state), sgdmc_end_state_names, SGDMC_END_PENDING, 2,
     "where the run ended: converged, certified, stationary (grad_norm <= 1e-2 grad_norm_init, "
     "not converged for sure), descending, oscillating, undecided or diverged"},
    {"risk_drop", SGDMC_FIELD_F64, AT(risk_drop), NULL, NAN, 2,
     "relative fall of the risk over the last three evaluations, (r1 - r3) / r1"},
    {"kinks_final", SGDMC_FIELD_I64, AT(kinks_final), NULL, -1, 2,
     "kinks of a 1-D ReLU network's function inside the domain at the end (-1 otherwise)"},
    {"critical_family", SGDMC_FIELD_ENUM, AT(critical_family), sgdmc_family_names,
     SGDMC_FAMILY_NONE, 2,
     "the family a stationary 1-D ReLU network is recognized in: none, constant or affine"},
    {"gram_min_eig", SGDMC_FIELD_F64, AT(gram_min_eig), NULL, NAN, 1,
     "smallest eigenvalue of the output-Jacobian Gram matrix at the end (0 below its numerical "
     "floor n eps gram_max_eig)"},
    {"gram_max_eig", SGDMC_FIELD_F64, AT(gram_max_eig), NULL, NAN, 1,
     "largest eigenvalue of the output-Jacobian Gram matrix at the end"},
    {"gram_risk", SGDMC_FIELD_F64, AT(gram_risk), NULL, NAN, 1,
     "mse risk on the Gram inputs (no l2 term)"},
    {"gram_grad_norm", SGDMC_FIELD_F64, AT(gram_grad_norm), NULL, NAN, 1,
     "norm of the gradient of gram_risk"},
    {"gram_eig_ratio", SGDMC_FIELD_F64, AT(gram_eig_ratio), NULL, NAN, 2,
     "gram_min_eig / gram_max_eig: the scale-free structural measure (1 best, 0 singular)"},
    {"dead_init_probability", SGDMC_FIELD_F64, AT(dead_init_probability), NULL, NAN, 1,
     "1 - (1 - p)^width: probability of a dead first-layer neuron at initialization"},
    {"dead_init", SGDMC_FIELD_LAYERS, AT(dead_init), NULL, -1, 1,
     "ReLU neurons dead on the input domain at initialization, per hidden layer"},
    {"dead_final", SGDMC_FIELD_LAYERS, AT(dead_final), NULL, -1, 1,
     "ReLU neurons dead on the input domain at the end, per hidden layer"},
    {"dead_permanent_init", SGDMC_FIELD_LAYERS, AT(dead_permanent_init), NULL, -1, 1,
     "permanently dead neurons at initialization, per hidden layer"},
    {"dead_permanent_final", SGDMC_FIELD_LAYERS, AT(dead_permanent_final), NULL, -1, 1,
     "permanently dead neurons at the end, per hidden layer"},
    {"certified_nonconvergent", SGDMC_FIELD_VERDICT, AT(certified_nonconvergent), NULL, -1, 1,
     "proven for ever: no continuation of the run comes within its tolerance of R* "
     "(reachable_lo > tol + (1 + rtol) min_risk): 1, 0, -1 unknown (R* unknown)"},
    {"reachable_lo", SGDMC_FIELD_F64, AT(reachable_lo), NULL, NAN, 2,
     "a proven lower bound of the risk of every network the run can still reach, from its "
     "permanently dead neurons (a diverged run: those frozen since initialization); NaN when "
     "none"},
    {"constant_init", SGDMC_FIELD_VERDICT, AT(constant_init), NULL, -1, 2,
     "the network is constant at initialization: a hidden layer dead on the whole domain, no "
     "skip into it (ReLU; -1 for other activations)"},
    {"constant_final", SGDMC_FIELD_VERDICT, AT(constant_final), NULL, -1, 2,
     "the same at the end (-1 for a diverged run)"},
    {"steps", SGDMC_FIELD_I64, AT(steps), NULL, -1, 1,
     "steps taken (fewer than asked when diverged)"},
    {"seconds", SGDMC_FIELD_F64, AT(seconds), NULL, NAN, 1,
     "wall time of the run; of a run in a lockstep group, its own setup and end plus the "
     "group's training time shared out by steps"},
    {"step", SGDMC_FIELD_TRAJECTORY_I64, AT(trajectory_step), NULL, -1, 1,
     "the log-spaced steps of the trajectory"},
    {"risk", SGDMC_FIELD_TRAJECTORY_F64, AT(trajectory_risk), NULL, NAN, 1,
     "the exact risk at those steps"},
    {"grad_norm", SGDMC_FIELD_TRAJECTORY_F64, AT(trajectory_grad_norm), NULL, NAN, 1,
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

sgdmc_status sgdmc_result_verdict(double final_risk, double lo, double hi, double tol,
                                  double rtol)
{
    const double up = 1.0 + SGDMC_RISK_ROUNDING, down = 1.0 - SGDMC_RISK_ROUNDING;
    if (final_risk * up <= (tol + (1.0 + rtol) * lo) * down)
        return SGDMC_STATUS_CONVERGED;
    if (final_risk * down > (tol + (1.0 + rtol) * hi) * up) /* false for hi NaN */
        return SGDMC_STATUS_NOT_CONVERGED;
    return SGDMC_STATUS_UNDECIDED;
}

int sgdmc_result_certificate(double reachable_lo, double hi, double tol, double rtol)
{
    if (isnan(hi))
        return -1;
    if (isnan(reachable_lo))
        return 0;
    return reachable_lo * (1.0 - SGDMC_RISK_ROUNDING) >
           (tol + (1.0 + rtol) * hi) * (1.0 + SGDMC_RISK_ROUNDING);
}

const sgdmc_field *sgdmc_result_invalid_field(const sgdmc_result *r, int version)
{
    const sgdmc_field *end_state = sgdmc_result_field_find("end_state");
    for (int i = 0; i < sgdmc_result_field_count; i++) {
        const sgdmc_field *f = &sgdmc_result_fields[i];
        if ((f->kind != SGDMC_FIELD_ENUM && f->kind != SGDMC_FIELD_VERDICT) || f->since > version)
            continue;
        const int value = *sgdmc_field_int(f, r);
        int names = 0;
        if (f->kind == SGDMC_FIELD_ENUM)
            while (f->names[names])
                names++;
        if (f->kind == SGDMC_FIELD_VERDICT ? value < -1 || value > 1 : value < 0 || value >= names)
            return f;
    }
    if (r->status == SGDMC_STATUS_PENDING)
        return sgdmc_result_field_find("status");
    return r->end_state == SGDMC_END_PENDING && end_state->since <= version ? end_state : NULL;
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
