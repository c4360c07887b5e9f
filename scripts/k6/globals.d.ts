// k6 has a console; the k6 typings leave it to the DOM library, which these scripts do not load.
declare const console: {
  log(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
};
