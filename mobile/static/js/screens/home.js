// 今日待访: the outbox ("N 条待上传"), returned visits with the supervisor's comment, and the due list.

import { api, session } from "../api.js";
import { cacheGet, cacheSet } from "../db.js";
import { locate } from "../geo.js";
import { kindRule, label } from "../meta.js";
import { discard, events, items, retryAllNow } from "../outbox.js";
import { dueList, search } from "../people.js";
import { formatDistance, formatTime, go, h, mount, setTitle, toast } from "../ui.js";
import { tabs } from "./tabs.js";

let lastPosition = null;

function stateText(item) {
  if (item.state === "sending" && item.progress) {
    const percent = Math.round(item.progress.fraction * 100);
    return `正在上传照片 ${item.progress.index + 1}/${item.progress.count}：${percent}%`;
  }
  if (item.state === "sending") return "正在提交…";
  if (item.state === "retry") {
    const at = new Date(item.next_try_at).toTimeString().slice(0, 8);
    return `上传失败（${item.message}），将于 ${at} 第 ${item.attempts + 1} 次重试`;
  }
  if (item.state === "error") return `未能提交：${item.message}`;
  return item.message || "等待网络";
}

function outboxItem(item, currentUserId) {
  const uploaded = item.photos.filter((photo) => photo.photo_id).length;
  const progress = h("progress", { max: 1, value: item.progress ? item.progress.fraction : 0,
    hidden: !(item.state === "sending" && item.progress) });
  const actions = item.state === "error"
    ? h("div", { class: "row" },
      h("button", { type: "button", onclick: () => go(`#/outbox/${item.client_id}`) }, "修改"),
      h("button", { type: "button", class: "danger", onclick: async () => {
        if (confirm("删除这条未上传的记录？删除后无法恢复。")) await discard(item.client_id);
      } }, "删除"))
    : null;
  return h("li", { class: "outbox-item", dataset: { clientId: item.client_id, state: item.state } },
    h("div", { class: "row" }, h("strong", { class: "grow" }, item.label),
      h("span", { class: "small muted" }, formatTime(item.created_at))),
    h("div", { class: "small muted" }, `照片 ${uploaded}/${item.photos.length} 已上传`),
    item.user_id !== currentUserId ? h("div", { class: "small state-error" }, "属于其他账号，需该账号登录后上传") : null,
    h("div", { class: `small state state-${item.state}` }, stateText(item)),
    progress,
    actions);
}

function outboxCard() {
  const card = h("section", { class: "card", id: "outbox", hidden: true });
  const render = async () => {
    const pending = await items();
    card.hidden = pending.length === 0;
    card.dataset.count = String(pending.length);
    card.replaceChildren(
      h("div", { class: "row" },
        h("h2", { class: "grow", id: "outbox-count" }, `${pending.length} 条待上传`),
        h("button", { type: "button", onclick: () => retryAllNow() }, "立即上传")),
      h("ul", { class: "list" }, pending.map((item) => outboxItem(item, session.user?.id))));
  };
  const onProgress = (event) => {
    const row = card.querySelector(`[data-client-id="${CSS.escape(event.detail.client_id)}"]`);
    if (!row) return;
    const bar = row.querySelector("progress");
    bar.hidden = false;
    bar.value = event.detail.fraction;
    row.querySelector(".state").textContent =
      `正在上传照片 ${event.detail.index + 1}/${event.detail.count}：${Math.round(event.detail.fraction * 100)}%`;
  };
  whileShown("change", render);
  whileShown("progress", onProgress);
  whileShown("sent", () => toast("一条走访记录已上传"));
  render();
  return card;
}

// A check-in started and not yet submitted (the worker went back, or the page was closed).
function draftCard() {
  const card = h("section", { id: "draft", hidden: true });
  cacheGet("draft").then((draft) => {
    if (!draft || draft.user_id !== session.user?.id) return;
    card.hidden = false;
    card.append(h("div", { class: "card notice" },
      h("div", {}, `未完成的走访：${draft.label}，开始于 ${formatTime(draft.body.started_at)}`),
      h("button", { type: "button", class: "primary block",
        onclick: () => go(`#/checkin/${draft.body.beneficiary_id}/${draft.body.kind}`) }, "继续填写")));
  });
  return card;
}

