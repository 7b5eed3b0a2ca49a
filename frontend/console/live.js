// The agent's console bundle: the live view (view.js), the guidance tools (tools.js), the words for
// each step of a mode request (requests.js) and, on the console page itself (the one carrying
// #console-config), everything around the live view (page.js). One bundle, no inline script.
import { startConsolePage } from "./page.js";
import { requestStepText } from "./requests.js";
import { createTools } from "./tools.js";
import { mount } from "./view.js";

window.TandemConsole = { mount, createTools, requestStepText };

const config = document.getElementById("console-config");
if (config) startConsolePage(config);
