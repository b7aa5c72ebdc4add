{
  # fakeface_blas: OpenBLAS sgemm + fused Adam / bias+activation loops working in
  # place on the Float32Array memory of tfjs cpu-backend tensors.
  # Built by scripts/build-native.mjs; optional (the JS side falls back when absent).
  "targets": [
    {
      "target_name": "fakeface_blas",
      "sources": ["fakeface_blas.c"],
      # -ffp-contract=off: no FMA contraction, so the Adam and bias/activation loops
      # round every operation like tfjs' cpu kernels (bit-equal results).
      # -fno-math-errno: lets sqrtf vectorise.
      "cflags": ["-O3", "-std=c11", "-ffp-contract=off", "-fno-math-errno", "-fvisibility=hidden"],
      "cflags!": ["-O2"],
      "libraries": ["-lopenblas", "-lpthread", "-lm"],
      "conditions": [
        ["OS=='mac'", {
          "xcode_settings": {
            "OTHER_CFLAGS": ["-O3", "-ffp-contract=off", "-fno-math-errno"]
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
