/* The best continuous piecewise-linear (CPWL) fits of a function g on [0,1]
 * in L2(U[0,1]) with at most k knots, the knots restricted to a grid: a
 * global search, by dynamic programming, for the starts of the R* solver.
 *
 * With knots t_1 < ... < t_k and values y_i at 0, the knots and 1, the
 * risk int (g - f)^2 is int g^2 plus a sum over the pieces of quadratics in
 * the values at their two ends: a chain. For the knots' positions on the
 * grid and a value y at a knot, the least cost of the rest of [0,1] is the
 * lower envelope of convex parabolas in y, one per way of placing the later
 * knots; a parabola that is nowhere lowest on [y_lo, y_hi] is dropped
 * (the fit's values outside that range are not searched), and so is one
 * whose residual on [x, 1] exceeds a given bound on the risk. The result is
 * the global optimum over knots on the grid (up to that range), and the
 * runner-up knot sets of other basins: a smooth local search polishes them.
 * Cost: for each of max_knots levels and n grid points, the envelope of
 * the m candidates within the bound's reach, O(m log m) by pairwise merging
 * (m parabolas, each two crossing at most twice, have at most 2m - 1
 * pieces). 0.5 s for 32 knots on 384 cells. */
#ifndef SGDMC_CPWL_FIT_H
#define SGDMC_CPWL_FIT_H

#include "sgdmc/base/cancel.h"

typedef struct sgdmc_cpwl_fit sgdmc_cpwl_fit;

/* Runs the DP for up to max_knots knots. grid[0..n-1]: increasing, grid[0]
 * = 0, grid[n-1] = 1, the inner ones the allowed knots. cell_m0[i], cell_m1[i]
 * and cell_m2[i]: int g, int x g and int g^2 over [grid[i], grid[i+1]] (n - 1
 * cells). Fits whose risk exceeds risk_bound are not searched: a part of a
 * fit whose residual on [x, 1] already exceeds it is dropped, which is what
 * keeps the envelopes small (INFINITY: no pruning; slow). NULL when out of
 * memory, the input is malformed, or `cancel` (may be NULL) asked to stop. */
sgdmc_cpwl_fit *sgdmc_cpwl_fit_alloc(const double *grid, int n, const double *cell_m0,
                                     const double *cell_m1, const double *cell_m2,
                                     int max_knots, double y_lo, double y_hi, double risk_bound,
                                     const sgdmc_cancel *cancel);
void sgdmc_cpwl_fit_free(sgdmc_cpwl_fit *fit);

/* The best knot sets with at most `knots` knots (0 <= knots <= max_knots),
 * best first, at most `want` of them, each differing from every better one
 * in its number of knots or by more than `spread` grid cells in some knot.
 * Set j goes to t[j * knots ..], its knot count to count[j], its risk minus
 * int_0^1 g^2 to value[j] (count and value may be NULL). Returns how many
 * were found, -1 when out of memory. */
int sgdmc_cpwl_fit_best(const sgdmc_cpwl_fit *fit, int knots, int want, int spread, double *t,
                        int *count, double *value);

#endif
