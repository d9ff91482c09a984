// The vocabularies of /api/v1/meta (public), kept for offline use.

import { api } from "./api.js";
import { cacheGet, cacheSet } from "./db.js";

let meta = null;

export async function loadMeta() {
  try {
    meta = await api("/meta", { auth: false });
    await cacheSet("meta", meta);
  } catch (error) {
    meta = meta || (await cacheGet("meta"));
    if (!meta) throw error;
  }
  return meta;
}

export function vocabulary(name) {
  return (meta && meta[name]) || [];
}

export function label(name, code) {
  const entry = vocabulary(name).find((item) => item.code === code);
  return entry ? entry.zh : code;
}

export function kindRule(rule) {
  return (meta && meta.kind_rules && meta.kind_rules[rule]) || [];
}

export function limit(name, fallback) {
  return (meta && meta.limits && meta.limits[name]) || fallback;
}
