/* Piecewise-linear evaluation on an exact integer output grid, for wavegen.sequence.render.
 *
 * Output sample k sits at t_k = (k*A + C) / D ns. Segment j of a channel starts at output index c[j]
 * and ends before c[j+1]; its value at k is v0[j] + slope[j] * ((double)(k*A - tdc[j]) / den[j]),
 * with tdc[j] = t_j*D - C (int64) and den[j] = (t_{j+1} - t_j) * D. The caller guarantees that every
 * k*A - tdc[j] fits in int64. The arithmetic is the same, operation by operation, as the NumPy
 * reference in render.py (-ffp-contract=off), so both give identical bits. Inside a segment
 * k*A >= tdc[j], so the fraction is never negative.
 */
#include <stdint.h>

void wg_seq_pwl_eval(const int64_t *c, const int64_t *tdc, const double *v0, const double *slope,
                     const double *den, int64_t jlo, int64_t jhi, int64_t A, int64_t k0, int64_t k1,
                     double *out)
{
    for (int64_t j = jlo; j < jhi; ++j) {
        int64_t s = c[j] < k0 ? k0 : c[j];
        int64_t e = c[j + 1] > k1 ? k1 : c[j + 1];
        if (e <= s)
            continue;
        const double a = v0[j], b = slope[j], d = den[j];
        const int64_t t = tdc[j];
        double *o = out - k0;
        if (b == 0.0 && !(b < 0.0) && 1.0 / b > 0.0) {
            /* slope +0: frac >= 0 inside the segment, so b*frac is +0 and the value is a + 0.0 */
            const double z = a + 0.0;
            for (int64_t k = s; k < e; ++k)
                o[k] = z;
        } else {
            for (int64_t k = s; k < e; ++k)
                o[k] = a + b * ((double)(k * A - t) / d);
        }
    }
}

/* Zero-order hold of raster samples: occurrence o covers output indices [ks[o], ke[o]); sample k takes
 * lib[off[o] + i] * rot[o] with i = (k*A - sdc[o]) / cell (integer division; the dividend is >= 0 inside
 * the range), sdc[o] = start_o*D - C and cell = raster*D.
 *
 * Frequency modulation (an RF frequency offset) without a per-sample exp(): occurrence o with
 * mod[o] = m >= 0 multiplies sample i by  ptab[pofs[m] + i / WG_MOD_BLOCK] * etab[eofs[m] + i % WG_MOD_BLOCK],
 * i.e. exp(2 pi j f ((q B + 1/2) raster)) * exp(2 pi j f (r raster)) for i = q B + r, both tables computed
 * once per frequency by the caller. The factor depends only on i, so a chunked render equals a one-shot
 * render bit for bit, and no modulated copy of a long pulse is ever held (issue 17 item 6).
 *
 * Complex values are (re, im) interleaved; every product is written out as (ac - bd, ad + bc), the
 * operations NumPy's complex multiply performs, so the result is bit-identical to the NumPy reference
 * (-ffp-contract=off). */
#define WG_MOD_BLOCK 1024

static inline void cmul(double a, double b, double c, double d, double *re, double *im)
{
    *re = a * c - b * d;
    *im = a * d + b * c;
}

void wg_seq_zoh_eval(const int64_t *ks, const int64_t *ke, const int64_t *sdc, const int64_t *off,
                     const int64_t *mod, int64_t olo, int64_t ohi, int64_t A, int64_t cell, const double *lib,
                     const double *rot, const double *etab, const double *ptab, const int64_t *eofs,
                     const int64_t *pofs, int64_t k0, int64_t k1, double *out)
{
    for (int64_t o = olo; o < ohi; ++o) {
        int64_t s = ks[o] < k0 ? k0 : ks[o];
        int64_t e = ke[o] > k1 ? k1 : ke[o];
        const double *src = lib + 2 * off[o];
        const int64_t t = sdc[o];
        const double c = rot[2 * o], d = rot[2 * o + 1];
        const int64_t m = mod[o];
        if (m < 0) {
            for (int64_t k = s; k < e; ++k) {
                int64_t i = (k * A - t) / cell;
                cmul(src[2 * i], src[2 * i + 1], c, d, &out[2 * (k - k0)], &out[2 * (k - k0) + 1]);
            }
        } else {
            const double *et = etab + 2 * eofs[m];
            const double *pt = ptab + 2 * pofs[m];
            for (int64_t k = s; k < e; ++k) {
                int64_t i = (k * A - t) / cell;
                int64_t q = i / WG_MOD_BLOCK, r = i % WG_MOD_BLOCK;
                double mr, mi, vr, vi;
                cmul(pt[2 * q], pt[2 * q + 1], et[2 * r], et[2 * r + 1], &mr, &mi);
                cmul(src[2 * i], src[2 * i + 1], mr, mi, &vr, &vi);
                cmul(vr, vi, c, d, &out[2 * (k - k0)], &out[2 * (k - k0) + 1]);
            }
        }
    }
}
