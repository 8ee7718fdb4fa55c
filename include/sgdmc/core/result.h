/* The result of one training run, and the one table of its fields.
 *
 * Every writer and reader of a run's result loops over sgdmc_result_fields:
 * the JSON report (report.c), the HDF5 datasets of a study (result_h5.c:
 * skeleton, row writes, reopen on --resume, summarize's reader) and the
 * documentation test. Adding a scalar metric is one line in the table (and
 * one member in the struct) plus the code that computes it. */
#ifndef SGDMC_RESULT_H
#define SGDMC_RESULT_H

#include <stddef.h>

#include "sgdmc/core/net.h"

/* The verdict on the run. `pending` is what a study's results file holds
 * for a task not yet done; a finished run is never pending. */
/* The verdict on the network at the last step, with R* in the bracket
 * [min_risk_lo, min_risk]: converged when final_risk <= tol + (1 + rtol) lo
 * (within the tolerance of R* for sure), not_converged when final_risk >
 * tol + (1 + rtol) hi (outside it for sure), undecided in between. `pending`
 * is what a study's results file holds for a task not yet done. New values
 * are appended, so that a file's numbering never changes. */
typedef enum {
    SGDMC_STATUS_PENDING,
    SGDMC_STATUS_CONVERGED,
    SGDMC_STATUS_NOT_CONVERGED,
    SGDMC_STATUS_DIVERGED,
    SGDMC_STATUS_UNDECIDED,
    SGDMC_STATUS_COUNT
} sgdmc_status;

extern const char *const sgdmc_status_names[SGDMC_STATUS_COUNT + 1];

/* How R*'s upper bound (min_risk, the R* of the verdict) is known. */
typedef enum {
    SGDMC_MIN_RISK_UNKNOWN,
    SGDMC_MIN_RISK_EXACT,     /* 0 by construction: constant target, realizable teacher */
    SGDMC_MIN_RISK_COMPUTED,  /* by a deterministic solver with a proven class (rstar.h) */
    SGDMC_MIN_RISK_ESTIMATED, /* the best of a solver's multi-start runs, not proven */
    SGDMC_MIN_RISK_GIVEN,     /* --min_risk */
    SGDMC_MIN_RISK_CONSTRUCTED, /* an explicit network of the architecture (min_risk.h) */
    SGDMC_MIN_RISK_SOURCE_COUNT
} sgdmc_min_risk_source;

extern const char *const sgdmc_min_risk_source_names[SGDMC_MIN_RISK_SOURCE_COUNT + 1];

/* How R*'s lower bound (min_risk_lo) is known: only proofs (lower_bound.h). */
typedef enum {
    SGDMC_LOWER_ZERO,        /* 0: every risk is >= 0 */
    SGDMC_LOWER_CLOSED_FORM, /* x^2: one layer R*(n), deeper 1/(180 P^4) */
    SGDMC_LOWER_GRID,        /* the grid program over P pieces */
    SGDMC_LOWER_VARIANCE,    /* a constant network: Var g(X) */
    SGDMC_LOWER_EXACT,       /* R* itself, known exactly (0 by construction) */
    SGDMC_LOWER_GIVEN,       /* --min_risk, the user's word */
    SGDMC_LOWER_SOURCE_COUNT
} sgdmc_lower_source;

extern const char *const sgdmc_lower_source_names[SGDMC_LOWER_SOURCE_COUNT + 1];

/* Where a run ended (docs/minimum.md, "End states"): the verdict and the
 * certificate first, then, for a run not converged for sure, why: at a
 * stationary point (gradient below SGDMC_STATIONARY_RELATIVE of its initial
 * norm), still descending (the risk fell over the last three evaluations),
 * or oscillating (it did not). Appended values keep the numbering. */
