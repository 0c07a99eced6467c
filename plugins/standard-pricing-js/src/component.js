// The component's entry: the glue's exports (plugin.js), with the SDK's log lines sent to
// the host's `log` import (contract 0.5.0). Kept apart from plugin.js, which the unit tests
// import under Node, where the host's interface does not exist. Every project `orderflow
// plugin new --lang js` writes has this file.

import { log } from "orderflow:plugins/log@0.5.0";
import { logTo } from "@orderflow/sdk";

logTo(log);

export * from "./plugin.js";
