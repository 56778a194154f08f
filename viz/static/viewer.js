// graphgrad backprop viewer: plays the forward pass and the backward sweep on the
// drawing, fills the side panel, folds clusters, unfolds boxes, pans, zooms, finds.
// Everything it shows of the graph comes from the JSON in #gg-data and is set with
// textContent: names and values are never parsed as markup.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("gg-data").textContent);
  const svg = document.getElementById("gg-svg");
  const view = document.getElementById("gg-view");
  const canvas = document.getElementById("gg-canvas");
  const panel = document.getElementById("gg-panel");
  const slider = document.getElementById("gg-slider");
  const last = data.steps.length - 1;
  let step = 0;
  let timer = null;

  // -- playback ---------------------------------------------------------------------
  function shown(at, s) { return at !== null && at !== undefined && at <= s; }

  function render() {
    svg.querySelectorAll("[data-tensor]").forEach(function (group) {
      const at = data.tensors[Number(group.dataset.tensor)].at;
      group.querySelectorAll(".gg-value").forEach(function (t) {
        t.classList.toggle("gg-hidden", !shown(at[0], step));
      });
      group.querySelectorAll(".gg-grad").forEach(function (t) {
        t.classList.toggle("gg-hidden", !shown(at[1], step));
      });
    });
    svg.querySelectorAll(".gg-current").forEach(function (g) { g.classList.remove("gg-current"); });
    const current = data.steps[step].at;
    if (current) {
      shownAs(current).classList.add("gg-current");
      follow(shownAs(current));
    }
    slider.value = String(step);
    document.getElementById("gg-step").textContent =
      "step " + step + "/" + last + " · " + data.steps[step].text;
  }

  // What shows the element ``id``: itself, or the collapsed cluster that hides it.
  function shownAs(id) {
    const collapsed = Object.keys(data.clusters).find(function (c) {
      return document.getElementById(c).classList.contains("gg-collapsed") &&
        data.clusters[c].members.includes(id);
    });
    return document.getElementById(collapsed || id);
  }

  function go(s) {
    step = Math.max(0, Math.min(last, s));
    render();
  }

  function play() {
    const button = document.getElementById("gg-play");
    if (timer !== null) {
      clearInterval(timer);
      timer = null;
      button.textContent = "▶ play";
      return;
    }
    if (step === last) go(0);
    button.textContent = "⏸ pause";
    timer = setInterval(function () {
      if (step >= last) { play(); return; }
      go(step + 1);
    }, 700);
  }

  // -- the side panel -----------------------------------------------------------------
  function element(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (className) e.className = className;
    return e;
  }

  // One tensor as a card: symbol, name, shape and dtype; its value; its gradient.
  function tensorCard(symbol, index) {
    const t = data.tensors[index];
    const card = element("div", null, "gg-tensor");
    const head = element("div", null, "gg-tensor-head");
    if (symbol) head.appendChild(element("span", symbol, "gg-math gg-symbol"));
    head.appendChild(element("strong", t.name || "(unnamed)"));
    head.appendChild(element("span", "  " + t.shape + " · " + t.dtype, "gg-muted"));
    card.appendChild(head);
    [["value", t.value, ""], ["gradient", t.grad, " gg-grad-text"]].forEach(function (row) {
      if (row[1] === null) return;
      const line = element("div", null, "gg-tensor-row");
      line.appendChild(element("span", row[0], "gg-muted"));
      line.appendChild(element("pre", row[1], "gg-array" + row[2]));
      card.appendChild(line);
    });
    return card;
  }

  function tensorCards(rows) {
    const list = element("div");
    rows.forEach(function (row) { list.appendChild(tensorCard(row[0], row[1])); });
    return list;
  }

  function showNode(id) {
    const node = data.nodes[id];
    panel.replaceChildren();
    svg.querySelectorAll(".gg-selected").forEach(function (g) { g.classList.remove("gg-selected"); });
    document.getElementById(id).classList.add("gg-selected");
    if (node.box !== undefined) { showBox(id, node); return; }
    panel.appendChild(element("h2", node.op + "  (" + node.kind + ")"));
    if (node.scope) panel.appendChild(element("p", "scope: " + node.scope));
    panel.appendChild(element("h3", "forward"));
    panel.appendChild(element("p", node.forward, "gg-math"));
    panel.appendChild(element("h3", "inputs"));
    panel.appendChild(tensorCards(node.inputs));
    panel.appendChild(element("h3", "output"));
    panel.appendChild(tensorCards([node.output]));
    panel.appendChild(element("h3", "chain rule, this node's step"));
    if (node.prose) panel.appendChild(element("p", node.prose));
    node.lines.forEach(function (line) { panel.appendChild(element("p", line, "gg-math")); });
  }

  function showBox(id, box) {
    panel.appendChild(element("h2", box.box));
    panel.appendChild(element("p", box.count));
    if (box.ops.length) {
      panel.appendChild(element("h3", "operations inside"));
      panel.appendChild(element("p", box.ops.map(function (o) {
        return o[1].toLocaleString("en") + " " + o[0];
      }).join(",  "), "gg-math"));
    }
    const drawing = document.querySelector('.gg-unfold[data-box="' + id + '"]');
    if (drawing) {
      const button = element("button", "unfold");
      button.addEventListener("click", function () { unfold(drawing); });
      panel.appendChild(button);
    } else {
      panel.appendChild(element("p", "Too many boxes to draw each: viz.draw(..., fold=False) draws every operation."));
    }
  }

  function showTensor(index) {
    panel.replaceChildren();
    panel.appendChild(element("h2", data.tensors[index].name || "tensor"));
    panel.appendChild(tensorCard("", index));
  }

  // -- unfolding a box, collapsing a cluster ----------------------------------------
  function unfold(drawing) {
    const body = document.getElementById("gg-unfold-body");
    body.replaceChildren(drawing.cloneNode(true));
    body.firstChild.hidden = false;
    document.getElementById("gg-unfolded").hidden = false;
  }

  function toggleCluster(group) {
    const cluster = data.clusters[group.id];
    const collapse = !group.classList.contains("gg-collapsed");
    group.classList.toggle("gg-collapsed", collapse);
    cluster.members.forEach(function (id) {
      const member = document.getElementById(id);
      if (member) member.classList.toggle("gg-gone", collapse);
    });
    const old = group.querySelector(".gg-fold-count");
    if (old) old.remove();
    if (collapse) {
      const box = group.getBBox();
      const text = document.createElementNS("http://www.w3.org/2000/svg", "text");
      text.setAttribute("x", String(box.x + box.width / 2));
      text.setAttribute("y", String(box.y + box.height / 2 + 10));
      text.setAttribute("text-anchor", "middle");
      text.setAttribute("class", "gg-fold-count");
      text.textContent = cluster.ops + (cluster.ops === 1 ? " op" : " ops") + " folded";
      group.appendChild(text);
      fitInside(text, box);
    }
    render();
  }

  // Shrink ``text`` until it fits inside ``box`` (a folded cluster's outline), so that
  // it covers none of the values on the edges around it.
  function fitInside(text, box) {
    const width = text.getBBox().width, room = box.width - 8;
    const size = parseFloat(getComputedStyle(text).fontSize);
    if (width > room) text.style.fontSize = (size * room / width) + "px";
  }

  // -- pan and zoom -----------------------------------------------------------------
  let scale = 1, x = 0, y = 0;
  function place() { canvas.style.transform = "translate(" + x + "px," + y + "px) scale(" + scale + ")"; }

  // The whole drawing in the window (at most 1.6 times its size); ``readable``: at
  // least half size, starting from its left end when it is too wide for that.
  function fit(readable) {
    const w = svg.width.baseVal.value, h = svg.height.baseVal.value;
    scale = Math.min(view.clientWidth / w, view.clientHeight / h, 1.6);
    if (readable === true && scale < 0.5) scale = 1;
    x = Math.max(10, (view.clientWidth - w * scale) / 2);
    y = (view.clientHeight - h * scale) / 2;
    place();
  }

  // Bring ``target`` into the window when it is outside.
  function follow(target) {
    const box = target.getBoundingClientRect(), frame = view.getBoundingClientRect();
    if (box.left < frame.left || box.right > frame.right ||
        box.top < frame.top || box.bottom > frame.bottom) centerOn(target);
  }

  function centerOn(target) {
    const box = target.getBoundingClientRect();
    const frame = view.getBoundingClientRect();
    x += frame.left + frame.width / 2 - (box.left + box.width / 2);
    y += frame.top + frame.height / 2 - (box.top + box.height / 2);
    place();
  }

  view.addEventListener("wheel", function (event) {
    event.preventDefault();
    const frame = view.getBoundingClientRect();
    const px = event.clientX - frame.left, py = event.clientY - frame.top;
    const factor = Math.exp(-event.deltaY * 0.0015);
    x = px - (px - x) * factor;
    y = py - (py - y) * factor;
    scale *= factor;
    place();
  }, { passive: false });

  let drag = null;
  view.addEventListener("mousedown", function (event) {
    drag = { x: event.clientX - x, y: event.clientY - y, moved: false };
    view.classList.add("gg-dragging");
  });
  window.addEventListener("mousemove", function (event) {
    if (drag === null) return;
    const nx = event.clientX - drag.x, ny = event.clientY - drag.y;
    drag.moved = drag.moved || Math.abs(nx - x) + Math.abs(ny - y) > 3;  // not a click
    x = nx;
    y = ny;
    place();
  });
  window.addEventListener("mouseup", function () {
    view.classList.remove("gg-dragging");
    setTimeout(function () { drag = null; }, 0);
  });

  // -- finding a tensor by name -------------------------------------------------------
  function find(query) {
    svg.querySelectorAll(".gg-found").forEach(function (g) { g.classList.remove("gg-found"); });
    const q = query.trim().toLowerCase();
    const found = document.getElementById("gg-found");
    if (!q) { found.textContent = ""; return; }
    const hits = [];
    data.tensors.forEach(function (t, i) {
      if (t.name.toLowerCase().includes(q)) hits.push(i);
    });
    hits.sort(function (a, b) {  // exact names first
      return (data.tensors[b].name.toLowerCase() === q) - (data.tensors[a].name.toLowerCase() === q);
    });
    const wanted = new Set(hits);
    const groups = [];
    svg.querySelectorAll("[data-tensor]").forEach(function (g) {
      if (wanted.has(Number(g.dataset.tensor))) groups.push(g);
    });
    svg.querySelectorAll("g.node").forEach(function (g) {
      const text = g.querySelector("text");
      if (text && text.textContent.toLowerCase().includes(q) && !g.dataset.op) groups.push(g);
    });
    groups.forEach(function (g) { g.classList.add("gg-found"); });
    found.textContent = hits.length + (hits.length === 1 ? " tensor" : " tensors");
    const first = groups.find(function (g) { return Number(g.dataset.tensor) === hits[0]; });
    if (first || groups.length) centerOn(first || groups[0]);
    if (hits.length) showTensor(hits[0]);
  }

  // -- wiring -------------------------------------------------------------------------
  svg.addEventListener("click", function (event) {
    if (drag !== null && drag.moved) return;
    const clusterLabel = event.target.closest("g.cluster > text");
    if (clusterLabel && data.clusters[clusterLabel.parentNode.id]) {
      toggleCluster(clusterLabel.parentNode);
      return;
    }
    const node = event.target.closest("g.node");
    if (node && data.nodes[node.id]) showNode(node.id);
    else if (node && node.dataset.tensor) showTensor(Number(node.dataset.tensor));
  });
  document.getElementById("gg-home").addEventListener("click", function () { go(0); });
  document.getElementById("gg-back").addEventListener("click", function () { go(step - 1); });
  document.getElementById("gg-next").addEventListener("click", function () { go(step + 1); });
  document.getElementById("gg-end").addEventListener("click", function () { go(last); });
  document.getElementById("gg-play").addEventListener("click", play);
  document.getElementById("gg-fit").addEventListener("click", function () { fit(false); });
  document.getElementById("gg-fold").addEventListener("click", function () {
    document.getElementById("gg-unfolded").hidden = true;
  });
  slider.max = String(last);
  slider.addEventListener("input", function () { go(Number(slider.value)); });
  document.getElementById("gg-find").addEventListener("input", function (event) {
    find(event.target.value);
  });
  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT" && event.target.type !== "range") return;
    if (event.target.tagName === "BUTTON" && event.key === " ") return;  // the button's own
    const keys = {
      ArrowRight: function () { go(step + 1); }, ArrowLeft: function () { go(step - 1); },
      Home: function () { go(0); }, End: function () { go(last); }, " ": play,
    };
    if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
  });
  document.getElementById("gg-note").textContent = data.note;
  fit(true);
  render();
})();
