/* Forward/backward speed-profile passes of the time-optimal gradient design
 * (Lustig, Kim, Pauly, IEEE TMI 2008;27(6):866-873), conservative closed-form steps.
 * Reference implementation: wavegen/design/mintime.py:speed_profile_reference (same arithmetic).
 * u = v^2 (squared path speed), h = segment lengths, u_end < 0 means a free end. */
#include <math.h>
#include <stdint.h>

static double step_euclid(double u, double h, double kap, double acc)
{
    double alpha = 1.0 / (4.0 * h * h);
    double k2 = kap * kap;
    double disc = acc * acc * (alpha + k2) - alpha * k2 * u * u;
    if (disc < 0.0)
        return u;
    return (alpha * u + sqrt(disc)) / (alpha + k2);
}

static double clamp_lo0(double x) { return x > 0.0 ? x : 0.0; }

void wg_mintime_euclid(int64_t n, const double *h, const double *kappa_seg, const double *umax,
                       double u_start, double u_end, double acc, double *fwd, double *out)
{
    int64_t j;
    fwd[0] = u_start < umax[0] ? u_start : umax[0];
    for (j = 0; j < n - 1; j++) {
        double x = step_euclid(fwd[j], h[j], kappa_seg[j], acc);
        x = umax[j + 1] < x ? umax[j + 1] : x;
        fwd[j + 1] = clamp_lo0(x);
    }
    out[n - 1] = (u_end < 0.0 || fwd[n - 1] < u_end) ? fwd[n - 1] : u_end;
    for (j = n - 2; j >= 0; j--) {
        double y = step_euclid(out[j + 1], h[j], kappa_seg[j], acc);
        y = umax[j] < y ? umax[j] : y;
        y = clamp_lo0(y);
        out[j] = fwd[j] < y ? fwd[j] : y;
    }
}

static double step_axes(double u, double h, int n_axes, const double *cs, const double *css,
                        const double *acc, int forward)
{
    double hi = INFINITY;
    double inv = 1.0 / (2.0 * h);
    int g, i, p;
    for (g = 0; g < 2; g++) {
        for (i = 0; i < n_axes; i++) {
            double c = cs[g * n_axes + i] * inv;
            double q = css[g * n_axes + i];
            double a_lim = acc[i];
            double al[2], be[2];
            if (forward) {
                al[0] = c;
                be[0] = (q - c) * u;
                al[1] = q + c;
                be[1] = -c * u;
            } else {
                al[0] = -c;
                be[0] = (q + c) * u;
                al[1] = q - c;
                be[1] = c * u;
            }
            for (p = 0; p < 2; p++) {
                double b;
                if (al[p] > 0.0) {
                    b = (a_lim - be[p]) / al[p];
                    hi = b < hi ? b : hi;
                } else if (al[p] < 0.0) {
                    b = (-a_lim - be[p]) / al[p];
                    hi = b < hi ? b : hi;
                }
            }
        }
    }
    return hi;
}

void wg_mintime_axes(int64_t n, int n_axes, const double *h, const double *tangent, const double *normal,
                     const double *umax, double u_start, double u_end, const double *acc, double *fwd,
                     double *out)
{
    int64_t j;
    fwd[0] = u_start < umax[0] ? u_start : umax[0];
    for (j = 0; j < n - 1; j++) {
        double x = step_axes(fwd[j], h[j], n_axes, tangent + j * n_axes, normal + j * n_axes, acc, 1);
        x = umax[j + 1] < x ? umax[j + 1] : x;
        fwd[j + 1] = clamp_lo0(x);
    }
    out[n - 1] = (u_end < 0.0 || fwd[n - 1] < u_end) ? fwd[n - 1] : u_end;
    for (j = n - 2; j >= 0; j--) {
        double y = step_axes(out[j + 1], h[j], n_axes, tangent + j * n_axes, normal + j * n_axes, acc, 0);
        y = umax[j] < y ? umax[j] : y;
        y = clamp_lo0(y);
        out[j] = fwd[j] < y ? fwd[j] : y;
    }
}