// Returned visits on top; one already corrected and waiting in the outbox is not listed twice.
function returnedCard() {
  const card = h("section", { id: "returned", hidden: true });
  const load = async () => {
    let visits;
    try {
      visits = (await api("/visits?status=returned&limit=50")).items;
      await cacheSet("returned", visits);
    } catch (error) {
      if (error.status) return;
      visits = (await cacheGet("returned")) || [];
    }
    const corrected = new Set((await items()).filter((item) => item.method === "PUT").map((item) => item.visit_id));
    visits = visits.filter((visit) => !corrected.has(visit.id));
    card.hidden = visits.length === 0;
    card.replaceChildren(h("h2", {}, `退回补充（${visits.length}）`), ...visits.map((visit) =>
      h("div", { class: "card returned-visit", dataset: { visitId: visit.id } },
        h("div", { class: "row" }, h("strong", { class: "grow" }, visit.beneficiary ? visit.beneficiary.name : "—"),
          h("span", { class: "small muted" }, label("visit_kinds", visit.kind))),
        h("div", { class: "comment" }, `督导意见：${visit.review?.comment || "（无）"}`),
        h("button", { type: "button", class: "primary block", onclick: () => go(`#/visits/${visit.id}/edit`) },
          "修改并重新提交"))));
  };
  whileShown("sent", load);
  load();
  return card;
}

// Listen to the outbox while the current screen is shown.
function whileShown(type, listener) {
  events.addEventListener(type, listener);
  addEventListener("hashchange", () => events.removeEventListener(type, listener), { once: true });
}

function personActions(person) {
  const kinds = kindRule("with_beneficiary");
  return h("div", { class: "actions" },
    kinds.includes("home_visit") && h("button", { type: "button", class: "primary block",
      onclick: () => go(`#/checkin/${person.id}/home_visit`) }, "开始走访"),
    kinds.includes("care_call") && h("button", { type: "button", class: "block",
      onclick: () => go(`#/checkin/${person.id}/care_call`) }, "电话/视频探访"),
    kinds.includes("case_service") && h("button", { type: "button", class: "block",
      onclick: () => go(`#/checkin/${person.id}/case_service`) }, "个案服务"));
}

// `expanded` remembers the person whose actions are open, so a refresh of the list (distances arriving) keeps them open.
function personRow(person, expanded) {
  const schedule = person.schedule || {};
  const tags = [];
  if (schedule.days_overdue > 0) tags.push(h("span", { class: "tag overdue" }, `逾期 ${schedule.days_overdue} 天`));
  else if (schedule.days_overdue === 0) tags.push(h("span", { class: "tag overdue" }, "今日到期"));
  if (schedule.pending_review) tags.push(h("span", { class: "tag pending" }, "待审核"));
  (person.categories || []).slice(0, 2).forEach((category) => tags.push(h("span", { class: "tag" }, category.zh)));
  const panel = h("div", { hidden: expanded.id !== person.id }, expanded.id === person.id && personActions(person));
  const row = h("li", { dataset: { personId: person.id } },
    h("button", { type: "button", class: "person", onclick: () => {
      panel.hidden = !panel.hidden;
      expanded.id = panel.hidden ? null : person.id;
      if (!panel.hidden && !panel.childElementCount) panel.append(personActions(person));
    } },
    h("div", { class: "row" }, h("span", { class: "name grow" }, person.name),
      h("span", { class: "small muted" }, formatDistance(person.distance_m))),
    h("div", { class: "small muted" }, [person.service_point?.name, person.address].filter(Boolean).join(" · ")),
    h("div", {}, tags)),
    panel);
  return row;
}

function peopleSection() {
  const list = h("ul", { class: "list", id: "people" }, h("li", { class: "muted center" }, "正在加载…"));
  const heading = h("h2", {}, "今日待访");
  const note = h("p", { class: "notice", hidden: true });
  const box = h("input", { type: "search", placeholder: "搜索姓名或拼音首字母（如 zxm）", "aria-label": "搜索服务对象" });
  let timer = null;
  let generation = 0;
  const expanded = { id: null };
  const show = async () => {
    const mine = ++generation;
    const text = box.value.trim();
    try {
      const result = text ? await search(text, lastPosition) : await dueList(lastPosition);
      if (mine !== generation) return;
      heading.textContent = text ? `搜索“${text}”` : `今日待访（${result.people.length}）`;
      note.hidden = !result.offline;
      note.textContent = "离线：显示上次联网时的名单";
      list.replaceChildren(...(result.people.length ? result.people.map((person) => personRow(person, expanded))
        : [h("li", { class: "muted center" }, text ? "没有找到" : "今天没有待访对象")]));
      // The first screen is usable from here (measured by the browser tests' timing script).
      if (!text && performance.mark) performance.mark("zoufang:due-list");
    } catch (error) {
      list.replaceChildren(h("li", { class: "error-box" }, error.message));
    }
  };
  box.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(show, 300); });
  whileShown("sent", show);
  show().then(async () => {
    // With the phone's position the list also gives each person's distance.
    try {
      lastPosition = await locate({ precise: false, timeout: 10000, maximumAge: 300000 });
      show();
    } catch { /* the list without distances is still useful */ }
  });
  return h("section", {}, box, heading, note, list);
}

export async function showHome() {
  setTitle("走访");
  const user = session.user;
  mount(
    h("p", { class: "muted small" }, `${user.display_name} · ${user.station ? user.station.name : ""}`),
    outboxCard(),
    draftCard(),
    returnedCard(),
    peopleSection(),
    tabs("home"),
  );
}
