/** Options every command takes. */
export interface GlobalOptions {
  readonly reader: string | undefined;
  readonly json: boolean;
  readonly trace: boolean | undefined;
  readonly debug: boolean;
  /** Seconds to wait for a card to be presented. */
  readonly wait: number;
}
