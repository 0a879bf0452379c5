// The file check on /verify/<code> in the browser: the chosen or dropped PDF is hashed with SubtleCrypto
// (SHA-256) and compared with the issued extract's; the file never leaves the computer. Where SubtleCrypto is
// missing (plain http on another host, old browsers) nothing changes: the form uploads to the server instead.
(function () {
  "use strict";
  var form = document.getElementById("verify-file");
  if (!form || !window.crypto || !window.crypto.subtle || !window.FileReader || !window.Promise) return;
  var input = document.getElementById("field-pdf");
  var zone = form.querySelector(".drop-zone");
  var result = document.getElementById("file-result");
  var expected = form.getAttribute("data-sha256");
  var valid = form.getAttribute("data-valid") === "true";
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;

  function say(text, verdict, match) {
    result.textContent = "";
    var p = document.createElement("p");
    p.className = "verify-verdict" + (verdict ? " " + verdict : "");
    if (match !== undefined) p.setAttribute("data-match", match ? "true" : "false");
    p.textContent = text;
    result.appendChild(p);
  }

  function words(name, values) {
    var text = form.getAttribute("data-text-" + name) || "";
    Object.keys(values || {}).forEach(function (key) { text = text.split("{" + key + "}").join(values[key]); });
    return text;
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function read(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsArrayBuffer(file);
    });
  }

  function check(file) {
    if (!file) return;
    if (maxBytes && file.size > maxBytes) { say(words("too-large"), "invalid", false); return; }
    say(words("working"), "");
    read(file).then(function (data) { return window.crypto.subtle.digest("SHA-256", data); }).then(function (digest) {
      var actual = hex(digest);
      if (actual === expected) say(words(valid ? "match" : "match-withdrawn", { name: file.name }), valid ? "valid" : "invalid", true);
      else say(words("mismatch", { name: file.name, sha256: actual }), "invalid", false);
    }, function () {
      form.submit(); // the browser could not read or hash it: let the server compare
    });
  }

  input.addEventListener("change", function () { check(input.files && input.files[0]); });
  form.addEventListener("submit", function (event) {
    if (input.files && input.files[0]) { event.preventDefault(); check(input.files[0]); }
  });
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) { event.preventDefault(); zone.classList.add("dragging"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = event.dataTransfer && event.dataTransfer.files;
    if (files && files[0]) check(files[0]);
  });
})();
