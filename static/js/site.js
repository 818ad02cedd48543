/* What a visitor's hands and ears need around htmx's in-place updates (front/htmx.py).
 *
 * 1. No scroll jump: the control that asked for the update (a quant in the ladder, a
 *    context preset, a select) stays where it was on the screen. Before the swap we note
 *    the nearest element with an id around it and its position; after the swap we find
 *    the element with that id in the new content and scroll by the difference.
 *    (Chromium's scroll anchoring would otherwise pin the old, removed content and jump
 *    by the height of the region: site.css turns it off for swapped regions.)
 * 2. Focus stays in the updated result: htmx gives focus back to the element with the
 *    same id; when there is none, the updated region itself takes focus (tabindex=-1),
 *    without scrolling. Focus is never taken from a control still on the page (typing
 *    in the search box goes on).
 * 3. The change is announced: the region's data-announce sentence goes to the page's one
 *    polite live region (#announcer, outside every swapped region).
 * 4. A model page's form (#controls) sits outside the swapped result, so an answer does
 *    not resend it. A link that sets one option (a context preset, a quant in the
 *    ladder: data-set on the link or around it, the value in data-value or the link's
 *    text) writes it into the form and submits the form, so
 *    the request carries every other choice too (the build). After each swap the form
 *    is set to the options the answer was computed for (the result's data-state), as
 *    values and as default values, so htmx's history snapshots hold them. Without
 *    JavaScript the links are plain links and every page is whole.
 * 5. Back and forward bring the page back from the server (base.html's body says
 *    hx-history="false": htmx keeps no snapshot of the whole page in sessionStorage,
 *    which cost every update a copy and a serialisation of the page, and the page that
 *    comes back shows today's prices), and keep the reader's place: before each new
 *    history entry, the place in the page being left is noted (the focused element with
 *    an id and its position on the screen, else the scroll position); when that page
 *    comes back, it is scrolled to that place.
 */
(function () {
  "use strict";

  var pending = null;

  function withId(element) {
    for (var e = element; e && e !== document.body; e = e.parentElement) {
      if (e.id) return e;
    }
    return null;
  }

  function inside(region, element) {
    return Boolean(region && element && region.contains(element));
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.id) return;
    var active = document.activeElement;
    // A lazy region filling in below keeps the reader's own place (the focused control,
    // else the scroll position), not the placeholder's, whose height it changes.
    var lazy = target.classList.contains("lazy");
    var source = inside(target, active) || lazy ? active : event.detail.requestConfig && event.detail.requestConfig.elt;
    var anchor = withId(source || target);
    pending = {
      region: target.id,
      anchor: anchor ? anchor.id : null,
      top: anchor ? anchor.getBoundingClientRect().top : 0,
      scrollY: window.scrollY,
      hadFocus: inside(target, active),
    };
  });

  document.addEventListener("htmx:afterSwap", function () {
    var state = pending;
    pending = null;  // afterSwap fires once per new element: act on the first
    if (!state) return;
    var anchor = state.anchor && document.getElementById(state.anchor);
    if (anchor) {
      window.scrollBy(0, anchor.getBoundingClientRect().top - state.top);
    } else {
      window.scrollTo(window.scrollX, state.scrollY);
    }
    var active = document.activeElement;
    if (state.hadFocus && (!active || active === document.body)) {
      var region = document.getElementById(state.region);
      if (region) region.focus({ preventScroll: true });
    }
  });

  var announcer = null;
  var timer = null;

  function announce(text) {
    announcer = announcer || document.getElementById("announcer");
    if (!announcer || !text) return;
    // Empty first, then fill: the same sentence twice in a row is still read.
    announcer.textContent = "";
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { announcer.textContent = text; }, 100);
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var element = event.detail.elt || event.target;
    if (element && element.dataset && element.dataset.announce !== undefined) {
      announce(element.dataset.announce);
    }
  });

  function setControl(form, name, value) {
    var field = form.elements.namedItem(name);
    if (!field || !field.tagName) return;  // absent, or several controls of one name
    if (field.tagName === "SELECT") {
      for (var i = 0; i < field.options.length; i++) {
        field.options[i].defaultSelected = field.options[i].value === value;
      }
      field.value = value;
      return;
    }
    field.defaultValue = value;
    if (field !== document.activeElement) field.value = value;  // never under the cursor
  }

  function syncControls(region) {
    var form = document.getElementById("controls");
    if (!form || !region || region.id !== "result" || !region.dataset.state) return;
    var state = JSON.parse(region.dataset.state);
    Object.keys(state).forEach(function (name) { setControl(form, name, state[name]); });
    form.querySelectorAll("a[data-set]").forEach(function (link) {
      if (state[link.dataset.set] === link.dataset.value) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    syncControls(event.detail.target && document.getElementById(event.detail.target.id));
  });

  // A preset's own link (opened in a new tab) follows the page's address.
  document.addEventListener("htmx:pushedIntoHistory", function () {
    var form = document.getElementById("controls");
    if (!form) return;
    form.querySelectorAll("a[data-set]").forEach(function (link) {
      var url = new URL(window.location.href);
      url.searchParams.set(link.dataset.set, link.dataset.value);
      link.setAttribute("href", url.pathname + url.search);
    });
  });

  // A visitor who asked for every build keeps seeing every build after later changes.
  var everyBuild = false;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "builds-more") everyBuild = true;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var more = document.getElementById("builds-more");
    if (everyBuild && more && event.detail.target && event.detail.target.id === "result") {
      htmx.trigger(more, "click");
    }
  });

  var PLACES = "llmram-places";
  var PLACES_KEPT = 50;

  function places() {
    try {
      return JSON.parse(window.sessionStorage.getItem(PLACES)) || {};
    } catch (error) {
      return {};  // storage off or full: the browser's own scroll restoration stands
    }
  }

  function here() {
    return window.location.pathname + window.location.search;
  }

  var shown = here();  // the address of the state on the screen

  function notePlace(path) {
    var anchor = withId(document.activeElement);
    var saved = places();
    delete saved[path];  // re-added last: the oldest go first
    saved[path] = anchor
      ? { id: anchor.id, top: anchor.getBoundingClientRect().top }
      : { y: window.scrollY };
    var paths = Object.keys(saved);
    paths.slice(0, Math.max(0, paths.length - PLACES_KEPT)).forEach(function (path) {
      delete saved[path];
    });
    try {
      window.sessionStorage.setItem(PLACES, JSON.stringify(saved));
    } catch (error) { /* storage off or full */ }
  }

  // The place in the page being left: before htmx pushes a new state's URL, and on back
  // and forward (this listener runs before htmx's, while the old page is still shown).
  document.addEventListener("htmx:beforeHistoryUpdate", function () { notePlace(shown); });
  document.addEventListener("htmx:pushedIntoHistory", function () { shown = here(); });
  window.addEventListener("popstate", function () {
    notePlace(shown);
    shown = here();
  });

  document.addEventListener("htmx:historyRestore", function (event) {
    var place = places()[event.detail.path];
    if (!place) return;
    var anchor = place.id && document.getElementById(place.id);
    if (anchor) window.scrollBy(0, anchor.getBoundingClientRect().top - place.top);
    else if (place.y !== undefined) window.scrollTo(window.scrollX, place.y);
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a") : null;
    var setter = link && link.closest("[data-set]");
    var form = document.getElementById("controls");
    if (!setter || !form || event.button !== 0) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    link.focus({ preventScroll: true });
    setControl(form, setter.dataset.set, link.dataset.value || link.textContent.trim());
    if (form.requestSubmit) form.requestSubmit();
    else htmx.trigger(form, "submit");
  });
})();
