"""Logs in, better models out: datasets, training and evaluation of the assistant's models."""
