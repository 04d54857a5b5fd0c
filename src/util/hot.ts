/**
 * Small helpers for the event loop's hot paths, where V8 and Node do more
 * than they seem to.
 */

/**
 * Empties an array. Storing to `length` is a call into V8's runtime
 * (an accessor property) every time, also on an empty array: the loop
 * clears its lists once per wait, and most of the time they are empty.
 */
export function clear(a: unknown[]): void {
  if (a.length !== 0) a.length = 0;
}

const settled = Promise.resolve();

/**
 * Runs fn as a microtask. Node's queueMicrotask() makes an AsyncResource
 * and a bound function per call; a then() on a settled promise is one V8
 * job. An exception in fn surfaces as an unhandled rejection, which Node
 * (default --unhandled-rejections=throw) raises like an uncaught exception.
 */
export function microtask(fn: () => void): void {
  void settled.then(fn);
}
