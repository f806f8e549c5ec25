/* wavegen SLR kernel (inverse SLR transform); see slr.c for the contract. */
#ifndef WAVEGEN_SLR_H
#define WAVEGEN_SLR_H

#include <stdint.h>

void wg_slr_peel(int64_t n, double *a_re, double *a_im, double *b_re, double *b_im, double *rf_re,
                 double *rf_im);

int wg_spd_solve(int64_t n, double *a, double *b);

#endif
