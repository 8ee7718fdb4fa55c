/* Fully connected feed-forward networks with a scalar, linear output.
 *
 * Layer k (1..L+1) has weight W_k of shape [n_k, n_{k-1}] (row-major, like
 * torch.nn.Linear.weight) and bias b_k [n_k]. All parameters live in one flat
 * buffer in the order W1, b1, W2, b2, ..., W_{L+1}, b_{L+1}.
 *
 * Batches are stored feature-major: a layer's values form an [n_k][count]
 * matrix, one column per sample, so that the inner loops run over samples
 * and vectorize without reassociating sums. */
#ifndef SGDMC_NET_H
#define SGDMC_NET_H

#include <stdbool.h>
#include <stddef.h>

#define SGDMC_MAX_DEPTH 32

typedef enum {
    SGDMC_ACT_RELU,
    SGDMC_ACT_TANH,
    SGDMC_ACT_SIGMOID,
    SGDMC_ACT_SOFTPLUS,
    SGDMC_ACT_COUNT
} sgdmc_activation;

extern const char *const sgdmc_activation_names[SGDMC_ACT_COUNT + 1];

typedef struct {
    int depth;                         /* hidden layers L >= 1 */
    int widths[SGDMC_MAX_DEPTH + 2];   /* [0] input dim, [1..L] hidden, [L+1] = 1 */
    sgdmc_activation activation;       /* on hidden layers; output is linear */
    bool skip;                         /* identity skips between equal-width hidden layers */
} sgdmc_arch;

size_t sgdmc_arch_param_count(const sgdmc_arch *arch);
/* Offsets of W_k and b_k in the flat buffer, k = 1..L+1. */
size_t sgdmc_arch_weight_offset(const sgdmc_arch *arch, int layer);
size_t sgdmc_arch_bias_offset(const sgdmc_arch *arch, int layer);
/* True when hidden layer k (2..L) adds the previous hidden layer's output. */
bool sgdmc_arch_skips_into(const sgdmc_arch *arch, int layer);
int sgdmc_arch_max_width(const sgdmc_arch *arch);
int sgdmc_arch_hidden_units(const sgdmc_arch *arch);

/* Buffers for forward and backward passes over up to `capacity` samples. */
typedef struct sgdmc_workspace sgdmc_workspace;

sgdmc_workspace *sgdmc_workspace_alloc(const sgdmc_arch *arch, int capacity);
void sgdmc_workspace_free(sgdmc_workspace *ws);
int sgdmc_workspace_capacity(const sgdmc_workspace *ws);
/* The input matrix [input_dim][count] that the caller fills before forward. */
double *sgdmc_workspace_input(sgdmc_workspace *ws);
/* Pre-activations of layer k (1..L+1) after forward: [n_k][count]. */
const double *sgdmc_workspace_preact(const sgdmc_workspace *ws, int layer);
/* The network outputs after forward: [count]. */
const double *sgdmc_workspace_output(const sgdmc_workspace *ws);

void sgdmc_forward(const sgdmc_arch *arch, const double *params,
                   sgdmc_workspace *ws, int count);
/* The forward pass up to layer `last` (1..L+1): its pre-activations and
 * those below, the same bits as a whole pass's; nothing above. */
void sgdmc_forward_to(const sgdmc_arch *arch, const double *params,
                      sgdmc_workspace *ws, int count, int last);
/* Adds to grad the gradient of sum_b dout[b] * f(x_b); needs the forward
 * pass of the same count just before. */
void sgdmc_backward(const sgdmc_arch *arch, const double *params,
                    sgdmc_workspace *ws, int count, const double *dout,
                    double *grad);

/* Neurons of hidden layer k (2..L) whose incoming weights and bias are all
 * <= 0: behind ReLU layers (inputs >= 0, skips included) their
 * pre-activation is <= 0 for every input, so no gradient ever reaches them. */
int sgdmc_count_nonpositive_incoming(const sgdmc_arch *arch, const double *params, int layer);

/* lambda times the squared Frobenius norm of all weight matrices (biases
 * excluded); adds its gradient to grad unless grad is NULL. */
double sgdmc_weight_penalty(const sgdmc_arch *arch, const double *params, double lambda,
                            double *grad);

#endif
