/*
 * fakeface_kernels: the element-wise, reduction, batch-norm and convolution loops
 * of GAN training, run natively on the memory of tfjs cpu-backend tensors. Each
 * mirrors one tfjs cpu kernel; src/engine/native-kernels-*.ts decides which calls
 * qualify and falls back to the JS kernel otherwise.
 *
 *   binaryOp(op, out, a, b, dims, aStrides, bStrides)   broadcasting + - * / > < >= <=
 *   unaryOp(op, out, x, alpha)                           tanh sigmoid relu leakyrelu step square
 *   select(out, condition, t, e)                         where(condition, t, e), equal sizes
 *   reduceSum(out, x, outer, reduce, inner, divisor)     sum (divisor 0) / mean of the middle axis
 *   batchNorm(out, x, mean, variance, scale, offset, epsilon, channels)
 *   conv2d(mode, a, b, out, geometry, chunkFloats?)      forward / backprop input / backprop filter
 *
 * Arithmetic: tfjs' cpu kernels compute in double and store float32. For + - * /
 * that equals float arithmetic (built with -ffp-contract=off, so no FMA), sums are
 * accumulated in double in tfjs' order, batch norm is evaluated in double in tfjs'
 * order: those results are bit-equal. tanh and sigmoid use a vectorisable double
 * exp (relative error ~1e-14 before rounding to float), so they match Math.tanh /
 * Math.exp after rounding except in rare last-bit ties. Convolutions go through
 * sgemm, whose summation order differs from tfjs' loops (float rounding only).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fakeface.h"

/* ---------------------------------------------------------------- helpers */

static int get_u8(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (uint8_t *)ptr;
  return 1;
}

/* Byte ranges of two typed-array views overlap? */
static int bytes_overlap(const void *a, size_t abytes, const void *b, size_t bbytes) {
  if (abytes == 0 || bbytes == 0) return 0;
  const char *as = (const char *)a, *bs = (const char *)b;
  return as < bs + bbytes && bs < as + abytes;
}

/* Grain of the element-wise loops: below it, threads cost more than they save. */
#define FF_GRAIN (1 << 16)

/* ------------------------------------------------------- binary operators */

enum {
  OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_DIV = 3,
  OP_GREATER = 10, OP_GREATER_EQUAL = 11, OP_LESS = 12, OP_LESS_EQUAL = 13,
};
#define FF_MAX_RANK 8

/* One contiguous run of the output: o[i] = op(a[i * as], b[i * bs]), i < n. The four
 * stride patterns are spelled out so each vectorises. */
#define DEFINE_BINARY(NAME, OUT_T, EXPR)                                                    \
  FF_CLONES static void NAME(OUT_T *restrict o, const float *restrict a, int64_t as,        \
                             const float *restrict b, int64_t bs, size_t n) {               \
    if (as == 1 && bs == 1) {                                                               \
      for (size_t i = 0; i < n; i++) { const float x = a[i], y = b[i]; o[i] = (EXPR); }     \
    } else if (as == 1 && bs == 0) {                                                        \
      const float y = b[0];                                                                 \
      for (size_t i = 0; i < n; i++) { const float x = a[i]; o[i] = (EXPR); }               \
    } else if (as == 0 && bs == 1) {                                                        \
      const float x = a[0];                                                                 \
      for (size_t i = 0; i < n; i++) { const float y = b[i]; o[i] = (EXPR); }              \
    } else {                                                                                \
      for (size_t i = 0; i < n; i++) {                                                      \
        const float x = a[(int64_t)i * as], y = b[(int64_t)i * bs];                         \
        o[i] = (EXPR);                                                                      \
      }                                                                                     \
    }                                                                                       \
  }

DEFINE_BINARY(run_add, float, x + y)
DEFINE_BINARY(run_sub, float, x - y)
DEFINE_BINARY(run_mul, float, x * y)
DEFINE_BINARY(run_div, float, x / y)
DEFINE_BINARY(run_greater, uint8_t, (uint8_t)(x > y))
DEFINE_BINARY(run_greater_equal, uint8_t, (uint8_t)(x >= y))
DEFINE_BINARY(run_less, uint8_t, (uint8_t)(x < y))
DEFINE_BINARY(run_less_equal, uint8_t, (uint8_t)(x <= y))

typedef struct {
  int op, rank;
  void *out;
  const float *a, *b;
  int64_t dims[FF_MAX_RANK], as[FF_MAX_RANK], bs[FF_MAX_RANK];
} binary_args;

