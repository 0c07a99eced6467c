// Every fixture of fixtures/, run natively (`npm test`) through the component's glue,
// src/plugin.js, called as jco's bindings call it. `orderflow plugin test` runs the same
// files through the built component.

import { testFixtures } from "@orderflow/sdk/testing";
import { makePlugin } from "../src/plugin.js";

testFixtures(new URL("../fixtures/", import.meta.url), makePlugin);
