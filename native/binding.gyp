{
  # fakeface_blas: OpenBLAS sgemm, fused Adam, and the element-wise, reduction,
  # batch-norm and im2col convolution kernels of the tfjs cpu backend, working on
  # the Float32Array memory of its tensors.
  # Built by scripts/build-native.mjs; optional (the JS side falls back when absent).
  "targets": [
    {
      "target_name": "fakeface_blas",
      "sources": ["fakeface_blas.c", "fakeface_kernels.c"],
      # -ffp-contract=off: no FMA contraction, so the Adam and bias/activation loops
      # round every operation like tfjs' cpu kernels (bit-equal results).
      # -fno-math-errno: lets sqrtf vectorise. -fno-trapping-math: lets select-style
      # loops (x < 0 ? a * x : x) if-convert and vectorise; results are unchanged.
      "cflags": ["-O3", "-std=c11", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-fvisibility=hidden"],
      "cflags!": ["-O2"],
      "libraries": ["-lopenblas", "-lpthread", "-lm"],
      "conditions": [
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
