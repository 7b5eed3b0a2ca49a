// Loaded by every Tandem page (templates/base.html): the behaviour forms.js declares in markup.
import { confirmBeforeSubmit, selectOnFocus } from "./forms.js";

document.addEventListener("submit", (event) => confirmBeforeSubmit(event, (question) => window.confirm(question)));
document.addEventListener("focusin", selectOnFocus);
