// Draws the reports page's charts with Chart.js (its UMD build, loaded before
// this module, defines window.Chart). Every chart's numbers are also in the
// table under it, so the page stays readable without scripts or a screen.
import { readJson } from "/static/shared/dom.js";

const specs = readJson("charts");
// Colour-blind-safe pairs (Okabe–Ito), one per series.
const PALETTE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00"];

function draw(canvas, spec) {
  const many = spec.series.length > 1;
  return new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: spec.labels,
      datasets: spec.series.map((series, index) => ({
        label: series.name,
        data: series.values,
        backgroundColor: PALETTE[index % PALETTE.length],
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: many, position: "bottom" } },
      scales: {
        x: { stacked: spec.stacked, title: { display: true, text: spec.axis } },
        y: { stacked: spec.stacked, beginAtZero: true, ticks: { precision: 0 } },
      },
    },
  });
}

if (typeof window.Chart === "function") {
  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    const spec = specs[canvas.dataset.chart];
    if (spec) {
      draw(canvas, spec);
      canvas.dataset.drawn = "true";
    }
  }
  document.body.dataset.charts = "drawn";
}
