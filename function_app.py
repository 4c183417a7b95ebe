"""The certgate function app: registers one blueprint per resource, nothing else."""

import azure.functions as func

from functions import (
    api_test,
    apis,
    ca_certificates,
    certificates,
    expiry,
    gateway,
    health,
    named_values,
    openapi,
    portal,
)

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(certificates.bp)
app.register_functions(ca_certificates.bp)
app.register_functions(apis.bp)
app.register_functions(api_test.bp)
app.register_functions(named_values.bp)
app.register_functions(gateway.bp)
app.register_functions(health.bp)
app.register_functions(openapi.bp)
app.register_functions(portal.bp)
app.register_functions(expiry.bp)
