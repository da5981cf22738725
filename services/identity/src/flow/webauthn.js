// Keyplane: the helpers WebAuthn forms call (served at
// /.well-known/ory/webauthn.js). The flow's `onclick` node hands them the
// server's options as JSON; they run the browser ceremony and put the
// answer, base64url-encoded, into the form field the server reads.
(function () {
  "use strict";

  function toBuffer(value) {
    var padded = value.replace(/-/g, "+").replace(/_/g, "/");
    while (padded.length % 4) padded += "=";
    var binary = atob(padded);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64Url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function unsupported() {
    if (!window.PublicKeyCredential) {
      alert("This browser does not support security keys (WebAuthn).");
      return true;
    }
    return false;
  }

  function submitWith(fieldName, value) {
    var inputs = document.querySelectorAll('*[name="' + fieldName + '"]');
    if (!inputs.length) return;
    var input = inputs[0];
    input.value = value;
    if (input.form) input.form.submit();
  }

  window.__oryWebAuthnLogin = function (options) {
    if (unsupported()) return;
    options.publicKey.challenge = toBuffer(options.publicKey.challenge);
    (options.publicKey.allowCredentials || []).forEach(function (credential) {
      credential.id = toBuffer(credential.id);
    });
    navigator.credentials.get(options).then(function (credential) {
      submitWith("webauthn_login", JSON.stringify({
        id: credential.id,
        rawId: toBase64Url(credential.rawId),
        type: credential.type,
        response: {
          authenticatorData: toBase64Url(credential.response.authenticatorData),
          clientDataJSON: toBase64Url(credential.response.clientDataJSON),
          signature: toBase64Url(credential.response.signature),
          userHandle: credential.response.userHandle ? toBase64Url(credential.response.userHandle) : null
        }
      }));
    }).catch(function (err) { alert(err); });
  };

  window.__oryWebAuthnRegistration = function (options) {
    if (unsupported()) return;
    options.publicKey.challenge = toBuffer(options.publicKey.challenge);
    options.publicKey.user.id = toBuffer(options.publicKey.user.id);
    (options.publicKey.excludeCredentials || []).forEach(function (credential) {
      credential.id = toBuffer(credential.id);
    });
    navigator.credentials.create(options).then(function (credential) {
      submitWith("webauthn_register", JSON.stringify({
        id: credential.id,
        rawId: toBase64Url(credential.rawId),
        type: credential.type,
        response: {
          attestationObject: toBase64Url(credential.response.attestationObject),
          clientDataJSON: toBase64Url(credential.response.clientDataJSON)
        }
      }));
    }).catch(function (err) { alert(err); });
  };
})();
