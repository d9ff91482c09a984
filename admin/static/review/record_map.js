/* The record page's map: check-in with its accuracy circle, registered home, photo GPS points.
   Points arrive already converted to the tiles' coordinate system by the server. */
(function () {
  "use strict";
  var element = document.getElementById("review-map");
  if (!element || typeof L === "undefined") { return; }
  var config = JSON.parse(element.getAttribute("data-map"));
  if (!config.points.length) {
    element.textContent = element.getAttribute("data-empty");
    element.style.height = "auto";
    return;
  }
  var map = L.map(element);
  L.tileLayer(config.tileUrl, { subdomains: config.subdomains, attribution: config.attribution, maxZoom: 19 }).addTo(map);
  var colours = { checkin: "#1f6feb", home: "#2da44e", photo: "#fb8500" };
  var bounds = [];
  config.points.forEach(function (point) {
    var colour = colours[point.kind] || "#555";
    var latlng = [point.lat, point.lon];
    L.circleMarker(latlng, { radius: 7, color: colour, fillColor: colour, fillOpacity: 0.9 })
      .bindTooltip(point.label).addTo(map);
    if (point.radius_m) {
      L.circle(latlng, { radius: point.radius_m, color: colour, weight: 1, fillOpacity: 0.1 }).addTo(map);
    }
    bounds.push(latlng);
  });
  map.fitBounds(bounds, { padding: [30, 30], maxZoom: 17 });
})();
