/**
 * Preload (`node --import <this file's URL>`) that records, into the file named by the
 * DATE_RECORD environment variable, each way the process formats or reads a date through
 * V8's date cache: the Date methods other than the UTC getters and setters, `Date.parse`,
 * `new Date(<string>)`, and the Intl constructors. The first use of the date cache loads
 * ICU's time-zone data (hundreds of KB resident), even for `toISOString`. Each method is
 * recorded once, with the stack of its first call, as it happens (no clean exit needed).
 * Used by cli-no-time-zone.test.ts.
 */
const { appendFileSync } = process.getBuiltinModule('node:fs');

const file = process.env.DATE_RECORD;
if (!file) throw new Error('date-recorder.mjs: set DATE_RECORD to the file to record into');

const seen = new Set();
function record(name) {
  if (seen.has(name)) return;
  seen.add(name);
  const stack = (new Error().stack ?? '').split('\n').slice(3, 9).join('\n');
  appendFileSync(file, `${name}\n${stack}\n\n`);
}

// Reading the time as a number, and the UTC fields, never touch the time zone.
const FREE = /^(constructor|getTime|valueOf|setTime|getUTC\w+|setUTC\w+|\[Symbol\.\w+\])$/;
for (const name of Object.getOwnPropertyNames(Date.prototype)) {
  if (FREE.test(name)) continue;
  const original = Date.prototype[name];
  if (typeof original !== 'function') continue;
  Object.defineProperty(Date.prototype, name, {
    configurable: true,
    writable: true,
    value: {
      [name](...args) {
        record(`Date.prototype.${name}`);
        return Reflect.apply(original, this, args);
      },
    }[name],
  });
}
const parse = Date.parse;
Date.parse = function (text) {
  record('Date.parse');
  return parse(text);
};
const OriginalDate = Date;
globalThis.Date = new Proxy(OriginalDate, {
  construct(target, args, newTarget) {
    if (typeof args[0] === 'string') record('new Date(<string>)');
    return Reflect.construct(target, args, newTarget);
  },
});
for (const name of Object.getOwnPropertyNames(Intl)) {
  const original = Intl[name];
  if (typeof original !== 'function') continue;
  Intl[name] = new Proxy(original, {
    construct(target, args, newTarget) {
      record(`new Intl.${name}`);
      return Reflect.construct(target, args, newTarget);
    },
    apply(target, self, args) {
      record(`Intl.${name}`);
      return Reflect.apply(target, self, args);
    },
  });
}
