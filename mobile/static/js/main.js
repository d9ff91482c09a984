// Zoufang phone client: boot, routes (#/...), and the network indicator.

import { session } from "./api.js";
import { loadMeta } from "./meta.js";
import { recover, retryAllNow, syncSoon } from "./outbox.js";
import { showHome } from "./screens/home.js";
import { showLogin } from "./screens/login.js";
import { showEditVisit, showNewVisit } from "./screens/visit_form.js";
import { showVisit, showVisits } from "./screens/visits.js";
import { go, h, mount, toast } from "./ui.js";

const routes = [
  [/^#\/visits$/, () => showVisits()],
  [/^#\/visits\/(\d+)$/, (id) => showVisit(Number(id))],
  [/^#\/visits\/(\d+)\/edit$/, (id) => showEditVisit(Number(id))],
  [/^#\/checkin\/(\d+)\/(\w+)$/, (personId, kind) => showNewVisit(Number(personId), kind)],
  [/^#\/outbox\/([\w-]+)$/, (clientId) => showNewVisit(null, null, clientId)],
];

async function route() {
  if (!session.token) {
    showLogin();
    return;
  }
  const hash = location.hash || "#/";
  for (const [pattern, show] of routes) {
    const match = hash.match(pattern);
    if (match) {
      await show(...match.slice(1));
      return;
    }
  }
  await showHome();
}

function showNetwork() {
  document.getElementById("net").hidden = navigator.onLine;
}

async function boot() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/m/sw.js", { scope: "/m/" }).catch(() => undefined);
  }
  addEventListener("hashchange", route);
  addEventListener("online", () => { showNetwork(); retryAllNow(); });
  addEventListener("offline", showNetwork);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) syncSoon(); });
  addEventListener("zoufang:unauthorized", () => {
    toast("登录已失效，请重新登录；待上传的记录已保存在手机上");
    showLogin();
  });
  addEventListener("zoufang:login", () => {
    loadMeta().catch(() => undefined);
    retryAllNow();
    go("#/");
  });
  showNetwork();
  try {
    await recover();
    await loadMeta().catch(() => undefined);
  } catch (error) {
    mount(h("div", { class: "error-box" }, error.message));
    return;
  }
  await route();
  syncSoon();
}

boot();
