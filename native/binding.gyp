{
  # fakeface_blas: OpenBLAS sgemm, fused Adam, and the element-wise, reduction,
  # batch-norm and im2col convolution kernels of the tfjs cpu backend, working on
  # the Float32Array memory of its tensors.
  # Built by scripts/build-native.mjs; optional (the JS side falls back when absent).
  # fakeface_mobile.c: depthwise convolution, clip and bilinear resize, the kernels of
  # the MobileNet inference graphs (face finding, the probe detector's backbone).
  # fakeface_dnnl.c: the convolutions through oneDNN 2.x, compiled in only where its
  # headers are (libdnnl-dev); the library itself is dlopen-ed at run time, so the
  # addon never links it and loads (falling back to im2col + sgemm) without it.
  "variables": {
    "have_dnnl": "<!(node -p \"['/usr/include/oneapi/dnnl/dnnl.h','/usr/local/include/oneapi/dnnl/dnnl.h'].some(f=>require('fs').existsSync(f))&&process.env.FAKEFACE_NO_DNNL_BUILD!=='1'?1:0\")"
  },
  "targets": [
    {
      "target_name": "fakeface_blas",
      "sources": ["fakeface_blas.c", "fakeface_kernels.c", "fakeface_dnnl.c", "fakeface_mobile.c"],
      # -ffp-contract=off: no FMA contraction, so the Adam and bias/activation loops
      # round every operation like tfjs' cpu kernels (bit-equal results).
      # -fno-math-errno: lets sqrtf vectorise. -fno-trapping-math: lets select-style
      # loops (x < 0 ? a * x : x) if-convert and vectorise; results are unchanged.
      "cflags": ["-O3", "-std=c11", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-fvisibility=hidden"],
      "cflags!": ["-O2"],
      "libraries": ["-lopenblas", "-lpthread", "-lm"],
      "conditions": [
        ["have_dnnl==1", {
          "defines": ["FF_HAVE_DNNL"],
          "libraries": ["-ldl"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "OTHER_CFLAGS": ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math"]
          },
          "libraries": [
            "-L/opt/homebrew/opt/openblas/lib",
            "-L/usr/local/opt/openblas/lib"
          ]
        }]
      ]
    }
  ]
}
