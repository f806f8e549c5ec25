/* Recursive filters for long streams: a bank of one-pole filters in parallel.
 *
 * A linear system with simple poles r_i (sampled by impulse invariance) has the impulse response
 * h[k] = sum_i c_i r_i^k; each term is the one-pole recursion s_i[k] = r_i s_i[k-1] + c_i x[k], and
 * y[k] = sum_i w_i Re(s_i[k]). A conjugate pair of poles is one complex recursion with w = 2 (the pair's
 * terms are conjugates); a real pole has w = 1 and zero imaginary parts. The states s_i are carried in
 * and out, so a record filtered in pieces equals the record filtered whole, sample for sample.
 * (A. V. Oppenheim and R. W. Schafer, "Discrete-Time Signal Processing", 3rd ed., 2010: 6.3.3 parallel
 * form, 7.2.1 impulse invariance.)
 */
#include <stdint.h>

/* One step of pole i with input v: the new real part (the imaginary part is updated in place; a real pole
 * keeps it zero, so only its real recursion runs). */
static inline double pole_step(int i, const double *r_re, const double *r_im, const double *c_re,
                               const double *c_im, double *s_re, double *s_im, double v)
{
    double re;
    if (r_im[i] == 0.0 && c_im[i] == 0.0) {
        re = r_re[i] * s_re[i] + c_re[i] * v;
    } else {
        re = r_re[i] * s_re[i] - r_im[i] * s_im[i] + c_re[i] * v;
        s_im[i] = r_re[i] * s_im[i] + r_im[i] * s_re[i] + c_im[i] * v;
    }
    s_re[i] = re;
    return re;
}

void wg_pole_bank(int n_poles, const double *r_re, const double *r_im, const double *c_re, const double *c_im,
                  const double *w, double *s_re, double *s_im, const double *x, double *y, int64_t n)
{
    for (int64_t k = 0; k < n; k++) {
        double v = x[k];
        double acc = 0.0;
        for (int i = 0; i < n_poles; i++)
            acc += w[i] * pole_step(i, r_re, r_im, c_re, c_im, s_re, s_im, v);
        y[k] = acc;
    }
}

/* Several independent banks in one pass: bank b has n_poles[b] poles starting at offset[b] in the pole
 * arrays, reads x + b * n and writes y + b * n. The banks' recursions are independent, so running them
 * side by side per sample overlaps their latencies; each bank's arithmetic is exactly wg_pole_bank's. */
void wg_pole_banks(int n_banks, const int *n_poles, const int *offset, const double *r_re, const double *r_im,
                   const double *c_re, const double *c_im, const double *w, double *s_re, double *s_im,
                   const double *x, double *y, int64_t n)
{
    for (int64_t k = 0; k < n; k++) {
        for (int b = 0; b < n_banks; b++) {
            double v = x[(int64_t)b * n + k];
            double acc = 0.0;
            for (int j = 0; j < n_poles[b]; j++) {
                int i = offset[b] + j;
                acc += w[i] * pole_step(i, r_re, r_im, c_re, c_im, s_re, s_im, v);
            }
            y[(int64_t)b * n + k] = acc;
        }
    }
}
