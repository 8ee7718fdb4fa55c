/* One training step of SGDMC_LANES runs at once: net.c's forward and backward
 * passes, loss.h's losses and the L2 penalty written over lane vectors with
 * the same operations in the same order, and the update rules of
 * update_rules.h, the source optim.c compiles for one run. A change to net.c
 * or loss.h must be made here too: tests/test_lanes.c compares every rule bit
 * for bit. */
#include "sgdmc/core/lanes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sgdmc/base/mt_block.h"
#include "sgdmc/core/loss.h"
#include "sgdmc/core/optim.h"

/* Lane vectors pass by value between this file's static functions only, so
 * GCC's note that their ABI differs without AVX concerns no caller elsewhere.
 * Every function that takes or returns one is ALWAYS_INLINE all the same: the
 * pragma does not reach a copy GCC makes of a function it does not inline (a
 * portable build, without -march=native, failed on a clone of pick). */
#pragma GCC diagnostic ignored "-Wpsabi"

typedef double lane_vec __attribute__((vector_size(SGDMC_LANES * sizeof(double))));
typedef long long lane_mask __attribute__((vector_size(SGDMC_LANES * sizeof(long long))));
typedef uint32_t lane_word __attribute__((vector_size(SGDMC_LANES * sizeof(uint32_t))));

#define EACH_LANE(l) for (int l = 0; l < SGDMC_LANES; l++)

static const lane_vec zero_vec = {0};

#define ALWAYS_INLINE __attribute__((always_inline))

bool sgdmc_lanes_pay(const sgdmc_arch *arch)
{
    return sgdmc_arch_max_width(arch) < 32;
}

/* a where mask is set, else b: bit for bit, as a scalar `?:` picks a value */
static inline ALWAYS_INLINE lane_vec pick(lane_mask mask, lane_vec a, lane_vec b)
{
    return (lane_vec)(((lane_mask)a & mask) | ((lane_mask)b & ~mask));
}

/* Per-lane functions: the scalar function on each lane's value (the compiler
 * turns sqrt into one vector instruction; both are IEEE-exact). */
static inline ALWAYS_INLINE lane_vec lanes_sqrt(lane_vec x)
{
    EACH_LANE(l) x[l] = sqrt(x[l]);
    return x;
}

static inline ALWAYS_INLINE lane_vec lanes_fmax(lane_vec x, lane_vec y)
{
    EACH_LANE(l) x[l] = fmax(x[l], y[l]);
    return x;
}

static inline ALWAYS_INLINE lane_vec lanes_fabs(lane_vec x)
{
    EACH_LANE(l) x[l] = fabs(x[l]);
    return x;
}

/* sgdmc_moment_flushed in every lane, written with vector operations (the
 * per-lane loop of the call cost 3% at w1 d1) */
static inline ALWAYS_INLINE lane_vec lanes_moment_flushed(lane_vec x, double below)
{
    return pick(lanes_fabs(x) < zero_vec + below, x * 0.0, x);
}

/* sgdmc_exact_quotient in every lane: its steps as vector operations */
static inline ALWAYS_INLINE lane_vec lanes_exact_quotient(lane_vec a, double b, double b_inverse)
{
#ifdef __FMA__
    const lane_vec q0 = a * b_inverse;
    lane_vec r0, q1, r1, q2;
    EACH_LANE(l) r0[l] = fma(-q0[l], b, a[l]);
    EACH_LANE(l) q1[l] = fma(r0[l], b_inverse, q0[l]);
    EACH_LANE(l) r1[l] = fma(-q1[l], b, a[l]);
    EACH_LANE(l) q2[l] = fma(r1[l], b_inverse, q1[l]);
    const lane_vec size = lanes_fabs(a);
    return pick((size > zero_vec) & (size < zero_vec + INFINITY), q2, q0);
#else
    (void)b_inverse;
    return a / b;
#endif
}

static inline ALWAYS_INLINE lane_vec lanes_sign(lane_vec x)
{
    EACH_LANE(l) x[l] = (double)((x[l] > 0.0) - (x[l] < 0.0));
    return x;
}

