/**
 * `bridge down`: a request to a `bridge up` to stop its scripts and exit, the way Ctrl+C
 * does. A bridge started hidden at logon has no console to press Ctrl+C in, and ending it
 * from Task Manager would leave its AutoHotkey scripts running without a supervisor.
 *
 * One topic for every bridge, the id in the payload: client ids may contain dots
 * (`bridge.office`), which a topic segment cannot.
 */

/** The request topic; payload `{client_id}`. Only the bridge with that id answers. */
export const SHUTDOWN_TOPIC = 'bridges.shutdown';

/** What a stopping bridge answers. */
export interface ShutdownAnswer {
  stopping: true;
  pid: number;
  scripts: number;
}
