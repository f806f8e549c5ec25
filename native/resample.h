/* wavegen resampling kernels: exact-position interpolation from a source raster to an output rate.
 *
 * Positions are exact rationals.  Output sample k sits at source index u_k = i_k + r_k / den with
 * integers i_k and 0 <= r_k < den; from one output to the next u advances by step_i + step_r / den.
 * The Python side (wavegen/resample.py) computes the start state of every call with arbitrary
 * precision integers, so a call that starts at output 10^9 starts exactly where it should; inside a
 * call the state advances by exact integer steps.  No floating-point step is ever accumulated.
 *
 * The kernels trust their input (the Python wrapper validates it), touch no Python object and are
 * called by cffi with the GIL released, so several channels render in parallel threads.
 */
#ifndef WAVEGEN_RESAMPLE_H
#define WAVEGEN_RESAMPLE_H

#include <stdint.h>

enum { WG_ZOH = 0, WG_LINEAR = 1, WG_CUBIC = 2, WG_SINC = 3 };

enum {
    WG_OUT_F64 = 0, /* float64 (ncomp 1) or interleaved complex128 (ncomp 2) */
    WG_OUT_I8 = 1,
    WG_OUT_U8 = 2,
    WG_OUT_I16 = 3,
    WG_OUT_U16 = 4,
    WG_OUT_I32 = 5,
    WG_OUT_U32 = 6
};

typedef struct {
    int method;            /* WG_ZOH .. WG_SINC */
    int ntaps;             /* taps per output: 1, 2, 4 or the even sinc length */
    int left;              /* taps left of floor(u): the taps sit at floor(u) - left + t */
    int ncomp;             /* 1 real, 2 complex (interleaved re, im) */
    int64_t n_in;          /* length of the whole source; the interpolant is 0 outside its span */
    int64_t den;           /* 1 <= den < 2^62 */
    int64_t step_i;        /* whole source samples per output */
    int64_t step_r;        /* 0 <= step_r < den */
    /* sinc only: the weights of the ntaps taps at table_len phases j / table_density, j = 0 .. P
     * (phase-major rows of ntaps doubles, each row normalised to sum to one) */
    const double *table;
    int64_t table_len;     /* P + 1 rows */
    double table_density;  /* P: phases per source sample */
    /* periodic schedule (0 = none): the fractional positions repeat every `period` outputs */
    int64_t period;
    const int64_t *sched_di;  /* i_j - i_0, j in [0, period) */
    const int64_t *sched_r;   /* r_j, j in [0, period) */
    const double *sched_w;    /* period * ntaps weights */
    int64_t period_advance;   /* i_{k + period} - i_k */
    /* runs (0 = none): outputs of one period that share floor(u), computed together, vectorised */
    int64_t n_runs;
    const int64_t *run_q0;    /* first output of each run, in [0, period) */
    const int64_t *run_len;
    const double *sched_wt;   /* the schedule weights tap-major: sched_wt[t * period + j] */
} wg_plan;

typedef struct {
    double scale;   /* code = round(y * scale + offset) */
    double offset;  /* includes the offset-binary shift */
    double lo;      /* smallest allowed code */
    double hi;      /* largest allowed code */
    int clip;       /* 0: stop at the first code outside [lo, hi]; 1: clamp */
    int out_type;   /* WG_OUT_I8 .. WG_OUT_U32 */
} wg_dac;

/* Weights of the ntaps taps for the fractional position r / den (normalised for sinc). */
void wg_weights(const wg_plan *plan, int64_t r, double *w);

/* Fill the periodic schedule for j in [0, period): di[j] = i_j - i_0, rr[j] = r_j and the weights
 * w[j*ntaps ...], starting from the residue r0 of output 0.  Returns 0. */
int wg_fill_schedule(const wg_plan *plan, int64_t r0, int64_t *di, int64_t *rr, double *w);

/* Render outputs m = 0 .. n_out-1 of a call whose first output has source position i0 + r0/den.
 * With a schedule, (j0, base0) give the phase and base index of the first output instead
 * (i = base0 + sched_di[j0]).  The source window x holds samples x_lo .. x_lo + x_len - 1 of the
 * whole source; every tap the call needs inside [0, n_in) lies in that window.
 *
 * out_type WG_OUT_F64: writes doubles to out.  Otherwise applies the DAC stage `dac` and writes codes.
 * Returns -1 on success, -2 if scratch memory could not be allocated, or the index m of the first
 * output whose code is out of range (clip == 0);
 * *n_clipped (may be NULL) receives the number of clamped codes. */
int64_t wg_render(const wg_plan *plan, const double *x, int64_t x_lo, int64_t x_len, void *out,
                  int64_t n_out, int64_t i0, int64_t r0, int64_t j0, int64_t base0, const wg_dac *dac,
                  int64_t *n_clipped);

/* Plain DAC stage without resampling (codes from samples). Same return convention. */
int64_t wg_quantize(const double *y, int64_t n, void *out, const wg_dac *dac, int64_t *n_clipped);

#endif