struct sgdmc_lanes {
    /* every lane's copy of its run's sample stream, interleaved word by word
     * (sgdmc_mt_refill_interleaved); stream_next: the next word, as in sgdmc_mt_block */
    lane_word stream_state[SGDMC_MT_WORDS], stream_words[SGDMC_MT_WORDS];
    int stream_next;
    sgdmc_arch arch;
    sgdmc_loss loss;
    double l2;
    sgdmc_optimizer_config opt;
    double flush_below; /* sgdmc_moment_floor(&opt) */
    sgdmc_bias_table bias;
    int batch;
    /* the hidden layers' common width when the network has the studies' shape
     * (one input, width x ... x width, one output), else 0: sgdmc_lanes_step
     * has a laid-out copy for some of these widths */
    int studies_width;
    /* 1 / batch when that is exact (a power of two): x / batch and
     * x * (1 / batch) then round the same real number, the same bits, and the
     * product is several times cheaper; 0 otherwise */
    double batch_inverse;
    size_t weight_offset[SGDMC_MAX_DEPTH + 2], bias_offset[SGDMC_MAX_DEPTH + 2];
    size_t n;
    long step;
    double mu_product; /* nadam: the same in every lane, a function of the step */
    lane_vec *params, *grad, *decayed, *m, *v, *v_max; /* [n] each */
    lane_vec *preact[SGDMC_MAX_DEPTH + 2];  /* z_k [n_k][batch] */
    lane_vec *act[SGDMC_MAX_DEPTH + 1];     /* sigma(z_k) */
    lane_vec *hidden[SGDMC_MAX_DEPTH + 1];  /* h_k; [0] the input [d][batch] */
    lane_vec *y, *dout;                     /* [batch] */
    lane_vec *delta_out, *delta_in, *delta_pre; /* [max width][batch] */
    lane_vec *storage;
};

/* sgdmc_lanes's studies_width for arch */
static int studies_width(const sgdmc_arch *arch)
{
    const int width = arch->widths[1];
    if (arch->widths[0] != 1 || arch->widths[arch->depth + 1] != 1)
        return 0;
    for (int k = 2; k <= arch->depth; k++)
        if (arch->widths[k] != width)
            return 0;
    return width;
}

sgdmc_lanes *sgdmc_lanes_alloc(const sgdmc_train_config *config, const sgdmc_arch *arch,
                               int batch)
{
    const size_t align = _Alignof(sgdmc_lanes);
    sgdmc_lanes *g = aligned_alloc(align, (sizeof *g + align - 1) / align * align);
    if (!g)
        return NULL;
    memset(g, 0, sizeof *g);
    g->arch = *arch;
    g->loss = config->loss;
    g->l2 = config->l2;
    g->opt = config->optimizer;
    sgdmc_optimizer_resolve_defaults(&g->opt);
    g->flush_below = sgdmc_moment_floor(&g->opt);
    sgdmc_bias_table_init(&g->bias, &g->opt);
    g->batch = batch;
    g->batch_inverse = (batch & (batch - 1)) == 0 ? 1.0 / batch : 0.0;
    g->studies_width = studies_width(arch);
    for (int k = 1; k <= arch->depth + 1; k++) {
        g->weight_offset[k] = sgdmc_arch_weight_offset(arch, k);
        g->bias_offset[k] = sgdmc_arch_bias_offset(arch, k);
    }
    g->n = sgdmc_arch_param_count(arch);
    const size_t cap = (size_t)batch, max_width = (size_t)sgdmc_arch_max_width(arch);
    size_t vecs = 6 * g->n + (size_t)arch->widths[0] * cap + 2 * cap + 3 * max_width * cap;
    for (int k = 1; k <= arch->depth + 1; k++) {
        vecs += (size_t)arch->widths[k] * cap;
        if (k <= arch->depth)
            vecs += (size_t)arch->widths[k] * cap * (sgdmc_arch_skips_into(arch, k) ? 2 : 1);
    }
    const size_t bytes = vecs * sizeof(lane_vec);
    g->storage = aligned_alloc(sizeof(lane_vec), bytes);
    if (!g->storage) {
        free(g);
        return NULL;
    }
    memset(g->storage, 0, bytes);
    lane_vec *next = g->storage;
    lane_vec **const per_param[] = {&g->params, &g->grad, &g->decayed, &g->m, &g->v, &g->v_max};
    for (size_t i = 0; i < sizeof per_param / sizeof *per_param; i++) {
        *per_param[i] = next;
        next += g->n;
    }
    g->hidden[0] = next;
    next += (size_t)arch->widths[0] * cap;
    for (int k = 1; k <= arch->depth + 1; k++) {
        g->preact[k] = next;
        next += (size_t)arch->widths[k] * cap;
        if (k > arch->depth)
            break;
        g->act[k] = next;
        next += (size_t)arch->widths[k] * cap;
        if (sgdmc_arch_skips_into(arch, k)) {
            g->hidden[k] = next;
            next += (size_t)arch->widths[k] * cap;
        } else {
            g->hidden[k] = g->act[k];
        }
    }
    g->y = next;
    g->dout = next + cap;
    next += 2 * cap;
    g->delta_out = next;
    g->delta_in = next + max_width * cap;
    g->delta_pre = next + 2 * max_width * cap;
    sgdmc_lanes_restart(g);
    return g;
}

