// The restaurant's page. Wix opens it with `?instance=<signed instance>`; every API call sends that instance back
// (Authorization: Instance ...) and the API acts only on the site it names. Text is set with textContent only.
"use strict";

const instance = new URLSearchParams(window.location.search).get("instance");
const $ = (id) => document.getElementById(id);
const STEPS = {  // the catalog publish's steps (statemachine/catalog_publish.asl.json)
  Requested: "starting", LoadPosCatalog: "reading your POS catalog", ResolveLocation: "finding your Wix location",
  ResolveTarget: "planning the menu", CreateDraft: "building the new menu, hidden",
  CreateVariants: "adding sizes", CreateModifiers: "adding modifiers", CreateModifierGroups: "adding modifier groups",
  CreateItems: "adding dishes", CreateSections: "adding sections", CreateMenus: "adding menus",
  Publish: "showing the new menu", Cleanup: "removing the old menu", Rollback: "undoing", Done: "done",
};
const KITCHEN = { Pending: "new", Accepted: "accepted", Ready: "ready", In_Delivery: "on its way", Fulfilled: "done" };
// The POS this site connects (the connection's provider, or the one offered): its route name and its own name, from
// the API (GET connection); every word naming the POS is filled from it, none is written here.
const pos = { provider: null, name: "your POS" };
let watchTimer = null;
let following = null;
let retrying = false;

class ApiError extends Error {
  constructor(status, data) {
    super(data.message || `The server answered ${status}`);
    this.status = status;
    this.data = data;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Instance ${instance}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch { data = {}; }
  if (response.status === 401) throw new ApiError(401, { message: "unauthenticated" });
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child ?? "");
  return node;
}

function notify(text, kind = "error") {
  const notice = $("notice");
  notice.textContent = text;
  notice.className = kind;
  notice.hidden = !text;
}

function fail(error) {
  if (error instanceof ApiError && error.status === 401) {
    $("content").hidden = true;  // nothing of the site stays on screen
    notify("This page could not be verified. Open it again from your Wix dashboard.");
    return;
  }
  notify(error.message || String(error));
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
const short = (id) => (id ? (id.length > 14 ? `${id.slice(0, 12)}…` : id) : "—");

// --- connection ----------------------------------------------------------------------------------------------------

async function loadConnection() {
  const view = await api("GET", "connection");
  showPos(view);
  renderConnection(view);
  return view;
}

function showPos(view) {
  if (view.provider === pos.provider) return;
  pos.provider = view.provider;
  pos.name = view.providerName || "your POS";
  for (const node of document.querySelectorAll(".pos-name")) node.textContent = pos.name;
  document.title = `${pos.name} sync: your restaurant`;
}

function renderConnection(view) {
  const awaiting = view.stage === "awaiting_location";
  const words = {
    connected: "Connected: orders and menu changes flow.",
    expiring: `Connected, but ${pos.name} access expires soon: reconnect ${pos.name}.`,
    revoked: `${pos.name} access ended. ${view.reasonText || ""} Orders are parked until you reconnect.`,
    not_connected: awaiting ? `Signed in to ${pos.name}: pick the location of this restaurant.`
      : `${pos.name} is not connected.`,
  };
  const status = $("connection-status");
  status.textContent = words[view.status] || view.status;
  status.className = `status ${view.status}`;
  const details = $("connection-details");
  details.replaceChildren();
  const rows = [
    [`${pos.name} account`, view.merchantId], [`${pos.name} location`, view.locationId],
    ["Connected", view.method === "personal_token" ? "by your operator (access token)" : when(view.connectedAt)],
    ["Access renewed", view.tokenAgeDays != null ? `${view.tokenAgeDays} days ago` : null],
    ["Ended", when(view.endedAt)],
  ];
  for (const [term, value] of rows) if (value) details.append(el("dt", { textContent: term }), el("dd", { textContent: value }));
  const oauthLive = view.method === "oauth" && (view.stage === "connected" || awaiting);
  const connectable = pos.provider !== null;  // null: no POS is connected through this page (no OAuth application)
  $("connect").hidden = !(connectable && view.status === "not_connected" && !awaiting);
  $("reconnect").hidden = !(connectable && (view.status === "expiring" || view.status === "revoked"));
  $("disconnect").hidden = !oauthLive;
  $("change-location").hidden = !(view.method === "oauth" && view.stage === "connected");
  $("import").disabled = !((view.status === "connected" || view.status === "expiring") && view.tenantStatus === "active");
  if (awaiting && $("location-form").hidden) showLocations().catch(fail);
  if (!awaiting && view.status !== "not_connected") stopWatching();
}

async function connect() {
  const tab = window.open("", "_blank");  // opened on the click itself, so no popup blocker stops it
  try {
    const { authorizeUrl } = await api("POST", `${pos.provider}/authorize`);
    if (tab) {
      tab.opener = null;
      tab.location.href = authorizeUrl;
    } else {
      window.location.href = authorizeUrl;
    }
    notify(`Finish signing in to ${pos.name} in the new tab; this page follows by itself.`, "info");
    watch();
  } catch (error) {
    if (tab) tab.close();
    fail(error);
  }
}

function watch() {
  stopWatching();
  const until = Date.now() + 10 * 60 * 1000;  // the authorize link's own life
  watchTimer = setInterval(() => {
    if (Date.now() > until) stopWatching();
    else loadConnection().catch(fail);
  }, 2000);
}

function stopWatching() {
  if (watchTimer) clearInterval(watchTimer);
  watchTimer = null;
}

async function showLocations() {
  const { locations } = await api("GET", `${pos.provider}/locations`);
  const select = $("location");
  select.replaceChildren(...locations.filter((l) => l.status === "ACTIVE").map(
    (l) => el("option", { value: l.id, textContent: `${l.name} (${l.id})` })));
  $("location-form").hidden = false;
  notify("");
  select.focus();
}

async function chooseLocation(event) {
  event.preventDefault();
  const view = await api("PUT", `${pos.provider}/location`, { locationId: $("location").value });
  $("location-form").hidden = true;
  renderConnection(view);
  notify(`${pos.name} is connected: new orders go to this location.`, "info");
  await Promise.all([loadActivity(), loadSettings()]);
}

async function disconnect() {
  const name = pos.name;
  if (!window.confirm(`Disconnect ${name}? Orders stop going to ${name} until you connect again.`)) return;
  await api("POST", `${pos.provider}/disconnect`);
  await loadConnection();
  notify(`${name} is disconnected.`, "info");
}

// --- menu import ---------------------------------------------------------------------------------------------------

async function importMenu() {
  $("import").disabled = true;
  try {
    const job = await api("POST", "catalog-imports");
    await follow(job.jobId);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409 && error.data.runningJobId) await follow(error.data.runningJobId);
    else fail(error);
  } finally {
    $("import").disabled = false;
  }
}

