/**
 * One model worker thread of the server (started by ./model-pool.ts): starts its
 * own tfjs engine, loads the detection module once, then does one task at a time
 * (./model-tasks.ts) and posts progress, the result or the error back. Models stay
 * loaded between tasks (the detection module and tfjs cache them per thread).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initDetectionEngine, initEngine } from '../engine/index.js';
import { loadDetection } from './detection.js';
import { runModelTask } from './model-tasks.js';
import type { FromWorker, ToWorker, WorkerSettings } from './model-pool.js';
import { serializeError } from './worker-errors.js';

const port = parentPort!;
const settings = workerData as WorkerSettings;
const post = (message: FromWorker) => port.postMessage(message);
const running = new Map<number, AbortController>();

async function start(): Promise<void> {
  try {
    // `auto`: the backend detection runs fastest on (the workers' main task).
    const engine = settings.backend === 'auto'
      ? await initDetectionEngine({ threads: settings.threads })
      : await initEngine({ backend: settings.backend, threads: settings.threads });
    const { module, reason } = await loadDetection();
    post({ type: 'ready', engine, detection: { available: module !== null, reason } });
  } catch (error) {
    post({ type: 'start-failed', error: serializeError(error) });
    return;
  }
  port.on('message', (message: ToWorker) => {
    if (message.type === 'cancel') {
      running.get(message.id)?.abort();
      return;
    }
    const controller = new AbortController();
    running.set(message.id, controller);
    const onProgress = (done: number, total: number | null) => post({ type: 'progress', id: message.id, done, total });
    runModelTask(message.task, onProgress, controller.signal)
      .then(
        (result) => post({ type: 'done', id: message.id, result }),
        (error: unknown) => post({ type: 'failed', id: message.id, error: serializeError(error) }),
      )
      .finally(() => running.delete(message.id));
  });
}

void start();
