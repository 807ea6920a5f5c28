// MMX Explorer: hover card (thumbnail, title, year, genres, cluster) for a plotly map drawn by st.plotly_chart.
// Mounted as a Streamlit components-v2 component, so it runs in the app page itself: it finds the chart by its
// element key, listens to plotly_hover / plotly_unhover, and draws a card in document.body. The thumbnail is
// asked for with setStateValue("want", {row, scope}); the page answers through `data` ({scope, row, src}).
const STATE = (globalThis.__mmxHoverCard = globalThis.__mmxHoverCard || {
  cache: new Map(), charts: new Map(), card: null, ring: null, shown: null, timer: null, poller: null,
});

// The div of document.body kept as STATE[name], made again (then set up by init) when the page lost it.
function bodyElement(name, className, init = () => {}) {
  if (STATE[name] && document.body.contains(STATE[name])) return STATE[name];
  const element = document.createElement("div");
  element.className = className;
  init(element);
  document.body.appendChild(element);
  return (STATE[name] = element);
}

const cardElement = () => bodyElement("card", "mmx-hovercard", (card) => {
  card.setAttribute("data-testid", "mmx-hovercard");
  card.innerHTML = '<div class="mmx-hovercard-thumb"></div><div class="mmx-hovercard-text"></div>';
  card.style.display = "none";
});
// A ring around the hovered point (plotly's WebGL scatter marks nothing on hover).
const ringElement = () => bodyElement("ring", "mmx-hovercard-ring");

function ensureStyle(css) {
  let style = document.getElementById("mmx-hovercard-style");
  if (!style) {
    style = document.createElement("style");
    style.id = "mmx-hovercard-style";
    document.head.appendChild(style);
  }
  if (style.textContent !== css) style.textContent = css;
}

// The text plotly would show: the trace's hover template with the point's hover text filled in, as lines
// (tags dropped; lines set as text, never as HTML).
function textLines(pt) {
  const trace = pt.data || {};
  const index = pt.pointIndex ?? pt.pointNumber;
  const text = pt.hovertext ?? (trace.hovertext ? trace.hovertext[index] : "") ?? "";
  const template = typeof trace.hovertemplate === "string" ? trace.hovertemplate : "%{hovertext}";
  const filled = template.replace("%{hovertext}", String(text)).replace(/<extra>.*<\/extra>/, "").replace(/%%/g, "%");
  const decode = document.createElement("textarea");
  return filled.split(/<br\s*\/?>/i).map((line) => {
    decode.innerHTML = line.replace(/<[^>]*>/g, "");
    return decode.value;
  }).filter((line) => line.length);
}

function rowOf(pt) {
  const trace = pt.data || {};
  const index = pt.pointIndex ?? pt.pointNumber;
  let value = pt.customdata ?? (trace.customdata ? trace.customdata[index] : undefined);
  if (Array.isArray(value)) value = value[0];
  const row = Number(value);
  return Number.isInteger(row) && row >= 0 ? row : null;
}

function place(card, gd, pt) {
  const box = gd.getBoundingClientRect();
  const px = box.left + pt.xaxis._offset + pt.xaxis.l2p(pt.x);
  const py = box.top + pt.yaxis._offset + pt.yaxis.l2p(pt.y);
  const width = card.offsetWidth || 240, height = card.offsetHeight || 150;
  let left = px + 16, top = py + 16;
  if (left + width > window.innerWidth - 8) left = px - width - 16;
  if (top + height > window.innerHeight - 8) top = py - height - 16;
  card.style.left = `${Math.max(8, left)}px`;
  card.style.top = `${Math.max(8, top)}px`;
  const ring = ringElement();
  ring.style.left = `${px}px`;
  ring.style.top = `${py}px`;
  ring.style.display = "block";
}

