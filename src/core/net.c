/* Forward and backward passes of fully connected networks, paired per layer. */
#include "sgdmc/core/net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const sgdmc_activation_names[SGDMC_ACT_COUNT + 1] = {
    "relu", "tanh", "sigmoid", "softplus", NULL};

size_t sgdmc_arch_weight_offset(const sgdmc_arch *arch, int layer)
{
    size_t offset = 0;
    for (int k = 1; k < layer; k++)
        offset += (size_t)arch->widths[k] * (size_t)(arch->widths[k - 1] + 1);
    return offset;
}

size_t sgdmc_arch_bias_offset(const sgdmc_arch *arch, int layer)
{
    return sgdmc_arch_weight_offset(arch, layer) +
           (size_t)arch->widths[layer] * (size_t)arch->widths[layer - 1];
}

size_t sgdmc_arch_param_count(const sgdmc_arch *arch)
{
    return sgdmc_arch_weight_offset(arch, arch->depth + 2);
}

bool sgdmc_arch_skips_into(const sgdmc_arch *arch, int layer)
{
    return arch->skip && layer >= 2 && layer <= arch->depth &&
           arch->widths[layer] == arch->widths[layer - 1];
}

int sgdmc_arch_max_width(const sgdmc_arch *arch)
{
    int max = 1;
    for (int k = 0; k <= arch->depth + 1; k++)
        if (arch->widths[k] > max)
            max = arch->widths[k];
    return max;
}

int sgdmc_arch_hidden_units(const sgdmc_arch *arch)
{
    int units = 0;
    for (int k = 1; k <= arch->depth; k++)
        units += arch->widths[k];
    return units;
}

/* C[M][N] += A[M][K] B[K][N], A read with strides (am, ak) so that it can be
 * a transpose, B and C row-major with leading dimensions ldb and ldc.
 * Blocks of MR x NR outputs stay in registers while k runs, so each loaded
 * row piece of B feeds MR multiply-adds.
 *
 * Every output is b-or-C's start value plus its K products added in the order
 * k = 0, 1, ..., K - 1, one rounding per multiply and per add, whatever the
 * block shape: the blocking below only decides how many outputs run side by
 * side, so it may follow the target's register count without changing a bit
 * (the portable-build test holds this). */
#if defined(__AVX512F__)
enum { MR = 8 }; /* 32 vector registers: 8 accumulators of 8 doubles */
#else
enum { MR = 4 };
#endif
enum { NR = 8 };

/* One row piece of NR doubles: a GCC vector the compiler maps onto whatever
 * SIMD registers the target has (AVX-512: one or two, AVX2: two or four). */
typedef double row_piece __attribute__((vector_size(NR * sizeof(double))));

struct sgdmc_workspace {
    int capacity;
    double *preact[SGDMC_MAX_DEPTH + 2];  /* z_k [n_k][count], k = 1..L+1 */
    double *act[SGDMC_MAX_DEPTH + 1];     /* sigma(z_k), k = 1..L */
    double *hidden[SGDMC_MAX_DEPTH + 1];  /* layer output h_k; [0] is the input */
    double *delta_out;                    /* dL/dh_k of the layer being unwound */
    double *delta_in;                     /* dL/dh_{k-1} being formed */
    double *delta_pre;                    /* dL/dz_k */
    double *transposed;                   /* h_{k-1} sample-major [count][n_{k-1}] */
    double *panel;                        /* gemm's last columns, padded: [longest sum][NR] */
    double *output;                       /* z_{L+1} [1][count] */
    double storage[];
};

