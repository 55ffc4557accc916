// The console's own script: htmx settings, the plan map (Leaflet + markercluster), and the
// place of a volunteer's work on their page.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  if (window.htmx) {
    // Form errors come back as 422 pages: swap them like successes so they show beside fields.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      { code: "[45]..", swap: false, error: true },
    ];
  }
  // Content loaded now or later (htmx swaps) may hold a map to draw.
  if (window.htmx) {
    htmx.onLoad(function (element) {
      if (element.matches && element.matches("[data-plan-map]")) drawPlanMap(element);
      if (element.querySelectorAll) element.querySelectorAll("[data-plan-map]").forEach(drawPlanMap);
    });
  } else {
    document.querySelectorAll("[data-plan-map]").forEach(drawPlanMap);
  }
});

// Forms that undo something ask first (the question is in the page's language).
document.addEventListener("submit", function (event) {
  var question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
}, true);

// Requests (red) and assigned volunteers' approximate home areas (blue), clustered; a line
// from each volunteer to each request they serve when the plan is small enough to read.
function drawPlanMap(element) {
  if (element.dataset.drawn || !window.L) return;
  element.dataset.drawn = "1";
  fetch(element.dataset.planMap, { credentials: "same-origin" })
    .then(function (answer) { return answer.json(); })
    .then(function (data) {
      var map = L.map(element, { preferCanvas: true, maxZoom: 18 });  // clustering needs a maxZoom, tiles or not
      if (element.dataset.tiles) {
        L.tileLayer(element.dataset.tiles, {
          maxZoom: 18, attribution: element.dataset.attribution || "",
        }).addTo(map);
      }
      var requests = L.markerClusterGroup({ maxClusterRadius: 40 });
      var volunteers = L.markerClusterGroup({ maxClusterRadius: 40 });
      var bounds = [];
      data.requests.forEach(function (r) {
        var marker = L.circleMarker([r.lat, r.lon], {
          radius: 7, color: "#8e1b18", weight: 1, fillColor: r.unfilled ? "#f0a39f" : "#d0312d", fillOpacity: 0.9,
        });
        marker.bindPopup(r.label);
        requests.addLayer(marker);
        bounds.push([r.lat, r.lon]);
      });
      data.volunteers.forEach(function (v) {
        var marker = L.circleMarker([v.lat, v.lon], {
          radius: 5, color: "#0d3c80", weight: 1, fillColor: "#1b5fbf", fillOpacity: 0.85,
        });
        marker.bindPopup(v.label);
        volunteers.addLayer(marker);
        bounds.push([v.lat, v.lon]);
      });
      if (data.lines) {
        data.lines.forEach(function (l) {
          L.polyline(l, { color: "#1b5fbf", weight: 1, opacity: 0.35 }).addTo(map);
        });
      }
      map.addLayer(volunteers);
      map.addLayer(requests);
      if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20] }); } else { map.setView([34.26, 108.94], 11); }
      element.dataset.points = String(bounds.length);  // drawn (tests wait for it)
    });
}

// A volunteer's page: the place of the work on a small map (only where tiles are configured).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-place-map]").forEach(drawPlaceMap);
});

function drawPlaceMap(element) {
  if (element.dataset.drawn || !window.L) return;
  element.dataset.drawn = "1";
  var at = [Number(element.dataset.lat), Number(element.dataset.lon)];
  var map = L.map(element, { maxZoom: 18, scrollWheelZoom: false });
  L.tileLayer(element.dataset.tiles, { maxZoom: 18, attribution: element.dataset.attribution || "" }).addTo(map);
  L.circleMarker(at, { radius: 10, color: "#8e1b18", weight: 2, fillColor: "#d0312d", fillOpacity: 0.9 }).addTo(map);
  map.setView(at, 16);
}
