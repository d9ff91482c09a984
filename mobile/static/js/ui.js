// Small DOM helpers. No HTML strings: every text goes in as a text node, so nothing typed can inject markup.

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function go(hash) {
  if (location.hash === hash) dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

export function mount(...children) {
  const main = document.getElementById("app");
  main.replaceChildren();
  append(main, children);
  window.scrollTo(0, 0);
  return main;
}

export function setTitle(text) {
  document.getElementById("title").textContent = text;
  document.title = text === "走访" ? "走访" : `${text} · 走访`;
}

let toastTimer = null;
export function toast(text) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
}

// Put each field error of an API answer next to its field (an element with data-error-for="name");
// the rest go to the form's general error box.
export function showFieldErrors(form, error) {
  form.querySelectorAll(".field-error").forEach((node) => node.remove());
  const general = form.querySelector(".form-errors");
  const leftovers = [];
  for (const [field, messages] of Object.entries(error.fields || {})) {
    const anchor = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`) ||
      form.querySelector(`[data-error-for="${CSS.escape(field.split(".")[0])}"]`);
    const text = messages.join("；");
    if (anchor) anchor.append(h("p", { class: "field-error" }, text));
    else leftovers.push(`${field}：${text}`);
  }
  if (general) {
    general.replaceChildren(...[error.message, ...leftovers].filter(Boolean).map((text) => h("div", {}, text)));
    general.hidden = false;
  }
  const first = form.querySelector(".field-error, .form-errors:not([hidden])");
  if (first) first.scrollIntoView({ block: "center" });
}

export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const pad = (value) => String(value).padStart(2, "0");
  return `${date.getMonth() + 1}月${date.getDate()}日 ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function formatDistance(metres) {
  if (metres === null || metres === undefined) return "";
  return metres < 1000 ? `${Math.round(metres)} 米` : `${(metres / 1000).toFixed(1)} 公里`;
}

export function choice(type, name, value, text, checked) {
  return h("label", { class: "choice" },
    h("input", { type, name, value, checked: Boolean(checked) }), h("span", {}, text));
}
