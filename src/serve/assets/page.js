// What the page adds when JavaScript runs; everything works without it (plain forms and
// links). No inline script anywhere: the CSP allows this file only.
"use strict";
(function () {
  // A filter above the agents: typing narrows the list by login or name.
  const filter = document.getElementById("agent-filter");
  const agent = document.getElementById("agent");
  if (filter && agent) {
    filter.hidden = false;
    const all = Array.from(agent.options);
    filter.addEventListener("input", function () {
      const q = filter.value.trim().toLowerCase();
      for (const o of all) {
        o.hidden = q !== "" && !o.textContent.toLowerCase().includes(q);
      }
      const first = all.find((o) => !o.hidden);
      if (first && agent.selectedOptions[0] && agent.selectedOptions[0].hidden) {
        agent.value = first.value;
      }
    });
  }
  // A click on a timeline block opens `explain` for the instant under the pointer (kept
  // inside that block, so a narrow block explains its own row). Enter on a focused block
  // still goes to its row in the table, as the report's hint says; the form above the report
  // explains any instant without a pointer.
  const report = document.querySelector(".aa-report[data-day-start]");
  const line = report && report.querySelector(".tl[data-day-ms]");
  if (report && line) {
    const start = Number(report.dataset.dayStart);
    const len = Number(line.dataset.dayMs);
    report.addEventListener("click", function (e) {
      const block = e.target.closest("a.b");
      if (!block || e.detail === 0 || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) {
        return;
      }
      const left = parseFloat(block.style.left);
      const width = parseFloat(block.style.width);
      const track = block.parentElement.getBoundingClientRect();
      if (!(len > 0) || !(track.width > 0) || isNaN(left) || isNaN(width)) return;
      const from = start + (left / 100) * len;
      const to = start + ((left + width) / 100) * len;
      const margin = Math.min((to - from) / 4, 1000);
      const pointer = start + ((e.clientX - track.left) / track.width) * len;
      const at = Math.min(Math.max(pointer, from + margin), to - margin);
      e.preventDefault();
      const q = new URLSearchParams({
        agent: report.dataset.agent,
        timezone: report.dataset.timezone,
        date: report.dataset.date,
        at: new Date(Math.round(at)).toISOString(),
      });
      window.location.assign("/explain?" + q.toString());
    });
  }
  // Alt+Left / Alt+Right: the day before, the day after.
  document.addEventListener("keydown", function (e) {
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    const link = document.querySelector('a.aa-day[data-key="' + e.key + '"]');
    if (link) {
      e.preventDefault();
      window.location.assign(link.href);
    }
  });
})();
