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
 *   data-tiles     raster tile URL template ({z}/{x}/{y}, Web Mercator) under the map, or
 *                  "none" (default: the town's, then the server's); complete without
 *   data-tile-attribution  the tiles' credit, shown on the map
 * All options, with examples per town: README, "Widget".
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
      kindAddress: "Address",
      kindPlace: "Place",
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
      zoomIn: "Zoom in",
      zoomOut: "Zoom out",
      fitMap: "Show the whole trip",
      wheelHint: "To zoom, click the map first or hold Ctrl while scrolling",
      mapKeys: "Arrow keys move the map, plus and minus zoom, 0 shows the whole trip.",
      logoAlt: (name) => `${name} logo`,
      selected: "shown on map",
      wait: (min) => `${min} min to change`,
      noSharing: "Sharing vehicles are not available from this service; showing trips without them.",
      noMatchHint: "Check the spelling, or type the name of the town or station.",
      datePlaceholder: "DD/MM/YYYY",
      timePlaceholder: "HH:MM",
      badDate: "Please enter the date as DD/MM/YYYY.",
      badTime: "Please enter the time as HH:MM (24 h).",
      validRange: (a, b) => `Timetable available from ${a} to ${b}.`,
      outsideRange: (a, b) => `There is no timetable for this date. Please choose a day from ${a} to ${b}.`,
      more: (n) => (n === 1 ? "1 more connection." : `${n} more connections.`),
      noMoreEarlier: "No earlier connections found.",
      noMoreLater: "No later connections found.",
      query: (from, to, when, arrive) => `${from} → ${to} · ${arrive ? "arrive by" : "depart from"} ${when}`,
      openLarge: "Open in full view",
      opensDetails: "opens details",
      onMap: (a, b) => `Shown on the map: ${a} to ${b}`,
      best: "closest to your arrival time",
      late: (n) => `+${n} min`,
      early: (n) => `−${n} min`,
      delayed: (n) => `${n} min late`,
      earlyBy: (n) => `${n} min early`,
      onTime: "on time",
      scheduledAt: (hhmm) => `scheduled ${hhmm}`,
      cancelledTrip: "cancelled",
      cancelledLeg: "This trip is cancelled.",
      skipped: "stop skipped",
      skippedStops: (n) => (n === 1 ? "1 stop is skipped" : `${n} stops are skipped`),
      noBoarding: "The train or bus does not stop here.",
      alerts: "Service alerts",
      alert: "Service alert",
      alertCount: (n) => (n === 1 ? "1 service alert" : `${n} service alerts`),
      moreInfo: "More information",
      alertPeriod: (a, b) => (a && b ? `Valid ${a} to ${b}` : a ? `Valid from ${a}` : `Valid until ${b}`),
      effects: { NO_SERVICE: "No service", REDUCED_SERVICE: "Reduced service", SIGNIFICANT_DELAYS: "Significant delays",
        DETOUR: "Detour", ADDITIONAL_SERVICE: "Additional service", MODIFIED_SERVICE: "Modified service",
        STOP_MOVED: "Stop moved", NO_EFFECT: "Information", ACCESSIBILITY_ISSUE: "Accessibility issue",
        OTHER_EFFECT: "Notice", UNKNOWN_EFFECT: "Notice" },
      errors: {
        invalid_parameter: (p) => `The request could not be read${p ? ` (${p})` : ""}. Please check your entries.`,
        unknown_stop: "This stop is not known (any more). Please choose it again from the suggestions.",
        not_found: "This stop or trip is not known. Please search again.",
        unknown_town: "This town is not set up on the trip planner service.",
        outside_timetable: "There is no timetable for this date.",
        sharing_unavailable: "Sharing vehicles are not available from this service.",
        too_many_requests: "Too many searches in a short time. Please wait a moment and try again.",
        busy: "The trip planner is busy right now. Please try again in a moment.",
        deadline: "The search took too long. Please try again or choose a later time.",
        compiling: "The timetable for this day is being prepared. Please try again in a few seconds.",
        unavailable: "The trip planner is not available right now. Please try again later.",
        timetable_unusable: "The timetable data cannot be used right now. Please try again later.",
        forbidden: "This action is not allowed.",
        other: (status) => `The search failed (error ${status}). Please try again later.`,
        none: "No connection found. Try another time or nearby stops.",
      },
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
      kindAddress: "Adresse",
      kindPlace: "Ort",
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
      zoomIn: "Karte vergrößern",
      zoomOut: "Karte verkleinern",
      fitMap: "Ganze Verbindung zeigen",
      wheelHint: "Zum Zoomen erst in die Karte klicken oder Strg beim Scrollen halten",
      mapKeys: "Pfeiltasten verschieben die Karte, Plus und Minus zoomen, 0 zeigt die ganze Verbindung.",
      logoAlt: (name) => `Logo ${name}`,
      selected: "auf der Karte",
      wait: (min) => `${min} Min. Umstiegszeit`,
      noSharing: "Leihfahrzeuge bietet dieser Dienst nicht an; Verbindungen ohne Leihfahrzeuge.",
      noMatchHint: "Bitte die Schreibweise prüfen oder den Namen des Ortes oder Bahnhofs eingeben.",
      datePlaceholder: "TT.MM.JJJJ",
      timePlaceholder: "HH:MM",
      badDate: "Bitte das Datum als TT.MM.JJJJ eingeben.",
      badTime: "Bitte die Uhrzeit als HH:MM eingeben (24 Stunden).",
      validRange: (a, b) => `Fahrplan verfügbar vom ${a} bis ${b}.`,
      outsideRange: (a, b) => `Für dieses Datum gibt es keinen Fahrplan. Bitte einen Tag vom ${a} bis ${b} wählen.`,
      more: (n) => (n === 1 ? "1 weitere Verbindung." : `${n} weitere Verbindungen.`),
      noMoreEarlier: "Keine früheren Verbindungen gefunden.",
      noMoreLater: "Keine späteren Verbindungen gefunden.",
      query: (from, to, when, arrive) => `${from} → ${to} · ${arrive ? "Ankunft bis" : "Abfahrt ab"} ${when}`,
      openLarge: "In großer Ansicht öffnen",
      opensDetails: "öffnet Details",
      onMap: (a, b) => `Auf der Karte: ${a} bis ${b}`,
      best: "am nächsten an der Ankunftszeit",
      late: (n) => `+${n} Min.`,
      early: (n) => `−${n} Min.`,
      delayed: (n) => `${n} Min. später`,
      earlyBy: (n) => `${n} Min. früher`,
      onTime: "pünktlich",
      scheduledAt: (hhmm) => `planmäßig ${hhmm}`,
      cancelledTrip: "fällt aus",
      cancelledLeg: "Diese Fahrt fällt aus.",
      skipped: "Halt entfällt",
      skippedStops: (n) => (n === 1 ? "1 Halt entfällt" : `${n} Halte entfallen`),
      noBoarding: "Hier hält der Zug oder Bus nicht.",
      alerts: "Störungsmeldungen",
      alert: "Störungsmeldung",
      alertCount: (n) => (n === 1 ? "1 Störungsmeldung" : `${n} Störungsmeldungen`),
      moreInfo: "Weitere Informationen",
      alertPeriod: (a, b) => (a && b ? `Gültig ${a} bis ${b}` : a ? `Gültig ab ${a}` : `Gültig bis ${b}`),
      effects: { NO_SERVICE: "Kein Betrieb", REDUCED_SERVICE: "Eingeschränkter Betrieb", SIGNIFICANT_DELAYS: "Erhebliche Verspätungen",
        DETOUR: "Umleitung", ADDITIONAL_SERVICE: "Zusätzliche Fahrten", MODIFIED_SERVICE: "Geänderter Fahrplan",
        STOP_MOVED: "Haltestelle verlegt", NO_EFFECT: "Information", ACCESSIBILITY_ISSUE: "Barrierefreiheit eingeschränkt",
        OTHER_EFFECT: "Hinweis", UNKNOWN_EFFECT: "Hinweis" },
      errors: {
        invalid_parameter: (p) => `Die Anfrage ist ungültig${p ? ` (${p})` : ""}. Bitte die Eingaben prüfen.`,
        unknown_stop: "Diese Haltestelle ist (nicht mehr) bekannt. Bitte erneut aus den Vorschlägen wählen.",
        not_found: "Diese Haltestelle oder Fahrt ist nicht bekannt. Bitte erneut suchen.",
        unknown_town: "Diese Stadt ist bei der Fahrplanauskunft nicht eingerichtet.",
        outside_timetable: "Für dieses Datum gibt es keinen Fahrplan.",
        sharing_unavailable: "Leihfahrzeuge bietet dieser Dienst nicht an.",
        too_many_requests: "Zu viele Anfragen in kurzer Zeit. Bitte kurz warten und erneut versuchen.",
        busy: "Die Fahrplanauskunft ist gerade ausgelastet. Bitte gleich noch einmal versuchen.",
        deadline: "Die Suche hat zu lange gedauert. Bitte erneut versuchen oder eine spätere Uhrzeit wählen.",
        compiling: "Der Fahrplan für diesen Tag wird gerade vorbereitet. Bitte in einigen Sekunden erneut versuchen.",
        unavailable: "Die Fahrplanauskunft ist gerade nicht verfügbar. Bitte später erneut versuchen.",
        timetable_unusable: "Die Fahrplandaten sind gerade nicht nutzbar. Bitte später erneut versuchen.",
        forbidden: "Diese Aktion ist nicht erlaubt.",
        other: (status) => `Die Suche ist fehlgeschlagen (Fehler ${status}). Bitte später erneut versuchen.`,
        none: "Keine Verbindung gefunden. Bitte eine andere Uhrzeit oder nahe Haltestellen versuchen.",
      },
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

  /** Web Mercator: a place in world pixels at zoom 0 (the world is 256 × 256), as tiles are cut. */
  function worldXY(lat, lon) {
    const sin = Math.sin((Math.max(-85.0511, Math.min(85.0511, lat)) * Math.PI) / 180);
    return [((lon + 180) / 360) * 256, (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * 256];
  }

  function worldLat(y) {
    return (Math.atan(Math.sinh(Math.PI * (1 - y / 128))) * 180) / Math.PI;
  }

  function worldLon(x) {
    return (x / 256) * 360 - 180;
  }

  /** Whether the segment a–b crosses the box (Liang–Barsky clipping). */
  function segmentHitsBox([x1, y1], [x2, y2], b) {
    let t0 = 0;
    let t1 = 1;
    const dx = x2 - x1;
    const dy = y2 - y1;
    for (const [p, q] of [[-dx, x1 - b.x0], [dx, b.x1 - x1], [-dy, y1 - b.y0], [dy, b.y1 - y1]]) {
      if (p === 0) {
        if (q < 0) return false;
        continue;
      }
      const r = q / p;
      if (p < 0) {
        if (r > t1) return false;
        t0 = Math.max(t0, r);
      } else {
        if (r < t0) return false;
        t1 = Math.min(t1, r);
      }
    }
    return true;
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

  /** Whole minutes between two instants as their clock times show them (times are shown
   * to the minute, so 16:58 -> 17:07:40 reads "17:07" and "+9"): floor each to its minute. */
  function delayMinutes(actual, scheduled) {
    return Math.floor(Date.parse(actual) / 60000) - Math.floor(Date.parse(scheduled) / 60000);
  }

  function legCancelled(leg) {
    return Boolean(leg.cancelled || leg.tripCancelled);
  }

  function minutes(seconds) {
    return Math.max(0, Math.round(seconds / 60));
  }

  function legSeconds(leg) {
    if (typeof leg.duration === "number") return leg.duration;
    return (Date.parse(leg.endTime) - Date.parse(leg.startTime)) / 1000;
  }

  /** The icon for a stop from the modes that serve it (bus stops get a bus, not a train). */
  function stopIcon(modes) {
    const m = new Set((modes || []).map((x) => String(x).toUpperCase()));
    const rail = [...m].some((x) => /RAIL|LONG_DISTANCE|SUBURBAN|TRAIN/.test(x));
    if (rail) return "train";
    if (m.has("TRAM")) return "tram";
    if (m.has("SUBWAY") || m.has("METRO")) return "subway";
    if (m.has("BUS") || m.has("COACH")) return "bus";
    if (m.has("FERRY")) return "ferry";
    return m.size ? "train" : "bus";
  }

  function metres(a, b) {
    const rad = Math.PI / 180;
    const x = (b.lon - a.lon) * rad * Math.cos(((a.lat + b.lat) / 2) * rad);
    const y = (b.lat - a.lat) * rad;
    return Math.hypot(x, y) * 6371000;
  }

  /** The first word of a station's name ("Gütersloh, Hbf/ZOB" and "Gütersloh Hbf": "gütersloh"). */
  function placeWord(name) {
    return String(name).toLowerCase().split(/[\s,(/]+/)[0];
  }

  /**
   * Suggestions a resident trusts: fuzzy matches only when nothing matches better (and then
   * only those close to the best), one entry per station (stops of one name within 600 m
   * fold into the best ranked, their modes joined), the server's order otherwise.
   */
  function rankStops(found) {
    // Addresses and places keep the server's order; only stops fold into stations.
    const exactish = found.filter((m) => m.match && m.match !== "fuzzy");
    let pool = found;
    if (exactish.length) pool = exactish;
    else if (found.length && found[0].match === "fuzzy") {
      const top = Math.max(...found.map((m) => m.score));
      pool = found.filter((m) => m.score >= top - 0.1);
    }
    const out = [];
    for (const m of pool) {
      const twin = m.type === "STOP" && out.find((o) => o.type === "STOP" &&
        placeWord(o.name) === placeWord(m.name) &&
        Number.isFinite(o.lat) && Number.isFinite(m.lat) && metres(o, m) < 600);
      if (twin) {
        twin.modes = [...new Set([...twin.modes, ...m.modes])];
        continue;
      }
      out.push({ ...m, modes: [...m.modes] });
    }
    return out;
  }

  /**
   * What a suggestion is shown with: the server's town (MOTIS ``areas``, the ``default``
   * one; with the postcode for an address), else the configured town whose box holds it;
   * nothing when the name already says so.
   */
  function contextOf(m, towns) {
    const areas = Array.isArray(m.areas) ? m.areas : [];
    const area = areas.find((a) => a && a.default) || areas[0];
    if (!area || !area.name) return townOf(towns, m.lat, m.lon, m.name || "");
    if (placeWord(m.name || "") === placeWord(area.name)) return "";
    return m.type === "ADDRESS" && m.zip ? `${m.zip} ${area.name}` : area.name;
  }

  /** The configured town whose box holds the stop, unless the name already says so. */
  function townOf(towns, lat, lon, name) {
    for (const t of towns || []) {
      const b = t.bbox;
      if (!b || !(lon >= b[0] && lon <= b[2] && lat >= b[1] && lat <= b[3])) continue;
      return placeWord(name) === placeWord(t.name) ? "" : t.name;
    }
    return "";
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
    alert: "M12 3.5 2.5 20h19L12 3.5ZM12 10v4.5M12 17.5h.01",
    earlier: "M15 6l-6 6 6 6",
    later: "M9 6l6 6-6 6",
    search: "M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13ZM15.5 15.5 20 20",
    plus: "M12 5v14M5 12h14",
    minus: "M5 12h14",
    fit: "M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5",
    address: "M4 11.5 12 4.5l8 7M6 10v9.5h12V10M10 19.5v-5h4v5",
    place: "M12 21s-6.5-6-6.5-11a6.5 6.5 0 0 1 13 0c0 5-6.5 11-6.5 11ZM12 12.5a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5Z",
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
  font-family: var(--owl-font, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif);
  font-size: var(--owl-font-size, 16px); line-height: 1.4; color: var(--owl-text, #1b1f24);
  background: var(--owl-background, #fff); text-align: left;
  border: 1px solid var(--owl-border, #c9d1d9); border-radius: var(--owl-radius, 12px); padding: 16px; max-width: 100%;
  /* The page sets --owl-accent (or the legacy --accent) on the element; a town's colour
     from the server comes next; inner names are private so the page's win. */
  --accent: var(--owl-accent, var(--town-accent, #0b5cad)); --accent-text: var(--owl-accent-text, #fff);
  --accent-dark: color-mix(in srgb, var(--accent) 82%, #000); --accent-soft: color-mix(in srgb, var(--accent) 12%, #fff);
  --muted: #56606b; --line: #d7dde3; --bg2: #f4f6f8;
  --danger: #a3160e; --focus: var(--owl-focus, #1b1f24);
}
.owl.compact { padding: 10px; font-size: var(--owl-font-size, 15px); }
.owl.fullpage { padding: 20px; }
.head { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 12px; margin: 0 0 12px; }
.head h2 { margin: 0; flex: 1 1 12em; }
.logo { height: 40px; width: auto; max-width: 45%; display: block; flex: none; }
.compact .logo { height: 32px; }
.owl *, .owl *::before, .owl *::after { box-sizing: border-box; }
h2 { font-size: 1.2em; margin: 0 0 12px; font-weight: 650; }
.query { margin: 0 0 8px; color: #2d333a; font-size: .92em; }
.hint { font-size: .8em; color: var(--muted); }
.field-error { font-size: .85em; color: var(--danger); font-weight: 600; }
.field-error:empty { display: none; }
input[aria-invalid=true] { border-color: var(--danger); border-width: 2px; }
.nomatch { position: absolute; z-index: 10; top: 100%; left: 0; right: 0; margin: 2px 0 0; padding: 10px 12px;
  background: #fff; border: 1px solid #8b949e; border-radius: 8px; box-shadow: 0 6px 18px rgba(0,0,0,.15); }
.nomatch[hidden] { display: none; }
.nomatch strong { display: block; }
.opt-context { color: var(--muted); font-size: .85em; margin-left: auto; padding-left: 8px; }
[role=option][aria-selected=true] .opt-context { color: inherit; }
.daytag { font-size: .75em; font-weight: 600; color: var(--muted); margin-right: 6px; }
.open-large { color: var(--accent-dark); }
.best { font-size: .8em; color: var(--accent-dark); font-weight: 600; grid-column: 1 / 3; }
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
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; box-shadow: 0 0 0 2px #fff; }
h3:focus { outline: none; }
input:focus-visible { outline-offset: 0; }
.icon { width: 20px; height: 20px; flex: none; display: inline-block; vertical-align: middle; }
.swap { width: 44px; height: 44px; display: grid; place-items: center; border-radius: 50%;
  border: 1px solid #8b949e; background: #fff; color: var(--accent); padding: 0; }
.swap:hover { background: var(--bg2); }
.when { display: grid; grid-template-columns: minmax(0,1.2fr) minmax(0,1fr) minmax(0,1.2fr); gap: 8px; align-items: start; }
fieldset { border: 0; padding: 0; margin: 0; min-width: 0; }
.segmented { display: flex; border: 1px solid #8b949e; border-radius: 8px; overflow: hidden; min-height: 44px; }
.segmented label { flex: 1; display: flex; align-items: center; justify-content: center; gap: 4px;
  padding: 0 8px; font-weight: 500; font-size: .95em; color: inherit; cursor: pointer; position: relative; }
.segmented label + label { border-left: 1px solid #8b949e; }
.segmented input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }
.segmented input:checked + span { font-weight: 700; }
.segmented label:has(input:checked) { background: var(--accent); color: var(--accent-text); }
.segmented label:has(input:focus-visible) { outline: 3px solid var(--focus); outline-offset: -3px; box-shadow: inset 0 0 0 5px #fff; }
.modes { display: flex; flex-wrap: wrap; gap: 8px; }
.toggle { display: inline-flex; align-items: center; gap: 6px; min-height: 44px; padding: 6px 12px;
  border: 1px solid #8b949e; border-radius: 22px; font-weight: 500; font-size: .95em; color: inherit; cursor: pointer; position: relative; }
.toggle[hidden] { display: none; }
.toggle input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }
.toggle:has(input:checked) { background: var(--accent-soft); border-color: var(--accent); color: var(--accent-dark); }
.toggle:has(input:checked)::after { content: "✓"; font-weight: 700; }
.toggle:has(input:focus-visible) { outline: 3px solid var(--focus); outline-offset: 2px; }
.submit { display: inline-flex; align-items: center; justify-content: center; gap: 8px; min-height: 48px;
  padding: 10px 20px; border: 0; border-radius: 8px; background: var(--accent); color: var(--accent-text);
  font-weight: 700; }
.submit:hover { background: var(--accent-dark); }
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
li.leg { display: grid; grid-template-columns: 3.6em 1fr; gap: 0 8px; padding: 8px 0; border-bottom: 1px dashed var(--line); }
li.leg:last-child { border-bottom: 0; }
li.wait { padding: 4px 0 4px 3.7em; font-size: .85em; color: var(--muted); border-bottom: 1px dashed var(--line); }
.lt { font-variant-numeric: tabular-nums; font-weight: 600; display: flex; flex-direction: column; line-height: 1.25; }
.lt .rt, .lt del { font-size: .8em; }
del.sched { color: var(--muted); font-weight: 400; margin-left: 4px; }
.lt del.sched { margin-left: 0; }
.rt { font-weight: 700; white-space: nowrap; font-size: .85em; }
.rt.late { color: #b3261e; }
.rt.ontime { color: #1e6b34; }
.rt.cancel { color: #b3261e; }
li.leg.cancelled .lp, li.leg.cancelled .lt time, .summary.cancelled .times time { text-decoration: line-through; }
del.skipped { color: var(--muted); }
.skipmsg { color: #b3261e; font-size: .85em; margin-left: 4px; }
.alerts { grid-column: 2; margin: 6px 0 2px; padding: 8px 10px; border-left: 4px solid #b35c00; background: #fff6e5;
  border-radius: 4px; font-size: .9em; color: #2d333a; }
.alerts .alert-h { display: flex; align-items: center; gap: 4px; flex-wrap: wrap; }
.alerts .icon { width: 16px; height: 16px; color: #7a3e00; }
.alerts p { margin: 2px 0; }
.alerts .effect { font-weight: 600; color: #7a3e00; }
.alerts a { color: var(--accent); }
.alerts > div + div { margin-top: 8px; }
.alertmark { grid-column: 1 / 3; color: #7a3e00; font-size: .85em; font-weight: 600; display: flex; align-items: center; gap: 4px; }
.alertmark .icon { width: 16px; height: 16px; }
.lp { font-weight: 600; }
.ld { grid-column: 2; color: #3d454e; font-size: .92em; display: flex; flex-wrap: wrap; align-items: center; gap: 6px; }
.track { color: var(--muted); font-weight: 400; font-size: .9em; }
details.stops { grid-column: 2; font-size: .9em; color: #3d454e; }
details.stops summary { cursor: pointer; min-height: 32px; display: flex; align-items: center; }
details.stops ol { margin: 4px 0 0; padding-left: 1.2em; }
.rental { grid-column: 2; font-size: .9em; color: #3d454e; margin: 2px 0 0; }
.map { margin-top: 12px; border: 1px solid var(--line); border-radius: 10px; overflow: hidden; background: #eef2ef; position: relative; }
.map svg { display: block; width: 100%; height: auto; cursor: grab; touch-action: pan-y; user-select: none; -webkit-user-select: none; }
.map svg.dragging { cursor: grabbing; }
.map svg:focus-visible { outline-offset: -3px; }
.map .tile.failed { display: none; }
.map-controls { position: absolute; top: 8px; right: 8px; display: flex; flex-direction: column; gap: 6px; }
.map-controls button { width: 40px; height: 40px; display: grid; place-items: center; padding: 0; border: 1px solid #8b949e;
  border-radius: 8px; background: #fff; color: #1b1f24; box-shadow: 0 1px 3px rgba(0,0,0,.2); }
.map-controls button:hover { background: var(--bg2); }
.map-controls button[aria-disabled=true] { color: #6b737c; cursor: default; }
.map-hint { position: absolute; left: 50%; top: 50%; transform: translate(-50%, -50%); margin: 0; padding: 8px 12px;
  max-width: 80%; text-align: center; border-radius: 8px; background: #1b1f24; color: #fff; font-size: .9em; pointer-events: none; }
.map-hint[hidden] { display: none; }
.scale-label { font: 600 11px system-ui, sans-serif; paint-order: stroke; stroke: #fff; stroke-width: 3px; fill: #1b1f24; }
.map-label.minor { fill: #3d454e; }
.compact .when { grid-template-columns: minmax(0,1fr) minmax(0,1fr); }
.compact .when fieldset { grid-column: 1 / -1; }
.compact .when fieldset .legend[aria-hidden] { display: none; }
.compact .meta { grid-column: 1 / 3; grid-row: 2; text-align: left; }
.compact .strip { grid-row: 3; }
.compact .chev { grid-row: 1 / 4; }
.compact .submit { width: 100%; }
.compact .modes .toggle { min-height: 44px; padding: 4px 10px; }
.map .attribution { position: absolute; right: 0; bottom: 0; font-size: 11px; line-height: 1.4; color: #1b1f24;
  background: #fff; padding: 1px 6px; border-top-left-radius: 6px; max-width: 70%; }
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
  .map-controls { top: 6px; right: 6px; gap: 4px; }
  .map-controls button { width: 36px; height: 36px; }
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
      this.itins = [];
      this.transitItins = [];
      this.directItins = [];
      this.cursors = { next: null, previous: null };
      this.shownKeys = new Set();
    }

    /** The element's data-* attribute, then the script tag's, then the town's config. */
    opt(name, fallback) {
      const own = this.dataset[name];
      if (own !== undefined && own !== "") return own;
      const fromScript = SCRIPT_OPTS[name];
      if (fromScript !== undefined && fromScript !== "") return fromScript;
      const fromTown = this.town ? this.town[name] : undefined;
      return fromTown !== undefined && fromTown !== "" && fromTown !== null ? fromTown : fallback;
    }

    flag(name, fallback) {
      const v = String(this.opt(name, fallback)).toLowerCase();
      return !["off", "false", "no", "none", "0", "hidden"].includes(v);
    }

    async connectedCallback() {
      if (this.shadowRoot || this.starting) return;
      this.starting = true;
      this.t = I18N.en; // until the language is known (messages of the first requests)
      this.api = String(this.opt("api", location.origin) || location.origin).replace(/\/+$/, "");
      // Health (validity, zone, sharing) and the town's settings, fetched once; the form is
      // drawn when the town is known (it sets the language), health may come later.
      this.health = this.getJSON("/api/v1/health").catch(() => null);
      const town = this.opt("town", "");
      this.town = null;
      this.townError = null;
      if (town) {
        try {
          const t = await this.getJSON(`/api/v1/towns/${encodeURIComponent(town)}`);
          this.town = { ...t, heading: t.heading || "", from: t.home || "",
            accent: t.color, modes: (t.modes || []).join(","), tileAttribution: t.tile_attribution || "" };
        } catch (err) {
          this.townError = err;
        }
      }
      const pageLang = (document.documentElement.lang || navigator.language || "en").slice(0, 2);
      const lang = String(this.opt("lang", pageLang)).slice(0, 2).toLowerCase();
      this.lang = I18N[lang] ? lang : "en";
      this.t = I18N[this.lang];
      this.locale = this.lang === "de" ? "de-DE" : "en-GB";
      this.zone = this.opt("timezone", "Europe/Berlin");
      // Tiles: data-tiles (or "none"), then the town's, then the server's (health).
      const tiles = String(this.opt("tiles", ""));
      this.tilesOff = ["none", "off", "false"].includes(tiles.toLowerCase());
      this.tiles = this.tilesOff ? "" : tiles;
      this.tileAttribution = this.opt("tileAttribution", "");
      this.makeFormats();
      this.render();
      if (this.townError) this.showError(this.errorText(this.townError));
      this.health.then((h) => this.applyHealth(h));
      if (this.flag("urlState", "off")) this.fromUrl();
    }

    makeFormats() {
      const z = { timeZone: this.zone };
      this.timeFmt = new Intl.DateTimeFormat(this.locale, { ...z, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
      this.dayFmt = new Intl.DateTimeFormat("en-CA", { ...z, year: "numeric", month: "2-digit", day: "2-digit" });
      this.dateFmt = new Intl.DateTimeFormat(this.locale, { ...z, day: "2-digit", month: "2-digit", year: "numeric" });
      this.longDateFmt = new Intl.DateTimeFormat(this.locale, { ...z, weekday: "short", day: "numeric", month: "long", year: "numeric" });
      this.shortDayFmt = new Intl.DateTimeFormat(this.locale, { ...z, weekday: "short", day: "2-digit", month: "2-digit" });
    }

    /** The server's validity range (health) limits the date field and picks the default day. */
    applyHealth(h) {
      if (h && h.map && h.map.tiles && !this.tiles && !this.tilesOff) {
        this.tiles = h.map.tiles;
        this.tileAttribution = this.tileAttribution || h.map.attribution || "";
        if (this.itins.length && this.showMap) this.drawMap(this.itins[this.chosen]);
      }
      const tt = h && h.timetable;
      if (!tt) return;
      if (tt.timezone && tt.timezone !== this.zone && !this.dataset.timezone && !SCRIPT_OPTS.timezone) {
        this.zone = tt.timezone;
        this.makeFormats();
      }
      const ranges = Object.values(tt.validity || {});
      if (ranges.length) {
        this.validFrom = ranges.map((r) => r.from).sort()[0];
        this.validTo = ranges.map((r) => r.to).sort().slice(-1)[0];
        this.$dateHint.textContent = this.t.validRange(this.fmtDay(this.validFrom), this.fmtDay(this.validTo));
      }
      const date = this.$form.elements.date;
      if (!this.dateChosen && tt.defaultDay) {
        const current = this.parseDate(date.value);
        if (!current || !this.inRange(current)) date.value = this.fmtDay(tt.defaultDay);
      }
      // Sharing toggles only where the server has sharing vehicles ("auto"), or as configured.
      const sharing = String(this.opt("sharing", "auto")).toLowerCase();
      const show = sharing === "auto" ? Boolean(h.gbfs || h.sharing) : this.flag("sharing", "on");
      for (const t of this.$sharingToggles) t.hidden = !show;
    }

    inRange(day) {
      return !this.validFrom || (day >= this.validFrom && day <= this.validTo);
    }

    /** "2026-04-20" shown in the widget's language: 20.04.2026 / 20/04/2026. */
    fmtDay(iso) {
      const [y, m, d] = iso.split("-");
      return this.lang === "de" ? `${d}.${m}.${y}` : `${d}/${m}/${y}`;
    }

    /** What a resident types: 20.04.2026, 20.4.26, 20/04/2026, 2026-04-20, 20.4. */
    parseDate(text) {
      const v = String(text || "").trim();
      let y;
      let m;
      let d;
      let k = v.match(/^(\d{4})-(\d{1,2})-(\d{1,2})$/);
      if (k) [, y, m, d] = k;
      else if ((k = v.match(/^(\d{1,2})[./](\d{1,2})[./]?(\d{2}|\d{4})?$/))) {
        [, d, m, y] = k;
        if (!y) y = (this.validFrom || this.dayFmt.format(new Date())).slice(0, 4);
        if (y.length === 2) y = `20${y}`;
      } else return null;
      const date = new Date(Date.UTC(+y, +m - 1, +d));
      if (date.getUTCMonth() !== +m - 1 || date.getUTCDate() !== +d) return null;
      return date.toISOString().slice(0, 10);
    }

    /** 08:00, 8:00, 8.00, 800, 8 → "08:00" (24 h); null when it is no time. */
    parseTime(text) {
      const v = String(text || "").trim().replace(/\s*(uhr|h)$/i, "");
      const k = v.match(/^(\d{1,2})(?:[:.]?(\d{2}))?$/);
      if (!k) return null;
      const h = +k[1];
      const m = k[2] === undefined ? 0 : +k[2];
      if (h > 23 || m > 59) return null;
      return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
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
      const givenDate = this.parseDate(this.opt("date", ""));
      this.dateChosen = Boolean(givenDate);
      const presetDate = this.fmtDay(givenDate || today);
      const presetTime = this.parseTime(this.opt("time", "")) || nowTime;
      const modes = String(this.opt("modes", "transit")).split(",").map((m) => m.trim());
      const compact = String(this.opt("layout", "")).toLowerCase() === "compact";
      this.compact = compact;
      const fullpage = this.flag("fullpage", "off");

      const placeField = (which) => el("div", { class: "field" },
        el("label", { for: id(which), text: t[which] }),
        el("input", { id: id(which), name: which, type: "text", role: "combobox",
          autocomplete: "off", autocapitalize: "off", spellcheck: "false",
          "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": id(`${which}-list`),
          placeholder: t[`${which}Placeholder`], part: "input" }),
        el("ul", { id: id(`${which}-list`), role: "listbox", "aria-label": t[which], hidden: true }),
        el("div", { id: id(`${which}-nomatch`), class: "nomatch", hidden: true }));

      const toggle = (name, ic, checked) => el("label", { class: "toggle", part: "toggle" },
        el("input", { type: "checkbox", name, checked }),
        icon(ic), el("span", { text: t[name] }));
      const timeField = (name, value, placeholder) => el("div", { class: "field" },
        el("label", { for: id(name), text: t[name] }),
        el("input", { id: id(name), name, type: "text", value, required: true, placeholder,
          inputmode: name === "date" ? "text" : "numeric", autocomplete: "off", part: "input",
          "aria-describedby": `${id(`${name}-error`)} ${id(`${name}-hint`)}` }),
        el("span", { class: "field-error", id: id(`${name}-error`) }),
        el("span", { class: "hint", id: id(`${name}-hint`) }));

      this.$status = el("div", { class: "visually-hidden", role: "status", "aria-live": "polite",
        "aria-atomic": "true" });
      this.$message = el("p", { class: "message", id: id("message"), part: "message" });
      this.$query = el("p", { class: "query" });
      this.$list = el("ol", { class: "itineraries", "aria-labelledby": id("results-h") });
      this.$direct = el("ol", { class: "itineraries" });
      this.$directBox = el("div", { hidden: true },
        el("h3", { id: id("direct-h"), text: t.direct }), this.$direct);
      this.$direct.setAttribute("aria-labelledby", id("direct-h"));
      this.$earlier = el("button", { type: "button", class: "earlier", hidden: true,
        onclick: () => this.page("previous") }, icon("earlier"), t.earlier);
      this.$later = el("button", { type: "button", class: "later", hidden: true,
        onclick: () => this.page("next") }, t.later, icon("later"));
      this.showMap = this.flag("map", "on");
      this.$map = el("div", { class: "map", hidden: true, part: "map" });
      this.$map.addEventListener("pointerleave", (e) => {
        if (e.pointerType === "mouse" && !this.$map.contains(this.shadowRoot.activeElement)) this.mapActive = false;
      });
      this.$map.addEventListener("focusin", () => { this.mapActive = true; });
      this.$map.addEventListener("focusout", (e) => {
        if (!this.$map.contains(e.relatedTarget)) this.mapActive = false;
      });
      // A new width (phone turned, sidebar opened): fit the trip to it again.
      if (typeof ResizeObserver === "function") {
        new ResizeObserver(() => {
          if (!this.view || this.$map.hidden || !this.$map.clientWidth) return;
          if (Math.abs(this.$map.clientWidth - this.view.W) > 1) {
            this.fitMap();
            this.renderMap();
          }
        }).observe(this.$map);
      }
      this.$resultsHeading = el("h3", { id: id("results-h"), text: t.results, tabindex: "-1" });
      this.$results = el("section", { class: "results", hidden: true, "aria-labelledby": id("results-h"),
        part: "results" },
      this.$resultsHeading, this.$query,
      el("div", { class: "paging" }, this.$earlier, this.$later),
      this.$list, this.$directBox, this.$map);
      this.$submit = el("button", { type: "submit", class: "submit", part: "submit" }, icon("search"),
        el("span", { text: t.search }));
      this.$sharingToggles = [toggle("bike", "bike", modes.includes("bike")),
        toggle("scooter", "scooter", modes.includes("scooter")), toggle("car", "car", modes.includes("car"))];
      const sharingSetting = String(this.opt("sharing", "auto")).toLowerCase();
      // Until the server says it has sharing vehicles, "auto" keeps the toggles hidden.
      for (const tg of this.$sharingToggles) tg.hidden = sharingSetting === "auto" ? true : !this.flag("sharing", "on");

      this.$form = el("form", { novalidate: true, "aria-labelledby": id("title") },
        el("div", { class: "places" },
          el("div", { class: "place-fields" }, placeField("from"), placeField("to")),
          el("button", { type: "button", class: "swap", "aria-label": t.swap, title: t.swap,
            onclick: () => this.swap() }, icon("swap"))),
        el("div", { class: "when" },
          timeField("date", presetDate, t.datePlaceholder),
          timeField("time", presetTime, t.timePlaceholder),
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
            toggle("transit", "train", modes.includes("transit") || !modes.some((m) => m !== "transit")),
            ...this.$sharingToggles)),
        el("div", {}, this.$submit));

      // data-heading: the heading's text, or "none" to hide it (the town's name by default).
      const headingText = this.opt("heading", this.town ? `${t.title} – ${this.town.name}` : t.title);
      const hideHeading = ["none", "off", "false"].includes(String(headingText).toLowerCase());
      // data-logo (or the town's): a URL, relative ones from the planner server; "none": no logo.
      const logo = String(this.opt("logo", ""));
      const showLogo = logo && !["none", "off", "false"].includes(logo.toLowerCase());
      const logoAlt = this.opt("logoAlt", this.town ? t.logoAlt(this.town.name) : "");
      const heading = el("h2", { id: id("title"), text: hideHeading ? t.title : headingText, part: "heading",
        class: hideHeading ? "visually-hidden" : null });
      const head = showLogo ? el("div", { class: "head" },
        el("img", { class: "logo", src: new URL(logo, `${this.api}/`).href, alt: logoAlt, part: "logo" }),
        heading) : heading;
      this.$openLarge = el("a", { class: "open-large", href: `${this.api}/plan`, part: "link",
        hidden: fullpage || !this.flag("link", "on"), text: t.openLarge });
      const accent = hexColor(this.opt("accent", ""));
      const wrapper = el("div", { class: `owl${compact ? " compact" : ""}${fullpage ? " fullpage" : ""}`,
        lang: this.lang, part: "container", style: accent ? `--town-accent:${accent}` : null },
      head, this.$form, this.$status, this.$message, this.$results,
      el("div", { class: "footer" }, this.opt("attribution", "Daten: DELFI e.V. / GTFS.de, CC BY 4.0"),
        this.$openLarge.hidden ? null : " · ", this.$openLarge));
      root.append(style, wrapper);
      this.$dateHint = root.getElementById(id("date-hint"));
      for (const name of ["date", "time"]) {
        this.$form.elements[name].addEventListener("input", () => {
          if (name === "date") this.dateChosen = true;
          this.fieldError(name, "");
        });
      }

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
        this.shadowRoot.getElementById(`${this.uid}-${which}-nomatch`).hidden = true;
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
      const nomatch = this.shadowRoot.getElementById(`${this.uid}-${which}-nomatch`);
      const show = (matches, q) => {
        state.matches = matches;
        list.replaceChildren(...matches.map((m, i) => {
          // Stops by their mode; addresses and places by their own icon, named for readers.
          const mark = m.type === "ADDRESS" ? icon("address", this.t.kindAddress) :
            m.type === "PLACE" ? icon("place", this.t.kindPlace) : icon(stopIcon(m.modes));
          return el("li", {
            id: `${this.uid}-${which}-opt-${i}`, role: "option", "aria-selected": "false",
            "data-type": m.type.toLowerCase(),
            onmousedown: (e) => e.preventDefault(), // keep focus in the input
            onclick: () => choose(i),
          }, mark, el("span", { text: m.name }),
          m.context ? el("span", { class: "opt-context", text: m.context }) : null);
        }));
        if (matches.length) {
          nomatch.hidden = true;
          list.hidden = false;
          input.setAttribute("aria-expanded", "true");
          setActive(-1);
          this.announce(this.t.suggestions(matches.length));
        } else {
          close();
          nomatch.replaceChildren(el("strong", { text: this.t.noStop(q) }), this.t.noMatchHint);
          nomatch.hidden = false;
          this.announce(`${this.t.noStop(q)} ${this.t.noMatchHint}`);
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
            if (seq === state.seq && input.value.trim() === q) show(matches, q);
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

    /** Configured towns (for the suggestions' place context), fetched once. */
    towns() {
      if (!this.townList) this.townList = this.getJSON("/api/v1/towns").catch(() => []);
      return this.townList;
    }

    async geocode(text, state) {
      if (state && state.controller) state.controller.abort();
      const controller = new AbortController();
      if (state) state.controller = controller;
      const params = new URLSearchParams({ text, numResults: "20" });
      const box = this.town && this.town.bbox;
      if (box) params.set("place", `${(box[1] + box[3]) / 2},${(box[0] + box[2]) / 2}`);
      const [data, towns] = await Promise.all([
        this.getJSON(`/api/v1/geocode?${params}`, controller.signal), this.towns()]);
      const list = Array.isArray(data) ? data : data.matches || data.results || [];
      const found = list.map((m) => ({
        type: m.type || "STOP",
        // An address or place is planned from its point; only a stop id is a place id.
        id: m.type && m.type !== "STOP" ? null : m.id || m.stopId || m.stop_id || null,
        name: m.name || "",
        lat: m.lat,
        lon: m.lon,
        modes: m.modes || [],
        match: m.match || "",
        score: typeof m.score === "number" ? m.score : 0,
        served: m.hasService !== false,
        context: contextOf(m, towns),
      })).filter((m) => m.name && m.served && (m.id || (m.lat !== undefined && m.lon !== undefined)));
      return rankStops(found).slice(0, 8);
    }

    /** fetch + JSON; an API error keeps its status, code and parameter for errorText(). */
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
        const msg = body && typeof body.error === "string" ? body.error : `HTTP ${response.status}`;
        const e = new Error(msg);
        e.status = response.status;
        e.code = body && body.code;
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

    /** The widget's own words for an error: by the API's code, never its English text. */
    errorText(err) {
      const t = this.t;
      if (err.unreachable) return t.unreachable;
      if (err.local) return err.message;
      const words = t.errors[err.code];
      if (err.code === "outside_timetable" && this.validFrom) {
        return t.outsideRange(this.fmtDay(this.validFrom), this.fmtDay(this.validTo));
      }
      if (typeof words === "function") return words(err.parameter);
      if (words) return words;
      if (err.status === 429) return t.errors.too_many_requests;
      if (err.status === 503) return t.errors.unavailable;
      if (err.status === 404) return t.errors.not_found;
      if (err.status === 400 || err.status === 422) return t.errors.invalid_parameter(err.parameter);
      return t.errors.other(err.status || "?");
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

    fieldError(name, text) {
      const input = this.$form.elements[name];
      this.shadowRoot.getElementById(`${this.uid}-${name}-error`).textContent = text;
      if (text) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }

    /** Results of an earlier query never stay under an error or a new query. */
    clearResults() {
      this.result = null;
      this.itins = [];
      this.$list.replaceChildren();
      this.$direct.replaceChildren();
      this.$results.hidden = true;
      this.$map.hidden = true;
    }

    localError(text) {
      const e = new Error(text);
      e.local = true;
      return e;
    }

    /** The chosen place, or the best geocoder match for what was typed. */
    async resolve(which) {
      if (this.places[which]) return this.places[which];
      const input = this.shadowRoot.getElementById(`${this.uid}-${which}`);
      const q = input.value.trim();
      if (!q) throw this.localError(which === "from" ? this.t.needFrom : this.t.needTo);
      const matches = await this.geocode(q, this[`${which}Box`]);
      if (!matches.length) throw this.localError(this.t.noStop(q));
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
      if (f.bike.checked && !f.bike.closest("label").hidden) extra.push("BIKE_RENTAL");
      if (f.scooter.checked && !f.scooter.closest("label").hidden) extra.push("SCOOTER_RENTAL");
      if (f.car.checked && !f.car.closest("label").hidden) extra.push("CAR_RENTAL");
      const modes = ["WALK", ...extra].join(",");
      const params = new URLSearchParams({
        fromPlace: this.placeParam(this.places.from),
        toPlace: this.placeParam(this.places.to),
        time: this.isoInZone(this.when.day, this.when.time),
        arriveBy: this.when.arriveBy ? "true" : "false",
        preTransitModes: modes,
        postTransitModes: modes,
        directModes: modes,
      });
      // Without "Bus & Bahn" ask for direct trips only: an empty transitModes (as in MOTIS).
      if (!f.transit.checked) params.set("transitModes", "");
      if (cursor) params.set("pageCursor", cursor);
      return params;
    }

    /** Date and time as typed, checked against the server's validity range. */
    readWhen() {
      const f = this.$form.elements;
      const day = this.parseDate(f.date.value);
      const time = this.parseTime(f.time.value);
      this.fieldError("date", day ? "" : this.t.badDate);
      this.fieldError("time", time ? "" : this.t.badTime);
      if (!day || !time) return null;
      if (!this.inRange(day)) {
        const msg = this.t.outsideRange(this.fmtDay(this.validFrom), this.fmtDay(this.validTo));
        this.fieldError("date", msg);
        return null;
      }
      f.date.value = this.fmtDay(day);
      f.time.value = time;
      return { day, time, arriveBy: f.arriveBy.value === "true" };
    }

    async search() {
      this.$message.textContent = "";
      this.clearResults();
      for (const which of ["from", "to"]) this[`${which}Box`].close();
      await this.health; // the validity range, when the server gives one
      const when = this.readWhen();
      if (!when) {
        const bad = this.$form.querySelector("[aria-invalid=true]");
        this.showError(this.shadowRoot.getElementById(`${bad.id}-error`).textContent);
        bad.focus();
        return;
      }
      try {
        await this.resolve("from");
        await this.resolve("to");
      } catch (err) {
        this.showError(this.errorText(err));
        return;
      }
      if (this.placeParam(this.places.from) === this.placeParam(this.places.to)) {
        this.showError(this.t.same);
        return;
      }
      this.when = when;
      this.params = this.query(null);
      this.searched = { from: this.places.from.name, to: this.places.to.name };
      this.saveUrl();
      await this.run(this.params);
    }

    async page(direction) {
      if (!this.result) return;
      let cursor = direction === "next" ? this.cursors.next : this.cursors.previous;
      // An empty window is no reason to stop: follow the cursor a few windows further.
      for (let tries = 0; cursor && tries < 4; tries++) {
        const params = new URLSearchParams(this.params);
        params.set("pageCursor", cursor);
        const added = await this.run(params, direction);
        if (added === null || added > 0) return;
        cursor = direction === "next" ? this.cursors.next : this.cursors.previous;
      }
      const button = direction === "next" ? this.$later : this.$earlier;
      if (!cursor) button.hidden = true;
      this.showInfo(direction === "next" ? this.t.noMoreLater : this.t.noMoreEarlier);
      this.announce(direction === "next" ? this.t.noMoreLater : this.t.noMoreEarlier);
    }

    /** One plan request; for a page, the number of trips it added (null on error/superseded). */
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
          for (const m of modes) {
            params.set(m, "WALK");
            this.params.set(m, "WALK");
          }
          data = await this.getJSON(`${PLAN_PATH}?${params}`);
          note = this.t.noSharing;
        }
        if (seq !== this.seq) return null;
        const added = this.showResult(data, direction);
        if (note && this.itins.length) this.showInfo(note);
        return added;
      } catch (err) {
        if (seq !== this.seq) return null;
        if (direction && this.itins.length) {
          this.showError(this.errorText(err)); // paging failed: keep what is shown
        } else {
          this.clearResults();
          this.showError(this.errorText(err));
        }
        return null;
      } finally {
        if (seq === this.seq) {
          this.$submit.removeAttribute("aria-disabled");
          this.$submit.querySelector("span").textContent = this.t.search;
          this.removeAttribute("aria-busy");
        }
      }
    }

    tripKey(it) {
      return `${it.startTime}|${it.endTime}|${(it.legs || []).map((l) => l.tripId || l.mode).join(",")}`;
    }

    /** Shows a first answer, or adds a page's trips before/after those shown; returns how many were new. */
    showResult(data, direction) {
      const f = this.$form.elements;
      let incoming = Array.isArray(data.itineraries) ? data.itineraries : [];
      // Without the transit toggle only the direct (street-only) options are of interest
      // (the request says transitModes=; this also holds against a server that ignores it).
      if (!f.transit.checked) incoming = incoming.filter((it) => !(it.legs || []).some(isTransit));
      let itineraries = incoming;
      let direct = Array.isArray(data.direct) ? data.direct : [];
      let added = incoming.length;
      if (direction) {
        const seen = new Set(this.transitItins.map((it) => this.tripKey(it)));
        const fresh = incoming.filter((it) => !seen.has(this.tripKey(it)));
        added = fresh.length;
        itineraries = [...this.transitItins, ...fresh]
          .sort((a, b) => Date.parse(a.startTime) - Date.parse(b.startTime));
        direct = this.directItins;
        if (direction === "next") this.cursors.next = data.nextPageCursor || null;
        else this.cursors.previous = data.previousPageCursor || null;
        if (!added) return 0;
      } else {
        this.cursors = { next: data.nextPageCursor || null, previous: data.previousPageCursor || null };
      }
      this.result = data;
      this.transitItins = itineraries;
      this.directItins = direct;
      this.itins = [...itineraries, ...direct];
      this.$list.replaceChildren(...itineraries.map((it, i) => this.renderItinerary(it, i)));
      this.$direct.replaceChildren(...direct.map((it, i) => this.renderItinerary(it, itineraries.length + i)));
      this.$directBox.hidden = direct.length === 0;
      // Direct-only answers (transit off) have their own heading; keep one, not two.
      this.$resultsHeading.hidden = !itineraries.length && direct.length > 0;
      this.$earlier.hidden = !this.cursors.previous || !itineraries.length;
      this.$later.hidden = !this.cursors.next || !itineraries.length;
      const total = itineraries.length + direct.length;
      if (!total) {
        this.clearResults();
        this.showError(this.t.errors.none);
        return 0;
      }
      const w = this.when;
      const whenText = `${this.longDateFmt.format(new Date(this.isoInZone(w.day, "12:00")))}, ${w.time}`;
      this.$query.textContent = this.t.query(this.searched.from, this.searched.to, whenText, w.arriveBy);
      this.$message.textContent = "";
      this.$message.className = "message";
      this.$results.hidden = false;
      if (direction) {
        this.announce(this.t.more(added));
        const fresh = itineraries.filter((it) => !this.shownKeys.has(this.tripKey(it)));
        const first = direction === "next" ? fresh[0] : fresh[fresh.length - 1];
        const index = itineraries.indexOf(first);
        this.shownKeys = new Set(itineraries.map((it) => this.tripKey(it)));
        this.$list.querySelector(`li.itinerary[data-index="${index}"] .summary`)?.focus();
        return added;
      }
      this.shownKeys = new Set(itineraries.map((it) => this.tripKey(it)));
      this.announce(this.t.found(total));
      this.choose(this.bestIndex(itineraries, w), false);
      // On a phone the results are below the fold: bring them up and move focus there.
      this.$resultsHeading.focus({ preventScroll: true });
      this.$results.scrollIntoView({ block: "start", behavior: "auto" });
      return added;
    }

    /** Arrive-by: the trip arriving closest before the requested time, not the earliest. */
    bestIndex(itineraries, w) {
      if (!w.arriveBy || !itineraries.length) return 0;
      const limit = Date.parse(this.isoInZone(w.day, w.time));
      let best = 0;
      itineraries.forEach((it, i) => {
        const end = Date.parse(it.endTime);
        const bestEnd = Date.parse(itineraries[best].endTime);
        if (end <= limit && (bestEnd > limit || end > bestEnd ||
            (end === bestEnd && Date.parse(it.startTime) > Date.parse(itineraries[best].startTime)))) best = i;
      });
      return best;
    }

    // -- shareable URL (/plan?from=…&to=…&time=…) ------------------------------------------
    urlParams() {
      const p = new URLSearchParams();
      const put = (which) => {
        const place = this.places[which];
        p.set(which, this.placeParam(place));
        p.set(`${which}Name`, place.name);
      };
      put("from");
      put("to");
      p.set("time", `${this.when.day}T${this.when.time}`);
      if (this.when.arriveBy) p.set("arriveBy", "true");
      return p;
    }

    saveUrl() {
      const p = this.urlParams();
      this.$openLarge.href = `${this.api}/plan?${p}`;
      if (this.flag("urlState", "off")) history.replaceState(null, "", `${location.pathname}?${p}`);
    }

    /** /plan?from=id&fromName=…&to=…&time=2026-04-20T08:00&arriveBy=true: fill in and search. */
    async fromUrl() {
      const p = new URLSearchParams(location.search);
      const f = this.$form.elements;
      for (const which of ["from", "to"]) {
        const v = p.get(which);
        if (!v) continue;
        const name = p.get(`${which}Name`) || v;
        f[which].value = name;
        const coord = v.match(/^(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$/);
        this.places[which] = coord ? { lat: +coord[1], lon: +coord[2], name } :
          p.get(`${which}Name`) ? { id: v, name } : null;
      }
      const time = (p.get("time") || "").match(/^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}))?/);
      if (time) {
        f.date.value = this.fmtDay(time[1]);
        this.dateChosen = true;
        if (time[2]) f.time.value = time[2];
      }
      if (p.get("arriveBy") === "true") f.arriveBy.value = "true";
      if (p.get("from") && p.get("to")) await this.search();
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
      const otherDay = this.when && this.dayOf(it.startTime) !== this.when.day;
      const strip = el("span", { class: "strip" });
      legs.forEach((leg, k) => {
        if (k) strip.append(el("span", { class: "sep", "aria-hidden": "true", text: "›" }));
        strip.append(this.legBadge(leg));
        if (isTransit(leg)) strip.append(...this.rtMarks(leg.startTime, leg.scheduledStartTime, leg, false));
      });
      const transitLegs = legs.filter(isTransit);
      const first = legs[0];
      const last = legs[legs.length - 1];
      const cancelled = transitLegs.some(legCancelled);
      const alertCount = transitLegs.reduce((n, leg) => n + this.legAlerts(leg).length, 0);
      const summary = el("button", { type: "button", class: cancelled ? "summary cancelled" : "summary", "aria-expanded": "false",
        "aria-controls": detailId, onclick: () => this.toggle(index) },
      el("span", { class: "times" },
        otherDay ? el("span", { class: "daytag", text: this.shortDayFmt.format(new Date(it.startTime)) }) : null,
        el("time", { class: "start", datetime: it.startTime, text: this.fmtTime(it.startTime) }),
        first && isTransit(first) ? this.scheduledMark(it.startTime, first.scheduledStartTime, first) : null,
        el("span", { "aria-hidden": "true", text: " – " }),
        el("span", { class: "visually-hidden", text: this.lang === "de" ? " bis " : " to " }),
        el("time", { class: "end", datetime: it.endTime, text: this.fmtTime(it.endTime) }),
        last && isTransit(last) ? this.scheduledMark(it.endTime, last.scheduledEndTime, last) : null,
        plusDay ? el("small", { text: ` ${t.nextDay}` }) : null),
      el("span", { class: "meta" },
        el("span", { class: "duration", text: this.fmtDuration(seconds) }), " · ",
        el("span", { class: "transfers", text: t.transfers(transfers) })),
      strip,
      alertCount ? el("span", { class: "alertmark" }, icon("alert"), ` ${t.alertCount(alertCount)}`) : null,
      el("span", { class: "visually-hidden", text: `, ${t.opensDetails}` }),
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
      return el("li", { class: "itinerary", "data-index": String(index), part: "itinerary" }, summary, detail);
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
      const transit = isTransit(leg);
      const skippedMsg = (p) => (transit && p.cancelled && !legCancelled(leg) ?
        el("span", { class: "skipmsg", text: `${t.skipped}: ${t.noBoarding}` }) : null);
      const rows = [
        el("span", { class: "lt" }, el("time", { datetime: leg.startTime, text: this.fmtTime(leg.startTime) }),
          transit ? this.rtMarks(leg.startTime, leg.scheduledStartTime, leg, true) : null),
        el("span", { class: "lp" }, this.placeName(from), track(from), skippedMsg(from)),
      ];
      if (transit) {
        const stops = leg.intermediateStops || [];
        const skipped = stops.filter((s) => s.cancelled).length;
        rows.push(el("span", { class: "ld" }, this.legBadge(leg),
          leg.headsign ? el("span", { text: `${t.towards} ${leg.headsign}` }) : null,
          el("span", { text: `· ${this.fmtDuration(legSeconds(leg))}` })));
        if (legCancelled(leg)) rows.push(el("p", { class: "ld rt cancel", text: t.cancelledLeg }));
        rows.push(stops.length ? el("details", { class: "stops" },
          el("summary", {}, t.stops(stops.length),
            skipped ? el("span", { class: "skipmsg", text: `(${t.skippedStops(skipped)})` }) : null),
          el("ol", {}, stops.map((s) => this.renderStop(s, leg))))
          : el("span", { class: "ld", text: t.noStops }));
        const alerts = this.legAlerts(leg);
        if (alerts.length) rows.push(this.renderAlerts(alerts));
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
      rows.push(el("span", { class: "lt" }, el("time", { datetime: leg.endTime, text: this.fmtTime(leg.endTime) }),
        transit ? this.rtMarks(leg.endTime, leg.scheduledEndTime, leg, true) : null),
      el("span", { class: "lp" }, this.placeName(to), track(to), skippedMsg(to)));
      return el("li", { class: transit && legCancelled(leg) ? "leg cancelled" : "leg" }, rows);
    }

    /** The scheduled time struck through beside a delayed realtime time (none otherwise). */
    scheduledMark(actual, scheduled, leg) {
      if (!leg.realTime || !scheduled || legCancelled(leg) || delayMinutes(actual, scheduled) === 0) return null;
      const hhmm = this.fmtTime(scheduled);
      return el("del", { class: "sched" }, el("span", { class: "visually-hidden", text: `${this.t.scheduledAt("")}` }), hhmm);
    }

    /**
     * A realtime time's marks: "fällt aus" for a cancelled trip; for realtime legs "+N Min."
     * (with the scheduled time struck through when ``withScheduled``) or "pünktlich".
     * Scheduled-only legs get none: no claim about punctuality without data.
     */
    rtMarks(actual, scheduled, leg, withScheduled) {
      const t = this.t;
      if (legCancelled(leg)) return [el("span", { class: "rt cancel", text: t.cancelledTrip })];
      if (!leg.realTime || !scheduled || !actual) return [];
      const d = delayMinutes(actual, scheduled);
      if (d === 0) return [el("span", { class: "rt ontime", text: t.onTime })];
      const mark = el("span", { class: d > 0 ? "rt late" : "rt early" },
        el("span", { "aria-hidden": "true", text: d > 0 ? t.late(d) : t.early(-d) }),
        el("span", { class: "visually-hidden", text: d > 0 ? t.delayed(d) : t.earlyBy(-d) }));
      return withScheduled ? [this.scheduledMark(actual, scheduled, leg), mark] : [mark];
    }

    renderStop(s, leg) {
      const when = s.arrival || s.departure;
      const planned = s.scheduledArrival || s.scheduledDeparture;
      const time = when ? el("time", { datetime: when, text: this.fmtTime(when) }) : null;
      if (s.cancelled && !legCancelled(leg)) {
        return el("li", { class: "skipped" }, el("del", { class: "skipped" }, time, " ", s.name || ""),
          el("span", { class: "skipmsg", text: this.t.skipped }));
      }
      const late = leg.realTime && when && planned ? delayMinutes(when, planned) : 0;
      return el("li", {}, time, " ",
        late ? el("span", { class: late > 0 ? "rt late" : "rt early", text: late > 0 ? this.t.late(late) : this.t.early(-late) }) : null,
        late ? " " : null, s.name || "");
    }

    /** The leg's alerts and those of its boarding and alighting stops, each once. */
    legAlerts(leg) {
      const seen = new Set();
      const out = [];
      for (const a of [...(leg.alerts || []), ...((leg.from || {}).alerts || []), ...((leg.to || {}).alerts || [])]) {
        const key = `${a.headerText}\u0000${a.descriptionText}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(a);
      }
      return out;
    }

    /** Alerts as the feed words them (their text is the operator's, untranslatable here);
     * the effect, period and link label come from the widget's language. */
    renderAlerts(alerts) {
      const t = this.t;
      const period = (a) => {
        const p = (a.communicationPeriod || a.impactPeriod || [])[0];
        if (!p || (!p.from && !p.to)) return null;
        const f = (iso) => (iso ? `${this.fmtDay(iso.slice(0, 10))} ${this.fmtTime(iso)}` : "");
        return el("p", { class: "period", text: t.alertPeriod(f(p.from), f(p.to)) });
      };
      return el("section", { class: "alerts", "aria-label": t.alerts }, alerts.map((a) => el("div", { class: "alert" },
        el("p", { class: "alert-h" }, icon("alert"), " ",
          a.effect && t.effects[a.effect] ? el("span", { class: "effect", text: `${t.effects[a.effect]}: ` }) : null,
          el("strong", { class: "header", text: a.headerText || t.alert })),
        a.descriptionText ? el("p", { class: "description", text: a.descriptionText }) : null,
        period(a),
        /^https?:\/\//.test(a.url || "") ? el("a", { href: a.url, target: "_blank", rel: "noopener", text: t.moreInfo }) : null)));
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
      if (this.showMap) this.drawMap(this.itins[index]);
      const it = this.itins[index];
      if (announce && this.showMap) this.announce(this.t.onMap(this.fmtTime(it.startTime), this.fmtTime(it.endTime)));
    }

    // -- map: the trip in Web Mercator, drawn as SVG; pan, zoom and optional raster tiles ----
    /**
     * The chosen trip as the map draws it: leg lines, intermediate stops and the stops
     * where the traveller boards or alights, in world pixels at zoom 0 (256 × 256 world).
     */
    mapModel(it) {
      const legs = it.legs.map((leg) => {
        let pts = [];
        const g = leg.legGeometry;
        if (g && g.points) pts = decodePolylineSafe(g.points, g.precision ?? 5);
        if (pts.length < 2) {
          pts = [leg.from, ...(leg.intermediateStops || []), leg.to]
            .filter((p) => p && Number.isFinite(p.lat) && Number.isFinite(p.lon))
            .map((p) => [p.lat, p.lon]);
        }
        return { leg, xy: pts.map(([la, lo]) => worldXY(la, lo)) };
      });
      const all = legs.flatMap((l) => l.xy);
      if (!all.length) return null;
      const dots = [];
      for (const leg of it.legs) {
        for (const st of leg.intermediateStops || []) {
          if (Number.isFinite(st.lat) && Number.isFinite(st.lon)) dots.push({ xy: worldXY(st.lat, st.lon), name: st.name || "" });
        }
      }
      // Boarding and alighting stops, one mark per place; each remembers on which side its
      // lines leave (its label goes to the other side).
      const byKey = new Map();
      legs.forEach(({ leg, xy }, i) => {
        const add = (p, end, near) => {
          if (!p || !Number.isFinite(p.lat) || !Number.isFinite(p.lon)) return;
          const key = `${p.lat.toFixed(4)},${p.lon.toFixed(4)}`;
          const at = worldXY(p.lat, p.lon);
          const dx = near ? near[0] - at[0] : 0;
          const seen = byKey.get(key);
          if (seen) {
            seen.dx += dx;
            seen.end = seen.end || end;
          } else {
            byKey.set(key, { xy: at, name: this.placeName(p), end, dx });
          }
        };
        add(leg.from, i === 0 ? "start" : null, xy[1]);
        add(leg.to, i === legs.length - 1 ? "end" : null, xy[xy.length - 2]);
      });
      const xs = all.map((p) => p[0]);
      const ys = all.map((p) => p[1]);
      return { legs, dots, marks: [...byKey.values()],
        bounds: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] };
    }

    drawMap(it) {
      const model = it && (it.legs || []).length ? this.mapModel(it) : null;
      if (!model) {
        this.$map.hidden = true;
        return;
      }
      this.$map.hidden = false;
      const t = this.t;
      const fromName = this.placeName(it.legs[0].from || {}) || t.start;
      const toName = this.placeName(it.legs[it.legs.length - 1].to || {}) || t.destination;
      const keysId = `${this.uid}-map-keys`;
      const svg = svgEl("svg", { role: "img", "aria-label": t.map(fromName, toName), tabindex: "0",
        "aria-describedby": keysId, class: "map-view", preserveAspectRatio: "none" });
      const layer = (cls) => svgEl("g", { class: cls });
      this.$mapLayers = { bg: svgEl("rect", { x: 0, y: 0, fill: "#eef2ef" }), back: layer("tiles-back"),
        tiles: layer("tiles"), grid: layer("grid"), routes: layer("routes"), stops: layer("stops"),
        labels: layer("labels"), scale: layer("scale") };
      svg.append(...Object.values(this.$mapLayers));
      this.$mapSvg = svg;
      const button = (cls, label, ic, action) => el("button", { type: "button", class: cls, "aria-label": label,
        title: label, onclick: action }, icon(ic));
      this.$zoomIn = button("zoom-in", t.zoomIn, "plus", () => this.zoomMap(1));
      this.$zoomOut = button("zoom-out", t.zoomOut, "minus", () => this.zoomMap(-1));
      const controls = el("div", { class: "map-controls" }, this.$zoomIn, this.$zoomOut,
        button("zoom-fit", t.fitMap, "fit", () => { this.fitMap(); this.renderMap(); }));
      this.$mapControls = controls;
      this.$mapHint = el("p", { class: "map-hint", "aria-hidden": "true", hidden: true, text: t.wheelHint });
      this.$attribution = this.tiles ? el("span", { class: "attribution", text: this.tileAttribution || t.tilesAttribution }) : null;
      this.$map.replaceChildren(...[svg, controls, this.$attribution, this.$mapHint,
        el("span", { id: keysId, class: "visually-hidden", text: t.mapKeys })].filter(Boolean));
      this.mapModelShown = model;
      this.bindMap(svg);
      this.fitMap();
      this.renderMap();
    }

    /** The view that shows the whole trip: size from the container and the trip's shape. */
    fitMap() {
      const [x0, y0, x1, y1] = this.mapModelShown.bounds;
      const W = Math.max(200, Math.round(this.$map.clientWidth || 640));
      const pad = 44;
      const controls = 52; // the column of zoom buttons on the right stays clear of the trip
      const wide = W - 2 * pad - controls;
      const dx = Math.max(x1 - x0, 1e-9);
      const dy = Math.max(y1 - y0, 1e-9);
      // An east-west trip gets a low map, a north-south one a taller one, within bounds.
      const maxH = this.compact ? 220 : Math.min(380, Math.round(W * 0.75));
      const H = Math.round(Math.max(180, Math.min(maxH, wide * (dy / dx) + 2 * pad)));
      const z = Math.max(1, Math.min(16, Math.log2(Math.min(wide / dx, (H - 2 * pad) / dy))));
      this.view = { W, H, z, fitZ: z, minZ: Math.max(1, z - 3), maxZ: 18,
        cx: (x0 + x1) / 2 + controls / 2 / 2 ** z, cy: (y0 + y1) / 2 };
      const svg = this.$mapSvg;
      svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
      this.$mapLayers.bg.setAttribute("width", W);
      this.$mapLayers.bg.setAttribute("height", H);
    }

    /**
     * Zoom by ``dz`` levels keeping the point (x, y) of the view where it is. Without a
     * point (buttons, keys) zooming in holds the trip's point nearest to the middle, so
     * the line stays in view even where the middle of the frame is empty countryside.
     */
    zoomMap(dz, x, y) {
      const v = this.view;
      const z = Math.max(v.minZ, Math.min(v.maxZ, v.z + dz));
      if (z === v.z) return;
      let px = x ?? v.W / 2;
      let py = y ?? v.H / 2;
      if (x === undefined && dz > 0) [px, py] = this.nearestOnTrip(px, py);
      const s0 = 2 ** v.z;
      const s1 = 2 ** z;
      v.cx += (px - v.W / 2) / s0 - (px - v.W / 2) / s1;
      v.cy += (py - v.H / 2) / s0 - (py - v.H / 2) / s1;
      v.z = z;
      this.panMap(0, 0);
    }

    /** The trip's line point (vertices and points along its segments) nearest (px, py). */
    nearestOnTrip(px, py) {
      const v = this.view;
      const s = 2 ** v.z;
      let best = [px, py];
      let bestD = Infinity;
      for (const { xy } of this.mapModelShown.legs) {
        const pts = xy.map(([wx, wy]) => [(wx - v.cx) * s + v.W / 2, (wy - v.cy) * s + v.H / 2]);
        pts.forEach((b, i) => {
          const a = pts[i - 1] || b;
          const len2 = (b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2;
          const t = len2 ? Math.max(0, Math.min(1, ((px - a[0]) * (b[0] - a[0]) + (py - a[1]) * (b[1] - a[1])) / len2)) : 0;
          const q = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
          const d = (q[0] - px) ** 2 + (q[1] - py) ** 2;
          if (d < bestD) [best, bestD] = [q, d];
        });
      }
      return best;
    }

    /** Move the view by (dx, dy) screen pixels; some of the trip always stays in view. */
    panMap(dx, dy) {
      const v = this.view;
      const s = 2 ** v.z;
      const [x0, y0, x1, y1] = this.mapModelShown.bounds;
      const hw = v.W / 2 / s;
      const hh = v.H / 2 / s;
      v.cx = Math.max(x0 - hw * 0.8, Math.min(x1 + hw * 0.8, v.cx - dx / s));
      v.cy = Math.max(y0 - hh * 0.8, Math.min(y1 + hh * 0.8, v.cy - dy / s));
      this.scheduleMap();
    }

    scheduleMap() {
      if (this.mapFrame) return;
      this.mapFrame = requestAnimationFrame(() => {
        this.mapFrame = 0;
        this.renderMap();
      });
    }

    /** Mouse drag, touch (one finger pans, two pinch), wheel, double click and keys. */
    bindMap(svg) {
      const pointers = new Map();
      const local = (e) => {
        const r = svg.getBoundingClientRect();
        return [(e.clientX - r.left) * this.view.W / (r.width || 1), (e.clientY - r.top) * this.view.H / (r.height || 1)];
      };
      const spread = () => {
        const ps = [...pointers.values()];
        const c = [ps.reduce((a, p) => a + p[0], 0) / ps.length, ps.reduce((a, p) => a + p[1], 0) / ps.length];
        return { c, d: ps.length > 1 ? Math.hypot(ps[0][0] - ps[1][0], ps[0][1] - ps[1][1]) : 0 };
      };
      svg.addEventListener("pointerdown", (e) => {
        if (e.pointerType === "mouse" && e.button !== 0) return;
        this.mapActive = true;
        pointers.set(e.pointerId, local(e));
        svg.setPointerCapture?.(e.pointerId);
        svg.classList.add("dragging");
      });
      svg.addEventListener("pointermove", (e) => {
        if (!pointers.has(e.pointerId)) return;
        const before = spread();
        pointers.set(e.pointerId, local(e));
        const after = spread();
        this.panMap(after.c[0] - before.c[0], after.c[1] - before.c[1]);
        if (before.d > 0 && after.d > 0) this.zoomMap(Math.log2(after.d / before.d), after.c[0], after.c[1]);
      });
      const up = (e) => {
        pointers.delete(e.pointerId);
        if (!pointers.size) svg.classList.remove("dragging");
      };
      svg.addEventListener("pointerup", up);
      svg.addEventListener("pointercancel", up);
      svg.addEventListener("dblclick", (e) => {
        const [x, y] = local(e);
        this.zoomMap(e.shiftKey ? -1 : 1, x, y);
      });
      // The wheel zooms once the map is in use (clicked or focused) or with Ctrl; before
      // that it scrolls the page as usual, and a hint says how to zoom.
      svg.addEventListener("wheel", (e) => {
        if (!this.mapActive && !e.ctrlKey && !e.metaKey) {
          this.$mapHint.hidden = false;
          clearTimeout(this.hintTimer);
          this.hintTimer = setTimeout(() => { this.$mapHint.hidden = true; }, 1500);
          return;
        }
        e.preventDefault();
        const [x, y] = local(e);
        const dz = -e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.002);
        this.zoomMap(Math.max(-1, Math.min(1, dz)), x, y);
      }, { passive: false });
      svg.addEventListener("keydown", (e) => {
        const step = 80;
        const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
        if (moves[e.key]) this.panMap(...moves[e.key]);
        else if (e.key === "+" || e.key === "=") this.zoomMap(1);
        else if (e.key === "-" || e.key === "_") this.zoomMap(-1);
        else if (e.key === "0" || e.key === "Home") {
          this.fitMap();
          this.scheduleMap();
        } else return;
        e.preventDefault();
      });
    }

    /** Draws the current view: tiles or a grid, lines, stops, labels, scale. */
    renderMap() {
      if (!this.view || !this.$mapSvg || this.$map.hidden) return;
      const v = this.view;
      const model = this.mapModelShown;
      const L = this.$mapLayers;
      const s = 2 ** v.z;
      const proj = ([x, y]) => [(x - v.cx) * s + v.W / 2, (y - v.cy) * s + v.H / 2];
      this.$mapSvg.setAttribute("data-zoom", v.z.toFixed(3));
      this.$mapSvg.setAttribute("data-center", `${worldLat(v.cy).toFixed(5)},${worldLon(v.cx).toFixed(5)}`);
      this.$zoomIn.setAttribute("aria-disabled", String(v.z >= v.maxZ - 1e-9));
      this.$zoomOut.setAttribute("aria-disabled", String(v.z <= v.minZ + 1e-9));
      if (this.tiles) this.drawTiles(v, s);
      else this.drawGrid(v, s);

      L.routes.replaceChildren();
      const lines = [];
      for (const { leg, xy } of model.legs) {
        if (xy.length < 2) continue;
        const pts = xy.map(proj);
        lines.push(pts);
        const d = pts.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)} ${y.toFixed(1)}`).join("");
        const transit = isTransit(leg);
        const color = transit ? lineColors(leg).bg : isRental(leg) ? "#2b8a3e" : "#56606b";
        L.routes.append(svgEl("path", { d, fill: "none", stroke: "#fff", "stroke-width": transit ? 9 : 7,
          "stroke-linecap": "round", "stroke-linejoin": "round" }));
        const line = svgEl("path", { d, fill: "none", stroke: color, "stroke-width": transit ? 5 : 4,
          "stroke-linecap": "round", "stroke-linejoin": "round", class: "leg-line",
          "data-mode": String(leg.mode || "") });
        if (!transit) line.setAttribute("stroke-dasharray", "2 7");
        L.routes.append(line);
      }

      L.stops.replaceChildren();
      const inView = ([x, y]) => x >= 0 && x <= v.W && y >= 0 && y <= v.H;
      const named = [];
      for (const dot of model.dots) {
        const [x, y] = proj(dot.xy);
        const c = svgEl("circle", { cx: x, cy: y, r: 3, fill: "#fff", stroke: "#56606b", "stroke-width": 1.5, class: "stop-dot" });
        const title = svgEl("title", {});
        title.textContent = dot.name;
        c.append(title);
        L.stops.append(c);
        // Zoomed in, intermediate stops get names too where there is room.
        if (dot.name && v.z >= v.fitZ + 0.5 && inView([x, y])) named.push({ x, y, name: dot.name, right: true, rank: 2, mark: c, r: 3 });
      }
      for (const m of model.marks) {
        const [x, y] = proj(m.xy);
        const mark = svgEl("circle", { cx: x, cy: y, r: m.end ? 8 : 5, fill: m.end === "start" ? "#2b8a3e" :
          m.end === "end" ? "#a3160e" : "#fff", stroke: "#1b1f24", "stroke-width": 2,
          class: `stop-mark${m.end ? ` ${m.end}` : ""}` });
        L.stops.append(mark);
        if (m.name && inView([x, y])) named.push({ x, y, name: m.name, right: m.dx <= 0, rank: m.end ? 0 : 1, mark, r: 8 });
      }
      this.drawScale(v, s);
      this.placeLabels(named, model, proj, lines);
    }

    /** Raster tiles of the nearest whole zoom level, scaled to the view; the previous level
     * stays underneath until the new one has loaded, so zooming never flashes empty. */
    drawTiles(v, s) {
      const L = this.$mapLayers;
      const tz = Math.max(0, Math.min(19, Math.round(v.z)));
      const n = 2 ** tz;
      const unit = 256 / n;
      if (L.tiles.getAttribute("data-z") !== String(tz)) {
        L.back.replaceChildren(...[...L.tiles.children].filter((img) => img.classList.contains("loaded")));
        L.tiles.replaceChildren();
        L.tiles.setAttribute("data-z", String(tz));
      }
      const left = v.cx - v.W / 2 / s;
      const top = v.cy - v.H / 2 / s;
      const want = new Set();
      for (let tx = Math.floor(left / unit); tx <= Math.floor((left + v.W / s) / unit); tx++) {
        for (let ty = Math.max(0, Math.floor(top / unit)); ty <= Math.min(n - 1, Math.floor((top + v.H / s) / unit)); ty++) {
          want.add(`${tz}/${tx}/${ty}`);
        }
      }
      const have = new Map([...L.tiles.children].map((img) => [img.getAttribute("data-key"), img]));
      for (const [key, img] of have) if (!want.has(key)) img.remove();
      const settle = () => {
        if ([...L.tiles.children].every((img) => img.classList.contains("loaded") || img.classList.contains("failed"))) L.back.replaceChildren();
      };
      for (const key of want) {
        let img = have.get(key);
        if (!img) {
          const [, tx, ty] = key.split("/").map(Number);
          const x = ((tx % n) + n) % n;
          const href = this.tiles.replace(/\{z\}/g, tz).replace(/\{x\}/g, x).replace(/\{y\}/g, ty);
          img = svgEl("image", { href, class: "tile", "data-key": key, "data-z": tz, "data-x": x, "data-y": ty,
            preserveAspectRatio: "none" });
          img.addEventListener("load", () => { img.classList.add("loaded"); settle(); });
          img.addEventListener("error", () => { img.classList.add("failed"); settle(); });
          L.tiles.append(img);
        }
      }
      for (const img of [...L.tiles.children, ...L.back.children]) {
        const [z, tx, ty] = img.getAttribute("data-key").split("/").map(Number);
        const u = 256 / 2 ** z;
        img.setAttribute("x", ((tx * u - v.cx) * s + v.W / 2).toFixed(2));
        img.setAttribute("y", ((ty * u - v.cy) * s + v.H / 2).toFixed(2));
        img.setAttribute("width", (u * s + 0.5).toFixed(2));
        img.setAttribute("height", (u * s + 0.5).toFixed(2));
      }
    }

    /** Without tiles: a faint grid fixed to the ground, so panning and zooming are visible. */
    drawGrid(v, s) {
      const g = this.$mapLayers.grid;
      g.replaceChildren();
      g.setAttribute("stroke", "#dfe6e1");
      g.setAttribute("stroke-width", "1");
      const step = 64 * 2 ** (v.z - Math.round(v.z));
      const unit = step / s;
      const x0 = (Math.ceil((v.cx - v.W / 2 / s) / unit) * unit - v.cx) * s + v.W / 2;
      const y0 = (Math.ceil((v.cy - v.H / 2 / s) / unit) * unit - v.cy) * s + v.H / 2;
      for (let x = x0; x <= v.W; x += step) g.append(svgEl("line", { x1: x.toFixed(1), y1: 0, x2: x.toFixed(1), y2: v.H }));
      for (let y = y0; y <= v.H; y += step) g.append(svgEl("line", { x1: 0, y1: y.toFixed(1), x2: v.W, y2: y.toFixed(1) }));
    }

    /** A scale bar of a round distance, bottom left. */
    drawScale(v, s) {
      const g = this.$mapLayers.scale;
      const perPx = (40075016.686 * Math.cos((worldLat(v.cy) * Math.PI) / 180)) / (256 * s);
      const most = 110 * perPx;
      const p = 10 ** Math.floor(Math.log10(most));
      const metres = [5, 2, 1].map((k) => k * p).find((d) => d <= most);
      const len = metres / perPx;
      const y = v.H - 10;
      const text = svgEl("text", { x: 10, y: y - 6, class: "scale-label" });
      text.textContent = this.fmtDistance(metres);
      g.replaceChildren(
        svgEl("path", { d: `M10 ${y - 4}V${y}H${(10 + len).toFixed(1)}V${y - 4}`, fill: "none", stroke: "#fff", "stroke-width": 4 }),
        svgEl("path", { d: `M10 ${y - 4}V${y}H${(10 + len).toFixed(1)}V${y - 4}`, fill: "none", stroke: "#1b1f24", "stroke-width": 1.5 }),
        text);
      this.scaleBox = { x0: 4, y0: y - 22, x1: 16 + Math.max(len, this.textWidth(text.textContent, 11)), y1: v.H };
    }

    textWidth(text, size = 13) {
      if (!this.measure) this.measure = document.createElement("canvas").getContext("2d");
      if (!this.measure) return text.length * size * 0.56 + 4;
      this.measure.font = `600 ${size}px system-ui, sans-serif`;
      return this.measure.measureText(text).width + 4;
    }

    /**
     * Labels placed greedily in the current view, start and end first, then other
     * boarding stops, then (zoomed in) intermediate stops: each takes the first of ten
     * spots around its stop that stays inside the map, overlaps no label, stop mark,
     * control or the attribution placed so far and, where possible, no line; a label with
     * no free spot is left out (its stop keeps a tooltip). Run again on every pan and zoom.
     */
    placeLabels(named, model, proj, lines) {
      const v = this.view;
      const L = this.$mapLayers;
      L.labels.replaceChildren();
      const placed = model.marks.map((m) => {
        const [x, y] = proj(m.xy);
        return { x0: x - 8, y0: y - 8, x1: x + 8, y1: y + 8 };
      });
      const svgBox = this.$mapSvg.getBoundingClientRect();
      const k = v.W / (svgBox.width || v.W);
      for (const node of [this.$mapControls, this.$attribution, this.$mapHint.hidden ? null : this.$mapHint]) {
        if (!node) continue;
        const b = node.getBoundingClientRect();
        if (!b.width) continue;
        placed.push({ x0: (b.left - svgBox.left) * k - 2, y0: (b.top - svgBox.top) * k - 2,
          x1: (b.right - svgBox.left) * k + 2, y1: (b.bottom - svgBox.top) * k + 2 });
      }
      if (this.scaleBox) placed.push(this.scaleBox);
      const free = (b) => b.x0 >= 2 && b.x1 <= v.W - 2 && b.y0 >= 2 && b.y1 <= v.H - 2 &&
        placed.every((o) => b.x1 <= o.x0 || b.x0 >= o.x1 || b.y1 <= o.y0 || b.y0 >= o.y1);
      // A spot off the lines is better; one on a line still beats no label.
      const onLine = (b) => lines.some((pts) => pts.some((p, i) => i > 0 && segmentHitsBox(pts[i - 1], p, b)));
      named.sort((a, b) => a.rank - b.rank);
      for (const { x, y, name, right: prefer, rank, mark, r } of named) {
        const width = this.textWidth(name);
        const spots = [];
        for (const right of [prefer, !prefer]) {
          for (const dy of rank < 2 ? [0, -16, 16, -30, 30] : [0, -12, 12]) spots.push({ right, dy });
        }
        const candidates = spots.map(({ right, dy }) => {
          const tx = right ? x + r + 4 : x - r - 4;
          const box = { x0: right ? tx : tx - width, x1: right ? tx + width : tx, y0: y + dy - 9, y1: y + dy + 7 };
          return { right, tx, ty: y + dy + 4, box };
        }).filter((c) => free(c.box));
        const spot = candidates.find((c) => !onLine(c.box)) || candidates[0];
        if (!spot) {
          if (rank < 2 && !mark.querySelector("title")) {
            const title = svgEl("title", {});
            title.textContent = name;
            mark.append(title);
          }
          continue;
        }
        placed.push(spot.box);
        const label = svgEl("text", { x: spot.tx.toFixed(1), y: spot.ty.toFixed(1),
          class: rank === 2 ? "map-label minor" : "map-label", "text-anchor": spot.right ? "start" : "end" });
        label.textContent = name;
        L.labels.append(label);
      }
    }
  }

  OwlTripPlanner.decodePolyline = decodePolylineSafe;
  customElements.define(TAG, OwlTripPlanner);
})();
