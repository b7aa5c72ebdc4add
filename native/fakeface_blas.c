/*
 * fakeface_blas: the few heavy loops of MLP GAN training, run natively on the
 * Float32Array memory of tfjs cpu-backend tensors (no copies):
 *
 *   sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
 *   sgemmBatched(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, offsets)
 *   biasActivation(C, rows, cols, bias|null, activation, alpha, preluWeights|null)
 *   adamUpdate(param, grad, m, v, lr, beta1, beta2, epsilon, accBeta1, accBeta2)
 *   setThreads(n), getThreads(), blasInfo(), retainFreedMemory()
 *
 * Matrices are row-major; A/B/C are Float32Array views (their byteOffset is
 * honoured: N-API hands out the data pointer of the view). Every extent is
 * bounds-checked against the view's length before BLAS touches memory.
 *
 * Built with -ffp-contract=off so the element-wise loops round each operation
 * exactly like tfjs' cpu kernels (which compute in double and store float32:
 * for + - * / sqrt that equals float arithmetic).
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "fakeface.h"

/* CBLAS / OpenBLAS entry points, declared here rather than included: the header's
 * location differs between distributions (Debian: openblas-pthread/cblas.h), the
 * library name does not. Enum arguments are ints in the CBLAS ABI. */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);

/* Threads used by our own element-wise loops; kept equal to OpenBLAS' count. */
int g_threads = 1;

/* ------------------------------------------------------------------ helpers */

napi_value throw_error(napi_env env, const char *kind, const char *msg) {
  if (kind[0] == 'T') napi_throw_type_error(env, NULL, msg);
  else if (kind[0] == 'R') napi_throw_range_error(env, NULL, msg);
  else napi_throw_error(env, NULL, msg);
  return NULL;
}


int get_bool(napi_env env, napi_value v, bool *out) {
  return napi_get_value_bool(env, v, out) == napi_ok;
}

int get_int(napi_env env, napi_value v, int64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (!(d >= 0 && d <= (double)INT_MAX) || d != floor(d)) return 0;
  *out = (int64_t)d;
  return 1;
}

int get_double(napi_env env, napi_value v, double *out) {
  return napi_get_value_double(env, v, out) == napi_ok;
}

int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  return t == napi_null || t == napi_undefined;
}

/* A typed array view of the wanted type: pointer to its first element and its length. */
static int get_typed_array(napi_env env, napi_value v, napi_typedarray_type wanted, void **data, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type type;
  void *ptr = NULL;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, NULL, NULL) != napi_ok) return 0;
  if (type != wanted) return 0;
  *data = ptr;
  return 1;
}

/* A Float32Array view: pointer to its first element and its length. */
int get_f32(napi_env env, napi_value v, float **data, size_t *len) {
  void *ptr = NULL;
  if (!get_typed_array(env, v, napi_float32_array, &ptr, len)) return 0;
  *data = (float *)ptr;
  return 1;
}

int get_f64(napi_env env, napi_value v, double **data, size_t *len) {
  void *ptr = NULL;
  if (!get_typed_array(env, v, napi_float64_array, &ptr, len)) return 0;
  *data = (double *)ptr;
  return 1;
}

/* Does a rows x cols row-major matrix with leading dimension ld, starting at
 * element off, fit in len elements? Sets [*first, *last) to the touched range. */
static int fits(size_t len, int64_t rows, int64_t cols, int64_t ld, int64_t off, int64_t *first,
                int64_t *last) {
  if (ld < (cols > 1 ? cols : 1)) return 0;
  if (off < 0) return 0;
  *first = off;
  *last = (rows == 0 || cols == 0) ? off : off + (rows - 1) * ld + cols;
  return *last <= (int64_t)len;
}

int overlaps(const float *a, int64_t a0, int64_t a1, const float *b, int64_t b0,
                    int64_t b1) {
  if (a1 <= a0 || b1 <= b0) return 0;
  const float *as = a + a0, *ae = a + a1, *bs = b + b0, *be = b + b1;
  return as < be && bs < ae;
}

/* Run fn over [0, n) split across g_threads (the caller takes the first part). */
typedef struct {
  range_fn fn;
  void *ctx;
  size_t begin, end;
} range_job;

static void *run_range_job(void *p) {
  range_job *job = (range_job *)p;
  job->fn(job->ctx, job->begin, job->end);
  return NULL;
}

