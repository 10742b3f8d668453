// What the page bridge (sessions_app/webjs/bridge.js) finds on `window`, typed from the pinned
// wa-js package itself, so a call the 4.6.0 declarations do not have fails the check.

export {};

declare global {
  interface Window {
    // The bundle assigns its whole module namespace to window.WPP (package.json "types":
    // dist/index.d.ts). Importing it also brings wa-js's own `Window.WPPConfig: Config`
    // (dist/config/index.d.ts, `declare global`), so WPPConfig is not redeclared here: a
    // second declaration with a different type or `?` would conflict with it.
    WPP: typeof import('@wppconnect/wa-js');
    __blazz: any;
    // Set by the driver before the bundle, next to WPPConfig: the send options Blazz chooses
    // (wa-js's own default for both is true).
    __blazzSendOptions?: { markIsRead?: boolean; linkPreview?: boolean };
  }
}
