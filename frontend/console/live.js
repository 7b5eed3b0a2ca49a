// The agent's console bundle: the live view (view.js), the guidance tools (tools.js) and the words
// for each step of a mode request (requests.js).
import { mount } from "./view.js";
import { createTools } from "./tools.js";
import { requestStepText } from "./requests.js";

window.TandemConsole = { mount, createTools, requestStepText };