static void run_binary(const binary_args *e, size_t pos, const float *a, const float *b, size_t n) {
  float *of = (float *)e->out + pos;
  uint8_t *ou = (uint8_t *)e->out + pos;
  const int64_t as = e->as[e->rank - 1], bs = e->bs[e->rank - 1];
  switch (e->op) {
    case OP_ADD: run_add(of, a, as, b, bs, n); break;
    case OP_SUB: run_sub(of, a, as, b, bs, n); break;
    case OP_MUL: run_mul(of, a, as, b, bs, n); break;
    case OP_DIV: run_div(of, a, as, b, bs, n); break;
    case OP_GREATER: run_greater(ou, a, as, b, bs, n); break;
    case OP_GREATER_EQUAL: run_greater_equal(ou, a, as, b, bs, n); break;
    case OP_LESS: run_less(ou, a, as, b, bs, n); break;
    case OP_LESS_EQUAL: run_less_equal(ou, a, as, b, bs, n); break;
    default: break;
  }
}

/* Output elements [begin, end): walk the multi-index, one inner run at a time. */
static void binary_range(void *vctx, size_t begin, size_t end) {
  const binary_args *e = (const binary_args *)vctx;
  const int r = e->rank;
  int64_t idx[FF_MAX_RANK];
  size_t rest = begin;
  int64_t ao = 0, bo = 0;
  for (int d = r - 1; d >= 0; d--) {
    idx[d] = (int64_t)(rest % (size_t)e->dims[d]);
    rest /= (size_t)e->dims[d];
    ao += idx[d] * e->as[d];
    bo += idx[d] * e->bs[d];
  }
  size_t pos = begin;
  while (pos < end) {
    size_t n = (size_t)(e->dims[r - 1] - idx[r - 1]);
    if (n > end - pos) n = end - pos;
    run_binary(e, pos, e->a + ao, e->b + bo, n);
    pos += n;
    idx[r - 1] += (int64_t)n;
    ao += (int64_t)n * e->as[r - 1];
    bo += (int64_t)n * e->bs[r - 1];
    for (int d = r - 1; d > 0 && idx[d] == e->dims[d]; d--) {
      ao += e->as[d - 1] - idx[d] * e->as[d];
      bo += e->bs[d - 1] - idx[d] * e->bs[d];
      idx[d] = 0;
      idx[d - 1]++;
    }
  }
}

/* Largest element offset an operand reaches (strides are >= 0). */
static int64_t max_offset(const int64_t *dims, const int64_t *strides, int rank) {
  int64_t m = 0;
  for (int d = 0; d < rank; d++) m += (dims[d] - 1) * strides[d];
  return m;
}

/* binaryOp(op, out, a, b, dims, aStrides, bStrides): out[i] = a[.] op b[.] over the
 * row-major output of shape dims; an operand's stride is 0 along its broadcast axes.
 * out is a Float32Array for + - * /, a Uint8Array (0/1) for the comparisons. */
static napi_value BinaryOp(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value args[7];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 7) return throw_error(env, "T", "binaryOp(op, out, a, b, dims, aStrides, bStrides)");
  binary_args e;
  memset(&e, 0, sizeof e);
  int64_t op;
  if (!get_int(env, args[0], &op)) return throw_error(env, "R", "binaryOp: unknown op");
  e.op = (int)op;
  const int compare = e.op >= OP_GREATER && e.op <= OP_LESS_EQUAL;
  if (!compare && e.op > OP_DIV) return throw_error(env, "R", "binaryOp: unknown op");
  size_t outLen, aLen, bLen, nd, na, nb;
  float *a, *b;
  double *dims, *as, *bs;
  if (compare) {
    uint8_t *o;
    if (!get_u8(env, args[1], &o, &outLen)) return throw_error(env, "T", "binaryOp: out must be a Uint8Array for comparisons");
    e.out = o;
  } else {
    float *o;
    if (!get_f32(env, args[1], &o, &outLen)) return throw_error(env, "T", "binaryOp: out must be a Float32Array");
    e.out = o;
  }
  if (!get_f32(env, args[2], &a, &aLen) || !get_f32(env, args[3], &b, &bLen))
    return throw_error(env, "T", "binaryOp: a and b must be Float32Arrays");
  if (!get_f64(env, args[4], &dims, &nd) || !get_f64(env, args[5], &as, &na) || !get_f64(env, args[6], &bs, &nb))
    return throw_error(env, "T", "binaryOp: dims and strides must be Float64Arrays");
  if (nd < 1 || nd > FF_MAX_RANK || na != nd || nb != nd)
    return throw_error(env, "R", "binaryOp: dims and strides need the same length, 1 to 8");
  e.rank = (int)nd;
  size_t total = 1;
  for (size_t d = 0; d < nd; d++) {
    if (!(dims[d] >= 1 && dims[d] <= 4294967296.0 && dims[d] == floor(dims[d])) ||
        !(as[d] >= 0 && as[d] <= 4294967296.0 && as[d] == floor(as[d])) ||
        !(bs[d] >= 0 && bs[d] <= 4294967296.0 && bs[d] == floor(bs[d])))
      return throw_error(env, "R", "binaryOp: dims must be positive and strides non-negative integers");
    e.dims[d] = (int64_t)dims[d];
    e.as[d] = (int64_t)as[d];
    e.bs[d] = (int64_t)bs[d];
    total *= (size_t)e.dims[d];
  }
  if (total > outLen) return throw_error(env, "R", "binaryOp: out is shorter than the product of dims");
  if (aLen == 0 || bLen == 0 || max_offset(e.dims, e.as, e.rank) >= (int64_t)aLen ||
      max_offset(e.dims, e.bs, e.rank) >= (int64_t)bLen)
    return throw_error(env, "R", "binaryOp: a or b is too short for dims and strides");
  const size_t outBytes = total * (compare ? 1 : 4);
  if (bytes_overlap(e.out, outBytes, a, aLen * 4) || bytes_overlap(e.out, outBytes, b, bLen * 4))
    return throw_error(env, "R", "binaryOp: out must not overlap a or b");
  e.a = a;
  e.b = b;
  parallel_for(total, FF_GRAIN, 64, binary_range, &e);
  return NULL;
}

