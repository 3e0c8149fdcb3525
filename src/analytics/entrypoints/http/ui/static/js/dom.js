// Building DOM nodes without HTML parsing: every value goes in as a text node or an attribute,
// so text from the API can never become markup or script.

const SVG_NS = "http://www.w3.org/2000/svg";

function assign(node, attributes) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") {
      node.textContent = String(value);
    } else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

function appendAll(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: `el("td", {class: "num"}, "42")`. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  assign(node, attributes);
  appendAll(node, children);
  return node;
}

/** An SVG element, same calling convention as `el`. */
export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  assign(node, attributes);
  appendAll(node, children);
  return node;
}

export function byId(id) {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`missing element #${id}`);
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

export function showMessage(node, text) {
  node.textContent = text ?? "";
  node.hidden = !text;
}
