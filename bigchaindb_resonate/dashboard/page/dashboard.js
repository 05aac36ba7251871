// The artist and label dashboard. Plain JavaScript and inline SVG: everything it needs is
// served by the node it was loaded from (no CDN, no internet access).
//
// It asks the node's reads (docs/openapi.yaml): whom the page is about
// (dashboard/subject), what to draw (dashboard/figures), and each key's payout account
// (payees/<key>/account), then listens to BigchainDB's event stream and asks for the
// figures again when a block commits. Every figure shown is marked with data-figure (and
// data-track, data-artist or data-key) so that tests can read what a person sees.
// Names come from the ledger, where anyone can write anything: they go into the page as
// text (textContent, text nodes), never as HTML.
"use strict";

const API = location.pathname.replace(/dashboard\/[^/]*$/, "");  // .../api/v1/resonate/
const API_ROOT = API.replace(/resonate\/$/, "");                 // .../api/v1/
const params = new URLSearchParams(location.search);
const SVG = "http://www.w3.org/2000/svg";
const REFRESH_GAP_MS = 1000;      // at most one refresh a second, however fast blocks come
const SUBJECT_EVERY_MS = 60000;   // new tracks of the subject show within a minute

const state = {subject: null, figures: null, accounts: {}, accountsAvailable: true,
               refreshing: false, again: false, lastRefresh: 0, subjectAt: 0};

// -- formatting ------------------------------------------------------------------------

const number = (value) => Number(value).toLocaleString("en");

// Money at the payout rate, rounded down to the currency's minor unit, as payouts are
// (bigchaindb_resonate/money.py; the node says how many decimals the currency has).
function money(tokens) {
  const {currency, rate, exponent} = state.figures.money;
  if (!currency || !rate) return "";
  const minor = BigInt(tokens) * 10n ** BigInt(exponent) / BigInt(rate);
  return `${formatMinor(minor, exponent)} ${currency}`;
}

// A settled payout's money, in the currency it was paid in.
function paidMoney(minor, currency) {
  const exponent = currency === state.figures.money.currency ? state.figures.money.exponent
    : new Intl.NumberFormat("en", {style: "currency", currency}).resolvedOptions().maximumFractionDigits;
  return `${formatMinor(BigInt(minor), exponent)} ${currency}`;
}

function formatMinor(minor, exponent) {
  const text = minor.toString().padStart(exponent + 1, "0");
  return exponent ? `${text.slice(0, -exponent)}.${text.slice(-exponent)}` : text;
}

function shortKey(key) {
  return `${key.slice(0, 6)}…${key.slice(-4)}`;
}

