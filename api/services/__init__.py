"""What the service does, independent of HTTP: rules, lifecycles, conversions between the API's
schemas, the database rows and the matcher's format. Queries go through `api.repositories`."""
