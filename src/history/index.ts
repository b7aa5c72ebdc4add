/** Opens the history of checks the server was asked for (see ./check-history.ts). */
import { DisabledCheckHistory, type CheckHistory, type RetentionOptions } from './check-history.js';
import { RedisCheckHistory } from './redis-history.js';
import { SqliteCheckHistory } from './sqlite-history.js';

export * from './check-history.js';
export { SqliteCheckHistory } from './sqlite-history.js';
export { RedisCheckHistory } from './redis-history.js';

export interface HistoryChoice extends RetentionOptions {
  enabled: boolean;
  /** The SQLite file (the default store). */
  file: string;
  /** Queue mode: keep the history in this Redis instead, shared by every server on it. */
  redisUrl?: string;
  log?: (message: string) => void;
}

export function openCheckHistory(choice: HistoryChoice): CheckHistory {
  if (!choice.enabled) return new DisabledCheckHistory();
  if (choice.redisUrl !== undefined) return new RedisCheckHistory(choice.redisUrl, choice, choice.log);
  return new SqliteCheckHistory(choice.file, choice);
}