typedef enum {
    SGDMC_END_PENDING,
    SGDMC_END_CONVERGED,
    SGDMC_END_CERTIFIED,
    SGDMC_END_STATIONARY,
    SGDMC_END_DESCENDING,
    SGDMC_END_OSCILLATING,
    SGDMC_END_UNDECIDED,
    SGDMC_END_DIVERGED,
    SGDMC_END_COUNT
} sgdmc_end_state;

extern const char *const sgdmc_end_state_names[SGDMC_END_COUNT + 1];

/* A run is stationary when its exact gradient norm at the end is at most
 * this share of the one at step 0, or below SGDMC_STATIONARY_ZERO (a
 * critical point to rounding, where the run may have started). */
#define SGDMC_STATIONARY_RELATIVE 1e-2
#define SGDMC_STATIONARY_ZERO 1e-12
#define SGDMC_IS_STATIONARY(grad, grad_init)                                               \
    ((grad) <= SGDMC_STATIONARY_RELATIVE * (grad_init) || (grad) <= SGDMC_STATIONARY_ZERO)

/* The critical family a 1-D ReLU network's function is recognized in exactly:
 * none, constant (no slope), affine (no kink inside the domain). */
typedef enum {
    SGDMC_FAMILY_NONE,
    SGDMC_FAMILY_CONSTANT,
    SGDMC_FAMILY_AFFINE,
    SGDMC_FAMILY_COUNT
} sgdmc_family;

extern const char *const sgdmc_family_names[SGDMC_FAMILY_COUNT + 1];

/* The layout of a study's results file: 1 before R* brackets, 2 with them,
 * 3 with risk_exact (the field table's `since` tells which fields a version
 * has). */
#define SGDMC_FORMAT_VERSION 3

/* The meaning of each member is in sgdmc_result_fields (src/core/result.c). */
typedef struct {
    sgdmc_status status;
    double final_risk;
    int risk_exact;                  /* 1, 0, or -1 unknown */
    double min_risk;
    sgdmc_min_risk_source min_risk_source;
    double min_risk_lo;
    sgdmc_lower_source min_risk_lo_source;
    double tol, rtol;
    double risk_gap;
    double dist_to_min;
    double grad_norm;
    double min_grad_norm;
    double grad_norm_init;
    sgdmc_end_state end_state;
    double risk_drop;
    long kinks_final;
    sgdmc_family critical_family;
    double gram_min_eig, gram_max_eig, gram_risk, gram_grad_norm, gram_eig_ratio;
    double dead_init_probability;
    int depth;                       /* hidden layers: the per-layer arrays' length */
    int dead_init[SGDMC_MAX_DEPTH];
    int dead_final[SGDMC_MAX_DEPTH];
    int dead_permanent_init[SGDMC_MAX_DEPTH];
    int dead_permanent_final[SGDMC_MAX_DEPTH];
    int certified_nonconvergent;     /* 1, 0, or -1 unknown */
    double reachable_lo;
    int constant_init, constant_final; /* 1, 0, or -1 unknown */
    long steps;
    double seconds;
    int trajectory_count;
    long *trajectory_step;           /* [trajectory_count] */
    double *trajectory_risk;
    double *trajectory_grad_norm;
} sgdmc_result;

/* Frees the trajectory arrays (and forgets them). */
void sgdmc_result_free(sgdmc_result *result);

/* What a field holds, which decides how every writer spells it. */
typedef enum {
    SGDMC_FIELD_F64,       /* double: JSON number (null when not finite), HDF5 float64 */
    SGDMC_FIELD_I64,       /* long: JSON integer, HDF5 int64 */
    SGDMC_FIELD_VERDICT,   /* int 1/0/-1: JSON true/false/null, HDF5 int8 */
    SGDMC_FIELD_ENUM,      /* an enum: JSON its name, HDF5 a uint8 enum of the names */
    SGDMC_FIELD_LAYERS,    /* int [depth], one per hidden layer: JSON a list (null when
                            * the first is -1), HDF5 int32 [tasks, max depth] */
    SGDMC_FIELD_TRAJECTORY_I64, /* long * [trajectory_count]: JSON "trajectory": {...}, */
    SGDMC_FIELD_TRAJECTORY_F64, /* double * ...             HDF5 /runs/trajectory/NAME [tasks, T] */
} sgdmc_field_kind;

