/*
 * fakeface_dnnl: the three NHWC fp32 convolutions of the tfjs cpu backend
 * (Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter) through oneDNN's C API,
 * which picks its own AVX2 / AVX-512 / AMX kernels at run time.
 *
 * Optional twice over. At build time binding.gyp defines FF_HAVE_DNNL only where
 * oneDNN 2.x's headers are installed (libdnnl-dev); without it this file only
 * answers "not built". At run time the library is dlopen-ed (libdnnl.so.2), so an
 * addon built with it still loads, and falls back to im2col + sgemm, where the
 * library was removed later; the JS side (native-kernels-conv.ts) falls back
 * whenever dnnlConv2d returns false.
 *
 *   dnnlInfo()                                   {available, version, isa, runtime} or {available:false, reason}
 *   dnnlConv2d(mode, a, b, out, geometry)        true when oneDNN ran it, false to fall back
 *   dnnlConvImpl(mode, geometry)                 the oneDNN implementation name for that shape, or null
 *   dnnlRelease()                                frees the cached primitives
 *
 * mode and geometry are those of conv2d() in fakeface_kernels.c: 0 (x, filter) -> y,
 * 1 (dy, filter) -> dx, 2 (x, dy) -> dfilter; geometry [B, H, W, Cin, OH, OW, Cout,
 * KH, KW, SH, SW, PT, PL]. Activations stay NHWC (tfjs' layout, oneDNN's nhwc tag);
 * the filter, HWIO in tfjs, is reordered to the layout the chosen kernel wants
 * (weights change every step, so every call). Primitives are cached per shape.
 */
#define _GNU_SOURCE /* setenv, dlopen under -std=c11 */
#include "fakeface.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(FF_HAVE_DNNL) && defined(__has_include)
#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>
#elif __has_include(<dnnl.h>)
#include <dnnl.h>
#else
#undef FF_HAVE_DNNL
#endif
#endif
/* The 3.x API replaced the *_desc_init functions this file calls. */
#if defined(FF_HAVE_DNNL) && DNNL_VERSION_MAJOR != 2
#undef FF_HAVE_DNNL
#define FF_DNNL_WRONG_MAJOR 1
#endif

#ifdef FF_HAVE_DNNL
#include <dlfcn.h>

#define FF_DNNL_FUNCS(X)                                                                      \
  X(dnnl_version) X(dnnl_get_effective_cpu_isa) X(dnnl_engine_create) X(dnnl_stream_create)   \
  X(dnnl_stream_wait) X(dnnl_memory_desc_init_by_tag) X(dnnl_memory_desc_equal)                \
  X(dnnl_convolution_forward_desc_init) X(dnnl_convolution_backward_data_desc_init)            \
  X(dnnl_convolution_backward_weights_desc_init) X(dnnl_primitive_desc_create)                 \
  X(dnnl_primitive_desc_destroy) X(dnnl_primitive_desc_query) X(dnnl_primitive_desc_query_md)  \
  X(dnnl_primitive_create) X(dnnl_primitive_destroy) X(dnnl_primitive_execute)                 \
  X(dnnl_memory_create) X(dnnl_memory_destroy) X(dnnl_memory_set_data_handle)                  \
  X(dnnl_reorder_primitive_desc_create)

#define FF_DECLARE(f) static __typeof__(f) *p_##f;
FF_DNNL_FUNCS(FF_DECLARE)
#undef FF_DECLARE
static void (*p_omp_set_num_threads)(int);

/* One oneDNN call at a time: the primitive cache, engine and stream are shared by every
 * thread of the process (the server's model worker threads load this addon once). */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_state = 0; /* 0 not tried, 1 ready, -1 unavailable */
static char g_reason[200] = "";
static dnnl_engine_t g_engine;
static dnnl_stream_t g_stream;
static int g_omp_threads = 0;
/* Activations in oneDNN's blocked layout (reordered to and from NHWC each call)
 * instead of NHWC itself: FAKEFACE_DNNL_LAYOUT=blocked, for measurements. */
static int g_blocked = -1;

/* dlopen + dlsym + engine and stream; 1 when ready. Tried once. */
static int dnnl_ready(void) {
  if (g_state) return g_state > 0;
  g_state = -1;
  /* Debian's oneDNN runs on OpenMP (libgomp), whose idle threads spin for a while
   * by default; on a few cores they then take the cores from OpenBLAS' threads and
   * our own between convolutions (and from other tenants). libgomp reads this when
   * it loads, with oneDNN, so set it first; a user's own setting wins. */
  setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  void *lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!lib) lib = dlopen("libdnnl.so", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    snprintf(g_reason, sizeof g_reason, "libdnnl.so.2 not found (install libdnnl2)");
    return 0;
  }
