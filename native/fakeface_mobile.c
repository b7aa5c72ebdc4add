/*
 * fakeface_mobile: the kernels that MobileNet-style inference graphs (face-api's SSD
 * MobileNetV1 face finder, the probe detector's MobileNetV2 backbone) spend their
 * time in on the tfjs cpu backend, where they otherwise run as JS loops:
 *
 *   depthwiseConv2d(x, filter, out, geometry)        NHWC, channel multiplier M, dilation 1
 *   clip(out, x, lo, hi, lowInclusive)               clipByValue (and relu6)
 *   resizeBilinear(out, x, geometry)                 NHWC, tfjs' alignCorners / halfPixelCenters
 *
 * Arithmetic: the depthwise sums run in float, in tfjs' order (filter rows, then
 * columns), each product and sum rounded (-ffp-contract=off), where tfjs rounds only
 * the sum (its product is double): results differ from the JS kernel in the last bits.
 * clip is exact. resizeBilinear computes in double like the JS kernel: bit-equal.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fakeface.h"

/* Below this many floats of output per thread, a thread costs more than it saves. */
#define FF_MOBILE_GRAIN (1 << 15)

static int get_geometry(napi_env env, napi_value v, int64_t *out, size_t n) {
  double *gv;
  size_t ng;
  if (!get_f64(env, v, &gv, &ng) || ng != n) return 0;
  for (size_t i = 0; i < n; i++) {
    if (!(gv[i] >= 0 && gv[i] <= 2147483647.0 && gv[i] == floor(gv[i]))) return 0;
    out[i] = (int64_t)gv[i];
  }
  return 1;
}

/* ------------------------------------------------------ depthwise conv2d */

/* x [B,H,W,C], filter [KH,KW,C,M], y [B,OH,OW,C*M]; input row ih = oh*SH - PT + kh. */
typedef struct {
  int64_t B, H, W, C, M, OH, OW, KH, KW, SH, SW, PT, PL;
  const float *x, *w;
  float *y;
} dw_args;

/* Channels summed in registers at a time (multiplier 1): 4 AVX2 / 2 AVX-512 vectors. */
#define DW_BLOCK 32

/* Multiplier 1: each output pixel's channels in blocks of DW_BLOCK, summed over the
 * taps in registers (the same order as tfjs: filter rows, then columns). */
FF_CLONES static void dw_range_m1(void *vctx, size_t begin, size_t end) {
  const dw_args *g = (const dw_args *)vctx;
  const int64_t C = g->C, blocks = C / DW_BLOCK * DW_BLOCK;
  for (size_t row = begin; row < end; row++) {
    const int64_t b = (int64_t)row / g->OH, oh = (int64_t)row % g->OH;
    int64_t kh0 = g->PT - oh * g->SH, kh1 = g->H + g->PT - oh * g->SH;
    if (kh0 < 0) kh0 = 0;
    if (kh1 > g->KH) kh1 = g->KH;
    float *yrow = g->y + (int64_t)row * g->OW * C;
    for (int64_t ow = 0; ow < g->OW; ow++) {
      float *restrict o = yrow + ow * C;
      const int64_t iw0 = ow * g->SW - g->PL;
      int64_t kw0 = -iw0, kw1 = g->W - iw0;
      if (kw0 < 0) kw0 = 0;
      if (kw1 > g->KW) kw1 = g->KW;
      for (int64_t c0 = 0; c0 < C; c0 += DW_BLOCK) {
        const int64_t n = c0 < blocks ? DW_BLOCK : C - c0;
        float acc[DW_BLOCK];
        for (int j = 0; j < DW_BLOCK; j++) acc[j] = 0.0f;
        for (int64_t kh = kh0; kh < kh1; kh++) {
          const float *xrow = g->x + ((b * g->H + oh * g->SH - g->PT + kh) * g->W) * C + c0;
          const float *wrow = g->w + kh * g->KW * C + c0;
          for (int64_t kw = kw0; kw < kw1; kw++) {
            const float *restrict xp = xrow + (iw0 + kw) * C;
            const float *restrict wp = wrow + kw * C;
            if (n == DW_BLOCK) {
              for (int j = 0; j < DW_BLOCK; j++) acc[j] += xp[j] * wp[j];
            } else {
              for (int64_t j = 0; j < n; j++) acc[j] += xp[j] * wp[j];
            }
          }
        }
        for (int64_t j = 0; j < n; j++) o[c0 + j] = acc[j];
      }
    }
  }
}