void parallel_for(size_t n, size_t grain, size_t align, range_fn fn, void *ctx) {
  size_t nt = (size_t)g_threads;
  if (grain == 0) grain = 1;
  if (nt > n / grain) nt = n / grain;
  if (nt > FF_MAX_THREADS) nt = FF_MAX_THREADS;
  if (nt <= 1) {
    fn(ctx, 0, n);
    return;
  }
  range_job jobs[FF_MAX_THREADS];
  pthread_t tids[FF_MAX_THREADS];
  int started[FF_MAX_THREADS];
  size_t chunk = (n + nt - 1) / nt;
  if (align > 1) chunk = (chunk + align - 1) / align * align;
  for (size_t t = 0; t < nt; t++) {
    size_t b = t * chunk, e = b + chunk;
    if (b > n) b = n;
    if (e > n) e = n;
    jobs[t] = (range_job){fn, ctx, b, e};
  }
  for (size_t t = 1; t < nt; t++)
    started[t] = pthread_create(&tids[t], NULL, run_range_job, &jobs[t]) == 0;
  fn(ctx, jobs[0].begin, jobs[0].end);
  for (size_t t = 1; t < nt; t++) {
    if (started[t]) pthread_join(tids[t], NULL);
    else fn(ctx, jobs[t].begin, jobs[t].end);
  }
}


/* -------------------------------------------------------------------- sgemm */

typedef struct {
  bool ta, tb;
  int64_t M, N, K, lda, ldb, ldc;
  double alpha, beta;
  float *A, *B, *C;
  size_t lenA, lenB, lenC;
} gemm_args;

/* Parses args[0..12]; returns an error message or NULL. */
static const char *parse_gemm(napi_env env, napi_value *args, gemm_args *g) {
  if (!get_bool(env, args[0], &g->ta) || !get_bool(env, args[1], &g->tb))
    return "sgemm: transA and transB must be booleans";
  if (!get_int(env, args[2], &g->M) || !get_int(env, args[3], &g->N) ||
      !get_int(env, args[4], &g->K))
    return "sgemm: M, N, K must be integers in [0, 2^31)";
  if (!get_double(env, args[5], &g->alpha) || !get_double(env, args[10], &g->beta))
    return "sgemm: alpha and beta must be numbers";
  if (!get_f32(env, args[6], &g->A, &g->lenA) || !get_f32(env, args[8], &g->B, &g->lenB) ||
      !get_f32(env, args[11], &g->C, &g->lenC))
    return "sgemm: A, B and C must be Float32Arrays";
  if (!get_int(env, args[7], &g->lda) || !get_int(env, args[9], &g->ldb) ||
      !get_int(env, args[12], &g->ldc))
    return "sgemm: lda, ldb, ldc must be integers in [0, 2^31)";
  return NULL;
}

/* Bounds and aliasing checks for one product at element offsets oa, ob, oc. */
static const char *check_gemm(const gemm_args *g, int64_t oa, int64_t ob, int64_t oc) {
  int64_t a0, a1, b0, b1, c0, c1;
  int64_t rowsA = g->ta ? g->K : g->M, colsA = g->ta ? g->M : g->K;
  int64_t rowsB = g->tb ? g->N : g->K, colsB = g->tb ? g->K : g->N;
  if (!fits(g->lenA, rowsA, colsA, g->lda, oa, &a0, &a1))
    return "sgemm: A is too short for M, K, lda (or lda < its row length)";
  if (!fits(g->lenB, rowsB, colsB, g->ldb, ob, &b0, &b1))
    return "sgemm: B is too short for K, N, ldb (or ldb < its row length)";
  if (!fits(g->lenC, g->M, g->N, g->ldc, oc, &c0, &c1))
    return "sgemm: C is too short for M, N, ldc (or ldc < N)";
  if (overlaps(g->A, a0, a1, g->C, c0, c1) || overlaps(g->B, b0, b1, g->C, c0, c1))
    return "sgemm: C must not overlap A or B";
  return NULL;
}

static void run_gemm(const gemm_args *g, int64_t oa, int64_t ob, int64_t oc) {
  if (g->M == 0 || g->N == 0) return;
  float *C = g->C + oc;
  if (g->K == 0) { /* C = beta * C; BLAS implementations disagree on K == 0 */
    for (int64_t i = 0; i < g->M; i++)
      for (int64_t j = 0; j < g->N; j++)
        C[i * g->ldc + j] = g->beta == 0 ? 0.0f : (float)(g->beta * C[i * g->ldc + j]);
    return;
  }
  cblas_sgemm(FF_CBLAS_ROW_MAJOR, g->ta ? FF_CBLAS_TRANS : FF_CBLAS_NO_TRANS,
              g->tb ? FF_CBLAS_TRANS : FF_CBLAS_NO_TRANS, (int)g->M, (int)g->N, (int)g->K,
              (float)g->alpha, g->A + oa, (int)g->lda, g->B + ob, (int)g->ldb, (float)g->beta, C,
              (int)g->ldc);
}

