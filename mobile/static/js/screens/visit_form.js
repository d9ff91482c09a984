// The check-in form: 开始走访 records the start and the position, photos are kept on the phone as they are
// taken, 结束并提交 queues the visit in the outbox. The same form corrects a returned visit (PUT) or an
// outbox item the server refused.

import { api, photoObjectUrl, session } from "../api.js";
import { CACHE, cacheGet, cacheSet, remove } from "../db.js";
import { locate } from "../geo.js";
import { kindRule, label, limit, vocabulary } from "../meta.js";
import { enqueue, forgetPhotos, items, keepPhoto, nowWithOffset, photoBlob } from "../outbox.js";
import { person as findPerson } from "../people.js";
import { choice, formatDistance, formatTime, go, h, mount, setTitle, showFieldErrors, toast } from "../ui.js";

const DRAFT_KEY = "draft";

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function emptyBody(personId, kind) {
  return {
    beneficiary_id: personId, kind, services: [], domains: [], started_at: nowWithOffset(), ended_at: null,
    location: null, notes: "", findings: {}, needs: [], follow_up_needed: false, follow_up_due: null,
    photo_consent: false, people_count: 1, mock_location: false,
  };
}

// New check-in (personId, kind), or the outbox item `clientId` to correct.
export async function showNewVisit(personId, kind, clientId) {
  if (clientId) {
    const item = (await items()).find((candidate) => candidate.client_id === clientId);
    if (!item) { go("#/"); return; }
    await render({ mode: "outbox", item, client_id: item.client_id, body: { ...item.body }, photos: item.photos,
      method: item.method, visit_id: item.visit_id, label: item.label, created_at: item.created_at,
      errors: { message: item.message, fields: item.fields } });
    return;
  }
  let draft = await cacheGet(DRAFT_KEY);
  if (!draft || draft.body.beneficiary_id !== personId || draft.body.kind !== kind || draft.user_id !== session.user.id) {
    if (draft) await forgetPhotos(draft.photos.map((photo) => photo.key)).catch(() => undefined);
    const who = await findPerson(personId);
    draft = { mode: "new", client_id: newClientId(), user_id: session.user.id, body: emptyBody(personId, kind),
      photos: [], method: "POST", label: `${who ? who.name : "服务对象"} · ${label("visit_kinds", kind)}` };
    await cacheSet(DRAFT_KEY, draft);
  }
  await render(draft);
}

// A returned visit: the supervisor's comment, the fields as stored, its photos; resubmitted with PUT.
export async function showEditVisit(visitId) {
  let visit;
  try {
    visit = await api(`/visits/${visitId}`);
  } catch (error) {
    if (error.status) { mount(h("div", { class: "error-box" }, error.message)); return; }
    visit = ((await cacheGet("returned")) || []).find((candidate) => candidate.id === visitId);
    if (!visit) { mount(h("div", { class: "error-box" }, "离线：这条记录还没有保存在手机上，请联网后再打开")); return; }
  }
  if (visit.status !== "returned") { go(`#/visits/${visitId}`); return; }
  const body = {
    beneficiary_id: visit.beneficiary ? visit.beneficiary.id : null, kind: visit.kind, services: visit.services,
    domains: visit.domains, started_at: visit.started_at, ended_at: visit.ended_at, location: visit.location,
    notes: visit.notes, findings: visit.findings, needs: visit.needs, follow_up_needed: visit.follow_up_needed,
    follow_up_due: visit.follow_up_due, photo_consent: visit.photo_consent, people_count: visit.people_count,
    coworker_ids: (visit.coworkers || []).map((coworker) => coworker.id), mock_location: visit.mock_location,
  };
  const photos = visit.photos.map((photo) => ({ key: null, photo_id: photo.id, thumb_url: photo.thumb_url,
    name: `photo-${photo.id}.jpg`, size: photo.bytes }));
  await render({ mode: "returned", client_id: `visit-${visit.id}-r${visit.revision}`, body, photos, method: "PUT",
    visit_id: visit.id, comment: visit.review?.comment,
    label: `${visit.beneficiary ? visit.beneficiary.name : "走访"} · ${label("visit_kinds", visit.kind)}（重新提交）` });
}

function photoTile(photo, onRemove) {
  const image = h("img", { alt: "照片" });
  if (photo.key) {
    photoBlob(photo.key).then((blob) => { if (blob) image.src = URL.createObjectURL(blob); });
  } else if (photo.thumb_url) {
    photoObjectUrl(photo.thumb_url).then((url) => { image.src = url; }).catch(() => undefined);
  }
  return h("div", { class: "photo" }, image,
    h("button", { type: "button", "aria-label": "删除照片", onclick: onRemove }, "删除"));
}

function checkboxes(name, vocabularyName, selected) {
  return h("div", { class: "choices", "data-error-for": name },
    vocabulary(vocabularyName).map((entry) => choice("checkbox", name, entry.code, entry.zh, selected.includes(entry.code))));
}

