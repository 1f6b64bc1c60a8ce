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
