/* wavegen safety kernel: the SAFE PNS model (Hebrank & Gebhardt, Proc. ISMRM 8 (2000) 2007) on three
 * axes in one pass.  Reference implementation and contract: wavegen/safety/pns.py (safe_pns_numpy).
 *
 *   g        (n, 3) row-major gradient samples, T/m
 *   dt       raster, s
 *   end_step 1: also evaluate the step from the last sample back to 0 (n_out = n + 1), else n_out = n
 *   params   3 x 8 doubles per axis: alpha1, alpha2, alpha3 (dt / (tau + dt)), a1, a2, a3,
 *            scale (g_scale / stim_limit), unused
 *   per_axis (n_out, 3) row-major output, fraction of the stimulation limit
 *   norm     (n_out,) root-sum-square over the axes
 *
 * Slew s[k] = (g[k] - g[k-1]) / dt with g[-1] = 0.  Each low-pass is
 *   y[k] = alpha * x[k] + beta * y[k-1],  beta = -(alpha - 1),  y[-1] = 0,
 * the same operations in the same order as scipy.signal.lfilter([alpha], [1, alpha - 1]) performs, so
 * the two agree to rounding.  Returns 0. */
#include <math.h>
#include <stdint.h>

int wg_safe_pns3(const double *g, int64_t n, double dt, int end_step, const double *params, double *per_axis,
                 double *norm)
{
    double al[3][3], be[3][3], w[3][3], sc[3], y[3][3], prev[3];
    int64_t n_out = n + (end_step ? 1 : 0);
    for (int j = 0; j < 3; j++) {
        for (int f = 0; f < 3; f++) {
            al[j][f] = params[8 * j + f];
            be[j][f] = -(al[j][f] - 1.0);
            w[j][f] = params[8 * j + 3 + f];
            y[j][f] = 0.0;
        }
        sc[j] = params[8 * j + 6];
        prev[j] = 0.0;
    }
    for (int64_t k = 0; k < n_out; k++) {
        double acc = 0.0;
        for (int j = 0; j < 3; j++) {
            double cur = (k < n) ? g[3 * k + j] : 0.0;
            double s = (cur - prev[j]) / dt;
            prev[j] = cur;
            double as = fabs(s);
            y[j][0] = al[j][0] * s + be[j][0] * y[j][0];
            y[j][1] = al[j][1] * as + be[j][1] * y[j][1];
            y[j][2] = al[j][2] * s + be[j][2] * y[j][2];
            double stim = w[j][0] * fabs(y[j][0]);
            stim += w[j][2] * fabs(y[j][2]);
            stim += w[j][1] * y[j][1];
            stim *= sc[j];
            per_axis[3 * k + j] = stim;
            acc += stim * stim;
        }
        norm[k] = sqrt(acc);
    }
    return 0;
}