static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value args[13];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 13)
    return throw_error(env, "T", "sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)");
  gemm_args g;
  const char *err = parse_gemm(env, args, &g);
  if (err) return throw_error(env, "T", err);
  err = check_gemm(&g, 0, 0, 0);
  if (err) return throw_error(env, "R", err);
  run_gemm(&g, 0, 0, 0);
  return NULL;
}

/* offsets: Float64Array of 3 * batch element offsets [a0, b0, c0, a1, b1, c1, ...]. */
static napi_value SgemmBatched(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value args[14];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 14)
    return throw_error(env, "T",
                       "sgemmBatched(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, offsets)");
  gemm_args g;
  const char *err = parse_gemm(env, args, &g);
  if (err) return throw_error(env, "T", err);
  double *offs;
  size_t nOffs;
  if (!get_f64(env, args[13], &offs, &nOffs) || nOffs % 3 != 0)
    return throw_error(env, "T", "sgemmBatched: offsets must be a Float64Array of 3 * batch offsets");
  for (size_t i = 0; i < nOffs; i++)
    if (!(offs[i] >= 0 && offs[i] <= 9007199254740991.0) || offs[i] != floor(offs[i]))
      return throw_error(env, "R", "sgemmBatched: offsets must be non-negative integers");
  for (size_t i = 0; i < nOffs; i += 3) {
    err = check_gemm(&g, (int64_t)offs[i], (int64_t)offs[i + 1], (int64_t)offs[i + 2]);
    if (err) return throw_error(env, "R", err);
  }
  for (size_t i = 0; i < nOffs; i += 3)
    run_gemm(&g, (int64_t)offs[i], (int64_t)offs[i + 1], (int64_t)offs[i + 2]);
  return NULL;
}

/* ------------------------------------------------------- bias + activation */

enum {
  ACT_LINEAR = 0,
  ACT_RELU = 1,
  ACT_RELU6 = 2,
  ACT_ELU = 3,
  ACT_LEAKYRELU = 4,
  ACT_SIGMOID = 5,
  ACT_TANH = 6,
  ACT_PRELU = 7
};

typedef struct {
  float *c;
  size_t cols;
  const float *bias;
  size_t biasLen; /* 0, 1 or cols */
  int act;
  double alpha; /* leakyrelu */
  const float *prelu;
  size_t preluLen; /* 1 or cols */
} epilogue_args;

/* Each formula mirrors the tfjs cpu kernel (which evaluates in double, stores float). */
static void epilogue_rows(void *vctx, size_t r0, size_t r1) {
  const epilogue_args *e = (const epilogue_args *)vctx;
  const size_t cols = e->cols;
  for (size_t r = r0; r < r1; r++) {
    float *row = e->c + r * cols;
    if (e->biasLen == 1) {
      const float b = e->bias[0];
      for (size_t j = 0; j < cols; j++) row[j] = row[j] + b;
    } else if (e->biasLen == cols) {
      const float *b = e->bias;
      for (size_t j = 0; j < cols; j++) row[j] = row[j] + b[j];
    }
    switch (e->act) {
      case ACT_RELU: /* Math.max(0, x): NaN stays NaN, -0 becomes +0 */
        for (size_t j = 0; j < cols; j++) {
          float x = row[j];
          row[j] = (x > 0 || x != x) ? x : 0.0f;
        }
        break;
      case ACT_RELU6: /* Math.min(Math.max(0, x), 6) */
        for (size_t j = 0; j < cols; j++) {
          float x = row[j];
          row[j] = (x != x) ? x : (x > 0 ? (x < 6 ? x : 6.0f) : 0.0f);
        }
        break;
      case ACT_ELU: /* x >= 0 ? x : Math.exp(x) - 1 */
        for (size_t j = 0; j < cols; j++) {
          float x = row[j];
          row[j] = x >= 0 ? x : (float)(exp((double)x) - 1.0);
        }
        break;
      case ACT_LEAKYRELU: /* x < 0 ? alpha * x : x, alpha a double */
        for (size_t j = 0; j < cols; j++) {
          float x = row[j];
          row[j] = x < 0 ? (float)(e->alpha * (double)x) : x;
        }
        break;
      case ACT_SIGMOID: /* 1 / (1 + Math.exp(-x)) */
        for (size_t j = 0; j < cols; j++)
          row[j] = (float)(1.0 / (1.0 + exp(-(double)row[j])));
        break;
      case ACT_TANH:
        for (size_t j = 0; j < cols; j++) row[j] = (float)tanh((double)row[j]);
        break;
      case ACT_PRELU: /* x < 0 ? a * x : x, a float32 */
        for (size_t j = 0; j < cols; j++) {
          float x = row[j];
          float a = e->prelu[e->preluLen == 1 ? 0 : j];
          row[j] = x < 0 ? a * x : x;
        }
        break;
      default:
        break;
    }
  }
}