/* Output rows [begin, end) of all images (row = b * OH + oh), any multiplier. */
FF_CLONES static void dw_range(void *vctx, size_t begin, size_t end) {
  const dw_args *g = (const dw_args *)vctx;
  const int64_t C = g->C, M = g->M, CM = C * M;
  for (size_t row = begin; row < end; row++) {
    const int64_t b = (int64_t)row / g->OH, oh = (int64_t)row % g->OH;
    float *yrow = g->y + (int64_t)row * g->OW * CM;
    memset(yrow, 0, (size_t)(g->OW * CM) * sizeof(float));
    for (int64_t kh = 0; kh < g->KH; kh++) {
      const int64_t ih = oh * g->SH - g->PT + kh;
      if (ih < 0 || ih >= g->H) continue;
      const float *xrow = g->x + (b * g->H + ih) * g->W * C;
      for (int64_t ow = 0; ow < g->OW; ow++) {
        float *restrict o = yrow + ow * CM;
        const int64_t iw0 = ow * g->SW - g->PL;
        for (int64_t kw = 0; kw < g->KW; kw++) {
          const int64_t iw = iw0 + kw;
          if (iw < 0 || iw >= g->W) continue;
          const float *restrict xp = xrow + iw * C;
          const float *restrict wp = g->w + (kh * g->KW + kw) * CM;
          if (M == 1) {
            for (int64_t c = 0; c < C; c++) o[c] += xp[c] * wp[c];
          } else {
            for (int64_t c = 0; c < C; c++) {
              const float xv = xp[c];
              for (int64_t q = 0; q < M; q++) o[c * M + q] += xv * wp[c * M + q];
            }
          }
        }
      }
    }
  }
}

/* depthwiseConv2d(x, filter, out, geometry): geometry Float64Array
 * [B, H, W, C, M, OH, OW, KH, KW, SH, SW, PT, PL]; out gets [B, OH, OW, C*M]. */
static napi_value DepthwiseConv2d(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 4) return throw_error(env, "T", "depthwiseConv2d(x, filter, out, geometry)");
  float *x, *w, *y;
  size_t nx, nw, ny;
  if (!get_f32(env, args[0], &x, &nx) || !get_f32(env, args[1], &w, &nw) || !get_f32(env, args[2], &y, &ny))
    return throw_error(env, "T", "depthwiseConv2d: x, filter and out must be Float32Arrays");
  int64_t v[13];
  if (!get_geometry(env, args[3], v, 13))
    return throw_error(env, "R", "depthwiseConv2d: geometry must be a Float64Array of 13 integers in [0, 2^31)");
  dw_args g = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], x, w, y};
  if (g.SH < 1 || g.SW < 1 || g.M < 1) return throw_error(env, "R", "depthwiseConv2d: strides and multiplier must be >= 1");
  const uint64_t xLen = (uint64_t)g.B * g.H * g.W * g.C, wLen = (uint64_t)g.KH * g.KW * g.C * g.M;
  const uint64_t yLen = (uint64_t)g.B * g.OH * g.OW * g.C * g.M;
  if (nx < xLen || nw < wLen || ny < yLen) return throw_error(env, "R", "depthwiseConv2d: an array is shorter than the geometry needs");
  if (overlaps(y, 0, (int64_t)yLen, x, 0, (int64_t)nx) || overlaps(y, 0, (int64_t)yLen, w, 0, (int64_t)nw))
    return throw_error(env, "R", "depthwiseConv2d: out must not overlap the inputs");
  if (yLen == 0) return NULL;
  const size_t rows = (size_t)(g.B * g.OH), perRow = (size_t)(g.OW * g.C * g.M);
  size_t grain = FF_MOBILE_GRAIN / (perRow ? perRow : 1);
  parallel_for(rows, grain ? grain : 1, 1, g.M == 1 ? dw_range_m1 : dw_range, &g);
  return NULL;
}

/* ------------------------------------------------------------------ clip */

typedef struct {
  float *out;
  const float *x;
  float loCmp, hiCmp, lo, hi;
  int lowInclusive;
} clip_args;

