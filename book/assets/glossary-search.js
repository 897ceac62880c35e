// A filter box over the glossary table: type English, 中文 or a word of a definition.
// Runs on every page but acts only where the page holds <div id="glossary-search">.
document.addEventListener("DOMContentLoaded", () => {
  const anchor = document.getElementById("glossary-search");
  if (!anchor) return;
  let table = anchor.nextElementSibling;
  while (table && !table.querySelector("tbody")) table = table.nextElementSibling;
  if (!table) return;
  const rows = Array.from(table.querySelectorAll("tbody tr"));
  const input = document.createElement("input");
  input.type = "search";
  input.id = "glossary-filter";
  input.placeholder = "Filter the glossary · 筛选术语 (English, 中文, definition)";
  input.setAttribute("aria-label", "Filter the glossary");
  const count = document.createElement("span");
  count.id = "glossary-count";
  const show = () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows) {
      const text = row.textContent.toLowerCase();
      const match = words.every((w) => text.includes(w));
      row.style.display = match ? "" : "none";
      shown += match ? 1 : 0;
    }
    count.textContent = ` ${shown} of ${rows.length} terms`;
  };
  input.addEventListener("input", show);
  anchor.append(input, count);
  show();
});
