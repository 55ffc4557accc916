"""The API's request and response bodies (pydantic), one module per area.

These are not the ORM classes (`api.models`); the matching fields reuse the matcher's format
types (`matcher.model`) so that the API and the solver agree on what a location or a time is.
"""
