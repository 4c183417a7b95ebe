"""The local host: serves the FunctionApp's registered functions over HTTP, as `func start`
would, on a real multi-threaded WSGI server. Not deployed (see .funcignore)."""
