// The component's entry, as the templates' (host/templates/js/src/component.js): the glue's
// exports (plugin.js), with the SDK's log lines sent to the host's `log` import. A file of
// its own, not a link: jco resolves `./plugin.js` beside the file a link points to.

import { log } from "orderflow:plugins/log@0.3.0";
import { logTo } from "./sdk.js";

logTo(log);

export * from "./plugin.js";