#define FF_LOAD(f)                                                          \
  p_##f = (__typeof__(f) *)dlsym(lib, #f);                                  \
  if (!p_##f) {                                                             \
    snprintf(g_reason, sizeof g_reason, "libdnnl lacks %s", #f);            \
    return 0;                                                               \
  }
  FF_DNNL_FUNCS(FF_LOAD)
#undef FF_LOAD
  const dnnl_version_t *v = p_dnnl_version();
  if (!v || v->major != DNNL_VERSION_MAJOR) {
    snprintf(g_reason, sizeof g_reason, "libdnnl %d.x found, the addon was built for %d.x", v ? v->major : 0,
             DNNL_VERSION_MAJOR);
    return 0;
  }
  /* OpenMP builds of oneDNN (Debian's) size their pool with omp_set_num_threads. */
  p_omp_set_num_threads = (void (*)(int))dlsym(lib, "omp_set_num_threads");
  if (p_dnnl_engine_create(&g_engine, dnnl_cpu, 0) != dnnl_success ||
      p_dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags) != dnnl_success) {
    snprintf(g_reason, sizeof g_reason, "oneDNN could not create a CPU engine");
    return 0;
  }
  const char *layout = getenv("FAKEFACE_DNNL_LAYOUT");
  g_blocked = layout && strcmp(layout, "blocked") == 0;
  g_state = 1;
  return 1;
}

/* ------------------------------------------------------------- primitives */

/* One argument of a primitive: the tfjs array, and where the kernel wants another
 * layout, its own copy and the reorder between the two. */
typedef struct {
  dnnl_memory_t user;       /* handle set per call */
  dnnl_memory_t inner;      /* the kernel's layout (library-allocated), or NULL */
  dnnl_primitive_t reorder; /* user -> inner for inputs, inner -> user for the output */
} conv_arg;

typedef struct {
  int mode;
  int64_t geom[13];
  int ok; /* 0: oneDNN has no kernel for it, fall back */
  dnnl_primitive_t conv;
  conv_arg arg[3]; /* a, b, out in the order conv2d() takes them */
  char impl[96];
} conv_entry;

/* Shapes of one model are a handful; 64 covers a generator + discriminator + grads. */
#define FF_CACHE 64
static conv_entry *g_cache[FF_CACHE];
static int g_next = 0;

static void entry_free(conv_entry *e) {
  if (!e) return;
  if (e->conv) p_dnnl_primitive_destroy(e->conv);
  for (int i = 0; i < 3; i++) {
    if (e->arg[i].reorder) p_dnnl_primitive_destroy(e->arg[i].reorder);
    if (e->arg[i].inner) p_dnnl_memory_destroy(e->arg[i].inner);
    if (e->arg[i].user) p_dnnl_memory_destroy(e->arg[i].user);
  }
  free(e);
}

#define OK(call) ((call) == dnnl_success)

static dnnl_memory_t memory_for(const dnnl_memory_desc_t *md, void *handle) {
  dnnl_memory_t m = NULL;
  return OK(p_dnnl_memory_create(&m, md, g_engine, handle)) ? m : NULL;
}

