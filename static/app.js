// Small behaviours htmx does not cover. No inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";
  // A request that never reached the server (network down) would otherwise fail silently.
  document.addEventListener("htmx:sendError", function () {
    var messages = document.getElementById("messages");
    if (!messages) return;
    var p = document.createElement("p");
    p.className = "flash flash-error";
    p.setAttribute("role", "alert");
    p.textContent = document.documentElement.lang === "ja"
      ? "サーバーに接続できませんでした。ネットワークを確認して、もう一度お試しください。"
      : "The server could not be reached. Check the network and try again.";
    messages.replaceChildren(p);
  });

  // Keyboard use of click-to-edit sections and rows. A request made from inside the record it
  // replaces (Edit, Save, Cancel) moves the focus into the new content: an opened form's first
  // field in error, else its first field; a saved or cancelled record's Edit link. Otherwise the
  // focus was lost with the replaced element and a keyboard user started again at the top.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    var editable = target && target.id && target.contains(event.detail.elt)
      && target.querySelector("a[hx-get$='/edit'], a[data-cancel]");
    if (editable) event.detail.xhr.refocusId = target.id;  // per request: answers may overlap
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var id = event.detail.xhr && event.detail.xhr.refocusId;
    var record = id && document.getElementById(id);
    if (!record || record.contains(document.activeElement)) return;  // never steal a focus already inside
    var next = record.querySelector("[aria-invalid='true']")
      || record.querySelector("input:not([type='hidden']), select, textarea")
      || record.querySelector("a[hx-get$='/edit']");
    if (next) next.focus();
  });
  // A bulk action asks first when it archives (data-confirm-archive holds the question), as the
  // Archive button of a single record does through hx-confirm.
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.target;
    var question = form.dataset && form.dataset.confirmArchive;
    if (!question || !form.elements.action || form.elements.action.value !== "archive") return;
    event.preventDefault();
    if (window.confirm(question)) event.detail.issueRequest(true);
  });
  // A Print button (data-print) prints the page: the CSP allows no inline onclick.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
  // Escape in an open inline form cancels it, as its Cancel link does.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented || !event.target.closest) return;
    var selectors = ["form", "tr", "section"];
    for (var i = 0; i < selectors.length; i++) {
      var region = event.target.closest(selectors[i]);
      var cancel = region && region.querySelector("a[data-cancel]");
      if (cancel) {
        event.preventDefault();
        htmx.process(cancel);  // a form swapped in a moment ago may not have its htmx handlers yet
        cancel.click();
        return;
      }
    }
  });
  // A work queue's item acted on from the keyboard: when it leaves the list, the focus goes to the
  // next item's first button (else the previous item's, else the queue's heading), so the user goes
  // on where they were; when it comes back refused (an error on it), to its own first button.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var item = event.detail.target;
    if (!item || !item.classList || !item.classList.contains("queue-item") || !item.id
        || !item.contains(document.activeElement)) return;
    var neighbour = item.nextElementSibling || item.previousElementSibling;
    var section = item.closest("section");
    var fallback = (neighbour && neighbour.querySelector("button")) || (section && section.querySelector("h2, h3"));
    var id = item.id;
    // After the swap (the removed item's own events no longer reach the document).
    setTimeout(function () {
      var again = document.getElementById(id);
      var next = again ? again.querySelector("button") : fallback;
      if (!next || !next.isConnected || (again && again.contains(document.activeElement))) return;
      if (!next.matches("button")) next.setAttribute("tabindex", "-1");
      next.focus();
    }, 0);
  });
  // Feedback without reload: a save answered for htmx names its message in the HX-Trigger header
  // (crm.htmx.notify); it is shown in the toast region, which screen readers announce (aria-live).
  document.body.addEventListener("crm:notice", function (event) {
    var region = document.getElementById("toasts");
    if (!region || !event.detail || !event.detail.message) return;
    var toast = document.createElement("p");
    toast.className = "toast";
    toast.textContent = event.detail.message;
    region.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 6000);
  });

  // Wide tables scroll inside their own wrapper, so the page itself never grows wider than the
  // screen (reflow down to 390 px). The wrapper is focusable and named after the table's caption or
  // heading, so a keyboard user can scroll it and a screen reader says what it holds.
  function wrapTables(root) {
    var tables = root.querySelectorAll ? root.querySelectorAll("table") : [];
    if (root.tagName === "TABLE") tables = [root];
    Array.prototype.forEach.call(tables, function (table) {
      if (!table.isConnected || table.parentElement.classList.contains("table-wrap")) return;
      var wrap = document.createElement("div");
      wrap.className = "table-wrap";
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      var name = tableName(table);
      // A section already named by the same heading: the table is then named as that section's table.
      var section = table.closest("[aria-labelledby], [aria-label]");
      var sectionName = section && (section.getAttribute("aria-label")
        || (document.getElementById(section.getAttribute("aria-labelledby")) || {}).textContent || "").trim();
      if (sectionName === name) name += document.documentElement.lang === "ja" ? "（表）" : " (table)";
      wrap.setAttribute("aria-label", name);
      table.parentNode.insertBefore(wrap, table);
      wrap.appendChild(table);
    });
  }
  function tableName(table) {
    if (table.caption) return table.caption.textContent.trim();
    for (var node = table; node && node !== document.body; node = node.parentElement) {
      for (var sibling = node.previousElementSibling; sibling; sibling = sibling.previousElementSibling) {
        if (/^H[1-6]$/.test(sibling.tagName)) return sibling.textContent.trim();
        var heading = sibling.querySelector && sibling.querySelector("h1, h2, h3, h4, h5, h6, legend");
        if (heading) return heading.textContent.trim();
      }
      if (node.tagName === "FIELDSET" && node.querySelector("legend")) return node.querySelector("legend").textContent.trim();
    }
    return document.title;
  }
  // The navigation folds behind a Menu button on narrow screens (CSS decides when it is folded).
  var menu = document.querySelector(".menu-toggle");
  if (menu) {
    menu.hidden = false;
    menu.addEventListener("click", function () {
      menu.setAttribute("aria-expanded", String(menu.getAttribute("aria-expanded") !== "true"));
    });
  }

  wrapTables(document);
  // Content htmx swaps in is wrapped as it is inserted, before the browser draws it (htmx:load comes
  // only after settling, when a wide table would already have widened the page for a moment).
  new MutationObserver(function (mutations) {
    mutations.forEach(function (mutation) {
      Array.prototype.forEach.call(mutation.addedNodes, function (node) {
        if (node.nodeType === 1) wrapTables(node);
      });
    });
  }).observe(document.body, {childList: true, subtree: true});

  // Print buttons (data-print): the CSP forbids an inline onclick.
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });

  // Print buttons (templates/_print_button.html): hidden without scripts, where the browser's own Print remains.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
