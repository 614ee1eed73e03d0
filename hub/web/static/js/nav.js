// The header every screen shares: who is logged in, the other screens, language, logout.
import { logout, me } from "./api.js";
import { installLangToggle } from "./i18n.js";

export async function setupChrome(onLangChange) {
  installLangToggle(onLangChange);
  for (const button of document.querySelectorAll("[data-logout]")) {
    button.addEventListener("click", () => logout());
  }
  const user = await me();
  for (const el of document.querySelectorAll("[data-user]")) el.textContent = user.display_name;
  return user;
}