/* The exec-arg ids and pd queries of a, b, out per mode. */
static const int ARG_IDS[3][3] = {{DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                                  {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC},
                                  {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS}};
static const dnnl_query_t ARG_QUERIES[3][3] = {
    {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md},
    {dnnl_query_diff_dst_md, dnnl_query_weights_md, dnnl_query_diff_src_md},
    {dnnl_query_src_md, dnnl_query_diff_dst_md, dnnl_query_diff_weights_md}};

/* User memory for arg i, plus the kernel's copy and a reorder where layouts differ. */
static int arg_build(conv_arg *arg, const dnnl_memory_desc_t *user, const dnnl_memory_desc_t *inner, int isOutput) {
  if (!inner || !(arg->user = memory_for(user, DNNL_MEMORY_NONE))) return 0;
  if (p_dnnl_memory_desc_equal(user, inner)) return 1;
  /* blocked layouts pad channels up to the block: the library sizes the copy */
  if (!(arg->inner = memory_for(inner, DNNL_MEMORY_ALLOCATE))) return 0;
  dnnl_primitive_desc_t rpd = NULL;
  if (!OK(isOutput ? p_dnnl_reorder_primitive_desc_create(&rpd, inner, g_engine, user, g_engine, NULL)
                   : p_dnnl_reorder_primitive_desc_create(&rpd, user, g_engine, inner, g_engine, NULL)))
    return 0;
  dnnl_status_t s = p_dnnl_primitive_create(&arg->reorder, rpd);
  p_dnnl_primitive_desc_destroy(rpd);
  return s == dnnl_success;
}

/* Builds the primitive for one (mode, geometry); e->ok stays 0 where oneDNN declines. */
static void entry_build(conv_entry *e) {
  const int64_t *v = e->geom;
  const int64_t B = v[0], H = v[1], W = v[2], Cin = v[3], OH = v[4], OW = v[5], Cout = v[6];
  const int64_t KH = v[7], KW = v[8], SH = v[9], SW = v[10], PT = v[11], PL = v[12];
  /* tfjs gives top/left; the bottom/right padding is what the output size implies
   * (never negative: rows past the last window are simply unused). Where that does
   * not give tfjs' output size (its numeric padding sizes both output dims with the
   * filter's height), oneDNN declines the shape and im2col runs it. */
  int64_t PB = (OH - 1) * SH + KH - H - PT, PR = (OW - 1) * SW + KW - W - PL;
  if (PB < 0) PB = 0;
  if (PR < 0) PR = 0;
  dnnl_dims_t srcDims = {B, Cin, H, W}, dstDims = {B, Cout, OH, OW}, wDims = {Cout, Cin, KH, KW};
  dnnl_dims_t strides = {SH, SW}, padL = {PT, PL}, padR = {PB, PR};
  const dnnl_format_tag_t act = g_blocked ? dnnl_format_tag_any : dnnl_nhwc;
  dnnl_memory_desc_t src, dst, w, srcK, dstK, wK; /* the user's (tfjs') layouts, and what the kernel may pick */
  if (!OK(p_dnnl_memory_desc_init_by_tag(&src, 4, srcDims, dnnl_f32, dnnl_nhwc)) ||
      !OK(p_dnnl_memory_desc_init_by_tag(&dst, 4, dstDims, dnnl_f32, dnnl_nhwc)) ||
      !OK(p_dnnl_memory_desc_init_by_tag(&w, 4, wDims, dnnl_f32, dnnl_hwio)) ||
      !OK(p_dnnl_memory_desc_init_by_tag(&srcK, 4, srcDims, dnnl_f32, act)) ||
      !OK(p_dnnl_memory_desc_init_by_tag(&dstK, 4, dstDims, dnnl_f32, act)) ||
      !OK(p_dnnl_memory_desc_init_by_tag(&wK, 4, wDims, dnnl_f32, dnnl_format_tag_any)))
    return;

  dnnl_convolution_desc_t fwdDesc, desc;
  dnnl_primitive_desc_t fwdPd = NULL, pd = NULL;
  if (!OK(p_dnnl_convolution_forward_desc_init(&fwdDesc, dnnl_forward_training, dnnl_convolution_direct, &srcK,
                                               &wK, NULL, &dstK, strides, padL, padR)) ||
      !OK(p_dnnl_primitive_desc_create(&fwdPd, &fwdDesc, NULL, g_engine, NULL)))
    goto done;
  if (e->mode == 0) {
    pd = fwdPd;
    fwdPd = NULL;
  } else if (e->mode == 1) {
    if (!OK(p_dnnl_convolution_backward_data_desc_init(&desc, dnnl_convolution_direct, &srcK, &wK, &dstK, strides,
                                                       padL, padR)) ||
        !OK(p_dnnl_primitive_desc_create(&pd, &desc, NULL, g_engine, fwdPd)))
      goto done;
  } else {
    if (!OK(p_dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct, &srcK, &wK, NULL, &dstK,
                                                          strides, padL, padR)) ||
        !OK(p_dnnl_primitive_desc_create(&pd, &desc, NULL, g_engine, fwdPd)))
      goto done;
  }
  const char *impl = NULL;
  if (OK(p_dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, (void *)&impl)) && impl)
    snprintf(e->impl, sizeof e->impl, "%s", impl);
  if (!OK(p_dnnl_primitive_create(&e->conv, pd))) goto done;
  const dnnl_memory_desc_t *user[3][3] = {{&src, &w, &dst}, {&dst, &w, &src}, {&src, &dst, &w}};
  for (int i = 0; i < 3; i++)
    if (!arg_build(&e->arg[i], user[e->mode][i], p_dnnl_primitive_desc_query_md(pd, ARG_QUERIES[e->mode][i], 0), i == 2))
      goto done;
  e->ok = 1;