async function follow(jobId) {
  if (following === jobId) return;
  following = jobId;
  $("import-progress").hidden = false;
  try {
    for (;;) {
      const job = await api("GET", `catalog-imports/${encodeURIComponent(jobId)}`);
      renderJob(job);
      if (job.status !== "running") break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    following = null;
  }
  await loadActivity();
}

function renderJob(job) {
  const bar = $("import-bar");
  bar.max = Math.max(job.total || 0, 1);
  bar.value = job.status === "succeeded" ? bar.max : job.done || 0;
  const counts = `${job.done || 0} of ${job.total || "?"} menu entries`;
  const rejected = job.errorCount ? `, ${job.errorCount} refused by Wix` : "";
  const text = {
    running: `Importing: ${(STEPS[job.step] || job.step).replace("POS", pos.name)}, ${counts}.`,
    succeeded: `Your menu is imported: ${counts}${rejected}.`,
    failed: `The import failed and your menu did not change: ${job.reason || "see the errors"}.`,
  }[job.status];
  $("import-status").textContent = text;
}

// --- activity ------------------------------------------------------------------------------------------------------

async function loadActivity() {
  if (retrying) return;
  const { orders, parked, catalog } = await api("GET", "activity");
  renderOrders(orders);
  renderParked(parked);
  renderCatalog(catalog);
  if (catalog.runningJobId && !following) follow(catalog.runningJobId).catch(fail);
}

function renderOrders(orders) {
  const body = $("orders").querySelector("tbody");
  body.replaceChildren(...orders.map((o) => {
    const kitchen = o.kitchenStatus ? `; kitchen: ${KITCHEN[o.kitchenStatus] || o.kitchenStatus}` : "";
    const state = el("td", {}, `${o.state}${kitchen}`);
    if (o.reason) state.append(el("span", { className: "reason", textContent: o.reason }));
    return el("tr", {},
      el("td", { textContent: when(o.at) }),
      el("td", { textContent: o.direction === "wix_to_pos" ? `Online → ${pos.name}` : `${pos.name} → Wix` }),
      el("td", { className: "id", textContent: short(o.wixOrderId), title: o.wixOrderId || "" }),
      el("td", { className: "id", textContent: short(o.posOrderId), title: o.posOrderId || "" }),
      state);
  }));
  $("orders").hidden = orders.length === 0;
  $("orders-empty").hidden = orders.length > 0;
}

function renderParked(parked) {
  const body = $("parked").querySelector("tbody");
  body.replaceChildren(...parked.map((p) => {
    const button = el("button", { type: "button", textContent: "Retry" });
    button.setAttribute("aria-label", `Retry ${p.what} ${p.entityId || ""}`.trim());
    button.addEventListener("click", () => retry([p.messageId]));
    const why = el("td", {}, p.reason);
    return el("tr", {},
      el("td", { textContent: when(p.at) }), el("td", { textContent: p.what }),
      el("td", { className: "id", textContent: short(p.entityId), title: p.entityId || "" }), why,
      el("td", {}, button));
  }));
  $("parked").hidden = parked.length === 0;
  $("retry-all").hidden = parked.length === 0;
  $("parked-empty").hidden = parked.length > 0;
}

async function retry(messageIds) {
  retrying = true;
  try {
    const { count } = await api("POST", "parked/retry", messageIds ? { messageIds } : {});
    notify(count ? `Sent again: ${count}. They show under recent orders once through.` : "Nothing was sent again.", "info");
  } finally {
    retrying = false;
  }
  await loadActivity();
}

function renderCatalog(catalog) {
  const outcome = { synced: "up to date", up_to_date: "up to date", partial: "some items failed",
    publish_started: "a full import was started" }[catalog.lastOutcome];
  $("catalog-summary").textContent = catalog.runningJobId ? "A menu import is running."
    : outcome ? `Last sync from ${pos.name}: ${outcome}.`
      : catalog.cursor ? `Up to date with ${pos.name} since the last import.` : "Your menu has not been imported yet.";
  const failed = catalog.failedItems.map((i) => el("li", { textContent: `${i.kind} ${i.posId}: ${i.message || i.code}` }));
  const edited = catalog.editedInWix.map((i) => el("li", {
    textContent: `${i.kind} ${i.posId} (${i.fields.join(", ") || "edited"}): kept ${i.kept}`,
  }));
  $("failed-items").replaceChildren(...(failed.length ? failed : [el("li", { textContent: "None." })]));
  $("edited-items").replaceChildren(...(edited.length ? edited : [el("li", { textContent: "None." })]));
}

// --- settings ------------------------------------------------------------------------------------------------------

async function loadSettings() {
  try {
    const settings = await api("GET", "settings");
    const form = $("settings-form");
    for (const radio of form.elements.exportOn) radio.checked = radio.value === settings.exportOn;
    $("export-unpaid").checked = settings.exportUnpaid;
    form.hidden = false;
    $("settings-unavailable").hidden = true;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) throw error;
    $("settings-form").hidden = true;
    $("settings-unavailable").hidden = false;
  }
}