/* -------------------------------------------------------- unary operators */

enum { UN_TANH = 0, UN_SIGMOID = 1, UN_RELU = 2, UN_LEAKYRELU = 3, UN_STEP = 4, UN_SQUARE = 5 };

/* e^x for x in [-700, 700] (NaN stays NaN), branch-free so that loops over it
 * vectorise: x = k ln2 + r, |r| <= ln2/2, degree-11 Taylor polynomial (relative
 * error < 1e-14), 2^k put together in the exponent bits. */
static inline double ff_exp(double x) {
  const double shifter = 6755399441055744.0; /* 1.5 * 2^52: adding it rounds to an integer */
  const double t = x * 1.4426950408889634 + shifter;
  const double kd = t - shifter;
  const double r = (x - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
  double p = 2.505210838544172e-08;     /* 1/11! */
  p = p * r + 2.755731922398589e-07;    /* 1/10! */
  p = p * r + 2.7557319223985893e-06;   /* 1/9! */
  p = p * r + 2.48015873015873e-05;     /* 1/8! */
  p = p * r + 1.984126984126984e-04;    /* 1/7! */
  p = p * r + 1.388888888888889e-03;    /* 1/6! */
  p = p * r + 8.333333333333333e-03;    /* 1/5! */
  p = p * r + 4.1666666666666664e-02;   /* 1/4! */
  p = p * r + 1.6666666666666666e-01;   /* 1/3! */
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  /* t's bits are shifter's plus k: integer arithmetic only, which vectorises. */
  int64_t tbits;
  memcpy(&tbits, &t, sizeof tbits);
  const int64_t bits = (int64_t)((uint64_t)(tbits - 0x4338000000000000LL + 1023) << 52);
  double scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* Math.tanh, in double, stored as float. */
static inline float ff_tanh(float xf) {
  const double x = xf;
  const double c = x > 20.0 ? 20.0 : (x < -20.0 ? -20.0 : x);
  const double e = ff_exp(2.0 * c);
  const double big = (e - 1.0) / (e + 1.0);
  /* e - 1 cancels near 0: there tanh x = x - x^3/3 to double precision. */
  const double small = x * (1.0 - x * x / 3.0);
  return (float)(fabs(x) < 1e-4 ? small : big);
}

/* 1 / (1 + Math.exp(-x)), in double, stored as float. */
static inline float ff_sigmoid(float xf) {
  const double m = -(double)xf;
  const double c = m > 700.0 ? 700.0 : (m < -700.0 ? -700.0 : m);
  return (float)(1.0 / (1.0 + ff_exp(c)));
}

typedef struct {
  int op;
  float *out;
  const float *x;
  double alpha;
} unary_args;

FF_CLONES static void unary_range(void *vctx, size_t begin, size_t end) {
  const unary_args *u = (const unary_args *)vctx;
  float *restrict o = u->out;
  const float *restrict x = u->x;
  const double alpha = u->alpha;
  const float alphaf = (float)alpha;
  switch (u->op) {
    case UN_TANH:
      for (size_t i = begin; i < end; i++) o[i] = ff_tanh(x[i]);
      break;
    case UN_SIGMOID:
      for (size_t i = begin; i < end; i++) o[i] = ff_sigmoid(x[i]);
      break;
    case UN_RELU: /* Math.max(0, x): NaN stays NaN, -0 becomes +0 */
      for (size_t i = begin; i < end; i++) {
        const float v = x[i];
        o[i] = (v > 0 || v != v) ? v : 0.0f;
      }
      break;
    case UN_LEAKYRELU: /* x < 0 ? alpha * x : x, alpha a double */
      for (size_t i = begin; i < end; i++) {
        const float v = x[i], scaled = (float)(alpha * (double)v); /* unconditional: vectorises */
        o[i] = v < 0 ? scaled : v;
      }
      break;
    case UN_STEP: /* isNaN(x) ? NaN : x > 0 ? 1 : alpha */
      for (size_t i = begin; i < end; i++) {
        const float v = x[i];
        o[i] = v != v ? v : (v > 0 ? 1.0f : alphaf);
      }
      break;
    case UN_SQUARE:
      for (size_t i = begin; i < end; i++) o[i] = x[i] * x[i];
      break;
    default:
      break;
  }
}

/* unaryOp(op, out, x, alpha): out[i] = f(x[i]) for i < x.length. */
static napi_value UnaryOp(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 3) return throw_error(env, "T", "unaryOp(op, out, x, alpha?)");
  unary_args u;
  memset(&u, 0, sizeof u);
  int64_t op;
  size_t outLen, xLen;
  float *out, *x;
  if (!get_int(env, args[0], &op) || op > UN_SQUARE) return throw_error(env, "R", "unaryOp: unknown op");
  if (!get_f32(env, args[1], &out, &outLen) || !get_f32(env, args[2], &x, &xLen))
    return throw_error(env, "T", "unaryOp: out and x must be Float32Arrays");
  if (outLen < xLen) return throw_error(env, "R", "unaryOp: out is shorter than x");
  if (overlaps(out, 0, (int64_t)xLen, x, 0, (int64_t)xLen)) return throw_error(env, "R", "unaryOp: out must not overlap x");
  if (argc > 3 && !is_nullish(env, args[3]) && !get_double(env, args[3], &u.alpha))
    return throw_error(env, "T", "unaryOp: alpha must be a number");
  u.op = (int)op;
  u.out = out;
  u.x = x;
  /* tanh and sigmoid are compute-bound: smaller grain. */
  parallel_for(xLen, op <= UN_SIGMOID ? FF_GRAIN / 4 : FF_GRAIN, 16, unary_range, &u);
  return NULL;
}

/* ----------------------------------------------------------------- select */

typedef struct {
  float *out;
  const uint8_t *cond;
  const float *t, *e;
} select_args;

FF_CLONES static void select_range(void *vctx, size_t begin, size_t end) {
  const select_args *s = (const select_args *)vctx;
  float *restrict o = s->out;
  const uint8_t *restrict c = s->cond;
  const float *restrict t = s->t, *restrict e = s->e;
  for (size_t i = begin; i < end; i++) o[i] = c[i] == 1 ? t[i] : e[i];
}

/* select(out, condition, t, e): out[i] = condition[i] === 1 ? t[i] : e[i]. */
static napi_value Select(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 4) return throw_error(env, "T", "select(out, condition, t, e)");
  select_args s;
  size_t no, nc, nt, ne;
  float *out, *t, *e;
  uint8_t *c;
  if (!get_f32(env, args[0], &out, &no) || !get_u8(env, args[1], &c, &nc) || !get_f32(env, args[2], &t, &nt) ||
      !get_f32(env, args[3], &e, &ne))
    return throw_error(env, "T", "select: out, t, e must be Float32Arrays and condition a Uint8Array");
  if (nc != no || nt != no || ne != no) return throw_error(env, "R", "select: all arrays must have the same length");
  if (overlaps(out, 0, (int64_t)no, t, 0, (int64_t)no) || overlaps(out, 0, (int64_t)no, e, 0, (int64_t)no) ||
      bytes_overlap(out, no * 4, c, nc))
    return throw_error(env, "R", "select: out must not overlap the inputs");
  s = (select_args){out, c, t, e};
  parallel_for(no, FF_GRAIN, 64, select_range, &s);
  return NULL;
}

