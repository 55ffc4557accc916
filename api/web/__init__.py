"""The web console: server-rendered pages (Jinja2 + htmx) for centers, universities, planners
and admins, in Simplified Chinese first and English by choice, served by the API's app.

Where things live: `templates/` (pages, one folder per area, `base.html` the layout,
`macros.html` the form fields and pagers), `static/` (the console's CSS and JavaScript;
`vendor/` holds htmx, Leaflet and Leaflet.markercluster from npm, see `make vendor-static`),
`locale/` (gettext catalogs, `make messages`), `i18n.py` (languages, dates), `templating.py`
(rendering), `security.py` (sessions, CSRF, who may see a page), `forms.py` (form errors beside
their fields), `routes/` (one module per area). `install(app)` wires it all into the app.
"""