done:
  if (pd) p_dnnl_primitive_desc_destroy(pd);
  if (fwdPd) p_dnnl_primitive_desc_destroy(fwdPd);
}

/* The cached entry for (mode, geometry), built on first use; NULL when out of memory. */
static conv_entry *entry_get(int mode, const int64_t *geom) {
  for (int i = 0; i < FF_CACHE; i++) {
    conv_entry *e = g_cache[i];
    if (e && e->mode == mode && memcmp(e->geom, geom, sizeof e->geom) == 0) return e;
  }
  conv_entry *e = (conv_entry *)calloc(1, sizeof *e);
  if (!e) return NULL;
  e->mode = mode;
  memcpy(e->geom, geom, sizeof e->geom);
  entry_build(e);
  entry_free(g_cache[g_next]); /* round robin: a model that cycles through more shapes rebuilds */
  g_cache[g_next] = e;
  g_next = (g_next + 1) % FF_CACHE;
  return e;
}

static int reorder(const conv_arg *arg, int toInner) {
  dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, toInner ? arg->user : arg->inner},
                          {DNNL_ARG_TO, toInner ? arg->inner : arg->user}};
  return OK(p_dnnl_primitive_execute(arg->reorder, g_stream, 2, r));
}

/* Runs e on the three arrays; 1 on success. */
static int entry_run(conv_entry *e, float *a, float *b, float *out) {
  if (p_omp_set_num_threads && g_omp_threads != g_threads) {
    p_omp_set_num_threads(g_threads);
    g_omp_threads = g_threads;
  }
  float *arrays[3] = {a, b, out};
  dnnl_exec_arg_t args[3];
  for (int i = 0; i < 3; i++) {
    conv_arg *arg = &e->arg[i];
    if (!OK(p_dnnl_memory_set_data_handle(arg->user, arrays[i]))) return 0;
    if (arg->reorder && i < 2 && !reorder(arg, 1)) return 0;
    args[i] = (dnnl_exec_arg_t){ARG_IDS[e->mode][i], arg->inner ? arg->inner : arg->user};
  }
  if (!OK(p_dnnl_primitive_execute(e->conv, g_stream, 3, args))) return 0;
  if (e->arg[2].reorder && !reorder(&e->arg[2], 0)) return 0;
  return OK(p_dnnl_stream_wait(g_stream));
}

static const char *isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse4.1";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
  }
}
#endif /* FF_HAVE_DNNL */

/* ------------------------------------------------------------------ N-API */

static napi_value set_string(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) != napi_ok) return NULL;
  return napi_set_named_property(env, obj, key, v) == napi_ok ? obj : NULL;
}

static napi_value DnnlInfo(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj, flag;
  CHECK_NAPI(env, napi_create_object(env, &obj));
#ifdef FF_HAVE_DNNL
  pthread_mutex_lock(&g_lock);
  const int ready = dnnl_ready();
  pthread_mutex_unlock(&g_lock);
  CHECK_NAPI(env, napi_get_boolean(env, ready, &flag));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "available", flag));
  if (!ready) return set_string(env, obj, "reason", g_reason);
  const dnnl_version_t *v = p_dnnl_version();
  char buf[64];
  snprintf(buf, sizeof buf, "%d.%d.%d", v->major, v->minor, v->patch);
  if (!set_string(env, obj, "version", buf)) return NULL;
  if (!set_string(env, obj, "isa", isa_name(p_dnnl_get_effective_cpu_isa()))) return NULL;
  const char *runtime = v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP"
                        : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB"
                        : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential"
                                                              : "threadpool";
  return set_string(env, obj, "runtime", runtime);
#else
  CHECK_NAPI(env, napi_get_boolean(env, false, &flag));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "available", flag));
#ifdef FF_DNNL_WRONG_MAJOR
  return set_string(env, obj, "reason", "built against a oneDNN other than 2.x (not supported)");
#else
  return set_string(env, obj, "reason", "addon built without oneDNN headers (install libdnnl-dev, then npm run build:native)");
#endif
#endif
}

