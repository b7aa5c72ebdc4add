'use strict';
// Checks the addon's sgemm against a plain JS product in double precision: the proof
// that the OpenBLAS core in use computes right on this CPU (src/engine/openblas-setup.ts).
// Plain CommonJS so that the same code runs in the engine's process and, before the
// engine forces a core with OPENBLAS_CORETYPE, in a child process that may die of
// SIGILL without taking the engine with it:
//   OPENBLAS_CORETYPE=Haswell node native/sgemm-check.cjs native/build/Release/fakeface_blas.node
// prints {"info": "...", "core": "Haswell", "maxError": 1.2e-7}.

/** Deterministic values in [-1, 1). */
function randomArray(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * Largest |sgemm - reference| / sum_k |a_ik b_kj| over a few shapes (odd sizes, both
 * transposes, alpha and beta), so blocking edges and packing paths are covered. A float32
 * product's error is a few ulps of that scale (about 1e-7); wrong kernels give about 1.
 */
function sgemmMaxError(addon) {
  let maxError = 0;
  const cases = [
    { ta: false, tb: false, M: 67, N: 45, K: 129, alpha: 1, beta: 0 },
    { ta: false, tb: true, M: 33, N: 70, K: 96, alpha: 0.5, beta: 1 },
    { ta: true, tb: false, M: 128, N: 17, K: 65, alpha: 1, beta: 0.25 },
  ];
  cases.forEach(({ ta, tb, M, N, K, alpha, beta }, index) => {
    const A = randomArray(M * K, 11 + index);
    const B = randomArray(K * N, 23 + index);
    const C = randomArray(M * N, 37 + index);
    const lda = ta ? M : K;
    const ldb = tb ? K : N;
    const before = Float32Array.from(C);
    addon.sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let sum = 0;
        let scale = 0;
        for (let k = 0; k < K; k++) {
          const product = (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
          sum += product;
          scale += Math.abs(product);
        }
        const reference = alpha * sum + beta * before[i * N + j];
        const error = Math.abs(C[i * N + j] - reference) / (Math.abs(alpha) * scale + Math.abs(beta * before[i * N + j]) || 1);
        if (!(error <= maxError)) maxError = Number.isNaN(error) ? Infinity : Math.max(maxError, error);
      }
    }
  });
  return maxError;
}

/** "Zen" from blasInfo()'s "OpenBLAS 0.3.21 ...; core Zen; 2 threads", or null. */
function coreName(info) {
  const match = /; core (\S+);/.exec(info);
  return match ? match[1] : null;
}

module.exports = { sgemmMaxError, coreName };

if (require.main === module) {
  const addon = require(require('node:path').resolve(process.argv[2]));
  const info = addon.blasInfo();
  process.stdout.write(JSON.stringify({ info, core: coreName(info), maxError: sgemmMaxError(addon) }) + '\n');
}
