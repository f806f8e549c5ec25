/* wavegen Bloch kernel (Cayley-Klein); see bloch.c for the contract. */
#ifndef WAVEGEN_BLOCH_H
#define WAVEGEN_BLOCH_H

#include <stdint.h>

void wg_bloch_ck(int64_t n_steps, int64_t n_spins, int n_axes, const double *wx, const double *wy,
                 const double *g, const double *r, const double *off, double *a_re, double *a_im,
                 double *b_re, double *b_im);

#endif
