"""certgate's domain: certificates, APIs, storage and the gateway. Never imports azure.functions."""