function findingsBlock(findings) {
  return h("div", { "data-error-for": "findings" }, vocabulary("finding_areas").map((area) => {
    const current = findings[area.code] || {};
    return h("div", { class: "finding", "data-error-for": `findings.${area.code}` },
      h("div", { class: "field" }, area.zh),
      h("div", { class: "choices" }, vocabulary("finding_values").map((value) =>
        choice("radio", `finding-${area.code}`, value.code, value.zh, current.value === value.code))),
      h("input", { type: "text", name: `finding-note-${area.code}`, placeholder: "备注（可不填）", maxlength: 500,
        value: current.note || "" }),
      h("div", { "data-error-for": `findings.${area.code}.note` }));
  }));
}

function readForm(form, draft) {
  const checked = (name) => Array.from(form.querySelectorAll(`input[name="${name}"]:checked`), (input) => input.value);
  const findings = {};
  vocabulary("finding_areas").forEach((area) => {
    const value = form.querySelector(`input[name="finding-${area.code}"]:checked`);
    const note = form.querySelector(`input[name="finding-note-${area.code}"]`).value.trim();
    if (value) findings[area.code] = { value: value.value, note };
  });
  const followUp = form.querySelector("input[name=follow_up_needed]").checked;
  const people = parseInt(form.querySelector("input[name=people_count]").value, 10);
  return {
    ...draft.body,
    kind: form.querySelector("[name=kind]") ? form.querySelector("[name=kind]").value : draft.body.kind,
    services: checked("services"),
    findings,
    needs: checked("needs"),
    follow_up_needed: followUp,
    follow_up_due: followUp ? (form.querySelector("input[name=follow_up_due]").value || null) : null,
    people_count: Number.isFinite(people) ? people : 1,
    photo_consent: form.querySelector("input[name=photo_consent]").checked,
    notes: form.querySelector("textarea[name=notes]").value.trim(),
  };
}

function localProblems(draft) {
  const fields = {};
  const { kind, location } = draft.body;
  if (!kindRule("without_location").includes(kind) && !location) fields.location = ["需要签到位置：请允许定位后点“重新定位”"];
  if (kindRule("requiring_photo").includes(kind) && !draft.photos.length) fields.photo_ids = ["入户走访至少需要一张照片"];
  return Object.keys(fields).length ? { message: "还不能提交，请检查以下内容", fields } : null;
}

