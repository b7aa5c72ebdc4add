/** The default JobQueue: this process's own model worker threads (src/server/model-pool.ts). */
import type { ModelPool } from '../server/model-pool.js';
import type { ModelResults, ModelTask, TaskOf } from '../server/model-tasks.js';
import type { JobQueue, JobRunOptions, QueueHealth } from './job-queue.js';

export class InProcessJobQueue implements JobQueue {
  readonly mode = 'in-process' as const;

  constructor(private readonly pool: ModelPool) {}

  run<K extends ModelTask['kind']>(task: TaskOf<K>, options: JobRunOptions = {}): Promise<ModelResults[K]> {
    return this.pool.run(task, options);
  }

  async health(): Promise<QueueHealth> {
    const active = this.pool.running;
    return { mode: 'in-process', url: null, connected: true, waiting: this.pool.queued, active, failed: 0, workers: this.pool.size, error: null };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