/* mode and geometry from args[0], args[n]; 0 with a pending exception. */
static int parse_mode_geometry(napi_env env, napi_value modeArg, napi_value geomArg, int64_t *mode, int64_t *v) {
  double *gv;
  size_t ng;
  if (!get_int(env, modeArg, mode) || *mode > 2) return throw_error(env, "R", "dnnl: unknown mode"), 0;
  if (!get_f64(env, geomArg, &gv, &ng) || ng != 13)
    return throw_error(env, "T", "dnnl: geometry must be a Float64Array of 13 integers"), 0;
  for (int i = 0; i < 13; i++) {
    if (!(gv[i] >= 0 && gv[i] <= 2147483647.0 && gv[i] == floor(gv[i])))
      return throw_error(env, "R", "dnnl: geometry values must be integers in [0, 2^31)"), 0;
    v[i] = (int64_t)gv[i];
  }
  if (v[9] < 1 || v[10] < 1) return throw_error(env, "R", "dnnl: strides must be >= 1"), 0;
  return 1;
}

static napi_value DnnlConv2d(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5], result;
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 5) return throw_error(env, "T", "dnnlConv2d(mode, a, b, out, geometry)");
  int64_t mode, v[13];
  float *a, *b, *out;
  size_t na, nb, no;
  if (!parse_mode_geometry(env, args[0], args[4], &mode, v)) return NULL;
  if (!get_f32(env, args[1], &a, &na) || !get_f32(env, args[2], &b, &nb) || !get_f32(env, args[3], &out, &no))
    return throw_error(env, "T", "dnnlConv2d: a, b and out must be Float32Arrays");
  const uint64_t xLen = (uint64_t)v[0] * v[1] * v[2] * v[3], yLen = (uint64_t)v[0] * v[4] * v[5] * v[6];
  const uint64_t wLen = (uint64_t)v[7] * v[8] * v[3] * v[6];
  const uint64_t lens[3][3] = {{xLen, wLen, yLen}, {yLen, wLen, xLen}, {xLen, yLen, wLen}};
  const uint64_t *need = lens[mode];
  if (na < need[0] || nb < need[1] || no < need[2])
    return throw_error(env, "R", "dnnlConv2d: an array is shorter than the geometry needs");
  if (overlaps(out, 0, (int64_t)need[2], a, 0, (int64_t)na) || overlaps(out, 0, (int64_t)need[2], b, 0, (int64_t)nb))
    return throw_error(env, "R", "dnnlConv2d: out must not overlap the inputs");
  bool ran = false;
#ifdef FF_HAVE_DNNL
  /* empty tensors: oneDNN rejects zero dims; the im2col path handles them */
  bool empty = need[0] == 0 || need[1] == 0 || need[2] == 0;
  pthread_mutex_lock(&g_lock);
  if (!empty && dnnl_ready()) {
    conv_entry *e = entry_get((int)mode, v);
    ran = e && e->ok && entry_run(e, a, b, out);
  }
  pthread_mutex_unlock(&g_lock);
#else
  (void)a, (void)b, (void)out;
#endif
  CHECK_NAPI(env, napi_get_boolean(env, ran, &result));
  return result;
}

static napi_value DnnlConvImpl(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2], result;
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 2) return throw_error(env, "T", "dnnlConvImpl(mode, geometry)");
  int64_t mode, v[13];
  if (!parse_mode_geometry(env, args[0], args[1], &mode, v)) return NULL;
#ifdef FF_HAVE_DNNL
  char impl[sizeof ((conv_entry *)0)->impl];
  impl[0] = 0;
  pthread_mutex_lock(&g_lock);
  if (dnnl_ready()) {
    conv_entry *e = entry_get((int)mode, v);
    if (e && e->ok) snprintf(impl, sizeof impl, "%s", e->impl);
  }
  pthread_mutex_unlock(&g_lock);
  if (impl[0]) {
    CHECK_NAPI(env, napi_create_string_utf8(env, impl, NAPI_AUTO_LENGTH, &result));
    return result;
  }
#endif
  CHECK_NAPI(env, napi_get_null(env, &result));
  return result;
}

static napi_value DnnlRelease(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef FF_HAVE_DNNL
  pthread_mutex_lock(&g_lock);
  if (g_state > 0) {
    for (int i = 0; i < FF_CACHE; i++) {
      entry_free(g_cache[i]);
      g_cache[i] = NULL;
    }
    g_next = 0;
  }
  pthread_mutex_unlock(&g_lock);
#endif
  napi_value out;
  CHECK_NAPI(env, napi_get_undefined(env, &out));
  return out;
}

int ff_define_dnnl(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"dnnlInfo", NULL, DnnlInfo, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dnnlConv2d", NULL, DnnlConv2d, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dnnlConvImpl", NULL, DnnlConvImpl, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dnnlRelease", NULL, DnnlRelease, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
