/**
 * What the name `localhost` stands for, to the broker and to its clients alike: both
 * loopback addresses. Many Windows machines resolve `localhost` to ::1 first, and Python's
 * and AutoHotkey's clients may reach the broker on either.
 */

/** The addresses `host` stands for: both loopback addresses for `localhost`, else `host` itself. */
export function addressesOf(host: string): string[] {
  return host === 'localhost' ? ['127.0.0.1', '::1'] : [host];
}
