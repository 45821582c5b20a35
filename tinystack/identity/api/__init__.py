"""Identity v3 HTTP API: one module per resource; handlers authorize, validate, call, render."""
