import { ApiError, homeFor, login, me } from "./api.js";
import { installLangToggle, t } from "./i18n.js";

installLangToggle();

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

function safeNext() {
  const next = new URLSearchParams(location.search).get("next") || "";
  // Only paths on this hub: never an absolute URL someone put in a link.
  return /^\/(wall|console|staff)(\/[\w/]*)?(\?[\w=&%.-]*)?$/.test(next) ? next : null;
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
    error.textContent = err instanceof ApiError && err.status === 429 ? t("login.rate") : t("login.failed");
    error.hidden = false;
  }
});
