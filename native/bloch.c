/* wavegen Bloch kernel: Cayley-Klein parameters of piecewise-constant rotations.
 *
 * Contract (the Python side, wavegen/design/bloch.py, validates every input and allocates):
 *   n_steps >= 1, n_spins >= 1, 1 <= n_axes <= 3.
 *   wx[k], wy[k]     : RF rotation vector of step k, rad (2*pi*gamma*B1*dt, real and imaginary part).
 *   g[k*n_axes + a]  : gradient rotation of step k per metre along axis a, rad/m (2*pi*gamma*G*dt).
 *   r[a*n_spins + j] : position of spin j along axis a, m.
 *   off[j]           : off-resonance rotation of spin j per step, rad (2*pi*df*dt).
 *   a_re.. b_im      : outputs, n_spins each (alpha, beta).
 * Step k rotates spin j about w = (wx, wy, wz), wz = sum_a g[k,a] r[a,j] + off[j], by |w|
 * (sense as in bloch.py):  alpha_k = cos(|w|/2) - i wz sin(|w|/2)/|w|,
 * beta_k = -i (wx + i wy) sin(|w|/2)/|w|; the product runs Q = Q_{n-1} ... Q_0 with
 * alpha <- alpha_k alpha - conj(beta_k) beta, beta <- beta_k alpha + conj(alpha_k) beta.
 *
 * Speed: spins are processed in blocks that stay in L1; for every step the half angle h is bounded
 * over the block, and when the bound is <= 1 rad cos(h) and sin(h)/h come from their Taylor series
 * (to h^10 when h <= 1/8, to h^18 when h <= 1; truncation < 5e-19, i.e. exact to double rounding),
 * loops the compiler vectorises; otherwise the step uses libm.  The NumPy reference computes the same numbers with
 * numpy.cos/sin; the two agree to ~1e-15.
 */
#include "bloch.h"

#include <math.h>

#define WG_BLOCK 256

/* 1/(2k)! and 1/(2k+1)! with alternating signs, k = 0..9 */
static const double C_COS[10] = {1.0,
                                 -1.0 / 2.0,
                                 1.0 / 24.0,
                                 -1.0 / 720.0,
                                 1.0 / 40320.0,
                                 -1.0 / 3628800.0,
                                 1.0 / 479001600.0,
                                 -1.0 / 87178291200.0,
                                 1.0 / 20922789888000.0,
                                 -1.0 / 6402373705728000.0};
static const double C_SINC[10] = {1.0,
                                  -1.0 / 6.0,
                                  1.0 / 120.0,
                                  -1.0 / 5040.0,
                                  1.0 / 362880.0,
                                  -1.0 / 39916800.0,
                                  1.0 / 6227020800.0,
                                  -1.0 / 1307674368000.0,
                                  1.0 / 355687428096000.0,
                                  -1.0 / 121645100408832000.0};

/* Multiply spin j's (alpha, beta) from the left by the step with cos(h) = C, sin(h)/|w| = S and
 * z component Z: alpha_k = C - i Z S, beta_k = -i (x + i y) S = y S - i x S. */
#define WG_CK_STEP(j, C, S, Z)                                                                       \
    do {                                                                                           \
        const double sar = (C), sai = -(Z) * (S), sbr = y * (S), sbi = -x * (S);                   \
        const double pr = ar[j], pi = ai[j], qr = br[j], qi = bi[j];                               \
        ar[j] = (sar * pr - sai * pi) - (sbr * qr + sbi * qi);                                     \
        ai[j] = (sar * pi + sai * pr) - (sbr * qi - sbi * qr);                                     \
        br[j] = (sbr * pr - sbi * pi) + (sar * qr + sai * qi);                                     \
        bi[j] = (sbr * pi + sbi * pr) + (sar * qi - sai * qr);                                     \
    } while (0)