sgdmc_workspace *sgdmc_workspace_alloc(const sgdmc_arch *arch, int capacity)
{
    size_t cap = (size_t)capacity;
    size_t max_width = (size_t)sgdmc_arch_max_width(arch);
    /* gemm's sums run over a layer's inputs, its outputs or the samples */
    const size_t longest_sum = max_width > cap ? max_width : cap;
    size_t doubles = (size_t)arch->widths[0] * cap + 4 * max_width * cap + longest_sum * NR;
    for (int k = 1; k <= arch->depth + 1; k++) {
        doubles += (size_t)arch->widths[k] * cap;              /* z */
        if (k <= arch->depth)
            doubles += (size_t)arch->widths[k] * cap *
                       (sgdmc_arch_skips_into(arch, k) ? 2 : 1); /* a, h */
    }
    sgdmc_workspace *ws = calloc(1, sizeof *ws + doubles * sizeof(double));
    if (!ws)
        return NULL;
    ws->capacity = capacity;
    double *next = ws->storage;
    ws->hidden[0] = next;
    next += (size_t)arch->widths[0] * cap;
    for (int k = 1; k <= arch->depth + 1; k++) {
        ws->preact[k] = next;
        next += (size_t)arch->widths[k] * cap;
        if (k > arch->depth)
            break;
        ws->act[k] = next;
        next += (size_t)arch->widths[k] * cap;
        if (sgdmc_arch_skips_into(arch, k)) {
            ws->hidden[k] = next;
            next += (size_t)arch->widths[k] * cap;
        } else {
            ws->hidden[k] = ws->act[k];
        }
    }
    ws->output = ws->preact[arch->depth + 1];
    ws->delta_out = next;
    ws->delta_in = next + max_width * cap;
    ws->delta_pre = next + 2 * max_width * cap;
    ws->transposed = next + 3 * max_width * cap;
    ws->panel = next + 4 * max_width * cap;
    return ws;
}

void sgdmc_workspace_free(sgdmc_workspace *ws) { free(ws); }

int sgdmc_workspace_capacity(const sgdmc_workspace *ws) { return ws->capacity; }

double *sgdmc_workspace_input(sgdmc_workspace *ws) { return ws->hidden[0]; }

const double *sgdmc_workspace_preact(const sgdmc_workspace *ws, int layer)
{
    return ws->preact[layer];
}

const double *sgdmc_workspace_output(const sgdmc_workspace *ws)
{
    return ws->output;
}

/* rows x NR outputs of C += A B, summed in registers over the whole of k,
 * from row pieces of B at P with leading dimension ldp; only the first
 * `width` doubles of each row piece of C are read and written back. P may
 * be a panel [K][NR] of B's last columns, zero beyond `width`: the
 * padding's columns only ever hold products with zero. Inlined with rows MR
 * and width NR (gemm's blocks), rows 1, and rows MR with the panel. */
static inline __attribute__((always_inline)) void
gemm_panel_rows(const int rows, int width, int K, const double *restrict A, ptrdiff_t am,
                ptrdiff_t ak, const double *restrict P, int ldp, double *restrict C, int ldc)
{
    row_piece acc[MR];
    for (int r = 0; r < rows; r++) {
        acc[r] = (row_piece){0};
        memcpy(&acc[r], C + (size_t)r * ldc, (size_t)width * sizeof(double));
    }
    for (int k = 0; k < K; k++) {
        row_piece b;
        memcpy(&b, P + (size_t)k * ldp, sizeof b);
        for (int r = 0; r < rows; r++)
            acc[r] += A[r * am + k * ak] * b;
    }
    for (int r = 0; r < rows; r++)
        memcpy(C + (size_t)r * ldc, &acc[r], (size_t)width * sizeof(double));
}

/* The outputs outside gemm's MR x NR blocks: the row pieces of fewer than
 * MR last rows, one row at a time; then the fewer than NR last columns,
 * copied once into `panel` [K][NR] padded with zeros, so that their sums in
 * blocks of MR rows too run on whole row pieces in registers. (Added to C
 * in memory at every k, each add waited on the store of the last: about a
 * fifth of a deep R* estimate's time, whose risk evaluations have a few
 * dozen points.) */
