/* wavegen resampling kernels; see resample.h for the contract.
 *
 * Layout of this file:
 *   1. weights for one fractional position (zoh, linear, Keys cubic, tabulated Kaiser-windowed sinc);
 *   2. evaluation of one output from its taps (fast path inside the source, edge path near its ends);
 *   3. the output stage (float64, or the fused DAC stage: scale, offset, round, range check, store);
 *   4. the render loop, specialised per method / components / output type by always-inline templates.
 */
#include "resample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define WG_INLINE static inline __attribute__((always_inline))
#else
#define WG_INLINE static inline
#endif

/* 1.5 * 2^52: adding and subtracting it rounds a double to the nearest integer, ties to even
 * (IEEE 754 default rounding), for |v| < 2^51.  Same result as numpy.rint. */
/* On x86-64 with GCC, build the render loop twice (AVX2 and baseline) and pick one at load time. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define WG_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WG_CLONES
#endif

#define WG_ROUND_MAGIC 6755399441055744.0

/* ---------------------------------------------------------------------------------------------- */
/* 1. weights                                                                                      */

WG_INLINE double frac_of(const wg_plan *p, int64_t r) { return (double)r / (double)p->den; }

WG_INLINE void keys_weights(double f, double *w)
{
    /* Keys (1981) cubic convolution, a = -0.5; taps at floor(u) - 1 .. floor(u) + 2. */
    w[0] = ((-0.5 * f + 1.0) * f - 0.5) * f;
    w[1] = (1.5 * f - 2.5) * f * f + 1.0;
    w[2] = ((-1.5 * f + 2.0) * f + 0.5) * f;
    w[3] = (0.5 * f - 0.5) * f * f;
}

/* The sinc weights of all taps for a fractional position f, interpolated linearly between the two
 * nearest of the table's phases (rows of ntaps weights, phase-major, each row summing to one).  Both
 * rows are contiguous, so this is a short vectorisable loop whatever the position. */
WG_INLINE void sinc_weights(const wg_plan *p, double f, double *w)
{
    const int T = p->ntaps;
    const double a = f * p->table_density;   /* table_density: phases per source sample */
    int64_t k = (int64_t)a;
    if (k > p->table_len - 2) k = p->table_len - 2;  /* f < 1, so only rounding can get here */
    const double fr = a - (double)k;
    const double *r0 = p->table + k * T, *r1 = r0 + T;
    for (int t = 0; t < T; ++t) w[t] = r0[t] + fr * (r1[t] - r0[t]);
}

void wg_weights(const wg_plan *p, int64_t r, double *w)
{
    double f = frac_of(p, r);
    switch (p->method) {
    case WG_ZOH: w[0] = 1.0; break;
    case WG_LINEAR: w[0] = 1.0 - f; w[1] = f; break;
    case WG_CUBIC: keys_weights(f, w); break;
    default: sinc_weights(p, f, w); break;
    }
}

