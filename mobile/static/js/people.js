// The people of the worker's station as the API lists them, remembered for the check-in form and offline use.

import { api } from "./api.js";
import { cacheGet, cacheSet } from "./db.js";

const known = new Map();

async function remember(list) {
  list.forEach((person) => known.set(person.id, person));
  const stored = (await cacheGet("people")) || {};
  list.forEach((person) => { stored[person.id] = person; });
  await cacheSet("people", stored);
}

export async function person(id) {
  if (known.has(id)) return known.get(id);
  const stored = (await cacheGet("people")) || {};
  return stored[id] || null;
}

// Most overdue first, then nearest; people whose last visit awaits review after the others.
function urgency(a, b) {
  const pending = Number(a.schedule?.pending_review || false) - Number(b.schedule?.pending_review || false);
  if (pending) return pending;
  const overdue = (b.schedule?.days_overdue ?? 0) - (a.schedule?.days_overdue ?? 0);
  if (overdue) return overdue;
  return (a.distance_m ?? Infinity) - (b.distance_m ?? Infinity);
}

function query(params, near) {
  const search = new URLSearchParams(params);
  if (near) search.set("near", `${near.latitude.toFixed(6)},${near.longitude.toFixed(6)}`);
  return search.toString();
}

// The due list; {people, offline} — from the last copy when the network is down.
export async function dueList(near) {
  try {
    const page = await api(`/beneficiaries?${query({ due: "1", limit: "200" }, near)}`);
    const people = page.items.slice().sort(urgency);
    await remember(people);
    await cacheSet("due", people);
    return { people, offline: false };
  } catch (error) {
    if (error.status) throw error;
    return { people: (await cacheGet("due")) || [], offline: true };
  }
}

export async function search(text, near) {
  try {
    const page = await api(`/beneficiaries?${query({ q: text, limit: "50" }, near)}`);
    await remember(page.items);
    return { people: page.items, offline: false };
  } catch (error) {
    if (error.status) throw error;
    const stored = Object.values((await cacheGet("people")) || {});
    return { people: stored.filter((item) => item.name.includes(text)), offline: true };
  }
}