void sgdmc_lanes_free(sgdmc_lanes *g)
{
    if (!g)
        return;
    sgdmc_bias_table_free(&g->bias);
    free(g->storage);
    free(g);
}

void sgdmc_lanes_restart(sgdmc_lanes *g)
{
    g->step = 0;
    g->mu_product = 1.0;
    memset(g->m, 0, 3 * g->n * sizeof *g->m); /* m, v, v_max */
}

void sgdmc_lanes_load(sgdmc_lanes *g, int lane, const double *params)
{
    for (size_t i = 0; i < g->n; i++)
        g->params[i][lane] = params[i];
}

void sgdmc_lanes_store(const sgdmc_lanes *g, int lane, double *params)
{
    for (size_t i = 0; i < g->n; i++)
        params[i] = g->params[i][lane];
}

void sgdmc_lanes_set_batch(sgdmc_lanes *g, int lane, const double *x, const double *y)
{
    const size_t inputs = (size_t)g->arch.widths[0] * (size_t)g->batch;
    for (size_t i = 0; i < inputs; i++)
        g->hidden[0][i][lane] = x[i];
    for (int s = 0; s < g->batch; s++)
        g->y[s][lane] = y[s];
}

bool sgdmc_lanes_load_stream(sgdmc_lanes *g, int lane, const sgdmc_mt_block *stream)
{
    if (lane > 0 && stream->next != g->stream_next)
        return false;
    g->stream_next = stream->next;
    for (int k = 0; k < SGDMC_MT_WORDS; k++) {
        g->stream_state[k][lane] = stream->state[k];
        g->stream_words[k][lane] = stream->words[k];
    }
    return true;
}

void sgdmc_lanes_store_stream(const sgdmc_lanes *g, int lane, sgdmc_mt_block *stream)
{
    stream->next = g->stream_next;
    for (int k = 0; k < SGDMC_MT_WORDS; k++) {
        stream->state[k] = g->stream_state[k][lane];
        stream->words[k] = g->stream_words[k][lane];
    }
}

/* sgdmc_mt_block_uniform of one word in every lane: word / 2^32. The word
 * is converted as the signed word - 2^31, then 2^31 is added back, every
 * step exact (a double holds any integer below 2^53): the conversion the
 * compiler emits for unsigned words, in fewer instructions. */
static inline ALWAYS_INLINE lane_vec word_uniform(lane_word word)
{
    typedef int32_t lane_signed __attribute__((vector_size(SGDMC_LANES * sizeof(int32_t))));
    const lane_signed centred = (lane_signed)(word ^ 0x80000000u);
    return (__builtin_convertvector(centred, lane_vec) + 2147483648.0) * (1.0 / 4294967296.0);
}

/* sgdmc_mt_block_uniform in every lane */
static inline ALWAYS_INLINE lane_vec draw_uniform(sgdmc_lanes *g)
{
    if (g->stream_next == SGDMC_MT_WORDS) {
        sgdmc_mt_refill_interleaved((uint32_t *)g->stream_state, (uint32_t *)g->stream_words,
                                    SGDMC_LANES);
        g->stream_next = 0;
    }
    return word_uniform(g->stream_words[g->stream_next++]);
}

