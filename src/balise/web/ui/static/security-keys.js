// Security keys (WebAuthn): the forms #add-key and #key-sign-in carry the server's options in
// data-options; this asks the browser's authenticator and posts its answer in the hidden
// "credential" field. The server checks everything; nothing here is trusted.
(function () {
  "use strict";

  function b64urlToBytes(value) {
    var text = atob(value.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((value.length + 3) % 4));
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes.buffer;
  }

  function bytesToB64url(buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) { return Object.assign({}, d, {id: b64urlToBytes(d.id)}); });
  }

  function creationOptions(o) {
    return Object.assign({}, o, {challenge: b64urlToBytes(o.challenge),
      user: Object.assign({}, o.user, {id: b64urlToBytes(o.user.id)}),
      excludeCredentials: descriptors(o.excludeCredentials)});
  }

  function requestOptions(o) {
    return Object.assign({}, o, {challenge: b64urlToBytes(o.challenge), allowCredentials: descriptors(o.allowCredentials)});
  }

  function asJSON(credential) {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    var r = credential.response, response = {clientDataJSON: bytesToB64url(r.clientDataJSON)};
    if (r.attestationObject) {
      response.attestationObject = bytesToB64url(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = bytesToB64url(r.authenticatorData);
      response.signature = bytesToB64url(r.signature);
      if (r.userHandle) response.userHandle = bytesToB64url(r.userHandle);
    }
    return {id: credential.id, rawId: bytesToB64url(credential.rawId), type: credential.type, response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined};
  }

  function wire(form, ask) {
    var words = document.getElementById("webauthn-messages");
    var status = form.querySelector(".webauthn-status");
    var say = function (key) { if (status && words) status.textContent = words.getAttribute("data-" + key); };
    form.addEventListener("submit", function (event) {
      var field = form.querySelector("input[name=credential]");
      if (field.value) return; // the answer is in: let the form go
      event.preventDefault();
      if (!window.PublicKeyCredential || !navigator.credentials) { say("unsupported"); return; }
      if (typeof form.reportValidity === "function" && !form.reportValidity()) return;
      say("waiting");
      ask(JSON.parse(form.getAttribute("data-options"))).then(function (credential) {
        field.value = JSON.stringify(asJSON(credential));
        form.submit();
      }, function () { say("failed"); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var add = document.getElementById("add-key");
    if (add) wire(add, function (o) { return navigator.credentials.create({publicKey: creationOptions(o)}); });
    var signIn = document.getElementById("key-sign-in");
    if (signIn) wire(signIn, function (o) { return navigator.credentials.get({publicKey: requestOptions(o)}); });
  });
})();
