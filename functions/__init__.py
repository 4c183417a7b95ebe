"""Thin HTTP adapters: one blueprint per resource. Parse, call a service, render."""
