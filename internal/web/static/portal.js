// Kefu's customer pages. Everything works without this script; it adds
// the browser's time zone to sign-in forms (so promised times are shown in
// the customer's own zone), a check of photos before a long upload, a
// guard against sending a form twice, and, inside a shop's page, the
// form's height for the frame around it.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser: the shop's zone is used */ }
    document.querySelectorAll('input[name="tz"]').forEach(function (el) { el.value = zone; });

    document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });

    document.querySelectorAll('input[type="file"][data-max-files]').forEach(function (input) {
      var out = input.parentNode.querySelector("[data-photo-error]");
      var maxFiles = +input.getAttribute("data-max-files"), maxBytes = +input.getAttribute("data-max-bytes");
      var lang = document.documentElement.lang;
      input.addEventListener("change", function () {
        var problems = [];
        if (input.files.length > maxFiles) {
          problems.push(lang === "zh-CN" ? "最多只能上传 " + maxFiles + " 张照片。" : "You can add at most " + maxFiles + " photos.");
        }
        Array.prototype.forEach.call(input.files, function (f) {
          if (f.size > maxBytes) {
            problems.push(f.name + (lang === "zh-CN" ? "：照片太大（每张不超过 " : ": too large (at most ") + Math.round(maxBytes / 1048576) + " MB" + (lang === "zh-CN" ? "）。" : ")."));
          }
        });
        input.setCustomValidity(problems.join(" "));
        input.setAttribute("aria-invalid", problems.length ? "true" : "false");
        if (out) { out.textContent = problems.join(" "); out.hidden = !problems.length; }
        resize();
      });
    });

    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        var bad = form.querySelector('input[type="file"]:invalid');
        if (bad) { e.preventDefault(); bad.focus(); return; }
        if (form.dataset.sent) { e.preventDefault(); return; }
        form.dataset.sent = "1";
        form.querySelectorAll('button[type="submit"]').forEach(function (b) { b.disabled = true; });
      });
    });

    var first = document.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
    resize();
  });

  // Inside a shop's page the form tells the frame its height; the
  // message carries nothing but that number, so any page may hear it.
  function resize() {
    if (window.parent === window) return;
    // The body's own height: the document's would never shrink below
    // the frame's current height.
    window.parent.postMessage({ kefu: "contact-height", height: Math.ceil(document.body.getBoundingClientRect().height) }, "*");
  }
  window.addEventListener("load", resize);
  window.addEventListener("resize", resize);
  if (window.ResizeObserver) {
    ready(function () { new ResizeObserver(resize).observe(document.body); });
  }
})();