typedef struct {
    const char *name;            /* JSON key and dataset name */
    sgdmc_field_kind kind;
    size_t offset;               /* of the member in sgdmc_result */
    const char *const *names;    /* SGDMC_FIELD_ENUM: value i is names[i] */
    double unknown;              /* the value of a row not done (NaN, -1, pending = 0) */
    int since;                   /* the first SGDMC_FORMAT_VERSION with it */
    const char *meaning;         /* one line, for the docs */
} sgdmc_field;

/* In JSON order; the HDF5 datasets are created in the same order. */
extern const sgdmc_field sgdmc_result_fields[];
extern const int sgdmc_result_field_count;

/* The field called `name`, or NULL. */
const sgdmc_field *sgdmc_result_field_find(const char *name);

/* Typed access to a field's member of `result` (like strchr, a const result
 * gives a writable pointer: one accessor per kind serves readers and writers). */
double *sgdmc_field_f64(const sgdmc_field *field, const sgdmc_result *result);
long *sgdmc_field_i64(const sgdmc_field *field, const sgdmc_result *result);
int *sgdmc_field_int(const sgdmc_field *field, const sgdmc_result *result); /* VERDICT, ENUM, LAYERS */
long **sgdmc_field_trajectory_i64(const sgdmc_field *field, const sgdmc_result *result);
double **sgdmc_field_trajectory_f64(const sgdmc_field *field, const sgdmc_result *result);

/* The relative rounding allowance of the risks a verdict compares: the final
 * risk and hi (each the risk of a network, by floating-point quadrature),
 * lo and reachable_lo (closed forms and programs rounded to nearest). A
 * verdict or certificate is stamped only where it holds with every one of
 * them off by this share in its worst direction. The largest error seen is
 * 8e-15 (the one-layer solver's hi below the closed form R*(8), found by a
 * review in exact arithmetic; x^2's hi has since been the closed form, sin's
 * and the teachers' still the solver's), so the allowance leaves five orders of
 * magnitude; it is a measured margin, not a proven bound for every network
 * (weights of 1e10 that cancel could round further). */
#define SGDMC_RISK_ROUNDING 1e-9

/* The verdict on a final risk with R* in [lo, hi] (hi NaN: unknown):
 * converged when final_risk <= tol + (1 + rtol) lo, not converged when
 * final_risk > tol + (1 + rtol) hi, each beyond SGDMC_RISK_ROUNDING;
 * undecided otherwise. */
sgdmc_status sgdmc_result_verdict(double final_risk, double lo, double hi, double tol,
                                  double rtol);

/* The certificate for ever: 1 when reachable_lo (a proven lower bound of the
 * risk of every network the run can still reach) > tol + (1 + rtol) hi beyond
 * SGDMC_RISK_ROUNDING, so that no continuation comes within its tolerance of
 * R*; 0 when not proven (reachable_lo NaN: nothing frozen); -1 when hi is
 * unknown. */
int sgdmc_result_certificate(double reachable_lo, double hi, double tol, double rtol);

/* The first field of a done run's row, read from a results file of format
 * `version` with at least its status and end state, that holds what no
 * finished run has: an enum value with no name, a verdict other than 1, 0 or
 * -1, or a status or end state still pending (a damaged or edited file).
 * Fields the format does not have are not judged. NULL when none. */
const sgdmc_field *sgdmc_result_invalid_field(const sgdmc_result *done_run, int version);

/* A result holding every field's unknown value (a row not done): no
 * trajectory, `depth` hidden layers of -1. */
void sgdmc_result_unknown(sgdmc_result *result, int depth);

#endif