static void gemm(int M, int N, int K, const double *A, ptrdiff_t am, ptrdiff_t ak,
                 const double *B, int ldb, double *C, int ldc, double *restrict panel)
{
    const int M_full = M - M % MR, N_full = N - N % NR;
    for (int m = 0; m < M_full; m += MR)
        for (int n = 0; n < N_full; n += NR)
            gemm_panel_rows(MR, NR, K, A + m * am, am, ak, B + n, ldb, C + (size_t)m * ldc + n,
                            ldc);
    for (int r = M_full; r < M; r++)
        for (int n = 0; n < N_full; n += NR)
            gemm_panel_rows(1, NR, K, A + r * am, am, ak, B + n, ldb, C + (size_t)r * ldc + n,
                            ldc);
    if (N_full == N)
        return;
    const int width = N - N_full;
    int m = 0;
    if (M >= MR) {
        for (int k = 0; k < K; k++)
            for (int t = 0; t < NR; t++)
                panel[(size_t)k * NR + t] = t < width ? B[(size_t)k * ldb + N_full + t] : 0.0;
        for (; m + MR <= M; m += MR)
            gemm_panel_rows(MR, width, K, A + m * am, am, ak, panel, NR,
                            C + (size_t)m * ldc + N_full, ldc);
    }
    /* fewer than MR rows left (the small products of a single sample or a
     * last layer): each output's sum in a scalar register, no panel to copy */
    for (; m < M; m++)
        for (int t = N_full; t < N; t++) {
            double acc = C[(size_t)m * ldc + t];
            for (int k = 0; k < K; k++)
                acc += A[m * am + k * ak] * B[(size_t)k * ldb + t];
            C[(size_t)m * ldc + t] = acc;
        }
}

/* z[j][s] = b[j] + sum_i W[j][i] h[i][s] */
static void affine_forward(const double *restrict weight, const double *restrict bias,
                           int rows, int cols, const double *restrict in,
                           double *restrict out, int count, double *restrict panel)
{
    for (int j = 0; j < rows; j++)
        for (int s = 0; s < count; s++)
            out[(size_t)j * count + s] = bias[j];
    gemm(rows, count, cols, weight, cols, 1, in, count, out, count, panel);
}

static void activate(sgdmc_activation activation, const double *restrict z,
                     double *restrict a, size_t n)
{
    switch (activation) {
    case SGDMC_ACT_RELU:
        for (size_t s = 0; s < n; s++)
            a[s] = z[s] > 0.0 ? z[s] : 0.0;
        break;
    case SGDMC_ACT_TANH:
        for (size_t s = 0; s < n; s++)
            a[s] = tanh(z[s]);
        break;
    case SGDMC_ACT_SIGMOID:
        for (size_t s = 0; s < n; s++)
            a[s] = 1.0 / (1.0 + exp(-z[s]));
        break;
    case SGDMC_ACT_SOFTPLUS:
        for (size_t s = 0; s < n; s++)
            a[s] = z[s] > 0.0 ? z[s] + log1p(exp(-z[s])) : log1p(exp(z[s]));
        break;
    case SGDMC_ACT_COUNT:
        break;
    }
}

/* dz = dh * sigma'(z), with sigma' expressed through a = sigma(z) where cheaper. */
static void activate_backward(sgdmc_activation activation, const double *restrict z,
                              const double *restrict a, const double *restrict dh,
                              double *restrict dz, size_t n)
{
    switch (activation) {
    case SGDMC_ACT_RELU: /* ReLU'(0) = 0, as in PyTorch */
        for (size_t s = 0; s < n; s++)
            dz[s] = z[s] > 0.0 ? dh[s] : 0.0;
        break;
    case SGDMC_ACT_TANH:
        for (size_t s = 0; s < n; s++)
            dz[s] = dh[s] * (1.0 - a[s] * a[s]);
        break;
    case SGDMC_ACT_SIGMOID:
        for (size_t s = 0; s < n; s++)
            dz[s] = dh[s] * (a[s] * (1.0 - a[s]));
        break;
    case SGDMC_ACT_SOFTPLUS: /* softplus' = sigmoid(z) = 1 - exp(-softplus(z)) */
        for (size_t s = 0; s < n; s++)
            dz[s] = dh[s] * -expm1(-a[s]);
        break;
    case SGDMC_ACT_COUNT:
        break;
    }
}

void sgdmc_forward(const sgdmc_arch *arch, const double *params,
                   sgdmc_workspace *ws, int count)
{
    sgdmc_forward_to(arch, params, ws, count, arch->depth + 1);
}