/* ------------------------------------------------------------- reductions */

typedef struct {
  float *out;
  const float *x;
  size_t outer, reduce, inner, colBlocks;
  float divisor; /* 0: plain sum */
} reduce_args;

#define FF_SUM_BLOCK 1024

/* Tasks are (outer index, block of up to FF_SUM_BLOCK inner columns). Every output
 * is a double sum over the reduced axis in index order, as tfjs' Sum computes it. */
FF_CLONES static void reduce_range(void *vctx, size_t begin, size_t end) {
  const reduce_args *r = (const reduce_args *)vctx;
  const size_t R = r->reduce, I = r->inner;
  const float divisor = r->divisor;
  double acc[FF_SUM_BLOCK];
  for (size_t task = begin; task < end; task++) {
    const size_t o = task / r->colBlocks, c0 = (task % r->colBlocks) * FF_SUM_BLOCK;
    const size_t nc = I - c0 < FF_SUM_BLOCK ? I - c0 : FF_SUM_BLOCK;
    const float *base = r->x + o * R * I + c0;
    float *dst = r->out + o * I + c0;
    if (I == 1) {
      double s = 0;
      if (divisor != 0) for (size_t k = 0; k < R; k++) s += (double)(base[k] / divisor);
      else for (size_t k = 0; k < R; k++) s += (double)base[k];
      dst[0] = (float)s;
      continue;
    }
    for (size_t j = 0; j < nc; j++) acc[j] = 0;
    for (size_t k = 0; k < R; k++) {
      const float *restrict row = base + k * I;
      if (divisor != 0) for (size_t j = 0; j < nc; j++) acc[j] += (double)(row[j] / divisor);
      else for (size_t j = 0; j < nc; j++) acc[j] += (double)row[j];
    }
    for (size_t j = 0; j < nc; j++) dst[j] = (float)acc[j];
  }
}