void sgdmc_lanes_draw_batch(sgdmc_lanes *g, sgdmc_problem *problem)
{
    const int count = g->batch, d = g->arch.widths[0];
    lane_vec *x = g->hidden[0];
    if (d == 1 && g->stream_next + count <= SGDMC_MT_WORDS) {
        /* the studies' case, one input: a batch of consecutive words, with
         * no refill to look for between them (a batch of 16 divides the
         * 624 words of a refill) */
        const lane_word *words = g->stream_words + g->stream_next;
        for (int s = 0; s < count; s++)
            x[s] = word_uniform(words[s]);
        g->stream_next += count;
    } else {
        for (int s = 0; s < count; s++) /* sgdmc_problem_sample's order */
            for (int i = 0; i < d; i++)
                x[(size_t)i * count + s] = draw_uniform(g);
    }
    /* x [d][count][lane] is x [d][count * lanes], sample s of lane l at s * lanes + l,
     * and y [count][lane] is y [count * lanes]: one call gives every lane's
     * targets, each from its own sample alone */
    sgdmc_problem_targets(problem, (const double *)x, count * SGDMC_LANES, (double *)g->y);
}

/* ---- forward and backward (net.c) ---------------------------------------- */

/* One loop per activation, so that ReLU's, the studies' activation, is a
 * compare and a select per vector with nothing else in the loop. */
static inline ALWAYS_INLINE void activate(sgdmc_activation activation,
                                          const lane_vec *restrict z, lane_vec *restrict a,
                                          size_t n)
{
    switch (activation) {
    case SGDMC_ACT_RELU:
        for (size_t s = 0; s < n; s++)
            a[s] = pick(z[s] > zero_vec, z[s], zero_vec);
        break;
    case SGDMC_ACT_TANH:
        for (size_t s = 0; s < n; s++)
            EACH_LANE(l) a[s][l] = tanh(z[s][l]);
        break;
    case SGDMC_ACT_SIGMOID:
        for (size_t s = 0; s < n; s++)
            EACH_LANE(l) a[s][l] = 1.0 / (1.0 + exp(-z[s][l]));
        break;
    case SGDMC_ACT_SOFTPLUS:
        for (size_t s = 0; s < n; s++)
            EACH_LANE(l) {
                const double v = z[s][l];
                a[s][l] = v > 0.0 ? v + log1p(exp(-v)) : log1p(exp(v));
            }
        break;
    case SGDMC_ACT_COUNT:
        break;
    }
}

static inline ALWAYS_INLINE void activate_backward(sgdmc_activation activation,
                                                   const lane_vec *restrict z,
                                                   const lane_vec *restrict a,
                                                   const lane_vec *restrict dh,
                                                   lane_vec *restrict dz, size_t n)
{
    switch (activation) {
    case SGDMC_ACT_RELU:
        for (size_t s = 0; s < n; s++)
            dz[s] = pick(z[s] > zero_vec, dh[s], zero_vec);
        break;
    case SGDMC_ACT_TANH:
        for (size_t s = 0; s < n; s++)
            dz[s] = dh[s] * (1.0 - a[s] * a[s]);
        break;
    case SGDMC_ACT_SIGMOID:
        for (size_t s = 0; s < n; s++)
            dz[s] = dh[s] * (a[s] * (1.0 - a[s]));
        break;
    case SGDMC_ACT_SOFTPLUS:
        for (size_t s = 0; s < n; s++) {
            lane_vec slope;
            EACH_LANE(l) slope[l] = -expm1(-a[s][l]);
            dz[s] = dh[s] * slope;
        }
        break;
    case SGDMC_ACT_COUNT:
        break;
    }
}

/* The matrix products below keep BLOCK outputs in registers while their
 * sum runs, as net.c's blocked products do, so that BLOCK independent chains
 * of adds hide each add's latency; every output still adds its terms one by
 * one in net.c's order. */
enum { BLOCK = 8 };

/* out[s] = init[s] + coef[0] vec(0, s) + coef[1] vec(1, s) + ..., the terms
 * k = 0..terms-1 added in order, for outputs s < n; coef[k] lies at
 * k * coef_stride, vec(k, s) at k * term_stride + s * out_stride, init[s] at
 * s * init_stride (0: one value for all). out may be init (in place). */
