// The agent's console bundle: the live view (view.js) and the guidance tools (tools.js).
import { mount } from "./view.js";
import { createTools } from "./tools.js";

window.TandemConsole = { mount, createTools };
