// The bottom navigation, and logging out (queued work stays on the phone).

import { api, session } from "../api.js";
import { go, h } from "../ui.js";

async function logout() {
  if (!confirm("退出登录？未上传的记录会保留，下次登录后继续上传。")) return;
  try { await api("/auth/logout", { method: "POST" }); } catch { /* revoked or offline: forget it here anyway */ }
  session.clear();
  go("#/");
}

export function tabs(active) {
  return h("nav", { class: "tabs" },
    h("a", { href: "#/", class: active === "home" ? "active" : "" }, "今日待访"),
    h("a", { href: "#/visits", class: active === "visits" ? "active" : "" }, "我的记录"),
    h("a", { href: "#/", onclick: (event) => { event.preventDefault(); logout(); } }, "退出"));
}
