/* Kefu live chat widget: <script src="https://desk.example/chat.js" async></script>
 * Vanilla, no dependencies, everything inside a shadow root so the shop's
 * CSS and ours never meet. Messages go up as POSTs to /chat/v1; one
 * Server-Sent Events stream (read with fetch, to send the visitor token
 * as a header) brings everything down, numbered, and resumes with
 * Last-Event-ID after a drop. See docs/chat.md. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window.__kefuChat) return;
  window.__kefuChat = true;
  var base = new URL(me.src, location.href).origin, api = base + "/chat/v1";
  var ds = me.dataset;

  var prefix = "kefu-chat:" + base + ":";
  function load(k) { try { return localStorage.getItem(prefix + k); } catch (e) { return null; } }
  function save(k, v) { try { v == null ? localStorage.removeItem(prefix + k) : localStorage.setItem(prefix + k, v); } catch (e) { /* private mode: this page only */ } }
  function pick(l) { return /^zh(?!.*(hant|tw|hk|mo))/i.test(l || "") ? "zh-CN" : "en"; }

  var lang = pick(load("lang") || ds.lang || document.documentElement.lang || navigator.language);
  var shopper = ds.customerId ? { id: ds.customerId, signature: ds.customerSignature || "", name: ds.customerName || "",
    email: ds.customerEmail || "", phone: ds.customerPhone || "" } : null;
  // A token belongs to whoever was signed in when it was made: a page for
  // someone else (or for nobody) starts afresh.
  if ((load("who") || "") !== (shopper ? shopper.id : "")) save("token", null);

  var S = {}, cfg = null, token = load("token"), conv = null, lastSeq = 0, shown = {}, agentRead = 0, myRead = 0;
  var files = [], ctl = null, backoff = 1000, typingAt = 0, typingTimer = 0, theirTyping = 0, started = false;

  // ---- the frame ----
  var host = document.createElement("div");
  host.id = "kefu-chat";
  var root = host.attachShadow({ mode: "open" });
  var css = ":host{all:initial}*{box-sizing:border-box;font:14px/1.45 system-ui,-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;color:#1f2328}" +
    ".bubble{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:#0b57d0;color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483646}" +
    ".bubble svg{width:28px;height:28px;fill:#fff}.bubble .dot{position:absolute;top:6px;right:6px;width:12px;height:12px;border-radius:50%;background:#d93025;border:2px solid #fff}" +
    ".panel{position:fixed;right:20px;bottom:88px;width:370px;height:min(600px,calc(100vh - 110px));display:flex;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden;z-index:2147483647}" +
    "[hidden]{display:none!important}header{display:flex;align-items:center;gap:8px;padding:12px 14px;background:#0b57d0}header h2{flex:1;margin:0;font-size:16px;font-weight:600;color:#fff}" +
    "header button{background:transparent;border:1px solid rgba(255,255,255,.5);color:#fff;border-radius:6px;padding:2px 8px;cursor:pointer}" +
    ".status{padding:8px 14px;background:#f1f5fe;font-size:13px}.status:empty{display:none}.log{flex:1;overflow-y:auto;margin:0;padding:12px 14px;list-style:none}" +
    ".log li{margin:6px 0;display:flex;flex-direction:column}.msg{max-width:82%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}" +
    ".visitor{align-items:flex-end}.visitor .msg{background:#0b57d0;color:#fff;border-bottom-right-radius:4px}.agent .msg{background:#eef0f3;border-bottom-left-radius:4px}" +
    ".who,.meta{font-size:11px;color:#5f6368;margin:0 4px 2px}.sys{align-items:center;font-size:12px;color:#5f6368;text-align:center}" +
    ".msg img{display:block;max-width:220px;max-height:220px;border-radius:8px;margin-top:4px}.msg a{color:inherit}" +
    ".typing{min-height:18px;margin:0;padding:0 14px;font-size:12px;color:#5f6368}form{padding:10px 14px;border-top:1px solid #e3e6ea}" +
    "label{display:block;font-size:12px;color:#444;margin:6px 0 2px}input,textarea{width:100%;padding:7px 9px;border:1px solid #c4c7cc;border-radius:8px;background:#fff}" +
    "textarea{resize:none}.row{display:flex;gap:8px;align-items:flex-end;margin-top:6px}.row textarea{flex:1}" +
    "button.send,button.start{background:#0b57d0;color:#fff;border:0;border-radius:8px;padding:8px 14px;cursor:pointer}button:disabled{opacity:.6;cursor:default}" +
    ".attach{border:1px solid #c4c7cc;background:#fff;border-radius:8px;padding:7px 10px;cursor:pointer}.files{display:flex;flex-wrap:wrap;gap:4px;margin:0;padding:0;list-style:none}" +
    ".files li{font-size:12px;background:#eef0f3;border-radius:6px;padding:2px 6px}.files button{border:0;background:none;cursor:pointer}" +
    ".err{color:#b3261e;font-size:12px;margin:4px 0 0}.hint{font-size:12px;color:#5f6368;margin:4px 0 0}footer{display:flex;gap:12px;padding:6px 14px 10px}" +
    "footer button{border:0;background:none;color:#0b57d0;cursor:pointer;padding:0;font-size:12px}" +
    "@media (max-width:480px){.panel{inset:0;width:auto;height:auto;border-radius:0}.bubble{right:14px;bottom:14px}}";
  root.innerHTML = "<style>" + css + "</style>" +
    "<button class=bubble type=button aria-expanded=false><svg viewBox='0 0 24 24' aria-hidden=true><path d='M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z'/></svg><span class=dot hidden></span></button>" +
    "<section class=panel role=dialog hidden><header><h2></h2><button type=button class=lang></button><button type=button class=x>×</button></header>" +
    "<div class=status role=status></div><ol class=log aria-live=polite></ol><p class=typing aria-live=polite></p>" +
    "<form class=pre hidden novalidate><p class=hint data-s=prechat_lead></p>" +
    "<label><span data-s=name></span><input name=name autocomplete=name maxlength=200></label>" +
    "<label><span data-s=email></span><input name=email type=email autocomplete=email maxlength=320></label>" +
    "<label class=phone-l><span data-s=phone></span><input name=phone type=tel autocomplete=tel maxlength=40></label>" +
    "<p class=hint data-s=contact_hint></p><label><span data-s=order></span><input name=order maxlength=100></label>" +
    "<label><span data-s=message></span><textarea name=text rows=3></textarea></label><p class=err role=alert></p>" +
    "<div class=row><button class=start type=submit data-s=start></button></div></form>" +
    "<form class=compose hidden novalidate><ul class=files></ul><p class=err role=alert></p><div class=row>" +
    "<input type=file name=files multiple hidden><button type=button class=attach><svg viewBox='0 0 24 24' width=18 height=18 aria-hidden=true><path fill=none stroke=currentColor stroke-width=2 stroke-linecap=round d='M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7'/></svg></button>" +
    "<textarea name=text rows=2></textarea><button class=send type=submit data-s=send></button></div></form>" +
    "<footer hidden><button type=button class=transcript data-s=transcript></button><button type=button class=end data-s=end></button></footer></section>";
  function $(sel) { return root.querySelector(sel); }
  function field(form, name) { return form.elements.namedItem(name); }
  var bubble = $(".bubble"), panel = $(".panel"), log = $(".log"), status = $(".status"), typingEl = $(".typing");
  var pre = $("form.pre"), compose = $("form.compose"), footer = $("footer"), fileInput = compose.querySelector("input[type=file]");

  // ---- talking to Kefu ----
  function call(method, path, body) {
    var h = { Accept: "application/json" }, opts = { method: method, headers: h, cache: "no-store" };
    if (token) h.Authorization = "Bearer " + token;
    if (body instanceof FormData) opts.body = body;
    else if (body !== undefined) { h["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(api + path + (path.indexOf("?") < 0 ? "?" : "&") + "lang=" + lang, opts).then(function (r) {
      if (r.status === 204 || r.status === 202) return null;
      return r.json().catch(function () { return {}; }).then(function (j) { if (!r.ok) { j.status = r.status; throw j; } return j; });
    });
  }
  function t(id, vars) {
    var s = S[id] || id;
    for (var k in vars) s = s.split("{" + k + "}").join(vars[k]);
    return s;
  }
  // problem+json to words the visitor can act on.
  function explain(p) {
    if (!p || !p.status) return S.err_generic;
    if (p.status === 429) return S.err_rate;
    if (p.status === 403 && /unable to continue/.test(p.detail || "")) return S.err_blocked;
    if (p.status === 413) return t("err_file", { mb: Math.round(cfg.limits.file_bytes / 1048576) });
    var f = (p.errors || [])[0];
    if (f && /name$/.test(f.location || "")) return S.err_required;
    if (f && /(email|phone)$/.test(f.location || "") && !(p.detail || "").match(/away|nobody/)) return S.err_contact;
    if (f && /files/.test(f.location || "")) return t("err_file", { mb: Math.round(cfg.limits.file_bytes / 1048576) });
    return (f && f.message) || p.detail || S.err_generic;
  }

  function labels() {
    root.querySelectorAll("[data-s]").forEach(function (el) { el.textContent = S[el.getAttribute("data-s")] || ""; });
    $("header h2").textContent = S.title;
    $(".lang").textContent = S.switch;
    $(".x").setAttribute("aria-label", S.close);
    $(".attach").setAttribute("aria-label", S.attach);
    $(".attach").title = S.attach;
    field(compose, "text").placeholder = S.placeholder;
    field(compose, "text").setAttribute("aria-label", S.message);
    bubble.setAttribute("aria-label", S.open);
    panel.setAttribute("aria-label", S.title);
  }
  function configure() {
    return call("GET", "/config").then(function (c) { cfg = c; S = c.strings; labels(); });
  }

  function when(iso) {
    var d = new Date(iso), o = { weekday: "long", hour: "2-digit", minute: "2-digit" };
    if (d - Date.now() > 6 * 864e5) { o.month = "short"; o.day = "numeric"; }
    return new Intl.DateTimeFormat(lang, o).format(d);
  }

  // ---- what the panel shows ----
  function view() {
    var has = !!conv;
    pre.hidden = has || !cfg.enabled;
    compose.hidden = !has;
    footer.hidden = !has;
    $(".end").hidden = !has || conv.state === "offline" || conv.state === "ended";
    if (!cfg.enabled) return note(S.disabled);
    if (!has) {
      var away = !cfg.available;
      pre.querySelector(".phone-l").hidden = away; // a reply by email needs an address
      note(away ? S.offline_title + " · " + (cfg.back_at ? t("offline_back", { when: when(cfg.back_at) }) : S.offline_nobody) + " " + S.offline_lead : S.greeting);
    } else if (conv.state === "offline") {
      note(conv.email ? t("offline_sent", { email: conv.email }) : S.offline_lead);
    } else if (conv.state === "active" && conv.agent) {
      note(t("active", { name: conv.agent }));
    } else if (conv.state === "ended") {
      note(S.ended);
    } else if (conv.state === "queued" && !conv.position) {
      note(S.wait_soon);
    }
  }
  function note(text) { status.textContent = text || ""; }

  function item(cls) {
    var li = document.createElement("li");
    li.className = cls;
    log.appendChild(li);
    return li;
  }
  function add(e) {
    if (shown[e.seq]) return;
    shown[e.seq] = true;
    lastSeq = Math.max(lastSeq, e.seq);
    if (e.kind === "message" && e.message) {
      var m = e.message, li = item(m.from);
      li.dataset.seq = e.seq;
      if (m.from === "agent") {
        var who = li.appendChild(document.createElement("span"));
        who.className = "who";
        who.textContent = m.name || S.agent;
        theirTyping = 0;
        typingEl.textContent = "";
      }
      var b = li.appendChild(document.createElement("div"));
      b.className = "msg";
      if (m.text) b.appendChild(document.createTextNode(m.text));
      (m.attachments || []).forEach(function (a) {
        var link = b.appendChild(document.createElement("a"));
        link.href = a.url;
        link.target = "_blank";
        link.rel = "noopener";
        if (/^image\//.test(a.content_type)) {
          var img = link.appendChild(document.createElement("img"));
          img.src = a.url;
          img.alt = a.filename;
          img.loading = "lazy";
        } else link.textContent = "📄 " + a.filename;
      });
      if (m.from === "visitor") {
        var meta = li.appendChild(document.createElement("span"));
        meta.className = "meta";
      }
      markRead();
    } else if (e.kind === "state") {
      var prev = conv.state;
      conv.state = e.state;
      if (e.state === "active") { conv.agent = e.agent_name; sys(t("active", { name: e.agent_name })); }
      else if (e.state === "queued" && prev === "active") sys(S.requeued);
      else if (e.state === "ended") sys(S.ended);
      view();
    } else if (e.kind === "read") {
      agentRead = Math.max(agentRead, e.read);
      readMarks();
    }
    log.scrollTop = log.scrollHeight;
    if (panel.hidden && e.message && e.message.from === "agent") bubble.querySelector(".dot").hidden = false;
  }
  function sys(text) { item("sys").textContent = text; }
  // "Read" under the visitor's newest message the agents have read.
  function readMarks() {
    var last = null;
    log.querySelectorAll("li.visitor").forEach(function (li) {
      li.querySelector(".meta").textContent = "";
      if (+li.dataset.seq <= agentRead) last = li;
    });
    if (last) last.querySelector(".meta").textContent = S.read;
  }
  function markRead() {
    if (panel.hidden || document.visibilityState !== "visible" || !conv) return;
    var newest = 0;
    log.querySelectorAll("li.agent").forEach(function (li) { newest = Math.max(newest, +li.dataset.seq); });
    if (newest > myRead) { myRead = newest; call("POST", "/read", { seq: lastSeq }).catch(function () {}); }
  }

  // ---- the stream ----
  function connect() {
    if (ctl || !token || !conv) return;
    var c = (ctl = new AbortController());
    fetch(api + "/stream?lang=" + lang, { headers: { Authorization: "Bearer " + token, "Last-Event-ID": String(lastSeq), Accept: "text/event-stream" },
      signal: c.signal, cache: "no-store" }).then(function (r) {
      if (!r.ok) throw r;
      backoff = 1000;
      if (status.textContent === S.reconnecting) view();
      var reader = r.body.getReader(), dec = new TextDecoder(), buf = "";
      function pump() {
        return reader.read().then(function (x) {
          if (x.done) throw new Error("stream closed");
          buf += dec.decode(x.value, { stream: true });
          for (var i; (i = buf.indexOf("\n\n")) >= 0; buf = buf.slice(i + 2)) dispatch(buf.slice(0, i));
          return pump();
        });
      }
      return pump();
    }).catch(function (r) {
      if (ctl === c) ctl = null;
      if (c.signal.aborted) return;
      if (r && r.status === 401) { token = null; save("token", null); return; }
      if (r && r.status >= 400 && r.status < 500 && r.status !== 429) return;
      note(S.reconnecting);
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    });
  }
  function dispatch(block) {
    var name = "message", data = [];
    block.split("\n").forEach(function (line) {
      var i = line.indexOf(":");
      if (i === 0) return;
      var f = i < 0 ? line : line.slice(0, i), v = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (f === "event") name = v;
      else if (f === "data") data.push(v);
    });
    if (!data.length) return;
    var d = JSON.parse(data.join("\n"));
    if (name === "chat") add(d);
    else if (name === "typing") {
      theirTyping = d.typing ? Date.now() : 0;
      typingEl.textContent = d.typing ? t("typing", { name: d.name || S.agent }) : "";
      if (d.typing) setTimeout(function () { if (Date.now() - theirTyping >= 10000) typingEl.textContent = ""; }, 10000);
    } else if (name === "queue" && conv && conv.state === "queued") {
      conv.position = d.position;
      note(t("queued", { n: d.position }) + " " + (d.wait_minutes ? t("wait", { m: d.wait_minutes }) : S.wait_soon));
    }
  }

  // ---- starting ----
  function session() {
    return call("POST", "/session", { token: token, shopper: shopper, lang: lang }).then(function (s) {
      token = s.token;
      save("token", token);
      save("who", shopper ? shopper.id : "");
      if (s.conversation) {
        conv = { state: s.conversation.state, agent: s.conversation.agent_name, email: s.visitor.email };
        agentRead = s.conversation.agent_read_seq;
        myRead = s.conversation.visitor_read_seq;
        s.events.forEach(add);
        lastSeq = Math.max(lastSeq, s.conversation.last_seq);
        readMarks();
        connect();
      }
      ["name", "email", "phone"].forEach(function (k) { if (s.visitor[k] && !field(pre, k).value) field(pre, k).value = s.visitor[k]; });
      if (shopper) ["name", "email", "phone"].forEach(function (k) { if (shopper[k] && !field(pre, k).value) field(pre, k).value = shopper[k]; });
    });
  }
  function start() {
    if (started) return Promise.resolve();
    started = true;
    return configure().then(function () { if (cfg.enabled) return session(); }).then(view)
      .catch(function (p) { started = false; note(explain(p)); });
  }

  function send(form, extra) {
    var text = field(form, "text").value.trim(), err = form.querySelector(".err");
    if (!text && !files.length) { err.textContent = S.err_required; return; }
    var body;
    if (files.length) {
      body = new FormData();
      body.append("text", text);
      body.append("page_url", location.href);
      if (extra) body.append("prechat", JSON.stringify(extra));
      files.forEach(function (f) { body.append("files", f, f.name); });
    } else body = { text: text, page_url: location.href, prechat: extra };
    var btn = form.querySelector("button[type=submit]");
    btn.disabled = true;
    err.textContent = "";
    return call("POST", "/messages", body).then(function (r) {
      field(form, "text").value = "";
      files = [];
      showFiles();
      var first = !conv;
      conv = conv || { email: extra && extra.email };
      conv.state = r.conversation.state;
      view();
      // The stream brings the message back, numbered; a new one replays
      // the conversation from its start.
      if (first) connect();
    }).catch(function (p) { err.textContent = explain(p); }).then(function () { btn.disabled = false; });
  }
  pre.addEventListener("submit", function (e) {
    e.preventDefault();
    var err = pre.querySelector(".err"), p = { name: field(pre, "name").value.trim(), email: field(pre, "email").value.trim(), phone: field(pre, "phone").value.trim(), order_number: field(pre, "order").value.trim() };
    if (!p.name) { err.textContent = S.err_required; field(pre, "name").focus(); return; }
    if (!p.email && !p.phone) { err.textContent = S.err_contact; field(pre, "email").focus(); return; }
    send(pre, p);
  });
  compose.addEventListener("submit", function (e) { e.preventDefault(); send(compose); });
  field(compose, "text").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(compose); }
  });
  field(compose, "text").addEventListener("input", function () {
    if (Date.now() - typingAt > 3000) { typingAt = Date.now(); call("POST", "/typing", { typing: true }).catch(function () {}); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingAt = 0; call("POST", "/typing", { typing: false }).catch(function () {}); }, 4000);
  });

  // ---- attachments ----
  $(".attach").addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    var err = compose.querySelector(".err");
    err.textContent = "";
    Array.prototype.forEach.call(fileInput.files, function (f) {
      if (cfg.limits.file_types.indexOf(f.type) < 0 || f.size > cfg.limits.file_bytes || files.length >= cfg.limits.files) {
        err.textContent = t("err_file", { mb: Math.round(cfg.limits.file_bytes / 1048576) });
      } else files.push(f);
    });
    fileInput.value = "";
    showFiles();
  });
  function showFiles() {
    var ul = compose.querySelector(".files");
    ul.textContent = "";
    files.forEach(function (f, i) {
      var li = ul.appendChild(document.createElement("li"));
      li.textContent = f.name + " ";
      var x = li.appendChild(document.createElement("button"));
      x.type = "button";
      x.textContent = "×";
      x.setAttribute("aria-label", S.remove + " " + f.name);
      x.addEventListener("click", function () { files.splice(i, 1); showFiles(); });
    });
  }

  // ---- the rest of the controls ----
  function toggle(open) {
    panel.hidden = !open;
    bubble.setAttribute("aria-expanded", String(open));
    if (open) {
      bubble.querySelector(".dot").hidden = true;
      start().then(function () { field(conv ? compose : pre, conv ? "text" : "name").focus(); markRead(); log.scrollTop = log.scrollHeight; });
    }
  }
  bubble.addEventListener("click", function () { toggle(panel.hidden); });
  $(".x").addEventListener("click", function () { toggle(false); bubble.focus(); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { toggle(false); bubble.focus(); } });
  $(".lang").addEventListener("click", function () {
    lang = lang === "en" ? "zh-CN" : "en";
    save("lang", lang);
    configure().then(view);
  });
  $(".transcript").addEventListener("click", function () {
    call("POST", "/transcript", {}).then(function () { note(S.transcript_sent); }, function (p) { note(explain(p)); });
  });
  $(".end").addEventListener("click", function () { call("POST", "/end", {}).catch(function (p) { note(explain(p)); }); });
  document.addEventListener("visibilitychange", markRead);

  function mount() {
    document.body.appendChild(host);
    // The labels come with the configuration; a returning visitor also
    // hears from the agents before opening the panel.
    if (token) start();
    else configure().catch(function () {});
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
