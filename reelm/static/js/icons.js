// Icons come from the SVG sprite every page carries (templates/base.html, from reelm/web/icons.py).

const SVG = "http://www.w3.org/2000/svg";

/** An inline SVG icon, hidden from assistive technology (the button around it carries the label). */
export function icon(name, className = "icon") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", className);
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS(SVG, "use");
  use.setAttribute("href", `#i-${name}`);
  svg.append(use);
  return svg;
}
