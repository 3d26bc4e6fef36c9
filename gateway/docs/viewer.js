// The gateway's API reference: renders /openapi.json (the merged document) and sends requests from
// the page ("Try it"). Plain DOM, no dependencies, no inline code: the page's CSP allows scripts,
// styles and fetches from this origin only. Text from the document is always set as text, never as HTML.
"use strict";

const METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];
let spec = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c !== null && c !== undefined) e.append(c);
  }
  return e;
}

// resolve follows a local $ref ("#/components/schemas/Error") to its target.
function resolve(obj, depth = 0) {
  if (!obj || typeof obj !== "object" || !obj.$ref || depth > 20) return obj;
  let target = spec;
  for (const part of obj.$ref.replace(/^#\//, "").split("/")) {
    target = target && target[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return resolve(target, depth + 1);
}

// describe turns a schema into readable lines: "name: type (required) — description".
function describe(schema, indent = "", seen = new Set(), out = []) {
  if (!schema) return out;
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    if (seen.has(schema.$ref)) {
      out.push(indent + "→ " + name);
      return out;
    }
    seen = new Set(seen).add(schema.$ref);
    schema = resolve(schema);
  }
  for (const key of ["oneOf", "anyOf", "allOf"]) {
    if (Array.isArray(schema[key])) {
      out.push(indent + key + ":");
      schema[key].forEach((s) => describe(s, indent + "  ", seen, out));
    }
  }
  const required = new Set(schema.required || []);
  for (const [name, prop] of Object.entries(schema.properties || {})) {
    const p = resolve(prop) || {};
    let line = indent + name + ": " + typeOf(prop);
    if (required.has(name)) line += " (required)";
    if (p.description) line += " — " + p.description;
    out.push(line);
    const inner = p.type === "array" ? p.items : p;
    if (inner && (resolve(inner) || {}).properties) describe(inner, indent + "  ", seen, out);
  }
  if (!schema.properties && !schema.oneOf && !schema.anyOf && !schema.allOf) out.push(indent + typeOf(schema));
  return out;
}

function typeOf(schema) {
  if (schema && schema.$ref) return schema.$ref.split("/").pop();
  const s = schema || {};
  let t = Array.isArray(s.type) ? s.type.join(" | ") : s.type || (s.const !== undefined ? JSON.stringify(s.const) : "any");
  if (t === "array") t = typeOf(s.items) + "[]";
  if (s.enum) t += " (" + s.enum.map(String).join(", ") + ")";
  if (s.format) t += " <" + s.format + ">";
  return t;
}

function exampleOf(media) {
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const first = media.examples && Object.values(media.examples)[0];
  if (first) return resolve(first).value;
  return resolve(media.schema || {}).example;
}

function pretty(v) {
  return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}

function renderOp(path, method, op, pathParams) {
  const id = "op-" + (op.operationId || method + path).replace(/[^A-Za-z0-9_-]/g, "_");
  const sec = el("section", { class: "op", id: id });
  sec.append(el("h2", {}, el("span", { class: "method " + method, text: method.toUpperCase() }), path));
  if (op.summary) sec.append(el("p", { class: "summary", text: op.summary }));
  if (op.description) sec.append(el("p", { class: "desc", text: op.description }));
  const security = op.security || spec.security || [];
  const who = security.length === 0 ? ["public"] : security.map((r) => Object.keys(r).length === 0 ? "anonymous" :
    Object.entries(r).map(([k, v]) => k + (v.length ? " " + v.join(" ") : "")).join(" + "));
  sec.append(el("p", {}, ...who.map((w) => el("span", { class: "badge", text: w }))));

  const params = [...(pathParams || []), ...(op.parameters || [])].map(resolve);
  if (params.length) {
    const table = el("table", {}, el("tr", {}, el("th", { text: "parameter" }), el("th", { text: "in" }), el("th", { text: "type" }), el("th", { text: "description" })));
    for (const p of params) {
      table.append(el("tr", {}, el("td", { text: p.name + (p.required ? " *" : "") }), el("td", { text: p.in }),
        el("td", { text: typeOf(p.schema) }), el("td", { text: p.description || "" })));
    }
    sec.append(table);
  }
  const body = resolve(op.requestBody);
  let bodyType = null;
  let bodyExample;
  if (body && body.content) {
    bodyType = Object.keys(body.content)[0];
    const media = body.content[bodyType];
    bodyExample = exampleOf(media);
    sec.append(el("details", {}, el("summary", { text: "Request body (" + bodyType + ")" + (body.required ? " *" : "") }),
      el("pre", { text: describe(media.schema).join("\n") }),
      bodyExample !== undefined ? el("pre", { text: pretty(bodyExample) }) : null));
  }
  const responses = el("details", {}, el("summary", { text: "Responses: " + Object.keys(op.responses || {}).join(", ") }));
  for (const [status, r0] of Object.entries(op.responses || {})) {
    const r = resolve(r0) || {};
    responses.append(el("p", {}, el("strong", { text: status + " " }), r.description || ""));
    for (const [type, media] of Object.entries(r.content || {})) {
      const ex = exampleOf(media);
      responses.append(el("pre", { text: type + "\n" + describe(media.schema).join("\n") + (ex !== undefined ? "\n\nexample:\n" + pretty(ex) : "") }));
    }
  }
  sec.append(responses);
  if (!(op.responses || {})["101"]) sec.append(tryIt(path, method, params, bodyType, bodyExample));
  return sec;
}

// tryIt is the form that sends the operation from the page, with the bearer token when one is given
// (else the browser sends the session cookie, which the gateway accepts from its own pages).
function tryIt(path, method, params, bodyType, bodyExample) {
  const box = el("details", { class: "try" }, el("summary", { text: "Try it" }));
  const inputs = {};
  for (const p of params) {
    if (p.in === "cookie") continue;
    const input = el("input", { type: "text", placeholder: typeOf(p.schema) });
    inputs[p.in + ":" + p.name] = input;
    box.append(el("label", { text: p.in + " " + p.name + (p.required ? " *" : "") }), input);
  }
  let textarea = null;
  if (bodyType) {
    textarea = el("textarea", {});
    textarea.value = bodyExample === undefined ? "" : bodyType.includes("json") ? pretty(bodyExample) : new URLSearchParams(bodyExample).toString();
    box.append(el("label", { text: "body (" + bodyType + ")" }), textarea);
  }
  const out = el("pre", { class: "hidden" });
  const button = el("button", { type: "button", text: "Send" });
  button.addEventListener("click", async () => {
    let url = path;
    const query = new URLSearchParams();
    const headers = {};
    for (const [key, input] of Object.entries(inputs)) {
      const [where, name] = key.split(/:(.*)/s);
      if (input.value === "") continue;
      if (where === "path") url = url.replace("{" + name + "}", encodeURIComponent(input.value));
      if (where === "query") query.append(name, input.value);
      if (where === "header") headers[name] = input.value;
    }
    if ([...query].length) url += "?" + query;
    const token = document.getElementById("token").value.trim();
    if (token) headers.Authorization = "Bearer " + token;
    const init = { method: method.toUpperCase(), headers: headers, credentials: "same-origin" };
    if (textarea && textarea.value !== "") {
      headers["Content-Type"] = bodyType;
      init.body = textarea.value;
    }
    out.className = "";
    out.textContent = init.method + " " + url + " …";
    try {
      const resp = await fetch(url, init);
      const text = await resp.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON: as sent */ }
      const head = [...resp.headers].map(([k, v]) => k + ": " + v).join("\n");
      out.className = resp.ok ? "status-ok" : "status-err";
      out.textContent = resp.status + " " + resp.statusText + "\n" + head + "\n\n" + shown;
    } catch (err) {
      out.className = "status-err";
      out.textContent = String(err);
    }
  });
  box.append(button, out);
  return box;
}

function render() {
  const info = document.getElementById("info");
  info.textContent = (spec.info.description || spec.info.title) + " ";
  info.append(el("a", { href: "/openapi.json", text: "openapi.json" }));
  if (spec.info["x-missing-services"]) {
    info.append(" — not shown (no answer): " + spec.info["x-missing-services"].join(", "));
  }
  const groups = new Map();
  for (const [path, item] of Object.entries(spec.paths || {}).sort(([a], [b]) => a.localeCompare(b))) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || "other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push([path, method, op, item.parameters]);
    }
  }
  const toc = document.getElementById("toc");
  const main = document.getElementById("ops");
  for (const tag of [...groups.keys()].sort()) {
    toc.append(el("li", { class: "group", text: tag }));
    main.append(el("h3", { text: tag }));
    for (const [path, method, op, pathParams] of groups.get(tag)) {
      const sec = renderOp(path, method, op, pathParams);
      main.append(sec);
      const li = el("li", { "data-key": (method + " " + path + " " + (op.summary || "")).toLowerCase() },
        el("a", { href: "#" + sec.id, text: method.toUpperCase() + " " + path }));
      toc.append(li);
    }
  }
  document.getElementById("filter").addEventListener("input", (e) => {
    const q = e.target.value.toLowerCase();
    for (const li of toc.querySelectorAll("li[data-key]")) {
      li.classList.toggle("hidden", q !== "" && !li.dataset.key.includes(q));
    }
  });
  document.getElementById("auth").addEventListener("submit", (e) => e.preventDefault());
}

fetch("/openapi.json", { credentials: "same-origin" })
  .then((r) => r.ok ? r.json() : r.text().then((t) => Promise.reject(new Error(r.status + " " + t))))
  .then((doc) => { spec = doc; render(); })
  .catch((err) => { document.getElementById("info").textContent = "Could not load /openapi.json: " + err.message; });
