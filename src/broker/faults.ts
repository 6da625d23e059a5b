/**
 * A test seam for the broker's failure paths. Every asynchronous or deferred step that a
 * bug could break calls the injector first; a test that makes it throw proves the step is
 * contained (the call gets -32603, the broker keeps serving) without mocking any part of
 * the broker. In production no injector is set and each check is one property read.
 */

/** The steps a fault can be injected into. */
export type FaultPoint =
  /** Running a method handler. */
  | 'dispatch'
  /** Serialising one response (alone, or one item of a batch answer). */
  | 'encode'
  /** Turning a settled `request` into its response. */
  | 'request-follow-up'
  /** Delivering one retained message to a new subscription. */
  | 'retained-replay'
  /** Gathering the `status` figures. */
  | 'status';

/** Called at each {@link FaultPoint}; throwing simulates a failure there. */
export type FaultInjector = (point: FaultPoint) => void;

/** The no-op injector used when none is given. */
export const NO_FAULTS: FaultInjector = () => {};