async function render(draft) {
  const who = await findPerson(draft.body.beneficiary_id);
  const kind = draft.body.kind;
  const remote = kindRule("without_location").includes(kind);
  const saveDraft = () => (draft.mode === "new" ? cacheSet(DRAFT_KEY, draft) : Promise.resolve());
  setTitle(remote ? "电话/视频探访" : draft.mode === "returned" ? "修改退回的记录" : "走访签到");

  // Position: taken when the visit starts, retaken on demand.
  const place = h("div", { class: "small", "data-error-for": "location" });
  const showPlace = (text, problem) => place.replaceChildren(h("span", { class: problem ? "state-error" : "" }, text));
  const relocate = async () => {
    showPlace("正在定位…");
    try {
      draft.body.location = await locate();
      await saveDraft();
      const home = who && who.home;
      showPlace(`已定位，精度约 ${Math.round(draft.body.location.accuracy)} 米` + (home ? `，距登记住址 ${formatDistance(
        distance(draft.body.location, home))}` : ""));
    } catch (error) {
      showPlace(error.message, true);
    }
  };

  // Photos: their bytes go to IndexedDB at once, so a reload or a crash loses none.
  const photoGrid = h("div", { class: "photos", id: "photos" });
  const drawPhotos = () => photoGrid.replaceChildren(...draft.photos.map((photo, index) => photoTile(photo, async () => {
    draft.photos.splice(index, 1);
    if (photo.key && draft.mode === "new") await forgetPhotos([photo.key]);
    await saveDraft();
    drawPhotos();
  })));
  const picker = h("input", { type: "file", accept: "image/*", capture: "environment", multiple: true, id: "photo-input" });
  picker.addEventListener("change", async () => {
    const maximum = limit("max_photos_per_visit", 9);
    const maxBytes = limit("max_photo_bytes", 20 * 1024 * 1024);
    for (const file of Array.from(picker.files)) {
      if (draft.photos.length >= maximum) { toast(`最多 ${maximum} 张照片`); break; }
      if (file.size > maxBytes) { toast(`照片超过 ${Math.round(maxBytes / 1048576)} MB，无法上传`); continue; }
      draft.photos.push(await keepPhoto(file));
    }
    picker.value = "";
    await saveDraft();
    drawPhotos();
  });

  const kindOptions = kindRule("with_beneficiary").filter((code) => !kindRule("without_location").includes(code));
  const submit = h("button", { type: "submit", class: "primary block", id: "submit-visit" },
    draft.mode === "returned" ? "重新提交" : "结束并提交");
  const form = h("form", { novalidate: true, id: "visit-form" },
    h("div", { class: "card" },
      h("div", { class: "row" }, h("strong", { class: "grow" }, who ? who.name : draft.label),
        h("span", { class: "small muted" }, `开始于 ${formatTime(draft.body.started_at)}`)),
      who && h("div", { class: "small muted" }, who.address),
      who && who.phone && remote && h("a", { class: "button block center", href: `tel:${who.phone}` }, `拨打 ${who.phone}`),
      draft.comment && h("div", { class: "comment" }, `督导意见：${draft.comment}`),
      h("div", { class: "error-box form-errors", hidden: true }),
      !remote && h("div", { class: "row" }, h("div", { class: "grow" }, place),
        h("button", { type: "button", onclick: relocate }, "重新定位"))),
    !remote && h("div", { class: "card" },
      h("label", { class: "field" }, `照片（${limit("max_photos_per_visit", 9)} 张以内，原图上传）`),
      photoGrid,
      h("label", { class: "add-photo" }, picker, "＋ 拍照 / 选照片"),
      h("div", { "data-error-for": "photo_ids" }),
      h("label", { class: "choice" }, h("input", { type: "checkbox", name: "photo_consent", checked: draft.body.photo_consent }),
        h("span", {}, "服务对象同意拍照"))),
    remote && h("input", { type: "checkbox", name: "photo_consent", hidden: true }),
    h("div", { class: "card" },
      !remote && kindOptions.length > 1 && [h("label", { class: "field" }, "走访类型"),
        h("select", { name: "kind" }, kindOptions.map((code) =>
          h("option", { value: code, selected: code === kind }, label("visit_kinds", code))))],
      h("label", { class: "field" }, "提供的服务"),
      checkboxes("services", "services", draft.body.services),
      h("label", { class: "field" }, "走访发现"),
      findingsBlock(draft.body.findings || {}),
      h("label", { class: "field" }, "发现的需求"),
      checkboxes("needs", "needs", draft.body.needs),
      h("label", { class: "choice" }, h("input", { type: "checkbox", name: "follow_up_needed",
        checked: draft.body.follow_up_needed }), h("span", {}, "需要跟进")),
      h("input", { type: "date", name: "follow_up_due", value: draft.body.follow_up_due || "", "aria-label": "跟进日期" }),
      h("div", { "data-error-for": "follow_up_due" }),
      h("label", { class: "field" }, "服务人数"),
      h("input", { type: "number", name: "people_count", min: 1, inputmode: "numeric", value: String(draft.body.people_count || 1) }),
      h("div", { "data-error-for": "people_count" }),
      h("label", { class: "field" }, "备注"),
      h("textarea", { name: "notes", maxlength: limit("max_notes_length", 2000), placeholder: "一句话记录情况（可不填）" }),
      h("div", { "data-error-for": "notes" }),
      h("div", { "data-error-for": "started_at" }), h("div", { "data-error-for": "ended_at" }),
      h("div", { "data-error-for": "beneficiary_id" })),
    h("div", { class: "sticky-actions" }, submit),
    h("button", { type: "button", class: "block", onclick: () => go("#/") },
      draft.mode === "new" ? "返回（草稿已保存）" : "返回（不保存修改）"));
  form.querySelector("textarea[name=notes]").value = draft.body.notes || "";
  form.addEventListener("change", () => { draft.body = readForm(form, draft); saveDraft(); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    draft.body = readForm(form, draft);
    const problems = localProblems(draft);
    if (problems) { showFieldErrors(form, problems); return; }
    submit.disabled = true;
    if (draft.mode === "new") draft.body.ended_at = nowWithOffset();
    await enqueue({ client_id: draft.client_id, method: draft.method, visit_id: draft.visit_id, label: draft.label,
      created_at: draft.created_at, body: draft.body,
      photos: draft.photos.map(({ key, name, type, size, photo_id }) => ({ key, name, type, size, photo_id })) });
    if (draft.mode === "new") await remove(CACHE, DRAFT_KEY);
    toast(navigator.onLine ? "已保存，正在上传" : "已保存在手机上，有网络时自动上传");
    go("#/");
  });

  mount(form);
  drawPhotos();
  if (draft.errors && (draft.errors.message || Object.keys(draft.errors.fields || {}).length)) {
    showFieldErrors(form, draft.errors);
  }
  if (!remote) {
    if (draft.body.location) showPlace(`已定位，精度约 ${Math.round(draft.body.location.accuracy ?? 0)} 米`);
    else relocate();
  }
}

// Metres between two WGS-84 points (haversine), to show the worker how far they are from the registered home.
function distance(a, home) {
  const rad = Math.PI / 180;
  const dLat = (home.lat - a.latitude) * rad;
  const dLon = (home.lon - a.longitude) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(home.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(s));
}
