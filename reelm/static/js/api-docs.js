// Starts Swagger UI on the API's docs page (reelm/web/docs.py). A file rather than an inline script, so the
// page's Content-Security-Policy allows it; a classic script, because the bundle defines a global.
/* global SwaggerUIBundle */

const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  deepLinking: true,
  // The public validator is another host: offline it fails, and the CSP forbids it anyway.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  showExtensions: true,
  showCommonExtensions: true,
});