FF_CLONES static void clip_range(void *vctx, size_t begin, size_t end) {
  const clip_args *c = (const clip_args *)vctx;
  float *restrict o = c->out;
  const float *restrict x = c->x;
  const float loCmp = c->loCmp, hiCmp = c->hiCmp, lo = c->lo, hi = c->hi;
  if (c->lowInclusive) {
    for (size_t i = begin; i < end; i++) {
      const float v = x[i];
      o[i] = v > hiCmp ? hi : (v <= loCmp ? lo : v);
    }
  } else {
    for (size_t i = begin; i < end; i++) {
      const float v = x[i];
      o[i] = v > hiCmp ? hi : (v < loCmp ? lo : v);
    }
  }
}

/* clip(out, x, lo, hi, lowInclusive): out[i] = x > hi ? hi : x < lo ? lo : x, as tfjs'
 * clipByValue compares (in double; NaN stays NaN). lowInclusive: x <= lo gives lo
 * (relu6's Math.max(0, x), which turns -0 into 0). */
static napi_value Clip(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 4) return throw_error(env, "T", "clip(out, x, lo, hi, lowInclusive?)");
  clip_args c;
  memset(&c, 0, sizeof c);
  float *out, *x;
  size_t no, nx;
  double lo, hi;
  bool inclusive = false;
  if (!get_f32(env, args[0], &out, &no) || !get_f32(env, args[1], &x, &nx))
    return throw_error(env, "T", "clip: out and x must be Float32Arrays");
  if (!get_double(env, args[2], &lo) || !get_double(env, args[3], &hi)) return throw_error(env, "T", "clip: lo and hi must be numbers");
  if (argc > 4 && !is_nullish(env, args[4]) && !get_bool(env, args[4], &inclusive))
    return throw_error(env, "T", "clip: lowInclusive must be a boolean");
  if (no < nx) return throw_error(env, "R", "clip: out is shorter than x");
  if (overlaps(out, 0, (int64_t)nx, x, 0, (int64_t)nx)) return throw_error(env, "R", "clip: out must not overlap x");
  /* Float thresholds that decide like the double comparisons: for a float v,
   * v > hi <=> v > (hi rounded down to a float), v < lo <=> v < (lo rounded up),
   * v <= lo <=> v <= (lo rounded down). */
  float hiCmp = (float)hi, loCmp = (float)lo;
  if ((double)hiCmp > hi) hiCmp = nextafterf(hiCmp, -INFINITY);
  if (inclusive ? (double)loCmp > lo : (double)loCmp < lo) loCmp = nextafterf(loCmp, inclusive ? -INFINITY : INFINITY);
  c.out = out;
  c.x = x;
  c.hiCmp = hiCmp;
  c.loCmp = loCmp;
  c.hi = (float)hi;
  c.lo = (float)lo;
  c.lowInclusive = inclusive;
  parallel_for(nx, 1 << 16, 16, clip_range, &c);
  return NULL;
}

/* -------------------------------------------------------- resize bilinear */

typedef struct {
  int64_t B, H, W, C, OH, OW;
  int alignCorners, halfPixelCenters;
  const float *x;
  float *y;
  double rowRatio, colRatio;
  int64_t *colLeft, *colRight;
  double *colFrac;
} resize_args;

/* Output rows [begin, end) (row = b * OH + r), as tfjs' resizeBilinear, in double. */
static void resize_range(void *vctx, size_t begin, size_t end) {
  const resize_args *a = (const resize_args *)vctx;
  const int64_t C = a->C;
  for (size_t row = begin; row < end; row++) {
    const int64_t b = (int64_t)row / a->OH, r = (int64_t)row % a->OH;
    const double srcRow = a->halfPixelCenters ? a->rowRatio * ((double)r + 0.5) - 0.5 : a->rowRatio * (double)r;
    const double floorRow = fmax(0.0, floor(srcRow));
    const double rowFrac = srcRow - floorRow;
    const int64_t ceilRow = (int64_t)fmin((double)(a->H - 1), ceil(srcRow));
    const float *top = a->x + (b * a->H + (int64_t)floorRow) * a->W * C;
    const float *bot = a->x + (b * a->H + ceilRow) * a->W * C;
    float *out = a->y + (int64_t)row * a->OW * C;
    for (int64_t c = 0; c < a->OW; c++) {
      const int64_t l = a->colLeft[c] * C, rr = a->colRight[c] * C;
      const double colFrac = a->colFrac[c];
      for (int64_t d = 0; d < C; d++) {
        const double tl = top[l + d], tr = top[rr + d], bl = bot[l + d], br = bot[rr + d];
        const double t = tl + (tr - tl) * colFrac;
        const double bo = bl + (br - bl) * colFrac;
        out[c * C + d] = (float)(t + (bo - t) * rowFrac);
      }
    }
  }
}