/* biasActivation(C, rows, cols, bias|null, activation, alpha, preluWeights|null):
 * C[r, j] = act(C[r, j] + bias[j]) in place; bias and prelu weights have length 1 or cols. */
static napi_value BiasActivation(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value args[7];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 5)
    return throw_error(env, "T", "biasActivation(C, rows, cols, bias, activation, alpha?, preluWeights?)");
  epilogue_args e;
  memset(&e, 0, sizeof e);
  size_t lenC;
  int64_t rows, cols, act;
  if (!get_f32(env, args[0], &e.c, &lenC)) return throw_error(env, "T", "biasActivation: C must be a Float32Array");
  if (!get_int(env, args[1], &rows) || !get_int(env, args[2], &cols) || !get_int(env, args[4], &act) ||
      act > ACT_PRELU)
    return throw_error(env, "R", "biasActivation: rows, cols, activation must be small non-negative integers");
  if ((uint64_t)rows * (uint64_t)cols > lenC) return throw_error(env, "R", "biasActivation: C is shorter than rows * cols");
  e.cols = (size_t)cols;
  e.act = (int)act;
  if (!is_nullish(env, args[3])) {
    float *bias;
    if (!get_f32(env, args[3], &bias, &e.biasLen)) return throw_error(env, "T", "biasActivation: bias must be a Float32Array or null");
    if (e.biasLen != 1 && e.biasLen != e.cols) return throw_error(env, "R", "biasActivation: bias length must be 1 or cols");
    e.bias = bias;
  }
  e.alpha = 0.2;
  if (argc > 5 && !is_nullish(env, args[5]) && !get_double(env, args[5], &e.alpha))
    return throw_error(env, "T", "biasActivation: alpha must be a number");
  if (e.act == ACT_PRELU) {
    float *w;
    if (argc < 7 || !get_f32(env, args[6], &w, &e.preluLen) || (e.preluLen != 1 && e.preluLen != e.cols))
      return throw_error(env, "R", "biasActivation: prelu needs a Float32Array of weights of length 1 or cols");
    e.prelu = w;
  }
  if (rows == 0 || cols == 0) return NULL;
  size_t grain = 32768 / (e.cols ? e.cols : 1);
  parallel_for((size_t)rows, grain ? grain : 1, 1, epilogue_rows, &e);
  return NULL;
}

/* --------------------------------------------------------------- fused Adam */

typedef struct {
  float *p, *m, *v;
  const float *g;
  float b1, omb1, b2, omb2, omab1, omab2, eps, negLr;
} adam_args;

/* tf.train.adam's arithmetic, one float32 rounding per tensor op:
 *   m = m*b1 + g*(1-b1);  v = v*b2 + (g*g)*(1-b2)
 *   p = ((m/(1-accB1)) / (sqrt(v/(1-accB2)) + eps)) * (-lr) + p        */
FF_CLONES static void adam_range(void *vctx, size_t begin, size_t end) {
  const adam_args *a = (const adam_args *)vctx;
  float *restrict p = a->p, *restrict m = a->m, *restrict v = a->v;
  const float *restrict g = a->g;
  const float b1 = a->b1, omb1 = a->omb1, b2 = a->b2, omb2 = a->omb2;
  const float omab1 = a->omab1, omab2 = a->omab2, eps = a->eps, negLr = a->negLr;
  for (size_t i = begin; i < end; i++) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * omb1;
    const float vi = v[i] * b2 + (gi * gi) * omb2;
    m[i] = mi;
    v[i] = vi;
    const float mHat = mi / omab1;
    const float vHat = vi / omab2;
    p[i] = (mHat / (sqrtf(vHat) + eps)) * negLr + p[i];
  }
}

/* adamUpdate(param, grad, m, v, lr, beta1, beta2, epsilon, accBeta1, accBeta2):
 * accBeta1/2 are tfjs Adam's accumulated powers for this step (beta^t, float32). */
