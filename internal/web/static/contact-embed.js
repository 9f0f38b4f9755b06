// Kefu contact form for a shop's own pages. Paste where the form goes:
//
//   <div data-kefu-contact></div>
//   <script src="https://help.example.com/contact/embed.js" async></script>
//
// The form is Kefu's page in a frame, so it is posted to Kefu from Kefu's
// own origin and needs nothing from the shop's site: no cookies, no other
// script, no CDN. Optional attributes on the div: data-lang ("en" or
// "zh-CN"; default the page's language), data-name, data-email,
// data-phone, data-order (prefill, e.g. for a signed-in shopper on an
// order page), data-category (a category key) and data-title (the frame's
// accessible name).
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src, location.href).origin;
  var frames = [];

  function mount(el) {
    if (el.getAttribute("data-kefu-mounted")) return;
    el.setAttribute("data-kefu-mounted", "1");
    var q = new URLSearchParams();
    var lang = el.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "";
    q.set("lang", /^zh/i.test(lang) ? "zh-CN" : "en");
    [["name", "name"], ["email", "email"], ["phone", "phone"], ["order", "order_number"], ["category", "category"]].forEach(function (p) {
      var v = el.getAttribute("data-" + p[0]);
      if (v) q.set(p[1], v);
    });
    var f = document.createElement("iframe");
    f.src = origin + "/contact/embed?" + q.toString();
    f.title = el.getAttribute("data-title") || (q.get("lang") === "zh-CN" ? "联系我们" : "Contact form");
    f.style.cssText = "display:block;width:100%;border:0;min-height:560px;";
    f.setAttribute("loading", "lazy");
    el.appendChild(f);
    frames.push(f);
  }

  window.addEventListener("message", function (e) {
    if (e.origin !== origin || !e.data || e.data.kefu !== "contact-height") return;
    frames.forEach(function (f) {
      if (f.contentWindow !== e.source) return;
      f.style.minHeight = "0";
      f.style.height = Math.ceil(+e.data.height || 0) + 16 + "px";
    });
  });

  function mountAll() {
    var els = document.querySelectorAll("[data-kefu-contact]");
    if (!els.length) {
      // No placeholder: the form goes where the script is.
      var div = document.createElement("div");
      div.setAttribute("data-kefu-contact", "");
      script.parentNode.insertBefore(div, script.nextSibling);
      els = [div];
    }
    Array.prototype.forEach.call(els, mount);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll); else mountAll();
})();