static inline ALWAYS_INLINE void combine(int n, int terms, const lane_vec *init, size_t init_stride,
                    const lane_vec *restrict coef,
                    size_t coef_stride, const lane_vec *restrict vec, size_t term_stride,
                    size_t out_stride, lane_vec *out)
{
    int s = 0;
    for (; s + BLOCK <= n; s += BLOCK) {
        lane_vec acc[BLOCK];
        for (int t = 0; t < BLOCK; t++)
            acc[t] = init[(size_t)(s + t) * init_stride];
        for (int k = 0; k < terms; k++) {
            const lane_vec c = coef[(size_t)k * coef_stride];
            const lane_vec *restrict v = vec + (size_t)k * term_stride + (size_t)s * out_stride;
            for (int t = 0; t < BLOCK; t++)
                acc[t] = acc[t] + c * v[(size_t)t * out_stride];
        }
        for (int t = 0; t < BLOCK; t++)
            out[s + t] = acc[t];
    }
    for (; s < n; s++) {
        lane_vec acc = init[(size_t)s * init_stride];
        for (int k = 0; k < terms; k++)
            acc = acc + coef[(size_t)k * coef_stride] *
                            vec[(size_t)k * term_stride + (size_t)s * out_stride];
        out[s] = acc;
    }
}

/* Layer k of the forward pass, rows x cols: z[j][s] = b[j], then + W[j][i] h[i][s]
 * for i = 0, 1, ...: net.c's order; then the activation unless k is the output. */
static inline ALWAYS_INLINE void forward_layer(sgdmc_lanes *g, int k, int rows, int cols,
                                               int count)
{
    const sgdmc_arch *arch = &g->arch;
    const lane_vec *restrict weight = g->params + g->weight_offset[k];
    const lane_vec *restrict bias = g->params + g->bias_offset[k];
    lane_vec *restrict z = g->preact[k];
    for (int j = 0; j < rows; j++)
        combine(count, cols, &bias[j], 0, weight + (size_t)j * cols, 1, g->hidden[k - 1],
                (size_t)count, 1, z + (size_t)j * count);
    if (k > arch->depth)
        return;
    const size_t n = (size_t)rows * (size_t)count;
    activate(arch->activation, z, g->act[k], n);
    if (sgdmc_arch_skips_into(arch, k)) {
        lane_vec *restrict h = g->hidden[k];
        const lane_vec *restrict a = g->act[k], *restrict prev = g->hidden[k - 1];
        for (size_t s = 0; s < n; s++)
            h[s] = a[s] + prev[s];
    }
}

/* width: 0 for any shape, else the hidden layers' common width for the
 * studies' shape (one input, width x ... x width, one output), a constant
 * at each call so that every product's loops are laid out for it */
static inline ALWAYS_INLINE void forward(sgdmc_lanes *g, const int count, const int width)
{
    const sgdmc_arch *arch = &g->arch;
    const int depth = arch->depth;
    if (width == 0) {
        for (int k = 1; k <= depth + 1; k++)
            forward_layer(g, k, arch->widths[k], arch->widths[k - 1], count);
        return;
    }
    forward_layer(g, 1, width, 1, count);
    for (int k = 2; k <= depth; k++)
        forward_layer(g, k, width, width, count);
    forward_layer(g, depth + 1, 1, width, count);
}

/* Layer k of net.c's sgdmc_backward, rows x cols, sums in its orders, from
 * dz = dL/dz_k; returns dL/dz_{k-1} (none below layer 1). Every sum starts
 * from +0, as sgdmc_trainer_step's zeroed gradient (0 + x is x except that
 * -0 becomes +0), here from a constant rather than from memory zeroed each
 * step: every parameter's gradient is written, so nothing needs zeroing (at
 * width 1 the memset calls were 3 % of a study). */