/* reduceSum(out, x, outer, reduce, inner, divisor): x viewed as [outer, reduce, inner];
 * out[o, i] = sum_k x[o, k, i] (divisor 0), or sum_k fround(x[o, k, i] / divisor)
 * (tfjs' Mean: it divides first, then sums). */
static napi_value ReduceSum(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value args[6];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 6) return throw_error(env, "T", "reduceSum(out, x, outer, reduce, inner, divisor)");
  reduce_args r;
  size_t no, nx;
  float *out, *x;
  int64_t outer, reduce, inner;
  double divisor;
  if (!get_f32(env, args[0], &out, &no) || !get_f32(env, args[1], &x, &nx))
    return throw_error(env, "T", "reduceSum: out and x must be Float32Arrays");
  if (!get_int(env, args[2], &outer) || !get_int(env, args[3], &reduce) || !get_int(env, args[4], &inner) ||
      !get_double(env, args[5], &divisor))
    return throw_error(env, "R", "reduceSum: outer, reduce, inner must be integers in [0, 2^31), divisor a number");
  if ((uint64_t)outer * (uint64_t)inner > no || (uint64_t)outer * (uint64_t)reduce * (uint64_t)inner > nx)
    return throw_error(env, "R", "reduceSum: out or x is too short");
  if (overlaps(out, 0, outer * inner, x, 0, outer * reduce * inner))
    return throw_error(env, "R", "reduceSum: out must not overlap x");
  if (outer == 0 || inner == 0) return NULL;
  r.out = out;
  r.x = x;
  r.outer = (size_t)outer;
  r.reduce = (size_t)reduce;
  r.inner = (size_t)inner;
  r.colBlocks = ((size_t)inner + FF_SUM_BLOCK - 1) / FF_SUM_BLOCK;
  r.divisor = (float)divisor;
  const size_t tasks = r.outer * r.colBlocks;
  const size_t perTask = r.reduce * (r.inner < FF_SUM_BLOCK ? r.inner : FF_SUM_BLOCK);
  size_t grain = perTask ? FF_GRAIN / perTask : tasks;
  parallel_for(tasks, grain ? grain : 1, 1, reduce_range, &r);
  return NULL;
}

/* ------------------------------------------------------------- batch norm */

typedef struct {
  float *out;
  const float *x;
  const double *mean, *scale, *offset, *denom; /* per channel, in double */
  size_t channels;
} bn_args;

/* offset + (x - mean) * scale / Math.sqrt(variance + epsilon), evaluated in double in
 * that order, as tfjs' cpu FusedBatchNorm does. Ranges are whole rows of channels. */
FF_CLONES static void bn_range(void *vctx, size_t begin, size_t end) {
  const bn_args *b = (const bn_args *)vctx;
  const size_t C = b->channels;
  const double *restrict m = b->mean, *restrict s = b->scale, *restrict f = b->offset, *restrict d = b->denom;
  for (size_t row = begin; row < end; row++) {
    const float *restrict x = b->x + row * C;
    float *restrict o = b->out + row * C;
    for (size_t c = 0; c < C; c++) o[c] = (float)(f[c] + ((double)x[c] - m[c]) * s[c] / d[c]);
  }
}

/* batchNorm(out, x, mean, variance, scale|null, offset|null, epsilon, channels): every
 * parameter has length 1 or channels, and x.length is a multiple of channels. */
