"""No rule names this file: it counts as other."""

VALUE = 1
