// Keyplane: the helpers WebAuthn forms call (served at
// /.well-known/ory/webauthn.js), as Kratos' script. A trigger button's
// `onclick` hands them the server's options as JSON; they run the
// browser ceremony, put the answer (base64url, as the server reads it)
// into the hidden field and submit the field's form.
(function () {
  "use strict";
  if (typeof window === "undefined" || window.__oryWebAuthnInitialized) return;

  // base64url (or standard base64, as Kratos v0.10 sent) to bytes.
  function decode(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  // bytes to base64url without padding.
  function encode(buffer) {
    if (!buffer) return "";
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function supported() {
    if (window.PublicKeyCredential) return true;
    alert("This browser does not support WebAuthn!");
    return false;
  }

  function decodeIds(list) {
    (list || []).forEach(function (credential) {
      credential.id = decode(credential.id);
    });
  }

  function submit(resultSelector, triggerSelector, answer) {
    var result = document.querySelector(resultSelector);
    result.value = JSON.stringify(answer);
    var form = result.form || document.querySelector(triggerSelector).closest("form");
    // HTMLFormElement.prototype.submit: a field named "submit" cannot shadow it.
    HTMLFormElement.prototype.submit.call(form);
  }

  function login(options, resultSelector, triggerSelector) {
    if (!supported()) return;
    resultSelector = resultSelector || '*[name="webauthn_login"]';
    triggerSelector = triggerSelector || '*[name="webauthn_login_trigger"]';
    options.publicKey.challenge = decode(options.publicKey.challenge);
    decodeIds(options.publicKey.allowCredentials);
    navigator.credentials.get(options).then(function (credential) {
      submit(resultSelector, triggerSelector, {
        id: credential.id,
        rawId: encode(credential.rawId),
        type: credential.type,
        response: {
          authenticatorData: encode(credential.response.authenticatorData),
          clientDataJSON: encode(credential.response.clientDataJSON),
          signature: encode(credential.response.signature),
          userHandle: encode(credential.response.userHandle)
        }
      });
    }).catch(function (err) { alert(err); });
  }

  function registration(options, resultSelector, triggerSelector) {
    if (!supported()) return;
    resultSelector = resultSelector || '*[name="webauthn_register"]';
    triggerSelector = triggerSelector || '*[name="webauthn_register_trigger"]';
    options.publicKey.challenge = decode(options.publicKey.challenge);
    options.publicKey.user.id = decode(options.publicKey.user.id);
    decodeIds(options.publicKey.excludeCredentials);
    navigator.credentials.create(options).then(function (credential) {
      submit(resultSelector, triggerSelector, {
        id: credential.id,
        rawId: encode(credential.rawId),
        type: credential.type,
        response: {
          attestationObject: encode(credential.response.attestationObject),
          clientDataJSON: encode(credential.response.clientDataJSON)
        }
      });
    }).catch(function (err) { alert(err); });
  }

  window.__oryWebAuthnBufferDecode = decode;
  window.__oryWebAuthnBufferEncode = encode;
  window.__oryWebAuthnLogin = login;
  window.__oryWebAuthnRegistration = registration;
  window.__oryWebAuthnInitialized = true;
})();
