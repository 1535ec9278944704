/** Resolves after the event loop's next turn: long loops yield here so that a key waits for a slice, not the whole loop. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
