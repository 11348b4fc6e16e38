/**
 * Topic logger (the ledgerjs `logs` shape): library code reports what it does under a topic (today 'pcsc':
 * reader and card events, context and reader errors that are states rather than failures); nothing is
 * printed unless somebody subscribed, which only the CLI does, on stderr with `--verbose`. APDUs are not
 * logged here: the redacted trace (`--trace`) and transcript (`--record`) are their one outlet. Never log a
 * secret here.
 */
export interface LogEntry {
  readonly topic: string;
  readonly message: string;
  readonly data?: Readonly<Record<string, unknown>>;
  readonly time: number;
}

export type LogListener = (entry: LogEntry) => void;

const listeners = new Set<LogListener>();

export function log(topic: string, message: string, data?: Record<string, unknown>): void {
  if (listeners.size === 0) return;
  const entry: LogEntry = data === undefined ? { topic, message, time: Date.now() } : { topic, message, data, time: Date.now() };
  for (const listener of listeners) {
    try {
      listener(entry);
    } catch {
      // A broken subscriber must not break the card exchange that logged.
    }
  }
}

/** @returns a function that removes the listener */
export function subscribe(listener: LogListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