int wg_fill_schedule(const wg_plan *p, int64_t r0, int64_t *di, int64_t *rr, double *w)
{
    int64_t i = 0, r = r0;
    for (int64_t j = 0; j < p->period; ++j) {
        di[j] = i;
        rr[j] = r;
        wg_weights(p, r, w + j * p->ntaps);
        i += p->step_i;
        r += p->step_r;
        if (r >= p->den) { r -= p->den; ++i; }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* 2. one output from its taps                                                                     */

/* The centre tap (at floor(u)) is the reference: y = x_c + sum_t w_t (x_t - x_c).  With weights that
 * sum to one this equals sum_t w_t x_t, and a constant stretch of input (a gradient flat top) comes
 * out exactly constant, bit for bit. */
WG_INLINE double eval_fast(const double *xs, const double *w, const int method, const int T,
                           const int left, const int nc)
{
    /* xs points at the first tap of this component; consecutive taps are nc doubles apart */
    if (method == WG_ZOH) return xs[0];
    if (method == WG_LINEAR) return xs[0] + w[1] * (xs[nc] - xs[0]);
    const double xc = xs[left * nc];
    if (method == WG_CUBIC)
        return xc + w[0] * (xs[0] - xc) + w[2] * (xs[2 * nc] - xc) + w[3] * (xs[3 * nc] - xc);
    /* summed in tap order, exactly as run_period does, so both paths give the same bits */
    double acc = 0.0;
    for (int t = 0; t < T; ++t) acc += w[t] * (xs[t * nc] - xc);
    return xc + acc;
}

/* B outputs of one run, accumulators in registers; per output the sum runs in tap order. */
WG_INLINE void sinc_block(const double *xs, double xc, const double *wt, int64_t L, const int T, const int nc,
                          double *y, const int B)
{
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    for (int t = 0; t < T; ++t) {
        const double dt = xs[t * nc] - xc;
        const double *wq = wt + t * L;
        for (int u = 0; u < B; ++u) acc[u] += wq[u] * dt;
    }
    for (int u = 0; u < B; ++u) y[u] = xc + acc[u];
}

#if defined(__GNUC__) || defined(__clang__)
typedef double wg_v4d __attribute__((vector_size(32)));
#define WG_HAVE_V4D 1
/* sinc_block for B = 8 with explicit vectors (GCC/Clang vector extensions; split into SSE2 halves
 * where AVX is not there).  Same operations per lane, in the same order, as sinc_block. */
WG_INLINE void sinc_block8(const double *xs, double xc, const double *wt, int64_t L, const int T, const int nc,
                           double *y)
{
    wg_v4d a0 = {0.0, 0.0, 0.0, 0.0}, a1 = {0.0, 0.0, 0.0, 0.0};
    for (int t = 0; t < T; ++t) {
        const double dt = xs[t * nc] - xc;
        const wg_v4d d = {dt, dt, dt, dt};
        wg_v4d w0, w1;
        memcpy(&w0, wt + t * L, sizeof w0);
        memcpy(&w1, wt + t * L + 4, sizeof w1);
        a0 += w0 * d;
        a1 += w1 * d;
    }
    const wg_v4d c = {xc, xc, xc, xc};
    a0 = c + a0;
    a1 = c + a1;
    memcpy(y, &a0, sizeof a0);
    memcpy(y + 4, &a1, sizeof a1);
}

typedef double wg_v2d __attribute__((vector_size(16)));
/* the same for B = 4 and B = 2 (the tails of runs such as the 10 outputs of a 10x up-sampling) */
WG_INLINE void sinc_block4(const double *xs, double xc, const double *wt, int64_t L, const int T, const int nc,
                           double *y)
{
    wg_v4d a = {0.0, 0.0, 0.0, 0.0};
    for (int t = 0; t < T; ++t) {
        const double dt = xs[t * nc] - xc;
        const wg_v4d d = {dt, dt, dt, dt};
        wg_v4d w;
        memcpy(&w, wt + t * L, sizeof w);
        a += w * d;
    }
    const wg_v4d c = {xc, xc, xc, xc};
    a = c + a;
    memcpy(y, &a, sizeof a);
}

WG_INLINE void sinc_block2(const double *xs, double xc, const double *wt, int64_t L, const int T, const int nc,
                           double *y)
{
    wg_v2d a = {0.0, 0.0};
    for (int t = 0; t < T; ++t) {
        const double dt = xs[t * nc] - xc;
        const wg_v2d d = {dt, dt};
        wg_v2d w;
        memcpy(&w, wt + t * L, sizeof w);
        a += w * d;
    }
    const wg_v2d c = {xc, xc};
    a = c + a;
    memcpy(y, &a, sizeof a);
}
#endif

/* One whole period of outputs, run by run (a run shares floor(u)), each run vectorised across its
 * outputs.  The arithmetic per output is that of eval_fast, operation for operation. */
WG_INLINE void run_period(const wg_plan *p, const double *xb, double *y, const int method, const int T,
                          const int left, const int nc)
{
    const int64_t L = p->period;
    const int64_t *di = p->sched_di;
    const double *wt = p->sched_wt;
    for (int64_t k = 0; k < p->n_runs; ++k) {
        const int64_t q0 = p->run_q0[k], R = p->run_len[k];
        const double *xs = xb + di[q0] * nc;
        double *yr = y + q0;
        if (method == WG_ZOH) {
            const double v = xs[0];
            for (int64_t q = 0; q < R; ++q) yr[q] = v;
        } else if (method == WG_LINEAR) {
            const double x0 = xs[0], dx = xs[nc] - xs[0];
            const double *f = wt + L + q0;
            for (int64_t q = 0; q < R; ++q) yr[q] = x0 + f[q] * dx;
        } else if (method == WG_CUBIC) {
            const double xc = xs[nc];
            const double a = xs[0] - xc, b = xs[2 * nc] - xc, c = xs[3 * nc] - xc;
            const double *w0 = wt + q0, *w2 = wt + 2 * L + q0, *w3 = wt + 3 * L + q0;
            for (int64_t q = 0; q < R; ++q) yr[q] = xc + w0[q] * a + w2[q] * b + w3[q] * c;
        } else {
            const double xc = xs[left * nc];
            int64_t q = 0;
#ifdef WG_HAVE_V4D
            for (; q + 8 <= R; q += 8) sinc_block8(xs, xc, wt + q0 + q, L, T, nc, yr + q);
            for (; q + 4 <= R; q += 4) sinc_block4(xs, xc, wt + q0 + q, L, T, nc, yr + q);
            for (; q + 2 <= R; q += 2) sinc_block2(xs, xc, wt + q0 + q, L, T, nc, yr + q);
#else
            for (; q + 8 <= R; q += 8) sinc_block(xs, xc, wt + q0 + q, L, T, nc, yr + q, 8);
            for (; q + 4 <= R; q += 4) sinc_block(xs, xc, wt + q0 + q, L, T, nc, yr + q, 4);
            for (; q + 2 <= R; q += 2) sinc_block(xs, xc, wt + q0 + q, L, T, nc, yr + q, 2);
#endif
            for (; q < R; ++q) sinc_block(xs, xc, wt + q0 + q, L, T, nc, yr + q, 1);
        }
    }
}

/* Near the ends of the source: taps outside [0, n_in) count as 0, and outside the span of the
 * interpolant the output is 0 ([0, n_in) for zoh, [0, n_in - 1] otherwise). */
static double eval_edge(const wg_plan *p, const double *x, int64_t x_lo, int64_t x_len, int64_t xi,
                        int64_t r, const double *w, int comp, double *xt)
{
    const int64_t i = xi + x_lo; /* global index of floor(u) */
    if (i < 0 || i >= p->n_in) return 0.0;
    if (p->method != WG_ZOH && i == p->n_in - 1 && r != 0) return 0.0;
    const int T = p->ntaps, left = p->left, nc = p->ncomp;
    for (int t = 0; t < T; ++t) {
        int64_t s = xi - left + t;
        xt[t] = (s >= 0 && s < x_len) ? x[s * nc + comp] : 0.0;
    }
    if (p->method == WG_ZOH) return xt[0];
    if (p->method == WG_LINEAR) return xt[0] + w[1] * (xt[1] - xt[0]);
    const double xc = xt[left];
    if (p->method == WG_CUBIC) return xc + w[0] * (xt[0] - xc) + w[2] * (xt[2] - xc) + w[3] * (xt[3] - xc);
    double acc = 0.0;
    for (int t = 0; t < T; ++t) acc += w[t] * (xt[t] - xc);
    return xc + acc;
}

/* ---------------------------------------------------------------------------------------------- */
/* 3. output stage                                                                                 */

WG_INLINE double round_code(double y, double scale, double offset)
{
    return (y * scale + offset + WG_ROUND_MAGIC) - WG_ROUND_MAGIC;
}

WG_INLINE void put_code(void *out, int64_t idx, double q, const int otype)
{
    switch (otype) {
    case WG_OUT_I8: ((int8_t *)out)[idx] = (int8_t)q; break;
    case WG_OUT_U8: ((uint8_t *)out)[idx] = (uint8_t)q; break;
    case WG_OUT_I16: ((int16_t *)out)[idx] = (int16_t)q; break;
    case WG_OUT_U16: ((uint16_t *)out)[idx] = (uint16_t)q; break;
    case WG_OUT_I32: ((int32_t *)out)[idx] = (int32_t)q; break;
    default: ((uint32_t *)out)[idx] = (uint32_t)(int64_t)q; break;
    }
}

/* Returns 0 if stored, 1 if the code was out of range and clipping is off. */
WG_INLINE int store(void *out, int64_t idx, double y, const wg_dac *dac, const int otype, int64_t *clipped)
{
    if (otype == WG_OUT_F64) {
        ((double *)out)[idx] = y;
        return 0;
    }
    double q = round_code(y, dac->scale, dac->offset);
    if (!(q >= dac->lo && q <= dac->hi)) {
        if (!dac->clip) return 1;
        q = (q < dac->lo) ? dac->lo : dac->hi;
        ++*clipped;
    }
    put_code(out, idx, q, otype);
    return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* 4. the render loop                                                                              */

#define WG_STACK_TAPS 64

WG_INLINE int64_t render_core(const wg_plan *p, const double *x, int64_t x_lo, int64_t x_len, void *out,
                              int64_t n_out, int64_t i0, int64_t r0, int64_t j0, int64_t base0,
                              const wg_dac *dac, int64_t *n_clipped, const int method, const int T,
                              const int left, const int nc, const int otype)
{
    const int64_t lim = x_len - T; /* fast path: 0 <= xi - left <= lim */
    int64_t clipped = 0, bad = -1;
    /* scratch: the weights of one output (step mode) and the taps of one edge output */
    double stack[2 * WG_STACK_TAPS];
    double *heap = NULL, *w_scratch = stack, *xt = stack + WG_STACK_TAPS;
    double *ybuf = NULL; /* one period of one component, where run mode cannot write out directly */
    const int use_runs = p->period > 0 && p->n_runs > 0;
    const size_t n_ybuf = (use_runs && (otype != WG_OUT_F64 || nc != 1)) ? (size_t)p->period : 0;
    if (T > WG_STACK_TAPS || n_ybuf) {
        heap = (double *)malloc(sizeof(double) * (2 * (size_t)T + n_ybuf));
        if (heap == NULL) { if (n_clipped) *n_clipped = 0; return -2; }
        if (T > WG_STACK_TAPS) { w_scratch = heap; xt = heap + T; }
        ybuf = heap + 2 * (size_t)T;
    }

    if (p->period > 0) {
        const int64_t L = p->period, adv = p->period_advance;
        const int64_t *di = p->sched_di, *rr = p->sched_r;
        const double *sw = p->sched_w;
        int64_t j = j0, base = base0 - x_lo, m = 0;
        while (m < n_out) {
            if (use_runs && j == 0 && n_out - m >= L && base + di[0] - left >= 0 && base + di[L - 1] - left <= lim) {
                /* a whole period with every tap inside the window: run mode */
                for (int c = 0; c < nc; ++c) {
                    double *y = (otype == WG_OUT_F64 && nc == 1) ? (double *)out + m : ybuf;
                    run_period(p, x + (base - left) * nc + c, y, method, T, left, nc);
                    if (otype == WG_OUT_F64) {
                        if (nc != 1) for (int64_t q = 0; q < L; ++q) ((double *)out)[(m + q) * nc + c] = ybuf[q];
                    } else {
                        const double sc = dac->scale, of = dac->offset, lo = dac->lo, hi = dac->hi;
                        int64_t n_out_of_range = 0;
                        for (int64_t q = 0; q < L; ++q) {
                            const double v = round_code(ybuf[q], sc, of);
                            const double cv = v < lo ? lo : (v > hi ? hi : v);
                            n_out_of_range += (cv != v);
                            put_code(out, m + q, cv, otype);
                        }
                        if (n_out_of_range) {
                            if (!dac->clip) {
                                for (int64_t q = 0; q < L; ++q) {
                                    const double v = round_code(ybuf[q], sc, of);
                                    if (!(v >= lo && v <= hi)) { bad = m + q; goto done; }
                                }
                            }
                            clipped += n_out_of_range;
                        }
                    }
                }
                m += L;
                base += adv;
                continue;
            }
            /* a run of outputs inside one period: positions grow with j, so if its first and last
             * outputs have all their taps inside the window, every output of the run does */
            const int64_t cnt = (L - j < n_out - m) ? L - j : n_out - m;
            const int64_t s_first = base + di[j] - left, s_last = base + di[j + cnt - 1] - left;
            if (s_first >= 0 && s_last <= lim) {
                const double *xb = x + (base - left) * nc;
                const int64_t *d = di + j;
                const double *w = sw + j * T;
                if (otype == WG_OUT_F64) {
                    double *o = (double *)out + m * nc;
                    for (int64_t q = 0; q < cnt; ++q)
                        for (int c = 0; c < nc; ++c)
                            o[q * nc + c] = eval_fast(xb + d[q] * nc + c, w + q * T, method, T, left, nc);
                } else {
                    /* branch-free DAC stage over the run; a rare out-of-range run is re-scanned */
                    const double sc = dac->scale, of = dac->offset, lo = dac->lo, hi = dac->hi;
                    int64_t n_out_of_range = 0;
                    for (int64_t q = 0; q < cnt; ++q) {
                        const double v = round_code(eval_fast(xb + d[q], w + q * T, method, T, left, 1), sc, of);
                        const double cv = v < lo ? lo : (v > hi ? hi : v);
                        n_out_of_range += (cv != v);
                        put_code(out, m + q, cv, otype);
                    }
                    if (n_out_of_range) {
                        if (!dac->clip) {
                            for (int64_t q = 0; q < cnt; ++q) {
                                const double v = round_code(eval_fast(xb + d[q], w + q * T, method, T, left, 1), sc, of);
                                if (!(v >= lo && v <= hi)) { bad = m + q; goto done; }
                            }
                        }
                        clipped += n_out_of_range;
                    }
                }
            } else {
                for (int64_t q = 0; q < cnt; ++q) {
                    const int64_t xi = base + di[j + q];
                    const double *w = sw + (j + q) * T;
                    const int64_t s = xi - left;
                    for (int c = 0; c < nc; ++c) {
                        const double y = (s >= 0 && s <= lim) ? eval_fast(x + s * nc + c, w, method, T, left, nc)
                                                              : eval_edge(p, x, x_lo, x_len, xi, rr[j + q], w, c, xt);
                        if (store(out, (m + q) * nc + c, y, dac, otype, &clipped)) { bad = m + q; goto done; }
                    }
                }
            }
            m += cnt;
            j += cnt;
            if (j == L) { j = 0; base += adv; }
        }
    } else {
        double *w = w_scratch;
        const int64_t den = p->den, si = p->step_i, sr = p->step_r;
        int64_t xi = i0 - x_lo, r = r0;
        for (int64_t m = 0; m < n_out; ++m) {
            if (method == WG_LINEAR) w[1] = frac_of(p, r);
            else if (method == WG_CUBIC) keys_weights(frac_of(p, r), w);
            else if (method == WG_SINC) sinc_weights(p, frac_of(p, r), w);
            const int64_t s = xi - left;
            if (s >= 0 && s <= lim) {
                for (int c = 0; c < nc; ++c)
                    if (store(out, m * nc + c, eval_fast(x + s * nc + c, w, method, T, left, nc), dac, otype,
                              &clipped)) { bad = m; break; }
            } else {
                for (int c = 0; c < nc; ++c)
                    if (store(out, m * nc + c, eval_edge(p, x, x_lo, x_len, xi, r, w, c, xt), dac, otype,
                              &clipped)) { bad = m; break; }
            }
            if (bad >= 0) break;
            xi += si;
            r += sr;
            if (r >= den) { r -= den; ++xi; }
        }
    }
done:
    free(heap);
    if (n_clipped) *n_clipped = clipped;
    return bad;
}

/* One specialisation per (method, components, output type); the compiler folds the constants. */
#define WG_CALL(METHOD, T, LEFT, NC, OTYPE)                                                            \
    render_core(p, x, x_lo, x_len, out, n_out, i0, r0, j0, base0, dac, n_clipped, METHOD, T, LEFT, NC,  \
                OTYPE)

#define WG_BY_METHOD(NC, OTYPE)                                                                         \
    switch (p->method) {                                                                               \
    case WG_ZOH: return WG_CALL(WG_ZOH, 1, 0, NC, OTYPE);                                              \
    case WG_LINEAR: return WG_CALL(WG_LINEAR, 2, 0, NC, OTYPE);                                        \
    case WG_CUBIC: return WG_CALL(WG_CUBIC, 4, 1, NC, OTYPE);                                          \
    default: return WG_CALL(WG_SINC, p->ntaps, p->left, NC, OTYPE);                                    \
    }

WG_CLONES int64_t wg_render(const wg_plan *p, const double *x, int64_t x_lo, int64_t x_len, void *out, int64_t n_out,
                  int64_t i0, int64_t r0, int64_t j0, int64_t base0, const wg_dac *dac, int64_t *n_clipped)
{
    if (n_clipped) *n_clipped = 0;
    if (n_out <= 0) return -1;
    const int otype = dac ? dac->out_type : WG_OUT_F64;
    if (otype == WG_OUT_F64) {
        if (p->ncomp == 2) { WG_BY_METHOD(2, WG_OUT_F64) }
        WG_BY_METHOD(1, WG_OUT_F64)
    }
    switch (otype) {
    case WG_OUT_I8: WG_BY_METHOD(1, WG_OUT_I8)
    case WG_OUT_U8: WG_BY_METHOD(1, WG_OUT_U8)
    case WG_OUT_I16: WG_BY_METHOD(1, WG_OUT_I16)
    case WG_OUT_U16: WG_BY_METHOD(1, WG_OUT_U16)
    case WG_OUT_I32: WG_BY_METHOD(1, WG_OUT_I32)
    default: WG_BY_METHOD(1, WG_OUT_U32)
    }
}

#define WG_QUANT(OTYPE)                                                                                 \
    for (int64_t m = 0; m < n; ++m)                                                                    \
        if (store(out, m, y[m], dac, OTYPE, &clipped)) { bad = m; break; }                             \
    break;

int64_t wg_quantize(const double *y, int64_t n, void *out, const wg_dac *dac, int64_t *n_clipped)
{
    int64_t clipped = 0, bad = -1;
    switch (dac->out_type) {
    case WG_OUT_I8: WG_QUANT(WG_OUT_I8)
    case WG_OUT_U8: WG_QUANT(WG_OUT_U8)
    case WG_OUT_I16: WG_QUANT(WG_OUT_I16)
    case WG_OUT_U16: WG_QUANT(WG_OUT_U16)
    case WG_OUT_I32: WG_QUANT(WG_OUT_I32)
    default: WG_QUANT(WG_OUT_U32)
    }
    if (n_clipped) *n_clipped = clipped;
    return bad;
}
