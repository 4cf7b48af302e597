// The visual template editor. Plain DOM, no framework: the picture is always the server
// engine's render of the spec being edited (there is no second renderer here); this script
// only draws handles where the engine placed each layer, edits the spec, and asks again.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("editor-data").textContent);
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const TEXT_ROLES = ["title", "subtitle", "price", "badge"];
  const CLASSES = ["square", "tall", "wide", "banner"];
  const MAX_STAGE = { w: 620, h: 620 };
  const RENDER_DELAY_MS = 150;
  const HISTORY_STEPS = 100; // undo reaches this many edits back (the brief asks for at least 50)
  const AA = 4.5; // WCAG 2.x AA contrast for text

  const state = {
    spec: structuredClone(data.spec),
    baseVersion: data.version,
    publishedVersion: data.published_version, // what campaigns use; saving never changes it
    savedJson: JSON.stringify(data.spec),
    selected: null,
    size: [data.sizes[0][0], data.sizes[0][1]],
    products: 1,
    copy: { ...data.copy },
    layout: {},
    aspectClass: "square",
    scale: 1,
    timer: null,
    inflight: null,
    renderSeq: 0,
    palette: {}, // the palette the last render was drawn with, role -> #rrggbb
    history: [JSON.stringify(data.spec)], // each edit's spec; the last one is the spec shown
    future: [], // what undo took back, for redo
  };

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) node.append(c);
    return node;
  };
  const round4 = (v) => Math.round(v * 10000) / 10000;
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const layers = () => state.spec.layers || (state.spec.layers = []);
  const layerById = (id) => layers().find((l) => l.id === id);
  const isDirty = () => JSON.stringify(state.spec) !== state.savedJson;

  // ---- toolbar -------------------------------------------------------------------------
  function productRange() {
    const p = state.spec.products || {};
    const lo = clamp(p.min ?? 1, 1, 4);
    const hi = clamp(p.max ?? 1, lo, 4);
    return [lo, hi];
  }

  function fillToolbar() {
    const size = $("size");
    if (size.childElementCount) return updateProducts();
    data.sizes.forEach(([w, h, label], i) => size.append(el("option", { value: i }, `${w}×${h} (${label})`)));
    size.addEventListener("change", () => {
      const [w, h] = data.sizes[+size.value];
      state.size = [w, h];
      scheduleRender(0);
    });
    updateProducts();
    const fields = $("copy-fields");
    for (const role of TEXT_ROLES) {
      const input = el("input", { value: state.copy[role] || "", "data-role": role });
      input.addEventListener("input", () => {
        state.copy[role] = input.value;
        scheduleRender();
      });
      fields.append(el("label", {}, role, input));
    }
    $("copy-toggle").addEventListener("click", () => (fields.hidden = !fields.hidden));
  }

  function updateProducts() {
    const products = $("products");
    const [lo, hi] = productRange();
    products.replaceChildren();
    for (let n = 1; n <= 4; n++) {
      products.append(el("option", { value: n, disabled: n < lo || n > hi }, String(n)));
    }
    state.products = clamp(state.products, lo, hi);
    products.value = state.products;
    products.onchange = () => {
      state.products = +products.value;
      scheduleRender(0);
    };
  }

  // ---- layer list ----------------------------------------------------------------------
  function renderLayerList() {
    const list = $("layer-list");
    list.replaceChildren();
    [...layers()].reverse().forEach((layer) => {
      const item = el(
        "li",
        { class: layer.id === state.selected ? "selected" : "", "data-id": layer.id, onclick: () => select(layer.id) },
        el("strong", {}, layer.id),
        el("span", { class: "role" }, layer.role),
      );
      if (!(layer.id in state.layout) && layer.role !== "background") item.classList.add("not-shown");
      list.append(item);
    });
  }

  function moveLayer(delta) {
    const all = layers();
    const i = all.findIndex((l) => l.id === state.selected);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= all.length) return;
    [all[i], all[j]] = [all[j], all[i]];
    changed();
  }

  function uniqueId(role) {
    let n = 1;
    while (layerById(n === 1 ? role : `${role}-${n}`)) n++;
    return n === 1 ? role : `${role}-${n}`;
  }

  function newLayer(role) {
    const layer = { id: uniqueId(role), role };
    const cjk = data.fonts.find((f) => f.includes("cjk")) || data.fonts[0];
    if (TEXT_ROLES.includes(role)) {
      layer.colour = "text";
      layer.text = { font: cjk, size: [0.03, 0.06], max_lines: 2, align: "left" };
    } else if (role === "shape") {
      layer.colour = "accent";
      layer.box = { x: 0.1, y: 0.1, w: 0.3, h: 0.2 };
    } else if (role === "logo" || role === "decoration") {
      layer.asset = data.assets[0] || "logo";
      if (role === "decoration") layer.box = { x: 0.75, y: 0.05, w: 0.2, h: 0.2 };
    } else if (role === "background") {
      layer.fill = { type: "colour", colour: "background" };
    }
    return layer;
  }

  // ---- the canvas and its handles --------------------------------------------------------
  function currentBox(layer) {
    const px = state.layout[layer.id];
    if (!px) return null;
    const [w, h] = state.size;
    return { x: px[0] / w, y: px[1] / h, w: px[2] / w, h: px[3] / h };
  }

  function setBox(layer, box) {
    // A `box` applies to every canvas shape; editing one shape splits it into per-shape boxes.
    if (layer.box) {
      layer.boxes = Object.fromEntries(CLASSES.map((c) => [c, { ...layer.box }]));
      delete layer.box;
    }
    layer.boxes = layer.boxes || {};
    if (box === null) delete layer.boxes[state.aspectClass];
    else {
      const x = clamp(round4(box.x), 0, 0.99);
      const y = clamp(round4(box.y), 0, 0.99);
      layer.boxes[state.aspectClass] = {
        x, y, w: clamp(round4(box.w), 0.01, 1 - x), h: clamp(round4(box.h), 0.01, 1 - y),
      };
    }
    if (!Object.keys(layer.boxes).length) delete layer.boxes;
    changed();
  }

  function drawBoxes() {
    const holder = $("boxes");
    holder.replaceChildren();
    const s = state.scale;
    for (const layer of layers()) {
      const px = state.layout[layer.id];
      if (!px || layer.role === "background") continue;
      const box = el(
        "div",
        {
          class: `box role-${layer.role}${layer.id === state.selected ? " selected" : ""}`,
          "data-id": layer.id,
          title: `${layer.id} (${layer.role})`,
        },
        el("span", { class: "tag" }, layer.id),
        el("span", { class: "handle", "data-handle": "resize" }),
      );
      Object.assign(box.style, {
        left: `${px[0] * s}px`, top: `${px[1] * s}px`, width: `${px[2] * s}px`, height: `${px[3] * s}px`,
      });
      box.addEventListener("pointerdown", (event) => startDrag(event, layer, box));
      holder.append(box);
    }
  }

  function startDrag(event, layer, box) {
    event.preventDefault();
    event.stopPropagation();
    select(layer.id);
    const resizing = event.target.dataset.handle === "resize";
    const start = { x: event.clientX, y: event.clientY, left: box.offsetLeft, top: box.offsetTop,
      width: box.offsetWidth, height: box.offsetHeight };
    const stage = { w: state.size[0] * state.scale, h: state.size[1] * state.scale };
    let moved = false;
    box.setPointerCapture(event.pointerId);
    const onMove = (e) => {
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) moved = true;
      if (resizing) {
        box.style.width = `${clamp(start.width + dx, 8, stage.w - start.left)}px`;
        box.style.height = `${clamp(start.height + dy, 8, stage.h - start.top)}px`;
      } else {
        box.style.left = `${clamp(start.left + dx, 0, stage.w - start.width)}px`;
        box.style.top = `${clamp(start.top + dy, 0, stage.h - start.height)}px`;
      }
    };
    const onUp = () => {
      box.removeEventListener("pointermove", onMove);
      box.removeEventListener("pointerup", onUp);
      box.removeEventListener("pointercancel", onUp);
      if (!moved) return;
      setBox(layer, {
        x: box.offsetLeft / stage.w, y: box.offsetTop / stage.h,
        w: box.offsetWidth / stage.w, h: box.offsetHeight / stage.h,
      });
    };
    box.addEventListener("pointermove", onMove);
    box.addEventListener("pointerup", onUp);
    box.addEventListener("pointercancel", onUp);
  }

  function nudge(event) {
    const layer = layerById(state.selected);
    if (!layer || layer.role === "background" || /INPUT|SELECT|TEXTAREA/.test(event.target.tagName)) return;
    const step = event.shiftKey ? 0.02 : 0.005;
    const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[event.key];
    // The layer's own box when it has one: the last render's box lags behind fast key repeats.
    const box = (layer.boxes && layer.boxes[state.aspectClass]) || layer.box || currentBox(layer);
    if (!d || !box) return;
    event.preventDefault();
    setBox(layer, { ...box, x: box.x + d[0], y: box.y + d[1] });
  }

  // ---- the side panel ------------------------------------------------------------------
  function field(label, input, hint) {
    return el("label", {}, label, input, hint ? el("small", { class: "hint" }, hint) : "");
  }

  function selectInput(options, value, onchange, { blank } = {}) {
    const input = el("select", {});
    if (blank !== undefined) input.append(el("option", { value: "" }, blank));
    for (const o of options) input.append(el("option", { value: o, selected: o === value }, o));
    if (value === undefined || value === null) input.value = "";
    input.addEventListener("change", () => onchange(input.value));
    return input;
  }

  function numberInput(value, { min, max, step }, onchange) {
    const input = el("input", { type: "number", value, min, max, step });
    input.addEventListener("change", () => {
      const v = parseFloat(input.value);
      if (Number.isFinite(v)) onchange(v);
    });
    return input;
  }

  function checkboxes(options, chosen, onchange) {
    const box = el("span", { class: "checks" });
    for (const o of options) {
      const input = el("input", { type: "checkbox", checked: chosen.includes(o) });
      input.addEventListener("change", () => {
        const now = options.filter((x, i) => box.querySelectorAll("input")[i].checked);
        onchange(now);
      });
      box.append(el("label", { class: "check" }, input, String(o)));
    }
    return box;
  }

  function setVariation(layer, key, values) {
    layer.variations = layer.variations || {};
    if (values.length) layer.variations[key] = values;
    else delete layer.variations[key];
    if (!Object.keys(layer.variations).length) delete layer.variations;
    changed();
  }

  function renderProps() {
    const panel = $("props");
    const layer = layerById(state.selected);
    panel.replaceChildren(el("h2", {}, "Layer"));
    if (!layer) {
      panel.append(el("p", { class: "hint" }, "Select a layer, or set what the whole template is for:"));
      renderTemplateProps(panel);
      return;
    }
    const set = (key, value) => {
      if (value === "" || value === undefined) delete layer[key];
      else layer[key] = value;
      changed();
    };
    panel.append(
      field("Id", el("input", { value: layer.id, readonly: true })),
      field("Role", selectInput(data.roles, layer.role, (v) => set("role", v))),
    );
    if (layer.role === "background") {
      const fill = (layer.fill = layer.fill || { type: "colour", colour: "background" });
      const setFill = (key, value) => {
        if (value === "") delete fill[key];
        else fill[key] = value;
        changed();
      };
      panel.append(
        field("Fill", selectInput(["colour", "gradient", "image"], fill.type, (v) => setFill("type", v))),
        field("Colour role", selectInput(data.palette_roles, fill.colour, (v) => setFill("colour", v))),
      );
      if (fill.type === "gradient") {
        panel.append(field("To role", selectInput(data.palette_roles, fill.to, (v) => setFill("to", v), { blank: "–" })));
      }
      if (fill.type === "image") {
        panel.append(field("Image", selectInput(data.assets, fill.asset, (v) => setFill("asset", v), { blank: "–" })));
      }
    } else if (layer.role !== "product") {
      panel.append(
        field("Colour role", selectInput(data.palette_roles, layer.colour || "text", (v) => set("colour", v)),
          "Bound to the palette, never a fixed colour"),
      );
    }
    if (layer.role === "logo" || layer.role === "decoration") {
      panel.append(field("Asset", selectInput(data.assets, layer.asset, (v) => set("asset", v), { blank: "–" })));
    }
    if (TEXT_ROLES.includes(layer.role)) {
      const text = (layer.text = layer.text || {});
      const size = text.size || [0.03, 0.08];
      const setText = (key, value) => {
        text[key] = value;
        changed();
      };
      panel.append(
        el("h3", {}, "Text"),
        field("Font", selectInput(data.fonts, text.font, (v) => setText("font", v))),
        el("div", { class: "pair" },
          field("Size min", numberInput(size[0], { min: 0.005, max: 0.5, step: 0.005 }, (v) => setText("size", [v, size[1]]))),
          field("max", numberInput(size[1], { min: 0.005, max: 0.5, step: 0.005 }, (v) => setText("size", [size[0], v])))),
        field("Lines", numberInput(text.max_lines ?? 2, { min: 1, max: 6, step: 1 }, (v) => setText("max_lines", v))),
        field("Align", selectInput(data.aligns, text.align || "left", (v) => setText("align", v))),
        field("Plate", selectInput(data.plates, layer.plate || "none", (v) => set("plate", v))),
        field("Plate colour", selectInput(data.palette_roles, layer.plate_colour || "accent", (v) => set("plate_colour", v))),
      );
    }
    if (layer.role === "shape" || layer.role === "decoration") {
      panel.append(
        field("Opacity", numberInput(layer.opacity ?? 1, { min: 0, max: 1, step: 0.05 }, (v) => set("opacity", v))),
        field("Corner radius", numberInput(layer.radius ?? 0, { min: 0, max: 0.5, step: 0.01 }, (v) => set("radius", v))),
      );
    }
    if (layer.role !== "background") {
      const box = currentBox(layer);
      const own = (layer.boxes && layer.boxes[state.aspectClass]) || layer.box;
      panel.append(el("h3", {}, `Box on ${state.aspectClass} canvases`));
      if (box) {
        const pair = el("div", { class: "quad" });
        for (const k of ["x", "y", "w", "h"]) {
          pair.append(field(k, numberInput(round4(box[k]), { min: 0, max: 1, step: 0.01 },
            (v) => setBox(layer, { ...currentBox(layer), [k]: v }))));
        }
        panel.append(pair);
      } else {
        panel.append(el("p", { class: "hint" }, "Not laid out at this size (hidden, or no copy for it)."));
      }
      panel.append(el("button", { type: "button", disabled: !own, onclick: () => setBox(layer, null) },
        own ? "Automatic (layout engine)" : "Placed automatically"));
    }
    const v = layer.variations || {};
    panel.append(el("h3", {}, "Variations"), el("p", { class: "hint" }, "What candidate search may vary; the first option is the design."));
    const hideable = el("input", { type: "checkbox", checked: (v.visible || []).includes(false) });
    hideable.addEventListener("change", () => setVariation(layer, "visible", hideable.checked ? [true, false] : []));
    panel.append(el("label", { class: "check" }, hideable, "may be hidden"));
    if (TEXT_ROLES.includes(layer.role)) {
      panel.append(field("Alignments", checkboxes(data.aligns, v.align || [], (vals) => setVariation(layer, "align", vals))));
      panel.append(field("Plates", checkboxes(data.plates, v.plate || [], (vals) => setVariation(layer, "plate", vals))));
    }
    if (layer.role !== "background" && layer.role !== "product") {
      panel.append(field("Colour roles", checkboxes(data.palette_roles, v.colour || [], (vals) => setVariation(layer, "colour", vals))));
    }
    if (layer.role === "decoration" || layer.role === "logo") {
      panel.append(field("Alternative images", checkboxes(data.assets, v.assets || [], (vals) => setVariation(layer, "assets", vals))));
    }
    const scales = el("input", { value: (v.size_scale || []).join(", "), placeholder: "e.g. 1, 0.8, 1.2" });
    scales.addEventListener("change", () => {
      const vals = scales.value.split(",").map((s) => parseFloat(s)).filter(Number.isFinite);
      setVariation(layer, "size_scale", vals);
    });
    panel.append(field("Size scales", scales));
    const raw = el("textarea", { rows: 6, spellcheck: "false" });
    raw.value = JSON.stringify(layer, null, 1);
    const apply = el("button", { type: "button" }, "Apply JSON");
    apply.addEventListener("click", () => {
      try {
        const parsed = JSON.parse(raw.value);
        Object.keys(layer).forEach((k) => delete layer[k]);
        Object.assign(layer, parsed);
        state.selected = layer.id;
        changed();
      } catch (e) {
        setStatus(`Layer JSON: ${e.message}`, "error");
      }
    });
    panel.append(el("details", {}, el("summary", {}, "Layer JSON"), raw, apply));
  }

  function renderTemplateProps(panel) {
    const spec = state.spec;
    const products = (spec.products = spec.products || {});
    const setProducts = (key, value) => {
      products[key] = clamp(Math.round(value), 0, 4);
      changed();
    };
    panel.append(
      el("h3", {}, "Template"),
      el("div", { class: "pair" },
        field("Products min", numberInput(products.min ?? 1, { min: 0, max: 4, step: 1 }, (v) => setProducts("min", v))),
        field("max", numberInput(products.max ?? 1, { min: 0, max: 4, step: 1 }, (v) => setProducts("max", v)))),
      field("Canvas shapes", checkboxes(CLASSES, spec.shapes || CLASSES, (vals) => {
        if (vals.length && vals.length < CLASSES.length) spec.shapes = vals;
        else delete spec.shapes;
        changed();
      }), "Candidate search and the preview sheet use it only on these"),
      field("Safe margin", numberInput((spec.canvas || {}).safe_margin ?? 0.05, { min: 0, max: 0.2, step: 0.005 }, (v) => {
        spec.canvas = { ...(spec.canvas || {}), safe_margin: v };
        changed();
      })),
    );
  }

  function select(id) {
    state.selected = id;
    renderLayerList();
    // The handles stay the same elements (a drag in progress holds its pointer on one).
    for (const box of document.querySelectorAll("#boxes .box")) box.classList.toggle("selected", box.dataset.id === id);
    renderProps();
  }

  // ---- undo and redo -------------------------------------------------------------------
  function remember() {
    const now = JSON.stringify(state.spec);
    if (now === state.history[state.history.length - 1]) return;
    state.history.push(now);
    if (state.history.length > HISTORY_STEPS + 1) state.history.shift();
    state.future = [];
    updateUndoButtons();
  }

  function restore(json) {
    state.spec = JSON.parse(json);
    if (state.selected && !layerById(state.selected)) state.selected = null;
    changed({ record: false });
    updateUndoButtons();
  }

  function undo() {
    if (state.history.length < 2) return;
    state.future.push(state.history.pop());
    restore(state.history[state.history.length - 1]);
    setStatus(`Undone (${state.history.length - 1} more to undo)`, "ok");
  }

  function redo() {
    if (!state.future.length) return;
    state.history.push(state.future.pop());
    restore(state.history[state.history.length - 1]);
    setStatus(`Redone (${state.future.length} more to redo)`, "ok");
  }

  function updateUndoButtons() {
    $("undo").disabled = state.history.length < 2;
    $("redo").disabled = !state.future.length;
    $("undo").title = `Undo (Ctrl/⌘+Z) · ${state.history.length - 1} step(s)`;
    $("redo").title = `Redo (Ctrl/⌘+Shift+Z) · ${state.future.length} step(s)`;
  }

  function undoKeys(event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
    const key = event.key.toLowerCase();
    if (key !== "z" && key !== "y") return;
    // In a text field the browser's own undo edits the text being typed.
    if (/INPUT|TEXTAREA/.test(event.target.tagName) && !["checkbox", "color"].includes(event.target.type)) return;
    event.preventDefault();
    if (key === "y" || event.shiftKey) redo();
    else undo();
  }

  // ---- colours: the palette's roles as swatches, brand colours guarded by contrast ---------
  function luminance(hex) {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  function contrast(a, b) {
    // WCAG 2.x: (L1 + 0.05) / (L2 + 0.05), L1 the lighter colour's relative luminance.
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }

  function effectivePalette() {
    return { ...state.palette, ...(state.spec.palette || {}) };
  }

  // Each text role on its ground whose contrast falls below AA once `role` takes `hex`.
  function contrastFailures(role, hex) {
    const palette = { ...effectivePalette(), [role]: hex };
    const out = [];
    for (const [ink, ground] of Object.entries(data.text_on)) {
      if (ink !== role && ground !== role) continue;
      if (!palette[ink] || !palette[ground]) continue;
      const ratio = contrast(palette[ink], palette[ground]);
      if (ratio < AA) out.push({ ink, ground, ratio });
    }
    return out;
  }

  function setBrandColour(role, hex) {
    const failures = hex ? contrastFailures(role, hex) : [];
    state.spec.palette = { ...(state.spec.palette || {}) };
    if (hex) state.spec.palette[role] = hex;
    else delete state.spec.palette[role];
    if (!Object.keys(state.spec.palette).length) delete state.spec.palette;
    changed();
    const note = $("colour-note");
    if (failures.length) {
      note.textContent = failures.map((f) => `${f.ink} on ${f.ground} is ${f.ratio.toFixed(2)}:1, below 4.5:1: ` +
        `text in ${f.ink} will not be readable there, and the engine will draw it in another colour.`).join(" ");
      note.className = "colour-note warn";
    } else {
      note.textContent = hex ? `${role} is now ${hex}; its text pairs reach 4.5:1.` : `${role} follows the product again.`;
      note.className = "colour-note ok";
    }
  }

  function renderColours() {
    const list = $("colour-roles");
    list.replaceChildren();
    const palette = effectivePalette();
    const own = state.spec.palette || {};
    for (const role of data.palette_roles) {
      const hex = palette[role] || "#000000";
      const picker = el("input", { type: "color", value: hex, "aria-label": `Brand colour for ${role}`, "data-role": role });
      picker.addEventListener("change", () => setBrandColour(role, picker.value));
      const ground = data.text_on[role];
      let ratio = "";
      if (ground && palette[role] && palette[ground]) {
        const r = contrast(palette[role], palette[ground]);
        ratio = el("span", { class: r < AA ? "ratio low" : "ratio" }, `${r.toFixed(1)}:1 on ${ground}`);
      }
      const swatch = el("span", { class: "swatch", title: hex });
      swatch.style.background = hex; // CSSOM, allowed by the Content-Security-Policy (a style attribute is not)
      list.append(el("li", { "data-role": role },
        swatch,
        el("span", { class: "colour-text" },
          el("strong", {}, role), " ", el("code", {}, hex), " ",
          own[role] ? el("span", { class: "own" }, "brand") : el("span", { class: "auto" }, "from product"), " ", ratio,
          el("small", {}, data.role_meanings[role] || "")),
        picker,
        own[role] ? el("button", { type: "button", class: "link", onclick: () => setBrandColour(role, null) }, "reset") : "",
      ));
    }
  }

  // ---- the spec as JSON: formatted, validated before it is used ---------------------------
  function showSpecJson(force = false) {
    const area = $("spec-json");
    if (!force && (document.activeElement === area || area.dataset.edited === "1")) return;
    area.value = JSON.stringify(state.spec, null, 2);
    area.dataset.edited = "";
  }

  function jsonErrorAt(text, error) {
    const m = /position (\d+)/.exec(error.message);
    if (!m) return error.message;
    const before = text.slice(0, +m[1]).split("\n");
    return `${error.message.replace(/ in JSON at position \d+.*/, "")} at line ${before.length}, column ${before[before.length - 1].length + 1}`;
  }

  async function applySpecJson() {
    const area = $("spec-json");
    const out = $("spec-json-status");
    let candidate;
    try {
      candidate = JSON.parse(area.value);
    } catch (error) {
      out.replaceChildren(`Not JSON: ${jsonErrorAt(area.value, error)}.`);
      out.className = "status error";
      return;
    }
    out.textContent = "Checking…";
    out.className = "status busy";
    const response = await fetch(data.urls.render, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ spec: candidate, width: state.size[0], height: state.size[1], products: 1, copy: state.copy }),
    });
    const body = await response.json().catch(() => ({ message: `The server answered ${response.status}.` }));
    if (!response.ok) {
      const errors = (body.extra && body.extra.errors) || [];
      out.replaceChildren(body.message || "Refused.", ...(errors.length ? [el("ul", {}, ...errors.map((e) => el("li", {}, e)))] : []));
      out.className = "status error";
      return;
    }
    state.spec = candidate;
    if (state.selected && !layerById(state.selected)) state.selected = null;
    area.dataset.edited = "";
    out.textContent = "Valid: applied (undo takes it back).";
    out.className = "status ok";
    changed();
    showSpecJson(true);
  }

  // ---- render, score, save -------------------------------------------------------------
  function setStatus(text, kind = "") {
    const status = $("status");
    status.textContent = text;
    status.className = `status ${kind}`;
  }

  function changed({ record = true } = {}) {
    if (record) remember();
    updatePublish();
    fillToolbar();
    renderLayerList();
    renderProps();
    renderColours();
    showSpecJson();
    scheduleRender();
  }

  function scheduleRender(delay = RENDER_DELAY_MS) {
    clearTimeout(state.timer);
    state.timer = setTimeout(requestRender, delay);
  }

  async function requestRender() {
    if (state.inflight) state.inflight.abort(); // only the newest spec's picture matters
    const controller = new AbortController();
    state.inflight = controller;
    const seq = ++state.renderSeq;
    const started = performance.now();
    setStatus("Rendering…", "busy");
    let body;
    try {
      const response = await fetch(data.urls.render, {
        method: "POST",
        signal: controller.signal,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({
          spec: state.spec, width: state.size[0], height: state.size[1], products: state.products, copy: state.copy,
        }),
      });
      body = await response.json().catch(() => ({ message: `The server answered ${response.status}; are you still logged in?` }));
      if (!response.ok) throw Object.assign(new Error(body.message), { body });
    } catch (error) {
      if (error.name === "AbortError") return;
      const problems = (error.body && error.body.extra && error.body.extra.errors) || [];
      setStatus([error.message, ...problems].join(" · "), "error");
      document.body.dataset.renderState = "error";
      return;
    }
    if (seq !== state.renderSeq) return;
    state.inflight = null;
    state.layout = body.layout;
    state.aspectClass = body.aspect_class;
    showRender(body, performance.now() - started);
  }

  function showRender(body, ms) {
    const img = $("render");
    const [w, h] = state.size;
    state.scale = Math.min(MAX_STAGE.w / w, MAX_STAGE.h / h);
    const stage = $("stage");
    stage.style.width = `${Math.round(w * state.scale)}px`;
    stage.style.height = `${Math.round(h * state.scale)}px`;
    img.src = body.src;
    img.dataset.size = `${w}x${h}`;
    $("class-label").textContent = body.aspect_class;
    $("score").textContent = body.score.toFixed(1);
    const table = $("components");
    table.replaceChildren();
    for (const [name, value] of Object.entries(body.components)) {
      const bar = el("span", { class: "bar" });
      bar.style.width = `${Math.round(value * 100)}%`;
      table.append(el("tr", {}, el("th", {}, name.replace("_", " ")), el("td", {}, el("span", { class: "meter" }, bar)),
        el("td", {}, value.toFixed(2))));
    }
    const warnings = $("warnings");
    warnings.replaceChildren();
    const problems = body.problems || [];
    for (const p of problems) {
      const item = el("li", { class: p.severity === "error" ? "violation" : "warning", "data-code": p.code,
        "data-layer": p.layer, title: p.code }, p.text);
      if (p.layer && layerById(p.layer)) {
        item.classList.add("has-layer");
        item.tabIndex = 0;
        item.addEventListener("click", () => select(p.layer));
        item.addEventListener("keydown", (e) => e.key === "Enter" && select(p.layer));
      }
      warnings.append(item);
    }
    if (!body.shape_supported) {
      warnings.append(el("li", { class: "warning" }, `Not made for ${body.aspect_class} canvases: candidate search will not use it here.`));
    }
    const errors = problems.filter((p) => p.severity === "error").length;
    $("checks-summary").textContent = errors
      ? `${errors} hard check${errors > 1 ? "s" : ""} failed: this cannot be published until fixed.`
      : "Hard checks pass at this size (Publish checks every sheet size).";
    $("checks-summary").className = errors ? "checks-summary bad" : "checks-summary good";
    if (!problems.length && body.shape_supported) {
      warnings.append(el("li", { class: "ok" }, "No warnings."));
    }
    state.palette = body.palette || {};
    renderColours();
    setStatus(`Rendered ${w}×${h} in ${Math.round(ms)} ms`, "ok");
    document.body.dataset.renderState = "ready";
    updatePublish();
    renderLayerList();
    drawBoxes();
    renderProps();
  }

  async function save() {
    const out = $("save-status");
    out.textContent = "Saving…";
    out.className = "status busy";
    const response = await fetch(data.urls.save, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ spec: state.spec, base_version: state.baseVersion, note: $("note").value }),
    });
    const body = await response.json().catch(() => ({ message: `The server answered ${response.status}.` }));
    if (!response.ok) {
      const problems = (body.extra && body.extra.errors) || [];
      out.textContent = [body.message, ...problems].join(" · ");
      out.className = "status error";
      return;
    }
    state.baseVersion = body.version;
    state.savedJson = JSON.stringify(state.spec);
    $("version-label").textContent = `Draft: version ${body.version}`;
    $("note").value = "";
    const pinned = state.publishedVersion && state.publishedVersion !== body.version
      ? ` Campaigns still use version ${state.publishedVersion} until you publish.` : "";
    out.textContent = (body.created ? `Saved as draft version ${body.version}.` : `No change since version ${body.version}.`) + pinned;
    out.className = "status ok";
    updatePublish();
  }

  // ---- publish: the saved draft, after its preview sheet passes ----------------------------
  function updatePublish() {
    const button = $("publish");
    if (isDirty()) {
      button.disabled = true;
      button.textContent = "Publish (save the draft first)";
    } else if (state.baseVersion === state.publishedVersion) {
      button.disabled = true;
      button.textContent = `Version ${state.baseVersion} is published`;
    } else {
      button.disabled = false;
      button.textContent = `Publish version ${state.baseVersion}`;
    }
  }

  function showSize(size, products) {
    // The editor's size and product count of a sheet problem, so the layer is seen where it fails.
    const i = data.sizes.findIndex(([w, h]) => w === size[0] && h === size[1]);
    if (i >= 0) {
      $("size").value = i;
      state.size = [size[0], size[1]];
    }
    const [lo, hi] = productRange();
    if (products >= lo && products <= hi) {
      state.products = products;
      $("products").value = products;
    }
    scheduleRender(0);
  }

  async function publish() {
    const out = $("publish-status");
    const list = $("publish-errors");
    list.replaceChildren();
    out.textContent = `Checking version ${state.baseVersion} at every sheet size…`;
    out.className = "status busy";
    $("publish").disabled = true;
    const response = await fetch(data.urls.publish, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ version: state.baseVersion }),
    });
    const body = await response.json().catch(() => ({ message: `The server answered ${response.status}.` }));
    if (!response.ok) {
      const problems = (body.extra && body.extra.problems) || [];
      out.textContent = problems.length
        ? `Not published: ${problems.length} hard error${problems.length > 1 ? "s" : ""} in the preview sheet. `
          + "Campaigns keep the published version. Click one to see its layer."
        : body.message;
      out.className = "status error";
      const seen = new Set();
      for (const p of problems) {
        if (seen.has(p.text)) continue;
        seen.add(p.text);
        const item = el("li", { class: "violation", "data-code": p.code, "data-layer": p.layer, title: p.code }, p.text);
        if (p.layer && layerById(p.layer)) {
          item.classList.add("has-layer");
          item.tabIndex = 0;
          const show = () => {
            showSize(p.size, p.products);
            select(p.layer);
          };
          item.addEventListener("click", show);
          item.addEventListener("keydown", (e) => e.key === "Enter" && show());
        }
        list.append(item);
      }
      updatePublish();
      return;
    }
    state.publishedVersion = body.published_version;
    $("published-label").textContent = `Published: version ${body.published_version}`;
    out.textContent = `Version ${body.published_version} published: campaigns use it from now on.`;
    out.className = "status ok";
    $("save-status").textContent = ""; // its "campaigns still use version N" no longer holds
    updatePublish();
  }

  // ---- start ---------------------------------------------------------------------------
  for (const role of data.roles) $("layer-add").append(el("option", { value: role }, role));
  $("layer-add").addEventListener("change", (event) => {
    const role = event.target.value;
    event.target.value = "";
    if (!role) return;
    const layer = newLayer(role);
    layers().push(layer);
    state.selected = layer.id;
    changed();
  });
  $("layer-up").addEventListener("click", () => moveLayer(1));
  $("layer-down").addEventListener("click", () => moveLayer(-1));
  $("layer-delete").addEventListener("click", () => {
    const i = layers().findIndex((l) => l.id === state.selected);
    if (i < 0) return;
    layers().splice(i, 1);
    state.selected = null;
    changed();
  });
  $("save").addEventListener("click", save);
  $("publish").addEventListener("click", publish);
  document.addEventListener("keydown", nudge);
  document.addEventListener("keydown", undoKeys);
  $("undo").addEventListener("click", undo);
  $("redo").addEventListener("click", redo);
  $("spec-json").addEventListener("input", () => ($("spec-json").dataset.edited = "1"));
  $("spec-json-apply").addEventListener("click", applySpecJson);
  $("spec-json-reset").addEventListener("click", () => {
    showSpecJson(true);
    $("spec-json-status").textContent = "";
  });
  $("stage").addEventListener("pointerdown", (event) => {
    if (event.target.id === "render") select(null);
  });
  window.addEventListener("beforeunload", (event) => {
    if (isDirty()) event.preventDefault();
  });
  // A problem linked from the preview sheet opens here at its size, its layer selected:
  // /templates/<id>/editor/?layer=title&size=728x90&products=1
  const asked = new URLSearchParams(window.location.search);
  const askedSize = data.sizes.findIndex(([w, h]) => `${w}x${h}` === asked.get("size"));
  if (askedSize >= 0) state.size = [data.sizes[askedSize][0], data.sizes[askedSize][1]];
  if (asked.get("products")) state.products = +asked.get("products") || 1;
  if (asked.get("layer") && layerById(asked.get("layer"))) state.selected = asked.get("layer");
  fillToolbar();
  if (askedSize >= 0) $("size").value = askedSize;
  renderLayerList();
  renderProps();
  renderColours();
  showSpecJson(true);
  updateUndoButtons();
  updatePublish();
  requestRender();
})();
