"""Analyse: read a run, compute every statistic and verdict input once."""
