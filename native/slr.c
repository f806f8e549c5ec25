/* wavegen inverse SLR transform (Pauly et al., IEEE TMI 1991;10(1):53-65, eqs. 19-22).
 *
 * Contract (wavegen/design/slr.py validates and allocates):
 *   n >= 1; a_*, b_* hold the n coefficients of the SLR polynomials A and B (index k <-> z^-k) and
 *   are overwritten (work space); rf_re/rf_im receive the n hard-pulse rotations, rad, as
 *   theta*exp(i*phi) in the rotation sense of wavegen.design.bloch.
 * Step j = n-1 .. 0: r = B[0]/A[0] = -i exp(i phi) tan(theta/2); c = cos(theta/2) = 1/sqrt(1+|r|^2);
 *   rf[j] = 2 atan|r| / |r| * i r;  A <- c (A + conj(r) B) (first j terms),
 *   B <- c (B - r A) shifted down by one (terms 1..j).
 * Same arithmetic as the NumPy reference slr.inverse_slr_reference (agreement ~1e-15).
 */
#include "slr.h"

#include <math.h>

void wg_slr_peel(int64_t n, double *a_re, double *a_im, double *b_re, double *b_im, double *rf_re,
                 double *rf_im)
{
    for (int64_t j = n - 1; j >= 0; j--) {
        const double ar0 = a_re[0], ai0 = a_im[0], br0 = b_re[0], bi0 = b_im[0];
        const double den = ar0 * ar0 + ai0 * ai0;
        /* r = b0 / a0 */
        const double rr = (br0 * ar0 + bi0 * ai0) / den;
        const double ri = (bi0 * ar0 - br0 * ai0) / den;
        const double m = sqrt(rr * rr + ri * ri);
        if (m > 0.0) {
            const double f = 2.0 * atan(m) / m;
            /* i r = -ri + i rr */
            rf_re[j] = -f * ri;
            rf_im[j] = f * rr;
        } else {
            rf_re[j] = 0.0;
            rf_im[j] = 0.0;
        }
        if (j == 0) break;
        const double c = 1.0 / sqrt(1.0 + m * m);
        for (int64_t k = 0; k < j; k++) {
            const double akr = a_re[k], aki = a_im[k], bkr = b_re[k], bki = b_im[k];
            const double a1r = a_re[k + 1], a1i = a_im[k + 1], b1r = b_re[k + 1], b1i = b_im[k + 1];
            /* A + conj(r) B */
            a_re[k] = c * (akr + (rr * bkr + ri * bki));
            a_im[k] = c * (aki + (rr * bki - ri * bkr));
            /* B[k+1] - r A[k+1] */
            b_re[k] = c * (b1r - (rr * a1r - ri * a1i));
            b_im[k] = c * (b1i - (rr * a1i + ri * a1r));
        }
    }
}

/* Solve A x = b for a symmetric positive-definite n x n matrix (row-major), in place: A is overwritten
 * by its Cholesky factor (lower triangle), b by x.  Returns 0, or -1 if A is not positive definite
 * (a pivot <= 0).  Used for the normal equations of the least-squares FIR design (wavegen.design.slr)
 * so that no multi-threaded LAPACK call sits in the design path. */
int wg_spd_solve(int64_t n, double *a, double *b)
{
    for (int64_t j = 0; j < n; j++) {
        double *aj = a + j * n;
        double d = aj[j];
        for (int64_t k = 0; k < j; k++) d -= aj[k] * aj[k];
        if (!(d > 0.0)) return -1;
        d = sqrt(d);
        aj[j] = d;
        const double inv = 1.0 / d;
        for (int64_t i = j + 1; i < n; i++) {
            double *ai = a + i * n;
            double s = ai[j];
            for (int64_t k = 0; k < j; k++) s -= ai[k] * aj[k];
            ai[j] = s * inv;
        }
    }
    /* L y = b */
    for (int64_t i = 0; i < n; i++) {
        const double *ai = a + i * n;
        double s = b[i];
        for (int64_t k = 0; k < i; k++) s -= ai[k] * b[k];
        b[i] = s / ai[i];
    }
    /* L^T x = y */
    for (int64_t i = n - 1; i >= 0; i--) {
        double s = b[i];
        for (int64_t k = i + 1; k < n; k++) s -= a[k * n + i] * b[k];
        b[i] = s / a[i * n + i];
    }
    return 0;
}