static napi_value AdamUpdate(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value args[10];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 10)
    return throw_error(env, "T", "adamUpdate(param, grad, m, v, lr, beta1, beta2, epsilon, accBeta1, accBeta2)");
  float *p, *g, *m, *v;
  size_t np, ng, nm, nv;
  if (!get_f32(env, args[0], &p, &np) || !get_f32(env, args[1], &g, &ng) ||
      !get_f32(env, args[2], &m, &nm) || !get_f32(env, args[3], &v, &nv))
    return throw_error(env, "T", "adamUpdate: param, grad, m, v must be Float32Arrays");
  if (ng != np || nm != np || nv != np)
    return throw_error(env, "R", "adamUpdate: param, grad, m, v must have the same length");
  double d[6];
  for (int i = 0; i < 6; i++)
    if (!get_double(env, args[4 + i], &d[i])) return throw_error(env, "T", "adamUpdate: hyper-parameters must be numbers");
  const float *bufs[4] = {p, g, m, v};
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++)
      if (overlaps(bufs[i], 0, (int64_t)np, bufs[j], 0, (int64_t)np))
        return throw_error(env, "R", "adamUpdate: param, grad, m, v must not overlap");
  const double lr = d[0], beta1 = d[1], beta2 = d[2], eps = d[3];
  const float accB1 = (float)d[4], accB2 = (float)d[5];
  /* Each constant is what tfjs turns the JS number into: a float32 scalar. */
  adam_args a = {p, m, v, g, (float)beta1, (float)(1.0 - beta1), (float)beta2, (float)(1.0 - beta2),
                 (float)(1.0 - (double)accB1), (float)(1.0 - (double)accB2), (float)eps, (float)(-lr)};
  parallel_for(np, 1 << 18, 16, adam_range, &a);
  return NULL;
}

/* ------------------------------------------------------------------ threads */

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  int64_t n;
  if (argc < 1 || !get_int(env, args[0], &n) || n < 1 || n > 1024)
    return throw_error(env, "R", "setThreads(n): n must be an integer >= 1");
  openblas_set_num_threads((int)n);
  g_threads = (int)n;
  return NULL;
}

static napi_value GetThreads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK_NAPI(env, napi_create_int32(env, openblas_get_num_threads(), &out));
  return out;
}

static napi_value BlasInfo(napi_env env, napi_callback_info info) {
  (void)info;
  char buf[512];
  const char *cfg = openblas_get_config();
  const char *core = openblas_get_corename();
  snprintf(buf, sizeof buf, "%s; core %s; %d threads", cfg ? cfg : "OpenBLAS", core ? core : "?",
           openblas_get_num_threads());
  napi_value out;
  CHECK_NAPI(env, napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &out));
  return out;
}

/* Tells glibc malloc to serve big blocks from its heap and keep freed memory
 * instead of mmap/munmap-ing every large ArrayBuffer: re-used pages are ~50x
 * faster to fill than fresh ones on VMs where page faults are slow. Process-wide
 * and irreversible; RSS stays at its peak. Returns false where unsupported. */
static napi_value RetainFreedMemory(napi_env env, napi_callback_info info) {
  (void)info;
  bool ok = false;
#ifdef __GLIBC__
  ok = mallopt(M_MMAP_MAX, 0) == 1;
  ok = (mallopt(M_TRIM_THRESHOLD, -1) == 1) && ok;
#endif
  napi_value out;
  CHECK_NAPI(env, napi_get_boolean(env, ok, &out));
  return out;
}

/* ------------------------------------------------------------------- module */

NAPI_MODULE_INIT() {
  g_threads = openblas_get_num_threads();
  if (g_threads < 1) g_threads = 1;
  napi_property_descriptor props[] = {
      {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sgemmBatched", NULL, SgemmBatched, NULL, NULL, NULL, napi_enumerable, NULL},
      {"biasActivation", NULL, BiasActivation, NULL, NULL, NULL, napi_enumerable, NULL},
      {"adamUpdate", NULL, AdamUpdate, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getThreads", NULL, GetThreads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"blasInfo", NULL, BlasInfo, NULL, NULL, NULL, napi_enumerable, NULL},
      {"retainFreedMemory", NULL, RetainFreedMemory, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
    return NULL;
  if (!ff_define_kernels(env, exports)) return NULL;
  if (!ff_define_dnnl(env, exports)) return NULL;
  if (!ff_define_mobile(env, exports)) return NULL;
  return exports;
}