void sgdmc_forward_to(const sgdmc_arch *arch, const double *params,
                      sgdmc_workspace *ws, int count, int last)
{
    const int L = arch->depth;
    for (int k = 1; k <= last; k++) {
        const int rows = arch->widths[k], cols = arch->widths[k - 1];
        affine_forward(params + sgdmc_arch_weight_offset(arch, k),
                       params + sgdmc_arch_bias_offset(arch, k), rows, cols,
                       ws->hidden[k - 1], ws->preact[k], count, ws->panel);
        if (k > L)
            break;
        const size_t n = (size_t)rows * (size_t)count;
        activate(arch->activation, ws->preact[k], ws->act[k], n);
        if (sgdmc_arch_skips_into(arch, k)) {
            double *restrict h = ws->hidden[k];
            const double *restrict a = ws->act[k], *restrict prev = ws->hidden[k - 1];
            for (size_t s = 0; s < n; s++)
                h[s] = a[s] + prev[s];
        }
    }
}

/* Left to right: the order is part of the result (no reassociation, so that
 * every build and every lane of the lockstep kernel sums alike). */
static double sum(const double *restrict x, int n)
{
    double total = 0.0;
    for (int s = 0; s < n; s++)
        total += x[s];
    return total;
}

void sgdmc_backward(const sgdmc_arch *arch, const double *params,
                    sgdmc_workspace *ws, int count, const double *dout,
                    double *grad)
{
    const int L = arch->depth;
    const double *dz = dout;
    for (int k = L + 1; k >= 1; k--) {
        const int rows = arch->widths[k], cols = arch->widths[k - 1];
        const double *restrict weight = params + sgdmc_arch_weight_offset(arch, k);
        double *restrict gw = grad + sgdmc_arch_weight_offset(arch, k);
        double *restrict gb = grad + sgdmc_arch_bias_offset(arch, k);
        const double *restrict h = ws->hidden[k - 1];
        /* dL/dW_k = dz_k h_{k-1}^T, through h_{k-1} laid out sample-major */
        double *restrict ht = ws->transposed;
        for (int i = 0; i < cols; i++)
            for (int s = 0; s < count; s++)
                ht[(size_t)s * cols + i] = h[(size_t)i * count + s];
        gemm(rows, cols, count, dz, count, 1, ht, cols, gw, cols, ws->panel);
        for (int j = 0; j < rows; j++)
            gb[j] += sum(dz + (size_t)j * count, count);
        if (k == 1)
            break;
        /* dL/dh_{k-1} = W_k^T dz_k, plus dL/dh_k through the identity skip */
        double *restrict dh = ws->delta_in;
        if (sgdmc_arch_skips_into(arch, k))
            memcpy(dh, ws->delta_out, sizeof(double) * (size_t)cols * (size_t)count);
        else
            memset(dh, 0, sizeof(double) * (size_t)cols * (size_t)count);
        gemm(cols, count, rows, weight, 1, cols, dz, count, dh, count, ws->panel);
        activate_backward(arch->activation, ws->preact[k - 1], ws->act[k - 1], dh,
                          ws->delta_pre, (size_t)cols * (size_t)count);
        /* the dh just formed becomes the layer output's delta for the next skip */
        double *swap = ws->delta_out;
        ws->delta_out = ws->delta_in;
        ws->delta_in = swap;
        dz = ws->delta_pre;
    }
}

int sgdmc_count_nonpositive_incoming(const sgdmc_arch *arch, const double *params, int layer)
{
    const int rows = arch->widths[layer], cols = arch->widths[layer - 1];
    const double *weight = params + sgdmc_arch_weight_offset(arch, layer);
    const double *bias = params + sgdmc_arch_bias_offset(arch, layer);
    int count = 0;
    for (int j = 0; j < rows; j++) {
        bool nonpositive = bias[j] <= 0.0;
        for (int i = 0; i < cols && nonpositive; i++)
            nonpositive = weight[(size_t)j * cols + i] <= 0.0;
        count += nonpositive;
    }
    return count;
}

double sgdmc_weight_penalty(const sgdmc_arch *arch, const double *params, double lambda,
                            double *grad)
{
    if (lambda == 0.0)
        return 0.0;
    double sum = 0.0;
    for (int k = 1; k <= arch->depth + 1; k++) {
        const size_t offset = sgdmc_arch_weight_offset(arch, k);
        const size_t count = (size_t)arch->widths[k] * (size_t)arch->widths[k - 1];
        for (size_t i = offset; i < offset + count; i++) {
            sum += params[i] * params[i];
            if (grad)
                grad[i] += 2.0 * lambda * params[i];
        }
    }
    return lambda * sum;
}