// The <img> exists only while it has a source (no empty images in the page).
function showImage(card, key) {
  const holder = card.querySelector(".mmx-hovercard-thumb");
  const src = STATE.cache.get(key);
  let img = holder.querySelector("img");
  if (src) {
    if (!img) {
      img = document.createElement("img");
      holder.appendChild(img);
    }
    img.alt = card.dataset.title || "";
    if (img.getAttribute("src") !== src) img.setAttribute("src", src);
    holder.className = "mmx-hovercard-thumb";
  } else {
    if (img) img.remove();
    holder.className = "mmx-hovercard-thumb " + (src === null ? "mmx-none" : "mmx-loading");
  }
}

function onHover(chart, gd, event) {
  const pt = event && event.points && event.points[0];
  const row = pt ? rowOf(pt) : null;
  if (row === null) return onUnhover();
  const card = cardElement();
  const lines = textLines(pt);
  const text = card.querySelector(".mmx-hovercard-text");
  text.replaceChildren(...lines.map((line, i) => {
    const div = document.createElement("div");
    div.className = i === 0 ? "mmx-hovercard-title" : "mmx-hovercard-line";
    div.textContent = line;
    return div;
  }));
  card.dataset.title = lines[0] || "";
  const key = `${chart.scope}|${row}`;
  STATE.shown = {key, chart};
  card.dataset.row = String(row);
  showImage(card, key);
  card.style.display = "block";
  place(card, gd, pt);
  if (!STATE.cache.has(key)) {
    clearTimeout(STATE.timer);
    STATE.timer = setTimeout(() => chart.ask({row, scope: chart.scope}), 60);
  }
}

function onUnhover() {
  clearTimeout(STATE.timer);
  STATE.shown = null;
  if (STATE.card) STATE.card.style.display = "none";
  if (STATE.ring) STATE.ring.style.display = "none";
}

// Streamlit's class for an element with a key (non-alphanumerics become "-").
function holderOf(target) {
  return document.querySelector(".st-key-" + String(target).trim().replace(/[^a-zA-Z0-9_-]/g, "-"));
}

// Attach to the chart's graph div, again whenever Streamlit replaces it.
function attach() {
  for (const chart of STATE.charts.values()) {
    const holder = holderOf(chart.target);
    const gd = holder && holder.querySelector(".js-plotly-plot");
    // Mark plotly's event emitter, not the div: a re-plot that purges the div's listeners makes a new one.
    const events = gd && typeof gd.on === "function" ? gd._ev || gd : null;
    if (!events || events.__mmxHoverCard === chart.target) continue;
    events.__mmxHoverCard = chart.target;
    holder.classList.add("mmx-hovercard-on");
    gd.on("plotly_hover", (event) => onHover(STATE.charts.get(chart.target) || chart, gd, event));
    gd.on("plotly_unhover", onUnhover);
    if (!gd.__mmxLeave) gd.addEventListener("mouseleave", onUnhover);
    gd.__mmxLeave = true;
  }
  if (STATE.shown) {
    const holder = holderOf(STATE.shown.chart.target);
    if (!holder || !holder.querySelector(".js-plotly-plot")) onUnhover();
  }
}

export default function (component) {
  const { data, setStateValue } = component;
  if (!data || !data.target) return;
  ensureStyle(data.css || "");
  const chart = { target: data.target, scope: data.scope, ask: (want) => setStateValue("want", want) };
  STATE.charts.set(data.target, chart);
  const reply = data.reply;
  if (reply && reply.row !== null && reply.row !== undefined && reply.scope) {
    const key = `${reply.scope}|${reply.row}`;
    STATE.cache.set(key, reply.src || null);
    if (STATE.cache.size > 3000) STATE.cache.delete(STATE.cache.keys().next().value);  // about 10 MB at most
    if (STATE.shown && STATE.shown.key === key && STATE.card) showImage(STATE.card, key);
  }
  attach();
  if (!STATE.poller) {
    STATE.poller = setInterval(attach, 500);
    window.addEventListener("scroll", onUnhover, true);   // the card is fixed; the map scrolls away from it
  }
}
