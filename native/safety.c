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
 * the two agree to rounding.  Returns 0.
 *
 * wg_safe_pns3_chunk runs the same recursion on one chunk of a stream: the three axes in separate
 * arrays gx, gy, gz (n samples each), and the filter state (y[3][3], then the previous sample of each
 * axis: 12 doubles, all 0 at the start of a stream) read at entry and written back at exit. Running a
 * waveform through it chunk by chunk gives the bits of one wg_safe_pns3 call on the whole waveform
 * (wavegen/safety/stream.py streams a sequence through it in bounded memory). track (8 doubles, kept
 * by the caller across chunks; start with -1 everywhere) holds the largest per-axis stimulation of each
 * axis, the largest norm, its sample index (k0 + k, exact in a double below 2^53) and the per-axis
 * values there. per_axis and norm may be NULL (nothing written) when only the maxima are wanted. */
#include <math.h>
#include <stdint.h>

static double pns_step(const double *cur, double dt, const double al[3][3], const double be[3][3],
                       const double w[3][3], const double sc[3], double y[3][3], double prev[3],
                       double *per_axis)
{
    double acc = 0.0;
    for (int j = 0; j < 3; j++) {
        double s = (cur[j] - prev[j]) / dt;
        prev[j] = cur[j];
        double as = fabs(s);
        y[j][0] = al[j][0] * s + be[j][0] * y[j][0];
        y[j][1] = al[j][1] * as + be[j][1] * y[j][1];
        y[j][2] = al[j][2] * s + be[j][2] * y[j][2];
        double stim = w[j][0] * fabs(y[j][0]);
        stim += w[j][2] * fabs(y[j][2]);
        stim += w[j][1] * y[j][1];
        stim *= sc[j];
        per_axis[j] = stim;
        acc += stim * stim;
    }
    return sqrt(acc);
}

static void pns_params(const double *params, double al[3][3], double be[3][3], double w[3][3], double sc[3])
{
    for (int j = 0; j < 3; j++) {
        for (int f = 0; f < 3; f++) {
            al[j][f] = params[8 * j + f];
            be[j][f] = -(al[j][f] - 1.0);
            w[j][f] = params[8 * j + 3 + f];
        }
        sc[j] = params[8 * j + 6];
    }
}

int wg_safe_pns3(const double *g, int64_t n, double dt, int end_step, const double *params, double *per_axis,
                 double *norm)
{
    double al[3][3], be[3][3], w[3][3], sc[3], y[3][3], prev[3];
    int64_t n_out = n + (end_step ? 1 : 0);
    pns_params(params, al, be, w, sc);
    for (int j = 0; j < 3; j++) {
        prev[j] = 0.0;
        for (int f = 0; f < 3; f++)
            y[j][f] = 0.0;
    }
    for (int64_t k = 0; k < n_out; k++) {
        double cur[3] = {0.0, 0.0, 0.0};
        if (k < n) {
            cur[0] = g[3 * k];
            cur[1] = g[3 * k + 1];
            cur[2] = g[3 * k + 2];
        }
        norm[k] = pns_step(cur, dt, al, be, w, sc, y, prev, per_axis + 3 * k);
    }
    return 0;
}

int wg_safe_pns3_chunk(const double *gx, const double *gy, const double *gz, int64_t n, double dt,
                       const double *params, double *state, int64_t k0, double *track, double *per_axis,
                       double *norm)
{
    double al[3][3], be[3][3], w[3][3], sc[3], y[3][3], prev[3], pa[3];
    pns_params(params, al, be, w, sc);
    for (int j = 0; j < 3; j++) {
        for (int f = 0; f < 3; f++)
            y[j][f] = state[3 * j + f];
        prev[j] = state[9 + j];
    }
    for (int64_t k = 0; k < n; k++) {
        double cur[3] = {gx[k], gy[k], gz[k]};
        double *pk = per_axis ? per_axis + 3 * k : pa;
        double nk = pns_step(cur, dt, al, be, w, sc, y, prev, pk);
        if (norm)
            norm[k] = nk;
        for (int j = 0; j < 3; j++)
            if (pk[j] > track[j])
                track[j] = pk[j];
        if (nk > track[3]) { /* strictly larger: the first sample of the maximum is kept */
            track[3] = nk;
            track[4] = (double)(k0 + k);
            track[5] = pk[0];
            track[6] = pk[1];
            track[7] = pk[2];
        }
    }
    for (int j = 0; j < 3; j++) {
        for (int f = 0; f < 3; f++)
            state[3 * j + f] = y[j][f];
        state[9 + j] = prev[j];
    }
    return 0;
}