static inline ALWAYS_INLINE const lane_vec *backward_layer(sgdmc_lanes *g, int k, int rows,
                                                           int cols, int count,
                                                           const lane_vec *dz)
{
    const sgdmc_arch *arch = &g->arch;
    const lane_vec *restrict weight = g->params + g->weight_offset[k];
    lane_vec *restrict gw = g->grad + g->weight_offset[k];
    lane_vec *restrict gb = g->grad + g->bias_offset[k];
    const lane_vec *restrict h = g->hidden[k - 1];
    /* dW[j][i] = 0 + dz[j][s] h[i][s] for s = 0, 1, ...: terms over s, outputs over i */
    for (int j = 0; j < rows; j++)
        combine(cols, count, &zero_vec, 0, dz + (size_t)j * count, 1, h, 1, (size_t)count,
                gw + (size_t)j * cols);
    /* db[j] = 0 + (0 + dz[j][0] + dz[j][1] + ...): net.c's sum() */
    int j = 0;
    for (; j + BLOCK <= rows; j += BLOCK) {
        lane_vec total[BLOCK];
        for (int t = 0; t < BLOCK; t++)
            total[t] = zero_vec;
        for (int s = 0; s < count; s++)
            for (int t = 0; t < BLOCK; t++)
                total[t] = total[t] + dz[(size_t)(j + t) * count + s];
        for (int t = 0; t < BLOCK; t++)
            gb[j + t] = zero_vec + total[t];
    }
    for (; j < rows; j++) {
        lane_vec total = zero_vec;
        for (int s = 0; s < count; s++)
            total = total + dz[(size_t)j * count + s];
        gb[j] = zero_vec + total;
    }
    if (k == 1)
        return NULL;
    /* dL/dh_{k-1}[i][s] = (dL/dh_k[i][s] through a skip, else 0) + W[j][i] dz[j][s]
     * for j = 0, 1, ... */
    lane_vec *restrict dh = g->delta_in;
    const size_t cells = (size_t)cols * (size_t)count;
    const bool skip = sgdmc_arch_skips_into(arch, k);
    for (int i = 0; i < cols; i++)
        combine(count, rows, skip ? g->delta_out + (size_t)i * count : &zero_vec, skip ? 1 : 0,
                weight + i, (size_t)cols, dz, (size_t)count, 1, dh + (size_t)i * count);
    activate_backward(arch->activation, g->preact[k - 1], g->act[k - 1], dh, g->delta_pre,
                      cells);
    lane_vec *swap = g->delta_out;
    g->delta_out = g->delta_in;
    g->delta_in = swap;
    return g->delta_pre;
}

/* Gradients into g->grad, from dout = dL/df per sample; width as forward's */
static inline ALWAYS_INLINE void backward(sgdmc_lanes *g, const int count, const int width)
{
    const sgdmc_arch *arch = &g->arch;
    const int depth = arch->depth;
    const lane_vec *dz = g->dout;
    if (width == 0) {
        for (int k = depth + 1; k >= 1; k--)
            dz = backward_layer(g, k, arch->widths[k], arch->widths[k - 1], count, dz);
        return;
    }
    dz = backward_layer(g, depth + 1, 1, width, count, dz);
    for (int k = depth; k >= 2; k--)
        dz = backward_layer(g, k, width, width, count, dz);
    backward_layer(g, 1, width, 1, count, dz);
}

/* net.c's sgdmc_weight_penalty: lambda times the squared weights, and its gradient */
static inline ALWAYS_INLINE lane_vec weight_penalty(sgdmc_lanes *g)
{
    const double lambda = g->l2;
    if (lambda == 0.0)
        return zero_vec;
    lane_vec sum = zero_vec;
    for (int k = 1; k <= g->arch.depth + 1; k++) {
        const size_t offset = g->weight_offset[k];
        const size_t count = (size_t)g->arch.widths[k] * (size_t)g->arch.widths[k - 1];
        for (size_t i = offset; i < offset + count; i++) {
            sum = sum + g->params[i] * g->params[i];
            g->grad[i] = g->grad[i] + 2.0 * lambda * g->params[i];
        }
    }
    return lambda * sum;
}

/* ---- the update rules (update_rules.h, over lanes) ------------------------- */

static inline ALWAYS_INLINE lane_vec lanes_scale(double lr, double clip, bool normalize,
                                                 lane_vec norm)
{
    EACH_LANE(l) norm[l] = normalize ? lr / norm[l] : lr * fmin(1.0, clip / norm[l]);
    return norm;
}

/* sgdmc_norm_from_squares per lane: the square roots, and where a lane's sum
 * left the normal range (almost never), that lane's rescaled sum */
static inline ALWAYS_INLINE lane_vec lanes_norm(lane_vec squares, const lane_vec *d, size_t n)
{
    lane_vec norm = lanes_sqrt(squares);
    EACH_LANE(l) if (!sgdmc_squares_normal(squares[l]))
        norm[l] = sgdmc_norm_from_squares(squares[l], (const double *)d + l, n, SGDMC_LANES);
    return norm;
}

/* the lanes whose scale is infinite and norm positive (update_rules.h) */
static inline ALWAYS_INLINE lane_mask lanes_past(lane_vec scale, lane_vec norm)
{
    return (lanes_fabs(scale) == (lane_vec){0} + INFINITY) & (norm > zero_vec);
}