static napi_value BatchNorm(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value args[8];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 8) return throw_error(env, "T", "batchNorm(out, x, mean, variance, scale, offset, epsilon, channels)");
  float *out, *x, *p[4] = {NULL, NULL, NULL, NULL};
  size_t no, nx, np[4] = {0, 0, 0, 0};
  double eps;
  int64_t channels;
  if (!get_f32(env, args[0], &out, &no) || !get_f32(env, args[1], &x, &nx))
    return throw_error(env, "T", "batchNorm: out and x must be Float32Arrays");
  if (!get_double(env, args[6], &eps) || !get_int(env, args[7], &channels) || channels < 1)
    return throw_error(env, "R", "batchNorm: epsilon must be a number and channels a positive integer");
  const size_t C = (size_t)channels;
  for (int i = 0; i < 4; i++) {
    if (i >= 2 && is_nullish(env, args[2 + i])) continue;
    if (!get_f32(env, args[2 + i], &p[i], &np[i])) return throw_error(env, "T", "batchNorm: parameters must be Float32Arrays");
    if (np[i] != 1 && np[i] != C) return throw_error(env, "R", "batchNorm: parameters must have length 1 or channels");
  }
  if (nx % C != 0 || no < nx) return throw_error(env, "R", "batchNorm: x.length must be a multiple of channels and out as long");
  if (overlaps(out, 0, (int64_t)nx, x, 0, (int64_t)nx)) return throw_error(env, "R", "batchNorm: out must not overlap x");
  double *tab = (double *)malloc(4 * C * sizeof(double));
  if (!tab) return throw_error(env, "E", "batchNorm: out of memory");
  double *m = tab, *d = tab + C, *s = tab + 2 * C, *f = tab + 3 * C;
  for (size_t c = 0; c < C; c++) {
    m[c] = p[0][np[0] == 1 ? 0 : c];
    d[c] = sqrt((double)p[1][np[1] == 1 ? 0 : c] + eps);
    s[c] = p[2] ? p[2][np[2] == 1 ? 0 : c] : 1.0;
    f[c] = p[3] ? p[3][np[3] == 1 ? 0 : c] : 0.0;
  }
  bn_args b = {out, x, m, s, f, d, C};
  const size_t rows = nx / C;
  size_t grain = FF_GRAIN / C;
  parallel_for(rows, grain ? grain : 1, 1, bn_range, &b);
  free(tab);
  return NULL;
}

/* ----------------------------------------------------------- convolutions */

/* NHWC convolution geometry, dilation 1: x [B,H,W,Cin], filter [KH,KW,Cin,Cout],
 * y [B,OH,OW,Cout]; input row ih = oh * SH - PT + kh (likewise columns). */
typedef struct {
  int64_t B, H, W, Cin, OH, OW, Cout, KH, KW, SH, SW, PT, PL;
} conv_geom;

/* im2col scratch, kept between calls: its pages stay mapped, so later steps do not
 * pay first-touch page faults again. Grows to the largest chunk seen. One per calling
 * thread: the server's model worker threads share this addon and may convolve at once. */
static _Thread_local float *g_cols = NULL;
static _Thread_local size_t g_cols_cap = 0;
/* Chunks of images are sized to keep the scratch under this many floats (64 MB). */
#define FF_COLS_BUDGET ((size_t)1 << 24)

static float *cols_scratch(size_t floats) {
  if (floats <= g_cols_cap) return g_cols;
  free(g_cols);
  g_cols = (float *)malloc(floats * sizeof(float));
  g_cols_cap = g_cols ? floats : 0;
  return g_cols;
}

typedef struct {
  const conv_geom *g;
  const float *x; /* im2col: input images; col2im: cols */
  float *dst;     /* im2col: cols; col2im: dx */
  int64_t b0;     /* first image of the chunk */
} im2col_args;

/* Rows [begin, end) of the chunk's cols: row (b, oh, ow) = the KH x KW x Cin patch. */
static void im2col_range(void *vctx, size_t begin, size_t end) {
  const im2col_args *a = (const im2col_args *)vctx;
  const conv_geom *g = a->g;
  const int64_t K = g->KH * g->KW * g->Cin, rowLen = g->KW * g->Cin;
  for (size_t row = begin; row < end; row++) {
    const int64_t ow = (int64_t)row % g->OW, oh = ((int64_t)row / g->OW) % g->OH;
    const int64_t b = a->b0 + (int64_t)row / (g->OW * g->OH);
    float *dst = a->dst + (int64_t)row * K;
    const int64_t iw0 = ow * g->SW - g->PL;
    /* kw whose column is inside the image: [kw0, kw1) */
    int64_t kw0 = iw0 < 0 ? -iw0 : 0, kw1 = g->W - iw0;
    if (kw1 > g->KW) kw1 = g->KW;
    if (kw0 > kw1) kw0 = kw1;
    for (int64_t kh = 0; kh < g->KH; kh++) {
      const int64_t ih = oh * g->SH - g->PT + kh;
      float *d = dst + kh * rowLen;
      if (ih < 0 || ih >= g->H || kw1 <= kw0) {
        memset(d, 0, (size_t)rowLen * sizeof(float));
        continue;
      }
      if (kw0 > 0) memset(d, 0, (size_t)(kw0 * g->Cin) * sizeof(float));
      memcpy(d + kw0 * g->Cin, a->x + ((b * g->H + ih) * g->W + iw0 + kw0) * g->Cin,
             (size_t)((kw1 - kw0) * g->Cin) * sizeof(float));
      if (kw1 < g->KW) memset(d + kw1 * g->Cin, 0, (size_t)((g->KW - kw1) * g->Cin) * sizeof(float));
    }
  }
}

