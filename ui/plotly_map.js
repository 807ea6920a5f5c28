// MMX Explorer: the map of a large collection, drawn with plotly.js in the app page (a Streamlit
// components-v2 component). It reports what st.plotly_chart does not: the axis ranges after a zoom, pan or
// reset (state "view": [x0, x1, y0, y1], or null for the whole map), and clicks, box and lasso selections
// (trigger "select": {kind, rows}, rows = the points' customdata). plotly.js comes from the page once per
// session: when window.Plotly is missing and the data carries no source, the script asks for it (state
// "missing") and the page sends the plotly.min.js of the installed plotly package.
const STATE = (globalThis.__mmxPlotlyMap = globalThis.__mmxPlotlyMap || { maps: new Map() });

function loadPlotly(source) {
  if (globalThis.Plotly) return true;
  if (!source) return false;
  const script = document.createElement("script");
  script.textContent = source;   // a classic inline script runs at once and sets window.Plotly
  document.head.appendChild(script);
  return Boolean(globalThis.Plotly);
}

function rowsOf(points) {
  const rows = new Set();
  for (const pt of points || []) {
    let value = pt.customdata;
    if (Array.isArray(value)) value = value[0];
    const row = Number(value);
    if (value !== undefined && value !== null && Number.isInteger(row) && row >= 0) rows.add(row);
  }
  return Array.from(rows);
}

// The region shown after a relayout event: null after a reset, the axis ranges after a zoom or pan,
// undefined when the event did not move the axes (a drag-mode change, a selection).
function viewAfter(gd, event) {
  const keys = Object.keys(event || {});
  if (event && event["xaxis.autorange"] && event["yaxis.autorange"]) return null;
  if (!keys.some((k) => /^[xy]axis\.(range|autorange)/.test(k))) return undefined;
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const view = [xa.range[0], xa.range[1], ya.range[0], ya.range[1]].map(Number);
  return view.every(Number.isFinite) ? view : undefined;
}

function listen(map, gd) {
  if (gd.__mmxMapEvents === gd._ev) return;   // a purge makes a new event emitter: listen again
  gd.__mmxMapEvents = gd._ev;
  gd.on("plotly_relayout", (event) => {
    const view = viewAfter(gd, event);
    if (view === undefined) return;
    const text = JSON.stringify(view);
    if (text === map.sentView) return;
    map.sentView = text;
    map.api.setStateValue("view", view);
  });
  gd.on("plotly_click", (event) => {
    const rows = rowsOf(event && event.points);
    if (!rows.length) return;
    globalThis.Plotly.restyle(gd, { selectedpoints: null });   // a click marks its point with a star, not a dim
    map.api.setTriggerValue("select", { kind: "click", rows });
  });
  gd.on("plotly_selected", (event) => {
    if (!event || !(event.range || event.lassoPoints)) return;   // a click's own selection: sent as a click
    map.api.setTriggerValue("select", { kind: event.lassoPoints ? "lasso" : "box", rows: rowsOf(event.points) });
  });
  gd.on("plotly_deselect", () => map.api.setTriggerValue("select", { kind: "none", rows: [] }));
}

function plotDiv(parent, height) {
  let gd = parent.querySelector(".mmx-plotly-map");
  if (!gd) {
    gd = document.createElement("div");
    gd.className = "mmx-plotly-map";
    gd.setAttribute("data-testid", "mmx-plotly-map");
    parent.appendChild(gd);
  }
  gd.style.width = "100%";
  gd.style.height = `${height}px`;
  return gd;
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue, key } = component;
  if (!data || !data.figure || !parentElement) return;
  const id = String(key || "map");
  const map = STATE.maps.get(id) || { sentView: undefined, figure: null, askedAt: 0 };
  STATE.maps.set(id, map);
  map.api = { setStateValue, setTriggerValue };
  const gd = plotDiv(parentElement, data.height || 640);
  try {
    if (!loadPlotly(data.plotly)) {
      if (Date.now() - map.askedAt > 3000) {   // ask once, again only if the answer never came
        map.askedAt = Date.now();
        setStateValue("missing", map.askedAt);
      }
      gd.textContent = "Loading the map...";
      return;
    }
  } catch (error) {
    gd.textContent = `The map could not load plotly.js: ${error}`;
    return;
  }
  if (map.figure === data.figure && gd.__mmxDrawn) return;
  const figure = JSON.parse(data.figure);
  if (!gd.__mmxDrawn) gd.textContent = "";
  const config = { displaylogo: false, responsive: true, scrollZoom: true, doubleClick: "reset" };
  globalThis.Plotly.react(gd, figure.data, figure.layout, config).then(() => {
    gd.__mmxDrawn = true;
    map.figure = data.figure;
    listen(map, gd);
  });
}
