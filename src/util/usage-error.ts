/** Bad input from the user: one line on stderr and exit code 2, never a stack trace. */
export class UsageError extends Error {}
