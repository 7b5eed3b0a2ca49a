// tandem-survey.js: the end card, loaded by the recorder only when a session ends with a survey to
// answer (the `ended` message carries its link), so no page pays for it before then.
import { answerUrl, sendAnswer } from "./api.js";
import { createSurveyCard } from "./card.js";

// url: the survey link from the `ended` message; base: the Tandem the widget was loaded from.
function show({ url, base, ended }) {
  const endpoint = answerUrl(base, url);
  return createSurveyCard({ ended, onSend: (stars, comment) => sendAnswer(endpoint, stars, comment) });
}

window.TandemSurvey = { show };
