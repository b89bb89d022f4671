"""Blueprints: each view only translates HTTP to crud calls and back."""