// A key's name: the subject's, a credited party's, the co-op's, else a shortened key.
function nameOfKey(key) {
  const subject = state.subject;
  if (subject.name && subject.keys.includes(key)) return subject.name;
  if (key === state.figures.coop.public_key) return "Resonate co-op";
  return state.subject.names[key] || `payee ${shortKey(key)}`;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function figure(name, value, attributes = {}) {
  return el("span", {"data-figure": name, ...attributes}, number(value));
}

// -- reads -----------------------------------------------------------------------------

async function getJSON(url) {
  const response = await fetch(url, {headers: {Accept: "application/json"}});
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.message || `${response.status} from ${url}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function figuresUrl(subject) {
  const query = new URLSearchParams();
  subject.tracks.forEach((track) => query.append("track", track));
  subject.keys.forEach((key) => query.append("key", key));
  if (params.get("days")) query.set("days", params.get("days"));
  return `${API}dashboard/figures?${query}`;
}

async function loadSubject() {
  const query = params.get("party") ? `party=${encodeURIComponent(params.get("party"))}`
    : `key=${encodeURIComponent(params.get("key"))}`;
  state.subject = await getJSON(`${API}dashboard/subject?${query}`);
  state.subjectAt = Date.now();
}

async function loadAccounts(keys) {
  const accounts = {};
  for (const key of keys) {
    try {
      accounts[key] = await getJSON(`${API}payees/${key}/account`);
    } catch (error) {
      if (error.status !== 404) throw error;
      state.accountsAvailable = false;  // a node without payout records
      return {};
    }
  }
  return accounts;
}

async function refresh() {
  if (state.refreshing) {
    state.again = true;
    return;
  }
  state.refreshing = true;
  try {
    do {
      state.again = false;
      if (Date.now() - state.subjectAt > SUBJECT_EVERY_MS) await loadSubject();
      if (!state.subject.tracks.length) {
        showEmpty();
        continue;
      }
      const figures = await getJSON(figuresUrl(state.subject));
      const accounts = await loadAccounts(state.subject.keys);
      state.figures = figures;
      state.accounts = accounts;
      render();
    } while (state.again);
  } catch (error) {
    setStatus(`Could not read the ledger: ${error.message}`, "offline");
  } finally {
    state.refreshing = false;
    state.lastRefresh = Date.now();
  }
}

// Called for every event: one refresh at a time, at most one per REFRESH_GAP_MS.
let pending = null;
function scheduleRefresh() {
  if (pending) return;
  const wait = Math.max(0, state.lastRefresh + REFRESH_GAP_MS - Date.now());
  pending = setTimeout(() => {
    pending = null;
    refresh();
  }, wait);
}

// -- the event stream ------------------------------------------------------------------

const LOOPBACK = /^(127\.|localhost$|\[::1\]$)/;
let streamRetry = 1000;
let streamOpen = false;

async function connectStream() {
  let url;
  try {
    url = new URL((await getJSON(API_ROOT)).streams);
  } catch (error) {
    setTimeout(connectStream, streamRetry);
    return;
  }
  // A node advertising its loopback address, seen from another machine: same host.
  if (LOOPBACK.test(url.hostname) && !LOOPBACK.test(location.hostname)) {
    url.hostname = location.hostname;
  }
  const socket = new WebSocket(url.href);
  socket.onopen = () => {
    streamOpen = true;
    streamRetry = 1000;
    updateStatus();
  };
  socket.onmessage = () => scheduleRefresh();
  socket.onclose = () => {
    streamOpen = false;
    updateStatus();
    setTimeout(connectStream, streamRetry);
    streamRetry = Math.min(streamRetry * 2, 30000);
  };
}

function setStatus(text, kind) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = kind || "";
}

function updateStatus() {
  if (!state.figures) return;
  const at = state.figures.at;
  const when = at.time ? new Date(at.time * 1000).toISOString().replace(".000Z", " UTC").replace("T", " ") : "";
  setStatus(`${streamOpen ? "Live" : "Not receiving new blocks"}: as of block ${number(at.height)}` +
            (when ? ` (${when})` : ""), streamOpen ? "live" : "offline");
  document.getElementById("status").dataset.height = at.height;
}

// -- charts: inline SVG with labelled axes and values on bars -----------------------------

function svgEl(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// The top of a value axis: 1, 2, 2.5 or 5 times a power of ten (whole numbers), and how many
// whole-numbered steps to mark up to it.
function scale(values) {
  const largest = Math.max(0, ...values);
  if (largest <= 1) return {top: 1, steps: 1};
  const power = 10 ** Math.floor(Math.log10(largest));
  const top = [1, 2, 2.5, 5, 10].map((multiple) => multiple * power)
    .find((candidate) => candidate >= largest && Number.isInteger(candidate)) || 10 * power;
  return {top, steps: [4, 5, 2, 1].find((steps) => Number.isInteger(top / steps))};
}

// A key to the series' colours; one series needs none (the title names it).
function legend(svg, series, x, y) {
  if (series.length < 2) return;
  series.forEach((serie, index) => {
    const left = x + index * 130;
    svg.append(svgEl("rect", {x: left, y: y - 10, width: 12, height: 12, class: serie.cls}));
    svg.append(svgEl("text", {x: left + 16, y}, serie.name));
  });
}

function chartWidth(container) {
  return Math.max(280, Math.min(container.clientWidth || 600, 1100));
}

// Stacked vertical bars: categories along x (days), values up y, the total above each bar.
function columnChart(container, {title, xTitle, yTitle, labels, series, format = number}) {
  const width = chartWidth(container);
  const height = 260;
  const margin = {left: 58, right: 10, top: 56, bottom: 64};
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const totals = labels.map((_, index) => series.reduce((sum, serie) => sum + serie.values[index], 0));
  const {top, steps} = scale(totals);
  const svg = svgEl("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title});
  svg.append(svgEl("text", {x: 0, y: 14, class: "title"}, title));
  legend(svg, series, margin.left, 32);
  for (let tick = 0; tick <= steps; tick++) {
    const value = top * tick / steps;
    const y = margin.top + plotHeight - plotHeight * tick / steps;
    svg.append(svgEl("line", {x1: margin.left, x2: width - margin.right, y1: y, y2: y, class: "grid"}));
    svg.append(svgEl("text", {x: margin.left - 4, y: y + 4, "text-anchor": "end"}, format(value)));
  }
  const slot = plotWidth / Math.max(1, labels.length);
  const barWidth = Math.max(2, Math.min(48, slot * 0.7));
  const labelWidth = Math.max(...labels.map((label) => label.length), 1) * 7 + 10;
  const labelEvery = Math.ceil(labels.length / Math.max(1, Math.floor(plotWidth / labelWidth)));
  labels.forEach((label, index) => {
    const x = margin.left + slot * index + (slot - barWidth) / 2;
    let base = margin.top + plotHeight;
    series.forEach((serie) => {
      const barHeight = plotHeight * serie.values[index] / top;
      base -= barHeight;
      if (barHeight > 0) {
        svg.append(svgEl("rect", {x, y: base, width: barWidth, height: barHeight, class: serie.cls},
                         undefined));
      }
    });
    if (totals[index] > 0) {
      const value = format(totals[index]);
      const vertical = value.length * 7 > barWidth;
      const cx = x + barWidth / 2;
      const text = svgEl("text", vertical
        ? {x: cx + 4, y: base - 4, class: "value", transform: `rotate(-90 ${cx + 4} ${base - 4})`}
        : {x: cx, y: base - 4, class: "value", "text-anchor": "middle"}, value);
      svg.append(text);
    }
    if (index % labelEvery === 0) {
      svg.append(svgEl("text", {x: x + barWidth / 2, y: margin.top + plotHeight + 16,
                                "text-anchor": "middle"}, label));
    }
  });
  svg.append(svgEl("line", {x1: margin.left, x2: width - margin.right, y1: margin.top + plotHeight,
                            y2: margin.top + plotHeight, class: "axis"}));
  svg.append(svgEl("text", {x: margin.left + plotWidth / 2, y: height - 8, class: "axis-title",
                            "text-anchor": "middle"}, xTitle));
  const yMiddle = margin.top + plotHeight / 2;
  svg.append(svgEl("text", {x: 12, y: yMiddle, class: "axis-title", "text-anchor": "middle",
                            transform: `rotate(-90 12 ${yMiddle})`}, yTitle));
  container.replaceChildren(svg);
}

// Stacked horizontal bars: one row per category with its name above the bar (legible at a
// phone's width), values along x, each segment's value on it and the total at its end.
function barChart(container, {title, xTitle, yTitle, labels, series, format = number}) {
  const width = chartWidth(container);
  const row = 40;
  const margin = {left: 12, right: 70, top: 44, bottom: 40};
  const plotWidth = width - margin.left - margin.right;
  const height = margin.top + row * labels.length + margin.bottom;
  const totals = labels.map((_, index) => series.reduce((sum, serie) => sum + serie.values[index], 0));
  const {top, steps} = scale(totals);
  const svg = svgEl("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title});
  svg.append(svgEl("text", {x: 0, y: 14, class: "title"}, `${title} (${yTitle.toLowerCase()})`));
  legend(svg, series, margin.left, 32);
  labels.forEach((label, index) => {
    const y = margin.top + row * index;
    svg.append(svgEl("text", {x: margin.left, y: y + 13}, label));
    let x = margin.left;
    series.forEach((serie) => {
      const barWidth = plotWidth * serie.values[index] / top;
      if (barWidth > 0) {
        svg.append(svgEl("rect", {x, y: y + 17, width: barWidth, height: 16, class: serie.cls}));
        const text = format(serie.values[index]);
        if (series.length > 1 && barWidth > text.length * 7 + 6) {
          svg.append(svgEl("text", {x: x + barWidth / 2, y: y + 29, class: "value", fill: "#fff",
                                    "text-anchor": "middle", style: "fill:#fff"}, text));
        }
      }
      x += barWidth;
    });
    svg.append(svgEl("text", {x: x + 4, y: y + 29, class: "value"}, format(totals[index])));
  });
  const axisY = margin.top + row * labels.length + 4;
  svg.append(svgEl("line", {x1: margin.left, x2: margin.left + plotWidth, y1: axisY, y2: axisY,
                            class: "axis"}));
  for (let tick = 0; tick <= steps; tick++) {
    const x = margin.left + plotWidth * tick / steps;
    svg.append(svgEl("text", {x, y: axisY + 14, "text-anchor": tick ? "middle" : "start"},
                     format(top * tick / steps)));
  }
  svg.append(svgEl("text", {x: margin.left + plotWidth / 2, y: height - 4, class: "axis-title",
                            "text-anchor": "middle"}, xTitle));
  container.replaceChildren(svg);
}

// -- the page --------------------------------------------------------------------------

function card(what, name, tokens, {withMoney = true} = {}) {
  return el("div", {class: "card"},
            el("div", {class: "what"}, what),
            el("div", {class: "value"}, figure(name, tokens)),
            withMoney ? el("div", {class: "money", "data-money": name}, money(tokens)) : "");
}

function table(target, headings, rows) {
  const head = el("tr", {}, ...headings.map((heading) => el("th", {scope: "col"}, heading)));
  target.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

function cells(...values) {
  return values.map((value) => el("td", {}, value));
}

function subjectEarned() {
  return Object.values(state.figures.totals.earned).reduce((sum, value) => sum + value, 0);
}

function accountTotals() {
  const accounts = Object.values(state.accounts);
  return {owed: accounts.reduce((sum, account) => sum + account.owed, 0),
          paid: accounts.reduce((sum, account) => sum + account.paid, 0)};
}

function renderOverview() {
  const totals = state.figures.totals;
  const cards = [
    card("Paid plays", "paid_plays", totals.paid_plays, {withMoney: false}),
    card("Free plays (listeners who own the track)", "free_plays", totals.free_plays, {withMoney: false}),
    card("Listeners paid for these tracks (tokens)", "tokens", totals.tokens),
    card("Split payees' share (tokens)", "payee_tokens", totals.payee_tokens),
    card("Co-op's share (tokens)", "coop_tokens", totals.coop_tokens),
  ];
  if (state.subject.keys.length) {
    cards.push(card(`Earned by ${state.subject.name || "this key"} (tokens)`, "earned", subjectEarned()));
  }
  if (state.accountsAvailable && state.subject.keys.length) {
    const {owed, paid} = accountTotals();
    cards.push(card("Owed now (tokens)", "owed", owed), card("Paid out (tokens)", "paid", paid));
  }
  cards.push(card("Listeners who own a track", "ownerships", totals.ownerships, {withMoney: false}));
  document.getElementById("overview").replaceChildren(...cards);
}

function renderDays() {
  const days = state.figures.days;
  // From the first day with plays (or the last week) to the latest block's day.
  const first = days.findIndex((day) => day.paid_plays + day.free_plays > 0);
  const shown = days.slice(first < 0 ? -7 : Math.min(first, days.length - 7));
  const labels = shown.map((day) => day.date.slice(5));
  const range = shown.length ? `${shown[0].date} to ${shown[shown.length - 1].date}` : "";
  const xTitle = `Consensus day, UTC (${range})`;
  columnChart(document.getElementById("chart-days-plays"), {
    title: "Plays per day", xTitle, yTitle: "Plays",
    labels, series: [{name: "Paid plays", cls: "s-paid", values: shown.map((day) => day.paid_plays)},
                     {name: "Free plays", cls: "s-free", values: shown.map((day) => day.free_plays)}]});
  columnChart(document.getElementById("chart-days-tokens"), {
    title: "Earnings per day", xTitle, yTitle: "Tokens",
    labels, series: [{name: "Split payees", cls: "s-payee", values: shown.map((day) => day.payee_tokens)},
                     {name: "Co-op", cls: "s-coop", values: shown.map((day) => day.coop_tokens)}]});
}

function trackLabel(track) {
  return track.isrc ? `${track.name} (${track.isrc})` : track.name;
}

function artistNames(track) {
  const byId = Object.fromEntries(state.figures.artists.map((artist) => [artist.id, artist.name]));
  return track.artists.map((id) => byId[id] || shortKey(id)).join(", ");
}

function renderTracks() {
  const tracks = state.figures.tracks;
  const labels = tracks.map(trackLabel);
  barChart(document.getElementById("chart-track-plays"), {
    title: "Plays per track", xTitle: "Plays", yTitle: "Plays", labels,
    series: [{name: "Paid plays", cls: "s-paid", values: tracks.map((track) => track.paid_plays)},
             {name: "Free plays", cls: "s-free", values: tracks.map((track) => track.free_plays)}]});
  barChart(document.getElementById("chart-track-tokens"), {
    title: "Earnings per track", xTitle: "Tokens", yTitle: "Tokens", labels,
    series: [{name: "Split payees", cls: "s-payee", values: tracks.map((track) => track.payee_tokens)},
             {name: "Co-op", cls: "s-coop", values: tracks.map((track) => track.coop_tokens)}]});
  const mine = state.subject.keys;
  const rows = tracks.map((track) => {
    const earned = mine.reduce((sum, key) => sum + (track.earned[key] || 0), 0);
    const at = {"data-track": track.id};
    return el("tr", at, el("td", {}, track.name, el("br"), el("span", {class: "key"}, artistNames(track))),
              ...cells(figure("paid_plays", track.paid_plays, at), figure("free_plays", track.free_plays, at),
                       figure("tokens", track.tokens, at), figure("payee_tokens", track.payee_tokens, at),
                       figure("coop_tokens", track.coop_tokens, at), figure("earned", earned, at),
                       el("span", {"data-money": "earned", ...at}, money(earned))));
  });
  table(document.getElementById("tracks"),
        ["Track", "Paid plays", "Free plays", "Paid (tokens)", "Payees (tokens)", "Co-op (tokens)",
         `${state.subject.name || "This key"} (tokens)`, `Money (${state.figures.money.currency})`], rows);
}

function renderSplits() {
  const coop = state.figures.coop;
  const blocks = state.figures.tracks.map((track) => {
    const at = {"data-track": track.id};
    if (!track.split) return el("p", at, `${track.name}: no split yet (plays are refused until one is set).`);
    const share = (bp) => `${(bp / 100).toFixed(2)} %`;
    const rows = track.split.payees.map((payee) => el("tr", {...at, "data-key": payee.public_key},
      el("td", {}, nameOfKey(payee.public_key)),
      ...cells(share(payee.share_bp), share(payee.share_bp * (10000 - coop.share_bp) / 10000),
               figure("earned", track.earned[payee.public_key] || 0, {...at, "data-key": payee.public_key}),
               money(track.earned[payee.public_key] || 0))));
    rows.push(el("tr", {...at, "data-key": coop.public_key}, el("td", {}, "Resonate co-op"),
      ...cells("", share(coop.share_bp), figure("earned", track.earned[coop.public_key] || 0,
                                                {...at, "data-key": coop.public_key}),
               money(track.earned[coop.public_key] || 0))));
    const wrapper = el("div", {class: "table"}, el("table"));
    table(wrapper.firstChild, ["Payee", "Share of the split", "Share of each paid play",
                               "Earned by this track (tokens)", `Money (${state.figures.money.currency})`], rows);
    return el("div", {}, el("h3", {}, trackLabel(track)), wrapper);
  });
  document.getElementById("split-list").replaceChildren(...blocks);
}

function renderArtists() {
  const artists = state.figures.artists;
  const earnedBy = (artist) => Object.values(artist.earned).reduce((sum, value) => sum + value, 0);
  barChart(document.getElementById("chart-artists"), {
    title: "Plays per artist", xTitle: "Plays", yTitle: "Plays",
    labels: artists.map((artist) => artist.name || shortKey(artist.id)),
    series: [{name: "Paid plays", cls: "s-paid", values: artists.map((artist) => artist.paid_plays)},
             {name: "Free plays", cls: "s-free", values: artists.map((artist) => artist.free_plays)}]});
  table(document.getElementById("artist-table"),
        ["Artist", "Tracks", "Paid plays", "Free plays", "Payees (tokens)", "Co-op (tokens)",
         `${state.subject.name || "This key"} (tokens)`, `Money (${state.figures.money.currency})`],
        artists.map((artist) => {
          const at = {"data-artist": artist.id};
          return el("tr", at, el("td", {}, artist.name || shortKey(artist.id)),
                    ...cells(artist.tracks.length, figure("paid_plays", artist.paid_plays, at),
                             figure("free_plays", artist.free_plays, at),
                             figure("payee_tokens", artist.payee_tokens, at),
                             figure("coop_tokens", artist.coop_tokens, at),
                             figure("earned", earnedBy(artist), at), money(earnedBy(artist))));
        }));
}

function renderProgress() {
  const charts = state.figures.tracks.map((track) => {
    // reached[n - 1]: listeners who paid for at least n plays; exactly n: the difference.
    const exactly = track.reached.map((count, index) => count - (track.reached[index + 1] || 0));
    const container = el("div", {class: "chart", "data-track": track.id});
    const list = el("p", {class: "note"}, "Listeners at each step: ",
                    ...exactly.map((count, index) => el("span", {}, index ? ", " : "",
                      `${index + 1}: `, figure(`listeners_at_${index + 1}`, count, {"data-track": track.id}))));
    return el("div", {}, container, list);
  });
  document.getElementById("progress-charts").replaceChildren(...charts);
  state.figures.tracks.forEach((track, position) => {
    const exactly = track.reached.map((count, index) => count - (track.reached[index + 1] || 0));
    columnChart(charts[position].firstChild, {
      title: trackLabel(track), xTitle: "Paid plays so far (9: owns the track)", yTitle: "Listeners",
      labels: exactly.map((_, index) => `${index + 1}`),
      series: [{name: "Listeners", cls: "s-reached", values: exactly}]});
  });
}

function renderAccounts() {
  const section = document.getElementById("payouts");
  section.hidden = !state.subject.keys.length;
  const currency = state.figures.money.currency;
  if (!state.accountsAvailable) {
    document.getElementById("accounts").replaceChildren(
      el("caption", {}, "This node keeps no payout records."));
    document.getElementById("payout-history").replaceChildren();
    return;
  }
  table(document.getElementById("accounts"),
        ["Key", "Balance (tokens)", "Requested, not yet paid (tokens)", "Owed (tokens)",
         `Owed (${currency})`, "Paid out (tokens)", `Paid out (${currency})`, "Statement"],
        state.subject.keys.map((key) => {
          const account = state.accounts[key];
          const at = {"data-key": key};
          const requested = account.open_requests.reduce((sum, request) => sum + request.amount, 0);
          const paidMinor = account.payouts.filter((payout) => payout.currency === currency)
            .reduce((sum, payout) => sum + payout.money_minor, 0);
          return el("tr", at, el("td", {}, nameOfKey(key), el("br"), el("span", {class: "key"}, shortKey(key))),
                    ...cells(figure("balance", account.balance, at), figure("requested", requested, at),
                             figure("owed", account.owed, at), money(account.owed),
                             figure("paid", account.paid, at), paidMoney(paidMinor, currency),
                             el("a", {class: "statement", href: `${API}statements?payee=${key}&format=html`},
                                "all time")));
        }));
  const payouts = state.subject.keys.flatMap((key) => state.accounts[key].payouts.map((payout) => ({key, ...payout})));
  payouts.sort((a, b) => a.height - b.height);
  table(document.getElementById("payout-history"),
        ["Date (UTC)", "Payee", "Tokens", "Money", "Payment reference", "Block"],
        payouts.map((payout) => el("tr", {"data-settlement": payout.settlement},
          el("td", {}, new Date(payout.time * 1000).toISOString().slice(0, 10)),
          ...cells(nameOfKey(payout.key), figure("payout_amount", payout.amount, {"data-settlement": payout.settlement}),
                   paidMoney(payout.money_minor, payout.currency),
                   payout.reference, number(payout.height)))));
  if (!payouts.length) {
    document.getElementById("payout-history").prepend(el("caption", {}, "No payouts settled yet."));
  }
}

function render() {
  const subject = state.subject;
  const title = subject.name || `Key ${shortKey(subject.id)}`;
  document.title = `${title}: Resonate dashboard`;
  document.getElementById("title").textContent = title;
  const roles = subject.roles.length ? subject.roles.join(", ") : (subject.type || "public key");
  const {currency, rate} = state.figures.money;
  document.getElementById("subtitle").textContent =
    `${roles} · ${subject.tracks.length} track${subject.tracks.length === 1 ? "" : "s"} · ` +
    `money at the payout rate: ${number(rate)} tokens = 1 ${currency}`;
  document.getElementById("footer").textContent =
    `Figures from the committed ledger of this node: totals kept at commit, the splits in force ` +
    `and the payout records. 1 token = 0.001 credit.` +
    (subject.keys.length ? ` Keys: ${subject.keys.join(", ")}` : "");
  document.getElementById("dashboard").hidden = false;
  renderOverview();
  renderDays();
  renderTracks();
  renderSplits();
  renderArtists();
  renderProgress();
  renderAccounts();
  updateStatus();
}

function showEmpty() {
  const subject = state.subject;
  document.getElementById("title").textContent = subject.name || `Key ${shortKey(subject.id)}`;
  setStatus("No track credits or pays this party or key yet: nothing to show.", "");
}

// -- finding whom to show --------------------------------------------------------------

async function searchByName(name) {
  const found = document.getElementById("found");
  found.replaceChildren(el("li", {}, "Searching…"));
  const results = await getJSON(`${API_ROOT}assets/?search=${encodeURIComponent(name)}&limit=50`);
  const parties = results.filter((asset) => ["Person", "Organization", "MusicGroup"].includes(asset.data["@type"]));
  found.replaceChildren(...(parties.length ? parties.map((asset) => el("li", {},
    el("a", {href: `?party=${asset.id}`}, asset.data.name || `${asset.data.givenName || ""} ${asset.data.familyName || ""}`),
    ` ${asset.data["@type"]}${asset.data.roles ? `, ${asset.data.roles.join(", ")}` : ""}`))
    : [el("li", {}, `No party named ${name}.`)]));
}

function showForm() {
  const form = document.getElementById("find");
  form.hidden = false;
  setStatus("");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    for (const name of ["party", "key"]) {
      if (data.get(name).trim()) {
        location.search = `?${name}=${encodeURIComponent(data.get(name).trim())}`;
        return;
      }
    }
    if (data.get("name").trim()) {
      searchByName(data.get("name").trim()).catch((error) => setStatus(error.message, "offline"));
    }
  });
}

async function start() {
  if (!params.get("party") && !params.get("key")) {
    showForm();
    return;
  }
  try {
    await loadSubject();
  } catch (error) {
    setStatus(`${error.message}. Check the id or key, or search by name below.`, "offline");
    showForm();
    return;
  }
  await refresh();
  connectStream();
  let resized = null;
  window.addEventListener("resize", () => {
    clearTimeout(resized);
    resized = setTimeout(() => state.figures && render(), 200);
  });
}

start();
