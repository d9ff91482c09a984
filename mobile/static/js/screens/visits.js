// 我的记录: every visit of the worker with its review status and the supervisor's comment.

import { api } from "../api.js";
import { cacheGet, cacheSet } from "../db.js";
import { label } from "../meta.js";
import { events } from "../outbox.js";
import { formatTime, go, h, mount, setTitle } from "../ui.js";
import { tabs } from "./tabs.js";

function visitRow(visit) {
  return h("li", {},
    h("button", { type: "button", class: "person visit", dataset: { visitId: visit.id, status: visit.status },
      onclick: () => go(`#/visits/${visit.id}`) },
    h("div", { class: "row" },
      h("span", { class: "name grow" }, visit.beneficiary ? visit.beneficiary.name : label("visit_kinds", visit.kind)),
      h("strong", { class: `status status-${visit.status}` }, label("visit_statuses", visit.status))),
    h("div", { class: "small muted" }, `${label("visit_kinds", visit.kind)} · ${formatTime(visit.started_at)}`),
    visit.review && visit.review.comment && h("div", { class: "comment small" }, `督导意见：${visit.review.comment}`)));
}

export async function showVisits() {
  setTitle("我的记录");
  const list = h("ul", { class: "list", id: "visits" }, h("li", { class: "muted center" }, "正在加载…"));
  const note = h("p", { class: "notice", hidden: true }, "离线：显示上次联网时的记录");
  const more = h("button", { type: "button", class: "block", hidden: true }, "加载更多");
  let cursor = null;
  const load = async (first) => {
    try {
      const page = await api(`/visits?limit=30${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      if (first) {
        list.replaceChildren();
        await cacheSet("visits", page.items);
      }
      list.append(...page.items.map(visitRow));
      if (first && !page.items.length) list.append(h("li", { class: "muted center" }, "还没有走访记录"));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      if (error.status) { list.replaceChildren(h("li", { class: "error-box" }, error.message)); return; }
      if (first) {
        note.hidden = false;
        list.replaceChildren(...((await cacheGet("visits")) || []).map(visitRow));
      }
    }
  };
  more.addEventListener("click", () => load(false));
  const refresh = () => { cursor = null; load(true); };
  events.addEventListener("sent", refresh);
  addEventListener("hashchange", () => events.removeEventListener("sent", refresh), { once: true });
  mount(h("button", { type: "button", class: "block", onclick: refresh }, "刷新"), note, list, more, tabs("visits"));
  await load(true);
}

export async function showVisit(visitId) {
  setTitle("走访记录");
  let visit;
  try {
    visit = await api(`/visits/${visitId}`);
  } catch (error) {
    visit = ((await cacheGet("visits")) || []).find((candidate) => candidate.id === visitId);
    if (!visit) { mount(h("div", { class: "error-box" }, error.message), tabs("visits")); return; }
  }
  const findings = Object.entries(visit.findings || {}).map(([area, finding]) =>
    h("li", {}, `${label("finding_areas", area)}：${label("finding_values", finding.value)}${finding.note ? `（${finding.note}）` : ""}`));
  mount(
    h("div", { class: "card", id: "visit-detail", dataset: { status: visit.status } },
      h("div", { class: "row" },
        h("strong", { class: "grow" }, visit.beneficiary ? visit.beneficiary.name : "—"),
        h("strong", { class: `status status-${visit.status}` }, label("visit_statuses", visit.status))),
      h("div", { class: "small muted" }, `${label("visit_kinds", visit.kind)} · ${formatTime(visit.started_at)} – ${formatTime(visit.ended_at)}`),
      visit.review && h("div", { class: "comment" },
        `${visit.review.reviewer} ${formatTime(visit.review.reviewed_at)}：${visit.review.comment || "（无意见）"}`),
      visit.services.length > 0 && h("p", {}, "服务：", visit.services.map((code) => label("services", code)).join("、")),
      findings.length > 0 && h("ul", {}, findings),
      visit.needs.length > 0 && h("p", {}, "需求：", visit.needs.map((code) => label("needs", code)).join("、")),
      visit.notes && h("p", {}, visit.notes),
      h("p", { class: "small muted" }, `照片 ${visit.photos.length} 张`),
      (visit.warnings || []).map((warning) => h("div", { class: "notice small" }, warning.message)),
      visit.status === "returned" && h("button", { type: "button", class: "primary block",
        onclick: () => go(`#/visits/${visit.id}/edit`) }, "修改并重新提交")),
    tabs("visits"));
}
