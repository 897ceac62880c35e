// Resolve the widget manager's modules and icon fonts beside this file, on this
// site, whatever the depth of the page (never from a CDN).
(function () {
  var here = document.currentScript.src.replace(/[^/]*$/, "");
  window.require.config({ baseUrl: here });
})();
