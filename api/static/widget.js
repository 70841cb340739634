/*
 * <owl-trip-planner>: an embeddable journey planner for city web sites.
 *
 *   <script src="https://planner.example/widget.js" data-api="https://planner.example"
 *           data-lang="de" data-date="2026-04-20"></script>
 *   <owl-trip-planner></owl-trip-planner>
 *
 * Plain JavaScript, no build step and no dependencies. Everything lives in a Shadow DOM so
 * the host page's CSS cannot break the widget and the widget's CSS cannot leak out.
 * Options (on the <script> tag, overridable per element with the same data-* attribute):
 *   data-api       base URL of the planner API (default: where widget.js came from)
 *   data-lang      "de" or "en" (default: the page's lang, then the browser's)
 *   data-date      preset date YYYY-MM-DD (default: today in data-timezone)
 *   data-time      preset time HH:MM (default: now)
 *   data-timezone  IANA zone of the timetable (default Europe/Berlin); times are shown
 *                  and queried in this zone whatever zone the visitor's device is in
 *   data-from, data-to  preset place: "Name" or "stopId|Name"
 *   data-attribution    data credit shown under the widget
 *   data-tiles     optional raster tile URL template ({z}/{x}/{y}) drawn under the map;
 *                  the map is complete without it
 */
(() => {
  "use strict";

  const TAG = "owl-trip-planner";
  if (customElements.get(TAG)) return;

  const script = document.currentScript;
  const SCRIPT_OPTS = {};
  if (script) {
    Object.assign(SCRIPT_OPTS, script.dataset);
    if (!SCRIPT_OPTS.api && script.src) SCRIPT_OPTS.api = new URL(script.src, location.href).origin;
  }

  // --- strings --------------------------------------------------------------------------
  const I18N = {
    en: {
      title: "Plan a trip",
      from: "From",
      to: "To",
      fromPlaceholder: "Stop or station",
      toPlaceholder: "Stop or station",
      swap: "Swap start and destination",
      date: "Date",
      time: "Time",
      depart: "Depart",
      arrive: "Arrive",
      timeMode: "Time refers to",
      modes: "Means of transport",
      transit: "Public transport",
      bike: "Bike sharing",
      scooter: "E-scooter",
      car: "Car sharing",
      search: "Search",
      searching: "Searching…",
      earlier: "Earlier",
      later: "Later",
      results: "Connections",
      direct: "Without public transport",
      found: (n) => (n === 1 ? "1 connection found." : `${n} connections found.`),
      none: "No connection found.",
      unreachable: "The trip planner service cannot be reached. Please try again later.",
      failed: (msg) => `The search failed: ${msg}`,
      geocodeFailed: "Stop search is not available right now.",
      noStop: (q) => `No stop found for “${q}”.`,
      needFrom: "Please enter a start.",
      needTo: "Please enter a destination.",
      same: "Start and destination are the same.",
      suggestions: (n) => (n === 1 ? "1 suggestion. Use the arrow keys to choose." :
        `${n} suggestions. Use the arrow keys to choose.`),
      noSuggestions: "No matching stop.",
      transfers: (n) => (n === 0 ? "direct" : n === 1 ? "1 transfer" : `${n} transfers`),
      duration: "Duration",
      hours: "h",
      minutes: "min",
      details: "Details",
      showDetails: "Show details",
      walk: (min, dist) => `Walk ${min} min${dist ? ` (${dist})` : ""}`,
      ride: (what, min) => `${what}, ${min} min`,
      bikeRide: "Bike",
      carRide: "Car",
      rentalBike: "Shared bike",
      rentalCar: "Shared car",
      rentalScooter: "Shared scooter",
      rentalStation: "Pick up at",
      rentalVehicle: "Vehicle",
      rentalReturn: "Return at",
      rentalAvailable: (n) => `${n} available`,
      towards: "towards",
      platform: "Platform",
      stops: (n) => (n === 1 ? "1 intermediate stop" : `${n} intermediate stops`),
      noStops: "no intermediate stops",
      map: (a, b) => `Map of the trip from ${a} to ${b}`,
      mapTitle: "Map",
      start: "Start",
      destination: "Destination",
      nextDay: "+1 day",
      departure: "Departure",
      arrival: "Arrival",
      tilesAttribution: "© OpenStreetMap contributors",
      selected: "shown on map",
      wait: (min) => `${min} min to change`,
      noSharing: "Sharing vehicles are not available from this service; showing trips without them.",
    },
    de: {
      title: "Verbindung suchen",
      from: "Von",
      to: "Nach",
      fromPlaceholder: "Haltestelle oder Bahnhof",
      toPlaceholder: "Haltestelle oder Bahnhof",
      swap: "Start und Ziel tauschen",
      date: "Datum",
      time: "Uhrzeit",
      depart: "Abfahrt",
      arrive: "Ankunft",
      timeMode: "Uhrzeit gilt für",
      modes: "Verkehrsmittel",
      transit: "Bus & Bahn",
      bike: "Leihrad",
      scooter: "E-Scooter",
      car: "Carsharing",
      search: "Suchen",
      searching: "Suche läuft …",
      earlier: "Früher",
      later: "Später",
      results: "Verbindungen",
      direct: "Ohne Bus & Bahn",
      found: (n) => (n === 1 ? "1 Verbindung gefunden." : `${n} Verbindungen gefunden.`),
      none: "Keine Verbindung gefunden.",
      unreachable: "Die Fahrplanauskunft ist nicht erreichbar. Bitte später erneut versuchen.",
      failed: (msg) => `Die Suche ist fehlgeschlagen: ${msg}`,
      geocodeFailed: "Die Haltestellensuche ist gerade nicht verfügbar.",
      noStop: (q) => `Keine Haltestelle für „${q}“ gefunden.`,
      needFrom: "Bitte einen Start eingeben.",
      needTo: "Bitte ein Ziel eingeben.",
      same: "Start und Ziel sind gleich.",
      suggestions: (n) => (n === 1 ? "1 Vorschlag. Mit den Pfeiltasten auswählen." :
        `${n} Vorschläge. Mit den Pfeiltasten auswählen.`),
      noSuggestions: "Keine passende Haltestelle.",
      transfers: (n) => (n === 0 ? "direkt" : n === 1 ? "1 Umstieg" : `${n} Umstiege`),
      duration: "Dauer",
      hours: "Std.",
      minutes: "Min.",
      details: "Details",
      showDetails: "Details anzeigen",
      walk: (min, dist) => `${min} Min. Fußweg${dist ? ` (${dist})` : ""}`,
      ride: (what, min) => `${what}, ${min} Min.`,
      bikeRide: "Fahrrad",
      carRide: "Auto",
      rentalBike: "Leihrad",
      rentalCar: "Carsharing-Auto",
      rentalScooter: "Leih-Scooter",
      rentalStation: "Ausleihe an",
      rentalVehicle: "Fahrzeug",
      rentalReturn: "Rückgabe an",
      rentalAvailable: (n) => `${n} verfügbar`,
      towards: "Richtung",
      platform: "Gleis",
      stops: (n) => (n === 1 ? "1 Zwischenhalt" : `${n} Zwischenhalte`),
      noStops: "ohne Zwischenhalt",
      map: (a, b) => `Karte der Verbindung von ${a} nach ${b}`,
      mapTitle: "Karte",
      start: "Start",
      destination: "Ziel",
      nextDay: "+1 Tag",
      departure: "Abfahrt",
      arrival: "Ankunft",
      tilesAttribution: "© OpenStreetMap-Mitwirkende",
      selected: "auf der Karte",
      wait: (min) => `${min} Min. Umstiegszeit`,
      noSharing: "Leihfahrzeuge bietet dieser Dienst nicht an; Verbindungen ohne Leihfahrzeuge.",
    },
  };

  // --- small helpers -----------------------------------------------------------------------
  const SVG_NS = "http://www.w3.org/2000/svg";
  // MOTIS's current plan path (KDE Itinerary and GNOME Maps call it too): polylines at
  // precision 6, numItineraries a minimum, MOTIS's mode classes.
  const PLAN_PATH = "/api/v5/plan";
  const STREET_MODES = new Set(["WALK", "BIKE", "CAR", "RENTAL", "BIKE_RENTAL", "CAR_RENTAL",
    "SCOOTER_RENTAL", "BIKE_TO_PARK", "CAR_TO_PARK", "CAR_PARKING", "FLEX", "ODM"]);

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function svgEl(tag, attrs = {}) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  }

  /**
   * Google encoded polyline → [[lat, lon], ...] at the precision the API states (7 here).
   * Plain arithmetic instead of the usual bitwise ops: at precision 7 values pass 2^31.
   */
  function decodePolylineSafe(str, precision = 5) {
    const factor = 10 ** precision;
    const out = [];
    let index = 0;
    let lat = 0;
    let lon = 0;
    const next = () => {
      let shift = 1;
      let result = 0;
      let byte;
      do {
        byte = str.charCodeAt(index++) - 63;
        result += (byte & 0x1f) * shift;
        shift *= 32;
      } while (byte >= 0x20 && index < str.length);
      return result % 2 ? -(result + 1) / 2 : result / 2;
    };
    while (index < str.length) {
      lat += next();
      if (index >= str.length) break;
      lon += next();
      out.push([lat / factor, lon / factor]);
    }
    return out;
  }

  function hexColor(value) {
    if (!value) return null;
    const v = String(value).trim().replace(/^#/, "");
    return /^[0-9a-fA-F]{6}$/.test(v) ? `#${v.toLowerCase()}` : null;
  }

  function luminance(hex) {
    const n = parseInt(hex.slice(1), 16);
    const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  }

  function contrast(a, b) {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  }

  /** Route colours from the feed, with the text colour replaced when it is unreadable. */
  // Feeds often leave route_color empty; fall back to a colour per mode.
  const MODE_COLORS = { HIGHSPEED_RAIL: "#b3261e", LONG_DISTANCE: "#b3261e", RAIL: "#b3261e",
    NIGHT_RAIL: "#3b2f7a", REGIONAL_FAST_RAIL: "#7a1f5c", REGIONAL_RAIL: "#7a1f5c",
    SUBURBAN: "#2e7d32", SUBWAY: "#0b5cad", METRO: "#0b5cad", TRAM: "#c62828", BUS: "#6a1b9a",
    COACH: "#6a1b9a", FERRY: "#0277bd" };

  function lineColors(leg) {
    const bg = hexColor(leg.routeColor) || MODE_COLORS[String(leg.mode || "").toUpperCase()] || "#5a6470";
    let fg = hexColor(leg.routeTextColor);
    if (!fg || contrast(bg, fg) < 4.5) fg = contrast(bg, "#ffffff") >= contrast(bg, "#000000") ? "#ffffff" : "#000000";
    return { bg, fg };
  }

  function isTransit(leg) {
    return !STREET_MODES.has(String(leg.mode || "").toUpperCase()) || Boolean(leg.tripId);
  }

  function isRental(leg) {
    const m = String(leg.mode || "").toUpperCase();
    return Boolean(leg.rental) || m.endsWith("_RENTAL") || m === "RENTAL";
  }

  function rentalKind(leg) {
    const ff = String((leg.rental && leg.rental.formFactor) || "").toUpperCase();
    const m = String(leg.mode || "").toUpperCase();
    if (ff.includes("CAR") && !ff.includes("CARGO")) return "car";
    if (ff.includes("SCOOTER") || ff.includes("MOPED")) return "scooter";
    if (!ff && m.startsWith("CAR")) return "car";
    return "bike";
  }

  function minutes(seconds) {
    return Math.max(0, Math.round(seconds / 60));
  }

  function legSeconds(leg) {
    if (typeof leg.duration === "number") return leg.duration;
    return (Date.parse(leg.endTime) - Date.parse(leg.startTime)) / 1000;
  }

  // --- icons: simple line drawings, 24×24, currentColor ----------------------------------------
  const ICONS = {
    walk: "M13 4.5a1.8 1.8 0 1 1-3.6 0 1.8 1.8 0 0 1 3.6 0ZM9.5 21l1.6-6.2 2.4 2.3V21M8 12.5l1.5-4.7 3 .4 2 3 2.5 1M9.3 8.1 7 9.5 6.2 12.5",
    bike: "M5.5 18.5a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7ZM18.5 18.5a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7ZM5.5 15l4-6.5h6l3 6.5M9.5 8.5 12 15h1.5M14 6h3",
    car: "M4 16.5V12l2-5h12l2 5v4.5M4 16.5h16M6.5 19.5v-3M17.5 19.5v-3M4 12h16M7.5 14.2h.01M16.5 14.2h.01",
    scooter: "M6 19a2 2 0 1 0 0-4 2 2 0 0 0 0 4ZM18 19a2 2 0 1 0 0-4 2 2 0 0 0 0 4ZM8 17h8l-2.5-12H11M6 17l2-2",
    train: "M8 3h8a3 3 0 0 1 3 3v8.5a2.5 2.5 0 0 1-2.5 2.5h-9A2.5 2.5 0 0 1 5 14.5V6a3 3 0 0 1 3-3ZM5 10h14M12 3v7M8.5 13.5h.01M15.5 13.5h.01M8 17l-2.5 4M16 17l2.5 4M7 19.5h10",
    bus: "M6 3.5h12a1.5 1.5 0 0 1 1.5 1.5v12.5h-15V5A1.5 1.5 0 0 1 6 3.5ZM4.5 11h15M7.5 14.5h.01M16.5 14.5h.01M6.5 17.5V20M17.5 17.5V20",
    tram: "M7 6.5h10a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2ZM5 12.5h14M9 3h6M12 3v3.5M8 18.5 6.5 21M16 18.5l1.5 2.5",
    subway: "M12 3a7 7 0 0 0-7 7v6a2.5 2.5 0 0 0 2.5 2.5h9A2.5 2.5 0 0 0 19 16v-6a7 7 0 0 0-7-7ZM5 12h14M8.5 15.3h.01M15.5 15.3h.01M8 18.5 6.5 21M16 18.5l1.5 2.5",
    ferry: "M3 19c1.5 1 3 1 4.5 0s3-1 4.5 0 3 1 4.5 0 3-1 4.5 0M5 16l-1-4h16l-1 4M7 12V7h10v5M12 4v3",
    plane: "M10.5 21l1.5-1 1.5 1v-2.5L12 17V12l8 3v-2l-8-5V4.5a1 1 0 0 0-2 0V8l-8 5v2l8-3v5l-1.5 1.5Z",
    swap: "M7 4v16M7 4 4 7M7 4l3 3M17 20V4M17 20l-3-3M17 20l3-3",
    chevron: "M6 9l6 6 6-6",
    earlier: "M15 6l-6 6 6 6",
    later: "M9 6l6 6-6 6",
    search: "M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13ZM15.5 15.5 20 20",
  };

  function icon(name, label) {
    const svg = svgEl("svg", { viewBox: "0 0 24 24", width: "20", height: "20", class: "icon",
      fill: "none", stroke: "currentColor", "stroke-width": "1.8", "stroke-linecap": "round",
      "stroke-linejoin": "round", focusable: "false" });
    if (label) {
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", label);
    } else {
      svg.setAttribute("aria-hidden", "true");
    }
    svg.append(svgEl("path", { d: ICONS[name] || ICONS.train }));
    return svg;
  }

  function modeIcon(leg) {
    const m = String(leg.mode || "").toUpperCase();
    if (isRental(leg)) return rentalKind(leg);
    if (m === "WALK") return "walk";
    if (m === "BIKE") return "bike";
    if (m === "CAR" || m.startsWith("CAR_")) return "car";
    if (m === "BUS" || m === "COACH") return "bus";
    if (m === "TRAM" || m === "CABLE_CAR") return "tram";
    if (m === "SUBWAY" || m === "METRO") return "subway";
    if (m === "FERRY") return "ferry";
    if (m === "AIRPLANE") return "plane";
    return "train";
  }

  const MODE_NAMES = {
    en: { walk: "Walk", bike: "Bike", car: "Car", scooter: "Scooter", train: "Train", bus: "Bus",
      tram: "Tram", subway: "Subway", ferry: "Ferry", plane: "Plane" },
    de: { walk: "Fußweg", bike: "Fahrrad", car: "Auto", scooter: "Scooter", train: "Zug", bus: "Bus",
      tram: "Straßenbahn", subway: "U-Bahn", ferry: "Fähre", plane: "Flugzeug" },
  };

  // --- styles (scoped to the shadow root) ---------------------------------------------------
  const CSS = `
:host { display: block; contain: content; container-type: inline-size; }
:host([hidden]) { display: none; }
.owl {
  all: initial; display: block; box-sizing: border-box;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 16px; line-height: 1.4; color: #1b1f24; background: #fff; text-align: left;
  border: 1px solid #c9d1d9; border-radius: 12px; padding: 16px; max-width: 100%;
  --accent: #0b5cad; --accent-text: #fff; --muted: #56606b; --line: #d7dde3; --bg2: #f4f6f8;
  --danger: #a3160e; --focus: #f5a300;
}
.owl *, .owl *::before, .owl *::after { box-sizing: border-box; }
h2 { font-size: 1.2em; margin: 0 0 12px; font-weight: 650; }
h3 { font-size: 1em; margin: 16px 0 8px; font-weight: 650; }
form { display: grid; gap: 10px; margin: 0; }
.places { display: grid; grid-template-columns: 1fr auto; gap: 8px; align-items: center; }
.place-fields { display: grid; gap: 8px; }
.field { display: grid; gap: 2px; position: relative; min-width: 0; }
label, .legend { font-size: .85em; font-weight: 600; color: #2d333a; }
input[type=text], input[type=date], input[type=time], select {
  font: inherit; color: inherit; width: 100%; min-width: 0; min-height: 44px; padding: 8px 10px; margin: 0;
  border: 1px solid #8b949e; border-radius: 8px; background: #fff;
}
input::placeholder { color: #6b737c; }
button { font: inherit; cursor: pointer; margin: 0; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
input:focus-visible { outline-offset: 0; }
.icon { width: 20px; height: 20px; flex: none; display: inline-block; vertical-align: middle; }
.swap { width: 44px; height: 44px; display: grid; place-items: center; border-radius: 50%;
  border: 1px solid #8b949e; background: #fff; color: var(--accent); padding: 0; }
.swap:hover { background: var(--bg2); }
.when { display: grid; grid-template-columns: minmax(0,1.2fr) minmax(0,1fr) minmax(0,1.2fr); gap: 8px; }
fieldset { border: 0; padding: 0; margin: 0; min-width: 0; }
.segmented { display: flex; border: 1px solid #8b949e; border-radius: 8px; overflow: hidden; min-height: 44px; }
.segmented label { flex: 1; display: flex; align-items: center; justify-content: center; gap: 4px;
  padding: 0 8px; font-weight: 500; font-size: .95em; color: inherit; cursor: pointer; position: relative; }
.segmented label + label { border-left: 1px solid #8b949e; }
.segmented input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }
.segmented input:checked + span { font-weight: 700; }
.segmented label:has(input:checked) { background: var(--accent); color: var(--accent-text); }
.segmented label:has(input:focus-visible) { outline: 3px solid var(--focus); outline-offset: -3px; }
.modes { display: flex; flex-wrap: wrap; gap: 8px; }
.toggle { display: inline-flex; align-items: center; gap: 6px; min-height: 44px; padding: 6px 12px;
  border: 1px solid #8b949e; border-radius: 22px; font-weight: 500; font-size: .95em; color: inherit; cursor: pointer; position: relative; }
.toggle input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }
.toggle:has(input:checked) { background: #e3eefa; border-color: var(--accent); color: #08447f; }
.toggle:has(input:checked)::after { content: "✓"; font-weight: 700; }
.toggle:has(input:focus-visible) { outline: 3px solid var(--focus); outline-offset: 2px; }
.submit { display: inline-flex; align-items: center; justify-content: center; gap: 8px; min-height: 48px;
  padding: 10px 20px; border: 0; border-radius: 8px; background: var(--accent); color: var(--accent-text);
  font-weight: 700; }
.submit:hover { background: #094a8c; }
.submit[aria-disabled=true] { opacity: .7; cursor: progress; }
[role=listbox] { position: absolute; z-index: 10; top: 100%; left: 0; right: 0; margin: 2px 0 0; padding: 4px 0;
  list-style: none; background: #fff; border: 1px solid #8b949e; border-radius: 8px;
  box-shadow: 0 6px 18px rgba(0,0,0,.15); max-height: 260px; overflow-y: auto; }
[role=listbox][hidden] { display: none; }
[role=option] { padding: 10px 12px; cursor: pointer; min-height: 44px; display: flex; align-items: center; gap: 8px; }
[role=option][aria-selected=true] { background: var(--accent); color: var(--accent-text); }
[role=option]:hover:not([aria-selected=true]) { background: var(--bg2); }
.message { margin: 12px 0 0; padding: 10px 12px; border-radius: 8px; }
.message:empty { display: none; }
.message.error { background: #fdecea; color: var(--danger); border: 1px solid #f1b5ae; }
.message.info { background: var(--bg2); color: #2d333a; border: 1px solid var(--line); }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.results[hidden] { display: none; }
.paging { display: flex; justify-content: space-between; gap: 8px; margin: 8px 0; }
.paging button { display: inline-flex; align-items: center; gap: 4px; min-height: 44px; padding: 6px 12px;
  border: 1px solid #8b949e; border-radius: 8px; background: #fff; color: var(--accent); font-weight: 600; }
.paging button[hidden] { display: none; }
ol.itineraries { list-style: none; margin: 0; padding: 0; display: grid; gap: 8px; }
li.itinerary { border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
li.itinerary.chosen { border-color: var(--accent); box-shadow: 0 0 0 1px var(--accent); }
.summary { display: grid; grid-template-columns: minmax(0,1fr) auto auto; gap: 4px 10px; width: 100%; text-align: left;
  padding: 10px 12px; background: #fff; border: 0; color: inherit; align-items: center; }
.summary:hover { background: #f8fafc; }
.times { font-size: 1.15em; font-weight: 700; font-variant-numeric: tabular-nums; }
.meta { color: var(--muted); font-size: .9em; text-align: right; }
.strip { grid-column: 1 / 3; display: flex; flex-wrap: wrap; align-items: center; gap: 4px; }
.strip .sep { color: #8b949e; font-size: .8em; }
.chip { display: inline-flex; align-items: center; gap: 3px; color: #3d454e; font-size: .85em; }
.line { display: inline-flex; align-items: center; gap: 4px; padding: 2px 8px; border-radius: 6px; font-weight: 700;
  font-size: .85em; line-height: 1.5; white-space: nowrap; }
.line .icon { width: 16px; height: 16px; }
.chev { grid-column: 3; grid-row: 1 / 3; align-self: center; transition: transform .15s; color: var(--muted); }
.summary[aria-expanded=true] .chev { transform: rotate(180deg); }
.detail { padding: 4px 12px 12px; border-top: 1px solid var(--line); background: #fbfcfd; }
.detail[hidden] { display: none; }
ol.legs { list-style: none; margin: 0; padding: 0; }
li.leg { display: grid; grid-template-columns: 3.2em 1fr; gap: 0 8px; padding: 8px 0; border-bottom: 1px dashed var(--line); }
li.leg:last-child { border-bottom: 0; }
li.wait { padding: 4px 0 4px 3.7em; font-size: .85em; color: var(--muted); border-bottom: 1px dashed var(--line); }
.lt { font-variant-numeric: tabular-nums; font-weight: 600; }
.lp { font-weight: 600; }
.ld { grid-column: 2; color: #3d454e; font-size: .92em; display: flex; flex-wrap: wrap; align-items: center; gap: 6px; }
.track { color: var(--muted); font-weight: 400; font-size: .9em; }
details.stops { grid-column: 2; font-size: .9em; color: #3d454e; }
details.stops summary { cursor: pointer; min-height: 32px; display: flex; align-items: center; }
details.stops ol { margin: 4px 0 0; padding-left: 1.2em; }
.rental { grid-column: 2; font-size: .9em; color: #3d454e; margin: 2px 0 0; }
.map { margin-top: 12px; border: 1px solid var(--line); border-radius: 10px; overflow: hidden; background: #eef2ef; position: relative; }
.map svg { display: block; width: 100%; height: auto; max-height: 420px; }
.map .attribution { position: absolute; right: 4px; bottom: 2px; font-size: 11px; background: rgba(255,255,255,.8); padding: 0 4px; }
.map-label { font: 600 13px system-ui, sans-serif; paint-order: stroke; stroke: #fff; stroke-width: 4px; fill: #1b1f24; }
.footer { margin-top: 10px; font-size: .75em; color: var(--muted); }
@container (max-width: 560px) {
  .owl { padding: 12px; border-radius: 0; border-left: 0; border-right: 0; }
  .when { grid-template-columns: minmax(0,1fr) minmax(0,1fr); }
  .meta { grid-column: 1 / 3; grid-row: 2; text-align: left; }
  .strip { grid-row: 3; }
  .chev { grid-row: 1 / 4; }
  .when fieldset { grid-column: 1 / -1; }
  .when fieldset .legend[aria-hidden] { display: none; }
  input[type=date], input[type=time] { padding: 8px 6px; font-size: 15px; }
  .submit { width: 100%; }
  .times { font-size: 1.05em; }
}
@media (prefers-reduced-motion: reduce) { .chev { transition: none; } }
`;

  // --- the element ----------------------------------------------------------------------------
  let instances = 0;

  class OwlTripPlanner extends HTMLElement {
    constructor() {
      super();
      this.uid = `owl${++instances}`;
      this.places = { from: null, to: null };
      this.result = null;
      this.chosen = 0;
      this.seq = 0;
    }

    opt(name, fallback) {
      const own = this.dataset[name];
      if (own !== undefined && own !== "") return own;
      const fromScript = SCRIPT_OPTS[name];
      return fromScript !== undefined && fromScript !== "" ? fromScript : fallback;
    }

    connectedCallback() {
      if (this.shadowRoot) return;
      const pageLang = (document.documentElement.lang || navigator.language || "en").slice(0, 2);
      const lang = String(this.opt("lang", pageLang)).slice(0, 2).toLowerCase();
      this.lang = I18N[lang] ? lang : "en";
      this.t = I18N[this.lang];
      this.api = String(this.opt("api", location.origin)).replace(/\/+$/, "");
      this.zone = this.opt("timezone", "Europe/Berlin");
      this.tiles = this.opt("tiles", "");
      this.timeFmt = new Intl.DateTimeFormat(this.lang === "de" ? "de-DE" : "en-GB",
        { timeZone: this.zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
      this.dayFmt = new Intl.DateTimeFormat("en-CA",
        { timeZone: this.zone, year: "numeric", month: "2-digit", day: "2-digit" });
      this.render();
    }

    // -- time zone arithmetic: the query is in the timetable's zone, not the device's ------
    zoneOffsetMinutes(utcMillis) {
      const parts = new Intl.DateTimeFormat("en-US", { timeZone: this.zone, hourCycle: "h23",
        year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
        second: "2-digit" }).formatToParts(new Date(utcMillis));
      const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
      const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
      return Math.round((asUtc - utcMillis) / 60000);
    }

    /** "2026-04-20" + "08:00" in the timetable's zone → ISO 8601 with that zone's offset. */
    isoInZone(day, hhmm) {
      const [y, mo, d] = day.split("-").map(Number);
      const [h, mi] = hhmm.split(":").map(Number);
      const naive = Date.UTC(y, mo - 1, d, h, mi);
      let offset = this.zoneOffsetMinutes(naive);
      offset = this.zoneOffsetMinutes(naive - offset * 60000);
      const sign = offset < 0 ? "-" : "+";
      const abs = Math.abs(offset);
      const pad = (n) => String(n).padStart(2, "0");
      return `${day}T${pad(h)}:${pad(mi)}:00${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
    }

    fmtTime(iso) {
      return this.timeFmt.format(new Date(iso));
    }

    dayOf(iso) {
      return this.dayFmt.format(new Date(iso));
    }

    fmtDuration(seconds) {
      const total = minutes(seconds);
      const h = Math.floor(total / 60);
      const m = total % 60;
      if (!h) return `${m} ${this.t.minutes}`;
      return `${h} ${this.t.hours} ${String(m).padStart(2, "0")} ${this.t.minutes}`;
    }

    fmtDistance(metres) {
      if (!metres && metres !== 0) return "";
      const nf = new Intl.NumberFormat(this.lang === "de" ? "de-DE" : "en-GB",
        { maximumFractionDigits: 1 });
      return metres < 1000 ? `${Math.round(metres / 10) * 10} m` : `${nf.format(metres / 1000)} km`;
    }

    // -- DOM -----------------------------------------------------------------------------
    render() {
      const t = this.t;
      const id = (s) => `${this.uid}-${s}`;
      const root = this.attachShadow({ mode: "open" });
      const style = document.createElement("style");
      style.textContent = CSS;

      const now = new Date();
      const today = this.dayFmt.format(now);
      const nowTime = this.timeFmt.format(now);
      const presetDate = /^\d{4}-\d{2}-\d{2}$/.test(this.opt("date", "")) ? this.opt("date") : today;
      const presetTime = /^\d{2}:\d{2}$/.test(this.opt("time", "")) ? this.opt("time") : nowTime;

      const placeField = (which) => el("div", { class: "field" },
        el("label", { for: id(which), text: t[which] }),
        el("input", { id: id(which), name: which, type: "text", role: "combobox",
          autocomplete: "off", autocapitalize: "off", spellcheck: "false",
          "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": id(`${which}-list`),
          placeholder: t[`${which}Placeholder`] }),
        el("ul", { id: id(`${which}-list`), role: "listbox", "aria-label": t[which], hidden: true }));

      const toggle = (name, ic, checked) => el("label", { class: "toggle" },
        el("input", { type: "checkbox", name, checked }),
        icon(ic), el("span", { text: t[name] }));

      this.$status = el("div", { class: "visually-hidden", role: "status", "aria-live": "polite",
        "aria-atomic": "true" });
      this.$message = el("p", { class: "message", id: id("message") });
      this.$list = el("ol", { class: "itineraries", "aria-labelledby": id("results-h") });
      this.$direct = el("ol", { class: "itineraries" });
      this.$directBox = el("div", { hidden: true },
        el("h3", { id: id("direct-h"), text: t.direct }), this.$direct);
      this.$direct.setAttribute("aria-labelledby", id("direct-h"));
      this.$earlier = el("button", { type: "button", class: "earlier", hidden: true,
        onclick: () => this.page("previous") }, icon("earlier"), t.earlier);
      this.$later = el("button", { type: "button", class: "later", hidden: true,
        onclick: () => this.page("next") }, t.later, icon("later"));
      this.$map = el("div", { class: "map", hidden: true });
      this.$resultsHeading = el("h3", { id: id("results-h"), text: t.results });
      this.$results = el("section", { class: "results", hidden: true, "aria-labelledby": id("results-h") },
        this.$resultsHeading,
        el("div", { class: "paging" }, this.$earlier, this.$later),
        this.$list, this.$directBox, this.$map);
      this.$submit = el("button", { type: "submit", class: "submit" }, icon("search"),
        el("span", { text: t.search }));

      this.$form = el("form", { novalidate: true, "aria-labelledby": id("title") },
        el("div", { class: "places" },
          el("div", { class: "place-fields" }, placeField("from"), placeField("to")),
          el("button", { type: "button", class: "swap", "aria-label": t.swap, title: t.swap,
            onclick: () => this.swap() }, icon("swap"))),
        el("div", { class: "when" },
          el("div", { class: "field" },
            el("label", { for: id("date"), text: t.date }),
            el("input", { id: id("date"), name: "date", type: "date", value: presetDate, required: true })),
          el("div", { class: "field" },
            el("label", { for: id("time"), text: t.time }),
            el("input", { id: id("time"), name: "time", type: "time", value: presetTime, required: true })),
          el("fieldset", {},
            el("legend", { class: "legend visually-hidden", text: t.timeMode }),
            el("div", { class: "legend", "aria-hidden": "true", text: "\u00a0" }),
            el("div", { class: "segmented" },
              el("label", {}, el("input", { type: "radio", name: "arriveBy", value: "false", checked: true }),
                el("span", { text: t.depart })),
              el("label", {}, el("input", { type: "radio", name: "arriveBy", value: "true" }),
                el("span", { text: t.arrive }))))),
        el("fieldset", {},
          el("legend", { class: "legend", text: t.modes }),
          el("div", { class: "modes" },
            toggle("transit", "train", true), toggle("bike", "bike", false),
            toggle("scooter", "scooter", false), toggle("car", "car", false))),
        el("div", {}, this.$submit));

      const wrapper = el("div", { class: "owl", lang: this.lang },
        el("h2", { id: id("title"), text: t.title }),
        this.$form, this.$status, this.$message, this.$results,
        el("div", { class: "footer", text: this.opt("attribution", "Daten: DELFI e.V. / GTFS.de, CC BY 4.0") }));
      root.append(style, wrapper);

      this.$form.addEventListener("submit", (e) => {
        e.preventDefault();
        this.search();
      });
      for (const which of ["from", "to"]) this.setupCombobox(which);
      this.preset("from");
      this.preset("to");
    }

    /** data-from / data-to: "Name" or "stopId|Name" preset by the embedding site. */
    preset(which) {
      const raw = this.opt(which, "");
      if (!raw) return;
      const [a, b] = raw.includes("|") ? raw.split("|", 2) : [null, raw];
      this.shadowRoot.getElementById(`${this.uid}-${which}`).value = b;
      if (a) this.places[which] = { id: a, name: b };
    }

    // -- autocomplete (WAI-ARIA combobox with listbox popup) ----------------------------------
    setupCombobox(which) {
      const input = this.shadowRoot.getElementById(`${this.uid}-${which}`);
      const list = this.shadowRoot.getElementById(`${this.uid}-${which}-list`);
      const state = { matches: [], active: -1, timer: 0, controller: null, seq: 0 };
      this[`${which}Box`] = state;

      const close = () => {
        list.hidden = true;
        input.setAttribute("aria-expanded", "false");
        input.removeAttribute("aria-activedescendant");
        state.active = -1;
      };
      const setActive = (i) => {
        state.active = i;
        [...list.children].forEach((opt, k) => opt.setAttribute("aria-selected", String(k === i)));
        if (i >= 0) {
          const opt = list.children[i];
          input.setAttribute("aria-activedescendant", opt.id);
          opt.scrollIntoView({ block: "nearest" });
        } else {
          input.removeAttribute("aria-activedescendant");
        }
      };
      const choose = (i) => {
        const m = state.matches[i];
        if (!m) return;
        this.places[which] = m;
        input.value = m.name;
        close();
      };
      const show = (matches) => {
        state.matches = matches;
        list.replaceChildren(...matches.map((m, i) => el("li", {
          id: `${this.uid}-${which}-opt-${i}`, role: "option", "aria-selected": "false",
          onmousedown: (e) => e.preventDefault(), // keep focus in the input
          onclick: () => choose(i),
        }, icon("train"), el("span", { text: m.name }))));
        if (matches.length) {
          list.hidden = false;
          input.setAttribute("aria-expanded", "true");
          setActive(-1);
          this.announce(this.t.suggestions(matches.length));
        } else {
          close();
          this.announce(this.t.noSuggestions);
        }
      };

      input.addEventListener("input", () => {
        this.places[which] = null;
        clearTimeout(state.timer);
        const q = input.value.trim();
        if (q.length < 2) {
          if (state.controller) state.controller.abort();
          close();
          return;
        }
        state.timer = setTimeout(async () => {
          const seq = ++state.seq;
          try {
            const matches = await this.geocode(q, state);
            if (seq === state.seq && input.value.trim() === q) show(matches);
          } catch (err) {
            if (err.name !== "AbortError" && seq === state.seq) {
              close();
              this.showError(err.unreachable ? this.t.unreachable : this.t.geocodeFailed);
            }
          }
        }, 200);
      });
      input.addEventListener("keydown", (e) => {
        const open = !list.hidden && state.matches.length > 0;
        if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          if (!state.matches.length) return;
          e.preventDefault();
          if (!open) {
            list.hidden = false;
            input.setAttribute("aria-expanded", "true");
          }
          const n = state.matches.length;
          const step = e.key === "ArrowDown" ? 1 : -1;
          const next = state.active < 0 ? (step > 0 ? 0 : n - 1) : (state.active + step + n) % n;
          setActive(next);
        } else if (e.key === "Enter" && open && state.active >= 0) {
          e.preventDefault();
          choose(state.active);
        } else if (e.key === "Escape" && open) {
          e.preventDefault();
          close();
        } else if (e.key === "Home" && open && state.active >= 0) {
          e.preventDefault();
          setActive(0);
        } else if (e.key === "End" && open && state.active >= 0) {
          e.preventDefault();
          setActive(state.matches.length - 1);
        }
      });
      input.addEventListener("blur", () => close());
      state.close = close;
    }

    async geocode(text, state) {
      if (state && state.controller) state.controller.abort();
      const controller = new AbortController();
      if (state) state.controller = controller;
      const data = await this.getJSON(`/api/v1/geocode?text=${encodeURIComponent(text)}`,
        controller.signal);
      const list = Array.isArray(data) ? data : data.matches || data.results || [];
      return list.map((m) => ({
        id: m.id || m.stopId || m.stop_id || null,
        name: m.name || "",
        lat: m.lat,
        lon: m.lon,
      })).filter((m) => m.name && (m.id || (m.lat !== undefined && m.lon !== undefined)));
    }

    /** fetch + JSON, turning network failures and API error bodies into readable errors. */
    async getJSON(path, signal) {
      let response;
      try {
        response = await fetch(this.api + path, { signal, headers: { Accept: "application/json" } });
      } catch (err) {
        if (err.name === "AbortError") throw err;
        const e = new Error(this.t.unreachable);
        e.unreachable = true;
        throw e;
      }
      let body = null;
      try {
        body = await response.json();
      } catch (_) {
        body = null;
      }
      if (!response.ok) {
        let msg = body && (body.error || body.detail || body.message);
        if (Array.isArray(msg)) msg = msg.map((d) => d.msg || JSON.stringify(d)).join("; ");
        if (typeof msg !== "string") msg = `HTTP ${response.status}`;
        const e = new Error(msg);
        e.status = response.status;
        e.parameter = body && body.parameter;
        throw e;
      }
      if (body === null) {
        const e = new Error(this.t.unreachable);
        e.unreachable = true;
        throw e;
      }
      return body;
    }

    swap() {
      const a = this.shadowRoot.getElementById(`${this.uid}-from`);
      const b = this.shadowRoot.getElementById(`${this.uid}-to`);
      [a.value, b.value] = [b.value, a.value];
      [this.places.from, this.places.to] = [this.places.to, this.places.from];
    }

    announce(text) {
      // Clear first so that the same text twice is announced twice.
      this.$status.textContent = "";
      setTimeout(() => { this.$status.textContent = text; }, 50);
    }

    showError(text) {
      this.$message.className = "message error";
      this.$message.setAttribute("role", "alert");
      this.$message.textContent = text;
      this.announce(text);
    }

    showInfo(text) {
      this.$message.className = "message info";
      this.$message.removeAttribute("role");
      this.$message.textContent = text;
    }

    /** The chosen place, or the best geocoder match for what was typed. */
    async resolve(which) {
      if (this.places[which]) return this.places[which];
      const input = this.shadowRoot.getElementById(`${this.uid}-${which}`);
      const q = input.value.trim();
      if (!q) throw new Error(which === "from" ? this.t.needFrom : this.t.needTo);
      const matches = await this.geocode(q, this[`${which}Box`]);
      if (!matches.length) throw new Error(this.t.noStop(q));
      this.places[which] = matches[0];
      input.value = matches[0].name;
      return matches[0];
    }

    placeParam(p) {
      return p.id ? p.id : `${p.lat},${p.lon}`;
    }

    query(cursor) {
      const f = this.$form.elements;
      const extra = [];
      if (f.bike.checked) extra.push("BIKE_RENTAL");
      if (f.scooter.checked) extra.push("SCOOTER_RENTAL");
      if (f.car.checked) extra.push("CAR_RENTAL");
      const modes = ["WALK", ...extra].join(",");
      const params = new URLSearchParams({
        fromPlace: this.placeParam(this.places.from),
        toPlace: this.placeParam(this.places.to),
        time: this.isoInZone(f.date.value, f.time.value),
        arriveBy: f.arriveBy.value === "true" ? "true" : "false",
        preTransitModes: modes,
        postTransitModes: modes,
        directModes: modes,
      });
      // Without "Bus & Bahn" ask for direct trips only: an empty transitModes (as in MOTIS).
      if (!f.transit.checked) params.set("transitModes", "");
      if (cursor) params.set("pageCursor", cursor);
      return params;
    }

    async search() {
      const f = this.$form.elements;
      this.$message.textContent = "";
      for (const which of ["from", "to"]) this[`${which}Box`].close();
      if (!f.date.value || !f.time.value) {
        this.showError(`${this.t.date}/${this.t.time}?`);
        return;
      }
      try {
        await this.resolve("from");
        await this.resolve("to");
      } catch (err) {
        this.showError(err.message);
        return;
      }
      if (this.placeParam(this.places.from) === this.placeParam(this.places.to)) {
        this.showError(this.t.same);
        return;
      }
      this.params = this.query(null);
      this.searched = { from: this.places.from.name, to: this.places.to.name };
      await this.run(this.params);
    }

    async page(direction) {
      if (!this.result) return;
      const cursor = direction === "next" ? this.result.nextPageCursor : this.result.previousPageCursor;
      if (!cursor) return;
      const params = new URLSearchParams(this.params);
      params.set("pageCursor", cursor);
      await this.run(params, direction);
    }

    async run(params, direction) {
      const seq = ++this.seq;
      this.$submit.setAttribute("aria-disabled", "true");
      this.$submit.querySelector("span").textContent = this.t.searching;
      this.setAttribute("aria-busy", "true");
      this.announce(this.t.searching);
      try {
        let data;
        let note = "";
        try {
          data = await this.getJSON(`${PLAN_PATH}?${params}`);
        } catch (err) {
          // A server without sharing data rejects the rental modes: plan without them and say so.
          const modes = ["preTransitModes", "postTransitModes", "directModes"];
          if (err.status !== 400 || !modes.includes(err.parameter) ||
              !/RENTAL/.test(params.get(err.parameter) || "")) throw err;
          for (const m of modes) params.set(m, "WALK");
          data = await this.getJSON(`${PLAN_PATH}?${params}`);
          note = this.t.noSharing;
        }
        if (seq !== this.seq) return;
        this.result = data;
        this.showResult(data, direction);
        if (note && this.itins.length) this.showInfo(note);
      } catch (err) {
        if (seq !== this.seq) return;
        this.result = null;
        this.$results.hidden = true;
        this.showError(err.unreachable ? this.t.unreachable : this.t.failed(err.message));
      } finally {
        if (seq === this.seq) {
          this.$submit.removeAttribute("aria-disabled");
          this.$submit.querySelector("span").textContent = this.t.search;
          this.removeAttribute("aria-busy");
        }
      }
    }

    showResult(data, direction) {
      const f = this.$form.elements;
      let itineraries = Array.isArray(data.itineraries) ? data.itineraries : [];
      const direct = Array.isArray(data.direct) ? data.direct : [];
      // Without the transit toggle only the direct (street-only) options are of interest
      // (the request says transitModes=; this also holds against a server that ignores it).
      if (!f.transit.checked) itineraries = itineraries.filter((it) => !(it.legs || []).some(isTransit));
      this.itins = [...itineraries, ...direct];
      this.chosen = 0;
      this.$list.replaceChildren(...itineraries.map((it, i) => this.renderItinerary(it, i)));
      this.$direct.replaceChildren(...direct.map((it, i) => this.renderItinerary(it, itineraries.length + i)));
      this.$directBox.hidden = direct.length === 0;
      // Direct-only answers (transit off) have their own heading; keep one, not two.
      this.$resultsHeading.hidden = !itineraries.length && direct.length > 0;
      this.$earlier.hidden = !data.previousPageCursor || !itineraries.length;
      this.$later.hidden = !data.nextPageCursor || !itineraries.length;
      const total = itineraries.length + direct.length;
      if (!total) {
        this.$results.hidden = true;
        const reason = data.reason || data.message || data.error || "";
        this.showError(reason ? `${this.t.none} ${reason}` : this.t.none);
        return;
      }
      this.$message.textContent = "";
      this.$message.className = "message";
      this.$results.hidden = false;
      this.announce(this.t.found(total));
      this.choose(0, false);
      if (direction) {
        const target = direction === "next" ? this.$later : this.$earlier;
        (target.hidden ? this.$list.querySelector("button") : target)?.focus();
      }
    }

    renderItinerary(it, index) {
      const t = this.t;
      const legs = it.legs || [];
      const detailId = `${this.uid}-detail-${index}`;
      const transfers = typeof it.transfers === "number" ? it.transfers :
        Math.max(0, legs.filter(isTransit).length - 1);
      const seconds = typeof it.duration === "number" ? it.duration :
        (Date.parse(it.endTime) - Date.parse(it.startTime)) / 1000;
      const plusDay = this.dayOf(it.endTime) !== this.dayOf(it.startTime);
      const strip = el("span", { class: "strip" });
      legs.forEach((leg, k) => {
        if (k) strip.append(el("span", { class: "sep", "aria-hidden": "true", text: "›" }));
        strip.append(this.legBadge(leg));
      });
      const summary = el("button", { type: "button", class: "summary", "aria-expanded": "false",
        "aria-controls": detailId, onclick: () => this.toggle(index) },
      el("span", { class: "times" },
        el("time", { class: "start", datetime: it.startTime, text: this.fmtTime(it.startTime) }),
        el("span", { "aria-hidden": "true", text: " – " }),
        el("span", { class: "visually-hidden", text: this.lang === "de" ? " bis " : " to " }),
        el("time", { class: "end", datetime: it.endTime, text: this.fmtTime(it.endTime) }),
        plusDay ? el("small", { text: ` ${t.nextDay}` }) : null),
      el("span", { class: "meta" },
        el("span", { class: "duration", text: this.fmtDuration(seconds) }), " · ",
        el("span", { class: "transfers", text: t.transfers(transfers) })),
      strip,
      el("span", { class: "chev", "aria-hidden": "true" }, icon("chevron")));
      const rows = [];
      legs.forEach((leg, k) => {
        if (k) {
          const wait = (Date.parse(leg.startTime) - Date.parse(legs[k - 1].endTime)) / 1000;
          if (wait >= 60) rows.push(el("li", { class: "wait", text: t.wait(minutes(wait)) }));
        }
        rows.push(this.renderLeg(leg));
      });
      const detail = el("div", { class: "detail", id: detailId, hidden: true },
        el("ol", { class: "legs" }, rows));
      return el("li", { class: "itinerary", "data-index": String(index) }, summary, detail);
    }

    /**
     * A place's name as shown: the API labels coordinates "START" / "END"; those are the
     * places the visitor searched from and to, under the names the widget showed them.
     */
    placeName(p) {
      if (p.name === "START") return (this.searched && this.searched.from) || this.t.start;
      if (p.name === "END") return (this.searched && this.searched.to) || this.t.destination;
      return p.name || "";
    }

    legName(leg) {
      return leg.routeShortName || leg.tripShortName || leg.displayName || leg.routeLongName || "";
    }

    legBadge(leg) {
      const kind = modeIcon(leg);
      const modeName = MODE_NAMES[this.lang][kind];
      if (isTransit(leg)) {
        const { bg, fg } = lineColors(leg);
        const name = this.legName(leg);
        return el("span", { class: "line", style: `background:${bg};color:${fg}` },
          icon(kind, modeName), el("span", { text: name || modeName }));
      }
      const mins = minutes(legSeconds(leg));
      return el("span", { class: "chip" }, icon(kind, modeName),
        el("span", { text: `${mins}′` }),
        el("span", { class: "visually-hidden", text: ` ${this.t.minutes}` }));
    }

    renderLeg(leg) {
      const t = this.t;
      const from = leg.from || {};
      const to = leg.to || {};
      const mins = minutes(legSeconds(leg));
      const track = (p) => (p.track ? el("span", { class: "track", text: ` ${t.platform} ${p.track}` }) : null);
      const rows = [
        el("span", { class: "lt", text: this.fmtTime(leg.startTime) }),
        el("span", { class: "lp" }, this.placeName(from), track(from)),
      ];
      if (isTransit(leg)) {
        const stops = leg.intermediateStops || [];
        rows.push(el("span", { class: "ld" }, this.legBadge(leg),
          leg.headsign ? el("span", { text: `${t.towards} ${leg.headsign}` }) : null,
          el("span", { text: `· ${this.fmtDuration(legSeconds(leg))}` })));
        rows.push(stops.length ? el("details", { class: "stops" },
          el("summary", { text: t.stops(stops.length) }),
          el("ol", {}, stops.map((s) => el("li", {},
            s.arrival || s.departure ? `${this.fmtTime(s.arrival || s.departure)} ` : "", s.name || ""))))
          : el("span", { class: "ld", text: t.noStops }));
      } else if (isRental(leg)) {
        const kind = rentalKind(leg);
        const what = kind === "car" ? t.rentalCar : kind === "scooter" ? t.rentalScooter : t.rentalBike;
        const r = leg.rental || {};
        rows.push(el("span", { class: "ld" }, icon(kind), t.ride(what, mins),
          leg.distance ? ` (${this.fmtDistance(leg.distance)})` : ""));
        const bits = [];
        if (r.systemName || r.systemId) bits.push(r.systemName || r.systemId);
        if (r.fromStationName || r.stationName) {
          const n = typeof r.vehiclesAvailable === "number" ? ` (${t.rentalAvailable(r.vehiclesAvailable)})` : "";
          bits.push(`${t.rentalStation} ${r.fromStationName || r.stationName}${n}`);
        }
        if (r.vehicleId) bits.push(`${t.rentalVehicle} ${r.vehicleId}`);
        if (r.toStationName) bits.push(`${t.rentalReturn} ${r.toStationName}`);
        if (bits.length) rows.push(el("p", { class: "rental", text: bits.join(" · ") }));
      } else {
        const m = String(leg.mode || "").toUpperCase();
        const text = m === "WALK" ? t.walk(mins, this.fmtDistance(leg.distance)) :
          t.ride(m === "BIKE" ? t.bikeRide : t.carRide, mins);
        rows.push(el("span", { class: "ld" }, icon(modeIcon(leg)), text));
      }
      rows.push(el("span", { class: "lt", text: this.fmtTime(leg.endTime) }),
        el("span", { class: "lp" }, this.placeName(to), track(to)));
      return el("li", { class: "leg" }, rows);
    }

    toggle(index) {
      const li = this.shadowRoot.querySelector(`li.itinerary[data-index="${index}"]`);
      const button = li.querySelector(".summary");
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      li.querySelector(".detail").hidden = !open;
      if (open) this.choose(index, true);
    }

    choose(index, announce) {
      this.chosen = index;
      for (const li of this.shadowRoot.querySelectorAll("li.itinerary")) {
        li.classList.toggle("chosen", Number(li.dataset.index) === index);
      }
      this.drawMap(this.itins[index]);
      if (announce) this.announce(`${this.t.mapTitle}: ${this.fmtTime(this.itins[index].startTime)}`);
    }

    // -- map: leg polylines in Web Mercator pixels, drawn as SVG, no tiles needed --------------
    drawMap(it) {
      if (!it || !(it.legs || []).length) {
        this.$map.hidden = true;
        return;
      }
      const legs = it.legs.map((leg) => {
        let pts = [];
        const g = leg.legGeometry;
        if (g && g.points) pts = decodePolylineSafe(g.points, g.precision ?? 5);
        if (pts.length < 2) {
          pts = [leg.from, ...(leg.intermediateStops || []), leg.to]
            .filter((p) => p && Number.isFinite(p.lat) && Number.isFinite(p.lon))
            .map((p) => [p.lat, p.lon]);
        }
        return { leg, pts };
      });
      const all = legs.flatMap((l) => l.pts);
      if (!all.length) {
        this.$map.hidden = true;
        return;
      }
      // One SVG unit per CSS pixel, so labels keep their size on a phone.
      this.$map.hidden = false;
      const W = Math.round(Math.max(300, Math.min(960, this.$map.clientWidth || 640)));
      const H = Math.round(Math.max(220, Math.min(420, W * 0.62)));
      const pad = 40;
      const world = (lat, lon, z) => {
        const s = 256 * 2 ** z;
        const sin = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
        return [((lon + 180) / 360) * s, (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * s];
      };
      const bounds = (z) => {
        const xy = all.map(([la, lo]) => world(la, lo, z));
        const xs = xy.map((p) => p[0]);
        const ys = xy.map((p) => p[1]);
        return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
      };
      let z = 16;
      for (; z > 1; z--) {
        const [x0, y0, x1, y1] = bounds(z);
        if (x1 - x0 <= W - 2 * pad && y1 - y0 <= H - 2 * pad) break;
      }
      if (!this.tiles) {
        // Tiles need a whole zoom level; a bare SVG map can fill the frame exactly.
        const [a0, b0, a1, b1] = bounds(z);
        const k = Math.min((W - 2 * pad) / Math.max(a1 - a0, 1e-6), (H - 2 * pad) / Math.max(b1 - b0, 1e-6));
        z = Math.min(z + Math.log2(k), 17);
      }
      const [x0, y0, x1, y1] = bounds(z);
      const ox = (x0 + x1) / 2 - W / 2;
      const oy = (y0 + y1) / 2 - H / 2;
      const proj = (lat, lon) => {
        const [x, y] = world(lat, lon, z);
        return [x - ox, y - oy];
      };
      const t = this.t;
      const fromName = this.placeName(it.legs[0].from || {}) || t.start;
      const toName = this.placeName(it.legs[it.legs.length - 1].to || {}) || t.destination;
      const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": t.map(fromName, toName),
        preserveAspectRatio: "xMidYMid meet" });
      svg.append(svgEl("rect", { x: -2 * W, y: -H, width: 5 * W, height: 3 * H, fill: "#eef2ef" }));
      if (this.tiles) {
        const n = 2 ** z;
        for (let tx = Math.floor(ox / 256); tx <= Math.floor((ox + W) / 256); tx++) {
          for (let ty = Math.floor(oy / 256); ty <= Math.floor((oy + H) / 256); ty++) {
            if (ty < 0 || ty >= n) continue;
            const href = this.tiles.replace("{z}", z).replace("{x}", ((tx % n) + n) % n).replace("{y}", ty);
            svg.append(svgEl("image", { href, x: tx * 256 - ox, y: ty * 256 - oy, width: 256, height: 256,
              opacity: "0.85" }));
          }
        }
      } else {
        // A faint grid gives a sense of scale when there are no tiles.
        // It reaches past the viewBox to fill the bands that a wide container adds.
        const g = svgEl("g", { stroke: "#dfe6e1", "stroke-width": 1 });
        for (let x = -2 * W; x <= 3 * W; x += 40) g.append(svgEl("line", { x1: x, y1: -H, x2: x, y2: 2 * H }));
        for (let y = -H; y <= 2 * H; y += 40) g.append(svgEl("line", { x1: -2 * W, y1: y, x2: 3 * W, y2: y }));
        svg.append(g);
      }
      const path = (pts) => pts.map(([la, lo], i) => {
        const [x, y] = proj(la, lo);
        return `${i ? "L" : "M"}${x.toFixed(1)} ${y.toFixed(1)}`;
      }).join("");
      for (const { leg, pts } of legs) {
        if (pts.length < 2) continue;
        const d = path(pts);
        const transit = isTransit(leg);
        const color = transit ? lineColors(leg).bg : isRental(leg) ? "#2b8a3e" : "#56606b";
        svg.append(svgEl("path", { d, fill: "none", stroke: "#fff", "stroke-width": transit ? 9 : 7,
          "stroke-linecap": "round", "stroke-linejoin": "round" }));
        const line = svgEl("path", { d, fill: "none", stroke: color, "stroke-width": transit ? 5 : 4,
          "stroke-linecap": "round", "stroke-linejoin": "round", class: "leg-line",
          "data-mode": String(leg.mode || "") });
        if (!transit) line.setAttribute("stroke-dasharray", "2 7");
        svg.append(line);
      }
      // Intermediate stops as small dots under the boarding/alighting markers.
      for (const leg of it.legs) {
        for (const st of leg.intermediateStops || []) {
          if (!Number.isFinite(st.lat) || !Number.isFinite(st.lon)) continue;
          const [x, y] = proj(st.lat, st.lon);
          const dot = svgEl("circle", { cx: x, cy: y, r: 3, fill: "#fff", stroke: "#56606b", "stroke-width": 1.5 });
          const title = svgEl("title", {});
          title.textContent = st.name || "";
          dot.append(title);
          svg.append(dot);
        }
      }
      // Stops where the traveller boards or alights, with names; start and end marked.
      // Each remembers the x of its neighbouring line points so the label can avoid them.
      const marks = [];
      legs.forEach(({ leg, pts }, i) => {
        const near = (k) => (pts[k] ? proj(pts[k][0], pts[k][1])[0] : null);
        if (leg.from && Number.isFinite(leg.from.lat)) {
          marks.push({ p: leg.from, end: i === 0 ? "start" : null, nx: [near(1)] });
        }
        if (leg.to && Number.isFinite(leg.to.lat)) {
          marks.push({ p: leg.to, end: i === legs.length - 1 ? "end" : null, nx: [near(pts.length - 2)] });
        }
      });
      const byKey = new Map();
      for (const m of marks) {
        const key = `${m.p.lat.toFixed(4)},${m.p.lon.toFixed(4)}`;
        const seen = byKey.get(key);
        if (seen) {
          seen.nx.push(...m.nx);
          seen.end = seen.end || m.end;
        } else {
          byKey.set(key, { ...m, nx: [...m.nx] });
        }
      }
      const labels = [];
      for (const { p, end, nx } of byKey.values()) {
        const [x, y] = proj(p.lat, p.lon);
        svg.append(svgEl("circle", { cx: x, cy: y, r: end ? 8 : 5, fill: end === "start" ? "#2b8a3e" :
          end === "end" ? "#a3160e" : "#fff", stroke: "#1b1f24", "stroke-width": 2,
          class: `stop-mark${end ? ` ${end}` : ""}` }));
        if (this.placeName(p)) {
          const xs = nx.filter((v) => v !== null);
          const lineDx = xs.length ? xs.reduce((sum, v) => sum + (v - x), 0) : x - W / 2;
          labels.push({ x, y, name: this.placeName(p), right: lineDx <= 0 });
        }
      }
      for (const { x, y, name, right: prefer } of labels) {
        // Rough width of the text: flip the side when the label would leave the map.
        const width = name.length * 7.5 + 14;
        let right = prefer;
        if (right && x + width > W) right = false;
        else if (!right && x - width < 0) right = true;
        const lift = right === prefer ? 0 : 14; // flipped towards the line: move above it
        const label = svgEl("text", { x: right ? x + 12 : x - 12, y: y + 4 - lift, class: "map-label",
          "text-anchor": right ? "start" : "end" });
        label.textContent = name;
        svg.append(label);
      }
      const children = [svg];
      if (this.tiles) children.push(el("span", { class: "attribution", text: t.tilesAttribution }));
      this.$map.replaceChildren(...children);
      this.$map.hidden = false;
    }
  }

  OwlTripPlanner.decodePolyline = decodePolylineSafe;
  customElements.define(TAG, OwlTripPlanner);
})();
