/**
 * Preload (`node --import <this file's URL>`) that records, into the file named by the
 * ICU_RECORD environment variable, each way the process reaches ICU's data: formatting or
 * reading a date through V8's date cache (the Date methods other than the UTC getters and
 * setters, `Date.parse`, `new Date(<string>)`), which loads the time-zone data (640 KB
 * resident, even for `toISOString`), comparing or formatting by locale
 * (`String.prototype.localeCompare`, `toLocaleString` and kin), whose collation data is
 * about 3 MB, and the Intl constructors. Each is recorded once, with the stack of its
 * first call, as it happens (no clean exit needed). Used by cli-no-icu-data.test.ts.
 */
const { appendFileSync } = process.getBuiltinModule('node:fs');

const file = process.env.ICU_RECORD;
if (!file) throw new Error('icu-recorder.mjs: set ICU_RECORD to the file to record into');

const seen = new Set();
function record(name) {
  if (seen.has(name)) return;
  seen.add(name);
  const stack = (new Error().stack ?? '').split('\n').slice(3, 9).join('\n');
  appendFileSync(file, `${name}\n${stack}\n\n`);
}

// Reading the time as a number, and the UTC fields, never touch the time zone.
const FREE = /^(constructor|getTime|valueOf|setTime|getUTC\w+|setUTC\w+|\[Symbol\.\w+\])$/;
/** Replace `owner[name]` by a function that records `label`, then does what it did. */
function wrap(owner, name, label) {
  const original = owner[name];
  Object.defineProperty(owner, name, {
    configurable: true,
    writable: true,
    value: {
      [name](...args) {
        record(label);
        return Reflect.apply(original, this, args);
      },
    }[name],
  });
}
wrap(String.prototype, 'localeCompare', 'String.prototype.localeCompare');
for (const name of ['toLocaleUpperCase', 'toLocaleLowerCase']) wrap(String.prototype, name, `String.prototype.${name}`);
wrap(Number.prototype, 'toLocaleString', 'Number.prototype.toLocaleString');
wrap(BigInt.prototype, 'toLocaleString', 'BigInt.prototype.toLocaleString');
wrap(Array.prototype, 'toLocaleString', 'Array.prototype.toLocaleString');
for (const name of Object.getOwnPropertyNames(Date.prototype)) {
  if (FREE.test(name) || typeof Date.prototype[name] !== 'function') continue;
  wrap(Date.prototype, name, `Date.prototype.${name}`);
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
