import { ApiError, homeFor, login, me } from "./api.js";
import { errorMessage, installLangToggle, t } from "./i18n.js";

installLangToggle();

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

function safeNext() {
  const next = new URLSearchParams(location.search).get("next") || "";
  // Only paths on this hub: never an absolute URL someone put in a link.
  return /^\/(wall|console|staff|reports)(\/[\w/]*)?(\?[\w=&%.-]*)?$/.test(next) ? next : null;
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  const data = new FormData(form);
  try {
    await login(String(data.get("username")).trim(), String(data.get("password")));
    const user = await me();
    location.assign(safeNext() || homeFor(user.role));
  } catch (err) {
    // A refused login is the form's own message (a bad password is not "log in again");
    // anything else (rate limit, a busy database, bad input) is the contract's, in zh/en.
    const refused = err instanceof ApiError && err.status === 401;
    error.textContent = refused ? t("login.failed") : errorMessage(err) || t("login.failed");
    error.hidden = false;
  }
});