/* resizeBilinear(out, x, geometry): geometry Float64Array [B, H, W, C, OH, OW,
 * alignCorners, halfPixelCenters]; x [B,H,W,C] -> out [B,OH,OW,C]. */
static napi_value ResizeBilinear(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 3) return throw_error(env, "T", "resizeBilinear(out, x, geometry)");
  float *out, *x;
  size_t no, nx;
  if (!get_f32(env, args[0], &out, &no) || !get_f32(env, args[1], &x, &nx))
    return throw_error(env, "T", "resizeBilinear: out and x must be Float32Arrays");
  int64_t v[8];
  if (!get_geometry(env, args[2], v, 8)) return throw_error(env, "R", "resizeBilinear: geometry must be a Float64Array of 8 integers");
  resize_args a;
  memset(&a, 0, sizeof a);
  a.B = v[0], a.H = v[1], a.W = v[2], a.C = v[3], a.OH = v[4], a.OW = v[5];
  a.alignCorners = v[6] != 0, a.halfPixelCenters = v[7] != 0;
  const uint64_t xLen = (uint64_t)a.B * a.H * a.W * a.C, yLen = (uint64_t)a.B * a.OH * a.OW * a.C;
  if (nx < xLen || no < yLen) return throw_error(env, "R", "resizeBilinear: an array is shorter than the geometry needs");
  if (overlaps(out, 0, (int64_t)yLen, x, 0, (int64_t)nx)) return throw_error(env, "R", "resizeBilinear: out must not overlap x");
  if (yLen == 0) return NULL;
  if (xLen == 0) return throw_error(env, "R", "resizeBilinear: the input is empty");
  const double inH = (a.alignCorners && a.OH > 1) ? (double)(a.H - 1) : (double)a.H;
  const double inW = (a.alignCorners && a.OW > 1) ? (double)(a.W - 1) : (double)a.W;
  const double outH = (a.alignCorners && a.OH > 1) ? (double)(a.OH - 1) : (double)a.OH;
  const double outW = (a.alignCorners && a.OW > 1) ? (double)(a.OW - 1) : (double)a.OW;
  a.rowRatio = inH / outH;
  a.colRatio = inW / outW;
  a.colLeft = (int64_t *)malloc((size_t)a.OW * 2 * sizeof(int64_t));
  a.colFrac = (double *)malloc((size_t)a.OW * sizeof(double));
  if (!a.colLeft || !a.colFrac) {
    free(a.colLeft);
    free(a.colFrac);
    return throw_error(env, "E", "resizeBilinear: out of memory");
  }
  a.colRight = a.colLeft + a.OW;
  for (int64_t c = 0; c < a.OW; c++) {
    const double src = a.halfPixelCenters ? a.colRatio * ((double)c + 0.5) - 0.5 : a.colRatio * (double)c;
    const double fl = fmax(0.0, floor(src));
    a.colLeft[c] = (int64_t)fl;
    a.colFrac[c] = src - fl;
    a.colRight[c] = (int64_t)fmin((double)(a.W - 1), ceil(src));
  }
  a.x = x;
  a.y = out;
  const size_t rows = (size_t)(a.B * a.OH), perRow = (size_t)(a.OW * a.C);
  size_t grain = FF_MOBILE_GRAIN / (perRow ? perRow : 1);
  parallel_for(rows, grain ? grain : 1, 1, resize_range, &a);
  free(a.colLeft);
  free(a.colFrac);
  return NULL;
}

/* ---------------------------------------------------------------- module */

int ff_define_mobile(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"depthwiseConv2d", NULL, DepthwiseConv2d, NULL, NULL, NULL, napi_enumerable, NULL},
      {"clip", NULL, Clip, NULL, NULL, NULL, napi_enumerable, NULL},
      {"resizeBilinear", NULL, ResizeBilinear, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