async function saveSettings(event) {
  event.preventDefault();
  const form = $("settings-form");
  const saved = await api("PUT", "settings", {
    exportOn: form.elements.exportOn.value, exportUnpaid: $("export-unpaid").checked,
  });
  $("settings-status").textContent = `Saved: orders go to ${pos.name} ${saved.exportOn === "created" ? "as soon as placed" : "once approved"}`
    + (saved.exportUnpaid ? ", unpaid ones too." : ", paid ones only.");
}

// --- start ---------------------------------------------------------------------------------------------------------

function on(id, type, handler) {
  $(id).addEventListener(type, (event) => Promise.resolve(handler(event)).catch(fail));
}

async function start() {
  if (!instance) {
    notify("Open this page from your Wix dashboard: it needs the site's signed instance.");
    return;
  }
  on("connect", "click", connect);
  on("reconnect", "click", connect);
  on("change-location", "click", showLocations);
  on("disconnect", "click", disconnect);
  on("location-form", "submit", chooseLocation);
  on("import", "click", importMenu);
  on("retry-all", "click", () => retry(null));
  on("settings-form", "submit", saveSettings);
  await loadConnection();
  $("content").hidden = false;
  await Promise.all([loadActivity(), loadSettings()]);
  window.addEventListener("focus", () => loadConnection().catch(fail));
  setInterval(() => {
    if (!document.hidden && !$("content").hidden) Promise.all([loadConnection(), loadActivity()]).catch(fail);
  }, 5000);
}

start().catch(fail);