void wg_bloch_ck(int64_t n_steps, int64_t n_spins, int n_axes, const double *wx, const double *wy,
                 const double *g, const double *r, const double *off, double *a_re, double *a_im,
                 double *b_re, double *b_im)
{
    double wz[WG_BLOCK];
    for (int64_t j0 = 0; j0 < n_spins; j0 += WG_BLOCK) {
        const int64_t nb = (n_spins - j0 < WG_BLOCK) ? (n_spins - j0) : WG_BLOCK;
        double *ar = a_re + j0, *ai = a_im + j0, *br = b_re + j0, *bi = b_im + j0;
        const double *of = off + j0;
        double rmax[3] = {0.0, 0.0, 0.0};
        double offmax = 0.0;
        for (int64_t j = 0; j < nb; j++) {
            ar[j] = 1.0;
            ai[j] = 0.0;
            br[j] = 0.0;
            bi[j] = 0.0;
            offmax = fmax(offmax, fabs(of[j]));
        }
        for (int a = 0; a < n_axes; a++) {
            const double *ra = r + (int64_t)a * n_spins + j0;
            for (int64_t j = 0; j < nb; j++) rmax[a] = fmax(rmax[a], fabs(ra[j]));
        }
        for (int64_t k = 0; k < n_steps; k++) {
            const double x = wx[k], y = wy[k];
            const double *gk = g + k * n_axes;
            double zb = offmax;
            for (int a = 0; a < n_axes; a++) zb += fabs(gk[a]) * rmax[a];
            /* z component per spin */
            {
                const double g0 = gk[0];
                const double *r0 = r + j0;
#pragma omp simd
                for (int64_t j = 0; j < nb; j++) wz[j] = g0 * r0[j] + of[j];
                for (int a = 1; a < n_axes; a++) {
                    const double ga = gk[a];
                    const double *ra = r + (int64_t)a * n_spins + j0;
#pragma omp simd
                    for (int64_t j = 0; j < nb; j++) wz[j] = wz[j] + ga * ra[j];
                }
            }
            const double xy2 = x * x + y * y;
            const double hb2 = 0.25 * (xy2 + zb * zb);
            if (hb2 <= 0.015625) { /* h <= 1/8: terms to h^10, truncation < 2e-20 */
#pragma omp simd
                for (int64_t j = 0; j < nb; j++) {
                    const double z = wz[j];
                    const double u = 0.25 * (xy2 + z * z);
                    double c = C_COS[5], sc = C_SINC[5];
                    c = c * u + C_COS[4];
                    sc = sc * u + C_SINC[4];
                    c = c * u + C_COS[3];
                    sc = sc * u + C_SINC[3];
                    c = c * u + C_COS[2];
                    sc = sc * u + C_SINC[2];
                    c = c * u + C_COS[1];
                    sc = sc * u + C_SINC[1];
                    c = c * u + C_COS[0];
                    sc = sc * u + C_SINC[0];
                    WG_CK_STEP(j, c, 0.5 * sc, z);
                }
            } else if (hb2 <= 1.0) { /* h <= 1: terms to h^18, truncation < 5e-19 */
#pragma omp simd
                for (int64_t j = 0; j < nb; j++) {
                    const double z = wz[j];
                    const double u = 0.25 * (xy2 + z * z); /* h^2 */
                    double c = C_COS[9], sc = C_SINC[9];
                    c = c * u + C_COS[8];
                    sc = sc * u + C_SINC[8];
                    c = c * u + C_COS[7];
                    sc = sc * u + C_SINC[7];
                    c = c * u + C_COS[6];
                    sc = sc * u + C_SINC[6];
                    c = c * u + C_COS[5];
                    sc = sc * u + C_SINC[5];
                    c = c * u + C_COS[4];
                    sc = sc * u + C_SINC[4];
                    c = c * u + C_COS[3];
                    sc = sc * u + C_SINC[3];
                    c = c * u + C_COS[2];
                    sc = sc * u + C_SINC[2];
                    c = c * u + C_COS[1];
                    sc = sc * u + C_SINC[1];
                    c = c * u + C_COS[0];
                    sc = sc * u + C_SINC[0];
                    WG_CK_STEP(j, c, 0.5 * sc, z);
                }
            } else {
                for (int64_t j = 0; j < nb; j++) {
                    const double z = wz[j];
                    const double n = sqrt(xy2 + z * z);
                    const double h = 0.5 * n;
                    const double c = cos(h);
                    const double s = (n > 0.0) ? sin(h) / n : 0.5;
                    WG_CK_STEP(j, c, s, z);
                }
            }
        }
    }
}