static inline ALWAYS_INLINE bool lanes_any_past(lane_vec scale, lane_vec norm)
{
    const lane_mask past = lanes_past(scale, norm);
    bool any = false;
    EACH_LANE(l) any |= past[l] != 0;
    return any;
}

#define UR_T lane_vec
#define UR_NAME(name) lanes_##name
#define UR_ZERO zero_vec
#define UR_SQRT(x) lanes_sqrt(x)
#define UR_NORM(squares, d, n) lanes_norm(squares, d, n)
#define UR_FMAX(x, y) lanes_fmax(x, y)
#define UR_FABS(x) lanes_fabs(x)
#define UR_SIGN(x) lanes_sign(x)
#define UR_SCALE(lr, clip, normalize, norm) lanes_scale(lr, clip, normalize, norm)
#define UR_MOVE(x, step, norm) pick((norm) != zero_vec, (x) - (step), (x))
#define UR_ANY_PAST(scale, norm) lanes_any_past(scale, norm)
#define UR_PAST_PICK(scale, norm, a, b) pick(lanes_past(scale, norm), a, b)
#define UR_FLUSH(x, below) lanes_moment_flushed(x, below)
#define UR_QUOTIENT(a, b, b_inverse) lanes_exact_quotient(a, b, b_inverse)
#include "update_rules.h"

static void update(sgdmc_lanes *g, double lr)
{
    g->step++;
    lanes_apply_rule(&g->opt, g->flush_below, &g->bias, g->step, &g->mu_product, g->n, g->params,
                     g->grad, g->decayed, g->m, g->v, g->v_max, lr);
}

/* x / batch, per lane: a product with the exact inverse of a power-of-two
 * batch (inverse, else 0), which is the same quotient */
static inline ALWAYS_INLINE lane_vec per_sample(double inverse, double batch, lane_vec x)
{
    return inverse != 0.0 ? x * inverse : x / batch;
}

/* sgdmc_lanes_step for batches of `count` samples, `width` as forward's:
 * inlined with the studies' batch size and each laid-out width as constants,
 * so that the compiler lays out the loops over samples and units for them,
 * and once for any size and shape */
static inline ALWAYS_INLINE void step_batch(sgdmc_lanes *g, double lr,
                                            double loss[SGDMC_LANES], const int count,
                                            const int width)
{
    forward(g, count, width);
    const lane_vec *restrict f = g->preact[g->arch.depth + 1];
    const lane_vec *restrict y = g->y;
    lane_vec *restrict dout = g->dout;
    /* read once: stores to dout could otherwise be g's fields, reloaded every sample */
    const double inverse = g->batch_inverse, batch = (double)g->batch;
    lane_vec total = zero_vec;
    if (g->loss == SGDMC_LOSS_MSE) { /* loss.h, written out over lanes */
        for (int s = 0; s < count; s++) {
            const lane_vec r = f[s] - y[s];
            total = total + r * r;
            dout[s] = per_sample(inverse, batch, 2.0 * r);
        }
    } else {
        for (int s = 0; s < count; s++)
            EACH_LANE(l) {
                double slope;
                total[l] = total[l] + sgdmc_loss_point(g->loss, f[s][l], y[s][l], &slope);
                dout[s][l] = slope / count;
            }
    }
    total = per_sample(inverse, batch, total);
    backward(g, count, width);
    total = total + weight_penalty(g);
    update(g, lr);
    EACH_LANE(l) loss[l] = total[l];
}

enum { STUDY_BATCH = 16 }; /* every paper job's batch_size */

void sgdmc_lanes_step(sgdmc_lanes *g, double lr, double loss[SGDMC_LANES])
{
    if (g->batch != STUDY_BATCH) {
        step_batch(g, lr, loss, g->batch, 0);
        return;
    }
    switch (g->studies_width) { /* the widths of paper 001's lanes cells */
    case 1:
        step_batch(g, lr, loss, STUDY_BATCH, 1);
        break;
    case 2:
        step_batch(g, lr, loss, STUDY_BATCH, 2);
        break;
    case 4:
        step_batch(g, lr, loss, STUDY_BATCH, 4);
        break;
    case 8:
        step_batch(g, lr, loss, STUDY_BATCH, 8);
        break;
    case 16:
        step_batch(g, lr, loss, STUDY_BATCH, 16);
        break;
    default:
        step_batch(g, lr, loss, STUDY_BATCH, 0);
    }
}
