// Live status: server-sent events, falling back to polling; a countdown to expiry; copy buttons;
// and, once the order is final, a redirect to the shop. The page works without this script.
(function () {
  'use strict';
  var body = document.body;
  var id = body.dataset.order;
  var statusBox = document.getElementById('status');
  var statusText = document.getElementById('status-text');
  var final = false;
  var lang = encodeURIComponent(document.documentElement.lang || 'en');

  function show(st) {
    var changed = body.dataset.status !== st.status;
    body.dataset.status = st.status;
    statusBox.className = 'status status-' + st.status;
    statusText.textContent = st.text;
    if (st.final && !final) {
      final = true;
      if (changed) { setTimeout(function () { location.reload(); }, 200); }
      if (st.redirect) { setTimeout(function () { location.href = st.redirect; }, 3000); }
    }
  }

  function poll() {
    if (final) { return; }
    fetch('/pay/' + id + '/status?lang=' + lang, { cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(show)
      .catch(function () {})
      .finally(function () { setTimeout(poll, 3000); });
  }

  if (window.EventSource) {
    var es = new EventSource('/pay/' + id + '/events?lang=' + lang);
    es.addEventListener('status', function (e) { show(JSON.parse(e.data)); if (final) { es.close(); } });
    es.onerror = function () { es.close(); if (!final) { setTimeout(poll, 1000); } };
  } else {
    poll();
  }
  if (body.dataset.status === 'completed' || body.dataset.status === 'expired') {
    final = true;
    if (body.dataset.redirect) { setTimeout(function () { location.href = body.dataset.redirect; }, 3000); }
  }

  var countdown = document.getElementById('countdown');
  if (countdown) {
    var expires = new Date(body.dataset.expires).getTime();
    var tick = function () {
      var left = Math.max(0, Math.floor((expires - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      countdown.textContent = left > 0 ? body.dataset.in.replace('%s', m + ':' + (s < 10 ? '0' : '') + s) : body.dataset.now;
      if (left > 0) { setTimeout(tick, 1000); }
    };
    tick();
  }

  Array.prototype.forEach.call(document.querySelectorAll('button.copy'), function (b) {
    b.addEventListener('click', function () {
      var value = document.getElementById(b.dataset.copy).textContent.trim();
      var done = function () { b.textContent = body.dataset.copied; setTimeout(function () { b.textContent = body.dataset.copy; }, 1500); };
      if (navigator.clipboard) { navigator.clipboard.writeText(value).then(done, function () {}); }
    });
  });
})();
