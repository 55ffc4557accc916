"""HTTP routes under /v1: thin functions that check who calls, hand over to a service and shape
the answer. One module per area."""