/* Images [begin, end) of the chunk: dx[b] += the patches of its cols rows. */
FF_CLONES static void col2im_range(void *vctx, size_t begin, size_t end) {
  const im2col_args *a = (const im2col_args *)vctx;
  const conv_geom *g = a->g;
  const int64_t K = g->KH * g->KW * g->Cin, rowLen = g->KW * g->Cin;
  for (size_t bi = begin; bi < end; bi++) {
    const int64_t b = a->b0 + (int64_t)bi;
    for (int64_t oh = 0; oh < g->OH; oh++) {
      for (int64_t ow = 0; ow < g->OW; ow++) {
        const float *src = a->x + (((int64_t)bi * g->OH + oh) * g->OW + ow) * K;
        const int64_t iw0 = ow * g->SW - g->PL;
        int64_t kw0 = iw0 < 0 ? -iw0 : 0, kw1 = g->W - iw0;
        if (kw1 > g->KW) kw1 = g->KW;
        if (kw1 <= kw0) continue;
        const size_t n = (size_t)((kw1 - kw0) * g->Cin);
        for (int64_t kh = 0; kh < g->KH; kh++) {
          const int64_t ih = oh * g->SH - g->PT + kh;
          if (ih < 0 || ih >= g->H) continue;
          float *restrict d = a->dst + ((b * g->H + ih) * g->W + iw0 + kw0) * g->Cin;
          const float *restrict s = src + kh * rowLen + kw0 * g->Cin;
          for (size_t i = 0; i < n; i++) d[i] += s[i];
        }
      }
    }
  }
}

enum { CONV_FORWARD = 0, CONV_BACKPROP_INPUT = 1, CONV_BACKPROP_FILTER = 2 };

