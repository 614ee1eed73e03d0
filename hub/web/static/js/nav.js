// The header every screen shares: who is logged in, the other screens, language, logout.
import { logout, me } from "./api.js";
import { installLangToggle } from "./i18n.js";
import { contract } from "./meta.js";

export async function setupChrome(onLangChange) {
  installLangToggle(onLangChange);
  for (const button of document.querySelectorAll("[data-logout]")) {
    button.addEventListener("click", () => logout());
  }
  const user = await me();
  for (const el of document.querySelectorAll("[data-user]")) el.textContent = user.display_name;
  // A link to a screen only some roles may use: shown when the caller's role holds the
  // permission the screen's data needs (data-permission, read from the contract).
  for (const el of document.querySelectorAll("[data-permission]")) {
    el.hidden = !contract.roleMay(user.role, el.dataset.permission);
  }
  return user;
}
