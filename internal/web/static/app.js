// Kefu console behaviour: keyboard shortcuts (tinykeys), local times,
// keeping selections across live refreshes, typing notices and the
// @mention picker (Alpine). Everything else is htmx attributes in the
// server's markup.
(function () {
  "use strict";

  // htmx swaps refusals too: a 409 shows who changed the ticket, a 422
  // the field errors. Only 204 leaves the page alone.
  function configureHtmx() {
    if (!window.htmx) return;
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "...", swap: true, error: false },
    ];
    htmx.config.historyCacheSize = 0;
    // New content is wired up as it is inserted, not 20 ms later (htmx
    // waits that long by default, for transitions this page does not
    // use): a select changed in between sent nothing, so a status set
    // just as the panel refreshed was silently lost.
    htmx.config.defaultSettleDelay = 0;
  }

  function localTimes(root) {
    var lang = document.documentElement.lang || "en";
    (root || document).querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.title = d.toLocaleString(lang);
      var now = new Date();
      var opts = d.toDateString() === now.toDateString()
        ? { hour: "2-digit", minute: "2-digit" }
        : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
      el.textContent = d.toLocaleString(lang, opts);
    });
  }

  function typing(e) {
    var t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  // ---- queue lists: selection with j/k, kept across refreshes ----
  var current = null; // id of the highlighted row

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue-list [data-row]")); }

  function highlight(row, focus) {
    rows().forEach(function (r) { r.classList.remove("current"); r.removeAttribute("aria-current"); });
    if (!row) { current = null; return; }
    row.classList.add("current");
    row.setAttribute("aria-current", "true");
    current = row.dataset.id;
    if (focus) {
      var link = row.querySelector(".key a");
      if (link) link.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var rs = rows();
    if (!rs.length) return;
    var i = rs.findIndex(function (r) { return r.dataset.id === current; });
    i = i < 0 ? (step > 0 ? 0 : rs.length - 1) : Math.min(rs.length - 1, Math.max(0, i + step));
    highlight(rs[i], true);
  }

  function currentRow() {
    return rows().find(function (r) { return r.dataset.id === current; });
  }

  var kept = null;
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "queue-list") {
      kept = Array.prototype.map.call(document.querySelectorAll("#queue-list input[name=id]:checked"), function (c) { return c.value; });
    }
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    localTimes(e.detail.elt);
    if (kept && document.getElementById("queue-list")) {
      kept.forEach(function (id) {
        var c = document.querySelector('#queue-list input[name=id][value="' + CSS.escape(id) + '"]');
        if (c) c.checked = true;
      });
      kept = null;
      if (current) highlight(currentRow() || null, false);
    }
  });

  // Bulk shortcuts on a list act on the checked rows, or the highlighted one.
  function bulk(action, extra) {
    var form = document.getElementById("bulk");
    if (!form) return false;
    var checked = form.querySelectorAll("input[name=id]:checked");
    if (!checked.length) {
      var row = currentRow();
      if (!row) return false;
      row.querySelector("input[name=id]").checked = true;
    }
    form.querySelector("[name=action]").value = action;
    Object.keys(extra).forEach(function (k) { form.querySelector("[name=" + k + "]").value = extra[k]; });
    form.requestSubmit();
    return true;
  }

  function clickKey(k) {
    var b = document.querySelector('[data-key="' + k + '"]');
    if (!b || b.disabled) return false;
    // A key pressed the instant a panel was swapped in could beat htmx
    // to the new form, which would then submit the plain way.
    if (b.form && window.htmx && !b.form["htmx-internal-data"]) htmx.process(b.form);
    b.click();
    return true;
  }

  function compose(kind) {
    var form = document.getElementById("composer");
    if (!form) return;
    var radio = form.querySelector('input[name=kind][value="' + kind + '"]');
    if (radio) radio.click();
    var text = form.querySelector("textarea");
    text.focus();
    text.scrollIntoView({ block: "center" });
  }

  function shortcuts() {
    var d = document.getElementById("shortcuts");
    if (d && !d.open) d.showModal();
  }

  function bindKeys() {
    if (!window.tinykeys) return;
    var guard = function (fn) {
      return function (e) {
        if (typing(e) || e.defaultPrevented) return;
        if (fn(e) !== false) e.preventDefault();
      };
    };
    tinykeys.tinykeys(window, {
      j: guard(function () { move(1); }),
      k: guard(function () { move(-1); }),
      x: guard(function () {
        var r = currentRow();
        if (!r) return false;
        var c = r.querySelector("input[name=id]");
        c.checked = !c.checked;
      }),
      Enter: guard(function () {
        var r = currentRow();
        if (!r || document.activeElement.tagName === "A") return false;
        location.href = r.dataset.href;
      }),
      r: guard(function () { compose("reply"); }),
      n: guard(function () { compose("note"); }),
      c: guard(function () { return openCanned(); }),
      // Alt+C also works while typing in the reply, where c is just a letter.
      "Alt+KeyC": function (e) { if (openCanned() !== false) e.preventDefault(); },
      a: guard(function () { return clickKey("a") || bulk("assign", { assignee: "me" }); }),
      s: guard(function () { return clickKey("s") || bulk("status", { status: "solved" }); }),
      "/": guard(function () { var q = document.getElementById("q"); q.focus(); q.select(); }),
      "Shift+?": guard(shortcuts),
      "?": guard(shortcuts),
      Escape: function (e) { if (typing(e)) e.target.blur(); },
    });
  }

  // ---- typing notice: tells colleagues "X is replying" ----
  var lastActivity = 0;
  document.addEventListener("input", function (e) {
    var form = e.target.closest && e.target.closest("#composer");
    if (!form || e.target.tagName !== "TEXTAREA") return;
    var now = Date.now();
    if (now - lastActivity < 8000) return;
    lastActivity = now;
    fetch(form.dataset.activity, { method: "POST", credentials: "same-origin" }).catch(function () {});
  });

  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("[data-select-all]")) {
      document.querySelectorAll("#queue-list input[name=id]").forEach(function (c) { c.checked = e.target.checked; });
    }
  });

  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-shortcuts]")) shortcuts();
    var row = e.target.closest && e.target.closest("#queue-list [data-row]");
    if (row) highlight(row, false);
  });

  // ---- canned replies: a dialog listing replies rendered for this
  // ticket by the server; the chosen text goes in at the reply's cursor. ----
  var cannedAt = null; // the textarea's selection when the picker opened

  function openCanned() {
    var d = document.getElementById("canned-picker"), ta = document.getElementById("composer-text");
    if (!d || !ta) return false;
    cannedAt = [ta.selectionStart, ta.selectionEnd];
    var filter = document.getElementById("canned-filter"), box = document.getElementById("canned-options");
    filter.value = "";
    if (!box.dataset.loaded) {
      fetch(d.dataset.src, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        box.innerHTML = html;
        box.dataset.loaded = "1";
        filterCanned();
      });
    } else {
      filterCanned();
    }
    d.showModal();
    filter.focus();
  }

  function cannedOptions() {
    return Array.prototype.filter.call(document.querySelectorAll("#canned-list [role=option]"), function (o) { return !o.hidden; });
  }

  function activateCanned(o) {
    document.querySelectorAll("#canned-list [role=option]").forEach(function (x) { x.setAttribute("aria-selected", x === o ? "true" : "false"); });
    var filter = document.getElementById("canned-filter");
    if (o) { filter.setAttribute("aria-activedescendant", o.id); o.scrollIntoView({ block: "nearest" }); }
    else filter.removeAttribute("aria-activedescendant");
  }

  function filterCanned() {
    var q = document.getElementById("canned-filter").value.toLowerCase().trim();
    document.querySelectorAll("#canned-list [role=option]").forEach(function (o) { o.hidden = q !== "" && o.dataset.search.indexOf(q) < 0; });
    activateCanned(cannedOptions()[0]);
  }

  function insertCanned(o) {
    var ta = document.getElementById("composer-text"), d = document.getElementById("canned-picker");
    var at = cannedAt || [ta.value.length, ta.value.length], text = o.dataset.text;
    ta.value = ta.value.slice(0, at[0]) + text + ta.value.slice(at[1]);
    d.close();
    ta.focus();
    ta.setSelectionRange(at[0] + text.length, at[0] + text.length);
    ta.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("input", function (e) { if (e.target.id === "canned-filter") filterCanned(); });
  document.addEventListener("keydown", function (e) {
    if (e.target.id !== "canned-filter") return;
    var opts = cannedOptions(), cur = document.querySelector("#canned-list [aria-selected=true]"), i = opts.indexOf(cur);
    if (e.key === "ArrowDown" && opts.length) { activateCanned(opts[(i + 1) % opts.length]); e.preventDefault(); }
    else if (e.key === "ArrowUp" && opts.length) { activateCanned(opts[(i + opts.length - 1) % opts.length]); e.preventDefault(); }
    else if (e.key === "Enter") { if (cur && !cur.hidden) insertCanned(cur); e.preventDefault(); }
  });
  document.addEventListener("click", function (e) {
    if (!e.target.closest) return;
    if (e.target.closest("[data-canned]")) { openCanned(); return; }
    var o = e.target.closest("#canned-list [role=option]");
    if (o) insertCanned(o);
  });

  // ---- @mentions in the composer (Alpine component "mentions") ----
  document.addEventListener("alpine:init", function () {
    Alpine.data("mentions", function () {
      return {
        open: false, matches: [], active: 0, start: -1,
        names: function () {
          var host = this.$el.closest("[data-staff]");
          try { return JSON.parse(host ? host.dataset.staff : "[]"); } catch (_) { return []; }
        },
        onInput: function () {
          var ta = this.$refs.text, upto = ta.value.slice(0, ta.selectionStart);
          var m = /(^|\s)@([^\s@]{0,20})$/.exec(upto);
          if (!m) { this.open = false; return; }
          var q = m[2].toLowerCase();
          this.start = upto.length - m[2].length - 1;
          this.matches = this.names().filter(function (n) { return n.toLowerCase().indexOf(q) >= 0; }).slice(0, 6);
          this.active = 0;
          this.open = this.matches.length > 0;
        },
        onKey: function (e) {
          if (!this.open) return;
          if (e.key === "ArrowDown") { this.active = (this.active + 1) % this.matches.length; e.preventDefault(); }
          else if (e.key === "ArrowUp") { this.active = (this.active + this.matches.length - 1) % this.matches.length; e.preventDefault(); }
          else if (e.key === "Enter" || e.key === "Tab") { this.pick(this.matches[this.active]); e.preventDefault(); }
          else if (e.key === "Escape") { this.open = false; e.stopPropagation(); }
        },
        pick: function (name) {
          var ta = this.$refs.text, end = ta.selectionStart;
          ta.value = ta.value.slice(0, this.start) + "@" + name + " " + ta.value.slice(end);
          var pos = this.start + name.length + 2;
          ta.setSelectionRange(pos, pos);
          ta.focus();
          this.open = false;
        },
      };
    });
  });

  // On a phone the views are one scrolling row: keep the current one in sight.
  function showActiveView() {
    if (!window.matchMedia("(max-width: 720px)").matches) return;
    var a = document.querySelector(".views a.active");
    if (a) a.scrollIntoView({ inline: "center", block: "nearest" });
  }
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail.elt && e.detail.elt.id === "views") showActiveView();
  });

  // ---- live chat: a chat ticket's messages arrive appended by the
  // stream (numbered; a reconnect replays what was missed), the agents'
  // reading is reported, and a new chat or a customer's message in one
  // of yours rings and shows in the title. ----
  document.addEventListener("htmx:sseBeforeMessage", function (e) {
    if (!e.target.matches || !e.target.matches("[data-chat-append]")) return;
    var m = /id="([^"]+)"/.exec(e.detail.data || "");
    // Already on the page (the thread was re-read since): keep one.
    if (m && document.getElementById(m[1])) e.preventDefault();
  });
  var sseOpened = false;
  document.addEventListener("htmx:sseOpen", function () {
    // After a reconnect the page re-reads what it shows; a chat's stream
    // has already replayed its missed messages by number.
    if (sseOpened) htmx.trigger(document.body, "ticket-changed");
    sseOpened = true;
  });
  var chatRead = 0, unread = 0, typingTimer = 0;
  // readChat reports the agents have read the chat up to seq (0: what the
  // chat bar says arrived), once the page is in sight.
  function readChat(seq) {
    var bar = document.querySelector(".chat-bar[data-read-url]");
    if (!bar) return;
    if (!seq && +bar.dataset.visitorSeq > +bar.dataset.readSeq) seq = +bar.dataset.lastSeq;
    unread = Math.max(unread, seq || 0);
    if (document.visibilityState !== "visible" || unread <= chatRead) return;
    chatRead = unread;
    var body = new URLSearchParams({ seq: String(unread) });
    fetch(bar.dataset.readUrl, { method: "POST", credentials: "same-origin", body: body }).catch(function () {});
  }
  document.addEventListener("visibilitychange", function () { readChat(0); });
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail.elt && e.detail.elt.id === "chat-bar") readChat(0);
  });
  var beepCtx = null;
  function ring() {
    try {
      beepCtx = beepCtx || new (window.AudioContext || window.webkitAudioContext)();
      var o = beepCtx.createOscillator(), g = beepCtx.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.15, beepCtx.currentTime);
      g.gain.exponentialRampToValueAtTime(0.001, beepCtx.currentTime + 0.4);
      o.connect(g).connect(beepCtx.destination);
      o.start();
      o.stop(beepCtx.currentTime + 0.4);
    } catch (err) { /* no sound: the title still says it */ }
    if (!/^\(\d+\) /.test(document.title)) document.title = "(1) " + document.title;
  }
  document.addEventListener("focus", function () { document.title = document.title.replace(/^\(\d+\) /, ""); }, true);
  var waiting = -1;
  document.addEventListener("htmx:afterSettle", function (e) {
    var a = e.detail.elt && e.detail.elt.id === "chat-side" && e.detail.elt.querySelector("[data-chat-waiting]");
    if (!a) return;
    var n = +a.dataset.chatWaiting;
    if (waiting >= 0 && n > waiting) ring();
    waiting = n;
  });
  document.addEventListener("htmx:sseMessage", function (e) {
    var ev = e.detail || {};
    if (ev.type === "chat") {
      if (/class="msg customer"/.test(ev.data || "")) {
        readChat(+ev.lastEventId);
        var typing = document.getElementById("chat-typing");
        if (typing) typing.textContent = ""; // what they typed has arrived
      }
    } else if (ev.type === "chat-typing") {
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { var t = document.getElementById("chat-typing"); if (t) t.textContent = ""; }, 10000);
    } else if (ev.type === "chats" && /^message:/.test(ev.data || "")) {
      var mine = document.querySelector('#chat-side [data-chat-ticket="' + ev.data.slice(8) + '"]');
      var here = document.querySelector('.chat-panel') && document.querySelector('.ticket[data-ticket]');
      if (mine && !(here && mine.getAttribute("href") === "/t/" + here.dataset.ticket)) ring();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    showActiveView();
    configureHtmx();
    localTimes(document);
    bindKeys();
  });
})();