static void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                  int64_t ldb, float beta, float *C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0 ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  cblas_sgemm(FF_CBLAS_ROW_MAJOR, ta ? FF_CBLAS_TRANS : FF_CBLAS_NO_TRANS, tb ? FF_CBLAS_TRANS : FF_CBLAS_NO_TRANS,
              (int)M, (int)N, (int)K, 1.0f, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

/* conv2d(mode, a, b, out, geometry):
 *   mode 0 (forward):         a = x,  b = filter, out = y
 *   mode 1 (backprop input):  a = dy, b = filter, out = dx
 *   mode 2 (backprop filter): a = x,  b = dy,     out = dfilter
 * geometry: Float64Array [B, H, W, Cin, OH, OW, Cout, KH, KW, SH, SW, PT, PL].
 * Patches go through an im2col scratch in chunks of whole images of at most
 * chunkFloats (default 2^24) floats, or one image; products go through sgemm. */
static napi_value Conv2d(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value args[6];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 5) return throw_error(env, "T", "conv2d(mode, a, b, out, geometry, chunkFloats?)");
  int64_t mode;
  float *a, *b, *out;
  double *gv;
  size_t na, nb, no, ng;
  if (!get_int(env, args[0], &mode) || mode > CONV_BACKPROP_FILTER) return throw_error(env, "R", "conv2d: unknown mode");
  if (!get_f32(env, args[1], &a, &na) || !get_f32(env, args[2], &b, &nb) || !get_f32(env, args[3], &out, &no))
    return throw_error(env, "T", "conv2d: a, b and out must be Float32Arrays");
  if (!get_f64(env, args[4], &gv, &ng) || ng != 13) return throw_error(env, "T", "conv2d: geometry must be a Float64Array of 13 integers");
  int64_t v[13];
  for (int i = 0; i < 13; i++) {
    if (!(gv[i] >= 0 && gv[i] <= 2147483647.0 && gv[i] == floor(gv[i])))
      return throw_error(env, "R", "conv2d: geometry values must be integers in [0, 2^31)");
    v[i] = (int64_t)gv[i];
  }
  conv_geom g = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]};
  if (g.SH < 1 || g.SW < 1) return throw_error(env, "R", "conv2d: strides must be >= 1");
  const uint64_t xLen = (uint64_t)g.B * g.H * g.W * g.Cin, yLen = (uint64_t)g.B * g.OH * g.OW * g.Cout;
  const uint64_t wLen = (uint64_t)g.KH * g.KW * g.Cin * g.Cout;
  const int64_t K = g.KH * g.KW * g.Cin, pixels = g.OH * g.OW;
  const float *x = NULL, *w = NULL, *dy = NULL;
  uint64_t outLen;
  if (mode == CONV_FORWARD) x = a, w = b, outLen = yLen;
  else if (mode == CONV_BACKPROP_INPUT) dy = a, w = b, outLen = xLen;
  else x = a, dy = b, outLen = wLen;
  if ((x && na < xLen) || (w && nb < wLen) ||
      (dy && (mode == CONV_BACKPROP_INPUT ? na : nb) < yLen) || no < outLen)
    return throw_error(env, "R", "conv2d: an array is shorter than the geometry needs");
  if (overlaps(out, 0, (int64_t)outLen, a, 0, (int64_t)na) || overlaps(out, 0, (int64_t)outLen, b, 0, (int64_t)nb))
    return throw_error(env, "R", "conv2d: out must not overlap the inputs");
  if (outLen == 0) return NULL;
  if (K == 0 || yLen == 0) { /* empty sums */
    memset(out, 0, (size_t)outLen * sizeof(float));
    return NULL;
  }

  /* Patches that are the input itself: 1x1 stride-1 unpadded kernels, and kernels
   * that cover the whole unpadded image once. */
  const bool direct = g.PT == 0 && g.PL == 0 &&
                      ((g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.OH == g.H && g.OW == g.W) ||
                       (g.KH == g.H && g.KW == g.W && g.OH == 1 && g.OW == 1));
  if (direct) {
    const int64_t rows = g.B * pixels;
    if (mode == CONV_FORWARD) sgemm(false, false, rows, g.Cout, K, x, K, w, g.Cout, 0.0f, out, g.Cout);
    else if (mode == CONV_BACKPROP_INPUT) sgemm(false, true, rows, K, g.Cout, dy, g.Cout, w, g.Cout, 0.0f, out, K);
    else sgemm(true, false, K, g.Cout, rows, x, K, dy, g.Cout, 0.0f, out, g.Cout);
    return NULL;
  }

  int64_t budget = (int64_t)FF_COLS_BUDGET;
  if (argc > 5 && !is_nullish(env, args[5]) && (!get_int(env, args[5], &budget) || budget < 1))
    return throw_error(env, "R", "conv2d: chunkFloats must be a positive integer");
  const size_t perImage = (size_t)(pixels * K);
  int64_t chunk = perImage ? (int64_t)((size_t)budget / perImage) : g.B;
  if (chunk < 1) chunk = 1;
  if (chunk > g.B) chunk = g.B;
  float *cols = cols_scratch((size_t)chunk * perImage);
  if (!cols) return throw_error(env, "E", "conv2d: out of memory for the im2col scratch");
  if (mode == CONV_BACKPROP_INPUT) memset(out, 0, (size_t)outLen * sizeof(float));
  for (int64_t b0 = 0; b0 < g.B; b0 += chunk) {
    const int64_t nImages = g.B - b0 < chunk ? g.B - b0 : chunk;
    const int64_t rows = nImages * pixels;
    im2col_args ia = {&g, NULL, cols, b0};
    if (mode == CONV_BACKPROP_INPUT) {
      sgemm(false, true, rows, K, g.Cout, dy + b0 * pixels * g.Cout, g.Cout, w, g.Cout, 0.0f, cols, K);
      ia.x = cols;
      ia.dst = out;
      parallel_for((size_t)nImages, 1, 1, col2im_range, &ia);
      continue;
    }
    ia.x = x;
    size_t grain = (size_t)(FF_GRAIN / (K ? K : 1));
    parallel_for((size_t)rows, grain ? grain : 1, 1, im2col_range, &ia);
    if (mode == CONV_FORWARD)
      sgemm(false, false, rows, g.Cout, K, cols, K, w, g.Cout, 0.0f, out + b0 * pixels * g.Cout, g.Cout);
    else
      sgemm(true, false, K, g.Cout, rows, cols, K, dy + b0 * pixels * g.Cout, g.Cout, b0 == 0 ? 0.0f : 1.0f, out, g.Cout);
  }
  return NULL;
}

/* Frees the im2col scratch (tests, or a long-lived process done with conv nets). */
static napi_value ReleaseScratch(napi_env env, napi_callback_info info) {
  (void)info;
  free(g_cols);
  g_cols = NULL;
  g_cols_cap = 0;
  napi_value out;
  CHECK_NAPI(env, napi_get_undefined(env, &out));
  return out;
}

/* ------------------------------------------------------------------ module */

int ff_define_kernels(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"binaryOp", NULL, BinaryOp, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unaryOp", NULL, UnaryOp, NULL, NULL, NULL, napi_enumerable, NULL},
      {"select", NULL, Select, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reduceSum", NULL, ReduceSum, NULL, NULL, NULL, napi_enumerable, NULL},
      {"batchNorm", NULL, BatchNorm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"conv2d", NULL, Conv2d, NULL, NULL, NULL, napi_enumerable, NULL},
      {"releaseScratch", NULL, ReleaseScratch, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
