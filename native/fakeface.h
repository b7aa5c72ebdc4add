/*
 * Shared by the two halves of the addon: fakeface_blas.c (sgemm, fused Adam,
 * bias + activation, threads) and fakeface_kernels.c (element-wise, reductions,
 * batch norm, convolutions for the tfjs cpu backend).
 */
#ifndef FAKEFACE_H
#define FAKEFACE_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CBLAS entry point (the header's location differs between distributions; enum
 * arguments are ints in the CBLAS ABI). */
enum { FF_CBLAS_ROW_MAJOR = 101, FF_CBLAS_NO_TRANS = 111, FF_CBLAS_TRANS = 112 };
extern void cblas_sgemm(int order, int transA, int transB, int M, int N, int K, float alpha,
                        const float *A, int lda, const float *B, int ldb, float beta, float *C,
                        int ldc);

/* Threads of our own loops; kept equal to OpenBLAS' count by setThreads(). */
extern int g_threads;

/* Throws a TypeError ("T..."), RangeError ("R...") or Error and returns NULL. */
napi_value throw_error(napi_env env, const char *kind, const char *msg);

#define CHECK_NAPI(env, call)                                                        \
  do {                                                                               \
    if ((call) != napi_ok) return throw_error(env, "E", "N-API call failed: " #call); \
  } while (0)

int get_bool(napi_env env, napi_value v, bool *out);
/* An integer in [0, 2^31). */
int get_int(napi_env env, napi_value v, int64_t *out);
int get_double(napi_env env, napi_value v, double *out);
int is_nullish(napi_env env, napi_value v);
/* Data pointer and length (elements) of a Float32Array / Float64Array view. */
int get_f32(napi_env env, napi_value v, float **data, size_t *len);
int get_f64(napi_env env, napi_value v, double **data, size_t *len);
int overlaps(const float *a, int64_t a0, int64_t a1, const float *b, int64_t b0, int64_t b1);

/* fn(ctx, begin, end) over [0, n) split across g_threads; chunks are multiples of align. */
typedef void (*range_fn)(void *ctx, size_t begin, size_t end);
#define FF_MAX_THREADS 64
void parallel_for(size_t n, size_t grain, size_t align, range_fn fn, void *ctx);

/* Adds fakeface_kernels.c's functions to the module's exports; 0 on failure. */
int ff_define_kernels(napi_env env, napi_value exports);
/* Adds fakeface_dnnl.c's (oneDNN convolutions, optional) likewise. */
int ff_define_dnnl(napi_env env, napi_value exports);
/* Adds fakeface_mobile.c's (depthwise conv, clip, resize: MobileNet inference) likewise. */
int ff_define_mobile(napi_env env, napi_value exports);

#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define FF_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FF_CLONES
#endif

#endif
